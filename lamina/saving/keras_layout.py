"""Keras's weight layout: converts a layer's weights to and from Keras's variables.

Lamina stores weights in PyTorch's layout (a `Dense` kernel is `(units, in)`, a
`Conv2D` kernel `(filters, in, kh, kw)`, recurrent gates in PyTorch's order), so
`state_dict()` matches `torch.nn`. Keras lists a layer's variables in another
layout and order; this module translates, one layer at a time:

* `Dense`: `[kernel (in, units), bias]`;
* `Conv1D/2D/3D`: kernel `(*kernel_size, in / groups, filters)`;
  `Conv1DTranspose/2D/3D`: kernel `(*kernel_size, filters, in)`;
* `DepthwiseConv1D/2D`: kernel `(*kernel_size, in, depth_multiplier)`;
  `SeparableConv1D/2D`: `[depthwise_kernel, pointwise_kernel, bias]`;
* `SimpleRNN`, `LSTM`, `GRU`: `[kernel (in, gates * units), recurrent_kernel
  (units, gates * units), bias]` with Keras's gate orders (LSTM `i, f, c, o`, as
  PyTorch; GRU `z, r, h` where PyTorch has `r, z, n`), held by the layer's `cell`;
* `MultiHeadAttention`: query / key / value / output `EinsumDense` kernels
  `(dim, heads, head_dim)` and `(heads, head_dim, dim)` with their biases;
* `Bidirectional`: the forward layer's variables, then the backward layer's;
* any other layer: its own weights as they are (trainable first, then the
  non-trainable ones and buffers), then its sub-layers'.

`get_keras_weights(layer)` and `set_keras_weights(layer, arrays)` are what
`Layer.get_weights()` / `set_weights()` speak; `keras_weight_groups(layer)` also
says where each variable lives in a Keras `.weights.h5` file.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

from lamina.saving.keras_converters import CONVERTERS, Converter, Group, assign, to_numpy


# --------------------------------------------------------------------- generic
def _join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def snake_case(name: str) -> str:
    """Keras's `to_snake_case`: the name a Keras file gives a layer of class ``name``."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


def container_names(layers: list[Any]) -> list[str]:
    """The names Keras's weights file gives a list of layers (`dense`, `dense_1`, ...)."""
    used: dict[str, int] = {}
    names = []
    for layer in layers:
        name = snake_case(type(layer).__name__)
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        names.append(name)
    return names


def named_children(layer: Any) -> list[tuple[str, Any]]:
    """A layer's direct sub-modules with their paths in a Keras weights file: the layers
    in a list / dict attribute (a tracked container) sit under the attribute's name,
    named as Keras names a container's layers (`blocks/dense`, `blocks/dense_1`, ...)."""
    from lamina.layers.tracking import _Container

    pairs: list[tuple[str, Any]] = []
    for name, child in layer.named_children():
        if isinstance(child, _Container):
            kids = [c for _, c in child.named_children()]
            pairs.extend((_join(name, n), c) for n, c in zip(container_names(kids), kids))
        else:
            pairs.append((name, child))
    return pairs


def _own_tensors(layer: Any) -> list[torch.Tensor]:
    """A layer's own weights in Keras's order: trainable ones, then the others."""
    params = list(layer.named_parameters(recurse=False))
    declared = getattr(layer, "_trainable_declared", {})
    trainable = [p for n, p in params if declared.get(n, True)]
    frozen = [p for n, p in params if not declared.get(n, True)]
    buffers = [
        b
        for n, b in layer.named_buffers(recurse=False)
        if n not in getattr(layer, "_non_persistent_buffers_set", set())
    ]
    return trainable + frozen + buffers


def _is_model(layer: Any) -> bool:
    from lamina.models.model import Model

    return isinstance(layer, Model) and hasattr(layer, "layers")


def _generic_groups(layer: Any) -> list[Group]:
    from lamina.layers.layer import Layer

    groups: list[Group] = [("", [to_numpy(t) for t in _own_tensors(layer)])]
    if _is_model(layer):
        from lamina.saving.keras_writer import keras_layer_order

        children = [c for c in keras_layer_order(layer) if isinstance(c, torch.nn.Module)]
        names = [_join("layers", n) for n in container_names(children)]
        pairs = list(zip(names, children))
    else:
        pairs = named_children(layer)
    for name, child in pairs:
        if isinstance(child, Layer):
            for path, arrays in keras_weight_groups(child):
                groups.append((_join(name, path), arrays))
        else:  # a plain torch module inside a Lamina layer: its tensors as they are
            groups.append((name, [to_numpy(t) for t in child.state_dict().values()]))
    return groups


