"""Correlation between targets and predictions, per sample: the functions
:func:`pearson_correlation` and :func:`concordance_correlation` and their means
over samples, :class:`PearsonCorrelation` and :class:`ConcordanceCorrelation`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import losses
from lamina.metrics.reduction import MeanMetricWrapper


def _per_sample_mean(values: torch.Tensor) -> torch.Tensor:
    return values if values.ndim <= 1 else values.flatten(1).mean(dim=1)


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Pearson correlation between targets and predictions along ``axis``, per sample.

    ``mean(z(y_true) * z(y_pred))`` with ``z(x) = (x - mean(x)) / (std(x) + 1e-7)``
    along ``axis`` (as Keras computes it).

    Args:
        y_true: Targets, shape ``(batch, features)``.
        y_pred: Predictions, same shape.
        axis: The axis to correlate along. Defaults to `-1`.

    Returns:
        The per-sample coefficient, shape ``(batch,)``.
    """
    y_pred = torch.as_tensor(y_pred)
    y_true, y_pred = losses._align_shapes(
        "pearson_correlation", torch.as_tensor(y_true, device=y_pred.device), y_pred
    )
    y_true = y_true.to(y_pred.dtype)
    t = y_true - y_true.mean(dim=axis, keepdim=True)
    p = y_pred - y_pred.mean(dim=axis, keepdim=True)
    t = t / (t.std(dim=axis, keepdim=True, correction=0) + losses.EPSILON)
    p = p / (p.std(dim=axis, keepdim=True, correction=0) + losses.EPSILON)
    return _per_sample_mean((t * p).mean(dim=axis))


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Lin's concordance correlation between targets and predictions along ``axis``, per sample.

    ``2 cov(y_true, y_pred) / (var(y_true) + var(y_pred) + (mean(y_true) - mean(y_pred))²)``
    along ``axis``: 1 only when the predictions equal the targets.

    Args:
        y_true: Targets, shape ``(batch, features)``.
        y_pred: Predictions, same shape.
        axis: The axis to compare along. Defaults to `-1`.

    Returns:
        The per-sample coefficient, shape ``(batch,)``.
    """
    y_pred = torch.as_tensor(y_pred)
    y_true, y_pred = losses._align_shapes(
        "concordance_correlation", torch.as_tensor(y_true, device=y_pred.device), y_pred
    )
    y_true = y_true.to(y_pred.dtype)
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = y_true.var(dim=axis, keepdim=True, correction=0)
    pred_var = y_pred.var(dim=axis, keepdim=True, correction=0)
    covariance = (y_true - true_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + (true_mean - pred_mean) ** 2
    return _per_sample_mean((2.0 * covariance / (norm + losses.EPSILON)).mean(dim=axis))


def _check_axis(owner: str, axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(f"`{owner}` expects `axis` to be an integer. Received: axis={axis!r}.")


class PearsonCorrelation(MeanMetricWrapper):
    """Mean over samples of the Pearson correlation along ``axis``; see
    :func:`pearson_correlation`.

    Args:
        name: Defaults to `"pearson_correlation"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        axis: The axis to correlate along. Defaults to `-1`.

    Example:

    >>> import torch
    >>> m = PearsonCorrelation()
    >>> m.update_state(torch.tensor([[0, 1, 0.5], [1, 1, 0.2]]),
    ...                torch.tensor([[0.1, 0.9, 0.5], [1, 0.9, 0.2]]))
    >>> m.result()
    tensor(0.9967)
    """

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1):
        _check_axis("PearsonCorrelation", axis)
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class ConcordanceCorrelation(MeanMetricWrapper):
    """Mean over samples of the concordance correlation along ``axis``; see
    :func:`concordance_correlation`.

    Args:
        name: Defaults to `"concordance_correlation"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        axis: The axis to compare along. Defaults to `-1`.

    Example:

    >>> import torch
    >>> m = ConcordanceCorrelation()
    >>> m.update_state(torch.tensor([[0, 1, 0.5], [1, 1, 0.2]]),
    ...                torch.tensor([[0.1, 0.9, 0.5], [1, 0.9, 0.2]]))
    >>> m.result()
    tensor(0.9816)
    """

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1):
        _check_axis("ConcordanceCorrelation", axis)
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
