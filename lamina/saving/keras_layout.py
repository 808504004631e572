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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# A group: (path inside the layer's entry of a Keras weights file, its variables).
Group = tuple[str, list[np.ndarray]]


# --------------------------------------------------------------------- tensors
def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _assign(param: torch.Tensor, value: np.ndarray) -> None:
    with torch.no_grad():
        array = np.ascontiguousarray(value).reshape(np.shape(value))  # keeps 0-d arrays 0-d
        param.copy_(torch.as_tensor(array, dtype=param.dtype))


def _to_keras_conv(w: np.ndarray) -> np.ndarray:
    """`(a, b, *k)` -> `(*k, b, a)`: a conv kernel (and a transposed one) to Keras."""
    n = w.ndim - 2
    return np.transpose(w, (*range(2, 2 + n), 1, 0))


def _from_keras_conv(k: np.ndarray) -> np.ndarray:
    n = k.ndim - 2
    return np.transpose(k, (n + 1, n, *range(n)))


def _depthwise_to_keras(w: np.ndarray, multiplier: int) -> np.ndarray:
    """`(in * m, 1, *k)` -> `(*k, in, m)`."""
    n = w.ndim - 2
    w = w.reshape(w.shape[0] // multiplier, multiplier, *w.shape[2:])
    return np.transpose(w, (*range(2, 2 + n), 0, 1))


def _depthwise_from_keras(k: np.ndarray) -> np.ndarray:
    n = k.ndim - 2
    w = np.transpose(k, (n, n + 1, *range(n)))
    return w.reshape(w.shape[0] * w.shape[1], 1, *w.shape[2:])


def _swap_gru_blocks(w: np.ndarray, axis: int) -> np.ndarray:
    """PyTorch's GRU gates `r, z, n` <-> Keras's `z, r, h` (the swap is its own inverse)."""
    r, z, n = np.split(w, 3, axis=axis)
    return np.concatenate([z, r, n], axis=axis)


# ------------------------------------------------------------------ converters
# A converter: (to_keras(layer) -> groups, from_keras(layer, flat arrays)).
Converter = tuple[Callable[[Any], list[Group]], Callable[[Any, list[np.ndarray]], None]]
_CONVERTERS: dict[str, Converter] = {}


def _converter(*names: str) -> Callable[[Any], Any]:
    def wrap(pair_factory: Callable[[], Converter]) -> Callable[[], Converter]:
        pair = pair_factory()
        for name in names:
            _CONVERTERS[name] = pair
        return pair_factory

    return wrap


def _present(*tensors: Any) -> list[torch.Tensor]:
    return [t for t in tensors if t is not None]


@_converter("Dense")
def _dense() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [_np(layer.kernel).T]
        if layer.bias is not None:
            arrays.append(_np(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        _assign(layer.kernel, arrays[0].T)
        if layer.bias is not None:
            _assign(layer.bias, arrays[1])

    return to, back


@_converter("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def _conv() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [_to_keras_conv(_np(layer.kernel))]
        if layer.bias is not None:
            arrays.append(_np(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        _assign(layer.kernel, _from_keras_conv(arrays[0]))
        if layer.bias is not None:
            _assign(layer.bias, arrays[1])

    return to, back


@_converter("DepthwiseConv1D", "DepthwiseConv2D")
def _depthwise() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [_depthwise_to_keras(_np(layer.kernel), layer.depth_multiplier)]
        if layer.bias is not None:
            arrays.append(_np(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        _assign(layer.kernel, _depthwise_from_keras(arrays[0]))
        if layer.bias is not None:
            _assign(layer.bias, arrays[1])

    return to, back


@_converter("SeparableConv1D", "SeparableConv2D")
def _separable() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [
            _depthwise_to_keras(_np(layer.depthwise_kernel), layer.depth_multiplier),
            _to_keras_conv(_np(layer.pointwise_kernel)),
        ]
        if layer.bias is not None:
            arrays.append(_np(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        _assign(layer.depthwise_kernel, _depthwise_from_keras(arrays[0]))
        _assign(layer.pointwise_kernel, _from_keras_conv(arrays[1]))
        if layer.bias is not None:
            _assign(layer.bias, arrays[2])

    return to, back


def _rnn_pair(swap_gru: bool) -> Converter:
    def to(layer: Any) -> list[Group]:
        kernel, recurrent = _np(layer.kernel), _np(layer.recurrent_kernel)
        bias = None if layer.bias is None else _np(layer.bias)
        if swap_gru:
            kernel, recurrent = _swap_gru_blocks(kernel, 0), _swap_gru_blocks(recurrent, 0)
            bias = None if bias is None else _swap_gru_blocks(bias, -1)
        arrays = [kernel.T, recurrent.T]
        if bias is not None:
            arrays.append(bias)
        return [("cell", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        kernel, recurrent = arrays[0].T, arrays[1].T
        bias = arrays[2] if layer.bias is not None else None
        if swap_gru:
            kernel, recurrent = _swap_gru_blocks(kernel, 0), _swap_gru_blocks(recurrent, 0)
            bias = None if bias is None else _swap_gru_blocks(bias, -1)
        _assign(layer.kernel, kernel)
        _assign(layer.recurrent_kernel, recurrent)
        if bias is not None:
            _assign(layer.bias, bias)

    return to, back


_CONVERTERS["SimpleRNN"] = _rnn_pair(False)
_CONVERTERS["LSTM"] = _rnn_pair(False)
_CONVERTERS["GRU"] = _rnn_pair(True)


@_converter("MultiHeadAttention")
def _mha() -> Converter:
    # (Lamina sub-layer, Keras attribute, whether it is the output projection)
    parts = (
        ("query", "query_dense", False),
        ("key", "key_dense", False),
        ("value", "value_dense", False),
        ("attention_output", "output_dense", True),
    )

    def to(layer: Any) -> list[Group]:
        groups: list[Group] = []
        for attr, keras_attr, is_output in parts:
            dense = getattr(layer, attr)
            kernel = _np(dense.kernel).T  # (in, out)
            if is_output:
                arrays = [kernel.reshape(layer.num_heads, -1, kernel.shape[-1])]
                if dense.bias is not None:
                    arrays.append(_np(dense.bias))
            else:
                arrays = [kernel.reshape(kernel.shape[0], layer.num_heads, -1)]
                if dense.bias is not None:
                    arrays.append(_np(dense.bias).reshape(layer.num_heads, -1))
            groups.append((keras_attr, arrays))
        return groups

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        i = 0
        for attr, _, is_output in parts:
            dense = getattr(layer, attr)
            kernel = arrays[i]
            i += 1
            flat = (
                kernel.reshape(-1, kernel.shape[-1])
                if is_output
                else kernel.reshape(kernel.shape[0], -1)
            )
            _assign(dense.kernel, flat.T)
            if dense.bias is not None:
                _assign(dense.bias, arrays[i].reshape(-1))
                i += 1

    return to, back


@_converter("Normalization")
def _normalization() -> Converter:
    # Keras has variables only for a layer that learns its statistics with `adapt`.
    def to(layer: Any) -> list[Group]:
        if getattr(layer, "input_mean", None) is not None:
            return [("", [])]
        return [("", [_np(layer.mean), _np(layer.variance), _np(layer.count)])]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        if arrays:
            _assign(layer.mean, arrays[0])
            _assign(layer.variance, arrays[1])
            _assign(layer.count, arrays[2])
            # Keras 3 leaves `count` at 0 after `adapt`: loaded statistics are the learned ones.
            if hasattr(layer, "_ready"):
                layer._ready = True

    return to, back


def _wrapped(attr_groups: Callable[[Any], list[tuple[str, Any]]]) -> Converter:
    """A layer whose Keras variables are those of the sub-layers it wraps."""

    def to(layer: Any) -> list[Group]:
        groups: list[Group] = []
        for prefix, inner in attr_groups(layer):
            for path, arrays in keras_weight_groups(inner):
                groups.append((_join(prefix, path), arrays))
        return groups

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        i = 0
        for _, inner in attr_groups(layer):
            n = len(get_keras_weights(inner))
            set_keras_weights(inner, arrays[i : i + n])
            i += n

    return to, back


_CONVERTERS["Bidirectional"] = _wrapped(
    lambda layer: [("forward_layer", layer.layer), ("backward_layer", layer.backward_layer)]
)
_CONVERTERS["TimeDistributed"] = _wrapped(lambda layer: [("layer", layer.layer)])


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

    groups: list[Group] = [("", [_np(t) for t in _own_tensors(layer)])]
    if _is_model(layer):
        from lamina.saving.keras_writer import keras_layer_order

        children = [c for c in keras_layer_order(layer) if isinstance(c, torch.nn.Module)]
        names = [_join("layers", n) for n in container_names(children)]
        pairs = list(zip(names, children))
    else:
        pairs = list(layer.named_children())
    for name, child in pairs:
        if isinstance(child, Layer):
            for path, arrays in keras_weight_groups(child):
                groups.append((_join(name, path), arrays))
        else:  # a plain torch module inside a Lamina layer: its tensors as they are
            groups.append((name, [_np(t) for t in child.state_dict().values()]))
    return groups


def _converter_for(layer: Any) -> Converter | None:
    for cls in type(layer).__mro__:
        if cls.__module__.startswith("lamina.") and cls.__name__ in _CONVERTERS:
            return _CONVERTERS[cls.__name__]
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
        _assign(t, a)
    i = len(own)
    if _is_model(layer):
        from lamina.saving.keras_writer import keras_layer_order

        children = keras_layer_order(layer)
    else:
        children = [c for _, c in layer.named_children()]
    for child in children:
        if isinstance(child, Layer):
            n = len(get_keras_weights(child))
            set_keras_weights(child, arrays[i : i + n])
        elif isinstance(child, torch.nn.Module):
            tensors = list(child.state_dict(keep_vars=True).values())
            n = len(tensors)
            for t, a in zip(tensors, arrays[i : i + n]):
                _assign(t, a)
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
