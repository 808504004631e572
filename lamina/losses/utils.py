"""Shape handling shared by every loss function: inputs to tensors, ``y_true``
aligned with ``y_pred``, and the last-axis and per-sample means.

Shapes are Python tuples here, so nothing in this module waits for the device.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

EPSILON = 1e-7
"""Clamp used for probabilities when ``from_logits=False`` (as in Keras)."""


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
