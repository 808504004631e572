"""Tuner: searches on digits with a tiny Dense model; best model, seeds, cv, threads, grid, budget."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import lamina  # noqa: E402
from lamina.tuning import HyperParameters, Tuner  # noqa: E402
from lamina.tuning.tuner import derive_seed  # noqa: E402
from lamina.workflow import Predictions  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0).astype("float32")[:240]
    y = d.target[:240]
    return x[:160], y[:160], x[160:], y[160:]


def build_model(hp):
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(hp.Int("units", 8, 32, log=True), activation="relu"),
            lamina.layers.Dropout(hp.Float("dropout", 0.0, 0.3)),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(hp.Float("learning_rate", 3e-3, 3e-2, log=True)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _tuner(tmp_path, **kwargs):
    kwargs.setdefault("sampler", optuna.samplers.RandomSampler(seed=0))
    kwargs.setdefault("pruner", None)
    kwargs.setdefault("max_trials", 3)
    return Tuner(build_model, kwargs.pop("objective", "val_accuracy"), directory=tmp_path, **kwargs)


def test_search_saves_the_best_epoch_model_whose_dev_score_is_the_value(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path)
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=3, verbose=0)
    assert [t.state for t in results.trials] == ["COMPLETE"] * 3
    assert all(t.epochs == 3 and t.seconds > 0 for t in results.trials)
    best = results.best
    assert best.value == max(t.value for t in results.trials) == tuner.best_value
    assert tuner.best_params == best.params and set(best.params) == {
        "units",
        "dropout",
        "learning_rate",
    }
    assert Path(best.model_path) == (tmp_path / "build_model" / f"trial_{best.number}.lamina")
    assert (tmp_path / "build_model.db").exists()
    scores = tuner.best_model().evaluate(xd, yd, verbose=0, return_dict=True)
    assert scores["accuracy"] == pytest.approx(tuner.best_value, abs=1e-6)
    # the study's own record agrees
    assert tuner.study.best_value == pytest.approx(best.value)


def test_a_trial_is_reproducible_from_its_seed_and_params(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, objective="val_loss", max_trials=2)
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=3, batch_size=32, verbose=0)
    for record in results.trials:
        assert record.seed == derive_seed(0, record.number)
        lamina.set_seed(record.seed)
        model = build_model(HyperParameters(values=record.params))
        history = model.fit(x, y, validation_data=(xd, yd), epochs=3, batch_size=32, verbose=0)
        assert min(history.history["val_loss"]) == pytest.approx(record.value, rel=1e-6)


def test_validation_split_takes_the_last_rows_as_the_dev_set(tmp_path, digits):
    x, y, _, _ = digits
    tuner = _tuner(tmp_path, objective="val_loss", max_trials=2)
    tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    scores = tuner.best_model().evaluate(x[120:], y[120:], verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(tuner.best_value, rel=1e-5)


def test_cv_objective_is_the_mean_of_the_fold_bests(tmp_path, digits):
    x, y, _, _ = digits
    tuner = _tuner(tmp_path, max_trials=2)
    results = tuner.search(x, y, cv=3, epochs=2, verbose=0)
    for frozen in tuner.study.get_trials():
        assert frozen.state.name == "COMPLETE"
        assert frozen.user_attrs["epochs"] == 6
        steps = frozen.intermediate_values
        assert sorted(steps) == [1, 2, 3, 4, 5, 6]
        # running mean of the fold bests: the last report is the value
        assert frozen.value == pytest.approx(steps[6])
        fold_best_0 = max(steps[1], steps[2])
        assert steps[2] == pytest.approx(fold_best_0)
    assert all(t.model_path is None for t in results.trials)
    with pytest.raises(ValueError, match="was not saved"):
        tuner.best_model()
    assert tuner.compare_best() is None


def test_two_worker_processes_share_the_study(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=4)
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=2, n_jobs=2, verbose=0)
    # the spawned worker's running trial still finishes when the study is full: at most 1 extra
    assert len(results.trials) in (4, 5)
    assert {t.number for t in results.trials} == set(range(len(results.trials)))
    assert all(t.state == "COMPLETE" for t in results.trials)


def test_time_budget_stops_starting_trials(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=200, time_budget=1.0)
    start = time.monotonic()
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=2, verbose=0)
    assert time.monotonic() - start < 20
    assert 1 <= len(results.trials) < 200


def test_time_budget_stops_the_running_trial_at_an_epoch_end(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=5, time_budget=1.0)
    start = time.monotonic()
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=500, verbose=0)
    assert time.monotonic() - start < 10
    (trial,) = results.trials
    assert trial.state == "COMPLETE" and 1 <= trial.epochs < 500
    assert tuner.study.trials[0].user_attrs["stopped"] == "time_budget"
    scores = tuner.best_model().evaluate(xd, yd, verbose=0, return_dict=True)
    assert scores["accuracy"] == pytest.approx(trial.value, abs=1e-6)


def test_grid_sampler_runs_the_grid_once(tmp_path, digits):
    x, y, xd, yd = digits
    grid = {"units": [8, 16], "dropout": [0.0], "learning_rate": [0.01, 0.03]}
    tuner = Tuner(
        build_model, "val_accuracy", sampler="grid", search_space=grid, pruner=None,
        max_trials=10, directory=tmp_path,
    )  # fmt: skip
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=1, verbose=0)
    seen = sorted((t.params["units"], t.params["learning_rate"]) for t in results.trials)
    assert seen == [(8, 0.01), (8, 0.03), (16, 0.01), (16, 0.03)]


def test_sampler_and_pruner_instances_are_used(tmp_path):
    sampler = optuna.samplers.RandomSampler(seed=3)
    pruner = optuna.pruners.NopPruner()
    tuner = Tuner(build_model, "val_accuracy", sampler=sampler, pruner=pruner, directory=tmp_path)
    assert tuner.study.sampler is sampler and tuner.study.pruner is pruner
    assert isinstance(
        Tuner(build_model, study_name="m", sampler="random", directory=tmp_path).study.sampler,
        optuna.samplers.RandomSampler,
    )


def test_search_again_continues_the_same_study(tmp_path, digits):
    x, y, xd, yd = digits
    first = _tuner(tmp_path, max_trials=2).search(
        x, y, validation_data=(xd, yd), epochs=1, verbose=0
    )
    second = _tuner(tmp_path, max_trials=3).search(
        x, y, validation_data=(xd, yd), epochs=1, verbose=0
    )
    assert len(second.trials) == 3
    assert [t.params for t in second.trials[:2]] == [t.params for t in first.trials]
    assert [t.value for t in second.trials[:2]] == [t.value for t in first.trials]


def test_compare_best_is_the_paired_comparison_of_the_two_saved_models(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=3)
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=2, verbose=0)
    best, runner = results.best, results.runner_up
    assert best.value >= runner.value
    a = Predictions.from_model(lamina.saving.load_model(best.model_path), xd, yd)
    b = Predictions.from_model(lamina.saving.load_model(runner.model_path), xd, yd)
    expected = a.compare(b)
    got = tuner.compare_best()
    assert got.p_value == pytest.approx(expected.p_value)
    assert got.difference.estimate == pytest.approx(best.value - runner.value, abs=1e-6)
    assert results.comparison.p_value == pytest.approx(expected.p_value)
    assert results.dev_size == len(yd)
    assert "Best vs runner-up on the dev set" in str(results)
    data = json.loads(json.dumps(results.to_dict(), allow_nan=False))
    assert data["comparison"]["kind"] == "McNemarResult"
    assert data["comparison"]["p_value"] == pytest.approx(expected.p_value)
    assert data["best"]["model_path"] == best.model_path


def test_tuner_plot_writes_a_png(tmp_path, digits):
    import matplotlib.image
    import matplotlib.pyplot as plt

    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=2)
    tuner.search(x, y, validation_data=(xd, yd), epochs=1, verbose=0)
    for kind in ("history", "importance", "parallel"):
        fig = tuner.plot(kind, path=tmp_path / f"{kind}.png")
        assert matplotlib.image.imread(tmp_path / f"{kind}.png").shape[0] > 100
        plt.close(fig)


def test_progress_lines_and_quiet_mode(tmp_path, digits, capsys):
    x, y, xd, yd = digits
    _tuner(tmp_path, max_trials=1).search(x, y, validation_data=(xd, yd), epochs=1)
    out = capsys.readouterr().out
    assert "Trial 0 COMPLETE: val_accuracy=" in out and "params={'units'" in out
    _tuner(tmp_path, max_trials=2).search(x, y, validation_data=(xd, yd), epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_derive_seed_is_deterministic_and_in_range():
    seeds = {derive_seed(s, n) for s in range(5) for n in range(50)}
    assert len(seeds) == 250
    assert all(0 <= s < 2**31 for s in seeds)
    assert derive_seed(7, 3) == derive_seed(7, 3)
    with pytest.raises(ValueError, match="trial_number"):
        derive_seed(0, -1)


def test_objective_on_training_metric_needs_no_validation(tmp_path, digits):
    x, y, _, _ = digits
    tuner = _tuner(tmp_path, objective="loss", max_trials=2)
    results = tuner.search(x, y, epochs=1, verbose=0)
    assert results.objective.direction == "min"
    assert results.best.value == min(t.value for t in results.trials)
    assert results.comparison is None
    with pytest.raises(ValueError, match="needs the dev set"):
        tuner.compare_best()
    assert tuner.compare_best(x[:40], y[:40]) is not None


def test_user_callbacks_see_every_trial(tmp_path, digits):
    x, y, xd, yd = digits

    class Count(lamina.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    count = Count()
    results = _tuner(tmp_path, max_trials=3).search(
        x, y, validation_data=(xd, yd), epochs=2, callbacks=[count], verbose=0
    )
    assert count.epochs == sum(t.epochs for t in results.trials) == 6


def test_study_stop_from_a_callback_ends_the_search(tmp_path, digits):
    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=10)

    class StopAfter(lamina.callbacks.Callback):
        epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1
            if self.epochs == 3:  # in the second trial
                self.model.stop_training = True
                tuner.study.stop()

    results = tuner.search(
        x, y, validation_data=(xd, yd), epochs=2, callbacks=[StopAfter()], verbose=0
    )
    assert [t.epochs for t in results.trials] == [2, 1]


def test_regression_search_compares_with_a_paired_interval(tmp_path):
    from lamina.workflow.uncertainty import Interval

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5)).astype("float32")
    y = (x @ rng.normal(size=5) + 0.1 * rng.normal(size=120)).astype("float32")

    def build_regressor(hp):
        model = lamina.Sequential(
            [lamina.Input(shape=(5,)), lamina.layers.Dense(hp.Int("units", 2, 16)),
             lamina.layers.Dense(1)]
        )  # fmt: skip
        lr = hp.Float("learning_rate", 1e-3, 1e-1, log=True)
        model.compile(optimizer=lamina.optimizers.Adam(lr), loss="mse", metrics=["mae"])
        return model

    tuner = Tuner(
        build_regressor, "val_mae", max_trials=3, pruner=None, directory=tmp_path,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )  # fmt: skip
    results = tuner.search(x[:80], y[:80], validation_data=(x[80:], y[80:]), epochs=3, verbose=0)
    assert results.objective.direction == "min"
    assert results.best.value == min(t.value for t in results.trials)
    comparison = tuner.compare_best()
    assert isinstance(comparison, Interval) and comparison.n == 40
    # the paired difference of dev MAEs: runner-up minus best
    assert comparison.estimate == pytest.approx(
        results.runner_up.value - results.best.value, abs=1e-4
    )
    scores = tuner.best_model().evaluate(x[80:], y[80:], verbose=0, return_dict=True)
    assert scores["mae"] == pytest.approx(results.best.value, rel=1e-5)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_of_a_dead_process_is_retried_with_its_params_and_seed(tmp_path, digits):
    import socket
    import subprocess
    import sys

    x, y, xd, yd = digits
    tuner = _tuner(tmp_path, max_trials=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    orphan = tuner.study.ask()
    params = {
        "units": orphan.suggest_int("units", 8, 32, log=True),
        "dropout": orphan.suggest_float("dropout", 0.0, 0.3),
        "learning_rate": orphan.suggest_float("learning_rate", 3e-3, 3e-2, log=True),
    }
    orphan.set_user_attr("seed", derive_seed(0, orphan.number))
    orphan.set_user_attr("lamina_host", socket.gethostname())
    orphan.set_user_attr("lamina_pid", int(dead.stdout))
    results = tuner.search(x, y, validation_data=(xd, yd), epochs=1, verbose=0)
    states = [t.state for t in results.trials]
    assert states == ["FAIL", "COMPLETE"]
    retried = results.trials[1]
    assert retried.params == params and retried.seed == derive_seed(0, 0)
