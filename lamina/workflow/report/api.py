"""`report()`: assembles the sections into one HTML page and one JSON file."""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import _CSS, _IMAGE_CHECK, _e, _Page
from lamina.workflow.report.sections.baselines import baselines_section
from lamina.workflow.report.sections.cross_validation import cross_validation_section
from lamina.workflow.report.sections.curves import (
    learning_curve_section,
    lr_find_section,
    training_section,
)
from lamina.workflow.report.sections.data import data_section
from lamina.workflow.report.sections.diagnosis import diagnosis_section
from lamina.workflow.report.sections.doctor import doctor_section
from lamina.workflow.report.sections.errors import as_error_analysis, error_analysis_section
from lamina.workflow.report.sections.model import model_section, scores_section
from lamina.workflow.report.sections.tuning import tuning_section

__all__ = ["ReportFiles", "report"]


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


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.is_dir():
        p = p / "report.html"
    elif p.suffix.lower() not in (".html", ".htm"):
        p = p.with_name(p.name + ".html") if p.suffix.lower() != ".json" else p.with_suffix(".html")
    return p, p.with_suffix(".json")


def _write(path: Path, text: str) -> None:
    """Writes ``text`` atomically (a temporary file renamed over ``path``), readable by others."""
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


def _histories(history: Any) -> dict[str, Any]:
    """One `History` (or its dict of lists) is the run "model"; a dict of them is by run."""
    if not isinstance(history, Mapping) or all(
        isinstance(v, (list, tuple)) for v in history.values()
    ):
        return {"model": history}
    return dict(history)


def _by_run(results: Any) -> dict[str, Any]:
    """One result is the run "model"; a dict is by run name; a list is "run 1", "run 2", ..."""
    if isinstance(results, Mapping):
        return dict(results)
    if isinstance(results, (list, tuple)):
        return {f"run {i}": r for i, r in enumerate(results, 1)}
    return {"model": results}


def _page(results: dict[str, Any]) -> _Page:
    """The page with a section for each result given, in reading order."""
    page = _Page()
    r = results
    if r["data_summary"] is not None or r["splits"] is not None:
        data_section(page, r["data_summary"], r["splits"])
    if r["model"] is not None:
        model_section(page, r["model"])
    if r["scores"] is not None:
        scores_section(page, r["scores"])
    if r["cross_validation"] is not None:
        cross_validation_section(page, _by_run(r["cross_validation"]))
    if r["baselines"] is not None:
        baselines_section(page, r["baselines"])
    if r["doctor"] is not None:
        doctor_section(page, r["doctor"])
    if r["tuning"] is not None:
        tuning_section(page, r["tuning"])
    if r["history"] is not None:
        training_section(page, _histories(r["history"]))
    if r["diagnosis"] is not None:
        diagnosis_section(page, _by_run(r["diagnosis"]))
    if r["learning_curve"] is not None:
        learning_curve_section(page, r["learning_curve"])
    if r["lr_find"] is not None:
        lr_find_section(page, r["lr_find"])
    if r["error_analysis"] is not None:
        error_analysis_section(page, as_error_analysis(r["error_analysis"]))
    return page


def _document(page: _Page, title: str, generated: str, json_name: str) -> str:
    import torch

    import lamina

    toc = "".join(f'<li><a href="#{key}">{_e(name)}</a></li>' for key, name in page.toc)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n"
        f'<body data-images="{page.images}"><h1>{_e(title)}</h1>'
        f'<p class="meta">Generated {generated} by Lamina {_e(lamina.__version__)} '
        f"(PyTorch {_e(torch.__version__)}). The numbers are also in {_e(json_name)}.</p>"
        + (f"<nav><ul>{toc}</ul></nav>" if toc else "<p>No results were given.</p>")
        + "\n".join(page.parts)
        + f"<script>{_IMAGE_CHECK}</script></body></html>\n"
    )


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
    scores: Mapping[str, Mapping[str, Any]] | None = None,
    lr_find: Any = None,
    cross_validation: Any = None,
    tuning: Any = None,
    title: str = "Lamina report",
) -> ReportFiles:
    """Writes the workflow's results as a self-contained HTML page plus a JSON file.

    The HTML embeds every plot as a base64 PNG and its CSS inline: it loads no
    external resource. Every number that carries an interval (errors per split,
    gaps, baseline scores, learning-curve points, per-group errors) is shown
    with it in the tables (``8.25% (95% CI 5.9–11.4, n=400)``) and as error bars
    or bands in the figures. The JSON file (same path, `.json` suffix) holds all
    the numbers, intervals as `Interval.to_dict()` dicts (see the package
    docstring for its layout). Sections whose argument is None are left out.

    Args:
        path: The HTML file to write (`.html` is added when missing; a folder gets
            `report.html`).
        model: The trained model: name, parameter counts and `summary()`.
        splits: A `lamina.data.Splits`: sizes and class counts (or target statistics) per set.
        history: A `History` from `fit` (or its dict), or a dict of run name to
            history, e.g. `{"overfit": h1, "regularised": h2}`.
        baselines: A `BaselineTable` from `run_baselines` (with the network added
            by `add_model`, for its verdict and paired comparison).
        diagnosis: A `Diagnosis`, or a dict of run name to `Diagnosis`.
        doctor: A `DoctorReport` from `doctor`.
        learning_curve: A `LearningCurve` from `learning_curve`.
        error_analysis: An `ErrorAnalysis` from `analyze_errors`, or a list of its
            parts (`ConfusionMatrix`, `ClassificationReport`, `WorstMistakes`, `GroupMetrics`).
        data_summary: A dict describing the data (name, samples, features, a
            `LeakageReport`, ...), shown as a table.
        scores: `{model name: {split: score}}`, e.g. accuracy per split; a score
            may be an `Interval`.
        lr_find: An `LRFinderResult` from `lr_find`.
        cross_validation: A `CVResult` from `lamina.data.cross_validate`, or a dict
            of model name to `CVResult`: mean, standard deviation and corrected
            interval of each metric, and every fit's scores.
        tuning: A `lamina.tuning.Tuner` after its search, or its `TuningResults`:
            the study, one row per trial (parameters, objective, epochs run, state,
            time), Optuna's optimisation-history, parameter-importance (with at
            least 2 complete trials) and parallel-coordinates plots, the chosen
            parameters, and whether the best trial is distinguishable from the
            runner-up on the dev set (the difference's interval, the p-value and
            the dev-set size; JSON key `"tuning"`: `TuningResults.to_dict()` plus
            `"best_params"`, `"plots"` and `"comparison"`).
        title: The page title. Defaults to `"Lamina report"`.

    Returns:
        A `ReportFiles` with the `html` and `json` paths, the sections and the
        number of embedded images.

    Example:
        >>> from lamina.workflow import Diagnosis, report
        >>> files = report("out/report.html", diagnosis=Diagnosis.from_errors(
        ...     train=0.02, dev=0.10))  # doctest: +SKIP
        >>> files.sections  # doctest: +SKIP
        ['diagnosis']
    """
    page = _page(dict(locals()))  # every argument, by name

    import torch

    import lamina

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
    html_path, json_path = _paths(path)
    _write(json_path, json.dumps(to_jsonable(data), indent=2, allow_nan=False) + "\n")
    _write(html_path, _document(page, title, generated, json_path.name))
    return ReportFiles(html_path, json_path, sections, page.images)
