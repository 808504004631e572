"""Metrics per group of samples (a device, a site, a speaker), each with its
interval, and each group's gap to the rest of the data with its interval.

A model can be good on average and bad on one group. Each group is compared
with the rest of the samples (two independent sets): Newcombe's interval of
the difference of two error rates, or an independent bootstrap of the
difference of the MAE / RMSE. The group with the largest gap is flagged as the
one to look at only when that gap is *established* (its interval excludes 0);
a small group's large point gap is usually chance.

Example:
    >>> import numpy as np
    >>> from lamina.workflow import per_group_metrics
    >>> m = per_group_metrics(np.array([0, 1, 1, 1]), None, [0, 1, 0, 1], groups=["a", "a", "b", "b"])
    >>> m.worst_group, m.largest_gap, m.gap_established
    ('b', 0.5, False)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.data.splits import to_numpy
from lamina.workflow.error_analysis.common import predictions_for
from lamina.workflow.error_analysis.render import (
    interval_cell,
    interval_dict,
    new_table,
    py,
    render,
    signed,
)
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

__all__ = ["GroupMetrics", "per_group_metrics", "group_metrics_of"]

#: Per-group metric names (the row keys) and the `Predictions` metric behind each.
_METRICS = {"error_rate": "error", "mae": "mae", "rmse": "rmse"}


def _jsonable_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: interval_dict(v) if isinstance(v, Interval) else py(v) for k, v in row.items()}


@dataclass
class GroupMetrics:
    """Metrics per group of samples, with intervals, and the group to look at.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        metric: The compared error: ``"error_rate"``, ``"mae"`` or ``"rmse"``.
        rows: One dict per group, worst first: `group`, `n`, `accuracy` + `error_rate`
            (classification) or `mae` / `rmse` (regression), `interval` (the
            metric's `Interval`: Wilson for an error rate, bootstrap otherwise),
            `gap_to_rest` (an `Interval` of the group's metric minus the rest's,
            None when there is no other group) and `gap_established` (whether
            that interval excludes 0).
        overall: The same metrics, `n` and `interval` on all samples.
        largest_gap: Worst group's metric minus best group's metric (a point value).
        worst_group: The group with the highest error.
        best_group: The group with the lowest error.
        group_to_look_at: The group whose error exceeds the rest's by the largest
            established gap, or None when no group stands out given the sizes.
        top_gap_group: That group, or when none is established the group with the
            largest point gap to the rest (None with a single group).
        top_gap: The `Interval` of `top_gap_group`'s gap to the rest, or None.
        gap_established: Whether `top_gap` excludes 0 (a group to look at exists).
        confidence: Level of the intervals.
    """

    task: str
    metric: str
    rows: list[dict[str, Any]]
    overall: dict[str, Any]
    largest_gap: float
    worst_group: Any
    best_group: Any
    group_to_look_at: Any = None
    top_gap_group: Any = None
    top_gap: Interval | None = None
    gap_established: bool = False
    confidence: float = 0.95

    @property
    def verdict(self) -> str:
        """One sentence: the group to look at, or why no group stands out."""
        if self.top_gap is None:
            return "One group only: there is no other group to compare it with."
        gap = self.top_gap
        row = next(r for r in self.rows if r["group"] == self.top_gap_group)
        if self.gap_established:
            rest = row[self.metric] - gap.estimate
            return (
                f"Group to look at: {self.top_gap_group!r}, {self.metric} {row['interval']} "
                f"against {rest:.3g} on the other {self.overall['n'] - row['n']} samples; gap "
                f"{signed(gap.estimate)} ({gap.confidence * 100:g}% CI {gap.low:.3g} to "
                f"{gap.high:.3g}) is established (the interval excludes 0)."
            )
        if gap.estimate <= 0:
            return "No group stands out: no group's error is above the rest's."
        return (
            f"No group stands out given the sizes: the largest gap to the rest, "
            f"{signed(gap.estimate)} for {self.top_gap_group!r} (n={row['n']}, "
            f"{gap.confidence * 100:g}% CI {gap.low:.3g} to {gap.high:.3g}), is within chance "
            "(the interval includes 0)."
        )

    def to_dict(self) -> dict[str, Any]:
        """Returns every number as JSON-serialisable values (intervals as `Interval.to_dict()`)."""
        return {
            "task": self.task,
            "metric": self.metric,
            "confidence": self.confidence,
            "rows": [_jsonable_row(r) for r in self.rows],
            "overall": _jsonable_row(self.overall),
            "largest_gap": self.largest_gap,
            "worst_group": py(self.worst_group),
            "best_group": py(self.best_group),
            "group_to_look_at": py(self.group_to_look_at),
            "top_gap_group": py(self.top_gap_group),
            "top_gap": interval_dict(self.top_gap),
            "gap_established": self.gap_established,
            "verdict": self.verdict,
        }

    def __str__(self) -> str:
        level = f"{self.confidence * 100:g}% CI"
        t = new_table(f"{self.metric} per group ({level}), and each group's gap to the rest")
        extra = ["accuracy"] if self.task == "classification" else []
        for col in ["group", "n", *extra, self.metric, "gap to rest", "established"]:
            t.add_column(col, justify="left" if col == "group" else "right")
        for r in [*self.rows, {"group": "(all)", **self.overall}]:
            established = r.get("gap_established")
            t.add_row(
                str(r["group"]),
                str(r["n"]),
                *(f"{r[c]:.4f}" for c in extra),
                interval_cell(r["interval"]),
                interval_cell(r.get("gap_to_rest"), sign=True),
                "-" if established is None else ("yes" if established else "no"),
            )
        return render(t, width=110).rstrip() + "\n" + self.verdict

    def plot(self, path: str | os.PathLike | None = None) -> Any:
        """Bar chart of the metric per group with its interval as error bars, the
        overall value as a line with its band, the group to look at in red.

        Args:
            path: Where to save the figure as PNG. Defaults to `None` (not saved).

        Returns:
            The matplotlib `Figure`.
        """
        from lamina.workflow import plots

        fig, ax = plots.new_figure(max(5.0, 0.6 * len(self.rows) + 2.0), 3.8)
        names = [str(r["group"]) for r in self.rows]
        values = np.array([r[self.metric] for r in self.rows], dtype=np.float64)
        lows = np.array([r["interval"].low for r in self.rows])
        highs = np.array([r["interval"].high for r in self.rows])
        colors = [
            "#c0504d" if self.gap_established and r["group"] == self.group_to_look_at else "#4f81bd"
            for r in self.rows
        ]
        yerr = np.vstack([np.maximum(values - lows, 0), np.maximum(highs - values, 0)])
        ax.bar(names, values, yerr=yerr, capsize=4, color=colors, ecolor="black")
        overall = self.overall["interval"]
        ax.axhline(overall.estimate, color="black", ls="--", lw=1, label="all samples")
        ax.axhspan(overall.low, overall.high, color="grey", alpha=0.2, lw=0)
        ax.set(
            title=f"{self.metric} per group ({self.confidence * 100:g}% CI)",
            ylabel=self.metric,
            xlabel="group",
        )
        ax.legend()
        fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig


def _metric_name(p: Predictions, metric: str, owner: str) -> str:
    allowed = ("auto", "error_rate") if p.task == "classification" else ("auto", "mae", "rmse")
    if metric not in allowed:
        raise ValueError(
            f"`{owner}` expects metric in {list(allowed)} for {p.task}. Received: metric={metric!r}."
        )
    if metric == "auto":
        return "error_rate" if p.task == "classification" else "mae"
    return metric


def _numbers(p: Predictions, metric: str, confidence: float, seed: int) -> dict[str, Any]:
    interval = p.error_interval(_METRICS[metric], confidence=confidence, seed=seed)
    if metric == "error_rate":
        return {
            "accuracy": 1.0 - interval.estimate,
            "error_rate": interval.estimate,
            "interval": interval,
        }
    return {metric: interval.estimate, "interval": interval}


def _row(
    p: Predictions, g: np.ndarray, value: Any, metric: str, confidence: float, seed: int
) -> dict[str, Any]:
    mask = g == value
    group = p.subset(mask)
    row = {"group": py(value), "n": int(mask.sum()), **_numbers(group, metric, confidence, seed)}
    gap = None
    if not mask.all():
        gap = p.subset(~mask).gap(group, _METRICS[metric], confidence=confidence, seed=seed)
    row["gap_to_rest"] = gap
    row["gap_established"] = None if gap is None else gap.excludes(0.0)
    return row


def group_metrics_of(
    p: Predictions,
    groups: Any,
    owner: str,
    metric: str = "auto",
    confidence: float = 0.95,
    seed: int = 0,
) -> GroupMetrics:
    """The `GroupMetrics` of decoded predictions and one group id per sample."""
    g = to_numpy(groups)
    if g.ndim != 1 or len(g) != p.n:
        raise ValueError(
            f"`{owner}` expects one group id per sample ({p.n} samples). Received: groups "
            f"of shape {g.shape}."
        )
    metric = _metric_name(p, metric, owner)
    rows = [_row(p, g, v, metric, confidence, seed) for v in np.unique(g)]
    rows.sort(key=lambda r: -r[metric])
    overall = {"n": p.n, **_numbers(p, metric, confidence, seed)}
    gapped = [r for r in rows if r["gap_to_rest"] is not None]
    worse = [r for r in gapped if r["gap_to_rest"].low > 0]
    top = max(worse or gapped, key=lambda r: r["gap_to_rest"].estimate, default=None)
    return GroupMetrics(
        p.task,
        metric,
        rows,
        overall,
        float(rows[0][metric] - rows[-1][metric]),
        rows[0]["group"],
        rows[-1]["group"],
        group_to_look_at=top["group"] if worse else None,
        top_gap_group=None if top is None else top["group"],
        top_gap=None if top is None else top["gap_to_rest"],
        gap_established=bool(worse),
        confidence=confidence,
    )


def per_group_metrics(
    model_or_predictions: Any,
    x: Any = None,
    y: Any = None,
    groups: Any = None,
    task: str = "auto",
    metric: str = "auto",
    confidence: float = 0.95,
    seed: int = 0,
) -> GroupMetrics:
    """Accuracy and error rate (classification) or MAE / RMSE (regression) per group
    of samples, each with its interval and its gap to the rest of the samples.

    The group to look at is the one whose error exceeds the rest's by the largest
    *established* gap (its interval excludes 0); when no gap is established, the
    result says that no group stands out given the sizes.

    Args:
        model_or_predictions: A `Predictions`, a trained model or its outputs (see
            `confusion_matrix`).
        x: The inputs (None when predictions are given). Defaults to `None`.
        y: The true labels or targets (not needed with a `Predictions`). Defaults to `None`.
        groups: One group id per sample (required).
        task: ``"classification"``, ``"regression"`` or ``"auto"``. Defaults to `"auto"`.
        metric: ``"auto"`` (``"error_rate"`` for classification, ``"mae"`` for
            regression), or ``"rmse"`` for regression. Defaults to `"auto"`.
        confidence: Level of the intervals. Defaults to `0.95`.
        seed: Seed of the bootstrap (regression). Defaults to `0`.

    Returns:
        A `GroupMetrics`, worst group first, with `largest_gap` and `group_to_look_at`.

    Example:
        >>> m = per_group_metrics(np.array([0, 1, 1, 1]), None, [0, 1, 0, 1], groups=["a", "a", "b", "b"])
        >>> print(m.top_gap)
        0.5 (95% CI -0.273 to 0.905, n=2)
    """
    owner = "per_group_metrics"
    if groups is None:
        raise ValueError(
            f"`{owner}` needs one group id per sample. Received: groups=None. Pass `groups=`, "
            "e.g. the device or site of each sample."
        )
    p = predictions_for(model_or_predictions, x, y, task, owner)
    return group_metrics_of(p, groups, owner, metric, confidence, seed)