def _converter_for(layer: Any) -> Converter | None:
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("lamina.") and cls.__name__ in CONVERTERS:
            return CONVERTERS[cls.__name__]
    return None


def keras_weight_groups(layer: Any) -> list[Group]:
    """The layer's variables in Keras's layout, grouped by where a Keras weights
    file keeps them (`""` for the layer's own variables, `"cell"` for a recurrent
    layer's, `"layers/dense_1"` for a model's second `Dense`, ...), in the order
    of Keras's `layer.weights`."""
    if not getattr(layer, "built", True):
        return [("", [])]
    converter = _converter_for(layer)
    if converter is None:
        return _generic_groups(layer)
    return converter[0](layer)


def get_keras_weights(layer: Any) -> list[np.ndarray]:
    """Returns the weights of ``layer`` (and of its sub-layers) as NumPy arrays in
    Keras's layout and order, as Keras's `layer.get_weights()` does.

    Args:
        layer: A built `lamina.layers.Layer` (or a model).

    Returns:
        A list of NumPy arrays: for a `Dense`, `[kernel (in, units), bias (units,)]`.

    Example:
        >>> import lamina
        >>> dense = lamina.layers.Dense(2)
        >>> dense.build_from_shape((None, 3))
        >>> [w.shape for w in get_keras_weights(dense)]
        [(3, 2), (2,)]
    """
    return [a for _, arrays in keras_weight_groups(layer) for a in arrays]


def _shapes(arrays: list[Any]) -> list[tuple[int, ...]]:
    return [tuple(np.shape(a)) for a in arrays]


def set_keras_weights(layer: Any, arrays: list[Any]) -> None:
    """Sets the weights of ``layer`` (and of its sub-layers) from NumPy arrays in
    Keras's layout and order, as Keras's `layer.set_weights()` does.

    Args:
        layer: A built `lamina.layers.Layer` (or a model).
        arrays: The arrays, as `get_keras_weights(layer)` returns them (for a
            `Dense`: `[kernel (in, units), bias (units,)]`).

    Raises:
        ValueError: when the number or the shapes of the arrays differ from the
            layer's; nothing is changed then.

    Example:
        >>> import lamina, numpy as np
        >>> dense = lamina.layers.Dense(2)
        >>> dense.build_from_shape((None, 3))
        >>> set_keras_weights(dense, [np.ones((3, 2)), np.zeros(2)])
    """
    name = getattr(layer, "name", type(layer).__name__)
    kind = type(layer).__name__
    if not getattr(layer, "built", True):
        raise ValueError(
            f"Layer '{name}' ({kind}) is not built yet, so its weights do not exist. Received: "
            f"{len(arrays)} arrays. Build it first (call it on data, or `build(input_shape)`)."
        )
    expected = _shapes(get_keras_weights(layer))
    arrays = [np.asarray(a) for a in arrays]
    received = _shapes(arrays)
    if len(arrays) != len(expected) or received != expected:
        raise ValueError(
            f"Layer '{name}' ({kind}) expects {len(expected)} weight arrays of shapes "
            f"{expected} (Keras's layout). Received: {len(arrays)} arrays of shapes {received}. "
            "Pass the arrays `get_weights()` returns (or Keras's `layer.get_weights()`)."
        )
    converter = _converter_for(layer)
    if converter is not None:
        converter[1](layer, arrays)
        return
    _set_generic(layer, arrays)


def _set_generic(layer: Any, arrays: list[np.ndarray]) -> None:
    from lamina.layers.layer import Layer

    own = _own_tensors(layer)
    for t, a in zip(own, arrays):
        assign(t, a)
    i = len(own)
    if _is_model(layer):
        from lamina.saving.keras_writer import keras_layer_order

        children = keras_layer_order(layer)
    else:
        children = [c for _, c in named_children(layer)]
    for child in children:
        if isinstance(child, Layer):
            n = len(get_keras_weights(child))
            set_keras_weights(child, arrays[i : i + n])
        elif isinstance(child, torch.nn.Module):
            tensors = list(child.state_dict(keep_vars=True).values())
            n = len(tensors)
            for t, a in zip(tensors, arrays[i : i + n]):
                assign(t, a)
        else:
            continue
        i += n


def set_keras_weight_groups(layer: Any, groups: dict[str, list[np.ndarray]]) -> list[str]:
    """Sets the layer's weights from groups keyed by their place in a Keras weights
    file (see `keras_weight_groups`); returns the paths the layer expects but
    ``groups`` lacks (those weights are left unchanged)."""
    expected = keras_weight_groups(layer)
    missing = [path for path, arrays in expected if arrays and path not in groups]
    if missing:
        return missing
    flat = [a for path, arrays in expected for a in (groups.get(path, []) if arrays else [])]
    set_keras_weights(layer, flat)
    return []
