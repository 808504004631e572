"""Statistics over NumPy-style axes: `ptp`, the NaN-ignoring reductions, `histogram`,
`correlate`, `corrcoef` and `trapezoid`."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops._utils import check_axis
from lamina.ops.core import convert_to_tensor, tensors, to_float
from lamina.ops.reductions import max, min, prod, sum  # noqa: A004


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Range of values (`max - min`) over `axis`.

    Example:
        >>> ops.ptp([1, 5, 3])
        tensor(4, dtype=torch.int32)
    """
    return max(x, axis=axis, keepdims=keepdims) - min(x, axis=axis, keepdims=keepdims)


def _nan_fill(x: Any, value: float) -> torch.Tensor:
    x = convert_to_tensor(x)
    if not x.is_floating_point():
        return x
    return torch.where(torch.isnan(x), torch.full_like(x, value), x)


def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Sum over `axis`, treating NaN as zero.

    Example:
        >>> ops.nansum([1.0, float("nan"), 2.0])
        tensor(3.)
    """
    return sum(_nan_fill(x, 0.0), axis=axis, keepdims=keepdims)


def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Product over `axis`, treating NaN as one.

    Example:
        >>> ops.nanprod([2.0, float("nan"), 3.0])
        tensor(6.)
    """
    return prod(_nan_fill(x, 1.0), axis=axis, keepdims=keepdims)


def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Mean over `axis`, ignoring NaN.

    Example:
        >>> ops.nanmean([1.0, float("nan"), 3.0])
        tensor(2.)
    """
    x = to_float(convert_to_tensor(x))
    count = sum(~torch.isnan(x), axis=axis, keepdims=keepdims)
    return nansum(x, axis=axis, keepdims=keepdims) / count


def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Maximum over `axis`, ignoring NaN.

    Example:
        >>> ops.nanmax([1.0, float("nan"), 3.0])
        tensor(3.)
    """
    x = convert_to_tensor(x)
    low = -torch.inf if x.is_floating_point() else 0.0
    return max(_nan_fill(x, low), axis=axis, keepdims=keepdims)


def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> torch.Tensor:
    """Minimum over `axis`, ignoring NaN.

    Example:
        >>> ops.nanmin([1.0, float("nan"), 3.0])
        tensor(1.)
    """
    x = convert_to_tensor(x)
    high = torch.inf if x.is_floating_point() else 0.0
    return min(_nan_fill(x, high), axis=axis, keepdims=keepdims)


def histogram(x: Any, bins: int = 10, range: tuple[float, float] | None = None  # noqa: A002
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Counts values of the flattened `x` in `bins` equal-width bins; returns `(counts, edges)`.

    Example:
        >>> counts, edges = ops.histogram([0.0, 0.5, 1.0], bins=2)
        >>> counts
        tensor([1., 2.])
    """
    x = to_float(convert_to_tensor(x)).reshape(-1)
    lo, hi = (x.min().item(), x.max().item()) if range is None else range
    counts = torch.histc(x, bins=bins, min=lo, max=hi)
    edges = torch.linspace(lo, hi, bins + 1, dtype=x.dtype, device=x.device)
    return counts, edges


def correlate(x1: Any, x2: Any, mode: str = "valid") -> torch.Tensor:
    """Cross-correlation of two 1-D sequences; `mode` is `"valid"`, `"same"` or `"full"`.

    Example:
        >>> ops.correlate([1.0, 2.0, 3.0], [0.0, 1.0])
        tensor([2., 3.])
    """
    a, v = tensors(x1, x2)
    a, v = to_float(a), to_float(v).to(to_float(a).dtype)
    if mode not in ("valid", "same", "full"):
        raise ValueError(
            f"`ops.correlate` expects `mode` to be 'valid', 'same' or 'full'. Received: mode={mode!r}."
        )
    m = v.shape[0]
    if mode == "valid":
        pad = (0, 0)
    elif mode == "full":
        pad = (m - 1, m - 1)
    else:
        pad = (m // 2, (m - 1) // 2)
    a = torch.nn.functional.pad(a, pad)
    return torch.nn.functional.conv1d(a.reshape(1, 1, -1), v.reshape(1, 1, -1)).reshape(-1)


def corrcoef(x: Any) -> torch.Tensor:
    """Pearson correlation matrix of the rows of `x`.

    Example:
        >>> ops.corrcoef([[1.0, 2.0, 3.0], [2.0, 4.0, 7.0]]).shape
        torch.Size([2, 2])
    """
    return torch.corrcoef(to_float(convert_to_tensor(x)))


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> torch.Tensor:
    """Integrates `y` along `axis` with the trapezoidal rule.

    Example:
        >>> ops.trapezoid([1.0, 2.0, 3.0])
        tensor(4.)
    """
    y = to_float(convert_to_tensor(y))
    axis = check_axis("trapezoid", axis, y.ndim)
    if x is None:
        return torch.trapezoid(y, dx=dx, dim=axis)
    return torch.trapezoid(y, tensors(y, x)[1].to(y.dtype), dim=axis)
