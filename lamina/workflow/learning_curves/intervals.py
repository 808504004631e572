"""How sure each point and the slope of a learning curve are.

Two sources of noise move a measured error: the **examples** it is measured on
(another dev set of the same size would give another error) and the **seed**
(another initialisation and another random training subset give another
model). Each point's interval combines both, in quadrature, as Newcombe's
interval combines two Wilson intervals:

* sampling: the Wilson score interval of the mean error rate over the seeds,
  with ``n`` the examples it is measured on (the dev set, or the training
  subset); for a regression metric, the seeded percentile bootstrap over the
  examples, its half-widths averaged over the seeds;
* seeds: ``t(S - 1) × sd / sqrt(S)``, the t interval of the mean of ``S``
  per-seed errors (0 with one seed, when the spread is unknown).

The slope of the dev error against ``log2(size)`` is a weighted least-squares
fit over the last few sizes, each size weighted by ``1 / v`` with ``v`` the
variance of its mean: the sampling part (``(half-width / z)²``) plus the seed
part (``sd² / S``). Its standard error is ``1 / sqrt(Σ w (x - x̄)²)``, scaled
up by ``sqrt(χ² / (k - 2))`` when the points scatter more than their variances
allow (a bending curve). The interval is ``slope ± t se``, with the degrees of
freedom of Welch–Satterthwaite (the seed variances are estimated from few
seeds; the sampling variances are taken as known): with one seed it is ``z``.
Sizes share one dev set, so their sampling noise is positively correlated;
treating them as independent overstates the slope's noise (conservative).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from lamina.workflow.uncertainty import Interval

__all__ = [
    "NO_NOISE",
    "point_interval",
    "rate_bounds",
    "seed_half_width",
    "slope_interval",
    "variance_components",
]

#: Method of a slope interval when nothing measured the noise (one seed, no sample size).
NO_NOISE = "unknown: one seed and no sample size"


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def rate_bounds(rate: float, n: int, confidence: float) -> tuple[float, float]:
    """The Wilson score bounds of an error rate ``rate`` measured on ``n`` examples
    (``rate × n`` need not be an integer: it is a mean over seeds)."""
    z = _z(confidence)
    p = min(max(rate, 0.0), 1.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if p <= 0.0 else max(0.0, centre - half)
    high = 1.0 if p >= 1.0 else min(1.0, centre + half)
    return min(low, p), max(high, p)


def seed_half_width(values: Sequence[float], confidence: float) -> float:
    """``t(S - 1) × sd / sqrt(S)`` of the per-seed values (0 for one seed)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        return 0.0
    from scipy import stats

    q = float(stats.t.ppf(0.5 + confidence / 2.0, arr.size - 1))
    return q * float(arr.std(ddof=1)) / math.sqrt(arr.size)


def point_interval(
    per_seed: Sequence[float],
    n: int,
    confidence: float,
    *,
    rate: bool,
    sampling: tuple[float, float] | None = None,
) -> Interval:
    """The interval of one point of the curve: the mean of the per-seed errors, its
    sampling half-widths and its seed half-width combined in quadrature.

    Args:
        per_seed: The error of each seed's model.
        n: Examples the errors are measured on (0 when unknown).
        confidence: Confidence level.
        rate: True for an error rate (Wilson bounds, clipped to [0, 1]).
        sampling: The sampling half-widths ``(below, above)`` when known (the
            bootstrap of a regression metric); None: Wilson for a rate with
            ``n > 0``, else unknown (0).
    """
    values = np.asarray(per_seed, dtype=np.float64)
    mean = float(values.mean())
    if sampling is None and rate and n > 0:
        low, high = rate_bounds(mean, n, confidence)
        sampling, how = (mean - low, high - mean), "wilson"
    elif sampling is not None:
        how = "bootstrap" if not rate else "wilson"
    else:
        sampling, how = (0.0, 0.0), "sampling noise unknown"
    b = seed_half_width(values, confidence)
    low = mean - math.hypot(sampling[0], b)
    high = mean + math.hypot(sampling[1], b)
    low = max(low, 0.0)
    high = min(high, 1.0) if rate else high
    method = f"{how} + seed spread (t, {values.size} seeds)" if values.size > 1 else how
    return Interval(mean, low, high, int(n) if n else None, confidence, method)


