"""Headless Chromium for the tests that check a page really draws (the HTML report,
the monitoring page of `lamina serve`). `make test` installs Chromium with
scripts/ensure_chromium.sh; LAMINA_SKIP_BROWSER=1 skips these checks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


def dump_dom(url: str, profile_dir: Path, what: str, budget_ms: int = 5000) -> str:
    """The DOM of the page at `url` after headless Chromium ran its scripts for
    `budget_ms` of virtual time. `what` names the check in the skip / failure message."""
    if os.environ.get("LAMINA_SKIP_BROWSER") == "1":
        pytest.skip(f"LAMINA_SKIP_BROWSER=1: the browser check of {what} is skipped")
    binary = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if binary is None:
        pytest.fail(
            f"Headless Chromium ({CHROMIUM}) is needed to check {what}. "
            f"Run `bash {ROOT / 'scripts' / 'ensure_chromium.sh'}` (as root it installs Debian's "
            "chromium package; `make test` runs it), or set LAMINA_SKIP_BROWSER=1 to skip this check."
        )
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile_dir}",
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout
