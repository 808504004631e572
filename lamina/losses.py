"""Loss functions and loss classes, Keras-style, computed with PyTorch kernels.

Every loss function takes ``(y_true, y_pred)`` and reduces the last axis only,
as Keras's functions do: ``(batch, d)`` inputs give ``(batch,)``, images
``(batch, h, w, c)`` give ``(batch, h, w)``. Loss classes wrap these functions,
average the rest per sample and reduce the per-sample values to one scalar,
applying optional sample weights.

Nothing in the per-step path reads a tensor value on the host (no ``.item()``,
no Python branching on values), so a training step never waits for the device.
Only :func:`check_sparse_labels`, meant to run once before training, does.

Example:

>>> import torch
>>> from lamina import losses
>>> loss = losses.get("mse")
>>> loss(torch.zeros(4, 1), torch.ones(4, 1))
tensor(1.)
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.utils import serialization, validation

EPSILON = 1e-7
"""Clamp used for probabilities when ``from_logits=False`` (as in Keras)."""

REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")

LossFn = Callable[..., torch.Tensor]


# --------------------------------------------------------------------------- helpers


def _prepare(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Converts both inputs to tensors; losses are computed in float32 or wider."""
    y_pred = torch.as_tensor(y_pred)
    if not y_pred.is_floating_point() or y_pred.dtype in (torch.float16, torch.bfloat16):
        y_pred = y_pred.float()
    y_true = torch.as_tensor(y_true, device=y_pred.device)
    return y_true, y_pred


def _shape_error(
    owner: str, y_true: torch.Tensor, y_pred: torch.Tensor, hint: str = "", exact: bool = False
) -> ValueError:
    same = "the same shape" if exact else "the same shape (a trailing axis of size 1 may differ)"
    msg = (
        f"`{owner}` expects `y_true` and `y_pred` to have {same}. "
        f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
    )
    return ValueError(msg + (f" {hint}" if hint else ""))


