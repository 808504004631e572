"""The README's code runs, and `lamina tour` does the main job within its budget."""

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg

from lamina.tour import run_tour

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_blocks_run(capsys):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README should contain a runnable quickstart"
    namespaces = []
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)
        namespaces.append(namespace)
    quickstart = namespaces[0]
    assert quickstart["accuracy"] > 0.85
    assert quickstart["probabilities"].shape == (397, 10)
    assert "test accuracy" in capsys.readouterr().out


def test_readme_names_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make tour" in text and "make test" in text


def test_tour_beats_baselines_and_writes_curves(tmp_path):
    result = run_tour(output_dir=tmp_path, verbose=0)
    net = result.accuracies["Lamina MLP"]
    assert net["test"] >= 0.97
    assert net["validation"] > result.accuracies["majority class"]["validation"]
    assert result.accuracies["majority class"]["test"] < 0.2
    image = mpimg.imread(result.curves_path)
    assert image.shape[0] > 100 and image.shape[1] > 100


def test_cli_version_runs():
    out = subprocess.run([sys.executable, "-m", "lamina.cli", "version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("lamina ")


def test_readme_inconclusive_example_prints_what_the_readme_shows():
    from lamina.workflow import Diagnosis

    text = (ROOT / "README.md").read_text()
    d = Diagnosis.from_errors(
        train=0.0,
        train_dev=0.0,
        dev=0.07,
        human=0.01,
        sizes={"train": 400, "train_dev": 30, "dev": 400},
    )
    printed = " ".join(str(d).split())
    assert d.primary == "inconclusive"
    for quoted in (
        "train-dev error 0.00% (95% CI 0.0 to 11.4, n=30)",
        "data mismatch 7.0 points (95% CI -4.5 to 9.9) dev − train-dev not established",
        "Collect at least 108 examples in each of the train-dev and dev sets (now 30 and 400)",
    ):
        assert quoted in printed
        assert quoted in " ".join(text.split())
    bigger = Diagnosis.from_errors(
        train=0.0,
        train_dev=0.02,
        dev=0.07,
        human=0.01,
        sizes={"train": 3000, "train_dev": 3000, "dev": 3000},
    )
    assert bigger.primary == "data_mismatch"
    assert "(5.0 points, 95% CI 4.0 to 6.1)" in bigger.verdict
