"""Paired comparisons with the best baseline: planted equal / better / worse networks
(McNemar's exact test), the regression paired bootstrap, row intervals, verdicts,
the data given as keyword pairs, and the errors."""

import json
import math

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import layers
from lamina.data import load_diabetes, split
from lamina.workflow import Predictions, uncertainty
from lamina.workflow.baselines import BaselineComparison, BaselineTable, run_baselines


@pytest.fixture(scope="module")
def noisy():
    """Two classes a linear model gets ~80% right: 400 dev examples."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 5))
    y = (x[:, 0] + rng.normal(scale=0.8, size=1000) > 0).astype(np.int64)
    return split(x, y, dev=0.4, test=0.0, seed=0)


@pytest.fixture(scope="module")
def logreg_pred(noisy):
    (x_train, y_train), (x_dev, _) = noisy.train, noisy.dev
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    return model.fit(x_train, y_train).predict(x_dev)


def _table(noisy):
    return run_baselines(noisy, include=["majority_class", "logistic_regression"])


def test_network_equal_to_its_baseline_is_not_distinguishable(noisy, logreg_pred):
    y_dev = noisy.dev[1]
    pred = logreg_pred.copy()
    right, wrong = np.flatnonzero(pred == y_dev), np.flatnonzero(pred != y_dev)
    pred[right[:3]] = 1 - pred[right[:3]]  # three new mistakes ...
    pred[wrong[:3]] = y_dev[wrong[:3]]  # ... and three fixed: the same accuracy
    table = _table(noisy).add_model("twin", pred).add_model("copy", logreg_pred)
    c = table.compare("twin")
    assert isinstance(c, BaselineComparison)
    assert (c.name, c.baseline, c.metric, c.method) == (
        "twin",
        "logistic_regression",
        "accuracy",
        "mcnemar exact",
    )
    assert (c.only_model_correct, c.only_baseline_correct) == (3, 3)
    assert (
        c.p_value == pytest.approx(1.0)
        and not c.distinguishable
        and c.outcome == "not distinguishable"
    )
    assert c.difference.estimate == 0.0 and c.difference.low < 0 < c.difference.high and c.n == 400
    assert c.text.startswith(
        "twin is not distinguishable from the best baseline (logistic_regression): difference 0.0 points "
        f"(95% CI {100 * c.difference.low:.1f} to {100 * c.difference.high:.1f}, n=400; McNemar exact p = 1)"
    )
    same = table.compare("copy")
    assert same.p_value == 1.0 and same.difference.estimate == 0.0 and not same.distinguishable
    assert table.verdict("twin").startswith(c.text)


def test_clearly_better_network_beats_the_baseline_by_mcnemar(noisy, logreg_pred):
    y_dev = noisy.dev[1]
    pred = logreg_pred.copy()
    wrong = np.flatnonzero(pred != y_dev)
    assert len(wrong) >= 40  # the planted situation: enough errors to fix
    pred[wrong[:40]] = y_dev[wrong[:40]]
    table = _table(noisy).add_model("better", Predictions(y_dev, pred))
    c = table.compare("better")
    reference = uncertainty.mcnemar_test(pred == y_dev, logreg_pred == y_dev)
    assert c.difference == reference.difference and c.p_value == reference.p_value
    # 40 discordant pairs all one way: p = 2 / 2**40, the exact binomial test.
    assert c.p_value == pytest.approx(stats.binomtest(0, 40, 0.5).pvalue, rel=1e-9)
    assert c.difference.estimate == pytest.approx(40 / 400)
    assert c.distinguishable and c.outcome == "better"
    d = c.difference
    assert c.text == (
        f"better beats the best baseline (logistic_regression) by 10.0 points (95% CI {100 * d.low:.1f} "
        f"to {100 * d.high:.1f}, n=400; McNemar exact p = {c.p_value:.3g})."
    )
    verdict = table.verdict("better")
    assert verdict.startswith(c.text)
    assert "better beats the common-sense baseline (majority_class) by" in verdict


def test_clearly_worse_network_is_worse_and_told_so(noisy, logreg_pred):
    y_dev = noisy.dev[1]
    pred = logreg_pred.copy()
    right = np.flatnonzero(pred == y_dev)
    pred[right[:40]] = 1 - pred[right[:40]]
    table = _table(noisy).add_model("worse", pred)
    c = table.compare("worse")
    assert c.outcome == "worse" and c.difference.estimate == pytest.approx(-0.1)
    assert c.text.startswith(
        "worse is worse than the best baseline (logistic_regression) by 10.0 points"
    )
    assert "A classical model does better on this data" in table.verdict("worse")
    against = table.compare("worse", against="majority_class")
    assert against.baseline == "majority_class" and against.outcome == "better"
    assert "the common-sense baseline (majority_class)" in against.text


def test_a_trained_model_is_run_on_the_kept_eval_inputs(noisy):
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(5,)), layers.Dense(2, activation="softmax")])
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy"
    )
    model.fit(*noisy.train, epochs=5, verbose=0)
    table = _table(noisy).add_model("net", model)
    expected = Predictions.from_model(model, *noisy.dev)
    row = table.rows[-1]
    assert row.kind == "network" and row.predictions.n == 400
    np.testing.assert_array_equal(row.predictions.y_pred, expected.y_pred)
    assert row.scores["accuracy"] == pytest.approx(1 - expected.error())
    reference = uncertainty.mcnemar_test(expected.correct, table.rows[1].predictions.correct)
    assert table.compare("net").difference == reference.difference
    assert table.paired("net") and "points (95% CI" in table.verdict("net")


def test_row_intervals_wilson_for_accuracy(noisy):
    table = _table(noisy)
    y_dev = noisy.dev[1]
    for row in table.rows:
        errors = int(np.sum(row.predictions.y_pred != y_dev))
        z = stats.norm.ppf(0.975)
        p, n = errors / 400, 400
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        iv = row.interval
        assert row.interval_metric == "accuracy" and iv.n == 400
        assert iv.estimate == pytest.approx(row.scores["accuracy"])
        assert (iv.low, iv.high) == (
            pytest.approx(1 - centre - half),
            pytest.approx(1 - centre + half),
        )
    # A network given as an accuracy on the same set gets the Wilson interval of its error count.
    table.add_model("scored", np.float32(1 - 37 / 400))
    assert table.rows[-1].interval.n == 400
    assert table.rows[-1].interval.low == pytest.approx(
        1 - uncertainty.wilson_interval(37, 400).high
    )
    table.add_model("odd", 0.123456)  # not a whole number of errors: no interval
    assert table.rows[-1].interval is None


def test_regression_uses_a_paired_bootstrap_of_the_mae():
    x, y = load_diabetes()
    s = split(x, y, dev=0.3, test=0.0, seed=0)
    table = run_baselines(s, include=["mean", "ridge"])
    (x_train, y_train), (x_dev, y_dev) = (
        (a.astype(np.float64) for a in pair) for pair in (s.train, s.dev)
    )
    ridge = make_pipeline(StandardScaler(), Ridge()).fit(x_train, y_train).predict(x_dev)
    ridge_err = np.abs(ridge - y_dev)
    row = table.rows[1]
    np.testing.assert_allclose(row.predictions.errors, ridge_err, rtol=1e-6)
    reference = uncertainty.bootstrap_mean_interval(ridge_err, seed=0)
    assert row.interval_metric == "mae" and row.interval.n == len(y_dev)
    got, want = row.interval, reference
    assert (got.estimate, got.low, got.high) == pytest.approx(
        (want.estimate, want.low, want.high), rel=1e-6
    )
    better = ridge + 0.5 * (y_dev - ridge)  # halves every error
    table.add_model("net", better).add_model("ridge_copy", ridge)
    c = table.compare("net")
    reference = uncertainty.bootstrap_mean_difference(
        ridge_err, np.abs(better - y_dev), paired=True, seed=0
    )
    assert c.difference.estimate == pytest.approx(0.5 * ridge_err.mean())
    assert (c.difference.low, c.difference.high) == (
        pytest.approx(reference.low),
        pytest.approx(reference.high),
    )
    assert c.method == "paired bootstrap" and c.p_value is None and c.distinguishable
    assert c.text.startswith(
        f"net beats the best baseline (ridge) by {0.5 * ridge_err.mean():.3g} in MAE (95% CI"
    )
    same = table.compare("ridge_copy")
    assert same.difference.width == pytest.approx(0.0, abs=1e-9) and not same.distinguishable
    assert "is not distinguishable from the best baseline (ridge)" in same.text


def test_score_only_networks_fall_back_to_point_estimates(noisy):
    table = _table(noisy)
    lr = dict(table.ranking())["logistic_regression"]
    table.add_model("scored", lr + 0.01)
    assert not table.paired("scored")
    verdict = table.verdict("scored")
    assert verdict.startswith("scored beats the best baseline, logistic_regression:")
    assert "These are point estimates, so chance is not ruled out" in verdict
    with pytest.raises(
        ValueError, match=r"'scored' only has a score.*Pass the trained model or its predictions"
    ):
        table.compare("scored")
    assert "scored" not in table.to_dict()["comparisons"]


def test_to_dict_and_str_carry_intervals_and_comparisons(noisy, logreg_pred):
    table = _table(noisy).add_model("copy", logreg_pred)
    d = json.loads(json.dumps(table.to_dict()))
    row = d["rows"][1]
    assert row["interval_metric"] == "accuracy" and row["n"] == 400 and row["paired"]
    assert uncertainty.Interval.from_dict(row["interval"]) == table.rows[1].interval
    comparison = d["comparisons"]["copy"]
    assert comparison["baseline"] == "logistic_regression" and comparison["p_value"] == 1.0
    assert comparison["difference"]["n"] == 400 and comparison["outcome"] == "not distinguishable"
    text = str(table)
    assert "accuracy 95% CI" in text and ", n=400" in text
    assert "Paired comparisons on the same examples:" in text and table.compare("copy").text in text


def test_data_as_keyword_pairs_or_a_dict_matches_a_splits(noisy):
    reference = _table(noisy)
    include = ["majority_class", "logistic_regression"]
    by_pairs = run_baselines(train=noisy.train, dev=noisy.dev, include=include)
    by_dict = run_baselines({"train": noisy.train, "dev": noisy.dev}, include=include)
    for table in (by_pairs, by_dict):
        assert table.ranking() == reference.ranking() and table.eval_set == "dev"
    on_test = run_baselines(train=noisy.train, test=noisy.dev, eval_set="test", include=include)
    assert on_test.eval_set == "test" and on_test.ranking() == reference.ranking()
    with pytest.raises(ValueError, match=r"score on the test set, which this split does not have"):
        run_baselines(train=noisy.train, dev=noisy.dev, eval_set="test")
    with pytest.raises(ValueError, match=r"fits the baselines on a training set"):
        run_baselines(dev=noisy.dev)
    with pytest.raises(ValueError, match=r"either `splits` or the keyword pairs, not both"):
        run_baselines(noisy, dev=noisy.dev)


def test_task_follows_the_shared_rule_and_can_be_overridden():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = rng.integers(0, 6, size=200)  # ratings 0..5: classes by the shared rule
    s = split(x, y, seed=0)
    assert run_baselines(s, include=["majority_class"]).task == "classification"
    table = run_baselines(s, task="regression", include=["mean"])
    assert table.task == "regression" and table.rows[0].interval_metric == "mae"
    with pytest.raises(ValueError, match=r"`task`"):
        run_baselines(s, task="ranking")


def test_mismatched_predictions_are_rejected(noisy, logreg_pred):
    table = _table(noisy)
    y_dev = noisy.dev[1]
    with pytest.raises(
        ValueError, match=r"one prediction per target. Received: 399 predictions and 400 targets"
    ):
        table.add_model("short", logreg_pred[:-1])
    with pytest.raises(ValueError, match=r"dev set of 400 examples. Received: 399 predictions"):
        table.add_model("short", Predictions(y_dev[:-1], logreg_pred[:-1]))
    with pytest.raises(ValueError, match=r"their targets differ from the baselines'"):
        table.add_model("shuffled", Predictions(y_dev[::-1], logreg_pred[::-1]))
    bare = BaselineTable("classification", "dev", 10, 400)
    with pytest.raises(ValueError, match=r"does not hold them. Received: an array of outputs"):
        bare.add_model("net", logreg_pred)
    with pytest.raises(ValueError, match=r"does not hold them. Received: a model"):
        bare.add_model("net", make_pipeline(LogisticRegression()))
    with pytest.raises(KeyError, match=r"no model named 'ghost'"):
        table.compare("ghost")
    with pytest.raises(ValueError, match=r"compares with a baseline that ran"):
        table.add_model("copy", logreg_pred).compare("copy", against="copy")
