"""The Model section (name, parameter counts, summary) and the Scores table
(`{model: {split: score}}`; a score may be an `Interval`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.workflow.report.intervals import as_interval
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import INTERVAL_NOTE, _Page, _table


def model_section(page: _Page, model: Any) -> None:
    """The model's name, class, parameter counts and `summary()`."""
    page.section("model", "Model")
    lines: list[str] = []
    summary = getattr(model, "summary", None)
    if callable(summary):
        try:
            summary(print_fn=lambda line, *a, **k: lines.append(str(line)))
        except Exception as e:  # noqa: BLE001 - an unbuilt model still gets a report
            lines = [f"(no summary: {e})"]
    params = list(model.parameters()) if callable(getattr(model, "parameters", None)) else []
    info = {
        "name": getattr(model, "name", type(model).__name__),
        "class": type(model).__name__,
        "parameters": int(sum(p.numel() for p in params)),
        "trainable_parameters": int(sum(p.numel() for p in params if p.requires_grad)),
        "summary": "\n".join(lines),
    }
    page.add(
        _table(
            ["item", "value"],
            [
                ("name", info["name"]),
                ("class", info["class"]),
                ("parameters", f"{info['parameters']:,}"),
                ("trainable parameters", f"{info['trainable_parameters']:,}"),
            ],
            left=2,
        )
    )
    if lines:
        page.pre(info["summary"])
    page.data["model"] = info
    page.end()


def scores_section(page: _Page, scores: Mapping[str, Mapping[str, Any]]) -> None:
    """One row per model, one column per split; `Interval` scores show their interval."""
    page.section("scores", "Scores by model and split")
    splits: list[str] = []
    for per_split in scores.values():
        splits += [s for s in per_split if s not in splits]
    rows = [(name, *(v.get(s) for s in splits)) for name, v in scores.items()]
    page.add(_table(["model", *splits], rows))
    if any(as_interval(v) is not None for row in rows for v in row[1:]):
        page.add(INTERVAL_NOTE)
    page.data["scores"] = to_jsonable(scores)
    page.end()
