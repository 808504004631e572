"""Tests of the built-in callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
LearningRateScheduler, CSVLogger, TerminateOnNaN, LambdaCallback and the namespace."""

from __future__ import annotations

import csv
import math
import os
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks as cb_mod
from lamina.training.callbacks import CallbackList
from lamina.training.callbacks.monitor import resolve_mode


def _data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype="float32")).astype("float32")
    return x, y


def _model(lr: float = 0.01, optimizer: str = "adam") -> lamina.Model:
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])
    opt = lamina.optimizers.Adam(lr) if optimizer == "adam" else lamina.optimizers.SGD(lr)
    model.compile(optimizer=opt, loss="mse")
    return model


class Inject(lamina.callbacks.Callback):
    """Writes a chosen value under ``key`` into the epoch logs (before the callbacks under test)."""

    def __init__(self, key: str, values: list[float]) -> None:
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


class Snapshots(lamina.callbacks.Callback):
    """Keeps a copy of the weights at the end of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[dict[str, torch.Tensor]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.states.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})


def _same_state(model: lamina.Model, state: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


# ---------------------------------------------------------------- namespace / contract
def test_callbacks_namespace_exports_every_callback():
    import lamina.training.callbacks as impl

    for name in impl.__all__:
        assert getattr(lamina.callbacks, name) is getattr(impl, name)
    assert lamina.callbacks is cb_mod
    assert lamina.callbacks.LambdaCallback is impl.LambdaCallback


@pytest.mark.parametrize(
    "make, listens_per_batch",
    [
        (lambda d: lamina.callbacks.EarlyStopping(), False),
        (lambda d: lamina.callbacks.ReduceLROnPlateau(), False),
        (lambda d: lamina.callbacks.LearningRateScheduler(lambda e, lr: lr), False),
        (lambda d: lamina.callbacks.CSVLogger(os.path.join(d, "log.csv")), False),
        (lambda d: lamina.callbacks.TerminateOnNaN(), True),
        (lambda d: lamina.callbacks.ModelCheckpoint(os.path.join(d, "m.lamina")), False),
        (lambda d: lamina.callbacks.ModelCheckpoint(
            os.path.join(d, "m{epoch}-{batch}.weights.safetensors"), save_weights_only=True, save_freq=2), True),
        (lambda d: lamina.callbacks.BackupAndRestore(os.path.join(d, "bk")), False),
        (lambda d: lamina.callbacks.BackupAndRestore(os.path.join(d, "bk"), save_freq=2), True),
        (lambda d: lamina.callbacks.TensorBoard(os.path.join(d, "tb")), False),
        (lambda d: lamina.callbacks.TensorBoard(os.path.join(d, "tb"), update_freq="batch"), True),
    ],
)
def test_callback_contract_runs_in_fit_and_costs_nothing_per_batch_unless_needed(tmp_path, make, listens_per_batch):
    cb = make(str(tmp_path))
    assert CallbackList([cb], None, {}).train_batch_hooks is listens_per_batch
    x, y = _data()
    model = _model()
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[cb])
    assert len(history.epoch) == 2
    assert all(math.isfinite(v) for v in history.history["loss"])
    # The same instance can be used again for another fit.
    model.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0, callbacks=[cb])


# ---------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize(
    "monitor, expected",
    [("val_loss", "min"), ("loss", "min"), ("val_accuracy", "max"), ("auc", "max"),
     ("val_precision", "max"), ("recall", "max"), ("val_f1_score", "max"), ("val_mae", "min")],
)
def test_monitor_mode_auto_infers_direction_from_name(monitor, expected):
    assert resolve_mode("EarlyStopping", "auto", monitor) == expected
    assert lamina.callbacks.EarlyStopping(monitor=monitor)._mode == expected


def test_early_stopping_stops_after_patience_and_restores_best_weights():
    x, y = _data()
    model = _model()
    snaps = Snapshots()
    stop = lamina.callbacks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    history = model.fit(
        x, y, epochs=10, batch_size=16, verbose=0,
        callbacks=[Inject("score", [3.0, 1.0, 2.0, 1.5, 0.5, 0.1] + [0.0] * 4), snaps, stop],
    )
    # Best at epoch index 1; epochs 2 and 3 do not improve -> stops at index 3.
    assert history.epoch == [0, 1, 2, 3]
    assert history.history["score"] == [3.0, 1.0, 2.0, 1.5]
    assert stop.best == 1.0 and stop.best_epoch == 1 and stop.stopped_epoch == 3
    assert not _same_state(model, snaps.states[3])
    assert _same_state(model, snaps.states[1])


def test_early_stopping_without_restore_keeps_last_weights_and_respects_min_delta():
    x, y = _data()
    model = _model()
    snaps = Snapshots()
    # Improvements of 0.05 are below min_delta=0.1 so they do not count.
    stop = lamina.callbacks.EarlyStopping(monitor="score", min_delta=0.1, patience=2)
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0,
                        callbacks=[Inject("score", [1.0, 0.95, 0.9, 0.85, 0.8] + [0.0] * 5), snaps, stop])
    assert history.epoch == [0, 1, 2]
    assert _same_state(model, snaps.states[-1])


def test_early_stopping_max_mode_baseline_and_start_from_epoch():
    x, y = _data()
    # Accuracy-like: larger is better. Epochs that do not beat the baseline count
    # towards patience even when they are the best so far (as in Keras).
    values = [0.5, 0.5, 0.5, 0.8, 0.0, 0.0]
    stop = lamina.callbacks.EarlyStopping(monitor="val_acc", patience=2, baseline=0.9)
    h = _model().fit(x, y, epochs=6, verbose=0, callbacks=[Inject("val_acc", values), stop])
    assert h.epoch == [0, 1]
    stop = lamina.callbacks.EarlyStopping(monitor="val_acc", patience=2)
    h = _model().fit(x, y, epochs=6, verbose=0, callbacks=[Inject("val_acc", values), stop])
    assert h.epoch == [0, 1, 2]
    # A larger value is an improvement in max mode: 0.8 restarts the count.
    stop = lamina.callbacks.EarlyStopping(monitor="val_acc", patience=3)
    h = _model().fit(x, y, epochs=6, verbose=0, callbacks=[Inject("val_acc", values), stop])
    assert h.epoch == [0, 1, 2, 3, 4, 5] and stop.best == 0.8 and stop.best_epoch == 3
    # The first 3 epochs are ignored, so the bad early values do not stop training.
    stop = lamina.callbacks.EarlyStopping(monitor="val_acc", patience=1, start_from_epoch=3)
    h = _model().fit(x, y, epochs=6, verbose=0, callbacks=[Inject("val_acc", [0.9, 0.1, 0.1, 0.5, 0.6, 0.4]), stop])
    assert h.epoch == [0, 1, 2, 3, 4, 5]


def test_early_stopping_on_real_validation_loss_stops_training():
    x, y = _data()
    model = _model(lr=0.5, optimizer="sgd")
    stop = lamina.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=1e-3)
    history = model.fit(x, y, epochs=200, batch_size=64, validation_split=0.25, verbose=0, callbacks=[stop])
    val = history.history["val_loss"]
    assert len(val) < 200 and stop.stopped_epoch == len(val) - 1
    assert val[stop.best_epoch] == stop.best and stop.best_epoch == len(val) - 2
    assert val[-1] > stop.best - 1e-3  # the last epoch did not improve by min_delta


def test_early_stopping_missing_key_warns_with_available_keys():
    x, y = _data()
    stop = lamina.callbacks.EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match=r"`val_loss`, which is not in the logs\. Available keys: loss\."):
        history = _model().fit(x, y, epochs=2, verbose=0, callbacks=[stop])
    assert len(history.epoch) == 2


def test_early_stopping_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"`EarlyStopping` expects `mode` to be one of 'auto', 'min', 'max'\. Received: mode='best'"):
        lamina.callbacks.EarlyStopping(mode="best")
    with pytest.raises(ValueError, match=r"`EarlyStopping` expects `patience` to be an integer >= 0\. Received: patience=-1"):
        lamina.callbacks.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match=r"`EarlyStopping` expects `monitor` to be the name of a logged quantity"):
        lamina.callbacks.EarlyStopping(monitor="")


# ---------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_lr_on_plateau_reduces_after_patience_with_cooldown_and_floor():
    x, y = _data()
    model = _model(lr=0.1)
    values = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    reduce = lamina.callbacks.ReduceLROnPlateau(monitor="score", factor=0.5, patience=2, cooldown=2, min_lr=0.03)
    history = model.fit(x, y, epochs=8, verbose=0, callbacks=[Inject("score", values), reduce])
    # The logged rate is the one used during the epoch. Epoch 0 sets the best; 1: wait 1;
    # 2: wait 2 -> 0.05, cooldown 2; 3: cooldown; 4: cooldown ends, wait 1; 5: wait 2 -> 0.03 (the floor).
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.03, 0.03])
    assert model.optimizer.learning_rate == pytest.approx(0.03)
    assert model.optimizer.torch_optimizer.param_groups[0]["lr"] == pytest.approx(0.03)


def test_reduce_lr_on_plateau_keeps_rate_while_improving():
    x, y = _data()
    model = _model(lr=0.1)
    reduce = lamina.callbacks.ReduceLROnPlateau(monitor="score", patience=1)
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[Inject("score", [4.0, 3.0, 2.0, 1.0]), reduce])
    assert history.history["learning_rate"] == pytest.approx([0.1] * 4)


def test_reduce_lr_on_plateau_rejects_factor_one_and_model_without_optimizer():
    with pytest.raises(ValueError, match=r"`ReduceLROnPlateau` expects `factor` to be a number in \[0.0, 1.0\)\. Received: factor=1.0"):
        lamina.callbacks.ReduceLROnPlateau(factor=1.0)

    class NoOpt(lamina.Model):
        def train_step(self, batch):
            return {"loss": torch.tensor(0.0)}

    model = NoOpt()
    model.compile(optimizer=None)
    with pytest.raises(ValueError, match=r"the model has no optimizer\. Received: model.optimizer=None"):
        model.fit(np.zeros((4, 2), "float32"), epochs=1, verbose=0, callbacks=[lamina.callbacks.ReduceLROnPlateau()])


# ---------------------------------------------------------------- LearningRateScheduler
def test_learning_rate_scheduler_sets_rate_each_epoch():
    x, y = _data()
    model = _model(lr=0.1)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return 0.1 * 0.5**epoch

    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[lamina.callbacks.LearningRateScheduler(schedule)])
    assert seen == [(0, pytest.approx(0.1)), (1, pytest.approx(0.1)), (2, pytest.approx(0.05))]
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert model.optimizer.torch_optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


def test_learning_rate_scheduler_accepts_one_argument_and_checks_output():
    x, y = _data()
    model = _model(lr=0.1)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[lamina.callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    bad = lamina.callbacks.LearningRateScheduler(lambda epoch, lr: "fast")
    with pytest.raises(ValueError, match=r"`schedule` to return a float >= 0\. Received: schedule\(0, 0\.02\) returned 'fast'"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[bad])
    with pytest.raises(TypeError, match=r"expects `schedule` to be a function"):
        lamina.callbacks.LearningRateScheduler(0.1)


# ---------------------------------------------------------------- CSVLogger
def _read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_writes_history_values_exactly(tmp_path):
    x, y = _data()
    path = tmp_path / "sub" / "log.csv"
    history = _model().fit(x, y, epochs=3, validation_split=0.25, verbose=0,
                           callbacks=[lamina.callbacks.CSVLogger(path)])
    rows = _read_csv(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    assert [float(r[1]) for r in rows[1:]] == history.history["loss"]
    assert [float(r[2]) for r in rows[1:]] == history.history["val_loss"]


def test_csv_logger_append_and_separator(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[lamina.callbacks.CSVLogger(path, separator=";")])
    model.fit(x, y, epochs=4, initial_epoch=2, verbose=0,
              callbacks=[lamina.callbacks.CSVLogger(path, separator=";", append=True)])
    rows = _read_csv(path, ";")
    assert rows[0] == ["epoch", "loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"]
    # Without append the file starts over.
    model.fit(x, y, epochs=1, verbose=0, callbacks=[lamina.callbacks.CSVLogger(path, separator=";")])
    assert len(_read_csv(path, ";")) == 2
    with pytest.raises(ValueError, match=r"`separator` to be a single character .* Received: separator=', '"):
        lamina.callbacks.CSVLogger(path, separator=", ")


# ---------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan_stops_at_the_first_bad_batch(capsys):
    x, y = _data()
    model = _model()
    steps = []

    def poison(batch, logs):
        steps.append(batch)
        if batch == 1:
            with torch.no_grad():
                model.layers[-1].kernel.fill_(float("nan"))

    term = lamina.callbacks.TerminateOnNaN()
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0,
                        callbacks=[lamina.callbacks.LambdaCallback(on_train_batch_begin=poison), term])
    assert term.stopped_batch == 1
    assert steps == [0, 1]  # no further batch, no further epoch
    assert history.epoch == [0]
    assert math.isnan(history.history["loss"][0])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


# ---------------------------------------------------------------- LambdaCallback
def test_lambda_callback_hooks_are_called():
    x, y = _data()
    events = []
    cb = lamina.callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("begin"),
        on_epoch_end=lambda epoch, logs: events.append((epoch, sorted(logs))),
        on_train_end=lambda logs: events.append("end"),
    )
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert events == ["begin", (0, ["loss"]), (1, ["loss"]), "end"]
    with pytest.raises(TypeError, match=r"`LambdaCallback` got unexpected keyword argument\(s\): on_batch_ends"):
        lamina.callbacks.LambdaCallback(on_batch_ends=print)


def test_generic_batch_hooks_are_called_with_dict_logs_like_keras():
    """Keras calls `on_batch_begin` / `on_batch_end` for training batches, and every
    hook gets a dict (never None); batch logs carry this step's running values."""
    x, y = _data()
    seen = []

    class Generic(lamina.callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch, dict(logs)))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, dict(logs)))

        def on_epoch_begin(self, epoch, logs=None):
            assert isinstance(logs, dict)

        def on_train_begin(self, logs=None):
            assert isinstance(logs, dict)

    lam = []
    cb2 = lamina.callbacks.LambdaCallback(on_batch_end=lambda batch, logs: lam.append(logs["loss"]))
    model = _model()
    history = model.fit(x, y, epochs=1, batch_size=len(x) // 2, verbose=0, callbacks=[Generic(), cb2])
    assert [s[:2] for s in seen] == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]
    assert seen[0][2] == {} and set(seen[1][2]) == {"loss"}
    # The last batch's running loss is the epoch's loss.
    assert seen[3][2]["loss"] == pytest.approx(history.history["loss"][0], rel=1e-6)
    assert lam[-1] == pytest.approx(history.history["loss"][0], rel=1e-6)


