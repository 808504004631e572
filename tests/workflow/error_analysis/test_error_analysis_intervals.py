"""Error analysis with uncertainty: per-group intervals and gaps to the rest (a
group is flagged only when its gap is established), per-class recall intervals,
the overall error with its interval, and the one task rule through
`analyze_errors`. Intervals are checked against the uncertainty module and SciPy."""

import json

import matplotlib.container
import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import mean_absolute_error

import lamina
from lamina import layers
from lamina.data import split
from lamina.workflow import (
    Interval,
    Predictions,
    analyze_errors,
    classification_report,
    confusion_matrix,
    per_group_metrics,
    uncertainty,
    worst_mistakes,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _planted(sizes_and_errors, classes=3, seed=0):
    """Predicted labels with exactly ``errors`` wrong predictions in each group."""
    rng = np.random.default_rng(seed)
    y, pred, groups = [], [], []
    for name, (n, errors) in sizes_and_errors.items():
        truth = rng.integers(0, classes, n)
        guess = truth.copy()
        wrong = rng.choice(n, errors, replace=False)
        guess[wrong] = (truth[wrong] + 1) % classes
        y.append(truth)
        pred.append(guess)
        groups += [name] * n
    return np.concatenate(y), np.concatenate(pred), np.array(groups)


def _same(a: Interval, b: Interval):
    assert (a.estimate, a.low, a.high, a.n, a.method) == pytest.approx(
        (b.estimate, b.low, b.high, b.n, b.method), abs=1e-12
    )


def test_a_real_large_gap_on_enough_examples_is_flagged_with_newcombes_interval(tmp_path):
    y, pred, groups = _planted({"scanner A": (700, 35), "scanner B": (300, 90)})
    m = per_group_metrics(pred, None, y, groups)
    assert m.gap_established and m.group_to_look_at == "scanner B" == m.top_gap_group
    # B against the rest (A): two independent sets, B's error minus A's.
    _same(m.top_gap, uncertainty.difference_interval(90, 300, 35, 700))
    rows = {r["group"]: r for r in m.rows}
    _same(rows["scanner B"]["interval"], uncertainty.wilson_interval(90, 300))
    _same(rows["scanner A"]["gap_to_rest"], uncertainty.difference_interval(35, 700, 90, 300))
    assert rows["scanner B"]["gap_established"] and rows["scanner A"]["gap_established"]
    ci = stats.binomtest(90, 300).proportion_ci(method="wilson")
    assert (rows["scanner B"]["interval"].low, rows["scanner B"]["interval"].high) == pytest.approx(
        (ci.low, ci.high), abs=1e-12
    )
    _same(m.overall["interval"], uncertainty.wilson_interval(125, 1000))
    assert m.largest_gap == pytest.approx(0.3 - 0.05)
    text = str(m)
    assert "Group to look at: 'scanner B'" in text and "established" in text and "300" in text
    data = json.loads(json.dumps(m.to_dict()))
    assert data["gap_established"] and data["group_to_look_at"] == "scanner B"
    assert Interval.from_dict(data["top_gap"]) == m.top_gap
    assert Interval.from_dict(data["rows"][0]["interval"]) == m.rows[0]["interval"]
    assert data["overall"]["n"] == 1000 and data["verdict"] == m.verdict
    path = tmp_path / "groups.png"
    fig = m.plot(path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    bars = [c for c in fig.axes[0].containers if isinstance(c, matplotlib.container.BarContainer)]
    assert bars and bars[0].errorbar is not None  # the intervals are drawn as error bars


def test_a_small_group_with_a_large_point_gap_is_not_flagged():
    y, pred, groups = _planted({"main": (500, 50), "new site": (8, 2)})
    m = per_group_metrics(pred, None, y, groups)
    row = next(r for r in m.rows if r["group"] == "new site")
    assert row["error_rate"] - 0.1 == pytest.approx(0.15)  # 25% against 10%
    assert m.top_gap_group == "new site" and not m.gap_established
    assert m.group_to_look_at is None and m.top_gap.low < 0 < m.top_gap.high
    _same(m.top_gap, uncertainty.difference_interval(2, 8, 50, 500))
    assert "No group stands out given the sizes" in str(m) and "n=8" in m.verdict
    assert m.to_dict()["group_to_look_at"] is None
    # The same rates on enough examples are established: the verdict follows the sizes.
    y, pred, groups = _planted({"main": (500, 50), "new site": (200, 50)})
    assert per_group_metrics(pred, None, y, groups).group_to_look_at == "new site"


def test_regression_groups_carry_bootstrap_intervals():
    rng = np.random.default_rng(1)
    y = rng.normal(size=900)
    noisy = np.arange(900) >= 600
    pred = y + rng.normal(size=900) * np.where(noisy, 3.0, 1.0)
    groups = np.where(noisy, "night", "day")
    p = Predictions(y, pred, task="regression")
    m = per_group_metrics(p, groups=groups)
    assert m.task == "regression" and m.metric == "mae"
    err = np.abs(pred - y)
    rows = {r["group"]: r for r in m.rows}
    assert rows["night"]["mae"] == pytest.approx(mean_absolute_error(y[noisy], pred[noisy]))
    _same(rows["night"]["interval"], uncertainty.bootstrap_mean_interval(err[noisy], seed=0))
    _same(
        rows["night"]["gap_to_rest"],
        uncertainty.bootstrap_mean_difference(err[noisy], err[~noisy], seed=0),
    )
    assert rows["night"]["interval"].method == "percentile bootstrap"
    assert m.group_to_look_at == "night" and m.gap_established
    rmse = per_group_metrics(p, groups=groups, metric="rmse", seed=3)
    r = next(r for r in rmse.rows if r["group"] == "night")
    assert r["rmse"] == pytest.approx(np.sqrt(np.mean(err[noisy] ** 2)))
    _same(
        r["interval"],
        uncertainty.bootstrap_mean_interval(err[noisy] ** 2, statistic="root_mean", seed=3),
    )
    # Two groups from one distribution, one of them small: nothing stands out.
    same = np.where(np.arange(900) < 20, "small", "large")
    flat = per_group_metrics(y + rng.normal(size=900), None, y, same, task="regression")
    assert not flat.gap_established and "No group stands out" in flat.verdict
    json.dumps(flat.to_dict())


def test_per_class_recall_has_wilson_intervals_with_support():
    y, pred, _ = _planted({"all": (400, 60)}, classes=4, seed=2)
    rep = classification_report(pred, None, y)
    for c in range(4):
        tp, support = int(((y == c) & (pred == c)).sum()), int((y == c).sum())
        recall = rep.intervals[str(c)]["recall"]
        _same(recall, uncertainty.wilson_interval(tp, support))
        ci = stats.binomtest(tp, support).proportion_ci(method="wilson")
        assert (recall.low, recall.high) == pytest.approx((ci.low, ci.high), abs=1e-12)
        assert recall.n == rep.per_class[str(c)]["support"]
        predicted = int((pred == c).sum())
        assert rep.intervals[str(c)]["precision"].n == predicted
    _same(rep.accuracy_interval, uncertainty.wilson_interval(340, 400))
    data = json.loads(json.dumps(rep.to_dict()))
    assert Interval.from_dict(data["intervals"]["0"]["recall"]) == rep.intervals["0"]["recall"]
    assert "n=400" in str(rep)
    # A class that is never in the targets has a precision but no recall interval.
    rep = classification_report(np.array([0, 1, 2]), None, np.array([0, 1, 1]))
    assert rep.intervals["2"]["recall"] is None and rep.intervals["2"]["precision"].n == 1
    cm = confusion_matrix(pred, None, y)
    _same(cm.accuracy_interval(), uncertainty.wilson_interval(340, 400))
    assert cm.to_dict()["accuracy_interval"]["n"] == 400


def _ratings(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = np.clip(np.round(x[:, 0] * 1.2 + 2.5), 0, 5).astype("int64")
    return split(x, y, dev=0.5, seed=0)


def test_integer_targets_0_to_5_follow_the_model_loss_through_analyze_errors():
    s = _ratings()
    x_dev, y_dev = s.dev
    assert set(np.unique(y_dev)) <= set(range(6))
    lamina.set_seed(0)
    softmax = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(6, activation="softmax")])
    softmax.compile(optimizer=lamina.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    softmax.fit(*s.train, epochs=5, batch_size=32, verbose=0)
    mse = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(1)])
    mse.compile(optimizer=lamina.optimizers.Adam(0.05), loss="mse")
    mse.fit(s.train[0], s.train[1].astype("float32"), epochs=5, batch_size=32, verbose=0)

    classes = analyze_errors(softmax, x_dev, y_dev, k=3)
    assert classes.task == "classification" and classes.metric == "error_rate"
    wrong = int((softmax.predict(x_dev, verbose=0).argmax(axis=1) != y_dev).sum())
    _same(classes.error, uncertainty.wilson_interval(wrong, len(y_dev)))
    assert classes.confusion_matrix.counts.shape == (6, 6)

    values = analyze_errors(mse, x_dev, y_dev, k=3, groups=y_dev >= 3)
    assert values.task == "regression" and values.metric == "mae"
    assert values.confusion_matrix is None and values.classification_report is None
    err = np.abs(mse.predict(x_dev, verbose=0)[:, 0] - y_dev)
    _same(values.error, uncertainty.bootstrap_mean_interval(err, seed=0))
    assert values.error.estimate == pytest.approx(mean_absolute_error(y_dev, err + y_dev))
    assert {r["group"] for r in values.group_metrics.rows} == {True, False}
    # The override wins over the loss.
    assert analyze_errors(mse, x_dev, y_dev, task="regression").task == "regression"


