"""What a learning curve says: would more data help? Read from the slope and its interval.

The reading never goes further than the numbers it prints:

* **more data is likely to help** only when the whole interval of the dev
  error's slope per doubling lies below 0 (and not within the tolerance of 0);
* **more data is unlikely to help** only when the whole slope interval lies
  within the tolerance of 0, or the train/dev gap's interval does (the curves
  have met), and the dev error is not established to be falling;
* otherwise the reading is **inconclusive**, and says what would settle it:
  more seeds when the seeds' spread dominates the noise, a bigger dev set when
  its sampling noise does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from lamina.workflow.learning_curves.intervals import (
    NO_NOISE,
    slope_interval,
    variance_components,
)
from lamina.workflow.uncertainty import Interval

if TYPE_CHECKING:
    from lamina.workflow.learning_curves.curve import LearningCurve

__all__ = ["LearningCurveReading", "VERDICTS", "read_curve"]

VERDICTS = ("more_data", "variance_plateau", "bias", "converged", "inconclusive")


@dataclass
class LearningCurveReading:
    """What a learning curve says: would more data help?

    Attributes:
        verdict: ``"more_data"`` (the dev error is established to fall with more
            data), ``"variance_plateau"`` (it has stopped falling, with a gap to
            the training error), ``"bias"`` (the curves have converged at a high
            error), ``"converged"`` (converged near the target) or
            ``"inconclusive"`` (the intervals cannot tell).
        more_data_helps: True only for ``"more_data"``.
        gap: Dev error minus training error at the largest size (means over seeds).
        dev_slope: Fall of the dev error per doubling of the data, fitted over the
            last sizes (positive = still falling); ``-slope.estimate``.
        bias: Training error at the largest size minus the target error.
        tolerance: A slope (per doubling) or gap within this of 0 counts as none.
        message: The reading in words, with what to do.
        slope: Change of the dev error per doubling of the data, with its
            interval (negative = falling), or None when fewer than two sizes.
        gap_interval: The gap at the largest size with its interval, or None.
        sizes_used: The sizes the slope was fitted on.
    """

    verdict: str
    more_data_helps: bool
    gap: float
    dev_slope: float
    bias: float
    tolerance: float
    message: str
    slope: Interval | None = None
    gap_interval: Interval | None = None
    sizes_used: list[int] | None = None

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Returns every field as JSON-serialisable values (intervals as dicts)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, Interval) else value
        return out


def _z(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def _gap_interval(dev: Interval, train: Interval) -> Interval:
    """Dev minus train error, the two intervals' half-widths combined (Newcombe)."""
    d = dev.estimate - train.estimate
    low = d - math.hypot(dev.estimate - dev.low, train.high - train.estimate)
    high = d + math.hypot(dev.high - dev.estimate, train.estimate - train.low)
    return Interval(d, low, high, dev.n, dev.confidence, "difference of the two intervals")


def _settle(curve: LearningCurve, slope: Interval, tol: float, sizes: list[int]) -> str:
    """What would narrow the slope interval enough to read it."""
    if slope.method == NO_NOISE:
        return (
            "nothing measured the noise (one seed and no dev-set size): train with seeds=3 or more, "
            "and give the dev set so its sampling noise counts."
        )
    z = _z(slope.confidence)
    se = (slope.high - slope.low) / (2 * z)
    factor = max(2, math.ceil((z * se / max(abs(slope.estimate), tol)) ** 2))
    idx = [curve.sizes.index(s) for s in sizes]
    parts = [variance_components(curve.dev_intervals[i], curve.dev_errors_per_seed[i]) for i in idx]
    seed_var, total_var = sum(p[1] for p in parts), sum(p[0] + p[1] for p in parts)
    n_seeds = curve.n_seeds
    if n_seeds > 1 and seed_var >= total_var / 2:
        return (
            f"the spread between seeds dominates the noise: train about {n_seeds * factor} seeds "
            f"per size (seeds={n_seeds * factor}) to settle it."
        )
    if curve.n_dev:
        return (
            f"the dev set's sampling noise dominates: a dev set about {factor} times larger "
            f"(~{curve.n_dev * factor:,} examples) would settle it; more seeds help little."
        )
    return f"train more seeds per size (seeds={max(3, n_seeds * factor)}) to settle it."


def _ci(curve: LearningCurve, low: float, high: float, confidence: float) -> str:
    return f"{confidence:.0%} CI {curve.format_slope(low)} to {curve.format_slope(high)}"


