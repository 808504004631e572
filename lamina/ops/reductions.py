"""Reductions over axes (`sum`, `mean`, `max`, `std`, `argmax`, `quantile`, ...), cumulative ops and sorting.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops._utils import check_axes, check_axis, out_dtype
from lamina.ops.core import convert_to_tensor, tensors, to_float


def _reduce(name: str, x: Any, axis: Any) -> tuple[torch.Tensor, tuple[int, ...] | None]:
    x = convert_to_tensor(x)
    return x, check_axes(name, axis, x.ndim)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Sums over `axis` (all axes when None).

    Args:
        x: Input tensor.
        axis: An int, a tuple of ints, or None. Defaults to `None`.
        keepdims: Keep reduced axes with size 1. Defaults to `False`.

    Example:
        >>> ops.sum([[1, 2], [3, 4]], axis=0)
        tensor([4, 6], dtype=torch.int32)
    """
    x, axes = _reduce("sum", x, axis)
    dt = x.dtype if x.dtype not in (torch.bool, torch.uint8, torch.int8, torch.int16) else torch.int32
    if axes is None:
        out = torch.sum(x, dtype=dt)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.sum(x, dim=axes, keepdim=keepdims, dtype=dt)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Averages over `axis`; integer inputs give float32.

    Args:
        x: Input tensor.
        axis: An int, a tuple of ints, or None. Defaults to `None`.
        keepdims: Keep reduced axes with size 1. Defaults to `False`.

    Example:
        >>> ops.mean([1, 2])
        tensor(1.5000)
    """
    x, axes = _reduce("mean", x, axis)
    x = to_float(x)
    return torch.mean(x, dim=axes, keepdim=keepdims) if axes else _all(torch.mean, x, keepdims)


def _all(fn: Any, x: torch.Tensor, keepdims: bool) -> torch.Tensor:
    out = fn(x)
    return out.reshape((1,) * x.ndim) if keepdims else out


def _extreme(name: str, fn: Any, x: Any, axis: Any, keepdims: bool, initial: Any) -> torch.Tensor:
    x, axes = _reduce(name, x, axis)
    if x.numel() == 0 and initial is None:
        raise ValueError(
            f"`ops.{name}` of an empty tensor has no value. Received: x with shape "
            f"{tuple(x.shape)}. Pass `initial=` to give one."
        )
    out = fn(x, dim=axes if axes is not None else tuple(range(x.ndim)), keepdim=keepdims) \
        if x.ndim else x
    if initial is not None:
        other = torch.as_tensor(initial, dtype=out.dtype, device=out.device)
        out = torch.maximum(out, other) if name == "max" else torch.minimum(out, other)
    return out


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """Returns the maximum over `axis`.

    Args:
        x: Input tensor.
        axis: An int, a tuple of ints, or None. Defaults to `None`.
        keepdims: Keep reduced axes with size 1. Defaults to `False`.
        initial: A lower bound for the result. Defaults to `None`.

    Example:
        >>> ops.max([[1, 5], [3, 2]], axis=1)
        tensor([5, 3], dtype=torch.int32)
    """
    return _extreme("max", torch.amax, x, axis, keepdims, initial)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:  # noqa: A001
    """Returns the minimum over `axis`; `initial` is an upper bound. See `ops.max`.

    Example:
        >>> ops.min([[1, 5], [3, 2]], axis=1)
        tensor([1, 2], dtype=torch.int32)
    """
    return _extreme("min", torch.amin, x, axis, keepdims, initial)


amax = max


amin = min


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> torch.Tensor:
    """Multiplies over `axis`.

    Example:
        >>> ops.prod([1, 2, 3])
        tensor(6, dtype=torch.int32)
    """
    x, axes = _reduce("prod", x, axis)
    x = out_dtype(x, dtype)
    keep = x.dtype if x.dtype not in (torch.bool, torch.uint8, torch.int8, torch.int16) else torch.int32
    if axes is None:
        return _all(torch.prod, x, keepdims).to(keep)
    for a in sorted(axes, reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x.to(keep)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance (`ddof=0`, as NumPy and Keras) over `axis`.

    Example:
        >>> ops.var([1.0, 3.0])
        tensor(1.)
    """
    x, axes = _reduce("var", x, axis)
    return torch.var(to_float(x), dim=axes, correction=0, keepdim=keepdims)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation (`ddof=0`) over `axis`.

    Example:
        >>> ops.std([1.0, 3.0])
        tensor(1.)
    """
    x, axes = _reduce("std", x, axis)
    return torch.std(to_float(x), dim=axes, correction=0, keepdim=keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Tests whether all elements along `axis` are true.

    Example:
        >>> ops.all([True, False])
        tensor(False)
    """
    x, axes = _reduce("all", x, axis)
    return torch.all(x.bool(), dim=axes if axes is not None else tuple(range(x.ndim)),
                     keepdim=keepdims) if x.ndim else x.bool()


