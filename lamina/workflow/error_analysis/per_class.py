"""Per-class precision, recall and F1, with Wilson intervals on the per-class
recall and precision (each a proportion of its own count of samples).

Example:
    >>> import numpy as np
    >>> from lamina.workflow import classification_report
    >>> report = classification_report(np.array([0, 1, 1]), None, np.array([0, 1, 0]))
    >>> report.per_class["0"]["recall"], report.intervals["0"]["recall"].n
    (0.5, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina.utils import validation
from lamina.workflow import uncertainty
from lamina.workflow.error_analysis.common import predictions_for
from lamina.workflow.error_analysis.confusion import ConfusionMatrix, confusion_of
from lamina.workflow.error_analysis.render import interval_cell, interval_dict, new_table, render
from lamina.workflow.uncertainty import Interval

__all__ = ["ClassificationReport", "classification_report", "report_from"]


@dataclass
class ClassificationReport:
    """Per-class precision, recall, F1 and support, with their averages.

    Classes that appear neither in the labels nor in the predictions are left
    out (as in scikit-learn). A precision or recall with a zero denominator is 0
    (and has no interval).

    Attributes:
        per_class: `{class name: {"precision", "recall", "f1", "support"}}`.
        accuracy: Share of correct predictions.
        macro_avg: Unweighted mean of the per-class values (support: the total).
        weighted_avg: Mean weighted by support.
        intervals: `{class name: {"precision": Interval | None, "recall": Interval | None}}`:
            Wilson score intervals; a recall's `n` is the class's support, a
            precision's `n` the number of samples predicted as the class.
        accuracy_interval: The accuracy's Wilson interval (`n`: all samples).
    """

    per_class: dict[str, dict[str, float]]
    accuracy: float
    macro_avg: dict[str, float]
    weighted_avg: dict[str, float]
    intervals: dict[str, dict[str, Interval | None]] = field(default_factory=dict)
    accuracy_interval: Interval | None = None

    def worst_classes(self, n: int = 3, by: str = "f1") -> list[tuple[str, float]]:
        """The ``n`` classes with the lowest ``by`` (``"f1"``, ``"precision"`` or ``"recall"``)."""
        validation.one_of("worst_classes", "by", by, ("f1", "precision", "recall"))
        rows = sorted(self.per_class.items(), key=lambda kv: kv[1][by])
        return [(name, values[by]) for name, values in rows[:n]]

    def to_dict(self) -> dict[str, Any]:
        """Returns every number as JSON-serialisable values (intervals as `Interval.to_dict()`)."""
        return {
            "per_class": {k: dict(v) for k, v in self.per_class.items()},
            "accuracy": self.accuracy,
            "accuracy_interval": interval_dict(self.accuracy_interval),
            "macro_avg": dict(self.macro_avg),
            "weighted_avg": dict(self.weighted_avg),
            "intervals": {
                name: {key: interval_dict(iv) for key, iv in values.items()}
                for name, values in self.intervals.items()
            },
        }

    def __str__(self) -> str:
        t = new_table("Per-class precision, recall (95% CI) and F1")
        t.add_column("class")
        for col in ("precision", "recall (CI)", "f1", "support"):
            t.add_column(col, justify="right")
        for name, v in self.per_class.items():
            recall = self.intervals.get(name, {}).get("recall")
            t.add_row(
                name,
                f"{v['precision']:.4f}",
                interval_cell(recall) if recall is not None else f"{v['recall']:.4f}",
                f"{v['f1']:.4f}",
                str(int(v["support"])),
            )
        t.add_section()
        for name, v in (("macro avg", self.macro_avg), ("weighted avg", self.weighted_avg)):
            t.add_row(
                name,
                f"{v['precision']:.4f}",
                f"{v['recall']:.4f}",
                f"{v['f1']:.4f}",
                str(int(v["support"])),
            )
        accuracy = (
            str(self.accuracy_interval)
            if self.accuracy_interval is not None
            else f"{self.accuracy:.4f}"
        )
        return render(t).rstrip() + f"\nAccuracy: {accuracy}"


def _wilson(hits: float, n: float, confidence: float) -> Interval | None:
    return uncertainty.wilson_interval(int(hits), int(n), confidence) if n > 0 else None


def report_from(cm: ConfusionMatrix, confidence: float = 0.95) -> ClassificationReport:
    """The `ClassificationReport` of a confusion matrix."""
    counts = cm.counts.astype(np.float64)
    tp = np.diag(counts)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    keep = (support > 0) | (predicted > 0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    kept = np.flatnonzero(keep)
    per_class = {
        cm.class_names[i]: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in kept
    }
    intervals = {
        cm.class_names[i]: {
            "precision": _wilson(tp[i], predicted[i], confidence),
            "recall": _wilson(tp[i], support[i], confidence),
        }
        for i in kept
    }
    total = float(support.sum())
    weights = support[keep] / total if total else np.zeros(len(kept))

    def averages(w: np.ndarray | None) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
            v = values[keep]
            out[name] = float(v.mean()) if w is None else float((v * w).sum())
        out["support"] = int(total)
        return out

    return ClassificationReport(
        per_class,
        cm.accuracy,
        averages(None),
        averages(weights),
        intervals,
        cm.accuracy_interval(confidence),
    )


def classification_report(
    model_or_predictions: Any,
    x: Any = None,
    y: Any = None,
    class_names: Sequence[str] | None = None,
    task: str = "auto",
    confidence: float = 0.95,
) -> ClassificationReport:
    """Per-class precision, recall and F1 (the numbers of scikit-learn's report),
    with a Wilson interval on each class's recall and precision.

    Precision of class c: of the samples predicted as c, the share that are c.
    Recall: of the samples of class c, the share predicted as c. F1: their
    harmonic mean. Macro average: the plain mean over classes; weighted average:
    weighted by each class's support (number of true samples). A class with a
    small support has a wide recall interval: read its recall with it.

    Args:
        model_or_predictions: A `Predictions`, a trained model or its outputs (see
            `confusion_matrix`).
        x: The inputs (None when predictions are given). Defaults to `None`.
        y: The true labels (not needed with a `Predictions`). Defaults to `None`.
        class_names: A display name per class. Defaults to `None`.
        task: ``"classification"``, ``"regression"`` or ``"auto"``. Defaults to `"auto"`.
        confidence: Level of the intervals. Defaults to `0.95`.

    Returns:
        A `ClassificationReport`.

    Example:
        >>> report = classification_report(np.array([0, 1, 1]), None, np.array([0, 1, 0]))
        >>> report.per_class["0"]["recall"], report.per_class["1"]["precision"]
        (0.5, 0.5)
    """
    owner = "classification_report"
    p = predictions_for(model_or_predictions, x, y, task, owner)
    return report_from(confusion_of(p, class_names, owner), confidence)
