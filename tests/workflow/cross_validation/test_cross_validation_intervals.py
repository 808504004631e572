"""K-fold uncertainty: the Nadeau-Bengio corrected interval checked by hand with
SciPy, the corrected paired test of two models on the same folds, mismatched folds,
the task rule, to_dict and the summary."""

import json
import math

import numpy as np
import pytest
from scipy import stats

import lamina
from lamina import layers
from lamina.data import CVResult, cross_validate, load_iris
from lamina.workflow.uncertainty import Interval, PairedTTestResult


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris()
    return ((x - x.mean(axis=0)) / x.std(axis=0)).astype("float32"), y


def _build(learning_rate=0.05, loss="sparse_categorical_crossentropy", units=3):
    def build():
        model = lamina.Sequential([
            lamina.Input(shape=(4,)),
            layers.Dense(units, activation="softmax" if units > 1 else None),
        ])  # fmt: skip
        metrics = ["accuracy"] if units > 1 else ["mae"]
        model.compile(optimizer=lamina.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
        return model

    return build


@pytest.fixture(scope="module")
def good(iris):
    return cross_validate(_build(), *iris, folds=5, repeats=2, fit_kwargs={"epochs": 3}, verbose=0)


@pytest.fixture(scope="module")
def weak(iris):
    build = _build(learning_rate=1e-4)
    return cross_validate(build, *iris, folds=5, repeats=2, fit_kwargs={"epochs": 1}, verbose=0)


def _by_hand(scores, n_train, n_test, confidence=0.95):
    scores = np.asarray(scores, dtype=np.float64)
    j = len(scores)
    se = math.sqrt((1 / j + n_test / n_train) * scores.var(ddof=1))
    q = stats.t.ppf(0.5 + confidence / 2, j - 1)
    return scores.mean(), scores.mean() - q * se, scores.mean() + q * se, se


def test_interval_is_the_corrected_resampled_t_interval(good):
    assert good.fold_sizes == [(120, 30)] * 10 and (good.n_train, good.n_test) == (120, 30)
    for metric in ("accuracy", "loss"):
        scores = [s[metric] for s in good.scores]
        mean, low, high, _ = _by_hand(scores, 120, 30)
        iv = good.interval(metric)
        assert isinstance(iv, Interval) and iv.n == 10 and iv.confidence == 0.95
        assert (iv.estimate, iv.low, iv.high) == pytest.approx((mean, low, high), rel=1e-12)
    # The correction widens the naive t interval: (1/10 + 30/120) / (1/10) = 3.5 times the variance.
    naive = (
        stats.t.ppf(0.975, 9) * np.std([s["accuracy"] for s in good.scores], ddof=1) / math.sqrt(10)
    )
    assert good.interval("accuracy").width == pytest.approx(2 * naive * math.sqrt(3.5), rel=1e-9)
    mean, low, high, _ = _by_hand([s["accuracy"] for s in good.scores], 120, 30, confidence=0.8)
    assert good.interval("accuracy", confidence=0.8).low == pytest.approx(low, rel=1e-12)


def test_interval_with_unequal_folds_uses_the_mean_fold_sizes():
    folds = [
        (np.arange(n_test, 10), np.arange(n_test)) for n_test in (4, 3, 3)
    ]  # 10 samples, 3 folds
    result = CVResult([{"mae": v} for v in (1.0, 2.0, 4.0)], folds, 3, 1)
    assert result.fold_sizes == [(6, 4), (7, 3), (7, 3)] and (result.n_train, result.n_test) == (
        7,
        3,
    )
    mean, low, high, _ = _by_hand([1.0, 2.0, 4.0], 7, 3)
    iv = result.interval("mae")
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((mean, low, high), rel=1e-12)


def test_compare_two_models_on_the_same_folds(good, weak):
    result = good.compare(weak, "accuracy")
    assert isinstance(result, PairedTTestResult)
    diff = np.array([a["accuracy"] - b["accuracy"] for a, b in zip(good.scores, weak.scores)])
    mean, low, high, se = _by_hand(diff, 120, 30)
    t = mean / se
    assert result.t == pytest.approx(t, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), 9), rel=1e-9)
    d = result.difference
    assert (d.estimate, d.low, d.high) == pytest.approx((mean, low, high), rel=1e-12)
    assert d.estimate > 0 and result.p_value < 0.05  # 3 epochs at 0.05 beat 1 epoch at 1e-4
    back = weak.compare(good, "accuracy")
    assert back.difference.estimate == pytest.approx(-d.estimate) and back.p_value == pytest.approx(
        result.p_value
    )
    same = good.compare(good, "accuracy")
    assert same.p_value == 1.0 and same.difference.estimate == 0.0


