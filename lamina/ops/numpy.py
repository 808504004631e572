"""NumPy-style elementwise math on torch tensors (`ops.add`, `ops.exp`, `ops.where`, ...).

Reductions live in `lamina.ops.reductions`, shapes in `lamina.ops.shapes`,
creation in `lamina.ops.creation`, indexing in `lamina.ops.indexing`, and
products and norms in `lamina.ops.linalg`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops._utils import binary, unary
from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_float


def _doc(fn: Any, name: str, what: str, example: str) -> Any:
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    args = (
        "x1: A tensor, NumPy array or Python number.\n"
        "        x2: A tensor, NumPy array or Python number, broadcastable with `x1`."
        if "x1" in example
        else "x: A tensor, NumPy array or Python number."
    )
    call, _, result = example.partition(" -> ")
    fn.__doc__ = f"""{what}

    Args:
        {args}

    Returns:
        A torch tensor.

    Example:
        >>> from lamina import ops
        >>> {call}
        {result}
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


def _heaviside(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = to_float(a)
    return torch.heaviside(a, b.to(a.dtype))


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    zero = b == 0
    q = _true_div(a, torch.where(zero, torch.ones_like(b), b))  # no inf, so no NaN gradient
    return torch.where(zero, torch.zeros_like(q), q)


def _sign(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) if not x.is_complex() else torch.sgn(x)


_UNARY = {
    # name: (torch function, needs float, summary, example)
    "abs": (
        torch.abs,
        False,
        "Computes the element-wise absolute value.",
        "ops.abs([-1, 2]) -> tensor([1, 2], dtype=torch.int32)",
    ),
    "negative": (
        torch.negative,
        False,
        "Negates element-wise.",
        "ops.negative([1.0]) -> tensor([-1.])",
    ),
    "square": (
        torch.square,
        False,
        "Squares element-wise.",
        "ops.square([3]) -> tensor([9], dtype=torch.int32)",
    ),
    "sqrt": (
        torch.sqrt,
        True,
        "Computes the element-wise square root.",
        "ops.sqrt([4.0]) -> tensor([2.])",
    ),
    "exp": (torch.exp, True, "Computes `e ** x` element-wise.", "ops.exp([0.0]) -> tensor([1.])"),
    "exp2": (
        torch.exp2,
        True,
        "Computes `2 ** x` element-wise.",
        "ops.exp2([3.0]) -> tensor([8.])",
    ),
    "expm1": (
        torch.expm1,
        True,
        "Computes `exp(x) - 1` element-wise.",
        "ops.expm1([0.0]) -> tensor([0.])",
    ),
    "log": (
        torch.log,
        True,
        "Computes the natural logarithm element-wise.",
        "ops.log([1.0]) -> tensor([0.])",
    ),
    "log1p": (
        torch.log1p,
        True,
        "Computes `log(1 + x)` element-wise.",
        "ops.log1p([0.0]) -> tensor([0.])",
    ),
    "log2": (
        torch.log2,
        True,
        "Computes the base-2 logarithm element-wise.",
        "ops.log2([8.0]) -> tensor([3.])",
    ),
    "log10": (
        torch.log10,
        True,
        "Computes the base-10 logarithm.",
        "ops.log10([100.0]) -> tensor([2.])",
    ),
    "sin": (torch.sin, True, "Computes the sine element-wise.", "ops.sin([0.0]) -> tensor([0.])"),
    "cos": (torch.cos, True, "Computes the cosine element-wise.", "ops.cos([0.0]) -> tensor([1.])"),
    "tan": (
        torch.tan,
        True,
        "Computes the tangent element-wise.",
        "ops.tan([0.0]) -> tensor([0.])",
    ),
    "arcsin": (
        torch.asin,
        True,
        "Computes the inverse sine element-wise.",
        "ops.arcsin([0.0]) -> tensor([0.])",
    ),
    "arccos": (
        torch.acos,
        True,
        "Computes the inverse cosine element-wise.",
        "ops.arccos([1.0]) -> tensor([0.])",
    ),
    "arctan": (
        torch.atan,
        True,
        "Computes the inverse tangent element-wise.",
        "ops.arctan([0.0]) -> tensor([0.])",
    ),
    "sinh": (torch.sinh, True, "Computes the hyperbolic sine.", "ops.sinh([0.0]) -> tensor([0.])"),
    "cosh": (
        torch.cosh,
        True,
        "Computes the hyperbolic cosine.",
        "ops.cosh([0.0]) -> tensor([1.])",
    ),
    "tanh": (
        torch.tanh,
        True,
        "Computes the hyperbolic tangent.",
        "ops.tanh([0.0]) -> tensor([0.])",
    ),
    "arcsinh": (
        torch.asinh,
        True,
        "Computes the inverse hyperbolic sine.",
        "ops.arcsinh([0.0]) -> tensor([0.])",
    ),
    "arccosh": (
        torch.acosh,
        True,
        "Computes the inverse hyperbolic cosine.",
        "ops.arccosh([1.0]) -> tensor([0.])",
    ),
    "arctanh": (
        torch.atanh,
        True,
        "Computes the inverse hyperbolic tangent.",
        "ops.arctanh([0.0]) -> tensor([0.])",
    ),
    "floor": (torch.floor, True, "Rounds down element-wise.", "ops.floor([1.5]) -> tensor([1.])"),
    "ceil": (torch.ceil, True, "Rounds up element-wise.", "ops.ceil([1.5]) -> tensor([2.])"),
    "trunc": (
        torch.trunc,
        False,
        "Rounds toward zero element-wise.",
        "ops.trunc([-1.5]) -> tensor([-1.])",
    ),
    "sign": (
        _sign,
        False,
        "Returns the element-wise sign (-1, 0 or 1).",
        "ops.sign([-2, 0, 3]) -> tensor([-1,  0,  1], dtype=torch.int32)",
    ),
    "reciprocal": (
        torch.reciprocal,
        True,
        "Computes `1 / x` element-wise.",
        "ops.reciprocal([2.0]) -> tensor([0.5000])",
    ),
    "isnan": (
        torch.isnan,
        False,
        "Tests element-wise for NaN.",
        "ops.isnan([float('nan')]) -> tensor([True])",
    ),
    "isinf": (
        torch.isinf,
        False,
        "Tests element-wise for infinity.",
        "ops.isinf([1.0]) -> tensor([False])",
    ),
    "isfinite": (
        torch.isfinite,
        False,
        "Tests element-wise for finiteness.",
        "ops.isfinite([1.0]) -> tensor([True])",
    ),
    "logical_not": (
        torch.logical_not,
        False,
        "Computes NOT element-wise.",
        "ops.logical_not([True]) -> tensor([False])",
    ),
    "conjugate": (
        torch.conj_physical,
        False,
        "Returns the complex conjugate.",
        "ops.conjugate([1.0]) -> tensor([1.])",
    ),
    "real": (torch.real, False, "Returns the real part.", "ops.real([1.0]) -> tensor([1.])"),
    "imag": (
        torch.imag,
        False,
        "Returns the imaginary part.",
        "ops.imag(ops.convert_to_tensor([1j])) -> tensor([1.])",
    ),
    "angle": (
        torch.angle,
        True,
        "Returns the complex argument element-wise.",
        "ops.angle([-1.0]) -> tensor([3.1416])",
    ),
    "cbrt": (
        lambda x: torch.sign(x) * x.abs().pow(1 / 3),
        True,
        "Computes the cube root.",
        "ops.cbrt([8.0]) -> tensor([2.])",
    ),
    "deg2rad": (
        torch.deg2rad,
        True,
        "Converts degrees to radians.",
        "ops.deg2rad([180.0]) -> tensor([3.1416])",
    ),
    "isneginf": (
        torch.isneginf,
        False,
        "Tests element-wise for -inf.",
        "ops.isneginf([1.0]) -> tensor([False])",
    ),
    "isposinf": (
        torch.isposinf,
        False,
        "Tests element-wise for +inf.",
        "ops.isposinf([1.0]) -> tensor([False])",
    ),
    "isreal": (
        torch.isreal,
        False,
        "Tests element-wise for a zero imaginary part.",
        "ops.isreal([1.0]) -> tensor([True])",
    ),
    "bitwise_not": (
        torch.bitwise_not,
        False,
        "Computes bitwise NOT.",
        "ops.bitwise_not([0]) -> tensor([-1], dtype=torch.int32)",
    ),
    "copy": (
        torch.clone,
        False,
        "Returns a copy of the tensor.",
        "ops.copy([1.0]) -> tensor([1.])",
    ),
    "signbit": (
        torch.signbit,
        False,
        "Tests element-wise whether the sign bit is set.",
        "ops.signbit([-0.0]) -> tensor([True])",
    ),
}


_BINARY = {
    "add": (
        torch.add,
        "Adds element-wise, with broadcasting.",
        "ops.add(x1=[1, 2], x2=3) -> tensor([4, 5], dtype=torch.int32)",
    ),
    "subtract": (
        torch.subtract,
        "Subtracts element-wise.",
        "ops.subtract(x1=[3.0], x2=1.0) -> tensor([2.])",
    ),
    "multiply": (
        torch.multiply,
        "Multiplies element-wise.",
        "ops.multiply(x1=[2], x2=[3]) -> tensor([6], dtype=torch.int32)",
    ),
    "divide": (
        _true_div,
        "Divides element-wise (true division).",
        "ops.divide(x1=[1], x2=[2]) -> tensor([0.5000])",
    ),
    "floor_divide": (
        torch.floor_divide,
        "Divides element-wise, rounding down.",
        "ops.floor_divide(x1=[7], x2=[2]) -> tensor([3], dtype=torch.int32)",
    ),
    "mod": (
        torch.remainder,
        "Returns the element-wise remainder, sign of the divisor.",
        "ops.mod(x1=[-7], x2=[3]) -> tensor([2], dtype=torch.int32)",
    ),
    "power": (
        _power,
        "Raises `x1` to the power `x2` element-wise.",
        "ops.power(x1=[2], x2=3) -> tensor([8], dtype=torch.int32)",
    ),
    "maximum": (
        torch.maximum,
        "Element-wise maximum.",
        "ops.maximum(x1=[1, 5], x2=[3, 2]) -> tensor([3, 5], dtype=torch.int32)",
    ),
    "minimum": (
        torch.minimum,
        "Element-wise minimum.",
        "ops.minimum(x1=[1, 5], x2=[3, 2]) -> tensor([1, 2], dtype=torch.int32)",
    ),
    "equal": (
        torch.eq,
        "Tests `x1 == x2` element-wise.",
        "ops.equal(x1=[1, 2], x2=1) -> tensor([ True, False])",
    ),
    "not_equal": (
        torch.ne,
        "Tests `x1 != x2` element-wise.",
        "ops.not_equal(x1=[1, 2], x2=1) -> tensor([False,  True])",
    ),
    "less": (
        torch.lt,
        "Tests `x1 < x2` element-wise.",
        "ops.less(x1=[1, 2], x2=2) -> tensor([ True, False])",
    ),
    "less_equal": (
        torch.le,
        "Tests `x1 <= x2` element-wise.",
        "ops.less_equal(x1=[1, 2], x2=1) -> tensor([ True, False])",
    ),
    "greater": (
        torch.gt,
        "Tests `x1 > x2` element-wise.",
        "ops.greater(x1=[1, 2], x2=1) -> tensor([False,  True])",
    ),
    "greater_equal": (
        torch.ge,
        "Tests `x1 >= x2` element-wise.",
        "ops.greater_equal(x1=[1, 2], x2=2) -> tensor([False,  True])",
    ),
    "logical_and": (
        torch.logical_and,
        "Computes AND element-wise.",
        "ops.logical_and(x1=[True], x2=[False]) -> tensor([False])",
    ),
    "logical_or": (
        torch.logical_or,
        "Computes OR element-wise.",
        "ops.logical_or(x1=[True], x2=[False]) -> tensor([True])",
    ),
    "logical_xor": (
        torch.logical_xor,
        "Computes XOR element-wise.",
        "ops.logical_xor(x1=[True], x2=[True]) -> tensor([False])",
    ),
    "arctan2": (
        lambda a, b: torch.atan2(to_float(a), to_float(b)),
        "Computes the quadrant-aware `arctan(x1 / x2)`.",
        "ops.arctan2(x1=[1.0], x2=[1.0]) -> tensor([0.7854])",
    ),
    "logaddexp": (
        lambda a, b: torch.logaddexp(to_float(a), to_float(b)),
        "Computes `log(exp(x1) + exp(x2))` stably.",
        "ops.logaddexp(x1=[0.0], x2=[0.0]) -> tensor([0.6931])",
    ),
    "hypot": (
        lambda a, b: torch.hypot(to_float(a), to_float(b)),
        "Computes `sqrt(x1**2 + x2**2)` element-wise.",
        "ops.hypot(x1=[3.0], x2=[4.0]) -> tensor([5.])",
    ),
    "logaddexp2": (
        lambda a, b: torch.logaddexp2(to_float(a), to_float(b)),
        "Computes `log2(2**x1 + 2**x2)` stably.",
        "ops.logaddexp2(x1=[0.0], x2=[0.0]) -> tensor([1.])",
    ),
    "heaviside": (
        _heaviside,
        "Heaviside step: 0 below zero, 1 above, `x2` at zero.",
        "ops.heaviside(x1=[-1.0, 0.0, 2.0], x2=0.5) -> tensor([0.0000, 0.5000, 1.0000])",
    ),
    "nextafter": (
        lambda a, b: torch.nextafter(to_float(a), to_float(b).to(to_float(a).dtype)),
        "The next float after `x1` towards `x2`.",
        "ops.nextafter(x1=[1.0], x2=2.0) -> tensor([1.0000])",
    ),
    "ldexp": (
        lambda a, b: torch.ldexp(to_float(a), b),
        "Computes `x1 * 2**x2`.",
        "ops.ldexp(x1=[1.0], x2=[3]) -> tensor([8.])",
    ),
    "gcd": (
        torch.gcd,
        "Greatest common divisor, element-wise.",
        "ops.gcd(x1=[12], x2=[18]) -> tensor([6], dtype=torch.int32)",
    ),
    "lcm": (
        torch.lcm,
        "Least common multiple, element-wise.",
        "ops.lcm(x1=[4], x2=[6]) -> tensor([12], dtype=torch.int32)",
    ),
    "divide_no_nan": (
        _divide_no_nan,
        "Divides element-wise, giving 0 where `x2` is 0.",
        "ops.divide_no_nan(x1=[1.0, 1.0], x2=[2.0, 0.0]) -> tensor([0.5000, 0.0000])",
    ),
    "left_shift": (
        torch.bitwise_left_shift,
        "Shifts the bits of `x1` left by `x2`.",
        "ops.left_shift(x1=[1], x2=[3]) -> tensor([8], dtype=torch.int32)",
    ),
    "right_shift": (
        torch.bitwise_right_shift,
        "Shifts the bits of `x1` right by `x2`.",
        "ops.right_shift(x1=[8], x2=[3]) -> tensor([1], dtype=torch.int32)",
    ),
    "bitwise_and": (
        torch.bitwise_and,
        "Computes bitwise AND.",
        "ops.bitwise_and(x1=[6], x2=[3]) -> tensor([2], dtype=torch.int32)",
    ),
    "bitwise_or": (
        torch.bitwise_or,
        "Computes bitwise OR.",
        "ops.bitwise_or(x1=[6], x2=[3]) -> tensor([7], dtype=torch.int32)",
    ),
    "bitwise_xor": (
        torch.bitwise_xor,
        "Computes bitwise XOR.",
        "ops.bitwise_xor(x1=[6], x2=[3]) -> tensor([5], dtype=torch.int32)",
    ),
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


bitwise_invert = globals()["bitwise_not"]
bitwise_left_shift = globals()["left_shift"]
bitwise_right_shift = globals()["right_shift"]


round = _doc(
    _round,
    "round",
    "Rounds to the given number of `decimals` (half to even).",  # noqa: A001
    "ops.round([0.5, 1.5, 2.567], decimals=0) -> tensor([0., 2., 3.])",
)


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


def nan_to_num(
    x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> torch.Tensor:
    """Replaces NaN and infinities by finite numbers.

    Example:
        >>> ops.nan_to_num([float("nan"), 1.0], nan=-1.0)
        tensor([-1.,  1.])
    """
    return torch.nan_to_num(convert_to_tensor(x), nan=nan, posinf=posinf, neginf=neginf)


def isclose(
    x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
) -> torch.Tensor:
    """Tests element-wise whether `|x1 - x2| <= atol + rtol * |x2|`.

    Example:
        >>> ops.isclose([1.0, 2.0], [1.0, 2.1])
        tensor([ True, False])
    """
    a, b = tensors(x1, x2)
    dt = torch.promote_types(a.dtype, b.dtype)
    return torch.isclose(a.to(dt), b.to(dt), rtol=rtol, atol=atol, equal_nan=equal_nan)


# The flat NumPy namespace of Keras (`keras.ops.numpy.sum`, ...), split by concept above.
from lamina.ops.creation import (  # noqa: E402, F401, A004 - keras.ops.numpy holds these too
    arange,
    array,
    bartlett,
    blackman,
    empty,
    empty_like,
    eye,
    full,
    full_like,
    hamming,
    hanning,
    identity,
    kaiser,
    linspace,
    logspace,
    meshgrid,
    ndim,
    ones,
    ones_like,
    size,
    tri,
    vander,
    zeros,
    zeros_like,
)
from lamina.ops.indexing import (  # noqa: E402, F401, A004 - keras.ops.numpy holds these too
    argpartition,
    bincount,
    diag,
    diagflat,
    diagonal,
    diff,
    digitize,
    get_item,
    isin,
    nonzero,
    scatter,
    scatter_update,
    searchsorted,
    select,
    slice,
    slice_update,
    take,
    take_along_axis,
    trace,
    tril,
    triu,
    unravel_index,
    unstack,
)
from lamina.ops.linalg import (  # noqa: E402, F401, A004 - keras.ops.numpy holds these too
    cross,
    dot,
    einsum,
    inner,
    kron,
    matmul,
    norm,
    outer,
    slogdet,
    tensordot,
    vdot,
)
from lamina.ops.reductions import (  # noqa: E402, F401, A004 - keras.ops.numpy holds these too
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    average,
    count_nonzero,
    cumprod,
    cumsum,
    logsumexp,
    max,
    mean,
    median,
    min,
    prod,
    quantile,
    sort,
    std,
    sum,
    var,
)
from lamina.ops.shapes import (  # noqa: E402, F401, A004 - keras.ops.numpy holds these too
    append,
    array_split,
    broadcast_to,
    concatenate,
    dstack,
    expand_dims,
    flip,
    hstack,
    moveaxis,
    pad,
    ravel,
    repeat,
    reshape,
    roll,
    rot90,
    split,
    squeeze,
    stack,
    swapaxes,
    tile,
    transpose,
    vsplit,
    vstack,
)
from lamina.ops.statistics import (  # noqa: E402, F401, A004 - keras.ops.numpy holds these too
    corrcoef,
    correlate,
    histogram,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nansum,
    ptp,
    trapezoid,
)