def _words(
    curve: LearningCurve,
    slope: Interval,
    gap_iv: Interval,
    target_error: float,
    tol: float,
    sizes: list[int],
) -> tuple[str, str, str]:
    """``(verdict, head, advice)`` from the slope and gap intervals (module docstring)."""
    per, k, unit = curve.format_slope, len(sizes), curve.slope_unit
    known = slope.method != NO_NOISE
    negligible = known and slope.low >= -tol and slope.high <= tol
    falling = known and slope.high < 0 and not negligible
    gap_closed = known and gap_iv.low >= -tol and gap_iv.high <= tol
    high_bias = curve.train_intervals[-1].low - float(target_error) > tol
    target = (
        f"the target error ({curve.format_value(target_error)})" if target_error else "zero error"
    )
    ci = _ci(curve, slope.low, slope.high, slope.confidence)
    if not known:
        ci = "no interval: nothing measured the noise"
    flat = f"slope {per(slope.estimate)} {unit} per doubling, {ci}"
    if falling:
        fall_ci = _ci(curve, -slope.high, -slope.low, slope.confidence)
        head = (
            f"more data is likely to help: the dev error falls {per(-slope.estimate)} {unit} per doubling "
            f"of the data ({fall_ci}) over the last {k} sizes."
        )
        advice = "Collect or augment data; regularisation also narrows a train/dev gap."
        if high_bias:
            advice += (
                f" The training error is also well above {target}: a bigger model may help too."
            )
        return "more_data", head, advice
    if (negligible or gap_closed) and gap_iv.low > tol:
        head = (
            f"more data is unlikely to help: the dev error has stopped falling ({flat}), yet it "
            "stays above the training error."
        )
        advice = (
            "Variance: regularise (dropout, L2, early stopping) or use a smaller model, and do error "
            "analysis on the dev errors."
        )
        return "variance_plateau", head, advice
    if negligible or gap_closed:
        met = "the curves have converged" if gap_closed else "the dev error has stopped falling"
        head = f"more data is unlikely to help: {met} ({flat})."
        if high_bias:
            advice = (
                f"The training error is well above {target} (bias): use a bigger model or a better "
                "architecture, train longer, or reduce regularisation."
            )
            return "bias", head, advice
        return "converged", head, f"The error is close to {target}: look at the remaining errors."
    if known and slope.low > tol:
        head = (
            f"inconclusive: the dev error rises {per(slope.estimate)} {unit} per doubling ({ci})."
        )
        return (
            "inconclusive",
            head,
            "Check that every size trains to convergence (epochs, learning rate).",
        )
    head = (
        f"inconclusive: the dev error changes by {per(slope.estimate)} {unit} per doubling ({ci}), which "
        "cannot tell a falling curve from a flat one."
    )
    return "inconclusive", head, "To settle it: " + _settle(curve, slope, tol, sizes)


def read_curve(
    curve: LearningCurve, target_error: float, tolerance: float, last: int
) -> LearningCurveReading:
    """The reading of ``curve`` (see `LearningCurve.reading` for the arguments)."""
    k = min(last, len(curve.sizes))
    sizes_used = list(curve.sizes[-k:])
    train_iv, dev_iv = curve.train_intervals[-1], curve.dev_intervals[-1]
    gap_iv = _gap_interval(dev_iv, train_iv)
    bias = train_iv.estimate - float(target_error)
    seeds = f"{curve.n_seeds} seed{'s' if curve.n_seeds > 1 else ''}"
    numbers = (
        f"At {curve.sizes[-1]:,} training samples ({seeds} per size) the training error is "
        f"{curve.format_interval(train_iv)} and the dev error {curve.format_interval(dev_iv)}; "
        f"gap {curve.format_interval(gap_iv)}."
    )
    if k < 2:
        message = (
            f"inconclusive: one training-set size gives no slope. {numbers} Pass at least two "
            "fractions, e.g. fractions=(0.25, 0.5, 1.0)."
        )
        return LearningCurveReading(
            "inconclusive", False, gap_iv.estimate, 0.0, bias, tolerance, message,
            gap_interval=gap_iv, sizes_used=sizes_used,
        )  # fmt: skip
    slope = slope_interval(
        sizes_used, curve.dev_intervals[-k:], curve.dev_errors_per_seed[-k:], curve.confidence
    )
    verdict, head, advice = _words(curve, slope, gap_iv, target_error, tolerance, sizes_used)
    return LearningCurveReading(
        verdict=verdict,
        more_data_helps=verdict == "more_data",
        gap=gap_iv.estimate,
        dev_slope=-slope.estimate,
        bias=bias,
        tolerance=tolerance,
        message=f"{head} {numbers} {advice}",
        slope=slope,
        gap_interval=gap_iv,
        sizes_used=sizes_used,
    )
