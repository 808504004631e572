"""`LearningCurve`: training and dev error per training-set size, over several seeds."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from lamina.utils import validation
from lamina.workflow.learning_curves.intervals import point_interval
from lamina.workflow.learning_curves.reading import LearningCurveReading, read_curve
from lamina.workflow.uncertainty import Interval

__all__ = ["LearningCurve"]

_PER_SIZE = ("fractions", "train_errors", "dev_errors")


@dataclass
class LearningCurve:
    """Training and dev error per training-set size, from `learning_curve`.

    Each size is trained with one model per seed; the curve keeps every seed's
    errors, their mean (``train_errors`` / ``dev_errors``), standard deviation
    and interval. A curve built from means only (one seed) gets its intervals
    from the sample sizes: Wilson for an error rate with ``n_dev`` examples
    (``size`` for the training error); see
    `lamina.workflow.learning_curves.intervals` for how seeds and examples combine.

    Attributes:
        sizes: Training samples used at each point, increasing.
        fractions: The fraction of the training set at each point.
        train_errors: Mean over seeds of the error on the samples trained on.
        dev_errors: Mean over seeds of the error on the whole dev set.
        task: ``"classification"`` or ``"regression"``.
        metric: ``"error"`` (1 − accuracy), ``"mae"`` or ``"rmse"``.
        seconds: Wall time of the fits at each size (all seeds together).
        n_dev: Samples in the dev set (0 when unknown).
        seeds: The seeds each size was trained with (empty when unknown).
        train_errors_per_seed: Per size, the training error of each seed's model.
        dev_errors_per_seed: Per size, the dev error of each seed's model.
        train_stds: Per size, the standard deviation of the training errors over
            seeds (``ddof=1``; 0 with one seed).
        dev_stds: Per size, the same for the dev errors.
        train_intervals: Per size, the `Interval` of the mean training error.
        dev_intervals: Per size, the `Interval` of the mean dev error (sampling
            noise of the dev set and spread over seeds).
        confidence: Confidence level of the intervals. Defaults to 0.95.
    """

    sizes: list[int]
    fractions: list[float]
    train_errors: list[float]
    dev_errors: list[float]
    task: str
    metric: str
    seconds: list[float] = field(default_factory=list)
    n_dev: int = 0
    seeds: list[int] = field(default_factory=list)
    train_errors_per_seed: list[list[float]] = field(default_factory=list)
    dev_errors_per_seed: list[list[float]] = field(default_factory=list)
    train_stds: list[float] = field(default_factory=list)
    dev_stds: list[float] = field(default_factory=list)
    train_intervals: list[Interval] = field(default_factory=list)
    dev_intervals: list[Interval] = field(default_factory=list)
    confidence: float = 0.95

    def __post_init__(self) -> None:
        owner = "LearningCurve"
        validation.one_of(owner, "metric", self.metric, ("error", "mae", "rmse"))
        k = len(self.sizes)
        self.sizes = [int(s) for s in self.sizes]
        if k == 0 or any(b <= a for a, b in zip(self.sizes, self.sizes[1:])):
            raise ValueError(
                f"`{owner}` expects `sizes` to be a non-empty increasing list. Received: "
                f"sizes={self.sizes!r}."
            )
        for kind in ("train", "dev"):
            per_seed = getattr(self, f"{kind}_errors_per_seed")
            means = getattr(self, f"{kind}_errors")
            if not per_seed:
                per_seed = [[float(m)] for m in means]
            per_seed = [[float(v) for v in row] for row in per_seed]
            if means and len(means) == len(per_seed):
                if not np.allclose(means, [np.mean(row) for row in per_seed], atol=1e-9):
                    raise ValueError(
                        f"`{owner}` expects `{kind}_errors` to be the means of "
                        f"`{kind}_errors_per_seed`. Received: {kind}_errors={list(means)!r}. Pass "
                        "only the per-seed errors."
                    )
            if len(per_seed) != k or len({len(row) for row in per_seed}) != 1 or not per_seed[0]:
                raise ValueError(
                    f"`{owner}` expects `{kind}_errors_per_seed` to hold one list per size, each "
                    f"with one error per seed. Received {len(per_seed)} lists of lengths "
                    f"{[len(row) for row in per_seed]} for {k} sizes."
                )
            setattr(self, f"{kind}_errors_per_seed", per_seed)
            setattr(self, f"{kind}_errors", [float(np.mean(row)) for row in per_seed])
            if not getattr(self, f"{kind}_stds"):
                stds = [float(np.std(row, ddof=1)) if len(row) > 1 else 0.0 for row in per_seed]
                setattr(self, f"{kind}_stds", stds)
            self._fill_intervals(kind, per_seed)
        for name in _PER_SIZE + ("train_stds", "dev_stds"):
            if len(getattr(self, name)) != k:
                raise ValueError(
                    f"`{owner}` expects one value per size in `{name}`. Received "
                    f"{len(getattr(self, name))} values for {k} sizes."
                )

    def _fill_intervals(self, kind: str, per_seed: list[list[float]]) -> None:
        intervals = [
            Interval.from_dict(iv) if isinstance(iv, dict) else iv
            for iv in getattr(self, f"{kind}_intervals")
        ]
        if not intervals:
            intervals = [
                point_interval(
                    row,
                    size if kind == "train" else self.n_dev,
                    self.confidence,
                    rate=self.metric == "error",
                )
                for size, row in zip(self.sizes, per_seed)
            ]
        if len(intervals) != len(self.sizes):
            raise ValueError(
                f"`LearningCurve` expects one interval per size in `{kind}_intervals`. Received "
                f"{len(intervals)} for {len(self.sizes)} sizes."
            )
        setattr(self, f"{kind}_intervals", intervals)

    # ------------------------------------------------------------------ formatting
    @property
    def n_seeds(self) -> int:
        """Models trained per size."""
        return len(self.dev_errors_per_seed[0])

    @property
    def slope_unit(self) -> str:
        """Unit of a slope per doubling: percentage points, or the regression metric."""
        return "points" if self.metric == "error" else self.metric.upper()

    def format_value(self, value: float) -> str:
        """An error as text: a percentage, or 4 significant digits."""
        return f"{100 * value:.2f}%" if self.metric == "error" else f"{value:.4g}"

    def format_slope(self, value: float) -> str:
        """A change per doubling as a number in `slope_unit`."""
        text = f"{100 * value:.1f}" if self.metric == "error" else f"{value:.3g}"
        return text[1:] if text.startswith("-") and float(text) == 0.0 else text

    def format_interval(self, iv: Interval) -> str:
        """``8.52% (95% CI 5.93% to 12.1%, n=270)``; no interval when nothing measured the noise."""
        if iv.n is None and iv.high == iv.low:
            return f"{self.format_value(iv.estimate)} (no interval: sample size unknown, one seed)"
        n = "" if iv.n is None else f", n={iv.n:,}"
        return (
            f"{self.format_value(iv.estimate)} ({iv.confidence:.0%} CI "
            f"{self.format_value(iv.low)} to {self.format_value(iv.high)}{n})"
        )

    # ------------------------------------------------------------------ reading
    def reading(
        self, target_error: float = 0.0, tolerance: float | None = None, last: int = 3
    ) -> LearningCurveReading:
        """Interprets the curves: would more data help? From the slope and its interval.

        The slope of the dev error against ``log2(size)`` over the last ``last``
        sizes is fitted by weighted least squares with an interval; "more data is
        likely to help" needs the whole interval below 0, "unlikely to help" needs
        it (or the train/dev gap's interval) within ``tolerance`` of 0; anything
        else is "inconclusive", with what would settle it.

        Args:
            target_error: The error you could hope for (human level, or a good
                baseline's). Defaults to `0.0`, which makes the bias an upper bound.
            tolerance: A slope per doubling, or a gap, within this of 0 counts as
                none. Defaults to 0.01 (one percentage point) for an error rate and
                to 5% of the largest error for regression.
            last: How many of the largest sizes the slope is fitted on. Defaults to `3`.

        Returns:
            A `LearningCurveReading`; `str()` of it is the reading in words.
        """
        owner = "LearningCurve.reading"
        validation.number(owner, "target_error", target_error, low=0.0)
        validation.number(owner, "tolerance", tolerance, low=0.0, allow_none=True)
        validation.positive_int(owner, "last", last)
        if last < 2:
            raise ValueError(
                f"`{owner}` fits a slope, which needs at least 2 sizes. Received: last={last}."
            )
        if tolerance is None:
            if self.metric == "error":
                tolerance = 0.01
            else:
                tolerance = 0.05 * max(self.train_errors + self.dev_errors + [1e-12])
        return read_curve(self, float(target_error), float(tolerance), last)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every number of the curve, its intervals (as dicts) and its reading."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_intervals"):
                value = [iv.to_dict() for iv in value]
            elif isinstance(value, list):
                value = [list(v) if isinstance(v, list) else v for v in value]
            out[f.name] = value
        out["n_seeds"] = self.n_seeds
        out["reading"] = self.reading().to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LearningCurve:
        """The curve written by `to_dict` (its reading is recomputed)."""
        names = {f.name for f in fields(cls)}
        missing = [n for n in ("sizes", "fractions", "task", "metric") if n not in data]
        if missing:
            raise ValueError(
                f"`LearningCurve.from_dict` expects the keys of `to_dict()`. Missing: {missing}."
            )
        return cls(**{k: v for k, v in data.items() if k in names})

    # ------------------------------------------------------------------ display
    def table(self, width: int = 110) -> str:
        """The curve as a plain-text table, with the dev error's interval."""
        title = (
            f"Learning curve ({self.task}, metric: {self.metric}, {self.n_seeds} seed(s) per size)"
        )
        t = Table(title=title, box=box.SIMPLE_HEAD)
        for col in ("fraction", "samples", "train error", "dev error (95% CI)", "gap", "fit (s)"):
            t.add_column(col, justify="right")
        for i, size in enumerate(self.sizes):
            dev = self.dev_intervals[i]
            secs = f"{self.seconds[i]:.1f}" if i < len(self.seconds) else "-"
            spread = f" ± {self.format_value(self.train_stds[i])}" if self.n_seeds > 1 else ""
            t.add_row(
                f"{self.fractions[i]:.2f}",
                f"{size:,}",
                self.format_value(self.train_errors[i]) + spread,
                f"{self.format_value(dev.estimate)} ({self.format_value(dev.low)} to "
                f"{self.format_value(dev.high)})",
                self.format_value(self.dev_errors[i] - self.train_errors[i]),
                secs,
            )
        buffer = io.StringIO()
        Console(
            file=buffer, width=width, color_system=None, force_terminal=False, no_color=True
        ).print(t)
        n = f"n_dev={self.n_dev:,}" if self.n_dev else "dev-set size unknown"
        return buffer.getvalue().rstrip() + f"\n  ({n}; ± is the standard deviation over seeds)\n"

    def __str__(self) -> str:
        return f"{self.table().rstrip()}\n\n{self.reading()}"

    def plot(self, path: str | os.PathLike | None = None, ax: Any = None) -> Any:
        """Plots the mean training and dev errors against the training-set size, with
        their intervals as shaded bands and each seed's errors as dots.

        Args:
            path: Where to save the figure as PNG. Defaults to `None` (not saved).
            ax: A matplotlib `Axes` to draw on. Defaults to `None` (a new figure).

        Returns:
            The matplotlib `Figure`.
        """
        from lamina.workflow import plots

        if ax is None:
            fig, ax = plots.new_figure(6.0, 4.0)
        else:
            fig = ax.figure
        scale = 100.0 if self.metric == "error" else 1.0
        for kind, color in (("train", "C0"), ("dev", "C1")):
            means = np.array(getattr(self, f"{kind}_errors")) * scale
            ivs = getattr(self, f"{kind}_intervals")
            label = "training error" if kind == "train" else "dev error"
            ax.plot(self.sizes, means, marker="o", color=color, label=f"{label} (mean)")
            ax.fill_between(
                self.sizes,
                [iv.low * scale for iv in ivs],
                [iv.high * scale for iv in ivs],
                color=color,
                alpha=0.2,
                label=f"{self.confidence:.0%} interval",
            )
            if self.n_seeds > 1:
                per_seed = getattr(self, f"{kind}_errors_per_seed")
                xs = [s for s, row in zip(self.sizes, per_seed) for _ in row]
                ys = [v * scale for row in per_seed for v in row]
                ax.scatter(xs, ys, s=10, color=color, alpha=0.5)
        ax.set_xscale("log")
        ax.set_xticks(self.sizes)
        ax.set_xticklabels([f"{s:,}" for s in self.sizes])
        ax.minorticks_off()
        ax.set(
            xlabel="training samples (log scale)",
            ylabel="error (%)" if self.metric == "error" else self.metric,
            title=f"Learning curve: {self.reading().verdict.replace('_', ' ')}",
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig
