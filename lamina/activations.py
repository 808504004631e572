"""Activation functions, with Keras names, computed by PyTorch.

Each function takes a ``torch.Tensor`` and returns one of the same shape.
Layers resolve ``activation="relu"`` through ``get()``.

Example:

>>> import torch
>>> from lamina import activations
>>> activations.get("relu")(torch.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops import _symbolic
from lamina.saving import registry
from lamina.utils import serialization

__all__ = [
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "gelu",
    "elu",
    "selu",
    "leaky_relu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "exponential",
    "relu6",
    "mish",
    "linear",
    "get",
    "serialize",
    "deserialize",
]


def relu(
    x: torch.Tensor,
    negative_slope: float = 0.0,
    max_value: float | None = None,
    threshold: float = 0.0,
) -> torch.Tensor:
    """Rectified linear unit: ``max(x, 0)``.

    With the Keras options: ``max_value`` if ``x >= max_value``, ``x`` if
    ``threshold <= x < max_value``, else ``negative_slope * (x - threshold)``.

    Args:
        x: Input tensor.
        negative_slope: Slope below the threshold. Defaults to `0.0`.
        max_value: Saturation value, or None for none. Defaults to `None`.
        threshold: Value below which the output is damped. Defaults to `0.0`.
    """
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    out = torch.where(x >= threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        out = torch.clamp(out, max=max_value)
    return out


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid: ``1 / (1 + exp(-x))``.

    Args:
        x: Input tensor.
    """
    return torch.sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent.

    Args:
        x: Input tensor.
    """
    return torch.tanh(x)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Softmax: ``exp(x) / sum(exp(x), axis)``.

    Args:
        x: Input tensor.
        axis: The axis to normalize over. Defaults to `-1`.
    """
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Logarithm of the softmax, computed stably.

    Args:
        x: Input tensor.
        axis: The axis to normalize over. Defaults to `-1`.
    """
    return torch.log_softmax(x, dim=axis)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    """Gaussian error linear unit: ``x * Phi(x)``.

    Args:
        x: Input tensor.
        approximate: Use the tanh approximation. Defaults to `False`.
    """
    return F.gelu(x, approximate="tanh" if approximate else "none")


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Args:
        x: Input tensor.
        alpha: Scale of the negative part. Defaults to `1.0`.
    """
    return F.elu(x, alpha=alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Scaled exponential linear unit (Klambauer et al., 2017).

    Args:
        x: Input tensor.
    """
    return F.selu(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Leaky ReLU: ``x`` if ``x >= 0`` else ``negative_slope * x``.

    Args:
        x: Input tensor.
        negative_slope: Slope of the negative part. Defaults to `0.2` (as Keras).
    """
    return F.leaky_relu(x, negative_slope=negative_slope)


def silu(x: torch.Tensor) -> torch.Tensor:
    """Sigmoid linear unit, also called swish: ``x * sigmoid(x)``.

    Args:
        x: Input tensor.
    """
    return F.silu(x)


swish = silu


def softplus(x: torch.Tensor) -> torch.Tensor:
    """Softplus: ``log(exp(x) + 1)``.

    Args:
        x: Input tensor.
    """
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """Softsign: ``x / (abs(x) + 1)``.

    Args:
        x: Input tensor.
    """
    return F.softsign(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear sigmoid: ``relu6(x + 3) / 6``.

    Args:
        x: Input tensor.
    """
    return F.hardsigmoid(x)


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    """Hard SiLU, also called hard swish: ``x * relu6(x + 3) / 6``.

    Args:
        x: Input tensor.
    """
    return F.hardswish(x)


hard_swish = hard_silu


def exponential(x: torch.Tensor) -> torch.Tensor:
    """Exponential: ``exp(x)``.

    Args:
        x: Input tensor.
    """
    return torch.exp(x)


def relu6(x: torch.Tensor) -> torch.Tensor:
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    Args:
        x: Input tensor.
    """
    return F.relu6(x)


def mish(x: torch.Tensor) -> torch.Tensor:
    """Mish: ``x * tanh(softplus(x))``.

    Args:
        x: Input tensor.
    """
    return F.mish(x)


def linear(x: torch.Tensor) -> torch.Tensor:
    """Identity: returns ``x`` unchanged.

    Args:
        x: Input tensor.
    """
    return x


# As in Keras (whose activations are written with ops), an activation called on a
# symbolic tensor (`activations.sigmoid(lamina.Input(...))`) records a graph node.
# Aliases (swish, hard_swish) stay the same object as the function they name.
_SYMBOLIC: dict[Callable[..., Any], Callable[..., Any]] = {}
for _name in [n for n in __all__ if n not in ("get", "serialize", "deserialize")]:
    _fn = globals()[_name]
    if _fn not in _SYMBOLIC:
        _SYMBOLIC[_fn] = _symbolic.symbolic_aware(f"activations.{_name}", _fn)
    globals()[_name] = _SYMBOLIC[_fn]
del _SYMBOLIC

_ACTIVATIONS: dict[str, Callable[..., torch.Tensor]] = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "gelu": gelu,
    "elu": elu,
    "selu": selu,
    "leaky_relu": leaky_relu,
    "silu": silu,
    "swish": swish,
    "softplus": softplus,
    "softsign": softsign,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_swish,
    "exponential": exponential,
    "relu6": relu6,
    "mish": mish,
    "linear": linear,
}

# Canonical name of each function; aliases (swish, hard_swish) map to the first name.
_NAMES: dict[Callable[..., torch.Tensor], str] = {}
for _name, _fn in _ACTIVATIONS.items():
    _NAMES.setdefault(_fn, _name)


# Built-in activations that act on each value on its own (every one but the
# softmaxes), so they give the same numbers on any memory layout of their input.
_ELEMENTWISE = frozenset(fn for name, fn in _ACTIVATIONS.items() if name not in ("softmax", "log_softmax"))

# The torch function each of these computes with its default arguments (see `kernel`).
_KERNELS = {relu: torch.relu, sigmoid: torch.sigmoid, tanh: torch.tanh}


def kernel(activation: Callable) -> Callable[[torch.Tensor], torch.Tensor]:
    """The torch function a built-in activation computes with its default arguments
    (`relu` -> `torch.relu`, ...), for layers to call without the wrapper; any
    other callable as it is."""
    try:
        return _KERNELS.get(activation, activation)
    except TypeError:  # unhashable callables
        return activation


def is_elementwise(activation: Callable) -> bool:
    """Whether ``activation`` is a built-in that maps each value independently.

    Custom callables count as not elementwise (nothing is known about them).
    """
    try:
        return activation in _ELEMENTWISE
    except TypeError:  # unhashable callables
        return False


def get(identifier: str | dict | Callable | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Resolves an activation identifier to a function.

    Args:
        identifier: None (gives ``linear``), a name such as ``"relu"``
            (case-insensitive; also the name of a function registered with
            `lamina.saving.register_keras_serializable`), a config from
            :func:`serialize`, or a callable (a function or a
            ``torch.nn.Module`` instance), returned as is.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        "Expected an activation to be a name (such as 'relu'), a callable, or None. "
        f"Received: activation={identifier!r}."
    )


def serialize(activation: str | Callable) -> str | dict[str, Any]:
    """Returns the name of a built-in activation, or the Keras config of a
    registered one, for saving (as Keras).

    Args:
        activation: A built-in activation function or its name, or a function
            registered with `lamina.saving.register_keras_serializable`.

    Returns:
        The built-in's canonical name (``"relu"``), or for a registered
        function ``{"module", "class_name": "function", "config",
        "registered_name"}``.
    """
    if isinstance(activation, str):
        activation = get(activation)
    name = next((n for fn, n in _NAMES.items() if fn is activation), None)
    if name is not None:
        return name
    if not inspect.isfunction(activation) or registry.get_registered_name(activation) is None:
        raise ValueError(
            f"Cannot serialize the activation {activation!r}: it is not a built-in Lamina "
            f"activation ({', '.join(sorted(_ACTIVATIONS))}) nor a registered function. "
            "Decorate the function with @lamina.saving.register_keras_serializable() (or "
            "@lamina.register) so it can be saved and loaded by name."
        )
    return serialization.class_config(activation)


def deserialize(config: str | dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Callable:
    """Returns the activation function of a name or a :func:`serialize` config.

    Args:
        config: A name (``"relu"``) or a `{"class_name": "function", ...}` config.
        custom_objects: Extra functions by name. Defaults to `None`.
    """
    return serialization.deserialize(
        config, family="activation", kind="activation", custom_objects=custom_objects
    )
