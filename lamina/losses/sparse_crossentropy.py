"""Crossentropy with integer class labels: :func:`sparse_categorical_crossentropy`
(with an optional ignored class), its :class:`SparseCategoricalCrossentropy`
class, and :func:`check_sparse_labels`, the label check to run once before training.

Example:

>>> import torch
>>> from lamina import losses
>>> loss = losses.SparseCategoricalCrossentropy(from_logits=True)
>>> loss(torch.tensor([0, 1]), torch.zeros(2, 2))
tensor(0.6931)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.losses.base import LossFunctionWrapper, _reduce, _sample_weights
from lamina.losses.utils import EPSILON, _prepare
from lamina.utils import validation


def _sparse_labels(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    owner = "sparse_categorical_crossentropy"
    if y_pred.ndim < 2:
        raise ValueError(
            f"`{owner}` expects `y_pred` of shape (batch, ..., num_classes). "
            f"Received: y_pred.shape={tuple(y_pred.shape)}."
        )
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_true.shape != y_pred.shape[:-1]:
        hint = ""
        if y_true.shape == y_pred.shape:
            hint = (
                "`y_true` looks one-hot encoded: use `categorical_crossentropy`, "
                "or pass integer class labels."
            )
        raise ValueError(
            f"`{owner}` expects integer labels of shape (batch, ...) or (batch, ..., 1) "
            f"matching `y_pred` of shape (batch, ..., num_classes). "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
            + (f" {hint}" if hint else "")
        )
    return y_true.long()


def _sparse_elementwise(
    y_true: Any, y_pred: Any, from_logits: bool, ignore_class: int | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Element-wise sparse crossentropy, shape ``(batch, ...)``, and the valid mask."""
    y_true, y_pred = _prepare(y_true, y_pred)
    labels = _sparse_labels(y_true, y_pred)
    ignore_index = -100 if ignore_class is None else ignore_class
    logits = y_pred.movedim(-1, 1)
    if from_logits:
        values = F.cross_entropy(logits, labels, reduction="none", ignore_index=ignore_index)
    else:
        p = logits / logits.sum(dim=1, keepdim=True)
        log_p = torch.log(p.clamp(EPSILON, 1.0 - EPSILON))
        values = F.nll_loss(log_p, labels, reduction="none", ignore_index=ignore_index)
    mask = None if ignore_class is None else labels != ignore_class
    return values, mask


