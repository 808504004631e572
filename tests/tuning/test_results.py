"""TuningResults: ranking, the table, strict JSON, rows/pandas, and Optuna's plots written as PNG."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from lamina.tuning.objective import Objective  # noqa: E402
from lamina.tuning.results import TrialRecord, TuningResults, record_from_trial  # noqa: E402
from lamina.workflow.uncertainty import Interval  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _records():
    return [
        TrialRecord(0, "COMPLETE", {"units": 16, "act": "relu"}, 0.81, 4, 1.25, None, 11, "/m/0"),
        TrialRecord(1, "PRUNED", {"units": np.int64(8), "act": "tanh"}, 0.40, 1, 0.3, None, 12),
        TrialRecord(2, "FAIL", {"units": 32}, None, 0, 0.01, "RuntimeError: boom", 13),
        TrialRecord(3, "COMPLETE", {"units": 64, "act": "relu"}, 0.86, 4, 1.5, None, 14, "/m/3"),
        TrialRecord(4, "COMPLETE", {"units": 4, "act": None}, math.nan, 4, 1.0, None, 15),
    ]


def test_ranking_follows_the_direction():
    up = TuningResults(_records(), Objective("val_accuracy", "max"))
    assert (up.best.number, up.runner_up.number) == (3, 0)  # NaN value never ranks
    assert up.best_params == {"units": 64, "act": "relu"}
    down = TuningResults(_records(), Objective("val_loss", "min"))
    assert (down.best.number, down.runner_up.number) == (0, 3)
    assert [t.number for t in up.failures] == [2]
    assert (up.count("COMPLETE"), up.count("PRUNED"), up.count("FAIL")) == (3, 1, 1)
    with pytest.raises(ValueError, match="state=.DONE."):
        up.count("DONE")
    empty = TuningResults([], Objective("val_loss", "min"))
    assert empty.best is None and empty.best_params == {} and "no trial completed" in str(empty)


def test_table_lists_every_trial_failures_and_best():
    text = str(
        TuningResults(_records(), Objective("val_accuracy", "max"), study_name="s", storage="u")
    )
    lines = text.splitlines()
    assert lines[0].startswith("Study 's' (u): 5 trials, 3 complete, 1 pruned, 1 failed")
    assert lines[1].split() == ["trial", "units", "act", "val_accuracy", "epochs", "state", "time"]
    assert lines[2].split() == ["0", "16", "relu", "0.81", "4", "COMPLETE", "1.2s"]
    assert lines[3].split() == ["1", "8", "tanh", "0.4", "1", "PRUNED", "0.3s"]
    assert lines[4].split() == ["2", "32", "-", "-", "0", "FAIL", "0.0s"]
    assert "Failures:" in lines and "  trial 2: RuntimeError: boom" in lines
    assert lines[-1] == "Best: trial 3, val_accuracy=0.86, params {'units': 64, 'act': 'relu'}"


def test_rows_and_pandas():
    results = TuningResults(_records(), Objective("val_accuracy", "max"))
    rows = results.to_rows()
    assert rows[1] == {
        "number": 1,
        "units": 8,
        "act": "tanh",
        "val_accuracy": 0.40,
        "epochs": 1,
        "state": "PRUNED",
        "seconds": 0.3,
        "error": None,
    }
    assert type(rows[1]["units"]) is int
    assert rows[2]["act"] is None and rows[4]["val_accuracy"] is None
    frame = results.to_pandas()
    assert list(frame.index) == [0, 1, 2, 3, 4]
    assert frame.loc[3, "val_accuracy"] == 0.86 and frame.loc[2, "state"] == "FAIL"


def test_to_dict_is_strict_json():
    comparison = Interval(0.05, math.nan, 0.1, 50, 0.95, "paired bootstrap")
    results = TuningResults(
        _records(), Objective("val_loss", "min"), study_name="s", storage="sqlite:///x.db",
        comparison=comparison, dev_size=50,
    )  # fmt: skip
    data = json.loads(json.dumps(results.to_dict(), allow_nan=False))
    assert data["objective"] == {"name": "val_loss", "direction": "min"}
    assert data["counts"] == {"complete": 3, "pruned": 1, "fail": 1, "running": 0, "waiting": 0}
    assert data["trials"][4]["value"] is None
    assert data["trials"][1]["params"] == {"units": 8, "act": "tanh"}
    assert data["best"]["number"] == 0 and data["runner_up"]["number"] == 3
    assert data["comparison"]["kind"] == "Interval" and data["comparison"]["low"] is None
    assert data["dev_size"] == 50
    assert "error difference (runner-up - best)" in str(results)


def _study(n_complete=4):
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(n_complete):
        trial = study.ask()
        units, lr = (
            trial.suggest_int("units", 8, 64),
            trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        )
        for step in (1, 2):
            trial.report(units / 64 * step / 2, step)
        trial.set_user_attr("epochs", 2)
        study.tell(trial, units / 64 - abs(math.log10(lr) + 2) / 10)
    return study


def _results(study):
    trials = [record_from_trial(t) for t in study.get_trials()]
    return TuningResults(trials, Objective("val_accuracy", "max"), study=study)


@pytest.mark.parametrize("kind", ["history", "importance", "parallel"])
def test_plots_are_written_and_read_back(tmp_path, kind):
    import matplotlib.image
    import matplotlib.pyplot as plt

    path = tmp_path / f"{kind}.png"
    fig = _results(_study()).plot(kind, path=path)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.01  # not a blank canvas
    assert fig.axes
    plt.close(fig)


def test_plot_errors():
    with pytest.raises(ValueError, match="at least 2 complete trial"):
        _results(_study(1)).plot("importance")
    with pytest.raises(ValueError, match=r"kind to be one of.*kind='pie'"):
        _results(_study(1)).plot("pie")
    with pytest.raises(ValueError, match="needs the Optuna study"):
        TuningResults(_records(), Objective("val_loss", "min")).plot()


def test_record_from_trial_reads_the_tuner_attrs():
    study = optuna.create_study(direction="maximize")
    done = study.ask()
    done.suggest_int("units", 8, 64)
    for key, value in {"epochs": 3, "seconds": 0.5, "seed": 7, "model_path": "/m/0"}.items():
        done.set_user_attr(key, value)
    study.tell(done, 0.7)
    pruned = study.ask()
    pruned.report(0.2, 1)
    pruned.set_user_attr("epochs", 1)
    study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
    failed = study.ask()
    failed.set_user_attr("error", "ValueError: bad")
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    a, b, c = (record_from_trial(t) for t in study.get_trials())
    assert (a.state, a.value, a.epochs, a.seconds, a.seed, a.model_path) == (
        "COMPLETE", 0.7, 3, 0.5, 7, "/m/0",
    )  # fmt: skip
    assert (b.state, b.value, b.epochs, b.error) == ("PRUNED", 0.2, 1, None)
    assert (c.state, c.value, c.error) == ("FAIL", None, "ValueError: bad")
    assert c.seconds is not None and c.seconds >= 0
