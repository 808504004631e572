"""Shared helpers of the ops package: axis checks and op wrappers."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_torch_dtype


def check_axis(op: str, axis: Any, ndim: int, *, name: str = "axis") -> int:
    """Normalises one axis into `[0, ndim)`, raising the house error when out of range."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(
            f"`ops.{op}` expects `{name}` to be an integer. Received: {name}={axis!r}."
        )
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= axis <= hi:
        raise ValueError(
            f"`ops.{op}` expects `{name}` in [{lo}, {hi}] for an input of rank {ndim}. "
            f"Received: {name}={axis}. Pass an axis that exists in the input."
        )
    return int(axis) % max(ndim, 1)


def check_axes(op: str, axis: Any, ndim: int) -> tuple[int, ...] | None:
    """Normalises `axis` (None, an int or a sequence of ints) to a tuple or None."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        axes = tuple(check_axis(op, a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(
                f"`ops.{op}` expects distinct axes. Received: axis={tuple(axis)}. "
                "Remove the repeated axis."
            )
        return axes
    return (check_axis(op, axis, ndim),)


def unary(fn: Callable[[torch.Tensor], torch.Tensor], *, floating: bool = False
          ) -> Callable[[Any], torch.Tensor]:
    """Wraps a torch elementwise function: converts the input, floats it if asked."""

    def op(x: Any) -> torch.Tensor:
        x = convert_to_tensor(x)
        if floating and not (x.is_floating_point() or x.is_complex()):
            x = x.to(FLOATX)
        return fn(x)

    return op


def binary(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
           ) -> Callable[[Any, Any], torch.Tensor]:
    """Wraps a torch binary function with the weak-scalar conversion of `tensors`."""

    def op(x1: Any, x2: Any) -> torch.Tensor:
        a, b = tensors(x1, x2)
        return fn(a, b)

    return op


def out_dtype(x: torch.Tensor, dtype: Any) -> torch.Tensor:
    """Casts `x` to `dtype` when one is given."""
    target = to_torch_dtype(dtype)
    return x if target is None else x.to(target)


def float_tensor(x: Any) -> torch.Tensor:
    """Converts `x` to a tensor and casts integer/boolean values to float32."""
    x = convert_to_tensor(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(FLOATX)


def shape_tuple(shape: Any) -> tuple[int, ...]:
    """Normalises a shape argument (an int, a sequence with None for -1, or a tensor)."""
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    if isinstance(shape, torch.Tensor):
        return tuple(int(v) for v in shape.tolist())
    return tuple(-1 if s is None else int(s) for s in shape)
