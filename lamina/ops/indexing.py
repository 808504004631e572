"""Indexing, slicing and scattering: `take`, `take_along_axis`, `slice`, `scatter`, diagonals, bins.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.ops._utils import check_axis
from lamina.ops.core import convert_to_tensor, tensors


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[torch.Tensor]:
    """Splits a tensor into a list of tensors along `axis`.

    Example:
        >>> len(unstack(torch.zeros(3, 2)))
        3
    """
    return list(torch.unbind(convert_to_tensor(x), dim=axis))


def _starts(start_indices: Any) -> list[int]:
    if isinstance(start_indices, torch.Tensor):
        return [int(v) for v in start_indices.tolist()]
    return [int(v.item()) if isinstance(v, torch.Tensor) else int(v) for v in start_indices]


def slice(inputs: Any, start_indices: Any, shape: Sequence[int]) -> torch.Tensor:  # noqa: A001
    """Returns the block of `shape` starting at `start_indices`.

    Example:
        >>> slice(torch.arange(10).reshape(2, 5), (0, 1), (2, 2))
        tensor([[1, 2],
                [6, 7]])
    """
    x = convert_to_tensor(inputs)
    starts = _starts(start_indices)
    if len(starts) != x.ndim or len(shape) != x.ndim:
        raise ValueError(
            f"`slice` expects one start index and one size per axis of the rank-{x.ndim} input. "
            f"Received: start_indices={tuple(starts)}, shape={tuple(shape)}."
        )
    index = tuple(builtins.slice(s, s + n) for s, n in zip(starts, shape))
    return x[index]


def slice_update(inputs: Any, start_indices: Any, updates: Any) -> torch.Tensor:
    """Returns a copy of `inputs` with the block at `start_indices` replaced by `updates`.

    Example:
        >>> slice_update(torch.zeros(4), (1,), torch.ones(2))
        tensor([0., 1., 1., 0.])
    """
    x, u = tensors(inputs, updates)
    starts = _starts(start_indices)
    index = tuple(builtins.slice(s, s + n) for s, n in zip(starts, u.shape))
    out = x.clone()
    out[index] = u.to(out.dtype)
    return out


def scatter(indices: Any, values: Any, shape: Sequence[int]) -> torch.Tensor:
    """Returns a zero tensor of `shape` with `values` added at `indices`.

    Args:
        indices: Integer tensor of shape `(n, k)`: `n` index tuples into the
            first `k` axes.
        values: Tensor of shape `(n,) + shape[k:]`.
        shape: The output shape.

    Example:
        >>> scatter([[0], [2]], [1.0, 2.0], (4,))
        tensor([1., 0., 2., 0.])
    """
    idx, v = tensors(indices, values)
    out = torch.zeros(tuple(shape), dtype=v.dtype, device=v.device)
    out = out.index_put(tuple(idx.long().unbind(-1)), v, accumulate=True)
    return out


def scatter_update(inputs: Any, indices: Any, updates: Any) -> torch.Tensor:
    """Returns a copy of `inputs` with the entries at `indices` set to `updates`.

    Example:
        >>> scatter_update(torch.zeros(2, 2), [[0, 1]], [5.0])
        tensor([[0., 5.],
                [0., 0.]])
    """
    x, idx, u = tensors(inputs, indices, updates)
    return x.index_put(tuple(idx.long().unbind(-1)), u.to(x.dtype))


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


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> torch.Tensor:
    """Tests whether each element of `x1` is in `x2`.

    Example:
        >>> ops.isin([1, 2, 3], [2, 5])
        tensor([False,  True, False])
    """
    a, b = tensors(x1, x2)
    return torch.isin(a, b.to(a.dtype), assume_unique=assume_unique, invert=invert)


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> torch.Tensor:
    """Finds where `values` would be inserted into the 1-D `sorted_sequence` to keep it sorted.

    Example:
        >>> ops.searchsorted([1, 3, 5], [0, 3, 6])
        tensor([0, 1, 3], dtype=torch.int32)
    """
    if side not in ("left", "right"):
        raise ValueError(
            f"`ops.searchsorted` expects `side` to be 'left' or 'right'. Received: side={side!r}."
        )
    seq, v = tensors(sorted_sequence, values)
    dt = torch.promote_types(seq.dtype, v.dtype)
    return torch.searchsorted(seq.to(dt), v.to(dt), side=side).to(torch.int32)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> torch.Tensor:
    """Picks, element-wise, from the first choice whose condition holds (else `default`).

    Example:
        >>> ops.select([[True, False], [False, True]], [[1, 2], [3, 4]], default=0)
        tensor([1, 4], dtype=torch.int32)
    """
    if len(condlist) != len(choicelist):
        raise ValueError(
            "`ops.select` expects as many conditions as choices. "
            f"Received: {len(condlist)} conditions and {len(choicelist)} choices."
        )
    choices = tensors(*choicelist, default)
    out = choices[-1]
    for cond, choice in zip(reversed(list(condlist)), reversed(choices[:-1])):
        c, choice = tensors(cond, choice)
        out = torch.where(c.bool(), choice, out)
    return out


def unravel_index(indices: Any, shape: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """Converts flat indices into a tuple of coordinate tensors for `shape`.

    Example:
        >>> ops.unravel_index([5], (2, 3))
        (tensor([1], dtype=torch.int32), tensor([2], dtype=torch.int32))
    """
    idx = convert_to_tensor(indices)
    return tuple(t.to(idx.dtype) for t in torch.unravel_index(idx.long(), tuple(shape)))


def argpartition(x: Any, kth: int, axis: int = -1) -> torch.Tensor:
    """Indices that partition `x` along `axis` around its `kth` smallest element.

    Example:
        >>> ops.argpartition([3, 1, 2], 1)[1]
        tensor(2, dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    axis = check_axis("argpartition", axis, x.ndim)
    return torch.sort(x, dim=axis, stable=True).indices.to(torch.int32)


def get_item(x: Any, key: Any) -> torch.Tensor:
    """Returns `x[key]` (NumPy-style indexing).

    Example:
        >>> ops.get_item([10, 20, 30], 1)
        tensor(20, dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if isinstance(key, (list, np.ndarray)):
        key = convert_to_tensor(key, device=x.device)
    return x[key]


def diagflat(x: Any, k: int = 0) -> torch.Tensor:
    """Builds a 2-D matrix with the flattened input on the `k`-th diagonal.

    Example:
        >>> ops.diagflat([[1, 2]])
        tensor([[1, 0],
                [0, 2]], dtype=torch.int32)
    """
    return torch.diagflat(convert_to_tensor(x), offset=k)
