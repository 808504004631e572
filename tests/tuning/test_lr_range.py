"""lr_range: a learning-rate search range from a real lr_find run, by its documented rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("optuna")

import lamina  # noqa: E402
import lamina.tuning  # noqa: E402
from lamina.tuning import spaces  # noqa: E402
from lamina.tuning.hp import HyperParameters  # noqa: E402
from lamina.tuning.learning_rate import lr_range, range_from_result  # noqa: E402
from lamina.workflow import LRFinderResult, lr_find  # noqa: E402

STEPS = 60


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data[:200] / 16.0).astype("float32"), d.target[:200].astype("int64")


def build_model(hp):
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(hp.Int("units", 16, 64), activation="relu"),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def _expected(result, factor_low=10.0, factor_high=3.0):
    """The documented rule, computed here from the lr_find result's fields."""
    s = result.suggestion
    return s / factor_low, min(result.min_loss_lr, s * factor_high)


def test_lr_range_is_the_documented_function_of_lr_find(digits):
    x, y = digits
    lamina.set_seed(0)
    model = build_model(HyperParameters())
    before = [w.copy() for w in model.get_weights()]
    result = lr_find(model, x, y, num_steps=STEPS, seed=0)
    low, high = lr_range(model, x, y, num_steps=STEPS, seed=0)
    assert result.suggestion is not None and result.min_loss_lr > result.suggestion
    assert 0 < low < result.suggestion < high
    assert (low, high) == pytest.approx(_expected(result), rel=1e-9)
    assert low == pytest.approx(result.suggestion / 10)
    assert result.lrs[0] <= low and high <= result.lrs[-1]
    for w, b in zip(model.get_weights(), before):  # the model is left unchanged
        np.testing.assert_array_equal(w, b)


def test_lr_range_factors_and_which_bound_binds(digits):
    x, y = digits
    lamina.set_seed(0)
    model = build_model(HyperParameters())
    result = lr_find(model, x, y, num_steps=STEPS, seed=1)
    ratio = result.min_loss_lr / result.suggestion
    assert ratio > 1.5
    # a factor_high below the ratio: the range ends at suggestion * factor_high
    tight = lr_range(model, x, y, num_steps=STEPS, seed=1, factor_low=3.0, factor_high=1.5)
    assert tight == pytest.approx((result.suggestion / 3.0, result.suggestion * 1.5), rel=1e-9)
    # a factor_high above it: the range ends at the minimum-loss rate
    wide = lr_range(model, x, y, num_steps=STEPS, seed=1, factor_high=ratio * 2)
    assert wide[1] == pytest.approx(result.min_loss_lr, rel=1e-9)


def test_lr_range_from_build_model_splits_and_the_package_name(digits):
    x, y = digits
    splits = lamina.data.split(x, y, dev=0.2, seed=0)
    lamina.set_seed(0)
    expected = _expected(lr_find(build_model(HyperParameters()), splits, num_steps=STEPS))
    lamina.set_seed(0)
    got = lr_range(build_model, splits=splits, num_steps=STEPS)
    assert got == pytest.approx(expected, rel=1e-9)
    # the package's `lr_range` is the function
    lamina.set_seed(0)
    assert lamina.tuning.lr_range(build_model, splits, num_steps=STEPS) == pytest.approx(expected)
    # the range seeds a search space
    hp = HyperParameters()
    spaces.optimizer(hp, lr_range=got)
    assert (
        hp.space["learning_rate"]["low"] == got[0] and hp.space["learning_rate"]["high"] == got[1]
    )
    assert math.isclose(hp.values["learning_rate"], math.sqrt(got[0] * got[1]))


def test_range_from_result_rule_on_a_given_curve():
    steep = LRFinderResult(
        lrs=[1e-5, 1e-3, 1e-1], losses=[2, 1, 3], suggestion=1e-3, min_loss_lr=0.05
    )
    assert range_from_result(steep) == pytest.approx((1e-4, 3e-3))
    assert range_from_result(steep, factor_high=100) == pytest.approx((1e-4, 0.05))
    tenth = LRFinderResult(
        lrs=[1e-5, 1e-3, 1e-1],
        losses=[2, 1, 3],
        suggestion=0.01,
        method="min_loss/10",
        min_loss_lr=0.1,
    )
    assert range_from_result(tenth) == pytest.approx((1e-3, 0.03))
    assert range_from_result(tenth, factor_low=2, factor_high=20) == pytest.approx((5e-3, 0.1))


def test_lr_range_errors(digits):
    x, y = digits
    with pytest.raises(ValueError, match=r"too few to suggest one.*num_steps"):
        lr_range(build_model, x, y, num_steps=2)
    with pytest.raises(ValueError, match=r"`factor_low` to be a finite number > 1.*factor_low=0.5"):
        lr_range(build_model, x, y, factor_low=0.5)
    with pytest.raises(ValueError, match=r"`factor_high`.*factor_high=True"):
        lr_range(build_model, x, y, factor_high=True)
    with pytest.raises(TypeError, match=r"compiled Lamina model or a build_model.*Received: str"):
        lr_range("model", x, y)
    with pytest.raises(
        TypeError, match=r"build_model\(hp\) to return a compiled.*NoneType from 'nothing'"
    ):

        def nothing(hp):
            return None

        lr_range(nothing, x, y)
    uncompiled = lamina.Sequential([lamina.Input(shape=(64,)), lamina.layers.Dense(10)])
    with pytest.raises(ValueError, match=r"not compiled"):
        lr_range(uncompiled, x, y)
