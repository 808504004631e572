"""The GPU paths of issue #17 on a CPU machine: the `cuda` marker skips cleanly,
scripts/gpu_check.sh parses, refuses without a GPU and reports its steps, and
benchmarks/mfu.py runs its quick mode with FLOP counts that agree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lamina

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu_check.sh"
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run_script(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def fake_tools(tmp_path: Path, fail_on: str = "") -> dict[str, str]:
    """A `nvidia-smi` that lists one GPU and a stand-in Python that says CUDA is there,
    echoes the command it was given, and fails (exit 3) when it contains ``fail_on``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/usr/bin/env bash\necho 'GPU 0: Fake GPU (UUID: GPU-0)'\n")
    py = bin_dir / "fakepython"
    py.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ "$1" == "-c" ]]; then echo "Fake GPU torch 0"; exit 0; fi\n'
        'echo "ran: $*"; echo "5 passed in 1.00s"\n'
        f'if [[ -n "{fail_on}" && "$*" == *"{fail_on}"* ]]; then exit 3; fi\n'
    )
    smi.chmod(0o755)
    py.chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LAMINA_PYTHON": str(py),
        "GPU_CHECK_LOGS": str(tmp_path / "logs"),
    }


# ------------------------------------------------------------------ cuda marker


def test_cuda_marker_is_registered(pytestconfig):
    assert any(m.startswith("cuda: needs a CUDA device") for m in pytestconfig.getini("markers"))


PROBE = """
import pytest

@pytest.mark.cuda
def test_on_gpu():
    assert False, "ran"

def test_plain():
    pass
"""


def probe_run(pytester: pytest.Pytester, monkeypatch, cuda_available: bool) -> pytest.RunResult:
    """Runs pytest (in this process) on a `cuda`-marked test that fails if it runs and a plain
    test, with the repo's conftest.py and markers, `torch.cuda.is_available` patched."""
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text())
    shutil.copy(ROOT / "pyproject.toml", pytester.path / "pyproject.toml")
    pytester.makepyfile(test_probe=PROBE)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_available)
    return pytester.runpytest_inprocess("-q", "-rs", "-p", "no:cacheprovider", "--strict-markers")


def test_cuda_marker_skips_cleanly_without_cuda(pytester, monkeypatch):
    result = probe_run(pytester, monkeypatch, cuda_available=False)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_probe.py:*: needs CUDA"])


def test_cuda_marker_runs_the_test_with_cuda(pytester, monkeypatch):
    result = probe_run(pytester, monkeypatch, cuda_available=True)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: ran*"])


# -------------------------------------------------------------- gpu_check.sh


@needs_bash
def test_gpu_check_script_has_valid_syntax():
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr


