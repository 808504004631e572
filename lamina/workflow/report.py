"""`report`: one self-contained HTML page and one JSON file with the whole workflow.

The HTML file needs nothing but a browser: CSS is inline and every plot is a
base64 PNG data URI, so it can be mailed, archived or attached to a ticket. The
JSON file beside it (same name, `.json`) holds every number of the page, for
scripts and dashboards. Every section is optional: pass what you have.

JSON layout (keys present only for the sections given)::

    {"title", "generated_at", "lamina_version", "torch_version", "sections": [...],
     "data": {"summary": {...}, "splits": {...}},
     "model": {"name", "class", "parameters", "trainable_parameters", "summary"},
     "scores": {model: {split: value}},
     "baselines": BaselineTable.to_dict() + "ranking",
     "doctor": DoctorReport.to_dict(),
     "training": {run name: {"history": {...}, "epochs", "final"}},
     "diagnosis": {run name: Diagnosis.to_dict()},
     "learning_curve": LearningCurve.to_dict(),
     "lr_find": LRFinderResult.to_dict(),
     "error_analysis": ErrorAnalysis.to_dict()}

Example:
    >>> from lamina.workflow import report
    >>> files = report("out/report.html", splits=splits, history=history,
    ...                diagnosis=diagnosis)  # doctest: +SKIP
    >>> files.html, files.json  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lamina.workflow import plots

__all__ = ["ReportFiles", "report"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em 2em 4em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.4em; }
.meta { color: #59636e; font-size: .9em; }
nav ul { columns: 3; list-style: none; padding-left: 0; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .7em; text-align: right; }
th { background: #f6f8fa; }
td.l, th.l { text-align: left; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .85em; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; margin: .4em 0; }
.verdict { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .5em .8em; }
tr.pass td:nth-child(2) { color: #1a7f37; font-weight: 600; }
tr.warn td:nth-child(2) { color: #9a6700; font-weight: 600; }
tr.fail td:nth-child(2) { color: #cf222e; font-weight: 600; }
tr.skip td:nth-child(2) { color: #59636e; }
.primary { background: #fff8c5; font-weight: 600; }
"""

