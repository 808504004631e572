"""learning_curve: fresh models on nested stratified subsets, and what the curves say."""

import doctest

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data import load_diabetes, load_digits, split
from lamina.workflow import LearningCurve, learning_curve
from lamina.workflow import learning_curves as lc_module
from lamina.workflow.learning_curves import nested_order
from lamina.workflow.plots import figure_to_png


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train fastest on one CPU thread (no cross-thread synchronisation)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    return split((x / 16.0).astype("float32"), y, dev=0.2, test=0.1, seed=0)


def _mlp(units: int, lr: float = 3e-3):
    def build():
        model = lamina.Sequential(
            [
                lamina.Input(shape=(64,)),
                layers.Dense(units, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(optimizer=lamina.optimizers.Adam(lr), loss="sparse_categorical_crossentropy")
        return model

    return build


def test_nested_order_prefixes_keep_class_proportions_and_nest():
    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    order = nested_order(y, "classification", seed=3)
    assert sorted(order.tolist()) == list(range(len(y)))
    shares = np.bincount(y) / len(y)
    for n in (10, 20, 40, 100):
        counts = np.bincount(y[order[:n]], minlength=4)
        assert np.all(np.abs(counts - n * shares) <= 1.0), (n, counts)
    assert not np.array_equal(order, nested_order(y, "classification", seed=4))
    np.testing.assert_array_equal(order, nested_order(y, "classification", seed=3))


def test_learning_curve_trains_a_fresh_model_per_size_on_nested_subsets(digits):
    (x_train, y_train), (x_dev, y_dev) = digits.train, digits.dev
    built, seen = [], []

    def build():
        model = _mlp(64)()
        original_fit = model.fit

        def fit(x, y, **kwargs):
            seen.append((np.asarray(x).copy(), np.asarray(y).copy(), kwargs))
            return original_fit(x, y, **kwargs)

        model.fit = fit
        built.append(model)
        return model

    curve = learning_curve(
        build,
        x_train,
        y_train,
        x_dev,
        y_dev,
        fractions=(1.0, 0.1, 0.3),
        fit_kwargs={"epochs": 12, "batch_size": 64},
    )
    n = len(y_train)
    assert curve.fractions == [0.1, 0.3, 1.0]
    assert curve.sizes == [round(0.1 * n), round(0.3 * n), n]
    assert len(built) == 3 and len({id(m) for m in built}) == 3
    rows = [{r.tobytes() for r in x} for x, _, _ in seen]
    assert rows[0] <= rows[1] <= rows[2]  # nested subsets
    for (x, y, kwargs), size in zip(seen, curve.sizes):
        assert len(x) == size and kwargs == {"epochs": 12, "batch_size": 64, "verbose": 0}
        assert len(np.unique(y)) == 10  # stratified: every class present even at 10%
    # The errors are those of the models on their own subset and on the whole dev set.
    last = built[-1]
    assert curve.dev_errors[-1] == pytest.approx(
        np.mean(last.predict(x_dev, verbose=0).argmax(1) != y_dev)
    )
    assert curve.train_errors[-1] == pytest.approx(
        np.mean(last.predict(x_train, verbose=0).argmax(1) != y_train)
    )
    # More data lowers the dev error of this network; it overfits small subsets.
    assert curve.dev_errors[0] > curve.dev_errors[-1] + 0.03
    assert curve.dev_errors[0] - curve.train_errors[0] > 0.05
    reading = curve.reading()
    assert reading.verdict == "more_data" and reading.more_data_helps
    assert "more data should help" in str(reading)
    fig = curve.plot()
    assert len(fig.axes[0].lines) == 2 and figure_to_png(fig)[:4] == b"\x89PNG"
    data = curve.to_dict()
    assert data["sizes"] == curve.sizes and data["reading"]["verdict"] == "more_data"
    assert "Learning curve" in str(curve)


def test_learning_curve_of_a_too_small_model_reads_bias(digits):
    (x_train, y_train), (x_dev, y_dev) = digits.train, digits.dev

    def build():  # a one-unit bottleneck cannot separate ten digits
        model = lamina.Sequential(
            [
                lamina.Input(shape=(64,)),
                layers.Dense(1, activation="relu"),
                layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=lamina.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy"
        )
        return model

    curve = learning_curve(
        build,
        x_train,
        y_train,
        x_dev,
        y_dev,
        fractions=(0.3, 1.0),
        fit_kwargs={"epochs": 20, "batch_size": 64},
    )
    reading = curve.reading(target_error=0.01)
    assert curve.train_errors[-1] > 0.3
    assert reading.tolerance == pytest.approx(
        np.sqrt(curve.dev_errors[-1] * (1 - curve.dev_errors[-1]) / len(y_dev))
    )
    assert reading.verdict == "bias" and not reading.more_data_helps
    assert "bigger model" in reading.message


def test_learning_curve_regression_uses_mae(tmp_path):
    x, y = load_diabetes()
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    y = ((y - y.mean()) / y.std()).astype("float32")
    s = split(x, y, dev=0.25, test=0.1)

    def build():
        model = lamina.Sequential([lamina.Input(shape=(10,)), layers.Dense(1)])
        model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="mse")
        return model

    curve = learning_curve(build, *s.train, *s.dev, fractions=(0.5, 1.0), fit_kwargs={"epochs": 10})
    assert curve.task == "regression" and curve.metric == "mae"
    assert all(0.2 < e < 1.5 for e in curve.train_errors + curve.dev_errors)
    assert curve.reading().verdict in ("bias", "converged", "more_data", "variance_plateau")
    path = curve.plot(tmp_path / "lc.png")
    assert (tmp_path / "lc.png").read_bytes()[:4] == b"\x89PNG" and path is not None


@pytest.mark.parametrize(
    "train, dev, target, verdict",
    [
        ([0.00, 0.01, 0.02], [0.30, 0.20, 0.10], 0.0, "more_data"),
        ([0.00, 0.01, 0.02], [0.15, 0.12, 0.12], 0.0, "variance_plateau"),
        ([0.30, 0.32, 0.33], [0.40, 0.36, 0.335], 0.01, "bias"),
        ([0.01, 0.012, 0.015], [0.08, 0.04, 0.02], 0.01, "converged"),
    ],
)
def test_learning_curve_reading_names_the_situation(train, dev, target, verdict):
    curve = LearningCurve([100, 200, 400], [0.25, 0.5, 1.0], train, dev, "classification", "error")
    reading = curve.reading(target_error=target)
    assert reading.verdict == verdict
    assert reading.more_data_helps == (verdict == "more_data")
    assert reading.gap == pytest.approx(dev[-1] - train[-1])
    assert reading.dev_slope == pytest.approx(dev[-2] - dev[-1])


def test_learning_curve_rejects_bad_arguments(digits):
    (x_train, y_train), (x_dev, y_dev) = digits.train, digits.dev
    with pytest.raises(TypeError, match="build_fn"):
        learning_curve("model", x_train, y_train, x_dev, y_dev)
    with pytest.raises(ValueError, match="fractions"):
        learning_curve(_mlp(8), x_train, y_train, x_dev, y_dev, fractions=(0.0, 1.0))
    with pytest.raises(ValueError, match="fractions"):
        learning_curve(_mlp(8), x_train, y_train, x_dev, y_dev, fractions=())
    with pytest.raises(ValueError, match="Remove it"):
        learning_curve(_mlp(8), x_train, y_train, x_dev, y_dev, fit_kwargs={"x": x_train})
    with pytest.raises(ValueError, match="one sample per class"):
        learning_curve(_mlp(8), x_train, y_train, x_dev, y_dev, fractions=(0.005, 1.0))
    with pytest.raises(TypeError, match="compiled Lamina model"):
        learning_curve(lambda: object(), x_train, y_train, x_dev, y_dev, fractions=(1.0,))


def test_learning_curve_docstring_examples_run():
    result = doctest.testmod(lc_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 5
