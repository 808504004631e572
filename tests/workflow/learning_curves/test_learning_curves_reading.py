"""LearningCurve from planted numbers: per-size intervals against SciPy, the slope
against NumPy's weighted least squares, and the verdicts of planted situations."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from lamina.workflow import LearningCurve
from lamina.workflow.learning_curves import LearningCurveReading
from lamina.workflow.uncertainty import Interval

SIZES = [100, 200, 400]


def _curve(train, dev, n_dev, spread=0.0, sizes=SIZES, metric="error", task="classification"):
    """A curve with three seeds per size, each ``mean - spread, mean, mean + spread``."""
    per = lambda means: [[m - spread, m, m + spread] for m in means]  # noqa: E731
    return LearningCurve(
        sizes=list(sizes),
        fractions=[s / sizes[-1] for s in sizes],
        train_errors=[],
        dev_errors=[],
        task=task,
        metric=metric,
        n_dev=n_dev,
        seeds=[0, 1, 2],
        train_errors_per_seed=per(train),
        dev_errors_per_seed=per(dev),
    )


def test_learning_curve_per_size_numbers_match_a_hand_computation():
    dev_seeds = [[0.10, 0.12, 0.14], [0.09, 0.10, 0.11], [0.06, 0.08, 0.10]]
    curve = LearningCurve(
        SIZES, [0.25, 0.5, 1.0], [], [], "classification", "error", n_dev=200,
        train_errors_per_seed=[[0.0, 0.01, 0.02]] * 3, dev_errors_per_seed=dev_seeds,
    )  # fmt: skip
    t = stats.t.ppf(0.975, 2)
    for i, row in enumerate(dev_seeds):
        mean, sd = np.mean(row), np.std(row, ddof=1)
        assert curve.dev_errors[i] == pytest.approx(mean)
        assert curve.dev_stds[i] == pytest.approx(sd)
        # Wilson interval of the mean rate on 200 dev examples (SciPy), widened by t * sd / sqrt(3).
        wl, wh = stats.binomtest(round(mean * 200), 200).proportion_ci(0.95, method="wilson")
        seed_half = t * sd / math.sqrt(3)
        iv = curve.dev_intervals[i]
        assert iv.estimate == pytest.approx(mean) and iv.n == 200
        assert iv.low == pytest.approx(mean - math.hypot(mean - wl, seed_half), abs=1e-12)
        assert iv.high == pytest.approx(mean + math.hypot(wh - mean, seed_half), abs=1e-12)
    # The slope: weighted least squares on log2(size), weights 1 / (sampling + seed variance)
    # (NumPy's polyfit), t with Welch-Satterthwaite degrees of freedom (SciPy).
    z = stats.norm.ppf(0.975)
    v_samp, v_seed = [], []
    for row in dev_seeds:
        mean = np.mean(row)
        wl, wh = stats.binomtest(round(mean * 200), 200).proportion_ci(0.95, method="wilson")
        v_samp.append(((wh - wl) / 2 / z) ** 2)
        v_seed.append(np.var(row, ddof=1) / 3)
    var = np.array(v_samp) + np.array(v_seed)
    x, y = np.log2(SIZES), np.array(curve.dev_errors)
    (slope, intercept), cov = np.polyfit(x, y, 1, w=1 / np.sqrt(var), cov="unscaled")
    c = (
        (x - np.average(x, weights=1 / var))
        / var
        / np.sum((x - np.average(x, weights=1 / var)) ** 2 / var)
    )
    dof = cov[0, 0] ** 2 / np.sum((c**2 * np.array(v_seed)) ** 2 / 2)
    chi2 = np.sum((y - (slope * x + intercept)) ** 2 / var)
    se_slope = math.sqrt(cov[0, 0]) * max(1.0, math.sqrt(chi2 / (3 - 2)))
    reading = curve.reading()
    assert reading.slope.estimate == pytest.approx(slope)
    half = stats.t.ppf(0.975, dof) * se_slope
    assert reading.slope.high - reading.slope.estimate == pytest.approx(half)
    assert reading.slope.estimate - reading.slope.low == pytest.approx(half)
    assert reading.dev_slope == pytest.approx(-slope)
    assert reading.slope.n == 9 and reading.sizes_used == SIZES


def test_learning_curve_falling_dev_error_reads_more_data():
    curve = _curve([0.00, 0.01, 0.02], [0.30, 0.20, 0.10], n_dev=1000, spread=0.005)
    reading = curve.reading()
    assert reading.verdict == "more_data" and reading.more_data_helps
    assert reading.slope.high < 0
    assert str(reading).startswith(
        "more data is likely to help: the dev error falls 10.0 points per doubling of the data "
        f"(95% CI {100 * -reading.slope.high:.1f} to {100 * -reading.slope.low:.1f})"
    )


def test_learning_curve_still_falling_is_never_read_as_converged():
    # The case: train and dev nearly met (1 point), bias above the target, but the
    # dev error still falls several points per doubling. The old reading said "converged".
    curve = _curve([0.02, 0.03, 0.035], [0.12, 0.08, 0.045], n_dev=2000, spread=0.002)
    reading = curve.reading(target_error=0.0)
    assert reading.dev_slope > 0.03 and reading.slope.high < 0
    assert reading.verdict == "more_data"
    assert "converged" not in reading.message and "unlikely" not in reading.message
    assert f"falls {100 * reading.dev_slope:.1f} points per doubling" in reading.message


def test_learning_curve_flat_curves_with_narrow_intervals_read_converged():
    big = [4000, 8000, 16000]
    curve = _curve(
        [0.095, 0.097, 0.099], [0.101, 0.100, 0.1005], n_dev=20000, spread=0.001, sizes=big
    )
    reading = curve.reading(target_error=0.09)
    assert reading.verdict == "converged" and not reading.more_data_helps
    assert -0.01 <= reading.slope.low and reading.slope.high <= 0.01
    assert reading.message.startswith("more data is unlikely to help: the curves have converged")
    # The same curves far above the target: bias.
    assert curve.reading(target_error=0.0).verdict == "bias"
    assert "bigger model" in curve.reading(target_error=0.0).message


def test_learning_curve_flat_dev_error_with_a_gap_reads_variance_plateau():
    curve = _curve([0.00, 0.005, 0.01], [0.150, 0.148, 0.149], n_dev=20000, spread=0.001)
    reading = curve.reading()
    assert reading.verdict == "variance_plateau" and reading.gap_interval.low > 0.1
    assert "regularise" in reading.message


def test_learning_curve_noisy_short_curve_is_inconclusive_and_says_what_would_settle_it():
    # A small dev set: the sampling noise dominates.
    small_dev = _curve([0.0, 0.0], [0.20, 0.18], n_dev=60, sizes=[200, 400])
    reading = small_dev.reading()
    assert reading.verdict == "inconclusive" and not reading.more_data_helps
    assert reading.slope.low < -0.01 and reading.slope.high > 0.0
    assert "bigger dev set" not in reading.message and "dev set about" in reading.message
    # A big dev set but seeds that disagree: more seeds.
    noisy_seeds = _curve([0.0, 0.0], [0.20, 0.18], n_dev=50000, spread=0.05, sizes=[200, 400])
    message = noisy_seeds.reading().message
    assert noisy_seeds.reading().verdict == "inconclusive" and "seeds=" in message
    # One seed and no dev-set size: nothing measures the noise, no verdict either way.
    unknown = LearningCurve(
        SIZES, [0.25, 0.5, 1.0], [0.0, 0.0, 0.0], [0.3, 0.2, 0.1], "classification", "error"
    )
    assert unknown.reading().verdict == "inconclusive"
    assert "nothing measured the noise" in unknown.reading().message


@pytest.mark.parametrize(
    "train, dev, target, verdict",
    [
        ([0.00, 0.01, 0.02], [0.30, 0.20, 0.10], 0.0, "more_data"),
        ([0.00, 0.01, 0.02], [0.15, 0.12, 0.12], 0.0, "inconclusive"),
        ([0.00, 0.01, 0.02], [0.121, 0.12, 0.12], 0.0, "variance_plateau"),
        ([0.30, 0.32, 0.33], [0.336, 0.335, 0.335], 0.01, "bias"),
        ([0.01, 0.012, 0.015], [0.08, 0.04, 0.02], 0.01, "more_data"),
    ],
)
def test_learning_curve_reading_names_the_situation(train, dev, target, verdict):
    curve = LearningCurve(
        SIZES, [0.25, 0.5, 1.0], train, dev, "classification", "error", n_dev=10000
    )
    reading = curve.reading(target_error=target)
    assert reading.verdict == verdict
    assert reading.more_data_helps == (verdict == "more_data")
    assert reading.gap == pytest.approx(dev[-1] - train[-1])
    se = [(iv.high - iv.low) / 2 for iv in curve.dev_intervals]  # one seed: sampling only
    slope = np.polyfit(np.log2(SIZES), dev, 1, w=1 / np.array(se))[0]
    assert reading.dev_slope == pytest.approx(-slope)


def test_learning_curve_regression_without_sampling_noise_uses_the_seed_spread():
    curve = _curve(
        [0.3, 0.3, 0.3], [0.9, 0.7, 0.5], n_dev=0, spread=0.01, metric="mae", task="regression"
    )
    iv = curve.dev_intervals[0]
    assert iv.method == "sampling noise unknown + seed spread (t, 3 seeds)" and iv.n is None
    assert iv.high - iv.estimate == pytest.approx(stats.t.ppf(0.975, 2) * 0.01 / math.sqrt(3))
    reading = curve.reading()
    assert reading.verdict == "more_data" and "MAE per doubling" in reading.message


def test_learning_curve_to_dict_round_trips_every_number_through_json():
    curve = _curve([0.00, 0.01, 0.02], [0.30, 0.20, 0.10], n_dev=300, spread=0.01)
    data = json.loads(json.dumps(curve.to_dict()))
    assert {
        "sizes", "fractions", "train_errors", "dev_errors", "task", "metric", "seconds", "n_dev",
        "seeds", "n_seeds", "train_errors_per_seed", "dev_errors_per_seed", "train_stds",
        "dev_stds", "train_intervals", "dev_intervals", "confidence", "reading",
    } == set(data)  # fmt: skip
    assert data["dev_errors_per_seed"] == curve.dev_errors_per_seed
    assert data["dev_intervals"][1] == curve.dev_intervals[1].to_dict()
    assert Interval.from_dict(data["reading"]["slope"]) == curve.reading().slope
    assert data["reading"]["verdict"] == "more_data"
    back = LearningCurve.from_dict(data)
    assert back.dev_intervals == curve.dev_intervals and back.train_stds == curve.train_stds
    assert back.reading() == curve.reading()


def test_learning_curve_plot_draws_bands_and_writes_a_png(tmp_path):
    curve = _curve([0.00, 0.01, 0.02], [0.30, 0.20, 0.10], n_dev=300, spread=0.01)
    fig = curve.plot(tmp_path / "lc.png")
    assert (tmp_path / "lc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # the two mean curves
    bands = [
        c
        for c in ax.collections
        if c.__class__.__name__ in ("PolyCollection", "FillBetweenPolyCollection")
    ]
    assert len(bands) == 2
    low, high = curve.dev_intervals[0].low * 100, curve.dev_intervals[0].high * 100
    ys = bands[1].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(min(low, curve.dev_intervals[-1].low * 100))
    assert max(ys) == pytest.approx(high)


def test_learning_curve_str_shows_intervals_and_sample_sizes():
    curve = _curve([0.00, 0.01, 0.02], [0.30, 0.20, 0.10], n_dev=300, spread=0.01)
    text = str(curve)
    assert "n_dev=300" in text and "95% CI" in text and "3 seed(s) per size" in text
    assert isinstance(curve.reading(), LearningCurveReading)


def test_learning_curve_rejects_inconsistent_numbers():
    with pytest.raises(ValueError, match="increasing"):
        LearningCurve([200, 100], [0.5, 1.0], [0.1, 0.1], [0.2, 0.2], "classification", "error")
    with pytest.raises(ValueError, match="one list per size"):
        LearningCurve([100, 200], [0.5, 1.0], [], [], "classification", "error",
                      train_errors_per_seed=[[0.1]], dev_errors_per_seed=[[0.2], [0.1]])  # fmt: skip
    with pytest.raises(ValueError, match="means of"):
        LearningCurve([100, 200], [0.5, 1.0], [0.5, 0.5], [0.2, 0.1], "classification", "error",
                      train_errors_per_seed=[[0.1], [0.1]])  # fmt: skip
    curve = _curve([0.0, 0.0, 0.0], [0.2, 0.1, 0.05], n_dev=100)
    with pytest.raises(ValueError, match="last=1"):
        curve.reading(last=1)
