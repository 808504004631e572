#!/usr/bin/env bash
# The GPU checks of issue #17, in one go and under 10 minutes on one GPU:
#   1. the CUDA test subset              pytest -m cuda
#   2. the mixed-precision and jit paths pytest -k 'mixed_precision or jit_compile'
#   3. benchmarks/fit_overhead.py        --device cuda
#   4. benchmarks/conv_gru_overhead.py   --device cuda
#   5. benchmarks/memory_format.py       --device cuda (float32, then bfloat16 autocast)
#   6. benchmarks/mfu.py                 --device cuda (bfloat16 MFU, fit / hand loop, jit)
# then a summary (each step's status and time, and the benchmarks' headline lines).
# Exits 1 if a step fails or runs out of time, 2 (before doing anything) if no GPU is visible.
#
# Usage: bash scripts/gpu_check.sh [--dry-run]
#   --dry-run          print the steps' commands and exit (needs no GPU)
# Environment:
#   LAMINA_PYTHON      the Python to use; default the repo's .venv (created by `make install`
#                      if missing, as the Makefile does). On a machine whose Python already
#                      has PyTorch with CUDA and the test dependencies: LAMINA_PYTHON=python3
#   GPU_CHECK_LOGS     folder for the steps' logs (default: a new temporary folder)
#   GPU_CHECK_BUDGET   seconds for all steps together (default 570; `make install` not
#                      counted); each step gets its own limit, cut to what is left of the
#                      budget, and a step with under 10 s left is not run (and fails)
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)

# name | limit in seconds | command (run by `bash -c` with $PY exported)
STEPS=(
  'cuda tests|300|"$PY" -m pytest -q -p no:cacheprovider -rs -m cuda'
  'mixed precision + jit_compile tests|300|"$PY" -m pytest -q -p no:cacheprovider -rs -k "mixed_precision or jit_compile"'
  'fit_overhead|150|"$PY" benchmarks/fit_overhead.py --device cuda --reps 5 --epochs 10'
  'conv_gru_overhead|150|"$PY" benchmarks/conv_gru_overhead.py --device cuda --reps 5 --epochs 5'
  'memory_format float32|60|"$PY" benchmarks/memory_format.py --device cuda --rounds 20'
  'memory_format bfloat16|60|"$PY" benchmarks/memory_format.py --device cuda --rounds 20 --amp'
  'mfu|300|"$PY" benchmarks/mfu.py --device cuda --reps 5'
)

if [[ "${1:-}" == "--dry-run" ]]; then
  for s in "${STEPS[@]}"; do
    IFS='|' read -r name limit cmd <<<"$s"
    printf '%-38s limit %4ss  %s\n' "$name" "$limit" "$cmd"
  done
  exit 0
elif [[ $# -gt 0 ]]; then
  echo "gpu_check.sh accepts only --dry-run. Received: $*" >&2
  exit 2
fi

refuse() {
  echo "gpu_check.sh: no GPU visible: $1" >&2
  echo "gpu_check.sh: this script runs the CUDA checks of issue #17 and needs an NVIDIA GPU;" \
    "nothing was run. On a CPU machine run the CPU benchmark instead: python benchmarks/mfu.py" >&2
  exit 2
}

if [[ -n "${CUDA_VISIBLE_DEVICES+set}" && ( -z "$CUDA_VISIBLE_DEVICES" || "$CUDA_VISIBLE_DEVICES" == "-1" ) ]]; then
  refuse "CUDA_VISIBLE_DEVICES='${CUDA_VISIBLE_DEVICES}' hides every device."
fi
if ! command -v nvidia-smi >/dev/null 2>&1; then
  refuse "nvidia-smi is not installed (no NVIDIA driver on this machine)."
fi
if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  refuse "nvidia-smi lists no GPU."
fi

PY=${LAMINA_PYTHON:-}
if [[ -z "$PY" ]]; then
  if [[ ! -x .venv/bin/python ]]; then
    echo "gpu_check.sh: no .venv; running make install first" >&2
    make install || { echo "gpu_check.sh: make install failed" >&2; exit 1; }
  fi
  PY=$ROOT/.venv/bin/python
fi
export PY PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  refuse "PyTorch in $PY sees no CUDA device (a CPU-only build of torch, or a driver mismatch)."
fi

LOGS=${GPU_CHECK_LOGS:-$(mktemp -d)}
mkdir -p "$LOGS"
BUDGET=${GPU_CHECK_BUDGET:-570}
echo "gpu_check.sh: $("$PY" -c 'import torch; print(torch.cuda.get_device_name(), "torch", torch.__version__)');" \
  "python $PY; logs in $LOGS; budget ${BUDGET}s"
SECONDS=0  # the budget counts the steps, not the set-up above

failed=0
summary=()
i=0
for s in "${STEPS[@]}"; do
  IFS='|' read -r name limit cmd <<<"$s"
  i=$((i + 1))
  left=$((BUDGET - SECONDS))
  log="$LOGS/step$i.log"
  if ((left < 10)); then
    summary+=("$(printf '%-38s %-12s' "$name" "NOT RUN (budget spent)")")
    failed=1
    continue
  fi
  ((limit > left)) && limit=$left
  echo "=== [$i/${#STEPS[@]}] $name (limit ${limit}s)"
  start=$SECONDS
  timeout -k 10 "$limit" bash -c "$cmd" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  took=$((SECONDS - start))
  if ((rc == 0)); then status="ok"; elif ((rc == 124 || rc == 137)); then status="TIMED OUT"; else status="FAILED ($rc)"; fi
  ((rc != 0)) && failed=1
  summary+=("$(printf '%-38s %-12s %4ss  %s' "$name" "$status" "$took" "$log")")
done

echo
echo "=== summary (${SECONDS}s in all)"
printf '%s\n' "${summary[@]}"
echo "--- headline lines"
grep -h -E "passed|failed|skipped| ratio |MFU|targets|note:|peak" "$LOGS"/step*.log 2>/dev/null | grep -v '^  *$'
if ((failed)); then
  echo "gpu_check.sh: FAILED (see the logs in $LOGS)"
  exit 1
fi
echo "gpu_check.sh: all steps passed"