def test_analyze_errors_shows_the_overall_error_and_the_group_verdict():
    y, pred, groups = _planted({"scanner A": (700, 35), "scanner B": (300, 90)})
    p = Predictions(y, pred, name="dev")
    analysis = analyze_errors(p, groups=groups, k=3)
    _same(analysis.error, p.error_interval())
    assert analysis.n == 1000 and analysis.predictions is p
    text = str(analysis)
    assert f"overall error_rate: {p.error_interval()}" in text
    assert "n=1000" in text and "Group to look at: 'scanner B'" in text
    data = json.loads(json.dumps(analysis.to_dict()))
    assert data["metric"] == "error_rate" and data["n"] == 1000
    assert Interval.from_dict(data["error"]) == analysis.error
    assert data["gap_established"] is True and data["group_to_look_at"] == "scanner B"
    assert data["group_metrics"]["rows"][0]["gap_to_rest"]["method"] == "newcombe"
    assert "Overall error_rate" in analysis.summary()
    # The same analysis from the raw outputs, and from a Splits object's dev set.
    again = analyze_errors(pred, None, y, groups=groups, k=3)
    assert again.to_dict() == analysis.to_dict()
    s = {"dev": (np.zeros((len(y), 1)), y)}
    assert analyze_errors(pred, splits=s).error == analysis.error
    assert analyze_errors(pred, dev=(None, y)).error == analysis.error


