"""Overlap losses for segmentation masks: Dice and Tversky (Salehi et al., 2017).

The functions give the per-sample loss, or one value for the whole batch with
``axis=None`` (Keras' default).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses.base import LossFunctionWrapper
from lamina.losses.utils import EPSILON, _align_shapes, _per_sample, _prepare
from lamina.utils import validation


def _overlap_sums(
    owner: str, y_true: Any, y_pred: Any, axis: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes(owner, y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    dims = None if axis is None else (list(axis) if isinstance(axis, (list, tuple)) else axis)

    def total(x: torch.Tensor) -> torch.Tensor:
        return x.sum() if dims is None else x.sum(dim=dims)

    return total(y_true * y_pred), total(y_true), total(y_pred), total(y_true * (1.0 - y_pred))


def dice(y_true: Any, y_pred: Any, axis: int | tuple[int, ...] | None = None) -> torch.Tensor:
    """Dice loss ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)``.

    Args:
        y_true: Targets in ``[0, 1]`` (for example segmentation masks).
        y_pred: Predicted probabilities, same shape.
        axis: Axes to sum over. `None` sums over everything, giving one value
            for the whole batch (Keras' default); pass the non-batch axes, for
            example ``(1, 2, 3)`` for masks of shape ``(batch, h, w, 1)``, for a
            per-sample loss. Defaults to `None`.

    Returns:
        A scalar with ``axis=None``, else the per-sample loss, shape ``(batch,)``.
    """
    intersection, true_sum, pred_sum, _ = _overlap_sums("dice", y_true, y_pred, axis)
    return _per_sample(1.0 - 2.0 * intersection / (true_sum + pred_sum + EPSILON))


def tversky(
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.5,
    beta: float = 0.5,
    axis: int | tuple[int, ...] | None = None,
) -> torch.Tensor:
    """Tversky loss (Salehi et al., 2017), a Dice loss with weighted error terms.

    ``loss = 1 - tp / (tp + alpha * a + beta * b + 1e-7)`` with
    ``tp = sum(y_true * y_pred)``, ``a = sum(y_true * (1 - y_pred))`` and
    ``b = sum((1 - y_true) * y_pred)``, exactly as Keras computes it (Keras'
    documentation calls ``alpha`` the false-positive weight, but its code
    applies it to ``a``; Lamina follows the code, so values match).
    ``alpha = beta = 0.5`` gives the Dice loss.

    Args:
        y_true: Targets in ``[0, 1]``.
        y_pred: Predicted probabilities, same shape.
        alpha: Weight of ``a``. Defaults to `0.5`.
        beta: Weight of ``b``. Defaults to `0.5`.
        axis: Axes to sum over; see :func:`dice`. Defaults to `None`.

    Returns:
        A scalar with ``axis=None``, else the per-sample loss, shape ``(batch,)``.
    """
    tp, _, pred_sum, a = _overlap_sums("tversky", y_true, y_pred, axis)
    b = pred_sum - tp
    return _per_sample(1.0 - tp / (tp + alpha * a + beta * b + EPSILON))


# --------------------------------------------------------------------------- classes


def _axis_arg(owner: str, axis: Any) -> Any:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if axis is None or is_int(axis):
        return axis
    if isinstance(axis, (list, tuple)) and axis and all(is_int(v) for v in axis):
        return list(axis)
    raise ValueError(
        f"`{owner}` expects `axis` to be None, an integer or a tuple of integers. "
        f"Received: axis={axis!r}."
    )


class Dice(LossFunctionWrapper):
    """Dice loss for segmentation masks; see :func:`dice`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"dice"`.
        axis: Axes to sum over; `None` gives one value for the whole batch
            (then ``sample_weight`` cannot apply). Defaults to `None`.

    Example:

    >>> import torch
    >>> y = torch.tensor([[1.0, 1.0, 0.0, 0.0]])
    >>> Dice()(y, torch.tensor([[0.0, 1.0, 0.0, 1.0]]))
    tensor(0.5000)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "dice",
        axis: int | tuple[int, ...] | None = None,
    ):
        axis = _axis_arg("Dice", axis)
        super().__init__(dice, name=name, reduction=reduction, axis=axis)
        self.axis = axis


class Tversky(LossFunctionWrapper):
    """Tversky loss for segmentation masks; see :func:`tversky`.

    Args:
        alpha: Weight of ``sum(y_true * (1 - y_pred))``. Defaults to `0.5`.
        beta: Weight of ``sum((1 - y_true) * y_pred)``. Defaults to `0.5`.
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"tversky"`.
        axis: Axes to sum over; see :class:`Dice`. Defaults to `None`.
    """

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str | None = "sum_over_batch_size",
        name: str = "tversky",
        axis: int | tuple[int, ...] | None = None,
    ):
        validation.number("Tversky", "alpha", alpha, low=0.0)
        validation.number("Tversky", "beta", beta, low=0.0)
        axis = _axis_arg("Tversky", axis)
        super().__init__(tversky, name=name, reduction=reduction, alpha=alpha, beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis
