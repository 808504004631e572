"""The `Interval` every workflow number carries, and the argument checks shared by the estimators."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


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
            raise ValueError(
                f"`Interval.from_dict` expects the keys of `to_dict()`. Missing: {missing}."
            )
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
        raise ValueError(
            f"`{owner}` expects `{name}` to be an integer >= {low}. Received: {name}={value!r}."
        )
    return int(value)


def _confidence(owner: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 < float(value) < 1.0
    ):
        raise ValueError(
            f"`{owner}` expects `confidence` to be a number in (0, 1), e.g. 0.95. Received: confidence={value!r}."
        )
    return float(value)


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _finite_1d(owner: str, name: str, values: Any) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(
            f"`{owner}` expects `{name}` to hold at least one value. Received an empty array."
        )
    if not np.isfinite(arr).all():
        raise ValueError(
            f"`{owner}` expects `{name}` to be finite. Received {int((~np.isfinite(arr)).sum())} NaN or "
            "infinite value(s)."
        )
    return arr
