"""Tuner bad input: each a clear error matched by message; failing trials are recorded, not fatal."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

import lamina  # noqa: E402
from lamina.tuning import Tuner  # noqa: E402
from lamina.tuning.objective import (  # noqa: E402
    Objective,
    ObjectiveNotLoggedError,
    resolve_objective,
)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype("float32")[:120]
    return x[:80], d.target[:80], x[80:], d.target[80:120]


def _model(units=8, compiled=True):
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(units, activation="relu"),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    if compiled:
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_model(hp):
    return _model(hp.Int("units", 4, 16))


def build_flaky(hp):
    kind = hp.Choice("kind", ["ok", "uncompiled", "raises"])
    if kind == "raises":
        raise RuntimeError("boom in build_model")
    return _model(compiled=kind == "ok")


def _grid(tmp_path, build, **kwargs):
    return Tuner(
        build,
        "val_accuracy",
        sampler="grid",
        search_space={"kind": ["ok", "uncompiled", "raises"]},
        pruner=None,
        directory=tmp_path,
        **kwargs,
    )


def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path, digits):
    x, y, xd, yd = digits
    results = _grid(tmp_path, build_flaky, max_trials=3).search(
        x, y, validation_data=(xd, yd), epochs=1, verbose=0
    )
    by_kind = {t.params["kind"]: t for t in results.trials}
    assert by_kind["ok"].state == "COMPLETE"
    assert by_kind["uncompiled"].state == "FAIL"
    assert (
        "ValueError: `build_model(hp)` returned an uncompiled model" in by_kind["uncompiled"].error
    )
    assert by_kind["raises"].state == "FAIL"
    assert by_kind["raises"].error == "RuntimeError: boom in build_model"
    assert {t.number for t in results.failures} == {
        by_kind["uncompiled"].number,
        by_kind["raises"].number,
    }
    text = str(results)
    assert "Failures:" in text and "boom in build_model" in text and "uncompiled" in text
    assert results.best.params == {"kind": "ok"}


def test_a_search_whose_every_trial_fails_stops(tmp_path, digits, capsys):
    x, y, xd, yd = digits

    def build_broken(hp):
        hp.Int("units", 4, 16)
        raise RuntimeError("always broken")

    tuner = Tuner(build_broken, "val_accuracy", max_trials=3, directory=tmp_path)
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=1)
    assert len(results.failures) == 3 and len(results.trials) == 3
    assert "Stopped after 3 failed trials" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no complete trial yet"):
        tuner.best_model()


def test_an_objective_that_is_not_logged_raises_at_once(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = Tuner(build_model, "val_f1", max_trials=5, directory=tmp_path)
    with pytest.raises(ObjectiveNotLoggedError, match=r"'val_f1'.*Logged: .*'val_accuracy'"):
        tuner.search(x, y, validation_data=(xd, yd), epochs=2, verbose=0)
    assert len(tuner.study.trials) == 1  # not retried as failed trial after failed trial
    assert tuner.results().failures[0].error.startswith("ObjectiveNotLoggedError: The objective")
    tuner = Tuner(build_model, "accuracy_top", study_name="b", directory=tmp_path)
    with pytest.raises(ValueError, match="Did you mean|not among"):
        tuner.search(x, y, epochs=1, verbose=0)


def test_build_model_returning_something_else(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = Tuner(lambda hp: "not a model", "val_accuracy", max_trials=1, directory=tmp_path)
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=1, verbose=0)
    assert tuner.study_name == "build_model"
    assert "must return a compiled Lamina model" in results.failures[0].error
    assert "type str" in results.failures[0].error


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_trials": 0}, ValueError, r"`max_trials` to be a positive integer.*max_trials=0"),
        ({"max_trials": 2.5}, ValueError, "max_trials=2.5"),
        ({"sampler": "bayes"}, ValueError, r"`sampler` to be one of.*'tpe'.*sampler='bayes'"),
        ({"pruner": "bohb"}, ValueError, r"`pruner` to be one of.*'hyperband'.*pruner='bohb'"),
        ({"sampler": "grid"}, ValueError, r"sampler='grid' needs the grid: pass `search_space="),
        ({"sampler": "grid", "search_space": {"u": []}}, ValueError, "non-empty list"),
        ({"search_space": {"u": [1]}}, ValueError, "only used with sampler='grid'"),
        ({"time_budget": 0}, ValueError, r"`time_budget` to be a positive number.*time_budget=0"),
        ({"time_budget": -5.0}, ValueError, "time_budget=-5.0"),
        ({"seed": -1}, ValueError, "`seed` to be a non-negative integer"),
        ({"objective": "val_score"}, ValueError, r"maximised or minimised.*\('val_score', 'max'\)"),
        ({"objective": ("val_score", "up")}, ValueError, "direction='up'"),
        ({"objective": 3}, TypeError, "`objective` must be a logged metric name"),
    ],
)
def test_bad_tuner_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        Tuner(build_model, **{"directory": tmp_path, **kwargs})


def test_build_model_must_be_callable(tmp_path):
    with pytest.raises(TypeError, match="`build_model` to be a function"):
        Tuner("build_model", directory=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"validation_split": 0.2, "use_val": True}, "one source of validation data.*validation_data and validation_split"),
        ({}, r"'val_accuracy' is measured on validation data.*validation_split=0.2"),
        ({"validation_split": 1.5}, r"strictly between 0 and 1.*validation_split=1.5"),
        ({"cv": 1}, r"`cv` to be a number of folds >= 2.*cv=1"),
        ({"cv": 3, "use_val": True}, "validation_data and cv"),
        ({"epochs": 0, "use_val": True}, r"`epochs` to be a positive integer.*epochs=0"),
        ({"n_jobs": 0, "use_val": True}, "n_jobs=0"),
        ({"use_val": True, "epoch": 3}, r"does not take \['epoch'\]"),
    ],
)  # fmt: skip
def test_bad_search_arguments(tmp_path, digits, kwargs, match):
    x, y, xd, yd = digits
    kwargs = dict(kwargs)
    if kwargs.pop("use_val", False):
        kwargs["validation_data"] = (xd, yd)
    tuner = Tuner(build_model, "val_accuracy", max_trials=1, directory=tmp_path)
    with pytest.raises((ValueError, TypeError), match=match):
        tuner.search(x, y, verbose=0, **kwargs)
    assert tuner.study.trials == []


def test_search_needs_x(tmp_path):
    tuner = Tuner(build_model, "loss", directory=tmp_path)
    with pytest.raises(ValueError, match="needs the training data. Received: x=None"):
        tuner.search(epochs=1)


def test_objective_directions():
    assert resolve_objective("val_accuracy") == Objective("val_accuracy", "max")
    assert resolve_objective("val_sparse_categorical_accuracy").direction == "max"
    assert resolve_objective("val_auc").direction == "max"
    assert resolve_objective("val_mae").direction == "min"
    assert resolve_objective("loss").direction == "min"
    assert resolve_objective(("val_custom", "maximize")).direction == "max"
    assert Objective("val_r2", "minimize").optuna_direction == "minimize"


def test_data_of_different_lengths_is_refused_before_any_trial(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = Tuner(build_model, "val_accuracy", directory=tmp_path)
    with pytest.raises(ValueError, match=r"`x` and `y` to hold the same number.*80 and 79"):
        tuner.search(x, y[:79], validation_data=(xd, yd), epochs=1)
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` and `validation_data\[1\]`"):
        tuner.search(x, y, validation_data=(xd, y), epochs=1)
    assert tuner.study.trials == []


def test_grid_missing_a_parameter_raises_at_once(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = Tuner(
        build_model, "val_accuracy", sampler="grid", search_space={"width": [8, 16]},
        directory=tmp_path,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"does not list.*'units'.*keys \['width'\]"):
        tuner.search(x, y, validation_data=(xd, yd), epochs=1, verbose=0)
    assert len(tuner.study.trials) == 1


def test_fit_arguments_a_search_fixes(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = Tuner(build_model, "val_accuracy", directory=tmp_path)
    with pytest.raises(ValueError, match=r"fixes \['validation_freq'\].*validation_freq=2"):
        tuner.search(x, y, validation_data=(xd, yd), epochs=1, validation_freq=2)