def test_predict_batch_end_receives_outputs():
    x, _ = _data()
    model = _model()
    outs = []
    cb = lamina.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: outs.append(logs["outputs"]))
    pred = model.predict(x, batch_size=8, verbose=0, callbacks=[cb])
    np.testing.assert_allclose(np.concatenate([o.numpy() for o in outs]), pred, rtol=1e-6)


# ---------------------------------------------------------------- ModelCheckpoint
class RecordingSaves(lamina.Sequential):
    """A model that records the paths `save` / `save_weights` are called with (and
    writes the weights there), so the callback's logic is tested on its own."""

    saved: list[tuple[str, str]]

    def save(self, path, *args, **kwargs):
        self.saved.append(("save", path))
        open(path, "w").close()

    def save_weights(self, path, *args, **kwargs):
        self.saved.append(("save_weights", path))
        open(path, "w").close()


def _recording_model():
    lamina.set_seed(0)
    model = RecordingSaves([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])
    model.saved = []
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse")
    return model


def test_model_checkpoint_fills_template_with_1_based_epoch_and_logs(tmp_path):
    x, y = _data()
    model = _recording_model()
    template = str(tmp_path / "ck" / "ckpt-{epoch:02d}-{score:.2f}.lamina")
    ckpt = lamina.callbacks.ModelCheckpoint(template)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Inject("score", [0.5, 0.25, 0.125]), ckpt])
    names = [os.path.basename(p) for _, p in model.saved]
    assert names == ["ckpt-01-0.50.lamina", "ckpt-02-0.25.lamina", "ckpt-03-0.12.lamina"]
    assert sorted(os.listdir(tmp_path / "ck")) == names
    assert all(kind == "save" for kind, _ in model.saved)


