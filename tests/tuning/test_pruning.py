"""TrialPruning on real Optuna trials, and Hyperband pruning a planted bad region of a search."""

from __future__ import annotations

import math

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import lamina  # noqa: E402
from lamina.tuning import TrialPruning, Tuner  # noqa: E402
from lamina.tuning.pruning import make_pruner  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


class _PruneAt(optuna.pruners.BasePruner):
    """Prunes once the trial has reported ``step``."""

    def __init__(self, step):
        self.step = step

    def prune(self, study, trial):
        return trial.last_step is not None and trial.last_step >= self.step


class _Model:
    stop_training = False


def _callback(pruner=None, monitor="val_loss", direction="min", **kwargs):
    study = optuna.create_study(direction="minimize", pruner=pruner or optuna.pruners.NopPruner())
    trial = study.ask()
    kwargs.setdefault("defer_reports", False)  # the values are read before `on_train_end`
    cb = TrialPruning(trial, monitor, direction, **kwargs)
    cb.set_model(_Model())
    return study, trial, cb


def test_reports_the_best_value_so_far_at_epochs_trained():
    study, trial, cb = _callback(defer_reports=False)
    for epoch, loss in enumerate([0.9, 0.5, 0.7, 0.4]):
        cb.on_epoch_end(epoch, {"loss": 1.0, "val_loss": loss})
    study.tell(trial, cb.best)
    frozen = study.trials[0]
    assert frozen.intermediate_values == {1: 0.9, 2: 0.5, 3: 0.5, 4: 0.4}
    assert (cb.best, cb.best_epoch, cb.epochs, cb.pruned) == (0.4, 3, 4, False)
    assert cb.model.stop_training is False


def test_without_a_pruner_the_reports_are_written_at_train_end_in_one_commit(tmp_path):
    from sqlalchemy import event

    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    cb = TrialPruning(trial, "val_loss", "min")
    cb.set_model(_Model())
    commits = []
    event.listen(storage.engine, "commit", lambda conn: commits.append(1))
    for epoch, loss in enumerate([0.9, 0.5, 0.7, 0.4]):
        cb.on_epoch_end(epoch, {"val_loss": loss})
    assert cb.defer_reports and commits == []
    assert study.trials[0].intermediate_values == {}
    commits.clear()
    cb.on_train_end()
    assert len(commits) == 1
    assert study.trials[0].intermediate_values == {1: 0.9, 2: 0.5, 3: 0.5, 4: 0.4}
    pruned = optuna.create_study(pruner=optuna.pruners.MedianPruner())
    assert TrialPruning(pruned.ask(), "val_loss", "min").defer_reports is False


def test_stops_training_when_the_pruner_says_so():
    _, _, cb = _callback(_PruneAt(2))
    cb.on_epoch_end(0, {"val_loss": 0.9})
    assert not cb.pruned and not cb.model.stop_training
    cb.on_epoch_end(1, {"val_loss": 0.8})
    assert cb.pruned and cb.model.stop_training


def test_cv_reports_the_running_mean_of_the_fold_bests():
    study, trial, cb = _callback(previous=[0.2, 0.4], step_offset=6)
    cb.on_epoch_end(0, {"val_loss": 0.9})
    cb.on_epoch_end(1, {"val_loss": 0.6})
    study.tell(trial, 0.0)
    assert study.trials[0].intermediate_values == pytest.approx(
        {7: (0.2 + 0.4 + 0.9) / 3, 8: (0.2 + 0.4 + 0.6) / 3}
    )


def test_missing_monitor_lists_the_logged_keys():
    _, _, cb = _callback(monitor="val_accuracy", direction="max")
    with pytest.raises(ValueError, match=r"'val_accuracy'.*Logged: 'accuracy', 'loss'.*validation"):
        cb.on_epoch_end(0, {"loss": 1.0, "accuracy": 0.5})


def test_a_diverged_value_stops_training_and_keeps_the_best_finite_one():
    study, trial, cb = _callback()
    cb.on_epoch_end(0, {"val_loss": 0.7})
    cb.on_epoch_end(1, {"val_loss": math.nan})
    assert cb.diverged and cb.model.stop_training and cb.best == 0.7
    study.tell(trial, cb.best)
    assert study.trials[0].intermediate_values == {1: 0.7}


