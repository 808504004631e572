"""The Data section: a summary of the data and the split sizes with their class
counts (classification) or target statistics (regression)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import _e, _num, _Page, _table


def _summary(page: _Page, data_summary: Any) -> dict[str, Any]:
    summary = data_summary if isinstance(data_summary, Mapping) else {"description": data_summary}
    rows, texts = [], []
    for key, value in summary.items():
        if type(value).__name__ == "LeakageReport" or (isinstance(value, str) and "\n" in value):
            texts.append((key, str(value)))
        elif isinstance(value, (Mapping, list, tuple)):
            rows.append((key, json.dumps(to_jsonable(value))))
        else:
            rows.append((key, value))
    if rows:
        page.add(
            _table(
                ["item", "value"],
                [(k, v if not isinstance(v, float) else _num(v)) for k, v in rows],
                left=2,
            )
        )
    for key, text in texts:
        page.add(f"<h3>{_e(key)}</h3>")
        page.pre(text)
    return to_jsonable(summary)


def _splits(page: _Page, splits: Any) -> dict[str, Any]:
    from lamina.data.splits import label_vector, to_numpy

    sizes = splits.sizes
    total = sum(sizes.values())
    info: dict[str, Any] = {
        "task": splits.task,
        "sizes": sizes,
        "stratified": splits.stratified,
        "grouped": splits.grouped,
    }
    rows = []
    if splits.task == "classification":
        classes: dict[str, dict[str, int]] = {}
        for name, (_, y) in splits.sets().items():
            labels, counts = np.unique(label_vector(y), return_counts=True)
            classes[name] = {str(k): int(c) for k, c in zip(labels.tolist(), counts.tolist())}
            rows.append((name, sizes[name], f"{sizes[name] / total:.1%}", len(labels)))
        info["class_counts"] = classes
        headers = ["set", "samples", "share", "classes"]
    else:
        stats: dict[str, dict[str, float]] = {}
        for name, (_, y) in splits.sets().items():
            arr = to_numpy(y).astype(np.float64)
            stats[name] = {"mean": float(arr.mean()), "std": float(arr.std())}
            share = f"{sizes[name] / total:.1%}"
            rows.append((name, sizes[name], share, stats[name]["mean"], stats[name]["std"]))
        info["target_stats"] = stats
        headers = ["set", "samples", "share", "target mean", "target std"]
    flags = ", ".join(
        f for f, on in (("stratified", splits.stratified), ("grouped", splits.grouped)) if on
    )
    page.add(f"<h3>Splits ({_e(splits.task)}{', ' + flags if flags else ''})</h3>")
    page.add(_table(headers, rows, left=1))
    page.add(
        "<p>The test set is for the final number only; model choices are made on the dev set.</p>"
    )
    return info


def data_section(page: _Page, data_summary: Any, splits: Any) -> None:
    """The data summary (a dict, shown as a table) and the splits (a `Splits`)."""
    page.section("data", "Data")
    out: dict[str, Any] = {}
    if data_summary is not None:
        out["summary"] = _summary(page, data_summary)
    if splits is not None:
        out["splits"] = _splits(page, splits)
    page.data["data"] = out
    page.end()
