"""The loss base classes: :class:`Loss` (per-sample values, reduced with
optional sample weights, Keras semantics) and :class:`LossFunctionWrapper`
(a per-sample function as a :class:`Loss`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

from lamina.losses.utils import _align_shapes, _per_sample
from lamina.utils import serialization, validation

REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")

LossFn = Callable[..., torch.Tensor]


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
            from lamina.losses.lookup import _FUNCTION_KINDS  # it names every loss function

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