def test_direction_is_read_from_the_name_when_not_given():
    study = optuna.create_study(direction="maximize")
    cb = TrialPruning(study.ask(), "val_accuracy")
    cb.set_model(_Model())
    for epoch, acc in enumerate([0.3, 0.6, 0.5]):
        cb.on_epoch_end(epoch, {"val_accuracy": acc})
    assert (cb.best, cb.best_epoch) == (0.6, 1)


def test_keep_best_weights_puts_back_the_best_epoch_in_a_real_fit():
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0], dtype="float32"))[:, None]
    x_dev = x + np.random.default_rng(1).normal(size=x.shape).astype("float32")
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])
    # a large learning rate and a noisy dev set: the dev loss goes up again after epoch 3
    model.compile(optimizer=lamina.optimizers.SGD(0.6), loss="mse")
    study = optuna.create_study()
    cb = TrialPruning(study.ask(), "val_loss", "min", keep_best_weights=True)
    history = model.fit(
        x, y, validation_data=(x_dev, y), epochs=6, batch_size=8, callbacks=[cb], verbose=0
    )
    losses = history.history["val_loss"]
    assert cb.best == min(losses) and cb.best_epoch == int(np.argmin(losses))
    assert cb.best_epoch < 5 and losses[-1] > cb.best  # the last epoch is not the best
    assert model.evaluate(x_dev, y, verbose=0) == pytest.approx(cb.best, rel=1e-5)


def test_hyperband_budget_is_in_epochs():
    pruner = make_pruner("hyperband", max_resource=9)
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == (1, 9, 3)
    assert isinstance(make_pruner(None, 9), optuna.pruners.NopPruner)
    assert isinstance(make_pruner("median", 9), optuna.pruners.MedianPruner)


