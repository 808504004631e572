"""`report`: one self-contained HTML page and one JSON file with the whole workflow.

The HTML file needs nothing but a browser: CSS is inline and every plot is a
base64 PNG data URI, so it can be mailed, archived or attached to a ticket. The
JSON file beside it (same name, `.json`) holds every number of the page, for
scripts and dashboards. Every section is optional: pass what you have.

Every number that carries its uncertainty is shown with it: in the tables as
``8.25% (95% CI 5.9–11.4, n=400)`` (`interval_cell`), in the figures as error
bars (errors per split, baseline scores, per-group errors) or bands (learning
curves), and in the JSON as `Interval.to_dict()` dicts (estimate, low, high, n,
confidence, method) that `Interval.from_dict` reads back.

The package, one module per concern: `api` (`report`, `ReportFiles`), `page`
(the HTML page and its tables), `intervals` (cells and error-bar figures),
`jsonable` (`to_jsonable`) and `sections/` (one module per section).

JSON layout (keys present only for the sections given)::

    {"title", "generated_at", "lamina_version", "torch_version", "sections": [...],
     "data": {"summary": {...}, "splits": {...}},
     "model": {"name", "class", "parameters", "trainable_parameters", "summary"},
     "scores": {model: {split: value or interval}},
     "cross_validation": {run name: CVResult.to_dict()},
     "baselines": BaselineTable.to_dict() + "ranking", "verdicts", "comparisons",
     "doctor": DoctorReport.to_dict(),
     "tuning": TuningResults.to_dict() ({"study_name", "storage", "objective", "trials",
               "counts", "best", "runner_up", "dev_size"}) + {"plots": [the kinds drawn:
               "history", "importance", "parallel"], "best_params": {name: value} (when
               a trial completed),
               "comparison": {"best", "runner_up", "difference": Interval.to_dict(),
               "p_value", "n", "distinguishable", "outcome", "text", "method"} or null},
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

from lamina.workflow.report.api import ReportFiles, report
from lamina.workflow.report.intervals import as_interval, interval_bar_figure, interval_cell
from lamina.workflow.report.jsonable import to_jsonable

__all__ = [
    "ReportFiles",
    "as_interval",
    "interval_bar_figure",
    "interval_cell",
    "report",
    "to_jsonable",
]