def _masked_per_sample(
    values: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample mean over the valid positions, and the per-sample count of them."""
    mask = mask.to(values.dtype)
    if values.ndim <= 1:
        return values * mask, mask
    counts = mask.flatten(1).sum(dim=1)
    sums = (values * mask).flatten(1).sum(dim=1)
    return sums / counts.clamp_min(1.0), counts


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: int | None = None
) -> torch.Tensor:
    """Crossentropy between integer class labels and class scores.

    ``loss = -log(p[label])``, averaged over non-batch axes. With
    ``from_logits=False`` the rows are normalised and clamped as in
    :func:`categorical_crossentropy`; with logits ``F.cross_entropy`` is used.
    Labels are not range-checked here (that would stall the device every
    step); call :func:`check_sparse_labels` once on the whole label tensor.

    Args:
        y_true: Integer labels, shape ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: Probabilities or logits, shape ``(batch, ..., num_classes)``.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        ignore_class: A label value whose positions contribute no loss (for
            example a padding or "void" class); the per-sample mean is taken
            over the other positions, and is 0 when none is left. Defaults to `None`.

    Returns:
        The loss at each position, shape ``y_pred.shape[:-1]``, as Keras returns
        it; with ``ignore_class``, the per-sample mean, shape ``(batch,)``.
    """
    values, mask = _sparse_elementwise(y_true, y_pred, from_logits, ignore_class)
    if mask is None:
        return values
    return _masked_per_sample(values, mask)[0]


def check_sparse_labels(
    y_true: Any, num_classes: int, ignore_class: int | None = None, what: str | None = None
) -> None:
    """Checks, once before training, that sparse labels are integers in ``[0, num_classes)``.

    This reads the labels on the host, so call it on the whole label tensor
    before the loop, not inside a training step.

    Args:
        y_true: All integer labels, any shape (a NumPy array or tensor).
        num_classes: The number of classes the model outputs.
        ignore_class: A label value that is allowed anyway (see
            :func:`sparse_categorical_crossentropy`). Defaults to `None`.
        what: How the error names the labels (e.g. "`y` from batch 3 of the
            DataLoader"). Defaults to `None` ("Labels").

    Raises:
        ValueError: When labels are not integers, or lie outside the range.
    """
    validation.positive_int("check_sparse_labels", "num_classes", num_classes)
    owner = f"{what or 'Labels'} for `sparse_categorical_crossentropy`"
    labels = torch.as_tensor(y_true).detach().cpu()
    if labels.numel() == 0:
        return
    shape = tuple(labels.shape)
    flat = labels.reshape(-1)

    def where(flat_index: int) -> str:
        if len(shape) <= 1 or (len(shape) == 2 and shape[1] == 1):
            return str(flat_index)
        return str(tuple(int(i) for i in np.unravel_index(flat_index, shape)))

    if labels.dtype == torch.bool:
        flat = flat.long()
    elif labels.is_floating_point():
        bad = ~torch.isfinite(flat) | (flat != torch.round(flat))
        if bool(bad.any()):
            first = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"{owner} must be integers. Received float labels with "
                f"{int(bad.sum())} non-integer value(s), first at index {where(first)} "
                f"(value {flat[first].item()!r}). Pass integer class indices "
                "(for one-hot targets use `categorical_crossentropy`)."
            )
    if len(shape) >= 2 and shape[-1] == num_classes > 1:
        raise ValueError(
            f"{owner} must be integer class indices, but they look one-hot encoded "
            f"(shape {shape}, last axis = {num_classes} classes). Use "
            "`categorical_crossentropy`, or pass `y.argmax(-1)` as labels."
        )
    valid = torch.ones_like(flat, dtype=torch.bool)
    if ignore_class is not None:
        valid = flat != ignore_class
    bad = valid & ((flat < 0) | (flat >= num_classes))
    if bool(bad.any()):
        checked = flat[valid]
        low, high = checked.min().item(), checked.max().item()
        low, high = int(low), int(high)
        first = int(bad.nonzero()[0, 0])
        fix = (
            "Fix the labels or give the last layer more units."
            if high >= num_classes
            else "Fix the labels (class indices start at 0)."
        )
        raise ValueError(
            f"{owner} must be integers in [0, {num_classes - 1}] (the model outputs "
            f"{num_classes} classes). Received labels with min={low}, max={high} "
            f"({int(bad.sum())} value(s) out of range, first at index {where(first)}). {fix}"
        )


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with integer labels; see :func:`sparse_categorical_crossentropy`.

    With ``ignore_class`` the reduced loss is the mean over the valid
    positions of the whole batch (as Keras' loss mask gives), not over samples.

    Args:
        from_logits: Whether predictions are logits. Defaults to `False`.
        ignore_class: A label value that contributes no loss. Defaults to `None`.
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"sparse_categorical_crossentropy"`.
    """

    kind = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
    ):
        validation.boolean("SparseCategoricalCrossentropy", "from_logits", from_logits)
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, int)
        ):
            raise ValueError(
                "`SparseCategoricalCrossentropy` expects `ignore_class` to be an integer or None. "
                f"Received: ignore_class={ignore_class!r}."
            )
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=from_logits,
            ignore_class=ignore_class,
        )
        self.ignore_class = ignore_class

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        if self.ignore_class is None:
            fast = self._fast_mean(y_true, y_pred) if sample_weight is None else None
            if fast is not None:
                return fast
            return super().__call__(y_true, y_pred, sample_weight)
        elementwise, mask = _sparse_elementwise(y_true, y_pred, self.from_logits, self.ignore_class)
        values, counts = _masked_per_sample(elementwise, mask)
        weights = (
            None if sample_weight is None else _sample_weights(self.name, sample_weight, values)
        )
        return _reduce(values, weights, self.reduction, counts=counts)

    def _fast_mean(self, y_true: Any, y_pred: Any) -> torch.Tensor | None:
        """The training loop's common case in one fused kernel: float32 scores of shape
        (batch, classes), int64 labels (batch,) or (batch, 1), no weights. Returns
        None for anything else (the general path then handles it). Same value as the
        general path."""
        if (
            self.reduction not in ("sum_over_batch_size", "mean")
            or type(y_pred) is not torch.Tensor
            or type(y_true) is not torch.Tensor
            or y_pred.ndim != 2
            or y_pred.dtype != torch.float32
            or y_true.dtype != torch.int64
        ):
            return None
        if y_true.ndim == 2 and y_true.shape[1] == 1:
            y_true = y_true.view(-1)
        if y_true.ndim != 1 or y_true.shape[0] != y_pred.shape[0]:
            return None
        if self.from_logits:
            return F.cross_entropy(y_pred, y_true)
        p = y_pred / y_pred.sum(dim=1, keepdim=True)
        return F.nll_loss(torch.log(p.clamp(EPSILON, 1.0 - EPSILON)), y_true)
