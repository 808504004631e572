"""A process of a `torchrun` job that dies or hangs mid-`fit`: the other one
stops with `DistributedTrainingError` instead of waiting forever."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import lamina
from tests.distributed.torchrun import launch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

pytestmark = pytest.mark.skipif(
    not lamina.distributed.context.dist.is_available(), reason="torch.distributed is not available"
)


def _launch(out: Path, case: str, **env: str) -> subprocess.CompletedProcess:
    return launch(HERE / "ddp_worker.py", str(out), case, cwd=out, timeout=60, **env)


def test_ddp_rank_killed_mid_fit_raises_clear_error(tmp_path: Path) -> None:
    proc = _launch(tmp_path, "kill", LAMINA_DIST_TIMEOUT="5")
    path = tmp_path / "kill_rank0.json"
    assert path.exists(), proc.stderr[-5000:]
    result = json.loads(path.read_text())
    assert result["type"] == "DistributedTrainingError"
    assert "`fit` on rank 0 of 2 stopped" in result["error"]
    assert "Another process probably exited" in result["error"]
    assert not (tmp_path / "kill_rank1.json").exists()  # rank 1 vanished in its callback
    assert result["seconds"] < 30


def test_ddp_hung_rank_times_out_with_clear_error(tmp_path: Path) -> None:
    proc = _launch(tmp_path, "hang", LAMINA_DIST_TIMEOUT="1", HANG_S="5")
    path = tmp_path / "hang_rank0.json"
    assert path.exists(), proc.stderr[-5000:]
    r0 = json.loads(path.read_text())
    assert r0["type"] == "DistributedTrainingError"
    assert "within 1 s" in r0["error"] and "LAMINA_DIST_TIMEOUT" in r0["error"]
    assert r0["seconds"] < 5  # it did not wait for rank 1 to wake up (5 s)