def test_every_entry_point_takes_predictions_and_task():
    y = np.array([0.0, 3.0, 5.0, 2.0, 4.0, 1.0])
    out = np.array([0.5, 2.0, 5.0, 2.5, 3.0, 1.0])
    p = Predictions(y, out)
    assert p.task == "regression"  # one column of non-whole numbers against 0..5
    worst = worst_mistakes(p, k=2)
    assert worst.task == "regression" and [m.index for m in worst.mistakes] == [1, 4]
    as_labels = Predictions(y.astype(int), np.array([0, 3, 5, 2, 4, 2]))
    assert confusion_matrix(as_labels).counts.trace() == 5
    assert classification_report(as_labels).accuracy == pytest.approx(5 / 6)
    # task= re-decodes a Predictions.
    assert worst_mistakes(as_labels, task="regression").task == "regression"
    with pytest.raises(ValueError, match="is for classification"):
        confusion_matrix(p)
    with pytest.raises(ValueError, match="task"):
        per_group_metrics(p, groups=[0] * 6, task="bogus")


def test_error_analysis_input_errors_are_clear():
    with pytest.raises(ValueError, match="needs the true labels or targets `y`"):
        confusion_matrix(np.array([0, 1]))
    with pytest.raises(ValueError, match="multi-label"):
        analyze_errors(
            np.array([[0.9, 0.2], [0.1, 0.8]]),
            None,
            np.array([[1, 1], [0, 1]]),
            task="classification",
        )
    with pytest.raises(ValueError, match="needs one group id per sample"):
        per_group_metrics(np.array([0, 1]), None, [0, 1])
    with pytest.raises(ValueError, match="metric"):
        per_group_metrics(np.array([0, 1]), None, [0, 1], groups=[0, 1], metric="rmse")
    with pytest.raises(ValueError, match="error rate"):
        analyze_errors(np.array([0, 1]), None, [0, 1], metric="mae")
    with pytest.raises(ValueError, match="not both"):
        analyze_errors(np.array([0, 1]), None, [0, 1], dev=(None, [0, 1]))
    with pytest.raises(ValueError, match="has none|have none"):
        analyze_errors(np.array([0, 1]), splits={"train": (None, [0, 1])})
