"""Classification, segmentation and sequence losses beyond crossentropy: hinge,
squared and categorical hinge, binary and categorical focal crossentropy, Dice,
Tversky and CTC, with the Keras names, formulas and defaults.

Functions reduce the last axis only, as Keras's do (hinge and focal losses
give ``y_pred.shape[:-1]``); Dice and Tversky give the per-sample loss, or one
value for the whole batch with ``axis=None`` (Keras' default). Everything here is also available as ``lamina.losses.<name>``.

Example:

>>> import torch
>>> from lamina import losses
>>> losses.Hinge()(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.5], [0.5]]))
tensor(1.)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.losses import (
    EPSILON,
    LossFunctionWrapper,
    _align_shapes,
    _last_axis_mean,
    _per_sample,
    _prepare,
)
from lamina.utils import validation

__all__ = [
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "ctc",
    "dice",
    "tversky",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CTC",
    "Dice",
    "Tversky",
]


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


def ctc(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Connectionist Temporal Classification loss (Graves et al., 2006), as Keras computes it.

    Class 0 is the blank and also pads the labels: a sample's label length is
    its number of non-zero entries, and every sample uses all ``time`` steps
    of ``y_pred``. Computed by ``torch.nn.functional.ctc_loss`` on
    ``log_softmax(y_pred)``.

    Args:
        y_true: Integer labels, shape ``(batch, max_label_length)``, padded
            with 0 (so real classes are ``1 .. num_classes - 1``).
        y_pred: Logits (not softmax outputs), shape ``(batch, time, num_classes)``.

    Returns:
        The per-sample loss (negative log-likelihood), shape ``(batch,)``.
    """
    y_pred = torch.as_tensor(y_pred)
    y_true = torch.as_tensor(y_true, device=y_pred.device)
    if y_true.ndim != 2:
        raise ValueError(
            "`ctc` expects `y_true` to be integer labels of shape (batch_size, max_length). "
            f"Received: y_true.shape={tuple(y_true.shape)}."
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "`ctc` expects `y_pred` to be logits of shape (batch_size, max_length, "
            f"num_classes). Received: y_pred.shape={tuple(y_pred.shape)}."
        )
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "`ctc` expects `y_true` and `y_pred` to have the same batch size. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
        )
    if y_pred.dtype in (torch.float16, torch.bfloat16) or not y_pred.is_floating_point():
        y_pred = y_pred.float()
    labels = y_true.long()
    batch, time = y_pred.shape[0], y_pred.shape[1]
    input_lengths = torch.full((batch,), time, dtype=torch.long, device=y_pred.device)
    label_lengths = (labels != 0).sum(dim=-1)
    log_probs = F.log_softmax(y_pred, dim=-1).transpose(0, 1)
    return F.ctc_loss(log_probs, labels, input_lengths, label_lengths, blank=0, reduction="none")


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


class CTC(LossFunctionWrapper):
    """CTC loss for unaligned sequence labels (speech, handwriting); see :func:`ctc`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"ctc"`.

    Example:

    >>> import torch
    >>> labels = torch.tensor([[1, 2, 0]])          # "1 2", padded with the blank 0
    >>> logits = torch.zeros(1, 5, 3)                # 5 time steps, 3 classes
    >>> CTC()(labels, logits).shape
    torch.Size([])
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "ctc"):
        super().__init__(ctc, name=name, reduction=reduction)


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
