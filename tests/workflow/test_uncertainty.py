"""lamina.workflow.uncertainty against SciPy and published reference values, plus
coverage by simulation (the intervals hold their 95 % on planted data)."""

import math

import numpy as np
import pytest
from scipy import stats

from lamina.workflow import uncertainty as u


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 30), (3, 30), (15, 30), (30, 30), (7, 200), (999, 1000), (1, 5)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k, n, confidence):
    ours = u.wilson_interval(k, n, confidence)
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert ours.estimate == pytest.approx(k / n)
    assert ours.low == pytest.approx(ref.low, abs=1e-12)
    assert ours.high == pytest.approx(ref.high, abs=1e-12)
    assert ours.n == n and ours.method == "wilson"


def test_wilson_covers_95_percent_where_the_normal_interval_does_not():
    rng = np.random.default_rng(0)
    p, n, sims = 0.05, 40, 4000
    ks = rng.binomial(n, p, sims)
    wilson = [u.wilson_interval(int(k), n) for k in ks]
    covered = np.mean([iv.low <= p <= iv.high for iv in wilson])
    se = np.sqrt(ks / n * (1 - ks / n) / n)
    normal = np.mean(np.abs(ks / n - p) <= 1.96 * se)
    assert 0.93 <= covered <= 0.99
    assert normal < 0.90  # the textbook interval fails at this size and rate


def test_newcombe_difference_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, example 56/70 - 48/80: 0.0524 to 0.3339.
    d = u.difference_interval(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.2)
    assert d.low == pytest.approx(0.0524, abs=1e-4)
    assert d.high == pytest.approx(0.3339, abs=1e-4)
    assert d.excludes(0.0) and not d.excludes(0.0, tolerance=0.06)


def test_small_train_dev_set_gap_is_not_established():
    # 0 errors out of 30 on train-dev against 10 % error on 500 dev examples: within chance.
    gap = u.difference_interval(50, 500, 0, 30)
    assert gap.estimate == pytest.approx(0.1)
    assert not gap.excludes(0.0)
    # The same rates on large sets are a real gap.
    assert u.difference_interval(500, 5000, 0, 3000).excludes(0.0)


def test_difference_interval_covers_95_percent():
    rng = np.random.default_rng(1)
    pa, pb, na, nb, sims = 0.12, 0.05, 60, 40, 3000
    ka, kb = rng.binomial(na, pa, sims), rng.binomial(nb, pb, sims)
    covered = np.mean([
        (iv := u.difference_interval(int(a), na, int(b), nb)).low <= pa - pb <= iv.high for a, b in zip(ka, kb)
    ])
    assert 0.93 <= covered <= 0.985


def test_samples_needed_matches_the_standard_table():
    # Fleiss, Statistical Methods for Rates and Proportions: p1=0.10, p2=0.20, alpha 0.05 two-sided,
    # power 0.80, no continuity correction: 199 per group.
    assert u.samples_needed(0.10, 0.20) == 199
    assert u.samples_needed(0.20, 0.10) == 199
    assert u.samples_needed(0.10, 0.20, power=0.9) > 199
    # Simulated power of the two-proportion z-test at that size is close to 0.8.
    n = u.samples_needed(0.10, 0.25)
    rng = np.random.default_rng(2)
    ka, kb = rng.binomial(n, 0.10, 4000), rng.binomial(n, 0.25, 4000)
    pooled = (ka + kb) / (2 * n)
    z = (kb - ka) / n / np.sqrt(2 * pooled * (1 - pooled) / n)
    assert 0.76 <= np.mean(np.abs(z) > 1.96) <= 0.86


def test_mcnemar_p_value_matches_scipy_binomtest():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.random(120) < 0.8
        b = rng.random(120) < 0.7
        r = u.mcnemar_test(a, b)
        only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
        assert (r.only_a_correct, r.only_b_correct) == (only_a, only_b)
        assert r.p_value == pytest.approx(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue, rel=1e-9)
        assert r.difference.estimate == pytest.approx(a.mean() - b.mean())
        assert r.difference.low <= r.difference.estimate <= r.difference.high


def test_mcnemar_equal_models_are_not_distinguishable_and_a_better_one_is():
    rng = np.random.default_rng(4)
    truth_a = rng.random(400) < 0.85
    same = u.mcnemar_test(truth_a, truth_a)
    assert same.p_value == 1.0 and not same.distinguishable() and same.difference.estimate == 0.0
    better = truth_a | (rng.random(400) < 0.5)
    r = u.mcnemar_test(better, truth_a)
    assert r.distinguishable() and r.difference.excludes(0.0)


def test_paired_difference_interval_covers_95_percent():
    rng = np.random.default_rng(5)
    n, sims, hits = 80, 1500, 0
    for _ in range(sims):
        shared = rng.random(n)
        a = shared < 0.8
        b = (shared + rng.normal(0, 0.15, n)) < 0.75
        true_d = 0.8 - stats.norm.cdf((0.75 - np.linspace(0, 1, 20001)[:, None]) / 0.15).mean()
        iv = u.mcnemar_test(a, b).difference
        hits += iv.low <= true_d <= iv.high
    assert 0.92 <= hits / sims <= 0.985


