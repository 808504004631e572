"""Error rates: Wilson's interval, Newcombe's difference of two independent rates, samples needed at a given power."""

from __future__ import annotations

import math
import numbers
from statistics import NormalDist

from lamina.workflow.uncertainty.interval import Interval, _confidence, _count, _z


# ----------------------------------------------------------------------------- proportions
def _wilson_bounds(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At k = 0 or k = n the bound is exactly 0 or 1 (rounding could leave 1e-17).
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def wilson_interval(errors: int, n: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval of a proportion, e.g. a classification error rate.

    Args:
        errors: Number of errors (successes of the proportion), 0 <= errors <= n.
        n: Number of examples, >= 1.
        confidence: Confidence level. Defaults to 0.95.

    Returns:
        An `Interval` around ``errors / n``.
    """
    owner = "wilson_interval"
    n = _count(owner, "n", n, low=1)
    errors = _count(owner, "errors", errors)
    if errors > n:
        raise ValueError(f"`{owner}` expects `errors` <= `n`. Received: errors={errors}, n={n}.")
    confidence = _confidence(owner, confidence)
    low, high = _wilson_bounds(errors, n, _z(confidence))
    return Interval(errors / n, low, high, n, confidence, "wilson")


def difference_interval(
    errors_a: int, n_a: int, errors_b: int, n_b: int, confidence: float = 0.95
) -> Interval:
    """The interval of ``errors_a / n_a - errors_b / n_b`` for two independent sets
    (Newcombe's hybrid score interval, built from the two Wilson intervals; it
    behaves well for small sets and rates near 0, where the normal approximation
    does not).

    Args:
        errors_a: Errors on the first set.
        n_a: Size of the first set.
        errors_b: Errors on the second set.
        n_b: Size of the second set.
        confidence: Confidence level. Defaults to 0.95.
    """
    owner = "difference_interval"
    confidence = _confidence(owner, confidence)
    a = wilson_interval(errors_a, n_a, confidence)
    b = wilson_interval(errors_b, n_b, confidence)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, low, high, min(a.n or 0, b.n or 0), confidence, "newcombe")


def samples_needed(p_a: float, p_b: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Examples needed in EACH of two sets to detect error rates ``p_a`` vs ``p_b``
    with a two-sided test at level ``alpha`` and the given ``power`` (the normal
    approximation for two independent proportions, without continuity correction).

    Args:
        p_a: Error rate of the first set, in [0, 1].
        p_b: Error rate of the second set, in [0, 1], different from ``p_a``.
        power: Probability of detecting the difference. Defaults to 0.8.
        alpha: Significance level. Defaults to 0.05.

    Returns:
        The number of examples per set (rounded up).
    """
    owner = "samples_needed"
    for name, value in (("p_a", p_a), ("p_b", p_b)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not 0.0 <= float(value) <= 1.0
        ):
            raise ValueError(
                f"`{owner}` expects `{name}` to be a rate in [0, 1]. Received: {name}={value!r}."
            )
    if p_a == p_b:
        raise ValueError(
            f"`{owner}` needs two different rates: no sample size tells equal rates apart. Received: "
            f"p_a={p_a!r}, p_b={p_b!r}."
        )
    for name, value in (("power", power), ("alpha", alpha)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not 0.0 < float(value) < 1.0
        ):
            raise ValueError(
                f"`{owner}` expects `{name}` to be in (0, 1). Received: {name}={value!r}."
            )
    z_alpha = NormalDist().inv_cdf(1 - alpha / 2)
    z_beta = NormalDist().inv_cdf(power)
    p_bar = (p_a + p_b) / 2
    root = z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_beta * math.sqrt(
        p_a * (1 - p_a) + p_b * (1 - p_b)
    )
    return int(math.ceil(root * root / (p_a - p_b) ** 2 - 1e-9))
