"""What each set says about the error, and how sure it is.

A `SplitEvidence` holds one set's error with its interval and the per-example
values behind it (0/1 errors, absolute or squared errors), built from
`Predictions` or, for `Diagnosis.from_errors(..., sizes=...)`, from an error
rate and a count. The gaps of a diagnosis are linear combinations of the set
errors, so one seeded bootstrap (each set resampled on its own: the sets are
independent) gives the interval of any gap or of the difference of two gaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lamina.workflow import uncertainty
from lamina.workflow.diagnose.wording import SPLITS
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

N_RESAMPLES = 2000


@dataclass
class SplitEvidence:
    """One set's error, its interval and the per-example values behind them.

    Attributes:
        name: ``"train"``, ``"train_dev"``, ``"dev"`` or ``"test"``.
        n: Number of examples.
        estimate: The error (1 − accuracy, MAE or RMSE).
        values: One value per example whose mean (``statistic="mean"``) or the
            square root of whose mean (``"root_mean"``) is the error.
        statistic: ``"mean"`` or ``"root_mean"``.
        interval: The error's interval (Wilson or bootstrap).
        predictions: The `Predictions` it came from, or None (built from counts).
        count: Number of errors (single-label classification), else None.
    """

    name: str
    n: int
    estimate: float
    values: np.ndarray
    statistic: str
    interval: Interval
    predictions: Predictions | None = None
    count: int | None = None

    @classmethod
    def from_predictions(
        cls, name: str, p: Predictions, metric: str, confidence: float, seed: int
    ) -> SplitEvidence:
        """The evidence of a set from its `Predictions` (intervals by `Predictions.error_interval`)."""
        values = p.squared_errors if metric == "rmse" else p.errors
        count = None
        if metric == "error" and not p.multi_label:
            count = int((~p.correct).sum())
        return cls(
            name=name,
            n=p.n,
            estimate=p.error(metric),
            values=np.asarray(values, dtype=np.float64),
            statistic="root_mean" if metric == "rmse" else "mean",
            interval=p.error_interval(metric, confidence=confidence, seed=seed),
            predictions=p,
            count=count,
        )

    @classmethod
    def from_rate(cls, name: str, rate: float, n: int, confidence: float) -> SplitEvidence:
        """The evidence of a set from its error rate and size (errors = ``round(rate * n)``)."""
        count = int(round(rate * n))
        values = np.zeros(n)
        values[:count] = 1.0
        interval = uncertainty.wilson_interval(count, n, confidence)
        return cls(name, n, float(rate), values, "mean", interval, None, count)

    @property
    def unit_variance(self) -> float:
        """The variance of one example's contribution to the error (delta method for an RMSE)."""
        var = float(np.var(self.values))
        if self.statistic == "root_mean":
            mean = float(self.values.mean())
            return var / (4.0 * mean) if mean > 0 else 0.0
        return var


def gap_interval(
    a: SplitEvidence, b: SplitEvidence, metric: str, confidence: float, seed: int
) -> Interval:
    """The interval of ``b``'s error minus ``a``'s (two independent sets):
    `Predictions.gap` (Newcombe / bootstrap), or Newcombe's interval from counts."""
    if a.predictions is not None and b.predictions is not None:
        return a.predictions.gap(b.predictions, metric, confidence=confidence, seed=seed)
    if a.count is None or b.count is None:
        raise ValueError("A gap interval needs predictions or error counts for both sets.")
    return uncertainty.difference_interval(b.count, b.n, a.count, a.n, confidence)


def shifted(interval: Interval, offset: float) -> Interval:
    """``interval`` minus a known number (avoidable bias against a given reference)."""
    return Interval(
        interval.estimate - offset,
        interval.low - offset,
        interval.high - offset,
        interval.n,
        interval.confidence,
        f"{interval.method}, minus the reference",
    )


def _resampled_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    out = np.empty(n_resamples)
    chunk = max(1, min(n_resamples, 4_000_000 // max(n, 1)))
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        out[start:stop] = values[rng.integers(0, n, (stop - start, n))].mean(axis=1)
    return out


def bootstrap_errors(
    evidence: dict[str, SplitEvidence], seed: int, n_resamples: int = N_RESAMPLES
) -> dict[str, np.ndarray]:
    """``n_resamples`` bootstrap errors of every set, each set resampled on its own."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in SPLITS:
        ev = evidence.get(name)
        if ev is None:
            continue
        means = _resampled_means(ev.values, n_resamples, rng)
        out[name] = np.sqrt(np.maximum(means, 0.0)) if ev.statistic == "root_mean" else means
    return out


def contrast_interval(
    coefficients: dict[str, float],
    estimate: float,
    samples: dict[str, np.ndarray],
    sizes: dict[str, int | None],
    confidence: float,
    offset: float = 0.0,
) -> Interval:
    """The percentile interval of ``sum(c_i * error_i) + offset`` from `bootstrap_errors`
    samples (the difference of two gaps); ``estimate`` is its value on the data."""
    total = offset + sum(c * samples[name] for name, c in coefficients.items() if c != 0.0)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(total, [tail, 100 - tail])
    n = min(sizes[name] or 0 for name, c in coefficients.items() if c != 0.0)
    return Interval(
        float(estimate),
        float(low),
        float(high),
        n,
        confidence,
        "percentile bootstrap of independent sets",
    )
