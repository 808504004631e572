"""Text helpers shared by the error-analysis results: rich tables rendered to
plain text, NumPy scalars made JSON-able, intervals written compactly."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from lamina.workflow.uncertainty import Interval

__all__ = ["new_table", "render", "py", "interval_dict", "interval_cell", "signed"]


def new_table(title: str) -> Table:
    """A table in the house style of the workflow results."""
    return Table(title=title, box=box.SIMPLE_HEAD)


def render(table: Table, width: int = 100) -> str:
    """The table as plain text (no colours), ``width`` characters wide."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False, no_color=True).print(
        table
    )
    return buffer.getvalue()


def py(value: Any) -> Any:
    """A NumPy scalar as the Python value (for JSON); anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def interval_dict(interval: Interval | None) -> dict[str, Any] | None:
    """``interval.to_dict()``, or None for a missing interval."""
    return None if interval is None else interval.to_dict()


def signed(value: float) -> str:
    """A difference with its sign: ``+0.125`` / ``-0.03``."""
    return f"{value:+.3g}"


def interval_cell(interval: Interval | None, sign: bool = False) -> str:
    """An interval for a table cell: ``0.125 (0.091 to 0.168)`` (the n is in its own
    column); ``-`` when there is none."""
    if interval is None:
        return "-"
    estimate = signed(interval.estimate) if sign else f"{interval.estimate:.3g}"
    return f"{estimate} ({interval.low:.3g} to {interval.high:.3g})"
