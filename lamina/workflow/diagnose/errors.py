"""The error measures of a diagnosis, usable on their own: 1 − accuracy, MAE, RMSE."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.utils import validation
from lamina.workflow.predictions.decode import _numpy as _as_numpy

__all__ = ["classification_error", "regression_error"]


def classification_error(y_true: Any, y_pred: Any, *, loss: Any = None) -> float:
    """1 − accuracy of predicted scores against labels.

    Multi-unit outputs are compared by argmax (labels may be integers or one-hot;
    with a binary-crossentropy `loss` each unit is a separate 0/1 label). A single
    unit is thresholded at 0.5, or at 0 when the loss has ``from_logits=True``
    (without a loss: 0.5 when every output lies in [0, 1], else 0).

    Args:
        y_true: Labels, shape ``(n,)``, ``(n, 1)`` or one-hot ``(n, classes)``.
        y_pred: Model outputs, shape ``(n, units)`` or ``(n,)``.
        loss: The compiled `Loss` (or None), for `from_logits` and its kind.
            Defaults to `None`.

    Returns:
        The error rate in [0, 1].
    """
    y_true = _as_numpy(y_true, "classification_error", "y_true")
    y_pred = _as_numpy(y_pred, "classification_error", "y_pred").astype(np.float64)
    kind = getattr(loss, "kind", None)
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:
        if kind == "binary_crossentropy":  # multi-label: one 0/1 decision per unit
            threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
            truth = y_true.reshape(y_pred.shape) >= 0.5
            return float(np.mean((y_pred > threshold) != truth))
        predicted = y_pred.argmax(-1)
        truth = (
            y_true.argmax(-1) if y_true.shape == y_pred.shape else y_true.reshape(predicted.shape)
        )
        return float(np.mean(predicted != truth))
    scores = y_pred.reshape(-1)
    if loss is not None and kind is not None:
        threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
    else:
        threshold = (
            0.5 if (scores.min(initial=0.0) >= 0.0 and scores.max(initial=0.0) <= 1.0) else 0.0
        )
    truth = y_true.reshape(-1).astype(np.float64) >= 0.5
    return float(np.mean((scores > threshold) != truth))


def regression_error(y_true: Any, y_pred: Any, metric: str = "mae") -> float:
    """The mean absolute error (``"mae"``) or root mean squared error (``"rmse"``).

    Args:
        y_true: Targets, shape ``(n, ...)``.
        y_pred: Predictions with as many values per sample.
        metric: ``"mae"`` or ``"rmse"``. Defaults to `"mae"`.
    """
    validation.one_of("regression_error", "metric", metric, ("mae", "rmse"))
    y_true = _as_numpy(y_true, "regression_error", "y_true").astype(np.float64)
    y_pred = _as_numpy(y_pred, "regression_error", "y_pred").astype(np.float64)
    n = y_pred.shape[0]
    if y_true.size != y_pred.size:
        raise ValueError(
            "`regression_error` expects as many targets as predictions per sample. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}."
        )
    diff = y_pred.reshape(n, -1) - y_true.reshape(n, -1)
    if metric == "mae":
        return float(np.mean(np.abs(diff)))
    return float(np.sqrt(np.mean(diff**2)))
