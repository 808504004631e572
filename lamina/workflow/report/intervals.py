"""Intervals on the page: one cell format for every table, error bars for the figures.

Every workflow number the report shows goes through `interval_cell`, so a table
reads the same everywhere: ``8.25% (95% CI 5.9–11.4, n=400)`` for an error rate,
``0.4120 (95% CI 0.371–0.455, n=400)`` for any other metric, and the plain number
(with its sample size when known) where a result carries no interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lamina.workflow import plots
from lamina.workflow.uncertainty import Interval

__all__ = ["as_interval", "interval_bar_figure", "interval_cell"]

_KEYS = ("estimate", "low", "high")


def as_interval(value: Any) -> Interval | None:
    """The `Interval` in ``value``, or None when it holds none.

    Args:
        value: An `Interval`, a dict written by `Interval.to_dict()`, any object
            with `estimate`, `low` and `high` attributes, or anything else (a
            plain number, None), which holds no interval.

    Returns:
        An `Interval`, or None.
    """
    if isinstance(value, Interval):
        return value
    if isinstance(value, Mapping):
        if not all(k in value for k in _KEYS) or any(value[k] is None for k in _KEYS):
            return None
        return Interval(
            float(value["estimate"]),
            float(value["low"]),
            float(value["high"]),
            None if value.get("n") is None else int(value["n"]),
            float(value.get("confidence", 0.95)),
            str(value.get("method", "")),
        )
    if all(isinstance(getattr(value, k, None), (int, float, np.number)) for k in _KEYS):
        n = getattr(value, "n", None)
        return Interval(
            float(value.estimate),
            float(value.low),
            float(value.high),
            None if n is None else int(n),
            float(getattr(value, "confidence", 0.95)),
            str(getattr(value, "method", "")),
        )
    return None


def _fmt(value: float, percent: bool, digits: int) -> str:
    if not math.isfinite(value):
        return str(value)
    if percent:
        return f"{100.0 * value:.{digits - 2}f}"
    return f"{value:#.{digits}g}".rstrip(".")  # "#" keeps significant zeros: 1.000, 0.4120


def interval_cell(value: Any, percent: bool = False, n: int | None = None) -> str:
    """One table cell: the estimate, its confidence interval and the sample size.

    Args:
        value: An `Interval` (see `lamina.workflow.uncertainty`), an `Interval`
            dict (`estimate`, `low`, `high`, `n`, `confidence`, `method`), a plain
            number, or None (shown as ``"-"``).
        percent: Whether the value is a rate shown in percent (error rates,
            differences of error rates). Defaults to `False`.
        n: The sample size to show when ``value`` carries none. Defaults to `None`.

    Returns:
        The text of the cell.

    Example:
        >>> from lamina.workflow.uncertainty import wilson_interval
        >>> interval_cell(wilson_interval(33, 400), percent=True)
        '8.25% (95% CI 5.9–11.4, n=400)'
        >>> interval_cell(0.4123)
        '0.4123'
        >>> interval_cell(0.05, percent=True, n=30)
        '5.00% (n=30)'
    """
    if value is None:
        return "-"
    interval = as_interval(value)
    unit = "%" if percent else ""
    if interval is not None and interval.n is None and interval.low == interval.high:
        value, interval = interval.estimate, None  # nothing measured the noise: no interval
    if interval is None:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            return str(value)
        text = f"{_fmt(float(value), percent, 4)}{unit}"
        return text if n is None else f"{text} (n={int(n):,})"
    low, high = (_fmt(b, percent, 3) for b in (interval.low, interval.high))
    # An en dash reads as "to" between positive bounds; spell it out around a minus sign.
    joint = " to " if interval.low < 0 or interval.high < 0 else "–"
    size = interval.n if interval.n is not None else n
    level = f"{100.0 * interval.confidence:g}%"
    tail = "" if size is None else f", n={int(size):,}"
    estimate = _fmt(interval.estimate, percent, 4)
    return f"{estimate}{unit} ({level} CI {low}{joint}{high}{tail})"


def interval_bar_figure(
    labels: Sequence[str],
    values: Sequence[Any],
    *,
    title: str,
    ylabel: str,
    percent: bool = False,
    lines: Mapping[str, float] | None = None,
    horizontal: bool = False,
) -> Any:
    """A bar chart with each value's interval as an error bar.

    Args:
        labels: One label per bar.
        values: One `Interval`, `Interval` dict or plain number per bar (a bar
            without an interval gets no error bar; None leaves the bar out).
        title: The figure title.
        ylabel: The value axis label.
        percent: Whether the values are rates drawn in percent. Defaults to `False`.
        lines: Reference values drawn as dashed lines, by label (human-level
            error, best baseline). Defaults to `None`.
        horizontal: Horizontal bars (long model names). Defaults to `False`.

    Returns:
        The matplotlib `Figure`.
    """
    scale = 100.0 if percent else 1.0
    kept = [(str(lab), v) for lab, v in zip(labels, values) if v is not None]
    names, heights, below, above = [], [], [], []
    for label, value in kept:
        interval = as_interval(value)
        est = interval.estimate if interval is not None else float(value)
        names.append(
            label if interval is None or interval.n is None else f"{label}\nn={interval.n:,}"
        )
        heights.append(est * scale)
        below.append(0.0 if interval is None else max(0.0, est - interval.low) * scale)
        above.append(0.0 if interval is None else max(0.0, interval.high - est) * scale)
    size = 0.55 * len(names) + 2.5
    fig, ax = (
        plots.new_figure(7.0, max(3.0, size))
        if horizontal
        else plots.new_figure(max(5.0, size), 3.8)
    )
    pos = np.arange(len(names))
    bar = ax.barh if horizontal else ax.bar
    bar(pos, heights, color="#4f81bd", alpha=0.85)
    has = [i for i, (_, v) in enumerate(kept) if as_interval(v) is not None]
    if has:  # error bars only where there is an interval (no zero-length caps)
        err = np.array([[below[i] for i in has], [above[i] for i in has]])
        at, tops = pos[has], np.array(heights)[has]
        x, y = (tops, at) if horizontal else (at, tops)
        bars = {"xerr": err} if horizontal else {"yerr": err}
        level = f"{100 * as_interval(kept[has[0]][1]).confidence:g}% CI"
        ax.errorbar(x, y, **bars, fmt="none", ecolor="black", capsize=4, lw=1.2, label=level)
    for i, (label, value) in enumerate((lines or {}).items()):
        if value is not None:
            draw = ax.axvline if horizontal else ax.axhline
            draw(value * scale, color=f"C{i + 1}", ls="--", lw=1, label=label)
    if horizontal:
        ax.invert_yaxis()  # the first label on top
    (ax.set_yticks if horizontal else ax.set_xticks)(pos)
    (ax.set_yticklabels if horizontal else ax.set_xticklabels)(names)
    unit = f"{ylabel} (%)" if percent else ylabel
    ax.set(title=title, **({"xlabel": unit} if horizontal else {"ylabel": unit}))
    ax.grid(alpha=0.3, axis="x" if horizontal else "y")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
