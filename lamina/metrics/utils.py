"""Helpers shared by the metrics: state dtypes, updates under ``torch.no_grad``,
state moved to the data's device in place, ``divide_no_nan``, sample weights
broadcast to the values, and integer labels one-hot encoded against scores.

None of them reads a tensor value on the host.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

from lamina import losses

_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def _resolve_dtype(owner: str, dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(
        f"`{owner}` expects `dtype` to be None or a floating dtype "
        f"({', '.join(_DTYPES)}). Received: dtype={dtype!r}."
    )


def _dtype_name(dtype: Any) -> str | None:
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    return dtype


def _no_grad(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args and args[0].__dict__.get("_variables"):
            # Variables from `add_variable` follow the data, as `add_state` ones do.
            args[0]._variables_follow(args[1:], kwargs)
        with torch.no_grad():
            return method(*args, **kwargs)

    wrapper._lamina_no_grad = True  # type: ignore[attr-defined]
    return wrapper


def _move_in_place(var: torch.Tensor, device: torch.device) -> None:
    """Moves a state variable to ``device`` keeping the same Python object, so that
    attributes pointing at it (``self.true_positives``) stay valid."""
    moved = var.data.to(device)
    try:
        var.data = moved  # what `nn.Module.to` does; works between CPU and GPU
    except RuntimeError:  # tensor types that cannot share the object (e.g. "meta")
        other = torch.Tensor._make_subclass(type(var), moved, var.requires_grad)
        other.__dict__.update(var.__dict__)
        torch.utils.swap_tensors(var, other)


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / b``, with 0 where ``b == 0`` (as Keras' ``divide_no_nan``)."""
    nonzero = b != 0
    return torch.where(
        nonzero, a / torch.where(nonzero, b, torch.ones_like(b)), torch.zeros_like(a)
    )


def _broadcast_weights(owner: str, sample_weight: Any, values: torch.Tensor) -> torch.Tensor:
    """Broadcasts weights of shape ``(batch,)``, ``(batch, 1)``, ... to ``values``' shape."""
    w = torch.as_tensor(sample_weight, device=values.device).detach()
    w = w.to(values.dtype if values.is_floating_point() else torch.float32)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w.squeeze(-1)
    while w.ndim < values.ndim:
        w = w.unsqueeze(-1)
    try:
        return torch.broadcast_to(w, values.shape)
    except RuntimeError:
        raise ValueError(
            f"`{owner}` cannot apply `sample_weight` of shape {tuple(torch.as_tensor(sample_weight).shape)} "
            f"to values of shape {tuple(values.shape)}. Pass one weight per sample, shape (batch,)."
        ) from None


def _one_hot(labels: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    # Compared with arange rather than F.one_hot, which checks the label range on the host.
    classes = torch.arange(num_classes, device=labels.device)
    return (labels.long().unsqueeze(-1) == classes).to(dtype)


def _labels_like(
    owner: str, y_true: torch.Tensor, y_pred: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Makes ``y_true`` the shape of ``y_pred``: one-hot encodes integer labels
    against multi-column scores, else drops or adds a trailing axis of size 1."""
    if y_pred.ndim >= 1 and y_pred.shape[-1] > 1 and y_true.shape != y_pred.shape:
        if y_true.shape in (y_pred.shape[:-1], (*y_pred.shape[:-1], 1)):
            labels = y_true.reshape(y_pred.shape[:-1])
            return _one_hot(labels, y_pred.shape[-1], y_pred.dtype), y_pred
    return losses._align_shapes(owner, y_true, y_pred)
