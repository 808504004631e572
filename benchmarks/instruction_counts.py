"""CPU instructions per epoch of `Model.fit` against the hand-written PyTorch loop.

Wall-clock ratios on a shared machine move by +-10 % from one minute to the
next (see RESULTS.md). The number of instructions the CPU executes does not:
this script runs each side under Valgrind's cachegrind (instruction counting
only) once with 1 epoch and once with 3, so the difference is the cost of two
epochs without the process start-up, model building and imports, and prints
Lamina's instructions per epoch over the hand-written loop's. It measures
work, not time: memory stalls and cache effects are not in it, so it
complements the timed benchmarks rather than replacing them.

The models, data, optimizer, loss and loops are those of `fit_overhead.py`
(MLP and 2-conv CNN, with accuracy) and `conv_gru_overhead.py` (the examples'
convnet and GRU), on one torch thread.

    .venv/bin/python benchmarks/instruction_counts.py [--cases mlp cnn convnet gru] [--jobs 2]
        [--hand-adam default|fused]

Needs `valgrind` on the PATH; each case takes a few minutes (torch starts
slowly under Valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ("mlp", "cnn", "convnet", "gru")
EPOCHS = (1, 3)


def child(side: str, case: str, epochs: int) -> None:
    """Builds one case's models and trains one side for ``epochs`` (run under Valgrind)."""
    sys.path.insert(0, str(HERE))
    import numpy as np
    import torch
    from sklearn.datasets import load_digits

    import lamina

    torch.set_num_threads(1)
    lamina.set_seed(0)
    digits = load_digits()
    y = digits.target.astype(np.int64)
    if case in ("mlp", "cnn"):
        import fit_overhead as fo

        x = (digits.data / 16.0).astype(np.float32)
        if case == "cnn":
            x, ml, mt = x.reshape(-1, 8, 8, 1), fo.cnn_lamina(), fo.TorchCNN()
        else:
            ml, mt = fo.mlp_lamina(), fo.mlp_torch()
        fo.copy_weights(ml, mt)
        if side == "lamina":
            fo.time_lamina(ml, x, y, epochs, ["accuracy"])
        else:
            fo.time_torch(mt, x, y, epochs, True)
        return
    import conv_gru_overhead as cg

    images = (digits.images / 16.0).astype(np.float32)
    if case == "convnet":
        x, ml, mt = images[..., None], cg.load_example("image_cnn").make_convnet(augment=False), cg.TorchConvnet()
    else:
        x, ml, mt = images, cg.load_example("sequence_gru").make_gru(), cg.TorchGRU()
    ml.predict(x[:2], verbose=0)  # build
    cg.copy_weights(ml, mt)
    if side == "lamina":
        cg.time_lamina(ml, x, y, epochs)
    else:
        cg.time_torch(mt, x, y, epochs)


def count(side: str, case: str, epochs: int) -> int:
    """Instructions executed by one child process (cachegrind's `I refs`)."""
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, __file__, "--child", side, case, str(epochs)]
    # No OpenMP worker threads (their spin-waits depend on timing) and a fixed string
    # hash: two runs of the same child then differ by about 0.002 % of their count.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    match = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"valgrind run {side} {case} {epochs} failed:\n{done.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    p.add_argument("--jobs", type=int, default=2, help="Valgrind processes at once")
    p.add_argument("--hand-adam", choices=("default", "fused"), default="default",
                   help="the hand-written loop's Adam: torch's default update or its fused kernel")
    p.add_argument("--child", nargs=3, metavar=("SIDE", "CASE", "EPOCHS"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        side, case, epochs = args.child
        child(side, case, int(epochs))
        return
    os.environ["BENCH_HAND_ADAM"] = args.hand_adam  # read by fit_overhead in the children
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on the PATH; install it (e.g. `apt-get install valgrind`) to count instructions.")
    jobs = [(side, case, e) for case in args.cases for side in ("lamina", "torch") for e in EPOCHS]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count(*job), jobs)))
    per_epochs = EPOCHS[1] - EPOCHS[0]
    print(f"instructions per epoch (from {EPOCHS[1]} minus {EPOCHS[0]} epochs), batch 32, one torch thread")
    for case in args.cases:
        lam = (counts["lamina", case, EPOCHS[1]] - counts["lamina", case, EPOCHS[0]]) / per_epochs
        ref = (counts["torch", case, EPOCHS[1]] - counts["torch", case, EPOCHS[0]]) / per_epochs
        setup = counts["lamina", case, EPOCHS[0]] - counts["torch", case, EPOCHS[0]] - (lam - ref)
        print(f"{case:<8} lamina {lam / 1e6:8.1f}M  torch {ref / 1e6:8.1f}M  ratio {lam / ref:.4f}  "
              f"(one-off difference per fit call {setup / 1e6:+.1f}M)", flush=True)


if __name__ == "__main__":
    main()
