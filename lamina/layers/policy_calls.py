"""How a layer with a dtype policy is called (see `lamina.mixed_precision`).

Layers following the global float32 policy never come here: `Layer._entry_call`
checks one flag, and `Layer.forward` nothing. A layer given its own `dtype=` has
its `forward` wrapped on the instance by `policy_forward`; a top-level call of a
layer (or model) with a policy of its own or a reduced compute dtype goes through
`policy_call`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import mixed_precision

# The layer of the current top-level call when it went through `policy_call`: its
# outputs keep its compute dtype (as Keras's `layer(x)`).
_POLICY_ENTRY: list[Any] = [None]


def cast_floating(value: Any, dtype: torch.dtype) -> Any:
    """``value`` (a tensor, or a list / tuple / dict of them) with its floating tensors
    cast to ``dtype`` (integer and boolean tensors are left alone, as in Keras)."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(cast_floating(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: cast_floating(v, dtype) for k, v in value.items()}
    return value


def param_device_type(module: nn.Module) -> str:
    """The device type of ``module``'s first parameter (`"cpu"` without any)."""
    for tensor in module.parameters():
        return tensor.device.type
    return "cpu"


def policy_forward(layer: Any, inputs: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """The class's `forward` in the layer's own compute dtype: autocast switched to it
    (off for float32 / float64) and floating inputs cast to it, when they differ.

    Inside a caller that computes without autocast in another dtype (a float32 model
    around a bfloat16 layer), the outputs are cast back to the caller's dtype, which
    is what Keras's casting of each layer's inputs gives its neighbours."""
    forward = type(layer).forward
    compute = layer._own_compute
    reduced = compute in mixed_precision.REDUCED
    if reduced and mixed_precision.FLOAT32_PATH[0] and layer.variable_dtype == "float32":
        return forward(layer, inputs, *args, **kwargs)  # (export: the float32 graph)
    if not isinstance(inputs, torch.Tensor):
        inputs, args = layer._standardize_inputs(inputs, args)
    leaf = inputs if isinstance(inputs, torch.Tensor) else None
    device = leaf.device.type if leaf is not None else param_device_type(layer)
    inputs = cast_floating(inputs, compute)
    if args:
        args = tuple(cast_floating(a, compute) for a in args)
    enabled = torch.is_autocast_enabled(device)
    if enabled == reduced and (not reduced or torch.get_autocast_dtype(device) == compute):
        if enabled:
            return forward(layer, inputs, *args, **kwargs)
        out = forward(layer, inputs, *args, **kwargs)
    else:
        with torch.autocast(device, dtype=compute if reduced else None, enabled=reduced):
            out = forward(layer, inputs, *args, **kwargs)
    caller = leaf.dtype if leaf is not None and leaf.is_floating_point() else None
    if enabled or caller in (None, compute) or _POLICY_ENTRY[0] is layer:
        return out
    return cast_floating(out, caller)


def policy_call(layer: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
    """A top-level call of a layer with its own policy or a reduced compute dtype: under
    `torch.autocast` for the latter (unless the caller's autocast already runs in that
    dtype), outputs in the layer's compute dtype."""
    _POLICY_ENTRY[0] = layer
    try:
        dtype = layer._entry_autocast
        if dtype is None or mixed_precision.FLOAT32_PATH[0]:
            return nn.Module.__call__(layer, *args, **kwargs)
        leaf = next((a for a in args if isinstance(a, torch.Tensor)), None)
        device = leaf.device.type if leaf is not None else param_device_type(layer)
        if torch.is_autocast_enabled(device) and torch.get_autocast_dtype(device) == dtype:
            return nn.Module.__call__(layer, *args, **kwargs)
        with torch.autocast(device, dtype=dtype):
            return nn.Module.__call__(layer, *args, **kwargs)
    finally:
        _POLICY_ENTRY[0] = None
