"""Binary and categorical crossentropy and the Kullback-Leibler divergence:
functions that reduce the last axis, as Keras's do, and their :class:`Loss` classes.

Example:

>>> import torch
>>> from lamina import losses
>>> loss = losses.BinaryCrossentropy(from_logits=True)
>>> loss(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.0], [0.0]]))
tensor(0.6931)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.losses.base import LossFunctionWrapper
from lamina.losses.utils import EPSILON, _align_shapes, _last_axis_mean, _prepare, _shape_error
from lamina.utils import validation


def _check_probabilities_shape(owner: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    if y_true.shape == y_pred.shape:
        return
    hint = ""
    if (
        y_pred.ndim >= 1
        and y_pred.shape[-1] > 1
        and (y_true.shape == y_pred.shape[:-1] or y_true.shape == (*y_pred.shape[:-1], 1))
    ):
        hint = (
            "`y_true` looks like integer class labels: use "
            "`sparse_categorical_crossentropy`, or one-hot encode the labels."
        )
    raise _shape_error(owner, y_true, y_pred, hint, exact=True)


def binary_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Binary crossentropy between 0/1 targets and predicted probabilities or logits.

    ``loss = -(y * log(p) + (1 - y) * log(1 - p))``, averaged over non-batch axes.
    With ``from_logits=False`` the probabilities are clamped to
    ``[1e-7, 1 - 1e-7]`` as in Keras; with logits the stable
    ``F.binary_cross_entropy_with_logits`` is used.

    Args:
        y_true: Targets in ``[0, 1]``, same shape as ``y_pred`` (a trailing axis
            of size 1 may differ).
        y_pred: Predicted probabilities, or logits when ``from_logits=True``.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Squeezes targets towards 0.5:
            ``y * (1 - label_smoothing) + 0.5 * label_smoothing``. Defaults to `0.0`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("binary_crossentropy", y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        # Written out rather than F.binary_cross_entropy, which refuses to run
        # under autocast; the clamp keeps both logs finite.
        p = y_pred.clamp(EPSILON, 1.0 - EPSILON)
        values = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    return _last_axis_mean(values)


def categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Crossentropy between one-hot (or probability) targets and class scores.

    ``loss = -sum_c y_c * log(p_c)`` over the last axis, then averaged over the
    remaining non-batch axes. With ``from_logits=False`` the rows of ``y_pred``
    are normalised to sum to 1 and clamped to ``[1e-7, 1 - 1e-7]`` (as Keras
    does); with logits ``F.cross_entropy`` with probability targets is used.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Probabilities or logits, same shape as ``y_true``.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Mixes targets with the uniform distribution:
            ``y * (1 - label_smoothing) + label_smoothing / num_classes``.
            Defaults to `0.0`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    _check_probabilities_shape("categorical_crossentropy", y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    if from_logits:
        values = F.cross_entropy(y_pred.movedim(-1, 1), y_true.movedim(-1, 1), reduction="none")
    else:
        p = y_pred / y_pred.sum(dim=-1, keepdim=True)
        p = p.clamp(EPSILON, 1.0 - EPSILON)
        values = -(y_true * torch.log(p)).sum(dim=-1)
    return values


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` over the last axis.

    Both distributions are clamped to ``[1e-7, 1]`` as in Keras; the result
    is averaged over the remaining non-batch axes.

    Args:
        y_true: Target distributions, shape ``(batch, ..., num_classes)``.
        y_pred: Predicted distributions, same shape.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("kl_divergence", y_true, y_pred)
    p = y_true.to(y_pred.dtype).clamp(EPSILON, 1.0)
    q = y_pred.clamp(EPSILON, 1.0)
    values = F.kl_div(torch.log(q), p, reduction="none").sum(dim=-1)
    return values


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary crossentropy; see :func:`binary_crossentropy`.

    Args:
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: Target smoothing in ``[0, 1]``. Defaults to `0.0`.
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"binary_crossentropy"`.
    """

    kind = "binary_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
    ):
        validation.boolean("BinaryCrossentropy", "from_logits", from_logits)
        validation.number(
            "BinaryCrossentropy", "label_smoothing", label_smoothing, low=0.0, high=1.0
        )
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.label_smoothing = label_smoothing


class CategoricalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy with one-hot targets; see :func:`categorical_crossentropy`.

    Args:
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: Target smoothing in ``[0, 1]``. Defaults to `0.0`.
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"categorical_crossentropy"`.
    """

    kind = "categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
    ):
        validation.boolean("CategoricalCrossentropy", "from_logits", from_logits)
        validation.number(
            "CategoricalCrossentropy", "label_smoothing", label_smoothing, low=0.0, high=1.0
        )
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.label_smoothing = label_smoothing


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence; see :func:`kl_divergence`.

    Args:
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"kl_divergence"`.
    """

    kind = "categorical_crossentropy"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence"):
        super().__init__(kl_divergence, name=name, reduction=reduction)
