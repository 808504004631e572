"""Weight constraints, with the Keras names and math.

A constraint maps a weight tensor to a projected tensor of the same shape
(clipped, renormalised, ...). A weight created with `constraint=` (through
`Layer.add_weight` or a layer argument such as `Dense(kernel_constraint=...)`)
is projected by the optimizer right after each of its updates, as in Keras.

Example:

>>> import torch
>>> from lamina import constraints
>>> constraints.get("non_neg")(torch.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina import config as config_mod
from lamina.utils import serialization, validation

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "max_norm",
    "min_max_norm",
    "non_neg",
    "unit_norm",
    "get",
    "serialize",
    "deserialize",
]


def _axis(owner: str, axis: Any) -> Any:
    """An int or a list of ints (a tuple is kept as a list, as Keras's JSON has it)."""
    if isinstance(axis, bool):
        axis = None
    if isinstance(axis, int):
        return axis
    if isinstance(axis, (list, tuple)) and axis and all(
        isinstance(a, int) and not isinstance(a, bool) for a in axis
    ):
        return list(axis)
    raise ValueError(
        f"`{owner}` expects `axis` to be an integer or a non-empty list of integers (the axes "
        f"the norm is taken over). Received: axis={axis!r}. Pass e.g. `axis=0`, or "
        "`axis=[0, 1, 2]` for the filters of a `Conv2D` kernel."
    )


def _norms(w: torch.Tensor, axis: Any) -> torch.Tensor:
    return torch.sqrt(torch.sum(torch.square(w), dim=axis, keepdim=True))


class Constraint:
    """Base class of weight constraints.

    A constraint works like a stateless function: subclasses override
    `__call__(w)` to return the projected weight (same shape), and
    `get_config()` when they take arguments; `from_config(config)` rebuilds an
    equal constraint. The base class returns the weight unchanged.

    Example:

    >>> import torch
    >>> class NonNegative(Constraint):
    ...     def __call__(self, w):
    ...         return w * (w >= 0.0).to(w.dtype)
    >>> NonNegative()(torch.tensor([-1.0, 1.0]))
    tensor([-0., 1.])
    """

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        """Returns the projected weight; the base class returns ``w`` unchanged.

        Args:
            w: The weight tensor.
        """
        return w

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, a JSON-serialisable dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        """Rebuilds a constraint from the output of `get_config()`."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Constrains the weights incident to each unit to a norm of at most `max_value`.

    Computes `w * clip(norms, 0, max_value) / (epsilon + norms)` with
    `norms = sqrt(sum(w ** 2, axis, keepdims=True))`, as Keras.

    Args:
        max_value: The maximum norm of the incoming weights. Defaults to `2`.
        axis: The axis (or list of axes) the norms are taken over, in Keras's
            weight layout: `0` for a `Dense` kernel `(input_dim, units)` bounds
            each unit's incoming vector; `[0, 1, 2]` for a `Conv2D` kernel
            `(rows, cols, in, filters)` bounds each filter. Defaults to `0`.

    Example:

    >>> import torch
    >>> MaxNorm(1.0)(torch.tensor([[3.0], [4.0]])).flatten().tolist()
    [0.6000000238418579, 0.800000011920929]
    """

    def __init__(self, max_value: float = 2, axis: Any = 0) -> None:
        self.max_value = validation.number("MaxNorm", "max_value", max_value, low=0.0)
        self.axis = _axis("MaxNorm", axis)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (config_mod.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Constrains the weights to be non-negative: `maximum(w, 0)`.

    Example:

    >>> import torch
    >>> NonNeg()(torch.tensor([-0.5, 0.5]))
    tensor([0.0000, 0.5000])
    """

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return torch.clamp(w, min=0)


class UnitNorm(Constraint):
    """Constrains the weights incident to each unit to have unit norm.

    Computes `w / (epsilon + norms)` with `norms = sqrt(sum(w ** 2, axis,
    keepdims=True))`, as Keras.

    Args:
        axis: The axis (or list of axes) the norms are taken over, in Keras's
            weight layout (see `MaxNorm`). Defaults to `0`.

    Example:

    >>> import torch
    >>> UnitNorm()(torch.tensor([[3.0], [4.0]])).flatten().tolist()
    [0.6000000238418579, 0.800000011920929]
    """

    def __init__(self, axis: Any = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (config_mod.epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Constrains the weights incident to each unit to a norm in `[min_value, max_value]`.

    The weights are rescaled to the norm `rate * clip(norms, min_value,
    max_value) + (1 - rate) * norms`: `rate=1.0` enforces the bounds strictly,
    a smaller rate moves the norms towards them at each step.

    Args:
        min_value: The minimum norm of the incoming weights. Defaults to `0.0`.
        max_value: The maximum norm of the incoming weights. Defaults to `1.0`.
        rate: How strongly the bounds are enforced, in `[0, 1]`. Defaults to `1.0`.
        axis: The axis (or list of axes) the norms are taken over, in Keras's
            weight layout (see `MaxNorm`). Defaults to `0`.

    Example:

    >>> import torch
    >>> out = MinMaxNorm(1.0, 2.0)(torch.tensor([[0.3], [0.4]]))  # norm 0.5 raised to 1
    >>> [round(v, 4) for v in out.flatten().tolist()]
    [0.6, 0.8]
    """

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0
    ) -> None:
        self.min_value = validation.number("MinMaxNorm", "min_value", min_value, low=0.0)
        self.max_value = validation.number("MinMaxNorm", "max_value", max_value, low=0.0)
        if self.max_value < self.min_value:
            raise ValueError(
                "`MinMaxNorm` expects `min_value` <= `max_value`. Received: "
                f"min_value={min_value!r}, max_value={max_value!r}. Swap or correct the bounds."
            )
        self.rate = validation.number("MinMaxNorm", "rate", rate, low=0.0, high=1.0)
        self.axis = _axis("MinMaxNorm", axis)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = (
            self.rate * torch.clamp(norms, self.min_value, self.max_value)
            + (1 - self.rate) * norms
        )
        return w * (desired / (config_mod.epsilon() + norms))

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


# Keras's lower-case names: `constraints.max_norm(2.0)` is `MaxNorm(2.0)`.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """Returns the Keras config of a constraint (see `lamina.saving.serialize_keras_object`).

    Args:
        constraint: A `Constraint` instance (None gives None).

    Example:

    >>> serialize(MaxNorm(3.0))["config"]
    {'max_value': 3.0, 'axis': 0}
    """
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        raise ValueError(
            f"Cannot serialize the constraint {constraint!r}: only `Constraint` instances can "
            "be saved. Subclass `lamina.constraints.Constraint` (implementing `__call__` and "
            "`get_config`) and register it as a custom object, or use a built-in name."
        )
    return serialization.class_config(constraint)


def deserialize(
    config: dict[str, Any] | str, custom_objects: dict[str, type] | None = None
) -> Constraint:
    """Rebuilds a constraint from the output of `serialize` (or a name).

    Args:
        config: A dict `{"class_name": ..., "config": ...}`, or a name.
        custom_objects: Extra constraint classes by class name. Defaults to `None`.
    """
    found = serialization.deserialize(
        config, family="constraint", kind="constraint", custom_objects=custom_objects
    )
    return found() if isinstance(found, type) else found


def get(identifier: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """Resolves a constraint identifier.

    Args:
        identifier: None (returned as is), a name (`"max_norm"`, `"min_max_norm"`,
            `"non_neg"`, `"unit_norm"`; gives the defaults), a `Constraint`
            instance or class, a `serialize` dict, or a callable `w -> w`.

    Example:

    >>> get("max_norm")
    MaxNorm(max_value=2, axis=0)
    """
    if identifier is None:
        return None
    found = serialization.get(identifier, family="constraint", kind="constraint", base=Constraint)
    if found is not NotImplemented:
        return found
    if callable(identifier):
        return identifier
    raise ValueError(
        "Expected a constraint to be a name (such as 'max_norm'), a `Constraint`, a config "
        f"dict or a callable `w -> w`. Received: constraint={identifier!r}. Pass e.g. "
        "`lamina.constraints.MaxNorm(2.0)`."
    )


# ----------------------------------------------------------------- layouts
class KerasLayout(Constraint):
    """Applies a constraint to a built-in weight in Keras's layout (internal).

    Lamina's built-in layers keep weights in PyTorch's layout (a `Dense` kernel
    is `(units, input_dim)`), while a constraint's `axis` refers to Keras's
    layout (`(input_dim, units)`). This wrapper views the weight in Keras's
    layout, applies the user's constraint, and returns PyTorch's layout again.

    Args:
        constraint: The user's constraint (already resolved by `get`).
        permutation: The axes of PyTorch's layout in Keras's order, e.g.
            `(1, 0)` for a `Dense` kernel.
        split: For depthwise kernels: PyTorch's first axis `in * multiplier`
            is first split into `(in, multiplier)`. Defaults to `None`.
    """

    def __init__(
        self, constraint: Callable[[torch.Tensor], torch.Tensor], permutation: Sequence[int],
        split: tuple[int, int] | None = None,
    ) -> None:
        self.constraint = constraint
        self.permutation = tuple(permutation)
        self.split = split
        inverse = [0] * len(self.permutation)
        for i, p in enumerate(self.permutation):
            inverse[p] = i
        self._inverse = tuple(inverse)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        shape = w.shape
        if self.split is not None:
            w = w.reshape(*self.split, *shape[2:])  # (in * m, 1, *k) -> (in, m, *k)
        out = self.constraint(w.permute(self.permutation)).permute(self._inverse)
        return out.reshape(shape)

    def get_config(self) -> dict[str, Any]:
        inner = self.constraint
        return inner.get_config() if isinstance(inner, Constraint) else {}

    def __repr__(self) -> str:
        return f"KerasLayout({self.constraint!r})"


def dense_layout(constraint: Any) -> Any:
    """Wraps a resolved constraint for a `(units, in)` kernel; None stays None."""
    return None if constraint is None else KerasLayout(constraint, (1, 0))


def conv_layout(constraint: Any, rank: int) -> Any:
    """Wraps a resolved constraint for a conv kernel `(out, in, *k)` (Keras `(*k, in, out)`)
    or a transposed conv kernel `(in, out, *k)` (Keras `(*k, out, in)`)."""
    if constraint is None:
        return None
    return KerasLayout(constraint, (*range(2, 2 + rank), 1, 0))


def depthwise_layout(constraint: Any, rank: int, channels: int, multiplier: int) -> Any:
    """Wraps a resolved constraint for a depthwise kernel `(in * m, 1, *k)` (Keras
    `(*k, in, m)`)."""
    if constraint is None:
        return None
    return KerasLayout(constraint, (*range(2, 2 + rank), 0, 1), split=(channels, multiplier))


def layer_config(constraint: Any) -> Any:
    """A layer's `*_constraint` argument as its `get_config` writes it: None, the
    `serialize` dict of a `Constraint`, or a plain callable as it is (such a layer can
    be cloned, not saved)."""
    if constraint is None or not isinstance(constraint, Constraint):
        return constraint
    return serialize(constraint)
