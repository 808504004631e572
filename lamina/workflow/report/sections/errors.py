"""The Error analysis section: confusion matrix, per-class report, worst mistakes and
metrics per group (each group's error with its interval as an error bar, and the
largest gap with its interval and whether it is established)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.workflow.report.intervals import interval_cell
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import INTERVAL_NOTE, _e, _Page, _short, _table


def as_error_analysis(value: Any) -> Any:
    """An `ErrorAnalysis`, or one assembled from a list (or dict) of its parts."""
    from lamina.workflow.error_analysis import (
        ClassificationReport,
        ConfusionMatrix,
        ErrorAnalysis,
        GroupMetrics,
        WorstMistakes,
    )

    if isinstance(value, ErrorAnalysis):
        return value
    parts = (
        list(value.values())
        if isinstance(value, Mapping)
        else (list(value) if isinstance(value, (list, tuple)) else [value])
    )
    out = ErrorAnalysis(task="classification")
    for part in parts:
        if isinstance(part, ConfusionMatrix):
            out.confusion_matrix = part
        elif isinstance(part, ClassificationReport):
            out.classification_report = part
        elif isinstance(part, WorstMistakes):
            out.worst_mistakes = part
            out.task = part.task
        elif isinstance(part, GroupMetrics):
            out.group_metrics = part
            out.task = part.task
        else:
            raise TypeError(
                "`report` expects `error_analysis` to be an `ErrorAnalysis` (from "
                "`lamina.workflow.analyze_errors`) or a list of its parts (ConfusionMatrix, "
                f"ClassificationReport, WorstMistakes, GroupMetrics). Received: a {type(part).__name__}."
            )
    return out


def _confusion(page: _Page, cm: Any) -> None:
    page.add("<h3>Confusion matrix</h3>")
    page.figure(cm.plot(), "confusion matrix")
    pairs = cm.most_confused(5)
    if pairs:
        page.add(
            "<p>Most confused (true as predicted): "
            + ", ".join(f"{_e(a)} as {_e(b)} ({c})" for a, b, c in pairs)
            + ".</p>"
        )


def _class_report(page: _Page, rep: Any) -> None:
    page.add("<h3>Per-class precision, recall and F1</h3>")
    intervals = getattr(rep, "intervals", None) or {}
    rows = []
    for name, v in rep.per_class.items():
        iv = intervals.get(name, {})
        precision, recall = (interval_cell(iv.get(k) or v[k]) for k in ("precision", "recall"))
        rows.append((name, precision, recall, v["f1"], v["support"]))
    rows += [
        (label, v["precision"], v["recall"], v["f1"], v["support"])
        for label, v in (("macro avg", rep.macro_avg), ("weighted avg", rep.weighted_avg))
    ]
    page.add(_table(["class", "precision", "recall", "f1", "support"], rows))
    accuracy = getattr(rep, "accuracy_interval", None) or rep.accuracy
    page.add(f"<p>Accuracy: {_e(interval_cell(accuracy))}.</p>")
    if intervals:
        page.add(INTERVAL_NOTE)


def _worst(page: _Page, worst: Any) -> None:
    title = "Most confident mistakes" if worst.task == "classification" else "Largest errors"
    page.add(f"<h3>{title}</h3>")
    if worst.mistakes:
        page.figure(worst.plot(), title.lower())
    score = "confidence" if worst.task == "classification" else "error"
    rows = [
        (str(m.index), _short(m.true), _short(m.predicted), getattr(m, score))
        for m in worst.mistakes
    ]
    page.add(_table(["index", "true", "predicted", score], rows, left=3))
    if worst.task == "classification":
        page.add(
            f"<p>{worst.n_mistakes} of {worst.n_samples} samples are wrong. Look at the most "
            "confident mistakes first: they are often mislabelled or ambiguous.</p>"
        )


def _group_rows(groups: Any) -> tuple[list[str], list[tuple]]:
    """One row per group and one for all samples: the metric with its interval, the
    group's gap to the rest with its interval, and whether that gap is established."""
    metric, pct = groups.metric, groups.metric == "error_rate"
    extra = ["accuracy"] if groups.task == "classification" and metric != "accuracy" else []
    headers = ["group", "n", *extra, metric, "gap to the rest", "established"]
    rows = []
    for r in [*groups.rows, {**groups.overall, "group": "(all)"}]:
        known = r.get("gap_established")
        rows.append(
            (
                str(r["group"]),
                r["n"],
                *(r.get(c) for c in extra),
                interval_cell(r.get("interval") or r.get(metric), pct, n=r["n"]),
                interval_cell(r.get("gap_to_rest"), pct),
                "-" if known is None else ("yes" if known else "no: within chance"),
            )
        )
    return headers, rows


def _groups(page: _Page, groups: Any) -> None:
    page.add("<h3>Metrics per group</h3>")
    page.figure(groups.plot(), "metrics per group with 95% intervals")
    headers, rows = _group_rows(groups)
    page.add(_table(headers, rows))
    page.add(INTERVAL_NOTE)
    pct = groups.metric == "error_rate"
    page.add(
        f"<p>Largest gap in {_e(groups.metric)} between two groups: "
        f"{_e(interval_cell(groups.largest_gap, pct))} "
        f"({_e(groups.worst_group)} vs {_e(groups.best_group)}).</p>"
    )
    verdict = getattr(groups, "verdict", None)
    if isinstance(verdict, str) and verdict:
        page.verdict(verdict)


def error_analysis_section(page: _Page, analysis: Any) -> None:
    """Every part the `ErrorAnalysis` holds."""
    page.section("error_analysis", "Error analysis")
    error = getattr(analysis, "error", None)
    if error is not None:
        metric = getattr(analysis, "metric", None) or "error"
        cell = interval_cell(error, percent=metric == "error_rate")
        page.add(f"<p>Overall {_e(metric)}: {_e(cell)}.</p>")
    if analysis.confusion_matrix is not None:
        _confusion(page, analysis.confusion_matrix)
    if analysis.classification_report is not None:
        _class_report(page, analysis.classification_report)
    if analysis.worst_mistakes is not None:
        _worst(page, analysis.worst_mistakes)
    if analysis.group_metrics is not None:
        _groups(page, analysis.group_metrics)
    page.data["error_analysis"] = to_jsonable(analysis.to_dict())
    page.end()