def test_bootstrap_interval_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(6)
    y = rng.normal(size=300)
    p = y + rng.normal(scale=0.5, size=300)
    mae = lambda a, b: float(np.mean(np.abs(a - b)))  # noqa: E731
    ours = u.bootstrap_interval(mae, y, p, n_resamples=4000, seed=0)
    ref = stats.bootstrap((y, p), mae, paired=True, vectorized=False, n_resamples=4000,
                          method="percentile", random_state=0).confidence_interval
    assert ours.estimate == pytest.approx(mae(y, p))
    assert ours.low == pytest.approx(ref.low, abs=0.01)
    assert ours.high == pytest.approx(ref.high, abs=0.01)
    # seeded: the same call gives the same interval
    assert u.bootstrap_interval(mae, y, p, n_resamples=4000, seed=0) == ours


def test_paired_bootstrap_difference_separates_a_better_regressor():
    rng = np.random.default_rng(7)
    y = rng.normal(size=200)
    good = y + rng.normal(scale=0.3, size=200)
    bad = y + rng.normal(scale=0.6, size=200)
    mae = lambda a, b: float(np.mean(np.abs(a - b)))  # noqa: E731
    d = u.paired_bootstrap_difference(mae, y, good, bad)
    assert d.high < 0  # good has the lower error
    tie = u.paired_bootstrap_difference(mae, y, good, good + 0.0)
    assert tie.estimate == 0.0 and not tie.excludes(0.0)


def test_corrected_t_reduces_to_the_plain_t_interval_without_overlap():
    scores = [0.81, 0.78, 0.84, 0.80, 0.79]
    # n_test / n_train -> 0: the correction vanishes and the interval is the textbook t interval.
    ours = u.corrected_resampled_t_interval(scores, n_train=10**9, n_test=1)
    ref = stats.t.interval(0.95, len(scores) - 1, loc=np.mean(scores), scale=stats.sem(scores))
    assert ours.low == pytest.approx(ref[0], abs=1e-6)
    assert ours.high == pytest.approx(ref[1], abs=1e-6)


def test_corrected_t_widens_by_the_nadeau_bengio_factor():
    scores = np.array([0.81, 0.78, 0.84, 0.80, 0.79, 0.83, 0.77, 0.82, 0.80, 0.81])
    plain = u.corrected_resampled_t_interval(scores, n_train=10**9, n_test=1)
    corrected = u.corrected_resampled_t_interval(scores, n_train=900, n_test=100)  # 10-fold on 1000
    factor = math.sqrt((1 / 10 + 100 / 900) / (1 / 10))
    assert corrected.width == pytest.approx(plain.width * factor, rel=1e-6)
    assert corrected.estimate == pytest.approx(scores.mean())


def test_corrected_paired_t_test():
    a = np.array([0.82, 0.80, 0.85, 0.81, 0.83])
    b = a - np.array([0.01, 0.02, 0.015, 0.01, 0.02])
    r = u.corrected_paired_t_test(a, b, n_train=400, n_test=100)
    d = a - b
    se = math.sqrt((1 / 5 + 100 / 400) * d.var(ddof=1))
    assert r.t == pytest.approx(d.mean() / se)
    assert r.p_value == pytest.approx(2 * stats.t.sf(abs(d.mean() / se), 4))
    assert r.difference.excludes(0.0) == (r.p_value < 0.05)
    same = u.corrected_paired_t_test(a, a, n_train=400, n_test=100)
    assert same.p_value == 1.0 and same.t == 0.0


def test_interval_prints_and_serialises():
    iv = u.wilson_interval(25, 200)
    assert str(iv) == "0.125 (95% CI 0.0861 to 0.178, n=200)"
    assert iv.to_dict() == {"estimate": 0.125, "low": iv.low, "high": iv.high, "n": 200,
                            "confidence": 0.95, "method": "wilson"}
    import json

    assert json.loads(json.dumps(u.mcnemar_test([1, 0, 1], [1, 1, 0]).to_dict()))["p_value"] == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: u.wilson_interval(5, 0), r"`wilson_interval` expects `n` to be an integer >= 1. Received: n=0"),
        (lambda: u.wilson_interval(6, 5), r"expects `errors` <= `n`. Received: errors=6, n=5"),
        (lambda: u.wilson_interval(1.5, 5), r"`errors` to be an integer >= 0. Received: errors=1.5"),
        (lambda: u.wilson_interval(1, 5, confidence=95), r"`confidence` to be a number in \(0, 1\).*Received: confidence=95"),
        (lambda: u.samples_needed(0.1, 0.1), r"two different rates"),
        (lambda: u.samples_needed(0.1, 1.2), r"`p_b` to be a rate in \[0, 1\]. Received: p_b=1.2"),
        (lambda: u.mcnemar_test([1, 0], [1]), r"same length. Received lengths 2 and 1"),
        (lambda: u.mcnemar_test([1, 2], [1, 0]), r"`correct_a` to hold booleans"),
        (lambda: u.corrected_resampled_t_interval([0.8], 90, 10), r"at least 2 folds. Received 1"),
        (lambda: u.corrected_resampled_t_interval([0.8, float("nan")], 90, 10), r"`scores` to be finite"),
        (lambda: u.corrected_paired_t_test([0.8, 0.7], [0.8], 90, 10), r"Received 2 and 1 scores"),
        (lambda: u.bootstrap_interval(np.mean, [1.0, 2.0], [1.0]), r"same number of rows. Received lengths \[2, 1\]"),
        (lambda: u.bootstrap_interval(np.mean, [1.0, 2.0], n_resamples=10), r"`n_resamples` to be an integer >= 100"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
