"""NumPy-style elementwise math and reductions on torch tensors (`ops.add`, `ops.sum`, ...).

Shape manipulation, creation and indexing live in `lamina.ops.arrays`; products
and norms in `lamina.ops.linalg`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops._utils import binary, check_axes, check_axis, out_dtype, unary
from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_float


def _doc(fn: Any, name: str, what: str, example: str) -> Any:
    fn.__name__ = fn.__qualname__ = name
    args = (
        "x1: A tensor, NumPy array or Python number.\n"
        "        x2: A tensor, NumPy array or Python number, broadcastable with `x1`."
        if "x1" in example
        else "x: A tensor, NumPy array or Python number."
    )
    fn.__doc__ = f"""{what}

    Args:
        {args}

    Returns:
        A torch tensor.

    Example:
        >>> from lamina import ops
        >>> {example}
    """
    return fn


def _true_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if not (a.is_floating_point() or a.is_complex() or b.is_floating_point() or b.is_complex()):
        a, b = a.to(FLOATX), b.to(FLOATX)
    return torch.true_divide(a, b)


def _power(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.pow(a, b)


def _round(x: Any, decimals: int = 0) -> torch.Tensor:
    return torch.round(convert_to_tensor(x), decimals=decimals)


def _sign(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) if not x.is_complex() else torch.sgn(x)


_UNARY = {
    # name: (torch function, needs float, summary, example)
    "abs": (torch.abs, False, "Computes the element-wise absolute value.", "ops.abs([-1, 2])"),
    "negative": (torch.negative, False, "Negates element-wise.", "ops.negative([1.0])"),
    "square": (torch.square, False, "Squares element-wise.", "ops.square([3])"),
    "sqrt": (torch.sqrt, True, "Computes the element-wise square root.", "ops.sqrt([4.0])"),
    "exp": (torch.exp, True, "Computes `e ** x` element-wise.", "ops.exp([0.0])"),
    "exp2": (torch.exp2, True, "Computes `2 ** x` element-wise.", "ops.exp2([3.0])"),
    "expm1": (torch.expm1, True, "Computes `exp(x) - 1` element-wise.", "ops.expm1([0.0])"),
    "log": (torch.log, True, "Computes the natural logarithm element-wise.", "ops.log([1.0])"),
    "log1p": (torch.log1p, True, "Computes `log(1 + x)` element-wise.", "ops.log1p([0.0])"),
    "log2": (torch.log2, True, "Computes the base-2 logarithm element-wise.", "ops.log2([8.0])"),
    "log10": (torch.log10, True, "Computes the base-10 logarithm.", "ops.log10([100.0])"),
    "sin": (torch.sin, True, "Computes the sine element-wise.", "ops.sin([0.0])"),
    "cos": (torch.cos, True, "Computes the cosine element-wise.", "ops.cos([0.0])"),
    "tan": (torch.tan, True, "Computes the tangent element-wise.", "ops.tan([0.0])"),
    "arcsin": (torch.asin, True, "Computes the inverse sine element-wise.", "ops.arcsin([0.0])"),
    "arccos": (torch.acos, True, "Computes the inverse cosine element-wise.", "ops.arccos([1.0])"),
    "arctan": (torch.atan, True, "Computes the inverse tangent element-wise.", "ops.arctan([0.0])"),
    "sinh": (torch.sinh, True, "Computes the hyperbolic sine.", "ops.sinh([0.0])"),
    "cosh": (torch.cosh, True, "Computes the hyperbolic cosine.", "ops.cosh([0.0])"),
    "tanh": (torch.tanh, True, "Computes the hyperbolic tangent.", "ops.tanh([0.0])"),
    "arcsinh": (torch.asinh, True, "Computes the inverse hyperbolic sine.", "ops.arcsinh([0.0])"),
    "arccosh": (torch.acosh, True, "Computes the inverse hyperbolic cosine.", "ops.arccosh([1.0])"),
    "arctanh": (torch.atanh, True, "Computes the inverse hyperbolic tangent.", "ops.arctanh([0.0])"),
    "floor": (torch.floor, True, "Rounds down element-wise.", "ops.floor([1.5])"),
    "ceil": (torch.ceil, True, "Rounds up element-wise.", "ops.ceil([1.5])"),
    "trunc": (torch.trunc, False, "Rounds toward zero element-wise.", "ops.trunc([-1.5])"),
    "sign": (_sign, False, "Returns the element-wise sign (-1, 0 or 1).", "ops.sign([-2, 0, 3])"),
    "reciprocal": (torch.reciprocal, True, "Computes `1 / x` element-wise.", "ops.reciprocal([2.0])"),
    "isnan": (torch.isnan, False, "Tests element-wise for NaN.", "ops.isnan([float('nan')])"),
    "isinf": (torch.isinf, False, "Tests element-wise for infinity.", "ops.isinf([1.0])"),
    "isfinite": (torch.isfinite, False, "Tests element-wise for finiteness.", "ops.isfinite([1.0])"),
    "logical_not": (torch.logical_not, False, "Computes NOT element-wise.", "ops.logical_not([True])"),
    "conjugate": (torch.conj_physical, False, "Returns the complex conjugate.", "ops.conjugate([1.0])"),
    "real": (torch.real, False, "Returns the real part.", "ops.real([1.0])"),
    "imag": (torch.imag, False, "Returns the imaginary part.", "ops.imag(ops.convert_to_tensor([1j]))"),
    "angle": (torch.angle, True, "Returns the complex argument element-wise.", "ops.angle([-1.0])"),
    "signbit": (torch.signbit, False, "Tests element-wise whether the sign bit is set.",
                "ops.signbit([-0.0])"),
}

_BINARY = {
    "add": (torch.add, "Adds element-wise, with broadcasting.", "ops.add(x1=[1, 2], x2=3)"),
    "subtract": (torch.subtract, "Subtracts element-wise.", "ops.subtract(x1=[3.0], x2=1.0)"),
    "multiply": (torch.multiply, "Multiplies element-wise.", "ops.multiply(x1=[2], x2=[3])"),
    "divide": (_true_div, "Divides element-wise (true division).", "ops.divide(x1=[1], x2=[2])"),
    "floor_divide": (torch.floor_divide, "Divides element-wise, rounding down.",
                     "ops.floor_divide(x1=[7], x2=[2])"),
    "mod": (torch.remainder, "Returns the element-wise remainder, sign of the divisor.",
            "ops.mod(x1=[-7], x2=[3])"),
    "power": (_power, "Raises `x1` to the power `x2` element-wise.", "ops.power(x1=[2], x2=3)"),
    "maximum": (torch.maximum, "Element-wise maximum.", "ops.maximum(x1=[1, 5], x2=[3, 2])"),
    "minimum": (torch.minimum, "Element-wise minimum.", "ops.minimum(x1=[1, 5], x2=[3, 2])"),
    "equal": (torch.eq, "Tests `x1 == x2` element-wise.", "ops.equal(x1=[1, 2], x2=1)"),
    "not_equal": (torch.ne, "Tests `x1 != x2` element-wise.", "ops.not_equal(x1=[1, 2], x2=1)"),
    "less": (torch.lt, "Tests `x1 < x2` element-wise.", "ops.less(x1=[1, 2], x2=2)"),
    "less_equal": (torch.le, "Tests `x1 <= x2` element-wise.", "ops.less_equal(x1=[1, 2], x2=1)"),
    "greater": (torch.gt, "Tests `x1 > x2` element-wise.", "ops.greater(x1=[1, 2], x2=1)"),
    "greater_equal": (torch.ge, "Tests `x1 >= x2` element-wise.",
                      "ops.greater_equal(x1=[1, 2], x2=2)"),
    "logical_and": (torch.logical_and, "Computes AND element-wise.",
                    "ops.logical_and(x1=[True], x2=[False])"),
    "logical_or": (torch.logical_or, "Computes OR element-wise.",
                   "ops.logical_or(x1=[True], x2=[False])"),
    "logical_xor": (torch.logical_xor, "Computes XOR element-wise.",
                    "ops.logical_xor(x1=[True], x2=[True])"),
    "arctan2": (lambda a, b: torch.atan2(to_float(a), to_float(b)),
                "Computes the quadrant-aware `arctan(x1 / x2)`.", "ops.arctan2(x1=[1.0], x2=[1.0])"),
    "logaddexp": (lambda a, b: torch.logaddexp(to_float(a), to_float(b)),
                  "Computes `log(exp(x1) + exp(x2))` stably.", "ops.logaddexp(x1=[0.0], x2=[0.0])"),
    "hypot": (lambda a, b: torch.hypot(to_float(a), to_float(b)),
              "Computes `sqrt(x1**2 + x2**2)` element-wise.", "ops.hypot(x1=[3.0], x2=[4.0])"),
    "copysign": (lambda a, b: torch.copysign(to_float(a), to_float(b)),
                 "Returns `x1` with the sign of `x2`.", "ops.copysign(x1=[1.0], x2=[-1.0])"),
    "bitwise_and": (torch.bitwise_and, "Computes bitwise AND.", "ops.bitwise_and(x1=[6], x2=[3])"),
    "bitwise_or": (torch.bitwise_or, "Computes bitwise OR.", "ops.bitwise_or(x1=[6], x2=[3])"),
    "bitwise_xor": (torch.bitwise_xor, "Computes bitwise XOR.", "ops.bitwise_xor(x1=[6], x2=[3])"),
}

for _name, (_fn, _floating, _what, _ex) in _UNARY.items():
    globals()[_name] = _doc(unary(_fn, floating=_floating), _name, _what, _ex)
for _name, (_fn, _what, _ex) in _BINARY.items():
    _op = binary(_fn)

    def _make(op: Any) -> Any:
        def fn(x1: Any, x2: Any) -> torch.Tensor:
            return op(x1, x2)

        return fn

    globals()[_name] = _doc(_make(_op), _name, _what, _ex)

absolute = globals()["abs"]
conj = globals()["conjugate"]
true_divide = globals()["divide"]
pow = globals()["power"]  # noqa: A001 - Keras name
round = _doc(_round, "round", "Rounds to the given number of `decimals` (half to even).",  # noqa: A001
             "ops.round([0.5, 1.5, 2.567], decimals=0)")


def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    """Clips values to `[x_min, x_max]`.

    Args:
        x: Input tensor.
        x_min: Lower bound (scalar or tensor).
        x_max: Upper bound (scalar or tensor).

    Example:
        >>> ops.clip([-1.0, 0.5, 2.0], 0.0, 1.0)
        tensor([0.0000, 0.5000, 1.0000])
    """
    x, lo, hi = tensors(x, x_min, x_max)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return torch.minimum(torch.maximum(x, lo.to(x.dtype)), hi.to(x.dtype))


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """Picks `x1` where `condition` is true, else `x2`; with one argument, returns indices.

    Args:
        condition: Boolean tensor.
        x1: Values where true. Defaults to `None`.
        x2: Values where false. Defaults to `None`.

    Example:
        >>> ops.where([True, False], [1, 2], [10, 20])
        tensor([ 1, 20], dtype=torch.int32)
    """
    if (x1 is None) != (x2 is None):
        raise ValueError(
            "`ops.where` expects both `x1` and `x2`, or neither. "
            f"Received: x1={'None' if x1 is None else 'a value'}, "
            f"x2={'None' if x2 is None else 'a value'}."
        )
    if x1 is None:
        return torch.nonzero(convert_to_tensor(condition), as_tuple=True)
    c, a, b = tensors(condition, x1, x2)
    return torch.where(c.bool(), a, b)


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> torch.Tensor:
    """Replaces NaN and infinities by finite numbers.

    Example:
        >>> ops.nan_to_num([float("nan"), 1.0], nan=-1.0)
        tensor([-1.,  1.])
    """
    return torch.nan_to_num(convert_to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> torch.Tensor:
    """Tests element-wise whether `|x1 - x2| <= atol + rtol * |x2|`.

    Example:
        >>> ops.isclose([1.0, 2.0], [1.0, 2.1])
        tensor([ True, False])
    """
    a, b = tensors(x1, x2)
    dt = torch.promote_types(a.dtype, b.dtype)
    return torch.isclose(a.to(dt), b.to(dt), rtol=rtol, atol=atol, equal_nan=equal_nan)


# ----------------------------------------------------------------------------- reductions


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
    if axes is None:
        return _all(torch.prod, x, keepdims)
    for a in sorted(axes, reverse=True):
        x = torch.prod(x, dim=a, keepdim=keepdims)
    return x


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
