"""The hinge losses for margin classifiers: :func:`hinge`, :func:`squared_hinge`
and :func:`categorical_hinge`, with their classes (Keras names, formulas and defaults).

Example:

>>> import torch
>>> from lamina import losses
>>> losses.Hinge()(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.5], [0.5]]))
tensor(1.)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses.base import LossFunctionWrapper
from lamina.losses.utils import _align_shapes, _last_axis_mean, _prepare


def _hinge_targets(owner: str, y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Aligned targets in {-1, 1}: 0/1 labels are mapped to -1/1 (decided on the
    device, for the whole batch, as Keras does), other values are kept."""
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes(owner, y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true), y_pred


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Hinge loss ``mean(max(1 - y_true * y_pred, 0))`` over non-batch axes.

    Args:
        y_true: Targets in {-1, 1}; 0/1 labels are converted to -1/1. Same
            shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predicted scores (not probabilities).

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _hinge_targets("hinge", y_true, y_pred)
    return _last_axis_mean(torch.relu(1.0 - y_true * y_pred))


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Squared hinge loss ``mean(max(1 - y_true * y_pred, 0) ** 2)`` over non-batch axes.

    Args:
        y_true: Targets in {-1, 1}; 0/1 labels are converted to -1/1.
        y_pred: Predicted scores.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _hinge_targets("squared_hinge", y_true, y_pred)
    return _last_axis_mean(torch.relu(1.0 - y_true * y_pred) ** 2)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Categorical hinge loss ``max(neg - pos + 1, 0)`` over the last axis.

    ``pos = sum(y_true * y_pred)`` is the score of the true class and
    ``neg = max((1 - y_true) * y_pred)`` the best score of another class.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Predicted scores, same shape.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("categorical_hinge", y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    pos = (y_true * y_pred).sum(dim=-1)
    neg = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return torch.relu(neg - pos + 1.0)


class Hinge(LossFunctionWrapper):
    """Hinge loss for -1/1 (or 0/1) targets; see :func:`hinge`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"hinge"`.

    Example:

    >>> import torch
    >>> Hinge()(torch.tensor([[1.0], [-1.0]]), torch.tensor([[0.5], [0.5]]))
    tensor(1.)
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge"):
        super().__init__(hinge, name=name, reduction=reduction)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss; see :func:`squared_hinge`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"squared_hinge"`.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge"):
        super().__init__(squared_hinge, name=name, reduction=reduction)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss for one-hot targets; see :func:`categorical_hinge`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"categorical_hinge"`.
    """

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "categorical_hinge"
    ):
        super().__init__(categorical_hinge, name=name, reduction=reduction)
