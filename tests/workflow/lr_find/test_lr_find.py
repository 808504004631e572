"""Tests for `lamina.workflow.lr_find`: the range test on digits, divergence, the
suggestion rules, the plot, and that the caller's model is left untouched."""

from __future__ import annotations

import copy

import matplotlib.image
import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits

import lamina
from lamina import layers, losses, optimizers
from lamina.workflow.lr_find import LRFinderResult, _suggest, lr_find


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int64")


def _mlp(optimizer: object = "adam") -> lamina.Model:
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(64,)), layers.Dense(32, activation="relu"), layers.Dense(10)]
    )
    model.compile(optimizer=optimizer, loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_lr_find_suggests_a_sane_rate_on_digits(digits) -> None:
    x, y = digits
    model = _mlp()
    result = lr_find(model, x, y)
    assert isinstance(result, LRFinderResult)
    n = len(result.lrs)
    assert n == len(result.losses) == len(result.raw_losses)
    assert n == 100 or (result.diverged and n < 100)
    assert result.lrs[0] == pytest.approx(1e-7)
    assert np.all(np.diff(np.log10(result.lrs)) == pytest.approx(8 / 99))
    assert result.method == "steepest"
    assert result.lrs[0] < result.suggestion < result.lrs[-1]
    assert 1e-4 <= result.suggestion <= 1.0
    assert result.suggestion < result.min_loss_lr
    # The smoothed loss at the suggestion is below the starting loss: it is on the way down.
    i = result.lrs.index(result.suggestion)
    assert result.losses[i] < result.losses[0]
    assert "Suggested learning rate" in str(result)


def test_lr_find_leaves_the_callers_model_and_optimizer_unchanged(digits) -> None:
    x, y = digits
    model = _mlp(optimizers.Adam(learning_rate=3e-3))
    model.fit(x[:256], y[:256], epochs=1, verbose=0)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    opt_state = copy.deepcopy(model.optimizer.state_dict())
    rng_state = torch.get_rng_state()
    lr_find(model, x, y, num_steps=30)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert model.optimizer.learning_rate == pytest.approx(3e-3)
    after = model.optimizer.state_dict()
    assert after["iterations"] == opt_state["iterations"]
    for i, state in after["optimizer"]["state"].items():
        assert torch.equal(state["exp_avg"], opt_state["optimizer"]["state"][i]["exp_avg"])
    assert torch.equal(rng_state, torch.get_rng_state())


def test_lr_find_stops_when_the_loss_diverges(digits) -> None:
    x, y = digits
    result = lr_find(
        _mlp(optimizers.SGD()), x, y, start_lr=1e-3, end_lr=1e4, num_steps=60, smooth=0.5
    )
    assert result.diverged
    assert len(result.lrs) == len(result.losses) < 60
    assert result.lrs[-1] < 1e4
    assert np.all(np.isfinite(result.losses))


def test_lr_find_regression() -> None:
    x, y = load_diabetes(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    y = ((y - y.mean()) / y.std()).astype("float32")
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(10,)), layers.Dense(16, activation="relu"), layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    result = lr_find(model, x, y, num_steps=60)
    assert result.suggestion is not None
    assert result.lrs[0] < result.suggestion < result.lrs[-1]


def test_suggest_steepest_and_min_loss_fallback() -> None:
    lrs = np.logspace(-6, 0, 25)
    # A plateau, a descent centred at 1e-2, then a blow-up: steepest near 1e-2.
    curve = 2.0 - np.tanh(2.0 * (np.log10(lrs) + 2.0)) + np.where(lrs > 0.2, 10 * lrs, 0.0)
    suggestion, method, steepest, min_lr = _suggest(lrs, curve)
    assert method == "steepest" and suggestion == steepest
    assert 5e-3 < suggestion < 2e-2
    assert min_lr > suggestion
    # The minimum comes too early for a slope: a tenth of the minimum-loss rate, said so.
    lrs = np.logspace(-6, 0, 10)
    curve = np.array([1.0, 0.9, 0.8, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0])
    suggestion, method, steepest, min_lr = _suggest(lrs, curve)
    assert method == "min_loss/10" and steepest is None
    assert suggestion == pytest.approx(lrs[2] / 10)
    assert _suggest(lrs[:2], curve[:2])[0] is None


def test_lr_finder_result_plot_writes_a_png(digits, tmp_path) -> None:
    x, y = digits
    result = lr_find(_mlp(), x, y, num_steps=40)
    path = tmp_path / "lr.png"
    fig = result.plot(path)
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert len(ax.lines[0].get_xdata()) == len(result.lrs)
    # Drawing on a given Axes returns that Axes' figure.
    from matplotlib.figure import Figure

    other = Figure()
    given = other.add_subplot()
    assert result.plot(ax=given) is other
    assert result.to_dict()["suggestion"] == result.suggestion


def test_lr_find_rejects_bad_arguments(digits) -> None:
    x, y = digits
    model = _mlp()
    with pytest.raises(
        ValueError,
        match=r"`end_lr` to be greater than `start_lr`. Received: start_lr=1.0, end_lr=0.1",
    ):
        lr_find(model, x, y, start_lr=1.0, end_lr=0.1)
    with pytest.raises(
        ValueError, match=r"expects `smooth` to be a number in \[0.0, 1.0\). Received: smooth=1.0"
    ):
        lr_find(model, x, y, smooth=1.0)
    with pytest.raises(ValueError, match=r"`num_steps` to be at least 2. Received: num_steps=1"):
        lr_find(model, x, y, num_steps=1)
    with pytest.raises(
        ValueError, match=r"`diverge_factor` to be a number > 1.0. Received: diverge_factor=0.5"
    ):
        lr_find(model, x, y, diverge_factor=0.5)
    uncompiled = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(10)])
    with pytest.raises(
        ValueError,
        match=r"compiled with an optimizer and a loss. Received: a model that is not compiled",
    ):
        lr_find(uncompiled, x, y)


