"""The diagnosis as a plain-text table: each error with its interval and size, each gap
with its interval and whether it is established."""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from lamina.workflow.diagnose.wording import GAP_ORDER, LABELS, fmt, with_ci

_ERROR_ROWS = (
    ("training error", "train", "train split"),
    ("train-dev error", "train_dev", "train-dev split"),
    ("dev error", "dev", "dev split"),
    ("test error", "test", "test split"),
)
_REFERENCES = {
    "human": "train − human",
    "baseline": "train − baseline",
    "zero": "train − 0 (upper bound)",
}


def _how(d: Any, gap: str) -> str:
    if gap == "avoidable_bias":
        return _REFERENCES[d.reference]
    if gap == "variance":
        if d.variance_includes_mismatch:
            return "dev − train (includes mismatch)"
        return "train-dev − train"
    return "dev − train-dev" if gap == "data_mismatch" else "test − dev"


def render_table(d: Any, width: int = 120) -> str:
    """The errors and gaps of the `Diagnosis` ``d`` as a table rendered to plain text."""
    t = Table(title=f"Diagnosis ({d.task}, metric: {d.metric})", box=box.SIMPLE_HEAD)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("how")
    t.add_column("")
    for name, value in (
        ("human-level error", d.human_error),
        ("best baseline error", d.baseline_error),
        ("common-sense baseline error", d.common_sense_error),
    ):
        if value is not None:
            t.add_row(name, fmt(value, d.task), "given", "")
    errors = d.errors()
    for name, split, how in _ERROR_ROWS:
        if errors[split] is None:
            continue
        interval, size = d.error_intervals.get(split), d.sizes.get(split)
        shown = with_ci(errors[split], interval, d.task)
        if interval is None and size:
            shown += f" (n={size})"
        t.add_row(name, shown, how, "")
    t.add_section()
    for gap in GAP_ORDER:
        value = getattr(d, gap)
        if value is None:
            continue
        interval = d.gap_intervals.get(gap)
        if interval is None:
            shown, status = fmt(value, d.task), ""
        else:
            shown = with_ci(value, interval, d.task, gap=True)
            status = "established" if d.established.get(gap) else "not established"
        mark = "  <- primary" if gap == d.primary else ""
        t.add_row(LABELS[gap], shown, _how(d, gap) + mark, status)
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, no_color=True
    )
    console.print(t)
    return buffer.getvalue()
