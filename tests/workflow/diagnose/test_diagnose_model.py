"""Tests for `lamina.workflow.diagnose` on real trained models: the planted situations
(bias, variance, mismatch, broken model) and the argument checks."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

import lamina
from lamina import layers, losses, optimizers
from lamina.workflow.diagnose import Diagnosis, diagnose
from lamina.workflow.predictions import Predictions


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    return (x / 16.0).astype("float32"), y.astype("int64"), order


def _mlp(
    hidden: list[int], lr: float = 1e-2, outputs: int = 10, loss: object = None
) -> lamina.Model:
    model = lamina.Sequential(
        [lamina.Input(shape=(64,))]
        + [layers.Dense(h, activation="relu") for h in hidden]
        + [layers.Dense(outputs)]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=lr),
        loss=loss or losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


# --------------------------------------------------------------------------- planted situations


def test_diagnose_planted_bias_tiny_model(digits) -> None:
    x, y, order = digits
    lamina.set_seed(0)
    train, dev = order[:600], order[1200:1500]
    model = _mlp([1])
    model.fit(x[train], y[train], epochs=3, verbose=0)
    d = diagnose(model, train=(x[train], y[train]), dev=(x[dev], y[dev]), human_error=0.01)
    assert d.task == "classification" and d.metric == "error"
    assert d.train_error > 0.3
    assert d.primary == "avoidable_bias"


def test_diagnose_planted_variance_big_model_few_samples(digits) -> None:
    x, y, order = digits
    lamina.set_seed(0)
    train, train_dev, dev = order[:60], order[600:900], order[1200:1500]
    model = _mlp([256, 256])
    model.fit(x[train], y[train], epochs=80, verbose=0)
    d = diagnose(
        model,
        train=(x[train], y[train]),
        train_dev=(x[train_dev], y[train_dev]),
        dev=(x[dev], y[dev]),
        human_error=0.01,
    )
    assert d.train_error == 0.0
    assert d.primary == "variance"
    assert d.variance > 0.08
    assert abs(d.data_mismatch) < d.variance
    # Without a train-dev set the same model still shows variance, flagged as mixed.
    d2 = diagnose(model, train=(x[train], y[train]), dev=(x[dev], y[dev]), human_error=0.01)
    assert d2.primary == "variance" and d2.variance_includes_mismatch


def test_diagnose_planted_data_mismatch_inverted_dev_images(digits) -> None:
    x, y, order = digits
    lamina.set_seed(0)
    train, train_dev, dev = order[:900], order[900:1200], order[1200:1500]
    model = _mlp([64])
    model.fit(x[train], y[train], epochs=8, verbose=0)
    # Splits given as an object with attributes, as `lamina.data.split` returns.
    splits = SimpleNamespace(
        train=(x[train], y[train]),
        train_dev=(x[train_dev], y[train_dev]),
        dev=(1.0 - x[dev], y[dev]),
        test=None,
    )
    d = diagnose(model, splits, human_error=0.01)
    assert d.train_dev_error < 0.1
    assert d.primary == "data_mismatch"
    assert d.data_mismatch > 0.5
    # A dict of splits works too.
    d2 = diagnose(model, {"train": splits.train, "train_dev": splits.train_dev, "dev": splits.dev})
    assert d2.primary == "data_mismatch"


def test_diagnose_planted_worse_than_common_sense_regression() -> None:
    x, y = load_diabetes(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    y = ((y - y.mean()) / y.std()).astype("float32")
    train, dev = slice(0, 300), slice(300, 442)
    common_sense = float(np.mean(np.abs(y[dev] - np.median(y[train]))))

    def fit(targets: np.ndarray) -> lamina.Model:
        lamina.set_seed(0)
        model = lamina.Sequential(
            [lamina.Input(shape=(10,)), layers.Dense(32, activation="relu"), layers.Dense(1)]
        )
        model.compile(optimizer=optimizers.Adam(learning_rate=1e-2), loss="mse")
        model.fit(x[train], targets, epochs=60, verbose=0)
        return model

    good = fit(y[train])
    d_good = diagnose(
        good, train=(x[train], y[train]), dev=(x[dev], y[dev]), common_sense_error=common_sense
    )
    assert d_good.task == "regression" and d_good.metric == "mae"
    assert d_good.dev_error < common_sense
    assert d_good.primary != "worse_than_baseline"

    # A broken pipeline: the targets were shuffled apart from their inputs.
    broken = fit(np.random.default_rng(0).permutation(y[train]))
    d = diagnose(
        broken, train=(x[train], y[train]), dev=(x[dev], y[dev]), common_sense_error=common_sense
    )
    assert d.dev_error >= common_sense
    assert d.primary == "worse_than_baseline"
    rmse = diagnose(broken, train=(x[train], y[train]), dev=(x[dev], y[dev]), metric="rmse")
    assert rmse.metric == "rmse" and rmse.dev_error >= d.dev_error


def test_diagnose_rejects_bad_arguments(digits) -> None:
    x, y, _ = digits
    model = _mlp([4])
    pair = (x[:10], y[:10])
    with pytest.raises(ValueError, match="either `splits` or the keyword pairs, not both"):
        diagnose(model, SimpleNamespace(train=pair, dev=None, test=None, train_dev=None), dev=pair)
    with pytest.raises(ValueError, match=r"needs the training data .* Received: train=None"):
        diagnose(model, dev=pair)
    with pytest.raises(
        ValueError,
        match=r"expects `dev` to be an `\(x, y\)` pair or None. Received: dev of type tuple with 3",
    ):
        diagnose(model, train=pair, dev=(x, y, y))
    with pytest.raises(ValueError, match=r"expects `metric='error'` .* Received: metric='mae'"):
        diagnose(model, train=pair, metric="mae")
    with pytest.raises(
        ValueError, match=r"as many labels as inputs in `train`. Received: 10 inputs and 9 labels"
    ):
        diagnose(model, train=(x[:10], y[:9]))


def test_diagnose_small_train_dev_on_a_real_model_is_not_a_confident_mismatch(digits) -> None:
    # An over-sized network on a few hundred images; train-dev and dev come from the
    # same distribution, but the train-dev slice holds only 30 examples, none misread.
    x, y, order = digits
    lamina.set_seed(0)
    train, train_dev, dev = order[:300], order[330:360], order[1000:1500]
    model = _mlp([256, 256])
    model.fit(x[train], y[train], epochs=40, verbose=0)
    sets = {"train": train, "train_dev": train_dev, "dev": dev}
    d = diagnose(model, **{k: (x[v], y[v]) for k, v in sets.items()}, human_error=0.01)
    assert d.sizes == {"train": 300, "train_dev": 30, "dev": 500, "test": None}
    assert d.train_dev_error == 0.0 and d.dev_error > 0.02
    # The point estimates alone would call it data mismatch; the intervals do not.
    assert Diagnosis.from_errors(**d.errors(), human=0.01).primary == "data_mismatch"
    assert not d.established["data_mismatch"]
    assert d.primary == "inconclusive"
    assert "train-dev set of 30 examples" in d.verdict
    assert d.recommendations[0].startswith("Collect at least")
    assert "95% CI" in str(d) and "n=30" in str(d)
    # The same diagnosis from the predictions, built by hand.
    p = {k: Predictions.from_model(model, x[v], y[v], name=k) for k, v in sets.items()}
    assert Diagnosis.from_predictions(**p, human=0.01) == d


def test_diagnose_decides_the_task_once_on_the_training_split() -> None:
    # A loss that says nothing about the task; the dev labels alone (0.0 / 1.0) would
    # look like classes, but the task is decided on the training split, for every split.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype("float32")
    y = (2 * x[:, 0] + 1).astype("float32")
    y_dev = (rng.random(40) > 0.5).astype("float32")
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss=lambda t, p: ((t - p) ** 2).mean())
    d = diagnose(model, train=(x[:80], y[:80]), dev=(x[80:], y_dev))
    assert d.task == "regression" and d.metric == "mae"
    pred = model.predict(x[80:], verbose=0)[:, 0]
    assert d.dev_error == pytest.approx(np.mean(np.abs(pred - y_dev)), rel=1e-6)
    assert d.error_intervals["dev"].method == "percentile bootstrap"
