"""Tests for the copies `doctor` works on (`clone_model(model, compile=True)` with the
model's weights): they start from the caller's weights, leave every part of the
caller's model untouched, and a model that cannot be cloned gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import layers, losses, metrics, optimizers
from lamina.workflow.doctor import doctor
from lamina.workflow.doctor.copies import model_copy, trainable_copy


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return (x[:200] / 16.0).astype("float32"), y[:200].astype("int64")


def _compile(model: lamina.Model, **kwargs: object) -> lamina.Model:
    model.compile(
        optimizer=optimizers.Adam(learning_rate=1e-2),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        **kwargs,
    )
    return model


def _mlp(batch_norm: bool = False) -> lamina.Model:
    lamina.set_seed(0)
    hidden = [layers.Dense(16, activation="relu")]
    if batch_norm:
        hidden.append(layers.BatchNormalization())
    return _compile(lamina.Sequential([lamina.Input(shape=(64,))] + hidden + [layers.Dense(10)]))


def test_copies_hold_the_callers_weights_and_fresh_optimizers(digits) -> None:
    x, y = digits
    model = _mlp()
    model.fit(x, y, epochs=1, verbose=0)
    base = model_copy(model, x)
    assert base is not model and base.optimizer is not model.optimizer
    for a, b in zip(base.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    xt, yt = torch.as_tensor(x[:8]), torch.as_tensor(y[:8])
    first, second = trainable_copy(base, xt, yt), trainable_copy(base, xt, yt)
    assert first.optimizer is not second.optimizer and int(first.optimizer.iterations) == 0
    first.train_step((xt, yt))
    for a, b in zip(second.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    probe = optimizers.SGD(learning_rate=0.5)
    assert trainable_copy(base, xt, yt, probe).optimizer is probe


def test_doctor_checks_the_callers_weights_not_fresh_ones(digits) -> None:
    x, y = digits
    model = _mlp()
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    check = doctor(model, x, y, steps=5, verbose=0)["init_loss"]
    # A trained model's loss is far below chance: the copies hold its weights.
    assert check.evidence["ratio"] < 0.5
    assert "already trained" in check.message


def test_doctor_leaves_batch_norm_statistics_and_metric_state_untouched(digits) -> None:
    x, y = digits
    model = _mlp(batch_norm=True)
    accuracy = metrics.SparseCategoricalAccuracy(name="acc")
    _compile(model, metrics=[accuracy])
    model.evaluate(x[:50], y[:50], verbose=0)
    seen = float(accuracy.result())
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    report = doctor(model, x, y, steps=10, verbose=0)
    assert "zero_input_baseline" in report and report["gradient_norms"].status == "pass"
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert float(accuracy.result()) == seen
    assert not model.optimizer.built


@lamina.saving.register_keras_serializable(package="TestDoctorCopies")
class _Clonable(lamina.Model):
    def __init__(self, units=16, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = layers.Dense(units, activation="relu")
        self.head = layers.Dense(10)

    def call(self, inputs, training=None):
        return self.head(self.hidden(inputs))

    def get_config(self):
        return {"units": self.units, "name": self.name}


class _NotClonable(lamina.Model):
    """A subclassed model whose constructor needs an argument it does not report."""

    def __init__(self, units):
        super().__init__()
        self.hidden = layers.Dense(units, activation="relu")
        self.head = layers.Dense(10)

    def call(self, inputs, training=None):
        return self.head(self.hidden(inputs))


def test_doctor_runs_on_a_clonable_subclassed_model_built_or_not(digits) -> None:
    x, y = digits
    lamina.set_seed(0)
    built = _compile(_Clonable(units=24))
    built.build((None, 64))
    weights = [w.copy() for w in built.get_weights()]
    report = doctor(built, x, y, steps=20, verbose=0)
    assert report.ok, str(report)
    assert all(np.array_equal(a, b) for a, b in zip(weights, built.get_weights()))
    unbuilt = _compile(_Clonable(units=24))
    report = doctor(unbuilt, x, y, steps=5, verbose=0)
    assert report["init_loss"].status == "pass"
    assert not unbuilt.built  # the copies were built, not the caller's model


def test_doctor_says_how_to_make_a_subclassed_model_clonable(digits) -> None:
    x, y = digits
    model = _compile(_NotClonable(16))
    with pytest.raises(
        ValueError,
        match=r"`doctor` works on a copy of the model, made with "
        r"`lamina\.models\.clone_model\(model, compile=True\)`.*Received: a `_NotClonable`.*"
        r"give its class a `get_config\(\)` that returns its constructor arguments",
    ):
        doctor(model, x, y, verbose=0)


def test_doctor_copies_of_a_jit_compiled_model_skip_torch_compile(digits, monkeypatch) -> None:
    x, y = digits
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(64,)), layers.Dense(16, activation="relu"), layers.Dense(10)]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=1e-2),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
    )
    base = model_copy(model, x)
    assert base._jit_compile is False and model._jit_compile is True
    assert base.get_compile_config()["loss"] == model.get_compile_config()["loss"]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("doctor's copies must not call torch.compile")

    monkeypatch.setattr(torch, "compile", refuse)
    assert doctor(model, x, y, steps=5, verbose=0)["finite_forward_backward"].status == "pass"