def any(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:  # noqa: A001
    """Tests whether any element along `axis` is true.

    Example:
        >>> ops.any([True, False])
        tensor(True)
    """
    x, axes = _reduce("any", x, axis)
    return torch.any(x.bool(), dim=axes if axes is not None else tuple(range(x.ndim)),
                     keepdim=keepdims) if x.ndim else x.bool()


def _arg(name: str, fn: Any, x: Any, axis: Any, keepdims: bool) -> torch.Tensor:
    x = convert_to_tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    if axis is None:
        out = fn(x.reshape(-1))
        out = out.reshape((1,) * x.ndim) if keepdims else out
    else:
        out = fn(x, dim=check_axis(name, axis, x.ndim), keepdim=keepdims)
    return out.to(torch.int32)


def argmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Returns the int32 index of the maximum along `axis` (of the flat input if None).

    Example:
        >>> ops.argmax([[1, 5], [3, 2]], axis=1)
        tensor([1, 0], dtype=torch.int32)
    """
    return _arg("argmax", torch.argmax, x, axis, keepdims)


def argmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Returns the int32 index of the minimum along `axis`.

    Example:
        >>> ops.argmin([[1, 5], [3, 2]], axis=1)
        tensor([0, 1], dtype=torch.int32)
    """
    return _arg("argmin", torch.argmin, x, axis, keepdims)


def _cum(name: str, fn: Any, x: Any, axis: Any, dtype: Any) -> torch.Tensor:
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = check_axis(name, axis, x.ndim)
    if dtype is None and x.dtype == torch.bool:
        dtype = "int32"
    out = fn(x, dim=axis)
    return out_dtype(out, dtype) if dtype is not None else out.to(x.dtype)


def cumsum(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative sum along `axis` (of the flat input if None).

    Example:
        >>> ops.cumsum([1, 2, 3])
        tensor([1, 3, 6], dtype=torch.int32)
    """
    return _cum("cumsum", torch.cumsum, x, axis, dtype)


def cumprod(x: Any, axis: Any = None, dtype: Any = None) -> torch.Tensor:
    """Cumulative product along `axis` (of the flat input if None).

    Example:
        >>> ops.cumprod([1, 2, 3])
        tensor([1, 2, 6], dtype=torch.int32)
    """
    return _cum("cumprod", torch.cumprod, x, axis, dtype)


def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear",
             keepdims: bool = False) -> torch.Tensor:
    """Computes the `q`-th quantile(s) over `axis`.

    Args:
        x: Input tensor.
        q: A quantile in [0, 1] or a sequence of them.
        axis: An int, a tuple of ints, or None. Defaults to `None`.
        method: `"linear"`, `"lower"`, `"higher"`, `"midpoint"` or `"nearest"`.
            Defaults to `"linear"`.
        keepdims: Keep reduced axes with size 1. Defaults to `False`.

    Example:
        >>> ops.quantile([1.0, 2.0, 3.0, 4.0], 0.5)
        tensor(2.5000)
    """
    x, axes = _reduce("quantile", x, axis)
    x = to_float(x)
    qt = torch.as_tensor(q, dtype=x.dtype, device=x.device)
    if axes is None:
        work, dim = x.reshape(-1), 0
    else:
        rest = [d for d in range(x.ndim) if d not in axes]
        work = x.permute(*rest, *axes).reshape(*[x.shape[d] for d in rest], -1)
        dim = -1
    out = torch.quantile(work, qt, dim=dim, interpolation=method)
    if keepdims:
        kept = [1 if (axes is None or d in axes) else x.shape[d] for d in range(x.ndim)]
        out = out.reshape(*qt.shape, *kept)
    return out


def median(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Median over `axis` (the mean of the two middle values for even sizes, as NumPy).

    Example:
        >>> ops.median([1.0, 2.0, 3.0, 4.0])
        tensor(2.5000)
    """
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def count_nonzero(x: Any, axis: Any = None) -> torch.Tensor:
    """Counts the non-zero values along `axis`.

    Example:
        >>> ops.count_nonzero([0, 1, 2])
        tensor(2, dtype=torch.int32)
    """
    x, axes = _reduce("count_nonzero", x, axis)
    return torch.count_nonzero(x, dim=axes).to(torch.int32)


def average(x: Any, axis: Any = None, weights: Any = None) -> torch.Tensor:
    """Weighted average over `axis`; `weights` is 1-D along `axis` or the shape of `x`.

    Example:
        >>> ops.average([1.0, 3.0], weights=[3.0, 1.0])
        tensor(1.5000)
    """
    x = to_float(convert_to_tensor(x))
    if weights is None:
        return mean(x, axis=axis)
    x, w = tensors(x, weights)
    w = w.to(x.dtype)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        ax = check_axis("average", axis, x.ndim)
        shape = [1] * x.ndim
        shape[ax] = -1
        w = w.reshape(shape)
    return sum(x * w, axis=axis) / sum(w * torch.ones_like(x), axis=axis)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Computes `log(sum(exp(x)))` over `axis`, stably.

    Example:
        >>> ops.logsumexp([0.0, 0.0])
        tensor(0.6931)
    """
    x, axes = _reduce("logsumexp", x, axis)
    return torch.logsumexp(to_float(x), dim=axes if axes is not None else tuple(range(x.ndim)),
                           keepdim=keepdims)


def sort(x: Any, axis: int = -1) -> torch.Tensor:
    """Sorts along `axis` in ascending order.

    Example:
        >>> ops.sort([3, 1, 2])
        tensor([1, 2, 3], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    return torch.sort(x, dim=check_axis("sort", axis, x.ndim), stable=True).values


def argsort(x: Any, axis: int = -1) -> torch.Tensor:
    """Returns the int32 indices that sort `x` along `axis` (stable).

    Example:
        >>> ops.argsort([3, 1, 2])
        tensor([1, 2, 0], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    idx = torch.sort(x, dim=check_axis("argsort", axis, x.ndim), stable=True).indices
    return idx.to(torch.int32)