# Sets data-images-loaded="<loaded>/<total>" on <body> once the page has loaded,
# so a headless browser (and the tests) can check that every plot decoded.
_IMAGE_CHECK = """
(function () {
  function check() {
    var imgs = Array.prototype.slice.call(document.images);
    var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""


@dataclass
class ReportFiles:
    """The files `report` wrote.

    Attributes:
        html: The self-contained HTML page.
        json: The JSON file with every number.
        sections: The sections included, in page order.
        images: Number of plots embedded in the HTML.
    """

    html: Path
    json: Path
    sections: list[str] = field(default_factory=list)
    images: int = 0


# --------------------------------------------------------------------------- JSON values


def to_jsonable(value: Any) -> Any:
    """Converts results to JSON values: `to_dict()` objects, dataclasses, NumPy and torch
    values, paths; NaN and infinities become None; anything else becomes its `str`."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # torch tensor
        return to_jsonable(value.detach().cpu().tolist())
    if isinstance(value, Path):
        return str(value)
    if callable(getattr(value, "to_dict", None)):
        return to_jsonable(value.to_dict())
    if type(value).__name__ == "LeakageReport":
        return {
            "ok": bool(value.ok),
            "pairs": {
                f"{a}/{b}": to_jsonable(dataclasses.asdict(p)) for (a, b), p in value.pairs.items()
            },
            "text": str(value),
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {
            str(k) if not isinstance(k, tuple) else "/".join(map(str, k)): to_jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return str(value)


# --------------------------------------------------------------------------- HTML pieces


def _e(value: Any) -> str:
    return html.escape(str(value))


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        return f"{v:.{digits}f}" if abs(v) < 1e4 else f"{v:,.{max(0, digits - 2)}f}"
    return _e(value)


def _short(value: Any) -> str:
    """A label or value for a table cell: floats with 4 significant digits."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    left: int = 1,
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table; the first ``left`` columns are left-aligned text, the rest numbers."""
    head = "".join(
        f'<th class="l">{_e(h)}</th>' if i < left else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(
            f'<td class="l">{_e(v)}</td>' if i < left else f"<td>{_num(v)}</td>"
            for i, v in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class _Page:
    """Collects the HTML body, the JSON data and the embedded images."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.data: dict[str, Any] = {}
        self.images = 0

    def section(self, key: str, title: str) -> None:
        self.toc.append((key, title))
        self.parts.append(f'<section id="{key}"><h2>{_e(title)}</h2>')

    def end(self) -> None:
        self.parts.append("</section>")

    def add(self, fragment: str) -> None:
        self.parts.append(fragment)

    def figure(self, fig: Any, alt: str) -> None:
        png = plots.figure_to_png(fig)
        self.images += 1
        self.parts.append(f'<img src="{plots.png_data_uri(png)}" alt="{_e(alt)}">')

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{_e(text)}</pre>")


# --------------------------------------------------------------------------- sections


def _data_section(page: _Page, data_summary: Any, splits: Any) -> None:
    page.section("data", "Data")
    out: dict[str, Any] = {}
    if data_summary is not None:
        summary = (
            data_summary if isinstance(data_summary, Mapping) else {"description": data_summary}
        )
        rows, texts = [], []
        for key, value in summary.items():
            if type(value).__name__ == "LeakageReport" or (
                isinstance(value, str) and "\n" in value
            ):
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
        out["summary"] = to_jsonable(summary)
    if splits is not None:
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
                rows.append(
                    (
                        name,
                        sizes[name],
                        f"{sizes[name] / total:.1%}",
                        stats[name]["mean"],
                        stats[name]["std"],
                    )
                )
            info["target_stats"] = stats
            headers = ["set", "samples", "share", "target mean", "target std"]
        flags = ", ".join(
            f for f, on in (("stratified", splits.stratified), ("grouped", splits.grouped)) if on
        )
        page.add(f"<h3>Splits ({_e(splits.task)}{', ' + flags if flags else ''})</h3>")
        page.add(_table(headers, [(r[0], r[1], r[2], *r[3:]) for r in rows], left=1))
        page.add(
            "<p>The test set is for the final number only; model choices are made on the dev set.</p>"
        )
        out["splits"] = info
    page.data["data"] = out
    page.end()


def _model_section(page: _Page, model: Any) -> None:
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


def _scores_section(page: _Page, scores: Mapping[str, Mapping[str, float]]) -> None:
    page.section("scores", "Scores by model and split")
    splits = []
    for per_split in scores.values():
        splits += [s for s in per_split if s not in splits]
    page.add(
        _table(
            ["model", *splits], [(name, *(v.get(s) for s in splits)) for name, v in scores.items()]
        )
    )
    page.data["scores"] = to_jsonable(scores)
    page.end()


def _baselines_section(page: _Page, table: Any) -> None:
    page.section("baselines", "Baselines")
    data = to_jsonable(table.to_dict())
    data["ranking"] = [[name, score] for name, score in table.ranking()]
    metric = data["metric"]
    extra = "error_rate" if data["task"] == "classification" else "rmse"
    page.add(
        f"<p>Scored on the {_e(data['eval_set'])} set ({data['n_train']:,} training / "
        f"{data['n_eval']:,} evaluation samples); ranked by {_e(metric)}.</p>"
    )
    by_name = {r["name"]: r for r in data["rows"]}
    rows = []
    for rank, (name, _) in enumerate(data["ranking"], 1):
        r = by_name[name]
        rows.append(
            (
                str(rank),
                name,
                r["kind"],
                r["scores"].get(metric),
                r["scores"].get(extra),
                r["fit_seconds"],
            )
        )
    for r in data["rows"]:
        if r["skipped"]:
            rows.append(
                ("-", r["name"], f"{r['kind']} (skipped: {r['skipped']})", None, None, None)
            )
    page.add(
        _table(
            ["rank", "model", "kind", metric, extra, "time (s)"],
            rows,
            left=3,
            row_classes=[
                "primary" if by_name.get(r[1], {}).get("kind") == "network" else "" for r in rows
            ],
        )
    )
    networks = [r["name"] for r in data["rows"] if r["kind"] == "network" and not r["skipped"]]
    verdicts = {}
    for name in networks:
        try:
            verdicts[name] = table.verdict(name)
        except ValueError:
            continue
        page.add(f'<p class="verdict">{_e(verdicts[name])}</p>')
    if verdicts:
        data["verdicts"] = verdicts
    page.data["baselines"] = data
    page.end()


def _doctor_section(page: _Page, doctor: Any) -> None:
    page.section("doctor", "Sanity checks before training")
    data = to_jsonable(doctor.to_dict())
    rows = [(c["name"], c["status"].upper(), c["message"]) for c in data["checks"]]
    page.add(
        _table(
            ["check", "status", "finding"],
            rows,
            left=3,
            row_classes=[c["status"] for c in data["checks"]],
        )
    )
    fixes = [c for c in data["checks"] if c.get("fix") and c["status"] in ("warn", "fail")]
    if fixes:
        page.add(
            "<h3>Fixes</h3><ul>"
            + "".join(f"<li><b>{_e(c['name'])}</b>: {_e(c['fix'])}</li>" for c in fixes)
            + "</ul>"
        )
    page.add(
        f"<p><b>{'All checks passed (warnings allowed).' if data['ok'] else 'Some checks failed.'}</b></p>"
    )
    page.data["doctor"] = data
    page.end()


def _training_section(page: _Page, histories: Mapping[str, Any]) -> None:
    page.section("training", "Training curves")
    out = {}
    for name, history in histories.items():
        values = plots.history_dict(history)
        epochs = max((len(v) for v in values.values()), default=0)
        final = {k: v[-1] for k, v in values.items() if v}
        out[name] = {"history": values, "epochs": epochs, "final": final}
        if len(histories) > 1 or name != "model":
            page.add(f"<h3>{_e(name)}</h3>")
        page.figure(plots.plot_training_curves(values), f"training curves of {name}")
        page.add(_table(["quantity", "final value"], [(k, v) for k, v in final.items()]))
        page.add(f"<p>{epochs} epoch(s).</p>")
    page.data["training"] = to_jsonable(out)
    page.end()


def _diagnosis_section(page: _Page, diagnoses: Mapping[str, Any]) -> None:
    page.section("diagnosis", "Diagnosis: bias, variance, data mismatch")
    out = {}
    for name, d in diagnoses.items():
        data = to_jsonable(d.to_dict())
        out[name] = data
        if len(diagnoses) > 1 or name != "model":
            page.add(f"<h3>{_e(name)}</h3>")
        pct = data["task"] == "classification"

        def show(v: Any, pct: bool = pct) -> str:
            return "-" if v is None else (f"{100 * v:.2f}%" if pct else f"{v:.4g}")

        rows = [
            (label, show(data[key]))
            for label, key in (
                ("human-level error", "human_error"),
                ("best baseline error", "baseline_error"),
                ("common-sense error", "common_sense_error"),
                ("training error", "train_error"),
                ("train-dev error", "train_dev_error"),
                ("dev error", "dev_error"),
                ("test error", "test_error"),
            )
            if data[key] is not None
        ]
        gaps = [
            (label, show(data[key]), "primary" if data["primary"] == key else "")
            for label, key in (
                ("avoidable bias", "avoidable_bias"),
                ("variance", "variance"),
                ("data mismatch", "data_mismatch"),
                ("dev-set overfitting", "dev_overfitting"),
            )
            if data[key] is not None
        ]
        page.add(
            _table(
                ["quantity", "value"],
                rows + [(g[0], g[1]) for g in gaps],
                left=2,
                row_classes=[""] * len(rows) + [g[2] for g in gaps],
            )
        )
        page.add(
            f'<p class="verdict"><b>Primary problem: {_e(data["primary"].replace("_", " "))}.</b> '
            f"{_e(data['verdict'])}</p>"
        )
        page.add(
            "<p>Try next, in order:</p><ol>"
            + "".join(f"<li>{_e(r)}</li>" for r in data["recommendations"])
            + "</ol>"
        )
        if data["notes"]:
            page.add("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in data["notes"]) + "</ul>")
    page.data["diagnosis"] = out
    page.end()


def _learning_curve_section(page: _Page, curve: Any) -> None:
    page.section("learning_curve", "Learning curve: would more data help?")
    page.figure(curve.plot(), "learning curve")
    data = to_jsonable(curve.to_dict())
    pct = data["metric"] == "error"
    fmt = (lambda v: f"{100 * v:.2f}%") if pct else (lambda v: f"{v:.4g}")
    page.add(
        _table(
            ["samples", "train error", "dev error", "gap"],
            [
                (f"{s:,}", fmt(t), fmt(d), fmt(d - t))
                for s, t, d in zip(data["sizes"], data["train_errors"], data["dev_errors"])
            ],
            left=4,
        )
    )
    page.add(
        f'<p class="verdict"><b>{_e(data["reading"]["verdict"].replace("_", " "))}:</b> '
        f"{_e(data['reading']['message'])}</p>"
    )
    page.data["learning_curve"] = data
    page.end()


def _lr_find_section(page: _Page, result: Any) -> None:
    page.section("lr_find", "Learning-rate range test")
    page.figure(result.plot(), "learning-rate range test")
    page.add(f"<p>{_e(result)}</p>")
    page.data["lr_find"] = to_jsonable(result.to_dict())
    page.end()


def _as_error_analysis(value: Any) -> Any:
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


def _error_analysis_section(page: _Page, analysis: Any) -> None:
    page.section("error_analysis", "Error analysis")
    cm, rep, worst, groups = (
        analysis.confusion_matrix,
        analysis.classification_report,
        analysis.worst_mistakes,
        analysis.group_metrics,
    )
    if cm is not None:
        page.add("<h3>Confusion matrix</h3>")
        page.figure(cm.plot(), "confusion matrix")
        pairs = cm.most_confused(5)
        if pairs:
            page.add(
                "<p>Most confused (true as predicted): "
                + ", ".join(f"{_e(a)} as {_e(b)} ({c})" for a, b, c in pairs)
                + ".</p>"
            )
    if rep is not None:
        page.add("<h3>Per-class precision, recall and F1</h3>")
        rows = [
            (name, v["precision"], v["recall"], v["f1"], v["support"])
            for name, v in rep.per_class.items()
        ]
        rows += [
            (label, v["precision"], v["recall"], v["f1"], v["support"])
            for label, v in (("macro avg", rep.macro_avg), ("weighted avg", rep.weighted_avg))
        ]
        page.add(_table(["class", "precision", "recall", "f1", "support"], rows))
        page.add(f"<p>Accuracy: {rep.accuracy:.4f}.</p>")
    if worst is not None:
        title = "Most confident mistakes" if worst.task == "classification" else "Largest errors"
        page.add(f"<h3>{title}</h3>")
        if worst.mistakes:
            page.figure(worst.plot(), title.lower())
        score = "confidence" if worst.task == "classification" else "error"
        page.add(
            _table(
                ["index", "true", "predicted", score],
                [
                    (str(m.index), _short(m.true), _short(m.predicted), getattr(m, score))
                    for m in worst.mistakes
                ],
                left=3,
            )
        )
        if worst.task == "classification":
            page.add(
                f"<p>{worst.n_mistakes} of {worst.n_samples} samples are wrong. Look at the most "
                "confident mistakes first: they are often mislabelled or ambiguous.</p>"
            )
    if groups is not None:
        page.add("<h3>Metrics per group</h3>")
        page.figure(groups.plot(), "metrics per group")
        cols = ["accuracy", "error_rate"] if groups.task == "classification" else ["mae"]
        page.add(
            _table(
                ["group", "n", *cols],
                [(str(r["group"]), r["n"], *(r[c] for c in cols)) for r in groups.rows],
            )
        )
        page.add(
            f"<p>Largest gap in {_e(groups.metric)}: {groups.largest_gap:.4g} "
            f"({_e(groups.worst_group)} vs {_e(groups.best_group)}).</p>"
        )
    page.data["error_analysis"] = to_jsonable(analysis.to_dict())
    page.end()


# --------------------------------------------------------------------------- public


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.is_dir():
        p = p / "report.html"
    elif p.suffix.lower() not in (".html", ".htm"):
        p = p.with_name(p.name + ".html") if p.suffix.lower() != ".json" else p.with_suffix(".html")
    return p, p.with_suffix(".json")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report(
    path: str | os.PathLike,
    *,
    model: Any = None,
    splits: Any = None,
    history: Any = None,
    baselines: Any = None,
    diagnosis: Any = None,
    doctor: Any = None,
    learning_curve: Any = None,
    error_analysis: Any = None,
    data_summary: Any = None,
    scores: Mapping[str, Mapping[str, float]] | None = None,
    lr_find: Any = None,
    title: str = "Lamina report",
) -> ReportFiles:
    """Writes the workflow's results as a self-contained HTML page plus a JSON file.

    The HTML embeds every plot as a base64 PNG and its CSS inline: it loads no
    external resource. The JSON file (same path, `.json` suffix) holds all the
    numbers (see the module docstring for its layout). Sections whose argument
    is None are left out.

    Args:
        path: The HTML file to write (`.html` is added when missing; a folder gets
            `report.html`).
        model: The trained model: name, parameter counts and `summary()`.
        splits: A `lamina.data.Splits`: sizes and class counts (or target statistics) per set.
        history: A `History` from `fit` (or its dict), or a dict of run name to
            history, e.g. `{"overfit": h1, "regularised": h2}`.
        baselines: A `BaselineTable` from `run_baselines` (with the network added
            by `add_model`, for its verdict).
        diagnosis: A `Diagnosis`, or a dict of run name to `Diagnosis`.
        doctor: A `DoctorReport` from `doctor`.
        learning_curve: A `LearningCurve` from `learning_curve`.
        error_analysis: An `ErrorAnalysis` from `analyze_errors`, or a list of its
            parts (`ConfusionMatrix`, `ClassificationReport`, `WorstMistakes`, `GroupMetrics`).
        data_summary: A dict describing the data (name, samples, features, a
            `LeakageReport`, ...), shown as a table.
        scores: `{model name: {split: score}}`, e.g. accuracy per split.
        lr_find: An `LRFinderResult` from `lr_find`.
        title: The page title. Defaults to `"Lamina report"`.

    Returns:
        A `ReportFiles` with the `html` and `json` paths, the sections and the
        number of embedded images.
    """
    import torch

    import lamina

    page = _Page()
    if data_summary is not None or splits is not None:
        _data_section(page, data_summary, splits)
    if model is not None:
        _model_section(page, model)
    if scores is not None:
        _scores_section(page, scores)
    if baselines is not None:
        _baselines_section(page, baselines)
    if doctor is not None:
        _doctor_section(page, doctor)
    if history is not None:
        histories = (
            {"model": history}
            if not isinstance(history, Mapping)
            or all(isinstance(v, (list, tuple)) for v in history.values())
            else dict(history)
        )
        _training_section(page, histories)
    if diagnosis is not None:
        diagnoses = (
            dict(diagnosis)
            if isinstance(diagnosis, Mapping)
            else (
                {f"run {i}": d for i, d in enumerate(diagnosis, 1)}
                if isinstance(diagnosis, (list, tuple))
                else {"model": diagnosis}
            )
        )
        _diagnosis_section(page, diagnoses)
    if learning_curve is not None:
        _learning_curve_section(page, learning_curve)
    if lr_find is not None:
        _lr_find_section(page, lr_find)
    if error_analysis is not None:
        _error_analysis_section(page, _as_error_analysis(error_analysis))

    generated = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    sections = [key for key, _ in page.toc]
    data = {
        "title": title,
        "generated_at": generated,
        "lamina_version": lamina.__version__,
        "torch_version": torch.__version__,
        "sections": sections,
        **page.data,
    }
    toc = "".join(f'<li><a href="#{key}">{_e(name)}</a></li>' for key, name in page.toc)
    html_path, json_path = _paths(path)
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f'<body data-images="{page.images}"><h1>{_e(title)}</h1>'
        f'<p class="meta">Generated {generated} by Lamina {_e(lamina.__version__)} '
        f"(PyTorch {_e(torch.__version__)}). The numbers are also in {_e(json_path.name)}.</p>"
        + (f"<nav><ul>{toc}</ul></nav>" if toc else "<p>No results were given.</p>")
        + "\n".join(page.parts)
        + f"<script>{_IMAGE_CHECK}</script></body></html>\n"
    )
    _write(json_path, json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")
    _write(html_path, document)
    return ReportFiles(html_path, json_path, sections, page.images)
