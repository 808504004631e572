"""The drift statistics: PSI, two-sample KS and chi-squared tests, Benjamini–Hochberg.

Pure functions on NumPy arrays; `DriftMonitor` applies them to its window.

* **PSI** (population stability index) on a feature's reference bins:
  ``sum((live - ref) * ln(live / ref))`` over the bins, fractions floored at
  ``1e-4`` so an empty bin does not give an infinite value.
* **KS** for numeric features: the window's empirical CDF against the
  reference CDF, rebuilt from the reference's stored quantiles (linear between
  them). The reference is itself a finite sample of ``n_ref`` rows, so the
  p-value is the *two-sample* one (as `scipy.stats.ks_2samp(method="asymp")`):
  the Kolmogorov distribution at ``n = n_ref * n_live / (n_ref + n_live)``
  (Stephens's approximation, see `ks_p_value`).
  Treating the stored quantiles as the true CDF (``n = n_live``) would raise
  false alarms far more often than ``alpha``.
* **Chi-squared** for categorical features: a 2 x k contingency table of the
  reference counts and the window counts (again two-sample), with the
  categories whose expected count is below 5 pooled until the pooled cell has 5
  (Fisher's exact test for a 2 x 2 table that stays sparse).
* **Benjamini–Hochberg** adjusted p-values across the features and predictions.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

PSI_FLOOR = 1e-4
MIN_EXPECTED = 5.0


def bin_fractions(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fractions of ``values`` in the ``len(edges) + 1`` bins cut at ``edges``
    (a value equal to an edge falls in the bin above it).

    Example:
        >>> bin_fractions(np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.5])).tolist()
        [0.5, 0.5]
    """
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(reference: np.ndarray, live: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index between two vectors of bin fractions.

    Args:
        reference: Fractions per bin in the reference (sum to 1).
        live: Fractions per bin in the live window (sum to 1).
        floor: Smallest fraction used, so empty bins stay finite. Defaults to `1e-4`.

    Example:
        >>> round(psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])), 6)
        0.0
    """
    ref = np.maximum(np.asarray(reference, dtype=np.float64), floor)
    cur = np.maximum(np.asarray(live, dtype=np.float64), floor)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def reference_cdf(x: np.ndarray, quantiles: np.ndarray, side: str = "right") -> np.ndarray:
    """The reference CDF at ``x``, linear between the stored quantiles.

    ``quantiles[k]`` is the ``k / Q`` quantile (``Q = len(quantiles) - 1``); tied
    quantiles (a point mass) make a jump. ``side="right"`` gives ``P(X <= x)``,
    ``side="left"`` the limit from the left, ``P(X < x)``.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    steps = len(q) - 1
    if steps == 0:
        return (x >= q[0]).astype(np.float64) if side == "right" else (x > q[0]).astype(np.float64)
    k = np.searchsorted(q, x, side=side)  # quantile points <= x (right) or < x (left)
    inside = (k > 0) & (k <= steps)
    lo = q[np.clip(k - 1, 0, steps)]
    hi = q[np.clip(k, 0, steps)]
    width = np.where(hi > lo, hi - lo, 1.0)
    frac = np.clip((x - lo) / width, 0.0, 1.0)
    cdf = np.where(k > steps, 1.0, 0.0)
    return np.where(inside, (k - 1 + frac) / steps, cdf)


def ks_against_quantiles(values: np.ndarray, quantiles: np.ndarray, n_reference: int) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov test of ``values`` against a reference sample
    of ``n_reference`` rows summarised by its quantiles.

    Returns:
        ``(statistic, p_value)``; the statistic is ``sup |F_live - F_ref|``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> ref = np.quantile(rng.normal(size=2000), np.linspace(0, 1, 201))
        >>> d, p = ks_against_quantiles(rng.normal(size=500), ref, 2000)
        >>> p > 0.01
        True
    """
    w = np.sort(np.asarray(values, dtype=np.float64))
    n = len(w)
    if n == 0:
        return 0.0, 1.0
    live_right = np.searchsorted(w, w, side="right") / n
    live_left = np.searchsorted(w, w, side="left") / n
    d_right = np.abs(live_right - reference_cdf(w, quantiles, "right"))
    d_left = np.abs(live_left - reference_cdf(w, quantiles, "left"))
    d = float(max(d_right.max(), d_left.max()))
    return d, ks_p_value(d, n_reference, n)


def ks_p_value(statistic: float, n_reference: int, n_live: int) -> float:
    """Two-sided two-sample KS p-value: the Kolmogorov distribution at the effective
    size ``en = n_reference * n_live / (n_reference + n_live)``, with Stephens's
    finite-size correction ``(sqrt(en) + 0.12 + 0.11 / sqrt(en)) * statistic``
    (within about 1 % of `scipy.stats.kstwo` at ``en``, and a fast ufunc).

    Example:
        >>> round(ks_p_value(0.1, 2000, 500), 4)
        0.0006
    """
    en = n_reference * n_live / (n_reference + n_live)
    root = np.sqrt(en)
    return float(np.clip(special.kolmogorov((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0))


def chi2_two_sample(reference_counts: np.ndarray, live_counts: np.ndarray) -> tuple[float, float]:
    """Chi-squared test of homogeneity between reference and live category counts.

    Categories whose expected count in the smaller sample is below 5 are pooled
    into one column; while that column's expected count is still below 5, the
    next rarest category joins it (a sparse pooled cell makes the chi-squared
    approximation reject far more often than its nominal level), but the most
    frequent category always stays apart. A 2 x 2 table that still has an
    expected count below 5 (a value the reference never had, now in a few rows)
    gets Fisher's exact p-value. Empty columns are dropped; fewer than two
    columns gives ``(0, 1)``.

    Returns:
        ``(statistic, p_value)``; the statistic is the chi-squared one of the pooled table.

    Example:
        >>> stat, p = chi2_two_sample(np.array([500, 500]), np.array([50, 50]))
        >>> (round(stat, 6), round(p, 6))
        (0.0, 1.0)
    """
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(live_counts, dtype=np.float64)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    if len(ref) < 2 or ref.sum() == 0 or cur.sum() == 0:
        return 0.0, 1.0
    total = ref + cur
    expected = total * min(ref.sum(), cur.sum()) / total.sum()  # in the smaller sample
    order = np.argsort(expected, kind="stable")
    n_small = int(np.sum(expected < MIN_EXPECTED))
    if n_small:
        reach = int(np.searchsorted(np.cumsum(expected[order]), MIN_EXPECTED, side="left")) + 1
        pooled = order[: min(max(n_small, reach), len(ref) - 1)]
        rest = np.setdiff1d(np.arange(len(ref)), pooled)
        ref = np.append(ref[rest], ref[pooled].sum())
        cur = np.append(cur[rest], cur[pooled].sum())
    table = np.stack([ref, cur])
    result = stats.chi2_contingency(table, correction=False)
    if table.shape[1] == 2 and result.expected_freq.min() < MIN_EXPECTED:
        return float(result.statistic), float(stats.fisher_exact(table.astype(np.int64)).pvalue)
    return float(result.statistic), float(result.pvalue)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (the false discovery rate at which
    each test would just be rejected), in the input order.

    Example:
        >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03])).round(3).tolist()
        [0.03, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.clip(ranked, 0.0, 1.0)
    return adjusted
