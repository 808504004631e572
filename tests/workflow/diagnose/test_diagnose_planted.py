"""Planted situations for the diagnosis with intervals: predictions built from seeded
arrays with known error counts, and the verdict each must give (issue #14)."""

from __future__ import annotations

import json
from statistics import NormalDist

import numpy as np
import pytest
from scipy.stats import binomtest

from lamina.workflow import uncertainty
from lamina.workflow.diagnose import Diagnosis
from lamina.workflow.predictions import Predictions

Z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)


def _labels(n: int, errors: int, seed: int, name: str) -> Predictions:
    """Three-class predictions on ``n`` examples with exactly ``errors`` wrong."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    pred = y.copy()
    wrong = rng.choice(n, errors, replace=False)
    pred[wrong] = (pred[wrong] + 1) % 3
    return Predictions(y, pred, task="classification", name=name)


def _values(n: int, scale: float, seed: int, name: str) -> Predictions:
    """Regression predictions whose errors are normal with standard deviation ``scale``."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    return Predictions(y, y + scale * rng.normal(size=n), task="regression", name=name)


# --------------------------------------------------------------------------- the case


def test_small_train_dev_without_mismatch_is_inconclusive_not_mismatch() -> None:
    # Train-dev and dev come from the same distribution (7 % error); the 30 train-dev
    # examples happen to hold no error (a 1-in-9 chance at that rate).
    dev_errors = int(np.random.default_rng(3).binomial(400, 0.07))
    train = _labels(400, 1, 0, "train")
    train_dev = _labels(30, 0, 1, "train_dev")
    dev = _labels(400, dev_errors, 2, "dev")
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev)

    assert d.data_mismatch == pytest.approx(dev_errors / 400)
    assert d.primary == "inconclusive"
    assert not d.established["data_mismatch"] and not d.established["variance"]
    assert "train-dev set of 30 examples" in d.verdict
    assert "variance from data mismatch" in d.verdict
    expected = uncertainty.samples_needed(0.0, dev_errors / 400)
    assert d.samples_needed == {
        "gap": "data_mismatch",
        "versus": None,
        "difference": pytest.approx(dev_errors / 400),
        "per_set": expected,
        "sets": ["train_dev", "dev"],
        "current": {"train_dev": 30, "dev": 400},
        "power": 0.8,
        "against": "zero",
    }
    first = d.recommendations[0]
    assert first.startswith(
        f"Collect at least {expected} examples in each of the train-dev and dev"
    )
    assert "(now 30 and 400)" in first and "80% power" in first
    # The gap interval is Newcombe's difference of the two error rates.
    ref = uncertainty.difference_interval(dev_errors, 400, 0, 30)
    assert d.gap_intervals["data_mismatch"] == ref
    assert f"{100 * ref.low:.1f} to {100 * ref.high:.1f}" in d.verdict

    # The point estimates alone would have called it data mismatch.
    errors = {"train": 1 / 400, "train_dev": 0.0, "dev": dev_errors / 400}
    assert Diagnosis.from_errors(**errors).primary == "data_mismatch"
    # With the sizes, `from_errors` weighs the same counts the same way.
    sized = Diagnosis.from_errors(**errors, sizes={"train": 400, "train_dev": 30, "dev": 400})
    assert sized.primary == "inconclusive"
    assert sized.samples_needed == d.samples_needed
    assert sized.gap_intervals == d.gap_intervals


def test_large_sets_with_a_real_shift_give_data_mismatch() -> None:
    train = _labels(5000, 100, 0, "train")  # 2 %
    train_dev = _labels(5000, 100, 1, "train_dev")  # 2 %
    dev = _labels(5000, 500, 2, "dev")  # 10 %
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev, human=0.015)
    assert d.primary == "data_mismatch"
    assert d.established["data_mismatch"] and not d.established["variance"]
    assert d.gap_intervals["data_mismatch"].low > 0.06
    assert d.samples_needed is None
    assert d.verdict.startswith("The largest gap is data mismatch (8.0 points, 95% CI")
    assert d.recommendations[0].startswith("Make the training data more like the dev data")


def test_real_bias_gap_gives_avoidable_bias() -> None:
    train = _labels(2000, 400, 0, "train")  # 20 %
    dev = _labels(2000, 420, 1, "dev")  # 21 %
    d = Diagnosis.from_predictions(train=train, dev=dev, human=0.02)
    assert d.primary == "avoidable_bias" and d.established["avoidable_bias"]
    assert not d.established["variance"]
    # Against a given number, the bias interval is the training error's, shifted.
    wilson = uncertainty.wilson_interval(400, 2000)
    bias = d.gap_intervals["avoidable_bias"]
    assert (bias.estimate, bias.low, bias.high) == pytest.approx(
        (0.18, wilson.low - 0.02, wilson.high - 0.02)
    )
    assert bias.n == 2000


