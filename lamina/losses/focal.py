"""Focal crossentropy (Lin et al., 2018) for imbalanced classes: the binary and
categorical functions, which reduce the last axis as Keras's do, and their classes.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses.base import LossFunctionWrapper
from lamina.losses.utils import EPSILON, _align_shapes, _last_axis_mean, _prepare
from lamina.utils import validation


def _clamped_bce(y_true: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    p = p.clamp(EPSILON, 1.0 - EPSILON)
    return -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Binary crossentropy scaled by the focal factor ``(1 - p_t) ** gamma`` (Lin et al., 2018).

    ``p_t = y * p + (1 - y) * (1 - p)`` is the probability given to the true
    class, so confident correct predictions count less. With
    ``apply_class_balancing`` the class-1 terms are also weighted by ``alpha``
    and the class-0 terms by ``1 - alpha``. Averaged over non-batch axes.
    With ``gamma=0`` and no balancing this is :func:`binary_crossentropy`.

    Args:
        y_true: Targets in ``[0, 1]``, same shape as ``y_pred`` (a trailing axis
            of size 1 may differ).
        y_pred: Probabilities, or logits when ``from_logits=True``.
        apply_class_balancing: Weight the classes by ``alpha`` / ``1 - alpha``.
            Defaults to `False`.
        alpha: Weight of class 1 when balancing, in ``[0, 1]``. Defaults to `0.25`.
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Squeezes targets towards 0.5. Defaults to `0.0`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("binary_focal_crossentropy", y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    p = torch.sigmoid(y_pred) if from_logits else y_pred
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    values = (1.0 - p_t) ** gamma * _clamped_bce(y_true, p)
    if apply_class_balancing:
        values = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * values
    return _last_axis_mean(values)


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float | list[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Categorical crossentropy scaled by ``alpha * (1 - p) ** gamma`` per class (Lin et al., 2018).

    ``loss = sum_c alpha_c * (1 - p_c) ** gamma * (-y_c * log(p_c))`` over the
    last axis (rows of ``y_pred`` normalised and clamped as in
    :func:`categorical_crossentropy`), then averaged over the other non-batch axes.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Probabilities, or logits when ``from_logits=True``; same shape.
        alpha: Class weight, a number or one number per class. Defaults to `0.25`.
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Mixes targets with the uniform distribution. Defaults to `0.0`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("categorical_focal_crossentropy", y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[-1]
    p = torch.softmax(y_pred, dim=-1) if from_logits else y_pred
    p = (p / p.sum(dim=-1, keepdim=True)).clamp(EPSILON, 1.0 - EPSILON)
    if isinstance(alpha, (list, tuple)):
        alpha = torch.as_tensor(alpha, dtype=p.dtype, device=p.device)
    values = alpha * (1.0 - p) ** gamma * (-y_true * torch.log(p))
    return values.sum(dim=-1)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary focal crossentropy; see :func:`binary_focal_crossentropy`.

    Args:
        apply_class_balancing: Weight class 1 by ``alpha`` and class 0 by
            ``1 - alpha``. Defaults to `False`.
        alpha: Class-1 weight in ``[0, 1]``. Defaults to `0.25`.
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: Target smoothing in ``[0, 1]``. Defaults to `0.0`.
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"binary_focal_crossentropy"`.

    Example:

    >>> import torch
    >>> loss = BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
    >>> loss(torch.tensor([[0.0, 1.0, 0.0, 0.0]]), torch.tensor([[-18.6, 0.51, 2.94, -12.8]]))
    tensor(0.6912)
    """

    kind = "binary_crossentropy"

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
    ):
        owner = "BinaryFocalCrossentropy"
        validation.boolean(owner, "apply_class_balancing", apply_class_balancing)
        validation.number(owner, "alpha", alpha, low=0.0, high=1.0)
        validation.number(owner, "gamma", gamma, low=0.0)
        validation.boolean(owner, "from_logits", from_logits)
        validation.number(owner, "label_smoothing", label_smoothing, low=0.0, high=1.0)
        super().__init__(
            binary_focal_crossentropy,
            name=name,
            reduction=reduction,
            apply_class_balancing=apply_class_balancing,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma
        self.label_smoothing = label_smoothing


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical focal crossentropy for one-hot targets; see
    :func:`categorical_focal_crossentropy`.

    Args:
        alpha: Class weight, a number or a list with one number per class.
            Defaults to `0.25`.
        gamma: Focusing parameter, >= 0. Defaults to `2.0`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: Target smoothing in ``[0, 1]``. Defaults to `0.0`.
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"categorical_focal_crossentropy"`.

    Example:

    >>> import torch
    >>> loss = CategoricalFocalCrossentropy()
    >>> loss(torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    ...      torch.tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]))
    tensor(0.2332)
    """

    kind = "categorical_crossentropy"

    def __init__(
        self,
        alpha: float | list[float] = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
    ):
        owner = "CategoricalFocalCrossentropy"
        if isinstance(alpha, (list, tuple)):
            for value in alpha:
                validation.number(owner, "alpha", value, low=0.0)
            alpha = list(alpha)
        else:
            validation.number(owner, "alpha", alpha, low=0.0)
        validation.number(owner, "gamma", gamma, low=0.0)
        validation.boolean(owner, "from_logits", from_logits)
        validation.number(owner, "label_smoothing", label_smoothing, low=0.0, high=1.0)
        super().__init__(
            categorical_focal_crossentropy,
            name=name,
            reduction=reduction,
            alpha=alpha,
            gamma=gamma,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.alpha = alpha
        self.gamma = gamma
        self.label_smoothing = label_smoothing