def test_workflow_exports_diagnosis_doctor_and_lr_find() -> None:
    from lamina import workflow

    for name in ("diagnose", "Diagnosis", "doctor", "DoctorReport", "lr_find", "LRFinderResult"):
        assert name in workflow.__all__
    assert workflow.lr_find is lr_find


def test_lr_find_takes_a_splits_object_or_a_train_pair(digits) -> None:
    from lamina.data import split

    x, y = digits
    s = split(x, y, dev=0.2, test=0.2, seed=0)
    expected = lr_find(_mlp(), *s.train, num_steps=20).to_dict()
    assert lr_find(_mlp(), s, num_steps=20).to_dict() == expected
    assert lr_find(_mlp(), splits=s, num_steps=20).to_dict() == expected
    assert lr_find(_mlp(), train=s.train, num_steps=20).to_dict() == expected
    with pytest.raises(ValueError, match=r"`lr_find` expects the data once"):
        lr_find(_mlp(), x, y, train=s.train)
    with pytest.raises(ValueError, match=r"`lr_find` expects both inputs `x` and targets `y`"):
        lr_find(_mlp(), x)


def test_lr_find_starts_from_the_models_weights(digits) -> None:
    x, y = digits
    trained = _mlp()
    trained.fit(x, y, epochs=20, verbose=0)
    fresh = lr_find(_mlp(), x, y, num_steps=10)
    warm = lr_find(trained, x, y, num_steps=10)
    # At the tiny first learning rates nothing changes: the loss is the model's own.
    assert warm.raw_losses[0] < 0.3 * fresh.raw_losses[0]


def test_lr_find_explains_a_model_it_cannot_clone(digits) -> None:
    x, y = digits

    class NeedsUnits(lamina.Model):
        def __init__(self, units):
            super().__init__()
            self.dense = layers.Dense(units)

        def call(self, inputs, training=None):
            return self.dense(inputs)

    model = NeedsUnits(10)
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match=r"`lr_find` works on a copy of the model.*get_config\(\)"):
        lr_find(model, x, y, num_steps=5)
