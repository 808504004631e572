"""K-fold scores, whose training sets overlap: Nadeau and Bengio's corrected resampled t interval and paired test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.workflow.uncertainty.interval import Interval, _confidence, _count, _finite_1d


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


def _corrected(
    owner: str, scores: np.ndarray, ratio: float, confidence: float, method: str
) -> tuple[Interval, float]:
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
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    n_train: int,
    n_test: int,
    confidence: float = 0.95,
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