def test_two_established_gaps_of_equal_size_are_inconclusive() -> None:
    n = 3000
    train = _labels(n, 60, 0, "train")  # 2 %
    train_dev = _labels(n, 240, 1, "train_dev")  # 8 %
    dev = _labels(n, 426, 2, "dev")  # 14.2 %
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev, human=0.02)
    assert d.established["variance"] and d.established["data_mismatch"]
    assert d.primary == "inconclusive"
    assert "variance" in d.verdict and "data mismatch" in d.verdict
    assert "cannot tell which is larger" in d.verdict
    # The difference of the gaps, dev + tr - 2 td, against its normal approximation.
    p = {"train": 0.02, "train_dev": 0.08, "dev": 0.142}
    var = {k: v * (1 - v) for k, v in p.items()}
    se = np.sqrt((4 * var["train_dev"] + var["train"] + var["dev"]) / n)
    sep = d.separation
    assert sep.estimate == pytest.approx(d.data_mismatch - d.variance)
    assert sep.low < 0 < sep.high
    assert sep.low == pytest.approx(sep.estimate - 1.96 * se, abs=0.003)
    assert sep.high == pytest.approx(sep.estimate + 1.96 * se, abs=0.003)
    # Examples per set to tell the two gaps apart at 80 % power.
    delta = d.data_mismatch - d.variance
    expected = int(np.ceil(Z**2 * (4 * var["train_dev"] + var["train"] + var["dev"]) / delta**2))
    assert d.samples_needed["per_set"] == expected
    assert (d.samples_needed["gap"], d.samples_needed["versus"]) == ("data_mismatch", "variance")
    assert d.recommendations[0].startswith(f"Collect at least {expected} examples in each of")
    assert any("Get more training data" in r for r in d.recommendations)
    assert any("more like the dev data" in r for r in d.recommendations)


def test_nothing_above_tolerance_is_none_with_a_note_on_wide_intervals() -> None:
    train = _labels(400, 4, 0, "train")  # 1 %
    train_dev = _labels(400, 5, 1, "train_dev")  # 1.25 %
    dev = _labels(400, 5, 2, "dev")  # 1.25 %
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev, human=0.01)
    assert d.primary == "none"
    assert not any(d.established.values())
    assert any("intervals are wide" in n for n in d.notes)


def test_a_gap_must_clear_the_tolerance_not_just_zero() -> None:
    sizes = {"train": 20000, "dev": 20000}
    d = Diagnosis.from_errors(train=0.01, dev=0.016, human=0.01, sizes=sizes)
    interval = d.gap_intervals["variance"]
    assert interval.excludes(0.0) and not interval.excludes(0.0, d.tolerance)
    assert not d.established["variance"]
    assert d.primary == "inconclusive"
    assert "above zero but may be below the tolerance of 0.5 points" in d.verdict
    # Examples needed to tell 1.6 % from 1 % + the tolerance.
    assert d.samples_needed["against"] == "tolerance"
    assert d.samples_needed["per_set"] == uncertainty.samples_needed(0.015, 0.016)
    assert "from the tolerance of 0.5 points" in d.recommendations[0]


# --------------------------------------------------------------------------- regression


def test_regression_large_sets_with_a_shift_give_data_mismatch() -> None:
    train = _values(4000, 1.0, 0, "train")
    train_dev = _values(4000, 1.0, 1, "train_dev")
    dev = _values(4000, 1.5, 2, "dev")
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev, human=0.8, seed=5)
    assert d.primary == "data_mismatch" and d.established["data_mismatch"]
    assert d.metric == "mae"
    assert d.error_intervals["dev"] == dev.error_interval("mae", seed=5)
    assert d.error_intervals["dev"].method == "percentile bootstrap"
    assert d.gap_intervals["data_mismatch"] == train_dev.gap(dev, "mae", seed=5)
    rmse = Diagnosis.from_predictions(
        train=train, train_dev=train_dev, dev=dev, human=1.0, metric="rmse"
    )
    assert rmse.primary == "data_mismatch"
    assert rmse.dev_error == pytest.approx(np.sqrt(np.mean((dev.y_pred - dev.y_true) ** 2)))


