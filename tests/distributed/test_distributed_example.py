"""examples/distributed_fit.py runs unchanged in one process and under torchrun."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

import lamina
from tests.distributed.torchrun import launch

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = ROOT / "examples" / "distributed_fit.py"


def test_distributed_example_single_process(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("lamina_example_distributed_fit", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(quick=True, out_dir=str(tmp_path))
    assert result["processes"] == 1 and result["epochs"] == 4
    assert result["test_accuracy"] > 0.85
    assert result["predicted_accuracy"] == pytest.approx(result["test_accuracy"], abs=1e-6)
    assert (
        lamina.load_model(tmp_path / "final.lamina").count_params()
        == 64 * 128 + 128 + 128 * 10 + 10
    )


@pytest.mark.skipif(
    not lamina.distributed.context.dist.is_available(), reason="no torch.distributed"
)
def test_distributed_example_under_torchrun(tmp_path: Path) -> None:
    proc = launch(EXAMPLE, "--quick", "--out", str(tmp_path), cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-5000:]
    lines = re.findall(r"processes: (\d+)\s+epochs: (\d+)\s+test accuracy: ([\d.]+)", proc.stdout)
    assert len(lines) == 1  # printed by rank 0 only
    processes, epochs, accuracy = lines[0]
    assert processes == "2" and epochs == "4" and float(accuracy) > 0.85
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.lamina", "final.lamina"]
