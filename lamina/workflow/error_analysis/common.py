"""What every error-analysis function does first: turn what it was given (a
`Predictions`, a model or its outputs) into a `Predictions` for one task, and
list the classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina.data.tasks import TASKS
from lamina.utils import validation
from lamina.workflow.error_analysis.render import py
from lamina.workflow.predictions import Predictions

__all__ = ["predictions_for", "need_classification", "classes"]


def predictions_for(
    model_or_predictions: Any, x: Any, y: Any, task: str, owner: str
) -> Predictions:
    """The `Predictions` to analyse: given as is, or built by `Predictions.of` (the
    model run once on ``x``; ``task="auto"`` decided by `lamina.data.infer_task`
    from the targets, the outputs and the model's loss)."""
    validation.one_of(owner, "task", task, ("auto",) + TASKS)
    if not isinstance(model_or_predictions, Predictions) and y is None:
        raise ValueError(
            f"`{owner}` needs the true labels or targets `y`. Received: y=None. Pass `y`, or pass "
            "a `Predictions` (which holds them) instead of the model."
        )
    p = Predictions.of(model_or_predictions, x, y, task=task, owner=owner)
    if p.multi_label:
        raise ValueError(
            f"`{owner}` analyses single-label classification and regression. Received: "
            f"multi-label predictions ({p.n_outputs} sigmoid outputs). Analyse each label as its "
            "own binary task: `Predictions(y[:, j], y_pred[:, j])`."
        )
    return p


def need_classification(p: Predictions, owner: str, alternative: str) -> None:
    """A clear error when a classification-only analysis gets regression predictions."""
    if p.task != "classification":
        raise ValueError(
            f"`{owner}` is for classification. Received: predictions of a {p.task} task. "
            f"{alternative} Pass task='classification' if the targets are classes."
        )


def classes(
    p: Predictions, class_names: Sequence[str] | None, owner: str
) -> tuple[list[Any], list[str]]:
    """The class values in order and a display name for each.

    With class scores (one output column per class) the classes are
    ``0..outputs-1``; with predicted labels, every label seen in the targets or
    the predictions, sorted.
    """
    if p.confidence is not None:  # scores: one class per output column
        labels: list[Any] = list(range(max(p.n_outputs, 2)))
        present = set(np.unique(p.y_true).tolist())
        if not present <= set(labels):
            raise ValueError(
                f"`{owner}` expects integer labels 0..{len(labels) - 1}. Received: labels "
                f"{sorted(present - set(labels), key=str)[:5]} outside that range."
            )
    else:
        labels = sorted(
            set(np.unique(p.y_true).tolist()) | set(np.unique(p.y_pred).tolist()), key=str
        )
        if all(isinstance(v, (int, float)) for v in labels):
            labels = sorted(labels)
    if class_names is None:
        return labels, [str(py(v)) for v in labels]
    names = [str(n) for n in class_names]
    if len(names) != len(labels):
        raise ValueError(
            f"`{owner}` expects one class name per class ({len(labels)} classes). Received: "
            f"{len(names)} class_names."
        )
    return labels, names
