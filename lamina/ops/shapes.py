"""NumPy-style shape manipulation: reshape, transpose, concatenate, split, tile, pad, ..."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.ops._utils import check_axes, check_axis, shape_tuple
from lamina.ops.core import convert_to_tensor, tensors


def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """Gives a new shape to a tensor; one dimension may be -1 (inferred).

    Example:
        >>> ops.reshape(ops.arange(6), (2, 3)).shape
        torch.Size([2, 3])
    """
    x = convert_to_tensor(x)
    target = shape_tuple(newshape)
    try:
        return x.reshape(target)
    except RuntimeError as e:
        raise ValueError(
            f"`ops.reshape` cannot reshape a tensor of shape {tuple(x.shape)} ({x.numel()} values). "
            f"Received: newshape={target}. The new shape must hold the same number of values."
        ) from e


def expand_dims(x: Any, axis: Any) -> torch.Tensor:
    """Inserts size-1 axes at `axis` (an int or a tuple).

    Example:
        >>> ops.expand_dims(ops.zeros((2,)), 0).shape
        torch.Size([1, 2])
    """
    x = convert_to_tensor(x)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = x.ndim + len(axes)
    for a in sorted(check_axis("expand_dims", a, out_ndim) for a in axes):
        x = x.unsqueeze(a)
    return x


def squeeze(x: Any, axis: Any = None) -> torch.Tensor:
    """Removes size-1 axes (all of them, or those in `axis`).

    Example:
        >>> ops.squeeze(ops.zeros((1, 2, 1)), axis=0).shape
        torch.Size([2, 1])
    """
    x = convert_to_tensor(x)
    axes = check_axes("squeeze", axis, x.ndim)
    if axes is None:
        return x.squeeze()
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(
                f"`ops.squeeze` can only remove axes of size 1. Received: axis={axis} for a "
                f"tensor of shape {tuple(x.shape)}."
            )
    return x.squeeze(axes)


def transpose(x: Any, axes: Sequence[int] | None = None) -> torch.Tensor:
    """Permutes the axes (reverses them when `axes` is None).

    Example:
        >>> ops.transpose(ops.zeros((2, 3))).shape
        torch.Size([3, 2])
    """
    x = convert_to_tensor(x)
    if axes is None:
        return x.permute(*reversed(range(x.ndim)))
    perm = check_axes("transpose", tuple(axes), x.ndim)
    if len(perm) != x.ndim:
        raise ValueError(
            f"`ops.transpose` expects one entry of `axes` per axis of the rank-{x.ndim} input. "
            f"Received: axes={tuple(axes)}."
        )
    return x.permute(*perm)


def moveaxis(x: Any, source: Any, destination: Any) -> torch.Tensor:
    """Moves axes to new positions.

    Example:
        >>> ops.moveaxis(ops.zeros((2, 3, 4)), 0, -1).shape
        torch.Size([3, 4, 2])
    """
    return torch.movedim(convert_to_tensor(x), source, destination)


def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    """Swaps two axes.

    Example:
        >>> ops.swapaxes(ops.zeros((2, 3)), 0, 1).shape
        torch.Size([3, 2])
    """
    x = convert_to_tensor(x)
    return x.transpose(check_axis("swapaxes", axis1, x.ndim), check_axis("swapaxes", axis2, x.ndim))


def ravel(x: Any) -> torch.Tensor:
    """Flattens to 1-D.

    Example:
        >>> ops.ravel(ops.zeros((2, 3))).shape
        torch.Size([6])
    """
    return convert_to_tensor(x).reshape(-1)


def broadcast_to(x: Any, shape: Any) -> torch.Tensor:
    """Broadcasts `x` to `shape`.

    Example:
        >>> ops.broadcast_to([1, 2], (3, 2)).shape
        torch.Size([3, 2])
    """
    x = convert_to_tensor(x)
    try:
        return torch.broadcast_to(x, shape_tuple(shape))
    except RuntimeError as e:
        raise ValueError(
            f"`ops.broadcast_to` cannot broadcast shape {tuple(x.shape)}. "
            f"Received: shape={tuple(shape)}."
        ) from e


def _common(xs: Sequence[Any]) -> list[torch.Tensor]:
    ts = tensors(*xs)
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = torch.promote_types(dt, t.dtype)
    return [t.to(dt) for t in ts]


def concatenate(xs: Sequence[Any], axis: int = 0) -> torch.Tensor:
    """Joins tensors along an existing axis (`axis=None` flattens them first).

    Example:
        >>> ops.concatenate([ops.zeros((2, 1)), ops.ones((2, 2))], axis=1).shape
        torch.Size([2, 3])
    """
    ts = _common(xs)
    if axis is None:
        return torch.cat([t.reshape(-1) for t in ts])
    axis = check_axis("concatenate", axis, ts[0].ndim)
    try:
        return torch.cat(ts, dim=axis)
    except RuntimeError as e:
        raise ValueError(
            "`ops.concatenate` expects all shapes to match except along `axis`. Received: shapes "
            f"{[tuple(t.shape) for t in ts]} with axis={axis}."
        ) from e


def append(x1: Any, x2: Any, axis: int | None = None) -> torch.Tensor:
    """Appends `x2` to `x1` (flattening both when `axis` is None).

    Example:
        >>> ops.append([1, 2], [3])
        tensor([1, 2, 3], dtype=torch.int32)
    """
    return concatenate([x1, x2], axis=axis)


def stack(x: Sequence[Any], axis: int = 0) -> torch.Tensor:
    """Joins tensors of equal shape along a new axis.

    Example:
        >>> ops.stack([ops.zeros(2), ops.ones(2)], axis=1).shape
        torch.Size([2, 2])
    """
    ts = _common(x)
    return torch.stack(ts, dim=check_axis("stack", axis, ts[0].ndim + 1))


def hstack(xs: Sequence[Any]) -> torch.Tensor:
    """Stacks horizontally (along axis 1, or 0 for 1-D inputs).

    Example:
        >>> ops.hstack([[1], [2]])
        tensor([1, 2], dtype=torch.int32)
    """
    return torch.hstack(_common(xs))


def vstack(xs: Sequence[Any]) -> torch.Tensor:
    """Stacks vertically (along axis 0, 1-D inputs become rows).

    Example:
        >>> ops.vstack([[1], [2]]).shape
        torch.Size([2, 1])
    """
    return torch.vstack(_common(xs))


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """Splits into equal sections (an int) or at the given indices (a list).

    Example:
        >>> [t.tolist() for t in ops.split([1, 2, 3, 4], 2)]
        [[1, 2], [3, 4]]
    """
    x = convert_to_tensor(x)
    axis = check_axis("split", axis, x.ndim)
    if isinstance(indices_or_sections, int):
        if x.shape[axis] % indices_or_sections:
            raise ValueError(
                f"`ops.split` cannot split an axis of size {x.shape[axis]} into equal sections. "
                f"Received: indices_or_sections={indices_or_sections}. Pass a divisor of "
                f"{x.shape[axis]} or a list of split indices."
            )
    return list(torch.tensor_split(x, indices_or_sections, dim=axis))


def tile(x: Any, repeats: Any) -> torch.Tensor:
    """Repeats the whole tensor `repeats` times along each axis.

    Example:
        >>> ops.tile([1, 2], 2)
        tensor([1, 2, 1, 2], dtype=torch.int32)
    """
    reps = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    return torch.tile(convert_to_tensor(x), reps)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> torch.Tensor:
    """Repeats each element `repeats` times (of the flat input when `axis` is None).

    Example:
        >>> ops.repeat([1, 2], 2)
        tensor([1, 1, 2, 2], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if isinstance(repeats, (list, tuple, np.ndarray)):
        repeats = torch.as_tensor(np.asarray(repeats), device=x.device)
    if axis is None:
        return torch.repeat_interleave(x.reshape(-1), repeats)
    return torch.repeat_interleave(x, repeats, dim=check_axis("repeat", axis, x.ndim))


def flip(x: Any, axis: Any = None) -> torch.Tensor:
    """Reverses the order of elements along `axis` (all axes when None).

    Example:
        >>> ops.flip([1, 2, 3])
        tensor([3, 2, 1], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    axes = check_axes("flip", axis, x.ndim)
    return torch.flip(x, dims=axes if axes is not None else tuple(range(x.ndim)))


def roll(x: Any, shift: Any, axis: Any = None) -> torch.Tensor:
    """Rolls elements along `axis` (of the flat input when None).

    Example:
        >>> ops.roll([1, 2, 3], 1)
        tensor([3, 1, 2], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shift).reshape(x.shape)
    return torch.roll(x, shift, dims=axis)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> torch.Tensor:
    """Pads with `pad_width` = `((before, after), ...)` per axis (or one pair, or an int).

    Args:
        x: Input tensor.
        pad_width: Padding amounts, NumPy style.
        mode: `"constant"`, `"reflect"`, `"symmetric"`, `"edge"` or `"wrap"`.
            Defaults to `"constant"`.
        constant_values: Fill value for `"constant"`. Defaults to `None` (0).

    Example:
        >>> ops.pad([1, 2], ((1, 2),))
        tensor([0, 1, 2, 0, 0], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    modes = ("constant", "reflect", "symmetric", "edge", "wrap")
    if mode not in modes:
        raise ValueError(
            f"`ops.pad` expects `mode` to be one of {', '.join(repr(m) for m in modes)}. "
            f"Received: mode={mode!r}."
        )
    if mode == "constant":
        flat = [int(v) for pair in widths[::-1] for v in pair]
        return torch.nn.functional.pad(x, flat, value=constant_values or 0)
    out = x
    for axis in range(x.ndim):  # index-based padding works for every rank and mode
        before, after = (int(v) for v in widths[axis])
        n = out.shape[axis]
        pos = torch.arange(-before, n + after, device=x.device)
        if mode == "edge":
            idx = pos.clamp(0, n - 1)
        elif mode == "wrap":
            idx = pos % n
        else:
            period = 2 * n - 2 if mode == "reflect" else 2 * n
            p = pos % _max(period, 1)
            idx = torch.where(p < n, p, (period - p) if mode == "reflect" else (period - 1 - p))
        out = out.index_select(axis, idx)
    return out


def _max(a: int, b: int) -> int:
    return a if a > b else b


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[torch.Tensor]:
    """Splits into sections that may differ in size by one (or at given indices).

    Example:
        >>> [t.tolist() for t in ops.array_split([1, 2, 3], 2)]
        [[1, 2], [3]]
    """
    x = convert_to_tensor(x)
    return list(torch.tensor_split(x, indices_or_sections, dim=check_axis("array_split", axis, x.ndim)))


def vsplit(x: Any, indices_or_sections: Any) -> list[torch.Tensor]:
    """Splits along the first axis (see `split`).

    Example:
        >>> len(ops.vsplit(ops.zeros((4, 2)), 2))
        2
    """
    return split(x, indices_or_sections, axis=0)


def dstack(xs: Sequence[Any]) -> torch.Tensor:
    """Stacks along the third axis (inputs are made at least 3-D first).

    Example:
        >>> ops.dstack([[1, 2], [3, 4]]).shape
        torch.Size([1, 2, 2])
    """
    return torch.dstack(_common(xs))


def rot90(array: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """Rotates by 90 degrees `k` times in the plane of `axes`.

    Example:
        >>> ops.rot90([[1, 2], [3, 4]])
        tensor([[2, 4],
                [1, 3]], dtype=torch.int32)
    """
    return torch.rot90(convert_to_tensor(array), k, tuple(axes))