def _align_shapes(
    owner: str, y_true: torch.Tensor, y_pred: torch.Tensor, broadcast: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Makes ``y_true`` match ``y_pred`` by dropping or adding a trailing axis of size 1.

    Shapes are Python tuples, so this never synchronises with the device.
    With ``broadcast`` (the element-wise regression losses), shapes of the same
    rank that broadcast together are left as they are, as Keras leaves them, with
    a warning naming both shapes. Any other difference raises a ``ValueError``
    naming ``owner`` and both shapes.
    """
    if y_true.shape == y_pred.shape:
        return y_true, y_pred
    if (
        y_true.ndim == y_pred.ndim + 1
        and y_true.shape[-1] == 1
        and y_true.shape[:-1] == y_pred.shape
    ):
        return y_true.squeeze(-1), y_pred
    if (
        y_pred.ndim == y_true.ndim + 1
        and y_pred.shape[-1] == 1
        and y_pred.shape[:-1] == y_true.shape
    ):
        return y_true.unsqueeze(-1), y_pred
    if broadcast and y_true.ndim == y_pred.ndim:
        try:
            shape = tuple(torch.broadcast_shapes(y_true.shape, y_pred.shape))
        except RuntimeError:
            shape = None
        if shape is not None:
            warnings.warn(
                f"`{owner}` received y_true.shape={tuple(y_true.shape)} and "
                f"y_pred.shape={tuple(y_pred.shape)}; they are broadcast to {shape} (as Keras "
                "does). If the targets and predictions should match, check the model's output "
                "size against the targets.",
                stacklevel=3,
            )
            return y_true.expand(shape), y_pred.expand(shape)
    raise _shape_error(owner, y_true, y_pred)


def _last_axis_mean(values: torch.Tensor) -> torch.Tensor:
    """An element-wise loss reduced as Keras's loss functions reduce it: the mean over
    the last axis, so `(batch, h, w, c)` gives `(batch, h, w)` (a `(batch,)` input stays)."""
    return values.mean(dim=-1) if values.ndim >= 2 else values


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    """Averages an element-wise loss over every non-batch axis: shape ``(batch,)``."""
    if values.ndim <= 1:
        return values
    return values.flatten(1).mean(dim=1)


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


# --------------------------------------------------------------------------- functions


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


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of ``(y_true - y_pred) ** 2`` over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("mean_squared_error", y_true, y_pred, broadcast=True)
    return _last_axis_mean(F.mse_loss(y_pred, y_true.to(y_pred.dtype), reduction="none"))


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of ``|y_true - y_pred|`` over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("mean_absolute_error", y_true, y_pred, broadcast=True)
    return _last_axis_mean(F.l1_loss(y_pred, y_true.to(y_pred.dtype), reduction="none"))


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """Huber loss: quadratic for small errors, linear for large ones.

    With ``x = y_pred - y_true``: ``0.5 * x**2`` if ``|x| <= delta``, else
    ``delta * (|x| - 0.5 * delta)``; averaged over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.
        delta: Where the loss turns from quadratic to linear. Defaults to `1.0`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("huber", y_true, y_pred, broadcast=True)
    values = F.huber_loss(y_pred, y_true.to(y_pred.dtype), reduction="none", delta=delta)
    return _last_axis_mean(values)


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


# --------------------------------------------------------------------------- classes


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _sample_weights(owner: str, sample_weight: Any, per_sample: torch.Tensor) -> torch.Tensor:
    """Turns ``sample_weight`` into a tensor of shape ``(batch,)`` (or a scalar)."""
    w = torch.as_tensor(sample_weight, device=per_sample.device)
    if not w.is_floating_point():
        w = w.to(per_sample.dtype)
    if w.ndim == 2 and w.shape[-1] == 1:
        w = w.squeeze(-1)
    if w.ndim == 0 or (w.ndim == 1 and w.shape[0] == per_sample.shape[0]):
        return w
    raise ValueError(
        f"`{owner}` expects `sample_weight` to be a scalar or of shape (batch,) or (batch, 1) "
        f"with batch={per_sample.shape[0]}. Received: sample_weight.shape={tuple(w.shape)}."
    )


def _reduce(
    values: torch.Tensor,
    weights: torch.Tensor | None,
    reduction: str | None,
    counts: torch.Tensor | None = None,
) -> torch.Tensor:
    """Reduces per-sample values with Keras semantics.

    ``counts`` (valid positions per sample, from ``ignore_class``) turns the
    mean into a mean over valid positions, as Keras' loss mask does.
    """
    weighted = values if weights is None else values * weights
    if reduction in ("none", None):
        return weighted
    if counts is not None:
        weighted = weighted * counts
    total = weighted.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        w = torch.broadcast_to(weights, values.shape)
        return total / (w if counts is None else w * counts).sum()
    if counts is not None:
        return total / counts.sum().clamp_min(1.0)
    return total / max(values.shape[0], 1)


class Loss:
    """Base class for losses: ``call`` gives per-sample values, ``__call__`` reduces them.

    Subclasses implement ``call(y_true, y_pred)`` returning shape ``(batch,)``.
    The class attribute ``kind`` tells the model which family the loss is
    (``"binary_crossentropy"``, ``"categorical_crossentropy"``,
    ``"sparse_categorical_crossentropy"``, ``"regression"``, or ``None`` when
    unknown); the metric resolver and sanity checks use it.

    Args:
        name: Name of the loss. Defaults to the class name in snake case.
        reduction: How ``__call__`` reduces the weighted per-sample values:
            ``"sum_over_batch_size"`` (``sum(loss * w) / batch_size``; the plain
            mean without weights), ``"sum"``, ``"none"`` (or `None`; per-sample
            weighted values), ``"mean"`` (same as ``"sum_over_batch_size"``) or
            ``"mean_with_sample_weight"`` (``sum(loss * w) / sum(w)``).
            Defaults to `"sum_over_batch_size"`.
    """

    kind: str | None = None
    from_logits: bool = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size"):
        validation.one_of(type(self).__name__, "reduction", reduction, REDUCTIONS)
        self.name = name if name is not None else _snake_case(type(self).__name__)
        self.reduction = reduction

    def call(self, y_true: Any, y_pred: Any) -> torch.Tensor:
        """Computes the per-sample loss, shape ``(batch,)``."""
        raise NotImplementedError(
            f"`{type(self).__name__}` must implement `call(y_true, y_pred)` returning "
            "the per-sample loss."
        )

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        """Computes the reduced loss.

        Args:
            y_true: Targets.
            y_pred: Predictions.
            sample_weight: Optional weights, a scalar or shape ``(batch,)`` /
                ``(batch, 1)``. Defaults to `None`.

        Returns:
            A scalar tensor (or per-sample values with ``reduction="none"``).
        """
        values = self.call(y_true, y_pred)
        if values.ndim == 0:
            if sample_weight is not None:
                raise ValueError(
                    f"`{self.name}` returned a scalar, so `sample_weight` cannot be applied. "
                    "Make the loss function return the per-sample loss, shape (batch,)."
                )
            return values
        weights = (
            None if sample_weight is None else _sample_weights(self.name, sample_weight, values)
        )
        return _reduce(values, weights, self.reduction)

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as JSON-able values."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Rebuilds a loss from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """Wraps a per-sample loss function ``fn(y_true, y_pred, **kwargs)`` as a :class:`Loss`.

    Args:
        fn: A function returning the loss per sample, or per position (as
            Keras's loss functions do, e.g. shape ``(batch, steps)``), which is
            averaged over the non-batch axes.
        name: Name of the loss. Defaults to ``fn.__name__``.
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        **kwargs: Extra keyword arguments passed to ``fn`` on every call.

    A ``torch.nn`` loss module (such as ``nn.CrossEntropyLoss()``) is called
    in PyTorch's argument order, ``fn(y_pred, y_true)``; give it
    ``reduction="none"`` so that sample weights can apply.
    """

    def __init__(
        self,
        fn: LossFn,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        **kwargs: Any,
    ):
        if not callable(fn):
            raise TypeError(
                "`LossFunctionWrapper` expects `fn` to be a callable f(y_true, y_pred). "
                f"Received: fn={fn!r}."
            )
        if name is None:
            name = getattr(fn, "__name__", None) or _snake_case(type(fn).__name__)
        super().__init__(name=name, reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs
        if type(self) is LossFunctionWrapper:
            self.kind = _FUNCTION_KINDS.get(fn)
        self.from_logits = bool(kwargs.get("from_logits", False))

    def call(self, y_true: Any, y_pred: Any) -> torch.Tensor:
        if isinstance(self.fn, torch.nn.modules.loss._Loss):
            # PyTorch loss modules take (input, target), the reverse of Keras.
            y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
            if abs(y_true.ndim - y_pred.ndim) == 1:
                try:
                    y_true, y_pred = _align_shapes(self.name, y_true, y_pred)
                except ValueError:
                    pass  # e.g. class labels against class scores: leave as given
            return _per_sample(self.fn(y_pred, y_true, **self._fn_kwargs))
        return _per_sample(self.fn(y_true, y_pred, **self._fn_kwargs))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        if cls is LossFunctionWrapper and isinstance(config.get("fn"), str):
            config = dict(config)
            config["fn"] = serialization.resolve_function("loss", config["fn"], "loss")
        return cls(**config)


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


class MeanSquaredError(LossFunctionWrapper):
    """Mean squared error; see :func:`mean_squared_error`.

    Args:
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"mean_squared_error"`.
    """

    kind = "regression"

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error"
    ):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean absolute error; see :func:`mean_absolute_error`.

    Args:
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"mean_absolute_error"`.
    """

    kind = "regression"

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error"
    ):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Huber loss; see :func:`huber`.

    Args:
        delta: Where the loss turns from quadratic to linear, > 0. Defaults to `1.0`.
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"huber_loss"`.
    """

    kind = "regression"

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
    ):
        validation.number("Huber", "delta", delta, low=0.0, low_inclusive=False)
        super().__init__(huber, name=name, reduction=reduction, delta=delta)
        self.delta = delta


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence; see :func:`kl_divergence`.

    Args:
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"kl_divergence"`.
    """

    kind = "categorical_crossentropy"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence"):
        super().__init__(kl_divergence, name=name, reduction=reduction)


# The rest of the Keras catalogue lives in sibling modules, re-exported here so that
# `lamina.losses.<name>` works for every loss.
from lamina.losses_classification import (  # noqa: E402, F401 - re-exported
    CTC,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalHinge,
    Dice,
    Hinge,
    SquaredHinge,
    Tversky,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    ctc,
    dice,
    hinge,
    squared_hinge,
    tversky,
)
from lamina.losses_regression import (  # noqa: E402, F401 - re-exported
    CosineSimilarity,
    LogCosh,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    cosine_similarity,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
)

# --------------------------------------------------------------------------- registry

_FUNCTION_KINDS: dict[Callable[..., Any], str] = {
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
    mean_squared_error: "regression",
    mean_absolute_error: "regression",
    huber: "regression",
    kl_divergence: "categorical_crossentropy",
    log_cosh: "regression",
    poisson: "regression",
    mean_absolute_percentage_error: "regression",
    mean_squared_logarithmic_error: "regression",
    binary_focal_crossentropy: "binary_crossentropy",
    categorical_focal_crossentropy: "categorical_crossentropy",
}


def get(identifier: Any) -> Loss | None:
    """Resolves a loss from a name, an instance, a config dict or a function.

    Args:
        identifier: `None` (gives `None`); a :class:`Loss` instance (returned
            as is); a :class:`Loss` subclass (instantiated with defaults); a
            name such as ``"mse"``, ``"mae"``, ``"bce"``,
            ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
            ``"sparse_categorical_crossentropy"``, ``"huber"``, ``"kld"`` or a
            class name such as ``"MeanSquaredError"``; a dict from
            :func:`serialize`; or a function ``f(y_true, y_pred)`` returning
            the per-sample loss, or a ``torch.nn`` loss module (wrapped in
            :class:`LossFunctionWrapper`).

    Returns:
        A :class:`Loss`, or `None`.

    Raises:
        ValueError: For an unknown name (the message lists the valid names).
    """
    if identifier is None:
        return None
    found = serialization.get(identifier, family="loss", kind="loss", base=Loss)
    if found is NotImplemented and callable(identifier):
        found = identifier
    if isinstance(found, Loss):
        return found
    if callable(found):  # a function, given or registered under the name
        return LossFunctionWrapper(found)
    raise TypeError(
        "`loss` must be a loss name, a `Loss` instance or a function f(y_true, y_pred). "
        f"Received: loss={identifier!r}."
    )


def serialize(loss: Loss | None) -> dict[str, Any] | None:
    """Returns the Keras config ``{"module", "class_name", "config", "registered_name"}``
    of a :class:`Loss` (or of a built-in or registered loss function).

    Args:
        loss: The loss to describe (`None` gives `None`).
    """
    if loss is None:
        return None
    if not isinstance(loss, Loss) and not inspect.isfunction(loss):
        raise TypeError(f"`serialize` expects a `Loss` instance. Received: loss={loss!r}.")
    return serialization.class_config(loss)


def deserialize(
    config: dict[str, Any] | None, custom_objects: dict[str, Any] | None = None
) -> Loss | None:
    """Rebuilds a loss from :func:`serialize` output, without importing anything.

    Args:
        config: A dict with ``"class_name"`` and ``"config"`` (`None` gives `None`).
        custom_objects: Names of user-defined :class:`Loss` classes or loss
            functions (for a :class:`LossFunctionWrapper`). Defaults to `None`.

    Raises:
        ValueError: For an unknown class name or function name.
    """
    if config is None:
        return None
    return serialization.deserialize(
        config, family="loss", kind="loss", custom_objects=custom_objects, wrapper=LossFunctionWrapper
    )