def build_planted(hp):
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(hp.Int("units", 8, 16), activation="relu"),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    lr = hp.Choice("learning_rate", [1e-6, 3e-2])
    model.compile(
        optimizer=lamina.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_hyperband_prunes_the_planted_bad_region(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype("float32")[:200], d.target[:200]
    tuner = Tuner(
        build_planted,
        "val_accuracy",
        max_trials=8,
        sampler=optuna.samplers.RandomSampler(seed=2),  # bad draws after a good first trial
        pruner="hyperband",
        directory=tmp_path,
    )
    results = tuner.search(
        x[:150], y[:150], validation_data=(x[150:], y[150:]), epochs=4, verbose=0
    )
    pruned = [t for t in results.trials if t.state == "PRUNED"]
    assert pruned, str(results)
    assert all(t.epochs < 4 for t in pruned)
    assert sum(t.params["learning_rate"] == 1e-6 for t in pruned) >= 3
    # no model is kept for a pruned trial, and the best trial is from the good region
    assert all(t.model_path is None for t in pruned)
    assert results.best.params["learning_rate"] == 3e-2
    rows = {r["number"]: r for r in results.to_rows()}
    assert all(rows[t.number]["state"] == "PRUNED" for t in pruned)
    assert "PRUNED" in str(results)
    assert len([t for t in results.trials if t.state in ("COMPLETE", "PRUNED")]) == 8


def _report(study, trial, losses, last_step=None, defer_reports=None):
    """Runs `TrialPruning` over ``losses`` (one per epoch) like `fit` would; tells the study."""
    cb = TrialPruning(trial, "val_loss", "min", last_step=last_step, defer_reports=defer_reports)
    cb.set_model(_Model())
    for epoch, loss in enumerate(losses):
        cb.on_epoch_end(epoch, {"val_loss": loss})
        if cb.pruned:
            cb.on_train_end()
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return cb
    cb.on_train_end()
    study.tell(trial, cb.best)
    return cb


@pytest.mark.parametrize("name", ["asha", "hyperband"])
def test_successive_halving_asked_only_at_its_rungs_decides_as_when_asked_every_epoch(name):
    rng = np.random.default_rng(0)
    curves = [np.sort(rng.uniform(0.1, 1.0, 10))[::-1] + rng.uniform(0, 0.5) for _ in range(12)]
    runs = {}
    for defer in (None, False):  # None: the default, deferred; False: every epoch
        study = optuna.create_study(study_name=name, pruner=make_pruner(name, max_resource=10))
        asks = []
        original = optuna.trial.Trial.should_prune

        def counting(self, asks=asks, original=original):
            asks.append(self._cached_frozen_trial.last_step)
            return original(self)

        optuna.trial.Trial.should_prune = counting
        try:
            cbs = [_report(study, study.ask(), c, 10, defer) for c in curves]
        finally:
            optuna.trial.Trial.should_prune = original
        runs[defer] = (
            [(cb.pruned, cb.epochs, cb.defer_reports) for cb in cbs],
            [(t.state, t.intermediate_values) for t in study.trials],
            set(asks),
        )
    deferred, every = runs[None], runs[False]
    assert [r[:2] for r in deferred[0]] == [r[:2] for r in every[0]]
    assert any(pruned for pruned, _, _ in every[0]) and any(not p for p, _, _ in every[0])
    assert deferred[1] == every[1]  # the same states and stored curves
    assert all(d for _, _, d in deferred[0]) and deferred[2] == {1, 3, 9}
    assert every[2] == set(range(1, 10))


def test_asha_prunes_from_the_second_trial():
    study = optuna.create_study(pruner=make_pruner("asha", max_resource=9))
    assert isinstance(study.pruner, optuna.pruners.SuccessiveHalvingPruner)
    first = _report(study, study.ask(), [0.5] * 9, last_step=9)  # alone at every rung
    assert (first.pruned, first.epochs) == (False, 9)
    second = _report(study, study.ask(), [0.6] * 9, last_step=9)  # worse at epoch 1
    assert (second.pruned, second.epochs) == (True, 1)
    third = _report(study, study.ask(), [0.4, 0.4, 0.45] + [0.45] * 6, last_step=9)
    assert (third.pruned, third.epochs) == (False, 9)  # the best at epochs 1 and 3
    # Hyperband on the same reports: the trials fall into brackets by a hash of their
    # number, and a bracket's first trial runs all its epochs whatever its value
    hyperband = optuna.create_study(  # a fixed name: the brackets hash it
        study_name="hyperband", pruner=make_pruner("hyperband", max_resource=9)
    )
    runs = [_report(hyperband, hyperband.ask(), [0.5 + i / 100] * 9, 9) for i in range(4)]
    assert sum(not r.pruned for r in runs) >= 2


@pytest.mark.parametrize("last_step, pruned", [(None, True), (9, False)])
def test_a_trial_at_its_last_epoch_completes_instead_of_being_pruned(last_step, pruned):
    study = optuna.create_study(pruner=make_pruner("asha", max_resource=9))
    # the first trial's value at the rung of epoch 9 is recorded (it is asked there)
    _report(study, study.ask(), [0.9, 0.9, 0.9] + [0.1] * 6, last_step=None)
    # the second is better at the rungs of epochs 1 and 3, worse at epoch 9 (its last)
    cb = _report(study, study.ask(), [0.5, 0.5, 0.5] + [0.4] * 6, last_step=last_step)
    assert (cb.pruned, cb.epochs) == (pruned, 9)
    state = optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE
    assert study.trials[1].state == state
    if not pruned:
        assert study.trials[1].value == 0.4


def test_the_default_pruner_prunes_the_second_trial_after_one_epoch(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype("float32")[:1500], d.target[:1500]
    tuner = Tuner(build_planted, "val_accuracy", max_trials=2, directory=tmp_path)
    for lr in (3e-2, 1e-6):  # a good configuration, then a bad one
        tuner.study.enqueue_trial({"units": 12, "learning_rate": lr})
    results = tuner.search(
        x[:1200], y[:1200], validation_data=(x[1200:], y[1200:]), epochs=3, verbose=0
    )
    assert isinstance(tuner.study.pruner, optuna.pruners.SuccessiveHalvingPruner)
    trials = sorted(results.trials, key=lambda t: t.number)
    assert [(t.state, t.epochs) for t in trials] == [
        ("COMPLETE", 3),  # the first trial runs all its epochs
        ("PRUNED", 1),  # the bad one is stopped at the first rung, after one epoch
    ]