def test_model_checkpoint_save_best_only_and_initial_threshold(tmp_path, capsys):
    x, y = _data()
    model = _recording_model()
    ckpt = lamina.callbacks.ModelCheckpoint(
        str(tmp_path / "w-{epoch}.weights.safetensors"), monitor="val_acc", save_best_only=True,
        save_weights_only=True, initial_value_threshold=0.55, verbose=1,
    )
    model.fit(x, y, epochs=5, verbose=0, callbacks=[Inject("val_acc", [0.5, 0.6, 0.6, 0.9, 0.7]), ckpt])
    assert [(k, os.path.basename(p)) for k, p in model.saved] == [
        ("save_weights", "w-2.weights.safetensors"), ("save_weights", "w-4.weights.safetensors")]
    assert ckpt.best == 0.9
    out = capsys.readouterr().out
    assert "Epoch 1: val_acc did not improve from 0.55000" in out
    assert "Epoch 4: val_acc improved from 0.60000 to 0.90000, saving model to" in out


def test_model_checkpoint_save_freq_in_batches(tmp_path):
    x, y = _data()  # 64 samples, batch 16 -> 4 batches per epoch
    model = _recording_model()
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.lamina"), save_freq=3)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ckpt])
    assert [os.path.basename(p) for _, p in model.saved] == ["e1-b3.lamina", "e2-b2.lamina"]


