"""NumPy-style shape manipulation, creation and indexing on torch tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.ops._utils import check_axes, check_axis
from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_torch_dtype
from lamina.runtime import get_device

# ----------------------------------------------------------------------------- shapes


def _shape_tuple(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int):
        return (shape,)
    if isinstance(shape, torch.Tensor):
        return tuple(int(v) for v in shape.tolist())
    return tuple(-1 if s is None else int(s) for s in shape)


def reshape(x: Any, newshape: Any) -> torch.Tensor:
    """Gives a new shape to a tensor; one dimension may be -1 (inferred).

    Example:
        >>> ops.reshape(ops.arange(6), (2, 3)).shape
        torch.Size([2, 3])
    """
    x = convert_to_tensor(x)
    target = _shape_tuple(newshape)
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
        return torch.broadcast_to(x, _shape_tuple(shape))
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


# ----------------------------------------------------------------------------- indexing


def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Takes elements at `indices` along `axis` (of the flat input when None).

    Negative indices count from the end, as in NumPy.

    Example:
        >>> ops.take([10, 20, 30], [2, 0])
        tensor([30, 10], dtype=torch.int32)
    """
    x, idx = tensors(x, indices)
    idx = idx.long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = check_axis("take", axis, x.ndim)
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    out = x.index_select(axis, idx.reshape(-1))
    return out.reshape(*x.shape[:axis], *idx.shape, *x.shape[axis + 1:])


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Takes values from `x` at matching `indices` along `axis` (NumPy's take_along_axis).

    Example:
        >>> ops.take_along_axis([[10, 20], [30, 40]], [[1], [0]], axis=1)
        tensor([[20],
                [30]], dtype=torch.int32)
    """
    x, idx = tensors(x, indices)
    idx = idx.long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = check_axis("take_along_axis", axis, x.ndim)
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    shape = list(torch.broadcast_shapes(x.shape[:axis] + (1,) + x.shape[axis + 1:],
                                        idx.shape[:axis] + (1,) + idx.shape[axis + 1:]))
    xs = list(shape)
    xs[axis] = x.shape[axis]
    shape[axis] = idx.shape[axis]
    return torch.gather(x.expand(xs), axis, idx.expand(shape))


def nonzero(x: Any) -> tuple[torch.Tensor, ...]:
    """Returns the indices of non-zero elements, one int32 tensor per axis.

    Example:
        >>> ops.nonzero([0, 3, 0, 4])
        (tensor([1, 3], dtype=torch.int32),)
    """
    return tuple(t.to(torch.int32) for t in torch.nonzero(convert_to_tensor(x), as_tuple=True))


def tril(x: Any, k: int = 0) -> torch.Tensor:
    """Zeroes the elements above the `k`-th diagonal.

    Example:
        >>> ops.tril(ops.ones((2, 2)))
        tensor([[1., 0.],
                [1., 1.]])
    """
    return torch.tril(convert_to_tensor(x), diagonal=k)


def triu(x: Any, k: int = 0) -> torch.Tensor:
    """Zeroes the elements below the `k`-th diagonal.

    Example:
        >>> ops.triu(ops.ones((2, 2)))
        tensor([[1., 1.],
                [0., 1.]])
    """
    return torch.triu(convert_to_tensor(x), diagonal=k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """Returns the given diagonal (the last axis indexes along it).

    Example:
        >>> ops.diagonal([[1, 2], [3, 4]])
        tensor([1, 4], dtype=torch.int32)
    """
    return torch.diagonal(convert_to_tensor(x), offset=offset, dim1=axis1, dim2=axis2)


def diag(x: Any, k: int = 0) -> torch.Tensor:
    """Extracts a diagonal of a 2-D input, or builds a 2-D matrix from a 1-D one.

    Example:
        >>> ops.diag([1, 2])
        tensor([[1, 0],
                [0, 2]], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"`ops.diag` expects a 1-D or 2-D input. Received: x.shape={tuple(x.shape)}.")
    return torch.diag(x, diagonal=k)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """Sums along a diagonal.

    Example:
        >>> ops.trace([[1, 2], [3, 4]])
        tensor(5, dtype=torch.int32)
    """
    d = diagonal(x, offset=offset, axis1=axis1, axis2=axis2)
    return d.sum(-1, dtype=d.dtype if d.dtype != torch.bool else torch.int32)


def diff(a: Any, n: int = 1, axis: int = -1) -> torch.Tensor:
    """Computes the `n`-th discrete difference along `axis`.

    Example:
        >>> ops.diff([1, 4, 9])
        tensor([3, 5], dtype=torch.int32)
    """
    x = convert_to_tensor(a)
    return torch.diff(x, n=n, dim=check_axis("diff", axis, x.ndim))


def digitize(x: Any, bins: Any) -> torch.Tensor:
    """Returns, for each value, the index of the bin it falls in (NumPy's `digitize`).

    Example:
        >>> ops.digitize([0.5, 1.5, 2.5], [1.0, 2.0])
        tensor([0, 1, 2], dtype=torch.int32)
    """
    x, b = tensors(x, bins)
    return torch.bucketize(x, b.to(x.dtype), right=True).to(torch.int32)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> torch.Tensor:
    """Counts occurrences of each non-negative int (weighted when `weights` is given).

    Example:
        >>> ops.bincount([0, 1, 1, 3])
        tensor([1, 2, 0, 1], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if weights is None:
        return torch.bincount(x.reshape(-1).long(), minlength=minlength).to(torch.int32)
    x, w = tensors(x, weights)
    return torch.bincount(x.reshape(-1).long(), weights=w.reshape(-1), minlength=minlength).to(w.dtype)


# ----------------------------------------------------------------------------- creation


def _dt(dtype: Any, default: torch.dtype = FLOATX) -> torch.dtype:
    return to_torch_dtype(dtype) or default


def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Returns a tensor of zeros (float32 unless `dtype` is given).

    Example:
        >>> ops.zeros((2,))
        tensor([0., 0.])
    """
    return torch.zeros(_shape_tuple(shape), dtype=_dt(dtype), device=get_device())


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Returns a tensor of ones (float32 unless `dtype` is given).

    Example:
        >>> ops.ones((2,))
        tensor([1., 1.])
    """
    return torch.ones(_shape_tuple(shape), dtype=_dt(dtype), device=get_device())


def empty(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Returns an uninitialised tensor of `shape`.

    Example:
        >>> ops.empty((2, 3)).shape
        torch.Size([2, 3])
    """
    return torch.empty(_shape_tuple(shape), dtype=_dt(dtype), device=get_device())


def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """Returns a tensor of `shape` filled with `fill_value` (its dtype inferred as a scalar's).

    Example:
        >>> ops.full((2,), 7)
        tensor([7, 7], dtype=torch.int32)
    """
    value = convert_to_tensor(fill_value, dtype=dtype)
    return torch.broadcast_to(value, _shape_tuple(shape)).clone()


def zeros_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Returns zeros with the shape (and dtype, unless given) of `x`.

    Example:
        >>> ops.zeros_like([1, 2])
        tensor([0, 0], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    return torch.zeros_like(x, dtype=to_torch_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Returns ones with the shape (and dtype, unless given) of `x`.

    Example:
        >>> ops.ones_like([1, 2])
        tensor([1, 1], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    return torch.ones_like(x, dtype=to_torch_dtype(dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """Returns `fill_value` in the shape (and dtype, unless given) of `x`.

    Example:
        >>> ops.full_like([1, 2], 5)
        tensor([5, 5], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    return torch.full_like(x, fill_value, dtype=to_torch_dtype(dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803
    """Returns a 2-D tensor with ones on the `k`-th diagonal.

    Example:
        >>> ops.eye(2)
        tensor([[1., 0.],
                [0., 1.]])
    """
    M = N if M is None else M  # noqa: N806
    rows = torch.arange(N, device=get_device()).unsqueeze(1)
    cols = torch.arange(M, device=get_device()).unsqueeze(0)
    return (cols - rows == k).to(_dt(dtype))


def identity(n: int, dtype: Any = None) -> torch.Tensor:
    """Returns the `n`-by-`n` identity matrix.

    Example:
        >>> ops.identity(2)
        tensor([[1., 0.],
                [0., 1.]])
    """
    return torch.eye(n, dtype=_dt(dtype), device=get_device())


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:  # noqa: N803
    """Returns a matrix with ones at and below the `k`-th diagonal.

    Example:
        >>> ops.tri(2)
        tensor([[1., 0.],
                [1., 1.]])
    """
    M = N if M is None else M  # noqa: N806
    return torch.tril(torch.ones((N, M), dtype=_dt(dtype), device=get_device()), diagonal=k)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> torch.Tensor:
    """Returns evenly spaced values in `[start, stop)`; int32 for int arguments, else float32.

    Example:
        >>> ops.arange(3)
        tensor([0, 1, 2], dtype=torch.int32)
    """
    if stop is None:
        start, stop = 0, start
    is_int = all(isinstance(v, (int, np.integer)) for v in (start, stop, step))
    dt = _dt(dtype, torch.int32 if is_int else FLOATX)
    out = torch.arange(start, stop, step, device=get_device(),
                       dtype=torch.int64 if is_int else torch.float64)
    return out.to(dt)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Any:
    """Returns `num` evenly spaced values from `start` to `stop`.

    Example:
        >>> ops.linspace(0.0, 1.0, 3)
        tensor([0.0000, 0.5000, 1.0000])
    """
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else float("nan")
    out = start + torch.arange(num, dtype=torch.float64, device=get_device()) * step
    if endpoint and num > 1:
        out[-1] = stop
    out = out.to(_dt(dtype))
    return (out, step) if retstep else out


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10.0,
             dtype: Any = None, axis: int = 0) -> torch.Tensor:
    """Returns `num` values spaced evenly on a log scale, `base**start` to `base**stop`.

    Example:
        >>> ops.logspace(0.0, 2.0, 3)
        tensor([  1.,  10., 100.])
    """
    exps = linspace(start, stop, num, endpoint=endpoint, dtype="float64")
    return (base ** exps).to(_dt(dtype))


def meshgrid(*x: Any, indexing: str = "xy") -> list[torch.Tensor]:
    """Returns coordinate grids from 1-D coordinate vectors.

    Example:
        >>> [g.shape for g in ops.meshgrid([1, 2, 3], [4, 5])]
        [torch.Size([2, 3]), torch.Size([2, 3])]
    """
    return list(torch.meshgrid(*tensors(*x), indexing=indexing))


def array(x: Any, dtype: Any = None) -> torch.Tensor:
    """Creates a tensor (same as `convert_to_tensor`).

    Example:
        >>> ops.array([1.0, 2.0])
        tensor([1., 2.])
    """
    return convert_to_tensor(x, dtype=dtype)


def size(x: Any) -> int:
    """Returns the number of elements.

    Example:
        >>> ops.size(ops.zeros((2, 3)))
        6
    """
    return int(convert_to_tensor(x).numel())


def ndim(x: Any) -> int:
    """Returns the number of axes.

    Example:
        >>> ops.ndim(ops.zeros((2, 3)))
        2
    """
    return int(convert_to_tensor(x).ndim)

