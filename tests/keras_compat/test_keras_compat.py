"""Runs every ported Keras script (see README.md here) in its own process.

Each script must finish with exit status 0 within its time limit; its output is
shown when it fails. The scripts run in a temporary directory (they write model
files) with torch on one thread, as the rest of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.keras_compat.keras_calls import count_calls, scripts

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 240


@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.stem)
def test_keras_script_runs_with_import_and_data_changes_only(script, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, (
        f"{script.name} failed (exit {result.returncode}).\n--- stdout (tail) ---\n"
        f"{result.stdout[-3000:]}\n--- stderr (tail) ---\n{result.stderr[-6000:]}"
    )


def test_keras_calls_are_counted_from_lamina_names(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import numpy as np\nimport lamina as keras\nfrom lamina import layers, ops\n"
        "x = keras.Input(shape=(3,))\ny = layers.Dense(2)(x)\nz = ops.sum(np.ones(3))\n"
        "m = keras.Model(x, y)\nm.summary()\nprint(len([1]))\n"
    )
    # Input, Dense, ops.sum, Model; not the method call m.summary(), np.ones, print or len.
    assert count_calls(script) == 4


def test_readme_table_matches_the_scripts():
    """The README's table is the counter's output for the scripts as they are."""
    from tests.keras_compat.keras_calls import table

    assert table() in (ROOT / "README.md").read_text()