def variance_components(interval: Interval, per_seed: Sequence[float]) -> tuple[float, float, int]:
    """``(sampling variance, seed variance of the mean, seeds)`` of one point.

    The seed part is ``sd² / S``; the sampling part is read back from the
    interval, whose half-widths are ``hypot(sampling, t sd / sqrt(S))``.
    """
    z = _z(interval.confidence)
    b = seed_half_width(per_seed, interval.confidence)
    below = math.sqrt(max(0.0, (interval.estimate - interval.low) ** 2 - b * b))
    above = math.sqrt(max(0.0, (interval.high - interval.estimate) ** 2 - b * b))
    values = np.asarray(per_seed, dtype=np.float64)
    seed_var = float(values.var(ddof=1)) / values.size if values.size > 1 else 0.0
    return ((below + above) / (2 * z)) ** 2, seed_var, int(values.size)


def slope_interval(
    sizes: Sequence[int],
    intervals: Sequence[Interval],
    per_seed: Sequence[Sequence[float]],
    confidence: float,
) -> Interval:
    """The slope of the points' estimates against ``log2(size)`` by weighted least
    squares, with its interval (see the module docstring).

    Args:
        sizes: The training-set sizes (at least two, distinct).
        intervals: The dev-error interval of each size.
        per_seed: The dev error of each seed's model, per size.
        confidence: Confidence level of the slope interval.

    Returns:
        An `Interval` of the change in error per doubling of the data (negative:
        falling); its ``n`` is the number of models behind it. Its method is
        `NO_NOISE` when nothing measured the noise (every variance is 0).
    """
    x = np.log2(np.asarray(sizes, dtype=np.float64))
    y = np.array([iv.estimate for iv in intervals], dtype=np.float64)
    parts = [variance_components(iv, row) for iv, row in zip(intervals, per_seed)]
    v_samp, v_seed = np.array([p[0] for p in parts]), np.array([p[1] for p in parts])
    n_fits, k = sum(p[2] for p in parts), len(x)
    var = v_samp + v_seed
    if not np.any(var > 0):
        slope = float(np.polyfit(x, y, 1)[0])
        return Interval(slope, slope, slope, n_fits, confidence, NO_NOISE)
    var = np.where(var > 0, var, var[var > 0].min())
    w = 1.0 / var
    x_bar, y_bar = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    sxx = float(np.sum(w * (x - x_bar) ** 2))
    c = w * (x - x_bar) / sxx  # slope = sum(c * y)
    slope = float(np.sum(c * y))
    se_slope = math.sqrt(float(np.sum(c * c * var)))
    # Satterthwaite: the seed variances are estimated with S - 1 degrees of freedom each.
    seed_terms = [
        (ci * ci * vs) ** 2 / (p[2] - 1) for ci, vs, p in zip(c, v_seed, parts) if p[2] > 1
    ]
    dof = se_slope**4 / sum(seed_terms) if sum(seed_terms) > 0 else math.inf
    if k > 2:
        residuals = y - (y_bar + slope * (x - x_bar))
        se_slope *= max(1.0, math.sqrt(float(np.sum(w * residuals**2)) / (k - 2)))
    from scipy import stats

    q = _z(confidence) if math.isinf(dof) else float(stats.t.ppf(0.5 + confidence / 2.0, dof))
    method = f"weighted least squares on log2(size), last {k} sizes, t with {dof:.3g} dof"
    return Interval(slope, slope - q * se_slope, slope + q * se_slope, n_fits, confidence, method)