def test_regression_small_train_dev_is_inconclusive_with_the_normal_sample_size() -> None:
    train = _values(400, 1.0, 0, "train")
    train_dev = _values(20, 1.0, 1, "train_dev")
    dev = _values(400, 1.3, 2, "dev")
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev, human=0.8)
    assert d.primary == "inconclusive"
    assert "train-dev set of 20 examples" in d.verdict
    need = d.samples_needed
    gap = need["gap"]
    a, b = (train, train_dev) if gap == "variance" else (train_dev, dev)
    ea, eb = a.errors, b.errors
    pooled = np.sqrt(
        ((len(ea) - 1) * ea.var(ddof=1) + (len(eb) - 1) * eb.var(ddof=1)) / (len(ea) + len(eb) - 2)
    )
    delta = eb.mean() - ea.mean()
    assert need["per_set"] == int(np.ceil(2 * Z**2 * pooled**2 / delta**2))
    assert d.recommendations[0].startswith(f"Collect at least {need['per_set']} examples")


def test_from_errors_regression_has_no_intervals_and_says_so() -> None:
    d = Diagnosis.from_errors(
        task="regression", train=1.0, dev=1.5, human=1.0, sizes={"train": 50, "dev": 50}
    )
    assert d.gap_intervals["variance"] is None and d.error_intervals["dev"] is None
    assert d.primary == "variance"
    assert any("ignores sampling noise" in n for n in d.notes)
    assert any("need the error of every example" in n for n in d.notes)
    assert d.sizes == {"train": 50, "train_dev": None, "dev": 50, "test": None}


# --------------------------------------------------------------------------- numbers and output


def test_intervals_match_predictions_and_scipy_wilson() -> None:
    train = _labels(300, 12, 0, "train")
    dev = _labels(250, 31, 1, "dev")
    d = Diagnosis.from_predictions(train=train, dev=dev, human=0.01, confidence=0.9)
    assert d.sizes == {"train": 300, "train_dev": None, "dev": 250, "test": None}
    assert d.error_intervals["dev"] == dev.error_interval(confidence=0.9)
    assert d.gap_intervals["variance"] == train.gap(dev, confidence=0.9)
    ci = binomtest(31, 250).proportion_ci(confidence_level=0.9, method="wilson")
    assert (d.error_intervals["dev"].low, d.error_intervals["dev"].high) == pytest.approx(
        (ci.low, ci.high), rel=1e-9
    )
    assert d.confidence == 0.9


def test_common_sense_inside_the_interval_gets_a_note() -> None:
    train = _labels(400, 20, 0, "train")
    dev = _labels(400, 40, 1, "dev")  # 10 %, 95 % CI about 7.4 to 13.3
    d = Diagnosis.from_predictions(train=train, dev=dev, human=0.05, common_sense=0.11)
    assert d.primary != "worse_than_baseline"
    assert any("not yet shown to beat common sense" in n for n in d.notes)
    worse = Diagnosis.from_predictions(train=train, dev=dev, human=0.05, common_sense=0.095)
    assert worse.primary == "worse_than_baseline"
    assert any("not distinguishable from the common-sense" in n for n in worse.notes)


def test_diagnosis_with_intervals_serialises_and_prints() -> None:
    train = _labels(400, 2, 0, "train")
    train_dev = _labels(400, 30, 1, "train_dev")
    dev = _labels(400, 33, 2, "dev")
    d = Diagnosis.from_predictions(train=train, train_dev=train_dev, dev=dev, human=0.005)
    assert d.primary == "variance" and d.established["variance"]
    payload = json.loads(json.dumps(d.to_dict()))
    for key in ("sizes", "error_intervals", "gap_intervals", "established", "confidence"):
        assert key in payload
    assert payload["error_intervals"]["dev"] == d.error_intervals["dev"].to_dict()
    assert payload["gap_intervals"]["variance"]["low"] == pytest.approx(
        d.gap_intervals["variance"].low
    )
    assert Diagnosis.from_dict(payload) == d
    text = str(d)
    assert "8.25% (95% CI 5.9 to 11.4, n=400)" in text
    assert "not established" in text and "established" in text
    assert "Verdict: The largest gap is variance" in text


def test_from_predictions_rejects_what_is_not_predictions_of_one_task() -> None:
    train = _labels(100, 5, 0, "train")
    with pytest.raises(
        TypeError, match=r"expects `dev` to be a `Predictions` or None. Received: dev"
    ):
        Diagnosis.from_predictions(train=train, dev=np.zeros(10))
    with pytest.raises(ValueError, match=r"Received: dev with task='regression'"):
        Diagnosis.from_predictions(train=train, dev=_values(50, 1.0, 0, "dev"))
    with pytest.raises(ValueError, match=r"expects `metric='error'`"):
        Diagnosis.from_predictions(train=train, metric="mae")
    with pytest.raises(ValueError, match=r"`confidence` to be a number in \(0.0, 1.0\)"):
        Diagnosis.from_predictions(train=train, confidence=95)