@needs_bash
def test_gpu_check_dry_run_lists_every_step():
    result = run_script("--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 7
    assert "-m cuda" in lines[0] and '-k "mixed_precision or jit_compile"' in lines[1]
    for bench in ("fit_overhead.py", "conv_gru_overhead.py", "memory_format.py", "mfu.py"):
        assert any(bench in line and "--device cuda" in line for line in lines), bench


@needs_bash
def test_gpu_check_refuses_without_gpu():
    result = run_script(env={"CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 2
    assert "no GPU visible: CUDA_VISIBLE_DEVICES='' hides every device" in result.stderr
    assert "nothing was run" in result.stderr and result.stdout == ""
    if shutil.which("nvidia-smi") is None:  # this CPU machine, as it is
        result = run_script()
        assert result.returncode == 2
        assert "no GPU visible: nvidia-smi is not installed" in result.stderr


@needs_bash
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal of a CPU-only torch")
def test_gpu_check_refuses_a_torch_without_cuda(tmp_path):
    env = fake_tools(tmp_path)
    env["LAMINA_PYTHON"] = sys.executable  # this machine's CPU build of torch
    result = run_script(env=env)
    assert result.returncode == 2
    assert f"PyTorch in {sys.executable} sees no CUDA device" in result.stderr
    assert not (tmp_path / "logs").exists()


@needs_bash
def test_gpu_check_runs_all_steps_and_fails_on_a_failed_step(tmp_path):
    result = run_script(env=fake_tools(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" ok ") == 7 and "all steps passed" in result.stdout
    assert len(list((tmp_path / "logs").glob("step*.log"))) == 7

    shutil.rmtree(tmp_path / "bin")
    result = run_script(env=fake_tools(tmp_path, fail_on="conv_gru_overhead"))
    assert result.returncode == 1
    assert re.search(r"conv_gru_overhead +FAILED \(3\)", result.stdout), result.stdout
    assert result.stdout.count(" ok ") == 6 and "gpu_check.sh: FAILED" in result.stdout


@needs_bash
def test_gpu_check_fails_the_steps_left_without_budget(tmp_path):
    result = run_script(env={**fake_tools(tmp_path), "GPU_CHECK_BUDGET": "5"})
    assert result.returncode == 1
    assert result.stdout.count("NOT RUN (budget spent)") == 7 and "ran:" not in result.stdout


# --------------------------------------------------------------------- mfu.py


@pytest.fixture
def mfu(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import mfu

    return mfu


def run_mfu(mfu, monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["mfu.py", *args])
    threads, device = torch.get_num_threads(), lamina.get_device()
    try:
        mfu.main()
    finally:  # the script sets the device (to the CPU here) and may set the threads
        torch.set_num_threads(threads)
        lamina.set_device(device)
    return capsys.readouterr().out


def test_mfu_dense_flops_formula(mfu):
    # 2 layers, batch 3: forward 2*(4*5 + 5*2) per example, weight grads the same,
    # input grads only for the second layer (2*5*2).
    assert mfu.dense_flops([(4, 5), (5, 2)], 3) == 3 * (2 * 60 + 20)


def test_mfu_quick_cpu_mlp_reports_consistent_numbers(mfu, monkeypatch, capsys):
    out = run_mfu(mfu, monkeypatch, capsys, "--quick")
    dims = [(256, 256), (256, 256), (256, 10)]
    expected = 32 * 2 * (2 * sum(2 * a * b for a, b in dims) + sum(2 * a * b for a, b in dims[1:]))
    m = re.search(
        r"at batch 32: formula (\d+); FlopCounterMode fit, SGD (\d+), fit, Adam (\d+), "
        r"hand loop, Adam (\d+) \(all equal\)",
        out,
    )
    assert m and int(m[1]) == int(m[2]) == int(m[3]) == int(m[4]) == expected, out
    peak = re.search(r"float32 +([\d.]+) GFLOP/s \(median of 2; min ([\d.]+), max ([\d.]+)\)", out)
    assert peak and float(peak[2]) <= float(peak[1]) <= float(peak[3]), out
    rows = re.findall(
        r"batch +(\d+) +(fit, SGD|fit, Adam|hand loop, Adam) +([\d.]+) ms/step +([\d.]+) GFLOP/s +"
        r"utilisation ([\d.]+)% \(min ([\d.]+)%, max ([\d.]+)%\)",
        out,
    )
    assert len(rows) == 6, out
    for batch, _, ms, gflops, util, low, high in rows:
        flops_per_step = mfu.dense_flops(dims, int(batch))
        assert float(gflops) * 1e9 * float(ms) / 1e3 == pytest.approx(flops_per_step, rel=0.06)
        assert 0 < float(low) <= float(util) <= float(high)
    assert re.search(
        r"verdict: target >= 50% of peak at batch 128: (met|NOT met) \(fit, SGD [\d.]+%; "
        r"fit, Adam [\d.]+%\)",
        out,
    ), out


def test_mfu_quick_models_suite_runs_on_cpu(mfu, monkeypatch, capsys):
    out = run_mfu(mfu, monkeypatch, capsys, "--suite", "models", "--quick", "--no-jit")
    counts = re.findall(
        r"(convnet|transformer): batch 8, FLOPs per step (\d+) \(FlopCounterMode, one "
        r"hand-loop step; one fit step: (\d+)\)",
        out,
    )
    assert [c[0] for c in counts] == ["convnet", "transformer"], out
    assert all(int(a) == int(b) > 0 for _, a, b in counts), out
    assert len(re.findall(r"ms/step .* MFU [\d.]+%", out)) == 4 and "fit / hand loop:" in out
    assert re.search(
        r"targets convnet: fit / hand loop [\d.]+ <= 1.03: (met|NOT met); fit MFU", out
    ), out


@pytest.mark.parametrize(
    "name, tflops",
    [
        ("NVIDIA H200", 989),
        ("NVIDIA H100 80GB HBM3", 989),
        ("NVIDIA H100 PCIe", 756),
        ("NVIDIA A100-SXM4-80GB", 312),
        ("NVIDIA L4", 121),
        ("NVIDIA L40S", 362),
        ("NVIDIA GeForce RTX 4090", None),
    ],
)
def test_mfu_peak_table_matches_gpu_names(mfu, name, tflops):
    import mfu_models

    assert mfu_models.table_peak(name) == (None if tflops is None else tflops * 1e12)
