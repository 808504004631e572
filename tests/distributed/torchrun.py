"""Launch a script under ``torchrun --nproc_per_node=2 --standalone`` for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def launch(
    script: Path, *args: str, cwd: Path, timeout: float, **env: str
) -> subprocess.CompletedProcess:
    """Run ``script args`` in 2 gloo processes; the caller's torchrun variables are dropped."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        full_env.pop(key, None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        str(script),
        *args,
    ]
    return subprocess.run(
        cmd, env=full_env, capture_output=True, text=True, timeout=timeout, cwd=str(cwd)
    )
