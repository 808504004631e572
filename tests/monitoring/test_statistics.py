"""The drift statistics against direct NumPy / SciPy computations."""

import numpy as np
import pytest
from scipy import stats

from lamina.monitoring import statistics as st


def test_psi_matches_direct_formula():
    rng = np.random.default_rng(0)
    ref = rng.dirichlet(np.ones(10))
    live = rng.dirichlet(np.ones(10))
    live[3] = 0.0  # an empty bin is floored, not infinite
    live = live / live.sum()
    r, c = np.maximum(ref, 1e-4), np.maximum(live, 1e-4)
    expected = sum((ci - ri) * np.log(ci / ri) for ri, ci in zip(r, c))
    assert st.psi(ref, live) == pytest.approx(expected, rel=1e-12)
    assert st.psi(ref, ref) == 0.0


def test_bin_fractions_match_histogram():
    rng = np.random.default_rng(1)
    values = rng.normal(size=1000)
    edges = np.quantile(values, np.linspace(0.1, 0.9, 9))
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    # np.histogram's bins are [a, b); a value equal to an edge goes to the bin above, as here
    expected = np.array([np.sum((values >= a) & (values < b)) for a, b in zip(full, full[1:])]) / 1000
    np.testing.assert_allclose(st.bin_fractions(values, edges), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_benjamini_hochberg_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(size=12), rng.uniform(0, 0.01, size=4), [0.5, 0.5]])
    np.testing.assert_allclose(st.benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


def test_benjamini_hochberg_by_hand():
    # sorted p = .01 .03 .04 -> .03, .045, .04 -> running minimum from the top: .03 .04 .04
    np.testing.assert_allclose(st.benjamini_hochberg(np.array([0.04, 0.01, 0.03])), [0.04, 0.03, 0.04])


@pytest.mark.parametrize("shift", [0.0, 0.15, 0.5])
def test_ks_against_all_quantiles_matches_ks_2samp(shift):
    rng = np.random.default_rng(3)
    ref = rng.normal(size=400)
    live = rng.normal(loc=shift, size=300)
    # With every reference value stored, the stored-quantile CDF is the reference
    # ECDF up to 1/n_ref (it is linear between the sorted values).
    quantiles = np.sort(ref)
    d, p = st.ks_against_quantiles(live, quantiles, len(ref))
    expected = stats.ks_2samp(live, ref, method="asymp")
    assert abs(d - expected.statistic) <= 1.0 / len(ref) + 1e-12
    assert p == pytest.approx(stats.kstwo.sf(d, round(400 * 300 / 700)), rel=0.05, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, abs=0.03)


@pytest.mark.parametrize("n_ref, n_live", [(2000, 500), (300, 500), (5000, 200)])
def test_ks_p_value_matches_kstwo_at_the_effective_size(n_ref, n_live):
    en = round(n_ref * n_live / (n_ref + n_live))
    for d in np.linspace(0.02, 0.25, 12):
        expected = stats.kstwo.sf(d, en)
        assert st.ks_p_value(d, n_ref, n_live) == pytest.approx(expected, rel=0.06, abs=1e-4)


def test_ks_handles_point_masses():
    # A feature that is 0 in half the rows (a point mass) and the same in the window: no drift.
    rng = np.random.default_rng(4)
    ref = np.where(rng.uniform(size=2000) < 0.5, 0.0, rng.exponential(size=2000))
    live = np.where(rng.uniform(size=500) < 0.5, 0.0, rng.exponential(size=500))
    quantiles = np.quantile(ref, np.linspace(0, 1, 201))
    d, p = st.ks_against_quantiles(live, quantiles, 2000)
    assert d < 0.08 and p > 0.01
    assert st.reference_cdf(np.array([0.0]), quantiles, "left")[0] == 0.0
    assert st.reference_cdf(np.array([0.0]), quantiles, "right")[0] == pytest.approx(np.mean(ref <= 0), abs=0.006)


def test_chi2_two_sample_matches_contingency_table():
    ref = np.array([500, 300, 150, 50])
    live = np.array([40, 40, 15, 5])
    stat, p = st.chi2_two_sample(ref, live)
    expected = stats.chi2_contingency(np.stack([ref, live]), correction=False)
    assert stat == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue)


def test_chi2_pools_rare_categories():
    ref = np.array([900, 90, 5, 5])
    live = np.array([90, 9, 1, 0])  # expected live counts 9.9, 1 and 0.45: the last two pooled (1.45),
    stat, p = st.chi2_two_sample(ref, live)  # still < 5, so the next rarest joins them
    expected = stats.chi2_contingency(np.array([[900, 100], [90, 10]]), correction=False)
    assert stat == pytest.approx(expected.statistic)
    assert p == pytest.approx(expected.pvalue)
    ref, live = np.array([600, 300, 60, 30, 10]), np.array([60, 30, 6, 3, 1])
    stat, p = st.chi2_two_sample(ref, live)  # 3.3 + 1.1 < 5, + 6.6: three cells pooled
    expected = stats.chi2_contingency(np.array([[600, 300, 100], [60, 30, 10]]), correction=False)
    assert stat == pytest.approx(expected.statistic) and p == pytest.approx(expected.pvalue)
    assert st.chi2_two_sample(np.array([10, 0]), np.array([5, 0])) == (0.0, 1.0)
    stat, p = st.chi2_two_sample(np.array([990, 10]), np.array([99, 1]))  # a sparse 2 x 2: Fisher
    assert p == pytest.approx(stats.fisher_exact([[990, 10], [99, 1]]).pvalue)


def test_chi2_new_value_in_a_constant_feature():
    """A feature constant in the reference: a new value in 9 of 300 rows is drift
    (Fisher's exact test on the sparse 2 x 2 table), in 1 row it is not."""
    stat, p = st.chi2_two_sample(np.array([1200, 0]), np.array([291, 9]))
    assert p == pytest.approx(stats.fisher_exact([[1200, 0], [291, 9]]).pvalue) and p < 1e-5
    assert stat == pytest.approx(stats.chi2_contingency([[1200, 0], [291, 9]], correction=False).statistic)
    assert st.chi2_two_sample(np.array([1200, 0]), np.array([299, 1]))[1] == pytest.approx(0.2)


def test_chi2_false_alarm_rate_on_sparse_counts():
    """Poisson(0.3) counts (rare values 2, 3, 4...): the pooled test rejects a true
    null at about its level, over fresh reference and live samples."""
    rng = np.random.default_rng(0)
    n_trials, rejected = 2000, 0
    for _ in range(n_trials):
        ref = np.bincount(rng.poisson(0.3, 2000), minlength=12)[:12]
        live = np.bincount(rng.poisson(0.3, 300), minlength=12)[:12]
        rejected += st.chi2_two_sample(ref, live)[1] < 0.05
    assert 0.03 <= rejected / n_trials <= 0.07
