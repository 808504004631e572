"""Seeded percentile bootstraps: any statistic, means of per-example errors (vectorised), independent and paired differences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lamina.workflow.uncertainty.interval import Interval, _confidence, _count, _finite_1d


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
        raise TypeError(
            f"`{owner}` expects `statistic` to be a function of the arrays. Received: {statistic!r}."
        )
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
        samples = f(_resampled_means(a, n_resamples, rng)) - f(
            _resampled_means(b, n_resamples, rng)
        )
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
