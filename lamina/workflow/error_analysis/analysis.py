"""`analyze_errors`: the whole error analysis from one prediction pass.

Example:
    >>> import numpy as np
    >>> from lamina.workflow import analyze_errors
    >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    >>> analysis = analyze_errors(probs, None, [0, 1, 1, 1], k=2)
    >>> print(analysis.error)
    0.25 (95% CI 0.0456 to 0.699, n=4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lamina.data.splits import num_samples
from lamina.utils import validation
from lamina.workflow.error_analysis.common import predictions_for
from lamina.workflow.error_analysis.confusion import ConfusionMatrix, confusion_of
from lamina.workflow.error_analysis.groups import GroupMetrics, group_metrics_of
from lamina.workflow.error_analysis.mistakes import WorstMistakes, worst_of
from lamina.workflow.error_analysis.per_class import ClassificationReport, report_from
from lamina.workflow.error_analysis.render import interval_dict, py
from lamina.workflow.inputs import split_pairs
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

__all__ = ["ErrorAnalysis", "analyze_errors"]

_PARTS = ("confusion_matrix", "classification_report", "worst_mistakes", "group_metrics")


@dataclass
class ErrorAnalysis:
    """The results of `analyze_errors` (each part None when it does not apply).

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        confusion_matrix: A `ConfusionMatrix` (classification).
        classification_report: A `ClassificationReport` (classification).
        worst_mistakes: A `WorstMistakes`.
        group_metrics: A `GroupMetrics` (when groups were given).
        extra: Anything the caller wants to keep with the analysis.
        metric: The overall error measure: ``"error_rate"``, ``"mae"`` or ``"rmse"``
            (None for an analysis assembled from parts).
        error: The overall error with its interval and sample size (an `Interval`),
            or None.
        predictions: The `Predictions` analysed (not in `to_dict`), or None.
    """

    task: str
    confusion_matrix: ConfusionMatrix | None = None
    classification_report: ClassificationReport | None = None
    worst_mistakes: WorstMistakes | None = None
    group_metrics: GroupMetrics | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    metric: str | None = None
    error: Interval | None = None
    predictions: Predictions | None = field(default=None, repr=False, compare=False)

    @property
    def n(self) -> int | None:
        """Number of samples analysed (None when unknown)."""
        return None if self.error is None else self.error.n

    def summary(self) -> str:
        """The overall error with its interval and, with groups, the group verdict."""
        lines = []
        if self.error is not None:
            lines.append(f"Overall {self.metric}: {self.error}")
        if self.group_metrics is not None:
            lines.append(self.group_metrics.verdict)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Returns every part as JSON-serialisable values (missing parts omitted).

        Keys: ``task``; with an overall error ``metric``, ``n``, ``error`` (an
        `Interval.to_dict()`); with groups ``gap_established`` and
        ``group_to_look_at``; then each present part's ``to_dict()``.
        """
        out: dict[str, Any] = {"task": self.task}
        if self.error is not None:
            out.update(metric=self.metric, n=self.n, error=interval_dict(self.error))
        if self.group_metrics is not None:
            out["gap_established"] = self.group_metrics.gap_established
            out["group_to_look_at"] = py(self.group_metrics.group_to_look_at)
        for name in _PARTS:
            part = getattr(self, name)
            if part is not None:
                out[name] = part.to_dict()
        return out

    def __str__(self) -> str:
        parts = [str(getattr(self, name)) for name in _PARTS if getattr(self, name) is not None]
        if self.error is not None:
            parts.insert(0, f"Error analysis ({self.task}), overall {self.metric}: {self.error}")
        return "\n\n".join(parts) or f"Error analysis ({self.task}): no part was computed."


def _resolve_data(owner: str, x: Any, y: Any, splits: Any, dev: Any) -> tuple[Any, Any]:
    if splits is None and dev is None:
        return x, y
    if x is not None or y is not None:
        raise ValueError(
            f"`{owner}` expects the data either as `x, y` or as `splits=` / `dev=`, not both. "
            "Pass one of them."
        )
    pair = split_pairs(owner, splits, dev=dev)["dev"]
    if pair is None:
        raise ValueError(
            f"`{owner}` analyses the dev set, and the splits given have none. Received: splits "
            "without `dev`. Split with `lamina.data.split(..., dev=0.2)` or pass `dev=(x, y)`."
        )
    return pair


def analyze_errors(
    model_or_predictions: Any,
    x: Any = None,
    y: Any = None,
    class_names: Sequence[str] | None = None,
    groups: Any = None,
    k: int = 10,
    image_shape: tuple[int, ...] | None = None,
    task: str = "auto",
    *,
    metric: str = "auto",
    confidence: float = 0.95,
    seed: int = 0,
    splits: Any = None,
    dev: Any = None,
) -> ErrorAnalysis:
    """Runs the whole error analysis with one prediction pass.

    Classification: confusion matrix, per-class report (with recall intervals),
    most confident mistakes and (with ``groups``) metrics per group. Regression:
    largest errors and metrics per group. Every error comes with its interval and
    sample size; with groups, a group is flagged as the one to look at only when
    its gap to the rest is established.

    Args:
        model_or_predictions: A `Predictions`, a trained model or its outputs.
        x: The inputs (dev set, usually: keep the test set for the final number).
            Defaults to `None`.
        y: The true labels or targets (not needed with a `Predictions`). Defaults to `None`.
        class_names: A display name per class. Defaults to `None`.
        groups: One group id per sample, or None. Defaults to `None`.
        k: How many worst mistakes to keep. Defaults to `10`.
        image_shape: Shape to draw each input as an image. Defaults to `None`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (`lamina.data.infer_task`
            on the targets, the outputs and the model's loss). Defaults to `"auto"`.
        metric: The regression error, ``"mae"`` or ``"rmse"`` (``"auto"``: the MAE;
            classification uses the error rate). Defaults to `"auto"`.
        confidence: Level of the intervals. Defaults to `0.95`.
        seed: Seed of the bootstrap intervals (regression). Defaults to `0`.
        splits: A `lamina.data.Splits` (or dict) whose dev set is analysed, instead
            of ``x, y``. Defaults to `None`.
        dev: The dev set as an ``(x, y)`` pair, instead of ``x, y``. Defaults to `None`.

    Returns:
        An `ErrorAnalysis`.
    """
    owner = "analyze_errors"
    validation.positive_int(owner, "k", k)
    x, y = _resolve_data(owner, x, y, splits, dev)
    if y is not None and num_samples(y, "y") == 0:
        raise ValueError(f"`{owner}` needs at least one sample. Received: 0 labels.")
    p = predictions_for(model_or_predictions, x, y, task, owner)
    out = ErrorAnalysis(p.task, predictions=p)
    if p.task == "classification":
        if metric not in ("auto", "error_rate"):
            raise ValueError(
                f"`{owner}` measures classification by the error rate. Received: metric={metric!r}. "
                "Pass metric='auto'."
            )
        out.confusion_matrix = confusion_of(p, class_names, owner)
        out.classification_report = report_from(out.confusion_matrix, confidence)
        out.metric, pmetric = "error_rate", "error"
    else:
        validation.one_of(owner, "metric", metric, ("auto", "mae", "rmse"))
        out.metric = pmetric = "mae" if metric == "auto" else metric
    out.error = p.error_interval(pmetric, confidence=confidence, seed=seed)
    out.worst_mistakes = worst_of(p, x, k, class_names, image_shape, owner)
    if groups is not None:
        out.group_metrics = group_metrics_of(p, groups, owner, out.metric, confidence, seed)
    return out
