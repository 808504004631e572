"""learning_curve: fresh models on nested stratified subsets, several seeds per size."""

import doctest

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.data import load_diabetes, load_digits, load_iris, split
from lamina.workflow import Predictions, learning_curve
from lamina.workflow.learning_curves import VERDICTS, nested_order, run, subsets
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
        seeds=1,
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
    assert str(reading).startswith("more data is likely to help: the dev error falls")
    assert reading.slope.high < 0 and curve.n_seeds == 1 and curve.seeds == [0]
    fig = curve.plot()
    assert len(fig.axes[0].lines) == 2 and figure_to_png(fig)[:4] == b"\x89PNG"
    data = curve.to_dict()
    assert data["sizes"] == curve.sizes and data["reading"]["verdict"] == "more_data"
    assert data["dev_intervals"][-1]["n"] == len(y_dev)
    assert "Learning curve" in str(curve)


def test_learning_curve_regression_uses_mae(tmp_path):
    x, y = load_diabetes()
    x = ((x - x.mean(0)) / x.std(0)).astype("float32")
    y = ((y - y.mean()) / y.std()).astype("float32")
    s = split(x, y, dev=0.25, test=0.1)

    def build():
        model = lamina.Sequential([lamina.Input(shape=(10,)), layers.Dense(1)])
        model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="mse")
        return model

    curve = learning_curve(
        build, *s.train, *s.dev, fractions=(0.5, 1.0), fit_kwargs={"epochs": 5}, seeds=2
    )
    assert curve.task == "regression" and curve.metric == "mae" and curve.n_seeds == 2
    assert all(0.2 < e < 1.5 for row in curve.dev_errors_per_seed for e in row)
    assert curve.dev_intervals[-1].method == "bootstrap + seed spread (t, 2 seeds)"
    assert curve.reading().verdict in VERDICTS
    path = curve.plot(tmp_path / "lc.png")
    assert (tmp_path / "lc.png").read_bytes()[:4] == b"\x89PNG" and path is not None


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
    for bad in (0, -1, [], [1, 1], "3", 2.5):
        with pytest.raises(ValueError, match="seeds"):
            learning_curve(_mlp(8), x_train, y_train, x_dev, y_dev, seeds=bad)
    with pytest.raises(ValueError, match="only some of the four"):
        learning_curve(_mlp(8), x_train, y_train)
    with pytest.raises(ValueError, match="once"):
        learning_curve(_mlp(8), x_train, y_train, x_dev, y_dev, dev=(x_dev, y_dev))
    with pytest.raises(ValueError, match="no `dev` set"):
        learning_curve(_mlp(8), train=(x_train, y_train))


def test_learning_curve_docstring_examples_run():
    for module, least in ((run, 8), (subsets, 2)):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted >= least


def _iris_build(built):
    def build():
        model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
        model.compile(
            optimizer=lamina.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy"
        )
        built.append(model)
        return model

    return build


def test_learning_curve_with_two_seeds_matches_a_hand_computation():
    x, y = load_iris()
    s = split(((x - x.mean(0)) / x.std(0)).astype("float32"), y, dev=0.3, test=0.1, seed=0)
    built = []
    curve = learning_curve(
        _iris_build(built), s, fractions=(0.3, 0.6, 1.0), fit_kwargs={"epochs": 2}, seeds=2, seed=5
    )
    n = len(s.train[1])
    assert curve.seeds == [5, 6] and curve.n_seeds == 2 and len(built) == 6
    assert curve.sizes == [round(0.3 * n), round(0.6 * n), n] and curve.n_dev == len(s.dev[1])
    x_tr, y_tr = s.train
    for i, size in enumerate(curve.sizes):
        for j, seed in enumerate(curve.seeds):
            model = built[2 * i + j]  # sizes in order, seeds inside
            idx = np.sort(nested_order(y_tr, "classification", seed)[:size])
            dev = np.mean(model.predict(s.dev[0], verbose=0).argmax(1) != s.dev[1])
            train = np.mean(model.predict(x_tr[idx], verbose=0).argmax(1) != y_tr[idx])
            assert curve.dev_errors_per_seed[i][j] == pytest.approx(dev)
            assert curve.train_errors_per_seed[i][j] == pytest.approx(train)
        assert curve.dev_errors[i] == pytest.approx(np.mean(curve.dev_errors_per_seed[i]))
        assert curve.dev_stds[i] == pytest.approx(np.std(curve.dev_errors_per_seed[i], ddof=1))
        iv = curve.dev_intervals[i]
        assert iv.low <= curve.dev_errors[i] <= iv.high and iv.n == curve.n_dev
    p = Predictions.from_model(built[-1], *s.dev)
    assert curve.dev_errors_per_seed[-1][-1] == pytest.approx(p.error())
    assert curve.reading().verdict in VERDICTS
    # The same run through the other call forms gives the same numbers.
    again = learning_curve(
        _iris_build([]), train=s.train, dev=s.dev, fractions=(0.3, 0.6, 1.0),
        fit_kwargs={"epochs": 2}, seeds=[5, 6],
    )  # fmt: skip
    assert again.dev_errors_per_seed == curve.dev_errors_per_seed
