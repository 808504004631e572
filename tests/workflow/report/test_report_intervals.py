"""The report shows every interval: one cell format checked against SciPy's Wilson
interval, error bars at the planted bounds, intervals in the diagnosis, baselines,
learning-curve and error-analysis tables, and interval dicts in the JSON that
`Interval.from_dict` reads back. Planted results only: it runs in seconds."""

import base64
import json
import re

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from scipy import stats

from lamina.workflow import Diagnosis, LearningCurve, per_group_metrics, report, run_baselines
from lamina.workflow.report import as_interval, interval_bar_figure, interval_cell, to_jsonable
from lamina.workflow.uncertainty import Interval, difference_interval, wilson_interval


def _section(page: str, key: str) -> str:
    start = page.index(f'<section id="{key}">')
    return page[start : page.index("</section>", start)]


def _row(section: str, label: str) -> list[str]:
    """The cells after the cell ``label`` in the table row holding it."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        if label in cells:
            return cells[cells.index(label) + 1 :]
    raise AssertionError(f"no row {label!r} in the section")


def _png(page: str, alt: str) -> bytes:
    match = re.search(rf'<img src="data:image/png;base64,([^"]+)" alt="{re.escape(alt)}">', page)
    assert match, f"no embedded image {alt!r}"
    return base64.b64decode(match.group(1))


def test_interval_cell_matches_scipy_wilson_interval():
    ci = stats.binomtest(33, 400).proportion_ci(confidence_level=0.95, method="wilson")
    expected = f"8.25% (95% CI {100 * ci.low:.1f}–{100 * ci.high:.1f}, n=400)"
    assert expected == "8.25% (95% CI 5.9–11.4, n=400)"
    interval = wilson_interval(33, 400)
    assert interval_cell(interval, percent=True) == expected
    assert interval_cell(interval.to_dict(), percent=True) == expected
    bootstrap = Interval(0.412, 0.371, 0.455, 400, 0.95, "bootstrap")
    assert interval_cell(bootstrap) == "0.4120 (95% CI 0.371–0.455, n=400)"
    gap = Interval(0.02, -0.01, 0.05, 30, 0.9, "newcombe")
    assert interval_cell(gap, percent=True) == "2.00% (90% CI -1.0 to 5.0, n=30)"
    assert interval_cell(0.05, percent=True, n=30) == "5.00% (n=30)"
    assert interval_cell(0.4123) == "0.4123" and interval_cell(None) == "-"
    unmeasured = Interval(0.25, 0.25, 0.25, None, 0.95, "one seed, size unknown")
    assert interval_cell(unmeasured, percent=True) == "25.00%"
    assert as_interval({"estimate": 0.1}) is None and as_interval(0.1) is None


def test_to_jsonable_writes_intervals_that_round_trip():
    interval = wilson_interval(7, 90)
    data = json.loads(json.dumps(to_jsonable({"dev": interval, "list": [interval]})))
    assert Interval.from_dict(data["dev"]) == interval == Interval.from_dict(data["list"][0])


def test_interval_bar_figure_draws_the_bounds_as_error_bars():
    train, dev = wilson_interval(0, 300), wilson_interval(33, 400)
    fig = interval_bar_figure(
        ["train", "dev"], [train, dev], title="t", ylabel="error", percent=True
    )
    (ax,) = fig.axes
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    segments = bars.lines[2][0].get_segments()
    bounds = [bound for s in segments for bound in (s[0][1], s[1][1])]
    assert bounds == pytest.approx([100 * b for iv in (train, dev) for b in (iv.low, iv.high)])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["train\nn=300", "dev\nn=400"]


def _planted_diagnosis() -> Diagnosis:
    """No error in a few dozen train-dev examples against 33 errors in 400 dev
    examples: the data-mismatch gap is within chance, the verdict inconclusive."""
    sizes = {"train": 300, "train_dev": 30, "dev": 400}
    return Diagnosis.from_errors(train=0.0, train_dev=0.0, dev=33 / 400, sizes=sizes)


def test_diagnosis_table_figure_and_json_carry_the_intervals(tmp_path):
    d = _planted_diagnosis()
    files = report(tmp_path / "d.html", diagnosis=d)
    page = files.html.read_text()
    section = _section(page, "diagnosis")
    for label, n, errors in (
        ("training error", 300, 0),
        ("train-dev error", 30, 0),
        ("dev error", 400, 33),
    ):
        cell = _row(section, label)[0]
        assert cell == interval_cell(wilson_interval(errors, n), percent=True)
        assert f"n={n}" in cell
    assert _row(section, "dev error")[0] == "8.25% (95% CI 5.9–11.4, n=400)"
    mismatch = _row(section, "data mismatch")
    assert mismatch[0] == interval_cell(d.gap_intervals["data_mismatch"], percent=True)
    assert "95% CI" in mismatch[0] and mismatch[1] == "no: within chance"
    assert d.primary == "inconclusive" and "Primary problem: inconclusive." in section
    needed = d.samples_needed["per_set"]
    assert f"each set needs <b>{needed:,}</b> examples" in section
    assert _row(section, "train-dev") == ["30", f"{needed:,}"]
    assert _png(page, "errors per split of model with 95% intervals")[:4] == b"\x89PNG"
    assert files.images == 1

    data = json.loads(files.json.read_text())["diagnosis"]["model"]
    assert data["sizes"] == {"train": 300, "train_dev": 30, "dev": 400, "test": None}
    assert Interval.from_dict(data["error_intervals"]["dev"]) == wilson_interval(33, 400)
    assert (
        Interval.from_dict(data["gap_intervals"]["data_mismatch"])
        == d.gap_intervals["data_mismatch"]
    )
    assert data["established"]["data_mismatch"] is False


def test_a_diagnosis_without_intervals_keeps_its_plain_table(tmp_path):
    files = report(tmp_path / "p.html", diagnosis=Diagnosis.from_errors(train=0.0, dev=0.1))
    section = _section(files.html.read_text(), "diagnosis")
    assert _row(section, "dev error") == ["10.00%"] and "<th>established</th>" not in section


@pytest.fixture(scope="module")
def baselines():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0).astype("int64")
    table = run_baselines(
        (x[:200], y[:200], x[200:], y[200:]), include=["majority_class", "logistic_regression"]
    )
    # A "network" whose predictions are the logistic regression's: not distinguishable.
    twin = next(r for r in table.rows if r.name == "logistic_regression")
    table.add_model("net", twin.predictions)
    return table


def test_baselines_table_and_chart_show_each_score_with_its_interval(baselines, tmp_path):
    files = report(tmp_path / "b.html", baselines=baselines)
    page = files.html.read_text()
    section = _section(page, "baselines")
    for row in baselines.rows:
        kind, accuracy, error_rate = _row(section, row.name)[:3]
        assert kind == row.kind and accuracy == interval_cell(row.interval), row.name
        assert "95% CI" in accuracy and "n=100" in accuracy
        rate = row.scores.get("error_rate")
        assert error_rate == ("-" if rate is None else f"{100 * rate:.2f}% (n=100)")
        errors = round(100 * (1 - row.scores["accuracy"]))
        err = wilson_interval(errors, 100)
        assert row.interval.low == pytest.approx(1 - err.high)  # the accuracy's Wilson interval
    assert _png(page, "accuracy of every model with its 95% interval")[:4] == b"\x89PNG"
    paired = section[section.index("Paired comparison") :]
    baseline, difference, p_value, outcome = _row(paired, "net")
    comparison = baselines.compare("net")
    assert (baseline, outcome) == ("logistic_regression", "not distinguishable")
    assert difference == interval_cell(comparison.difference, percent=True) and p_value == "1"
    data = json.loads(files.json.read_text())["baselines"]
    assert [r["name"] for r in data["rows"]] == [r.name for r in baselines.rows]
    assert Interval.from_dict(data["rows"][0]["interval"]) == baselines.rows[0].interval
    assert Interval.from_dict(data["comparisons"]["net"]["difference"]) == comparison.difference


def test_error_analysis_groups_show_intervals_gaps_and_established(tmp_path):
    # Group "b" errs on 60 of 200 samples, group "a" on 10 of 200: established gaps.
    y = np.zeros(400, dtype="int64")
    pred = np.zeros(400, dtype="int64")
    pred[:10] = 1
    pred[200:260] = 1
    groups = np.array(["a"] * 200 + ["b"] * 200)
    metrics = per_group_metrics(pred, None, y, groups=groups, task="classification")
    files = report(tmp_path / "g.html", error_analysis=[metrics])
    page = files.html.read_text()
    section = _section(page, "error_analysis")
    b = _row(section, "b")
    assert (
        b[2]
        == interval_cell(wilson_interval(60, 200), percent=True)
        == ("30.00% (95% CI 24.1–36.7, n=200)")
    )
    assert b[3] == interval_cell(difference_interval(60, 200, 10, 200), percent=True)
    a = _row(section, "a")
    assert a[3] == interval_cell(difference_interval(10, 200, 60, 200), percent=True)
    assert b[4] == a[4] == "yes"  # both gaps to the rest exclude 0
    assert _png(page, "metrics per group with 95% intervals")[:4] == b"\x89PNG"
    rows = json.loads(files.json.read_text())["error_analysis"]["group_metrics"]["rows"]
    assert Interval.from_dict(rows[0]["interval"]) == wilson_interval(60, 200)


def test_learning_curve_table_shows_the_intervals_of_each_point(tmp_path):
    # One seed, means only: the intervals come from the sizes (Wilson; n_dev=300).
    curve = LearningCurve(
        [100, 200], [0.5, 1.0], [0.0, 0.01], [0.3, 0.2], "classification", "error", [0.1, 0.2], 300
    )
    files = report(tmp_path / "c.html", learning_curve=curve)
    section = _section(files.html.read_text(), "learning_curve")
    train, dev, gap = _row(section, "200")
    assert train == interval_cell(wilson_interval(2, 200), percent=True)
    assert dev == interval_cell(wilson_interval(60, 300), percent=True)
    assert dev == "20.00% (95% CI 15.9–24.9, n=300)"
    reading = curve.reading()
    assert gap == interval_cell(reading.gap_interval, percent=True) and "95% CI" in gap
    assert reading.slope is not None and interval_cell(reading.slope, percent=True) in section
    data = json.loads(files.json.read_text())["learning_curve"]
    assert Interval.from_dict(data["dev_intervals"][1]) == curve.dev_intervals[1]


def test_scores_may_be_intervals(tmp_path):
    accuracy = Interval(0.93, 0.9, 0.95, 360, 0.95, "wilson")
    files = report(tmp_path / "s.html", scores={"mlp": {"dev": accuracy, "train": 0.99}})
    assert _row(_section(files.html.read_text(), "scores"), "mlp") == [
        "0.9300 (95% CI 0.900–0.950, n=360)",
        "0.9900",
    ]
    data = json.loads(files.json.read_text())
    assert Interval.from_dict(data["scores"]["mlp"]["dev"]) == accuracy


def test_cross_validation_shows_the_corrected_interval(tmp_path):
    from lamina.data import CVResult

    accuracy = [0.80, 0.85, 0.78, 0.90, 0.82]
    order = np.arange(100)
    folds = [(np.setdiff1d(order, order[i::5]), order[i::5]) for i in range(5)]
    result = CVResult([{"accuracy": a} for a in accuracy], folds, folds=5, repeats=1)
    files = report(tmp_path / "cv.html", cross_validation=result)
    section = _section(files.html.read_text(), "cross_validation")
    mean, std, cell = _row(section, "accuracy")
    # Nadeau and Bengio: the variance of the mean is (1/k + n_test/n_train) * s^2.
    k, s2 = len(accuracy), np.var(accuracy, ddof=1)
    half = stats.t.ppf(0.975, k - 1) * np.sqrt((1 / k + 20 / 80) * s2)
    low, high = np.mean(accuracy) - half, np.mean(accuracy) + half
    assert cell == f"{np.mean(accuracy):#.4g} (95% CI {low:#.3g}–{high:#.3g}, n=5)"
    assert mean == f"{np.mean(accuracy):.4f}" and std == f"{np.std(accuracy):.4f}"
    # The last fit: repeat 1, fold 5, 80 training and 20 held-out samples, its score.
    assert "<tr><td>1</td><td>5</td><td>80</td><td>20</td><td>0.8200</td></tr>" in section
    data = json.loads(files.json.read_text())["cross_validation"]["model"]
    interval = Interval.from_dict(data["intervals"]["accuracy"])
    assert (interval.low, interval.high) == pytest.approx((low, high))
