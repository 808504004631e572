"""Two classifiers on the same examples: McNemar's exact test and Newcombe's paired interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.workflow.uncertainty.interval import Interval, _confidence, _z
from lamina.workflow.uncertainty.proportions import _wilson_bounds


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
    logs = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2)
        for i in range(k + 1)
    ]
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
