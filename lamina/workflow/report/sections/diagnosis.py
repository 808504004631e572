"""The Diagnosis section: the errors per split and the gaps between them, each with
its interval, whether each gap is established, the primary problem (or
"inconclusive"), what to try next and how many examples would settle it; a chart
of the errors per split with their intervals as error bars."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.workflow.report.intervals import as_interval, interval_bar_figure, interval_cell
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import INTERVAL_NOTE, _e, _Page, _table

_REFERENCES = (
    ("human-level error", "human_error"),
    ("best baseline error", "baseline_error"),
    ("common-sense error", "common_sense_error"),
)
_SPLITS = (
    ("training error", "train_error", "train"),
    ("train-dev error", "train_dev_error", "train_dev"),
    ("dev error", "dev_error", "dev"),
    ("test error", "test_error", "test"),
)
_GAPS = (
    ("avoidable bias", "avoidable_bias"),
    ("variance", "variance"),
    ("data mismatch", "data_mismatch"),
    ("dev-set overfitting", "dev_overfitting"),
)
#: Attributes of a `Diagnosis` that carry its uncertainty (read when present).
_UNCERTAINTY = (
    "sizes",
    "error_intervals",
    "gap_intervals",
    "established",
    "samples_needed",
    "confidence",
)


def _mapping(d: Any, name: str) -> Mapping[str, Any]:
    value = getattr(d, name, None)
    return value if isinstance(value, Mapping) else {}


def _split_errors(d: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Each split's error: its `Interval` when the diagnosis carries one, else the number."""
    intervals = _mapping(d, "error_intervals")
    return {
        split: intervals.get(split) or data.get(key)
        for _, key, split in _SPLITS
        if data.get(key) is not None
    }


def _rows(d: Any, data: dict[str, Any], pct: bool) -> tuple[list[tuple], list[str], bool]:
    """The table rows (reference errors, split errors, gaps), their classes, and
    whether the gaps carry intervals (then an "established" column is shown)."""
    sizes, gaps = _mapping(d, "sizes"), _mapping(d, "gap_intervals")
    established = _mapping(d, "established")
    errors = _split_errors(d, data)
    rows, classes = [], []
    for label, key in _REFERENCES:
        if data.get(key) is not None:
            rows.append((f"{label} (given)", interval_cell(data[key], pct), ""))
            classes.append("")
    for label, _key, split in _SPLITS:
        if split in errors:
            rows.append((label, interval_cell(errors[split], pct, n=sizes.get(split)), ""))
            classes.append("")
    for label, key in _GAPS:
        if data.get(key) is None:
            continue
        interval = gaps.get(key)
        flag = "-"  # a gap without an interval is neither established nor ruled out
        if interval is not None and established.get(key) is not None:
            flag = "yes" if established[key] else "no: within chance"
        rows.append((label, interval_cell(interval or data[key], pct), flag))
        classes.append("primary" if data.get("primary") == key else "")
    with_flags = any(v is not None for v in gaps.values())
    return rows, classes, with_flags


_SET_LABELS = {"train": "training", "train_dev": "train-dev", "dev": "dev", "test": "test"}


def _samples_needed(page: _Page, needed: Any, pct: bool) -> None:
    """The examples each set needs to settle an inconclusive verdict (80% power)."""
    if not isinstance(needed, Mapping) or needed.get("per_set") is None:
        return
    label = {key: text for text, key in _GAPS}
    gap = label.get(needed.get("gap"), str(needed.get("gap")))
    versus = needed.get("versus")
    what = gap if versus is None else f"{gap} from {label.get(versus, versus)}"
    power = float(needed.get("power", 0.8))
    difference = needed.get("difference")
    size = ""
    if difference is not None:
        amount = f"{100 * abs(difference):.1f} points" if pct else f"{abs(difference):#.3g}"
        size = f" (a difference of {amount})"
    page.add(
        f"<p>To settle {_e(what)}{_e(size)} at {power:.0%} power, each set needs "
        f"<b>{int(needed['per_set']):,}</b> examples:</p>"
    )
    current = needed.get("current") or {}
    rows = [
        (_SET_LABELS.get(s, s), current.get(s), int(needed["per_set"]))
        for s in needed.get("sets", [])
    ]
    if rows:
        page.add(_table(["set", "examples now", "examples needed"], rows, left=1))


def _figure(page: _Page, d: Any, data: dict[str, Any], name: str, pct: bool) -> None:
    errors = _split_errors(d, data)
    if not errors:
        return
    lines = {label: data.get(key) for label, key in _REFERENCES[:2] if data.get(key) is not None}
    fig = interval_bar_figure(
        list(errors),
        list(errors.values()),
        title=f"Errors per split ({name})" if name != "model" else "Errors per split",
        ylabel="error" if pct else data.get("metric", "error"),
        percent=pct,
        lines=lines,
    )
    page.figure(fig, f"errors per split of {name} with 95% intervals")


def _one(page: _Page, name: str, d: Any, titled: bool) -> dict[str, Any]:
    data = to_jsonable(d.to_dict())
    for key in _UNCERTAINTY:
        if key not in data and getattr(d, key, None) is not None:
            data[key] = to_jsonable(getattr(d, key))
    if titled:
        page.add(f"<h3>{_e(name)}</h3>")
    pct = data["task"] == "classification"
    rows, classes, with_flags = _rows(d, data, pct)
    headers = ["quantity", "value", "established"] if with_flags else ["quantity", "value"]
    page.add(
        _table(
            headers,
            [r if with_flags else r[:2] for r in rows],
            left=3 if with_flags else 2,
            row_classes=classes,
        )
    )
    if any(as_interval(v) is not None for v in _split_errors(d, data).values()) or with_flags:
        page.add(INTERVAL_NOTE)
    _figure(page, d, data, name, pct)
    primary = str(data["primary"]).replace("_", " ")
    page.verdict(data["verdict"], head=f"Primary problem: {primary}.")
    page.add(
        "<p>Try next, in order:</p><ol>"
        + "".join(f"<li>{_e(r)}</li>" for r in data["recommendations"])
        + "</ol>"
    )
    _samples_needed(page, getattr(d, "samples_needed", None), pct)
    separation = as_interval(getattr(d, "separation", None))
    if separation is not None:
        page.add(
            "<p>Largest minus second-largest established gap: "
            f"{_e(interval_cell(separation, pct))}.</p>"
        )
    if data.get("notes"):
        page.add("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in data["notes"]) + "</ul>")
    return data


def diagnosis_section(page: _Page, diagnoses: Mapping[str, Any]) -> None:
    """One table, chart and verdict per `Diagnosis`, by run name."""
    page.section("diagnosis", "Diagnosis: bias, variance, data mismatch")
    titled = len(diagnoses) > 1 or "model" not in diagnoses
    page.data["diagnosis"] = {name: _one(page, name, d, titled) for name, d in diagnoses.items()}
    page.end()
