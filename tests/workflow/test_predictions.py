"""`lamina.workflow.Predictions`: decoding, per-example errors and intervals,
checked against scikit-learn, SciPy and the uncertainty module."""

import json

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error

import lamina
from lamina.workflow import Predictions, uncertainty

rng = np.random.default_rng(0)


def _scores(y, correct_share, classes=3, seed=0):
    r = np.random.default_rng(seed)
    n = len(y)
    right = r.random(n) < correct_share
    pred = np.where(right, y, (y + 1 + r.integers(0, classes - 1, n)) % classes)
    probs = r.dirichlet(np.ones(classes), size=n) * 0.5
    probs[np.arange(n), pred] += 0.5
    return probs / probs.sum(axis=1, keepdims=True), pred


def test_class_scores_match_sklearn_and_wilson_matches_scipy():
    y = rng.integers(0, 3, 200)
    probs, pred = _scores(y, 0.8)
    p = Predictions(y, probs, name="dev")
    assert p.task == "classification" and p.n == 200
    np.testing.assert_array_equal(p.y_pred, pred)
    assert p.error() == pytest.approx(1 - accuracy_score(y, pred))
    interval = p.error_interval()
    k = int((pred != y).sum())
    ci = stats.binomtest(k, 200).proportion_ci(method="wilson")
    assert (interval.low, interval.high) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert interval.n == 200 and "n=200" in str(p) and "dev set" in str(p)
    np.testing.assert_allclose(p.confidence, probs.max(axis=1))


def test_logits_one_hot_labels_and_binary_scores():
    y = np.array([0, 2, 1, 1])
    logits = np.array([[3.0, -1, 0], [0, 0, 5], [0, 4, 1], [2, 1, -3]])
    p = Predictions(np.eye(3)[y], logits)
    np.testing.assert_array_equal(p.y_true, y)
    np.testing.assert_array_equal(p.y_pred, [0, 2, 1, 0])
    assert p.error() == 0.25
    b = Predictions(np.array([0.0, 1.0, 1.0]), np.array([[-2.0], [0.3], [-0.1]]))
    np.testing.assert_array_equal(b.y_pred, [0, 1, 0])
    assert b.n_outputs == 2 and b.error() == pytest.approx(1 / 3)


def test_regression_errors_match_sklearn_and_bootstrap():
    y = rng.normal(size=150)
    y_pred = y + rng.normal(scale=0.5, size=150)
    p = Predictions(y, y_pred[:, None])
    assert p.task == "regression"
    assert p.error() == pytest.approx(mean_absolute_error(y, y_pred))
    assert p.error("rmse") == pytest.approx(np.sqrt(mean_squared_error(y, y_pred)))
    loop = uncertainty.bootstrap_interval(lambda a, b: np.mean(np.abs(a - b)), y, y_pred, seed=3)
    fast = p.error_interval(seed=3)
    assert (fast.low, fast.high) == pytest.approx((loop.low, loop.high), rel=1e-9)
    rmse = p.error_interval("rmse")
    assert rmse.low < p.error("rmse") < rmse.high
    with pytest.raises(ValueError, match="'mae' or 'rmse' for regression"):
        p.error("error")


def test_gap_is_newcombe_and_compare_is_mcnemar():
    y_a, y_b = rng.integers(0, 3, 300), rng.integers(0, 3, 120)
    a = Predictions(y_a, _scores(y_a, 0.95, seed=1)[0])
    b = Predictions(y_b, _scores(y_b, 0.8, seed=2)[0])
    gap = a.gap(b)
    ref = uncertainty.difference_interval(
        int((~b.correct).sum()), 120, int((~a.correct).sum()), 300
    )
    assert gap == ref and gap.estimate == pytest.approx(b.error() - a.error())
    other = Predictions(y_a, _scores(y_a, 0.85, seed=4)[0])
    result = a.compare(other)
    assert result == uncertainty.mcnemar_test(a.correct, other.correct)
    assert result.difference.estimate == pytest.approx(other.error() - a.error())
    with pytest.raises(ValueError, match="same examples"):
        a.compare(b)


def test_regression_gap_and_paired_compare():
    y = rng.normal(size=200)
    good = Predictions(y, y + rng.normal(scale=0.2, size=200))
    bad = Predictions(y, y + rng.normal(scale=1.0, size=200))
    paired = good.compare(bad)
    assert paired.method == "paired percentile bootstrap" and paired.low > 0
    independent = good.gap(Predictions(y[:50], y[:50] + 1.0))
    assert independent.method == "percentile bootstrap" and independent.low > 0


def test_multi_label_with_binary_crossentropy():
    y = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0], [1, 1, 0]])
    scores = np.array([[0.9, 0.2, 0.3], [0.1, 0.8, 0.7], [0.2, 0.1, 0.6], [0.7, 0.6, 0.1]])
    p = Predictions(y, scores, loss=lamina.losses.BinaryCrossentropy())
    assert p.multi_label
    np.testing.assert_allclose(p.errors, [1 / 3, 0, 1 / 3, 0])
    assert p.error_interval().method == "percentile bootstrap"


def test_from_model_uses_the_loss_and_one_prediction_pass():
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
    model.compile(loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    p = Predictions.from_model(model, x, y, name="train")
    logits = model.predict(x, verbose=0)
    np.testing.assert_array_equal(p.y_pred, logits.argmax(axis=1))
    assert Predictions.of(p, None, None) is p
    assert Predictions.of(model, x, y).error() == p.error()
    with pytest.raises(ValueError, match="needs the inputs"):
        Predictions.of(model, None, y)


def test_subset_to_dict_and_redecode():
    y = np.arange(40) % 6
    raw = y + rng.normal(scale=0.4, size=40)
    p = Predictions(y, raw)
    assert p.task == "regression"
    labels = Predictions(y, (y + (np.arange(40) % 5 == 0)) % 6)
    assert labels.task == "classification" and labels.error() == pytest.approx(8 / 40)
    q = Predictions.of(labels, None, None, task="regression")
    assert q.task == "regression" and q.error() == pytest.approx(
        mean_absolute_error(y, labels.y_pred)
    )
    s = p.subset(y < 3)
    assert s.n == int((y < 3).sum()) and np.all(s.y_true < 3)
    d = json.loads(json.dumps(p.to_dict()))
    assert d["n"] == 40 and d["error"]["estimate"] == pytest.approx(p.error())


@pytest.mark.parametrize(
    "y, y_pred, match",
    [
        (np.zeros(3), np.zeros(4), "one prediction per target"),
        (np.zeros(0), np.zeros(0), "at least one example"),
        (np.array([0, 1, 2]), np.array([[0.2, 0.8], [0.5, 0.5], [0.1, 0.9]]), r"labels in 0\.\.1"),
        (np.array([0.5, 1.5]), np.array([np.nan, 1.0]), "NaN or infinite predictions"),
    ],
)
def test_bad_inputs_are_named(y, y_pred, match):
    with pytest.raises(ValueError, match=match):
        Predictions(y, y_pred)
