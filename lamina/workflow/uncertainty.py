"""How sure a workflow number is: intervals, paired comparisons and sample sizes.

The building blocks the workflow uses to put an interval on every number it
reports and to draw verdicts only from differences that sampling noise cannot
explain (issue #14):

* `wilson_interval`: a classification error rate (or any proportion), with the
  Wilson score interval, which keeps its coverage for small sets and rates near
  0 or 1 where the textbook normal interval does not;
* `bootstrap_interval`: any other statistic (a regression metric), with a
  seeded percentile bootstrap;
* `difference_interval`: the difference of two error rates measured on two
  independent sets (Newcombe's hybrid score interval), the gap of a diagnosis;
* `mcnemar_test` and `paired_bootstrap_difference`: two models compared on the
  same examples;
* `corrected_resampled_t_interval` / `corrected_paired_t_test`: K-fold scores,
  whose training sets overlap (Nadeau and Bengio's correction);
* `samples_needed`: how many examples each set needs to tell two error rates
  apart (80 % power by default).

Every function returns an `Interval` (or a result holding one) that prints as
``0.125 (95% CI 0.091 to 0.168, n=200)`` and says whether it `excludes` a value.

Example:
    >>> from lamina.workflow import uncertainty
    >>> print(uncertainty.wilson_interval(errors=3, n=30))
    0.1 (95% CI 0.0346 to 0.256, n=30)
    >>> uncertainty.samples_needed(0.10, 0.20)
    199
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = [
    "Interval",
    "McNemarResult",
    "PairedTTestResult",
    "bootstrap_interval",
    "bootstrap_mean_difference",
    "bootstrap_mean_interval",
    "corrected_paired_t_test",
    "corrected_resampled_t_interval",
    "difference_interval",
    "mcnemar_test",
    "paired_bootstrap_difference",
    "samples_needed",
    "wilson_interval",
]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval.

    Attributes:
        estimate: The point estimate.
        low: Lower bound of the interval.
        high: Upper bound of the interval.
        n: The sample size behind it (for a difference, the smaller of the two
            sets), or None.
        confidence: The confidence level, e.g. 0.95.
        method: How the interval was computed.
    """

    estimate: float
    low: float
    high: float
    n: int | None
    confidence: float
    method: str

    def excludes(self, value: float = 0.0, tolerance: float = 0.0) -> bool:
        """True when the whole interval lies more than ``tolerance`` away from
        ``value`` (a gap is *established* when its interval excludes 0)."""
        return self.low > value + tolerance or self.high < value - tolerance

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def to_dict(self) -> dict[str, Any]:
        """The numbers as a JSON-able dict."""
        return {
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "confidence": self.confidence,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interval:
        """The `Interval` written by `to_dict` (a report read back)."""
        missing = [k for k in ("estimate", "low", "high", "confidence", "method") if k not in data]
        if missing:
            raise ValueError(f"`Interval.from_dict` expects the keys of `to_dict()`. Missing: {missing}.")
        n = data.get("n")
        return cls(
            float(data["estimate"]),
            float(data["low"]),
            float(data["high"]),
            None if n is None else int(n),
            float(data["confidence"]),
            str(data["method"]),
        )

    def __str__(self) -> str:
        level = f"{self.confidence * 100:g}%"
        size = "" if self.n is None else f", n={self.n}"
        return f"{self.estimate:.3g} ({level} CI {self.low:.3g} to {self.high:.3g}{size})"


# ----------------------------------------------------------------------------- argument checks
def _count(owner: str, name: str, value: Any, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"`{owner}` expects `{name}` to be an integer >= {low}. Received: {name}={value!r}.")
    return int(value)


def _confidence(owner: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < 1.0:
        raise ValueError(
            f"`{owner}` expects `confidence` to be a number in (0, 1), e.g. 0.95. Received: confidence={value!r}."
        )
    return float(value)


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _finite_1d(owner: str, name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"`{owner}` expects `{name}` to hold at least one value. Received an empty array.")
    if not np.isfinite(arr).all():
        raise ValueError(
            f"`{owner}` expects `{name}` to be finite. Received {int((~np.isfinite(arr)).sum())} NaN or "
            "infinite value(s)."
        )
    return arr


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
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"`{owner}` expects `{name}` to be a rate in [0, 1]. Received: {name}={value!r}.")
    if p_a == p_b:
        raise ValueError(
            f"`{owner}` needs two different rates: no sample size tells equal rates apart. Received: "
            f"p_a={p_a!r}, p_b={p_b!r}."
        )
    for name, value in (("power", power), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < 1.0:
            raise ValueError(f"`{owner}` expects `{name}` to be in (0, 1). Received: {name}={value!r}.")
    z_alpha = NormalDist().inv_cdf(1 - alpha / 2)
    z_beta = NormalDist().inv_cdf(power)
    p_bar = (p_a + p_b) / 2
    root = z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_beta * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    return int(math.ceil(root * root / (p_a - p_b) ** 2 - 1e-9))


# ----------------------------------------------------------------------------- bootstrap
def _percentiles(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _resamples(owner: str, n_resamples: Any) -> int:
    return _count(owner, "n_resamples", n_resamples, low=100)


def bootstrap_interval(
    statistic: Callable[..., float],
    *arrays: Any,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """A seeded percentile-bootstrap interval of ``statistic(*arrays)``.

    The examples (rows of every array together) are resampled with replacement
    ``n_resamples`` times.

    Args:
        statistic: A function of the arrays returning a number, e.g.
            ``lambda y, p: np.mean(np.abs(y - p))``.
        *arrays: One or more arrays with the same number of rows.
        n_resamples: Number of bootstrap resamples (>= 100). Defaults to 2000.
        confidence: Confidence level. Defaults to 0.95.
        seed: Seed of the resampling. Defaults to 0.
    """
    owner = "bootstrap_interval"
    if not callable(statistic):
        raise TypeError(f"`{owner}` expects `statistic` to be a function of the arrays. Received: {statistic!r}.")
    if not arrays:
        raise ValueError(f"`{owner}` needs at least one array after `statistic`.")
    data = [np.asarray(a) for a in arrays]
    sizes = {len(a) for a in data}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(
            f"`{owner}` expects non-empty arrays with the same number of rows. Received lengths "
            f"{[len(a) for a in data]}."
        )
    n = sizes.pop()
    n_resamples = _resamples(owner, n_resamples)
    confidence = _confidence(owner, confidence)
    rng = np.random.default_rng(seed)
    estimate = float(statistic(*data))
    samples = np.empty(n_resamples)
    for i in range(n_resamples):
        idx = rng.integers(0, n, n)
        samples[i] = float(statistic(*(a[idx] for a in data)))
    low, high = _percentiles(samples, confidence)
    return Interval(estimate, low, high, n, confidence, "percentile bootstrap")


def _resampled_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``n_resamples`` bootstrap means of ``values``, drawn in chunks of ~4M indices."""
    n = len(values)
    out = np.empty(n_resamples)
    chunk = max(1, min(n_resamples, 4_000_000 // max(n, 1)))
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, n, (stop - start, n))
        out[start:stop] = values[idx].mean(axis=1)
    return out


def _mean_statistic(owner: str, statistic: str) -> Callable[[np.ndarray], np.ndarray]:
    if statistic == "mean":
        return lambda m: m
    if statistic == "root_mean":
        return lambda m: np.sqrt(np.maximum(m, 0.0))
    raise ValueError(
        f"`{owner}` expects `statistic` to be 'mean' or 'root_mean' (the RMSE of squared errors). "
        f"Received: statistic={statistic!r}."
    )


def bootstrap_mean_interval(
    values: Any,
    *,
    statistic: str = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """A seeded percentile-bootstrap interval of the mean of per-example values
    (the MAE from absolute errors), or of its square root (``statistic="root_mean"``:
    the RMSE from squared errors). The same numbers as `bootstrap_interval` with
    ``np.mean``, computed without a Python loop.

    Args:
        values: One number per example.
        statistic: ``"mean"`` or ``"root_mean"``. Defaults to ``"mean"``.
        n_resamples: Number of resamples (>= 100). Defaults to 2000.
        confidence: Confidence level. Defaults to 0.95.
        seed: Seed of the resampling. Defaults to 0.
    """
    owner = "bootstrap_mean_interval"
    arr = _finite_1d(owner, "values", values)
    f = _mean_statistic(owner, statistic)
    n_resamples = _resamples(owner, n_resamples)
    confidence = _confidence(owner, confidence)
    samples = f(_resampled_means(arr, n_resamples, np.random.default_rng(seed)))
    low, high = _percentiles(samples, confidence)
    estimate = float(f(np.array(arr.mean())))
    return Interval(estimate, low, high, len(arr), confidence, "percentile bootstrap")


def bootstrap_mean_difference(
    values_a: Any,
    values_b: Any,
    *,
    paired: bool = False,
    statistic: str = "mean",
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """The interval of ``mean(values_a) - mean(values_b)`` (or of the difference of
    their square roots with ``statistic="root_mean"``) by a seeded percentile bootstrap.

    Two independent sets (``paired=False``, the gap between two splits of a
    diagnosis) are resampled separately; paired values (``paired=True``: two
    models' errors on the same examples) are resampled together.

    Args:
        values_a: Per-example values of the first set (absolute or squared errors).
        values_b: Per-example values of the second set.
        paired: Whether row ``i`` of both arrays is the same example. Defaults to False.
        statistic: ``"mean"`` or ``"root_mean"``. Defaults to ``"mean"``.
        n_resamples: Number of resamples (>= 100). Defaults to 2000.
        confidence: Confidence level. Defaults to 0.95.
        seed: Seed of the resampling. Defaults to 0.
    """
    owner = "bootstrap_mean_difference"
    a = _finite_1d(owner, "values_a", values_a)
    b = _finite_1d(owner, "values_b", values_b)
    f = _mean_statistic(owner, statistic)
    n_resamples = _resamples(owner, n_resamples)
    confidence = _confidence(owner, confidence)
    rng = np.random.default_rng(seed)
    if paired:
        if len(a) != len(b):
            raise ValueError(
                f"`{owner}` with paired=True expects one value per example in both arrays. Received "
                f"lengths {len(a)} and {len(b)}."
            )
        stacked = np.stack([a, b], axis=1)
        n = len(a)
        samples = np.empty(n_resamples)
        chunk = max(1, min(n_resamples, 2_000_000 // max(n, 1)))
        for start in range(0, n_resamples, chunk):
            stop = min(n_resamples, start + chunk)
            means = stacked[rng.integers(0, n, (stop - start, n))].mean(axis=1)
            samples[start:stop] = f(means[:, 0]) - f(means[:, 1])
        method = "paired percentile bootstrap"
    else:
        samples = f(_resampled_means(a, n_resamples, rng)) - f(_resampled_means(b, n_resamples, rng))
        method = "percentile bootstrap"
    low, high = _percentiles(samples, confidence)
    estimate = float(f(np.array(a.mean())) - f(np.array(b.mean())))
    return Interval(estimate, low, high, min(len(a), len(b)), confidence, method)


def paired_bootstrap_difference(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """The interval of ``metric(y, pred_a) - metric(y, pred_b)`` with the same
    examples resampled for both models (a paired bootstrap: the comparison of two
    regression models on one test set).

    Args:
        metric: ``metric(y_true, y_pred) -> float``, e.g. the mean absolute error.
        y_true: Targets.
        pred_a: Predictions of the first model.
        pred_b: Predictions of the second model.
        n_resamples: Number of resamples (>= 100). Defaults to 2000.
        confidence: Confidence level. Defaults to 0.95.
        seed: Seed of the resampling. Defaults to 0.
    """
    return bootstrap_interval(
        lambda y, a, b: metric(y, a) - metric(y, b),
        y_true,
        pred_a,
        pred_b,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )


# ----------------------------------------------------------------------------- paired classifiers
@dataclass(frozen=True)
class McNemarResult:
    """Two classifiers compared on the same examples.

    Attributes:
        only_a_correct: Examples the first model gets right and the second wrong.
        only_b_correct: Examples the second model gets right and the first wrong.
        p_value: Two-sided exact (binomial) McNemar p-value.
        difference: Interval of accuracy(a) - accuracy(b) (Wilson-based, for
            paired proportions: Newcombe's method 10).
    """

    only_a_correct: int
    only_b_correct: int
    p_value: float
    difference: Interval

    def distinguishable(self, alpha: float = 0.05) -> bool:
        """True when the two models differ at level ``alpha``."""
        return self.p_value < alpha

    def to_dict(self) -> dict[str, Any]:
        return {
            "only_a_correct": self.only_a_correct,
            "only_b_correct": self.only_b_correct,
            "p_value": self.p_value,
            "difference": self.difference.to_dict(),
        }


def _binom_two_sided_half(k: int, n: int) -> float:
    """Two-sided exact p-value of ``k`` successes in ``n`` trials at p = 1/2."""
    if n == 0:
        return 1.0
    k = min(k, n - k)
    # P(X <= k) for X ~ Binomial(n, 1/2), summed in log space to stay exact for large n.
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return min(1.0, 2.0 * tail)


def mcnemar_test(correct_a: Any, correct_b: Any, confidence: float = 0.95) -> McNemarResult:
    """McNemar's exact test of two classifiers on the same examples.

    Args:
        correct_a: Per-example correctness of the first model (booleans).
        correct_b: Per-example correctness of the second model, same examples.
        confidence: Confidence level of the difference interval. Defaults to 0.95.
    """
    owner = "mcnemar_test"
    a = np.asarray(correct_a).reshape(-1)
    b = np.asarray(correct_b).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            f"`{owner}` expects two non-empty arrays of per-example correctness of the same length. "
            f"Received lengths {a.size} and {b.size}."
        )
    for name, arr in (("correct_a", a), ("correct_b", b)):
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(
                f"`{owner}` expects `{name}` to hold booleans (or 0/1): whether each example was "
                "classified correctly. Received other values."
            )
    a = a.astype(bool)
    b = b.astype(bool)
    confidence = _confidence(owner, confidence)
    n = int(a.size)
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    both = int((a & b).sum())
    p = _binom_two_sided_half(only_a, only_a + only_b)
    # Newcombe (1998) method 10 for paired proportions: Wilson limits of each
    # marginal, corrected by the estimated correlation phi.
    z = _z(confidence)
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    l1, u1 = _wilson_bounds(both + only_a, n, z)
    l2, u2 = _wilson_bounds(both + only_b, n, z)
    neither = n - both - only_a - only_b
    margins = (both + only_a) * (neither + only_b) * (both + only_b) * (neither + only_a)
    phi = 0.0 if margins == 0 else (both * neither - only_a * only_b) / math.sqrt(margins)
    d = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    diff = Interval(d, max(-1.0, d - dl), min(1.0, d + du), n, confidence, "newcombe paired")
    return McNemarResult(only_a, only_b, p, diff)


# ----------------------------------------------------------------------------- K-fold
@dataclass(frozen=True)
class PairedTTestResult:
    """Two models compared across the same folds (corrected resampled t-test).

    Attributes:
        t: The corrected t statistic of the mean difference (a - b).
        p_value: Two-sided p-value (t distribution, folds - 1 degrees of freedom).
        difference: Corrected interval of the mean difference.
    """

    t: float
    p_value: float
    difference: Interval

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "p_value": self.p_value, "difference": self.difference.to_dict()}


def _fold_sizes(owner: str, n_train: Any, n_test: Any) -> float:
    _count(owner, "n_train", n_train, low=1)
    _count(owner, "n_test", n_test, low=1)
    return n_test / n_train


def _corrected(owner: str, scores: np.ndarray, ratio: float, confidence: float, method: str) -> tuple[Interval, float]:
    from scipy import stats

    j = scores.size
    if j < 2:
        raise ValueError(f"`{owner}` needs the scores of at least 2 folds. Received {j}.")
    mean = float(scores.mean())
    var = float(scores.var(ddof=1))
    se = math.sqrt((1.0 / j + ratio) * var)
    q = float(stats.t.ppf(0.5 + confidence / 2, j - 1))
    return Interval(mean, mean - q * se, mean + q * se, j, confidence, method), se


def corrected_resampled_t_interval(
    scores: Sequence[float], n_train: int, n_test: int, confidence: float = 0.95
) -> Interval:
    """The interval of the mean K-fold (or repeated K-fold) score, corrected for the
    overlap of the training sets between folds (Nadeau and Bengio, 2003): the
    variance of the mean is ``(1/J + n_test/n_train) * s^2`` instead of ``s^2/J``,
    with a t distribution on J - 1 degrees of freedom (J = number of scores).

    Args:
        scores: One score per fold.
        n_train: Training examples per fold.
        n_test: Test examples per fold.
        confidence: Confidence level. Defaults to 0.95.
    """
    owner = "corrected_resampled_t_interval"
    ratio = _fold_sizes(owner, n_train, n_test)
    confidence = _confidence(owner, confidence)
    arr = _finite_1d(owner, "scores", scores)
    return _corrected(owner, arr, ratio, confidence, "nadeau-bengio corrected t")[0]


def corrected_paired_t_test(
    scores_a: Sequence[float], scores_b: Sequence[float], n_train: int, n_test: int, confidence: float = 0.95
) -> PairedTTestResult:
    """Compares two models scored on the same folds with the corrected resampled
    paired t-test (Nadeau and Bengio, 2003).

    Args:
        scores_a: Scores of the first model, one per fold.
        scores_b: Scores of the second model on the same folds.
        n_train: Training examples per fold.
        n_test: Test examples per fold.
        confidence: Confidence level of the interval. Defaults to 0.95.
    """
    from scipy import stats

    owner = "corrected_paired_t_test"
    ratio = _fold_sizes(owner, n_train, n_test)
    confidence = _confidence(owner, confidence)
    a = _finite_1d(owner, "scores_a", scores_a)
    b = _finite_1d(owner, "scores_b", scores_b)
    if a.shape != b.shape:
        raise ValueError(
            f"`{owner}` expects one score per fold for each model, on the same folds. Received "
            f"{a.size} and {b.size} scores."
        )
    diff, se = _corrected(owner, a - b, ratio, confidence, "nadeau-bengio corrected paired t")
    if se == 0.0:
        t = 0.0 if diff.estimate == 0.0 else math.copysign(math.inf, diff.estimate)
        p = 1.0 if diff.estimate == 0.0 else 0.0
    else:
        t = diff.estimate / se
        p = float(2 * stats.t.sf(abs(t), a.size - 1))
    return PairedTTestResult(t, p, diff)