def test_compare_rejects_different_folds(iris, good):
    x, y = iris
    reseeded = cross_validate(
        _build(), x, y, folds=5, repeats=2, seed=1, fit_kwargs={"epochs": 1}, verbose=0
    )
    with pytest.raises(
        ValueError, match=r"fold 1 of repeat 1 holds out different samples \(seed=0 and seed=1\)"
    ):
        good.compare(reseeded, "accuracy")
    fewer = cross_validate(_build(), x, y, folds=3, fit_kwargs={"epochs": 1}, verbose=0)
    with pytest.raises(
        ValueError,
        match=r"Received: 5 folds x 2 repeat\(s\) and 3 folds x 1 repeat\(s\).*same `folds`",
    ):
        good.compare(fewer, "accuracy")
    with pytest.raises(TypeError, match=r"expects the `CVResult` of another model. Received: dict"):
        good.compare({"accuracy": 0.9}, "accuracy")
    with pytest.raises(
        ValueError, match=r"no metric 'auc' in the fold scores.*The metrics are: loss, accuracy"
    ):
        good.compare(good, "auc")
    with pytest.raises(ValueError, match=r"no metric 'f1'"):
        good.interval("f1")


def test_task_comes_from_the_shared_rule_with_the_models_loss(iris):
    x, _ = iris
    ratings = np.tile(np.arange(6), 25)  # integers 0..5: classes by the targets alone
    by_loss = cross_validate(
        _build(loss="mse", units=1),
        x,
        ratings.astype("float32"),
        folds=3,
        fit_kwargs={"epochs": 1},
        verbose=0,
    )
    assert by_loss.task == "regression" and not by_loss.stratified  # the MSE loss says regression
    forced = cross_validate(
        _build(loss="mse", units=1), x, ratings.astype("float32"), folds=3, task="classification",
        fit_kwargs={"epochs": 1}, verbose=0,
    )  # fmt: skip
    assert forced.task == "classification" and forced.stratified
    with pytest.raises(ValueError, match=r"`task`"):
        cross_validate(_build(), *iris, task="ranking", verbose=0)


def test_to_dict_is_json_with_intervals_and_summary_shows_them(good):
    d = json.loads(json.dumps(good.to_dict()))
    assert (
        d["folds"] == 5 and d["repeats"] == 2 and d["task"] == "classification" and d["stratified"]
    )
    assert d["fold_sizes"] == [[120, 30]] * 10 and (d["n_train"], d["n_test"]) == (120, 30)
    assert d["scores"] == good.scores and d["mean"] == good.mean and d["std"] == good.std
    assert Interval.from_dict(d["intervals"]["accuracy"]) == good.interval("accuracy")
    text = str(good)
    iv = good.interval("accuracy")
    assert "mean ± std" in text and f"{iv.low:.4f} to {iv.high:.4f}" in text
    assert "n=10 fits (120 train / 30 held out per fold)" in text


def test_verbose_run_prints_the_interval(iris, capsys):
    cross_validate(_build(), *iris, folds=2, fit_kwargs={"epochs": 1}, verbose=1)
    out = capsys.readouterr().out
    assert "Mean over 2 fits - loss:" in out and "(95% CI " in out
