"""report(tuning=...): after a real 3-trial search, the section holds the trials
table, Optuna's three plots (decoded PNGs), the chosen parameters and the best
trial against the runner-up with its interval, p-value and dev-set size, in the
HTML and in the JSON; results without a study or a comparison say what is missing."""

import base64
import json
import re

import numpy as np
import pytest
import torch

import lamina
from lamina.data import load_digits
from lamina.tuning import Tuner
from lamina.tuning.objective import resolve_objective
from lamina.tuning.results import TrialRecord, TuningResults
from lamina.workflow import Predictions, report
from tests.browser import dump_dom


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_model(hp):
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(hp.Int("units", 4, 32, log=True), activation="relu"),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(hp.Float("learning_rate", 1e-3, 3e-2, log=True)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A tuner after a 3-trial search on a digits subset (no pruning: 3 complete trials)."""
    x, y = load_digits()
    x = (x / 16.0).astype("float32")
    tuner = Tuner(
        build_model,
        objective="val_accuracy",
        max_trials=3,
        pruner=None,
        directory=tmp_path_factory.mktemp("studies"),
        seed=0,
    )
    tuner.search(x[:300], y[:300], validation_data=(x[300:500], y[300:500]), epochs=2, verbose=0)
    return tuner, (x[300:500], y[300:500])


def _section(html):
    start = html.index('<section id="tuning">')
    return html[start : html.index("</section>", start)]


def test_report_writes_the_tuning_section(searched, tmp_path):
    tuner, (x_dev, y_dev) = searched
    files = report(tmp_path / "tuned.html", tuning=tuner)
    assert files.sections == ["tuning"] and files.images == 3
    section = _section(files.html.read_text())
    # the trials table: one row per trial, the best one highlighted
    results = tuner.results()
    assert section.count("<tr") == 1 + 3 + 1 + 2 + 2  # trials, params, comparison tables
    assert section.count('<tr class="primary"><td class="l">' + str(results.best.number)) == 1
    assert "units" in section and "val_accuracy (max)" in section
    # three decodable PNGs: history, importance, parallel coordinates
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', section)
    assert [alt.split(":")[0].split(" (")[0] for _, alt in images] == [
        "optimisation history",
        "parameter importance",
        "parallel coordinates",
    ]
    for data, _ in images:
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    dom = dump_dom(files.html.resolve().as_uri(), tmp_path / "profile", "the tuning plots")
    assert 'data-images-loaded="3/3"' in dom  # every plot decodes in a real browser
    # the comparison, checked against an independent McNemar on the saved models
    best, runner = results.best, results.runner_up
    a = Predictions.from_model(lamina.load_model(best.model_path), x_dev, y_dev)
    b = Predictions.from_model(lamina.load_model(runner.model_path), x_dev, y_dev)
    expected = a.compare(b)
    data = json.loads(files.json.read_text())["tuning"]
    comparison = data["comparison"]
    assert (comparison["best"], comparison["runner_up"]) == (best.number, runner.number)
    assert comparison["n"] == 200 == comparison["difference"]["n"]
    assert comparison["p_value"] == pytest.approx(expected.p_value)
    assert comparison["difference"]["estimate"] == pytest.approx(expected.difference.estimate)
    assert comparison["difference"]["low"] == pytest.approx(expected.difference.low)
    assert comparison["distinguishable"] == (expected.p_value < 0.05)
    word = "is distinguishable" if comparison["distinguishable"] else "is not distinguishable"
    assert word in comparison["text"] and "dev set of 200 examples" in comparison["text"]
    assert f"p = {expected.p_value:.3g}" in section
    # the JSON: every trial with its params and value, the chosen params, the plots
    assert [t["number"] for t in data["trials"]] == [0, 1, 2]
    assert all(t["state"] == "COMPLETE" and t["value"] is not None for t in data["trials"])
    assert data["best_params"] == best.params
    assert data["plots"] == ["history", "importance", "parallel"]


def test_report_takes_the_results_too(searched, tmp_path):
    tuner, _ = searched
    files = report(tmp_path / "results.html", tuning=tuner.results())
    data = json.loads(files.json.read_text())["tuning"]
    assert files.images == 3 and data["comparison"]["n"] == 200


def test_results_without_study_or_comparison_say_what_is_missing(tmp_path):
    objective = resolve_objective("val_loss")
    trials = [
        TrialRecord(0, "COMPLETE", {"units": 8}, 0.5, 3, 1.0),
        TrialRecord(1, "FAIL", {"units": 64}, None, 0, 0.2, error="RuntimeError: out of memory"),
        TrialRecord(2, "COMPLETE", {"units": 16}, 0.4, 3, 1.0),
    ]
    results = TuningResults(trials, objective, study_name="s", storage="sqlite:///s.db")
    files = report(tmp_path / "bare.html", tuning=results)
    section = _section(files.html.read_text())
    assert files.images == 0
    assert "RuntimeError: out of memory" in section  # the failures table
    assert section.count("No history plot") == 1 and "needs the Optuna study" in section
    assert "No comparison of the best trial with the runner-up" in section
    data = json.loads(files.json.read_text())["tuning"]
    assert data["best_params"] == {"units": 16} and data["comparison"] is None


def test_regression_comparison_is_a_bootstrap_interval(tmp_path):
    from lamina.workflow.uncertainty import Interval

    objective = resolve_objective("val_loss")
    trials = [TrialRecord(0, "COMPLETE", {}, 0.3, 2), TrialRecord(1, "COMPLETE", {}, 0.5, 2)]
    clear = Interval(0.2, 0.05, 0.35, 80, 0.95, "paired bootstrap")
    results = TuningResults(trials, objective, study_name="r", storage="x", comparison=clear)
    data = json.loads(report(tmp_path / "r.html", tuning=results).json.read_text())["tuning"]
    assert data["comparison"]["distinguishable"] is True and data["comparison"]["p_value"] is None
    assert (
        data["comparison"]["n"] == 80
        and "distinguishable from the runner-up" in (data["comparison"]["text"])
    )
    results.comparison = Interval(0.01, -0.1, 0.12, 80, 0.95, "paired bootstrap")
    data = json.loads(report(tmp_path / "r2.html", tuning=results).json.read_text())["tuning"]
    assert data["comparison"]["outcome"] == "not distinguishable given the dev set of 80 examples"


def test_report_rejects_other_objects(tmp_path):
    with pytest.raises(TypeError, match="expects a `lamina.tuning.Tuner` or the `TuningResults`"):
        report(tmp_path / "x.html", tuning=np.zeros(3))
