"""Keras's layout of each built-in layer's variables (see `keras_layout`).

A converter is a pair: `to(layer)` returns the layer's variables in Keras's
layout, grouped by where a Keras weights file keeps them, and
`back(layer, arrays)` assigns Keras-layout arrays (already checked for count
and shapes) to the layer's PyTorch-layout weights.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# A group: (path inside the layer's entry of a Keras weights file, its variables).
Group = tuple[str, list[np.ndarray]]


# --------------------------------------------------------------------- tensors
def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    # NumPy has no bfloat16: such variables are written as float32 (exactly) and cast
    # back to the variable's dtype when read.
    return (t.float() if t.dtype is torch.bfloat16 else t).numpy()


def assign(param: torch.Tensor, value: np.ndarray) -> None:
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
CONVERTERS: dict[str, Converter] = {}


def _converter(*names: str) -> Callable[[Any], Any]:
    def wrap(pair_factory: Callable[[], Converter]) -> Callable[[], Converter]:
        pair = pair_factory()
        for name in names:
            CONVERTERS[name] = pair
        return pair_factory

    return wrap


@_converter("Dense")
def _dense() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [to_numpy(layer.kernel).T]
        if layer.bias is not None:
            arrays.append(to_numpy(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        assign(layer.kernel, arrays[0].T)
        if layer.bias is not None:
            assign(layer.bias, arrays[1])

    return to, back


@_converter("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def _conv() -> Converter:
    # A user's subclass of a convolution keeps its kernel in Keras's layout already.
    def to(layer: Any) -> list[Group]:
        kernel = to_numpy(layer.kernel)
        arrays = [kernel if getattr(layer, "_keras_kernel", False) else _to_keras_conv(kernel)]
        if layer.bias is not None:
            arrays.append(to_numpy(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        keras_kernel = getattr(layer, "_keras_kernel", False)
        assign(layer.kernel, arrays[0] if keras_kernel else _from_keras_conv(arrays[0]))
        if layer.bias is not None:
            assign(layer.bias, arrays[1])

    return to, back


@_converter("DepthwiseConv1D", "DepthwiseConv2D")
def _depthwise() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [_depthwise_to_keras(to_numpy(layer.kernel), layer.depth_multiplier)]
        if layer.bias is not None:
            arrays.append(to_numpy(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        assign(layer.kernel, _depthwise_from_keras(arrays[0]))
        if layer.bias is not None:
            assign(layer.bias, arrays[1])

    return to, back


@_converter("SeparableConv1D", "SeparableConv2D")
def _separable() -> Converter:
    def to(layer: Any) -> list[Group]:
        arrays = [
            _depthwise_to_keras(to_numpy(layer.depthwise_kernel), layer.depth_multiplier),
            _to_keras_conv(to_numpy(layer.pointwise_kernel)),
        ]
        if layer.bias is not None:
            arrays.append(to_numpy(layer.bias))
        return [("", arrays)]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        assign(layer.depthwise_kernel, _depthwise_from_keras(arrays[0]))
        assign(layer.pointwise_kernel, _from_keras_conv(arrays[1]))
        if layer.bias is not None:
            assign(layer.bias, arrays[2])

    return to, back


def _rnn_pair(swap_gru: bool) -> Converter:
    def to(layer: Any) -> list[Group]:
        kernel, recurrent = to_numpy(layer.kernel), to_numpy(layer.recurrent_kernel)
        bias = None if layer.bias is None else to_numpy(layer.bias)
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
        assign(layer.kernel, kernel)
        assign(layer.recurrent_kernel, recurrent)
        if bias is not None:
            assign(layer.bias, bias)

    return to, back


CONVERTERS["SimpleRNN"] = _rnn_pair(False)
CONVERTERS["LSTM"] = _rnn_pair(False)
CONVERTERS["GRU"] = _rnn_pair(True)


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
            kernel = to_numpy(dense.kernel).T  # (in, out)
            if is_output:
                arrays = [kernel.reshape(layer.num_heads, -1, kernel.shape[-1])]
                if dense.bias is not None:
                    arrays.append(to_numpy(dense.bias))
            else:
                arrays = [kernel.reshape(kernel.shape[0], layer.num_heads, -1)]
                if dense.bias is not None:
                    arrays.append(to_numpy(dense.bias).reshape(layer.num_heads, -1))
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
            assign(dense.kernel, flat.T)
            if dense.bias is not None:
                assign(dense.bias, arrays[i].reshape(-1))
                i += 1

    return to, back


@_converter("Normalization")
def _normalization() -> Converter:
    # Keras has variables only for a layer that learns its statistics with `adapt`.
    def to(layer: Any) -> list[Group]:
        if getattr(layer, "input_mean", None) is not None:
            return [("", [])]
        return [("", [to_numpy(layer.mean), to_numpy(layer.variance), to_numpy(layer.count)])]

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        if arrays:
            assign(layer.mean, arrays[0])
            assign(layer.variance, arrays[1])
            assign(layer.count, arrays[2])
            # Keras 3 leaves `count` at 0 after `adapt`: loaded statistics are the learned ones.
            if hasattr(layer, "_ready"):
                layer._ready = True

    return to, back


def _wrapped(attr_groups: Callable[[Any], list[tuple[str, Any]]]) -> Converter:
    """A layer whose Keras variables are those of the sub-layers it wraps."""

    def to(layer: Any) -> list[Group]:
        from lamina.saving.keras_layout import keras_weight_groups

        groups: list[Group] = []
        for prefix, inner in attr_groups(layer):
            for path, arrays in keras_weight_groups(inner):
                groups.append(("/".join(p for p in (prefix, path) if p), arrays))
        return groups

    def back(layer: Any, arrays: list[np.ndarray]) -> None:
        from lamina.saving.keras_layout import get_keras_weights, set_keras_weights

        i = 0
        for _, inner in attr_groups(layer):
            n = len(get_keras_weights(inner))
            set_keras_weights(inner, arrays[i : i + n])
            i += n

    return to, back


CONVERTERS["Bidirectional"] = _wrapped(
    lambda layer: [("forward_layer", layer.layer), ("backward_layer", layer.backward_layer)]
)
CONVERTERS["TimeDistributed"] = _wrapped(lambda layer: [("layer", layer.layer)])
