"""Tensor creation (`zeros`, `ones`, `full`, `eye`, `arange`, `linspace`, ...) and size queries.

New tensors are float32 unless `dtype` says otherwise (`arange` with integer
arguments gives int32), on `lamina.get_device()`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.ops._utils import shape_tuple
from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_torch_dtype
from lamina.runtime import get_device


def _dt(dtype: Any, default: torch.dtype = FLOATX) -> torch.dtype:
    return to_torch_dtype(dtype) or default


def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Returns a tensor of zeros (float32 unless `dtype` is given).

    Example:
        >>> ops.zeros((2,))
        tensor([0., 0.])
    """
    return torch.zeros(shape_tuple(shape), dtype=_dt(dtype), device=get_device())


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Returns a tensor of ones (float32 unless `dtype` is given).

    Example:
        >>> ops.ones((2,))
        tensor([1., 1.])
    """
    return torch.ones(shape_tuple(shape), dtype=_dt(dtype), device=get_device())


def empty(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Returns an uninitialised tensor of `shape`.

    Example:
        >>> ops.empty((2, 3)).shape
        torch.Size([2, 3])
    """
    return torch.empty(shape_tuple(shape), dtype=_dt(dtype), device=get_device())


def full(shape: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """Returns a tensor of `shape` filled with `fill_value`; float32 unless `dtype` is given.

    As in Keras, an integer `fill_value` still gives float32 by default.

    Example:
        >>> ops.full((2,), 7)
        tensor([7., 7.])
        >>> ops.full((2,), 7, dtype="int32")
        tensor([7, 7], dtype=torch.int32)
    """
    value = convert_to_tensor(fill_value, dtype=dtype or FLOATX)
    return torch.broadcast_to(value, shape_tuple(shape)).clone()


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
    if hasattr(x, "ndim") and not isinstance(x, (list, tuple)):
        return int(x.ndim)
    return int(convert_to_tensor(x).ndim)


def empty_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """Returns an uninitialised tensor with the shape (and dtype, unless given) of `x`.

    Example:
        >>> ops.empty_like(ops.zeros((2, 3))).shape
        torch.Size([2, 3])
    """
    return torch.empty_like(convert_to_tensor(x), dtype=to_torch_dtype(dtype))


def vander(x: Any, N: int | None = None, increasing: bool = False) -> torch.Tensor:  # noqa: N803
    """Vandermonde matrix: columns are powers of `x` (decreasing unless `increasing`).

    Example:
        >>> ops.vander([1, 2, 3], 3)
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    return torch.vander(x, N=N, increasing=increasing).to(x.dtype)


def _window(name: str, x: int, fn: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        x = int(x.item())
    if x <= 0:
        return torch.zeros((0,), dtype=FLOATX, device=get_device())
    if x == 1:
        return torch.ones((1,), dtype=FLOATX, device=get_device())
    return fn(x, periodic=False, dtype=torch.float64, device=get_device()).to(FLOATX)


def bartlett(x: int) -> torch.Tensor:
    """The Bartlett (triangular) window of `x` points, as NumPy.

    Example:
        >>> ops.bartlett(3)
        tensor([0., 1., 0.])
    """
    return _window("bartlett", x, torch.bartlett_window)


def blackman(x: int) -> torch.Tensor:
    """The Blackman window of `x` points, as NumPy.

    Example:
        >>> ops.blackman(3).shape
        torch.Size([3])
    """
    return _window("blackman", x, torch.blackman_window)


def hamming(x: int) -> torch.Tensor:
    """The Hamming window of `x` points, as NumPy.

    Example:
        >>> ops.hamming(3)
        tensor([0.0800, 1.0000, 0.0800])
    """
    return _window("hamming", x, torch.hamming_window)


def hanning(x: int) -> torch.Tensor:
    """The Hann window of `x` points, as NumPy.

    Example:
        >>> ops.hanning(3)
        tensor([0., 1., 0.])
    """
    return _window("hanning", x, torch.hann_window)


def kaiser(x: int, beta: float) -> torch.Tensor:
    """The Kaiser window of `x` points with shape parameter `beta`, as NumPy.

    Example:
        >>> ops.kaiser(3, 0.0)
        tensor([1., 1., 1.])
    """
    return _window("kaiser", x, lambda n, **kw: torch.kaiser_window(n, beta=beta, **kw))