@pytest.mark.parametrize(
    ("name", "weights_only", "kind"),
    [
        ("best.keras", False, "save"),
        ("best.lamina", False, "save"),
        ("w.weights.h5", True, "save_weights"),
        ("w.weights.safetensors", True, "save_weights"),
    ],
)
def test_model_checkpoint_accepts_keras_and_lamina_extensions(tmp_path, name, weights_only, kind):
    x, y = _data()
    model = _recording_model()
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / name), save_weights_only=weights_only)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])
    assert model.saved == [(kind, str(tmp_path / name))]


def test_model_checkpoint_writes_keras_files_that_load_back(tmp_path):
    x, y = _data()
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3, activation="relu"), lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"))
    wckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "last.weights.h5"), save_weights_only=True)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt, wckpt])
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(lamina.models.load_model(tmp_path / "best.keras").predict(x, verbose=0), expected, rtol=1e-6)
    fresh = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3, activation="relu"), lamina.layers.Dense(1)])
    fresh.load_weights(str(tmp_path / "last.weights.h5"))
    np.testing.assert_allclose(fresh.predict(x, verbose=0), expected, rtol=1e-6)


def test_model_checkpoint_refuses_a_weights_file_for_a_whole_model():
    with pytest.raises(ValueError, match=r"Received: filepath='m\.weights\.h5'\. To save only the weights"):
        lamina.callbacks.ModelCheckpoint("m.weights.h5")


