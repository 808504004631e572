"""Numerical helpers of `keras.utils`: one-hot encoding and normalisation.

Both accept NumPy arrays (and lists) or torch tensors and answer in kind: a NumPy
input gives a NumPy array, a tensor gives a tensor, as Keras 3 does for its
backend tensors.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """Converts a class vector (integers) to a one-hot (binary) class matrix.

    A trailing axis of size 1 (labels of shape `(n, 1)`) is dropped first, so the
    result has shape `x.shape + (num_classes,)` without it.

    Args:
        x: Array-like of class indices, integers from 0 to `num_classes - 1`.
            A torch tensor gives a tensor back; anything else a NumPy array.
        num_classes: Total number of classes. Defaults to `None` (then
            `max(x) + 1`).

    Returns:
        A `float32` one-hot array (or tensor) with one more axis than `x`.

    Example:
        >>> to_categorical([0, 1, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 1., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes <= 0
    ):
        raise ValueError(
            "`to_categorical` expects `num_classes` to be a positive integer or None. "
            f"Received: num_classes={num_classes!r}."
        )
    is_tensor = isinstance(x, torch.Tensor)
    arr = x.detach().cpu().numpy() if is_tensor else np.asarray(x)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(
                "`to_categorical` expects `x` to hold integer class indices. Received: x with "
                "non-integer values. Round or encode the labels first (e.g. with `StringLookup`)."
            )
    elif arr.dtype.kind not in "iub":
        raise ValueError(
            "`to_categorical` expects `x` to hold integer class indices. Received: x of dtype "
            f"{arr.dtype}. Encode text labels first (e.g. with `lamina.layers.StringLookup`)."
        )
    arr = arr.astype(np.int64)
    shape = arr.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    arr = arr.reshape(-1)
    if arr.size and arr.min() < 0:
        raise ValueError(
            "`to_categorical` expects class indices >= 0. Received: x with minimum "
            f"{int(arr.min())}. Map the labels to 0 .. num_classes - 1 first."
        )
    if num_classes is None:
        num_classes = int(arr.max()) + 1 if arr.size else 0
    elif arr.size and arr.max() >= num_classes:
        raise ValueError(
            f"`to_categorical` found class index {int(arr.max())}, which is out of range for "
            f"num_classes={num_classes}. Received: num_classes={num_classes}. Pass "
            "`num_classes=max(x) + 1` or leave it as None."
        )
    out = np.zeros((arr.size, num_classes), dtype=np.float32)
    out[np.arange(arr.size), arr] = 1.0
    out = out.reshape(shape + (num_classes,))
    if is_tensor:
        return torch.from_numpy(out).to(x.device)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """Normalizes an array so that its `order`-norm along `axis` is 1.

    Slices whose norm is 0 are left unchanged (zeros), as in Keras.

    Args:
        x: Array (NumPy, list or torch tensor) to normalize.
        axis: Axis along which to normalize. Defaults to `-1`.
        order: Normalization order (e.g. `order=2` for the L2 norm). Defaults to `2`.

    Returns:
        A normalized copy of `x` (a tensor for a tensor input).

    Example:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    if isinstance(x, torch.Tensor):
        t = x if x.is_floating_point() else x.float()
        norm = torch.linalg.vector_norm(t, ord=order, dim=axis, keepdim=True)
        return t / torch.where(norm == 0, torch.ones_like(norm), norm)
    arr = np.asarray(x)
    if arr.dtype.kind not in "fc":
        arr = arr.astype(np.float32)
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)