def test_model_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match=r"When `save_weights_only=True`, `ModelCheckpoint` expects `filepath` to end in '\.weights\.safetensors' or '\.weights\.h5'\. Received: filepath='w\.pt'"):
        lamina.callbacks.ModelCheckpoint("w.pt", save_weights_only=True)
    with pytest.raises(ValueError, match=r"to end in '\.lamina' or '\.keras' \(a whole model\)\. Received: filepath='m\.weights\.safetensors'\. To save only the weights, pass `save_weights_only=True`"):
        lamina.callbacks.ModelCheckpoint("m.weights.safetensors")
    with pytest.raises(ValueError, match=r"`save_freq` to be 'epoch' or a positive integer .* Received: save_freq=0"):
        lamina.callbacks.ModelCheckpoint("m.lamina", save_freq=0)
    x, y = _data()
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_loss:.2f}.lamina"))
    with pytest.raises(ValueError, match=r"could not fill the template .*KeyError\('val_loss'\).* Available fields: epoch, loss"):
        _recording_model().fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "m.lamina"), save_best_only=True)
    model = _recording_model()
    with pytest.warns(UserWarning, match=r"only when `val_loss` is in the logs; skipping\. Available keys: loss"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])
    assert model.saved == []


def test_model_checkpoint_real_files_load_back(tmp_path):
    x, y = _data()
    model = _model()
    snaps = Snapshots()
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "best.lamina"), monitor="score", save_best_only=True)
    wckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "last.weights.safetensors"), save_weights_only=True)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[Inject("score", [3.0, 1.0, 2.0, 2.0]), snaps, ckpt, wckpt])
    best = lamina.load_model(str(tmp_path / "best.lamina"))
    model.load_state_dict(snaps.states[1])
    np.testing.assert_array_equal(best.predict(x, verbose=0), model.predict(x, verbose=0))
    with torch.no_grad():
        model.layers[-1].kernel.zero_()
    model.load_weights(str(tmp_path / "last.weights.safetensors"))
    assert _same_state(model, snaps.states[3])


def test_history_is_recorded_after_user_callbacks():
    # A key added by a user callback at epoch end reaches History (Keras order).
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = _model().fit(x, y, epochs=2, verbose=0, callbacks=[Inject("extra", [1.0, 2.0])])
    assert history.history["extra"] == [1.0, 2.0]
