"""Shared helpers of the convolution, pooling and spatial reshaping layers.

Lamina's image and sequence layers are channels-last at the API, as in Keras:
`(batch, steps, channels)` and `(batch, height, width, channels)`. They compute
with `torch.nn.functional` on a channels-first *view* (`x.movedim(-1, 1)`), which
for a contiguous channels-last input is already a `channels_last`-strided NCHW
tensor, so no copy is made and PyTorch picks its channels-last kernels.

`padding="same"` follows TensorFlow/Keras: the output has `ceil(size / stride)`
positions and the total padding `max((out - 1) * stride + k_eff - size, 0)` is
split with the extra row/column at the bottom/right. PyTorch only offers
`padding="same"` for stride 1, so the amounts are computed here and applied
with `F.pad` when they are not symmetric.
"""

from __future__ import annotations

import numbers
from typing import Any

import torch

from lamina.layers.symbolic import SymbolicTensor
from lamina.utils import validation

DATA_FORMATS = ("channels_last", "channels_first")

_AXIS_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def standardize_data_format(owner: str, data_format: Any) -> str:
    """Checks ``data_format`` (None means `"channels_last"`) and returns the resolved value."""
    if data_format is None:
        return "channels_last"
    validation.one_of(owner, "data_format", data_format, (*DATA_FORMATS, None))
    return data_format


def standardize_padding(owner: str, padding: Any, allowed: tuple[str, ...] = ("valid", "same")) -> str:
    """Checks a padding mode (case-insensitive, as Keras) and returns it lower-cased."""
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    listed = ", ".join(repr(p) for p in allowed)
    raise ValueError(f"`{owner}` expects `padding` to be one of {listed}. Received: padding={padding!r}.")


def non_negative_int_tuple(owner: str, name: str, value: Any, n: int) -> tuple[int, ...]:
    """Accepts an int >= 0 or a sequence of ``n`` of them; returns a tuple."""

    def ok(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0

    if ok(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(ok(v) for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(
        f"`{owner}` expects `{name}` to be an integer >= 0 or a tuple of {n} integers >= 0. "
        f"Received: {name}={value!r}."
    )


def jsonable(value: Any) -> Any:
    """Returns ``value`` with tuples turned into lists (for `get_config`)."""
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    return value


def layout(rank: int, data_format: str) -> str:
    """Human description of the expected input layout, e.g. `(batch, height, width, channels)`."""
    axes = _AXIS_NAMES.get(rank, tuple(f"dim{i}" for i in range(rank)))
    parts = ("channels", *axes) if data_format == "channels_first" else (*axes, "channels")
    return "(batch, " + ", ".join(parts) + ")"


def to_channels_first(rank: int) -> tuple[int, ...]:
    """Permutation from `(batch, *spatial, channels)` to `(batch, channels, *spatial)`."""
    return (0, rank + 1, *range(1, rank + 1))


def to_channels_last(rank: int) -> tuple[int, ...]:
    """Permutation from `(batch, channels, *spatial)` to `(batch, *spatial, channels)`."""
    return (0, *range(2, rank + 2), 1)


def channel_axis(data_format: str) -> int:
    return 1 if data_format == "channels_first" else -1


def spatial_dims(shape: tuple[Any, ...], data_format: str) -> tuple[Any, ...]:
    """The spatial entries of a full (batch-first) shape."""
    return tuple(shape[2:]) if data_format == "channels_first" else tuple(shape[1:-1])


def with_spatial(shape: tuple[Any, ...], spatial: tuple[Any, ...], channels: Any, data_format: str) -> tuple:
    """Assembles a full shape from the batch entry, spatial entries and channels."""
    if data_format == "channels_first":
        return (shape[0], channels, *spatial)
    return (shape[0], *spatial, channels)


def check_input_shape(
    layer: Any, shape: tuple[Any, ...], rank: int, data_format: str, channels: int | None = None
) -> None:
    """Raises a clear error when ``shape`` is not `(batch, *spatial, channels)` of ``rank``
    spatial axes, or has a channel count other than ``channels`` (when given)."""
    shape = tuple(shape)
    if len(shape) == rank + 2:  # the common case: no strings built
        got = shape[1 if data_format == "channels_first" else -1]
        if channels is None or got is None or got == channels:
            return
    expected = layout(rank, data_format)
    who = f"Layer '{layer.name}' ({type(layer).__name__})"
    if len(shape) != rank + 2:
        if len(shape) == rank + 1:
            fix = (
                "If each sample has a single channel, add a channels axis of size 1 "
                "(e.g. `x[..., None]` or a `Reshape` layer)."
            )
        else:
            fix = f"Reshape the data to {expected} (e.g. with a `Reshape` layer)."
        raise ValueError(
            f"{who} expects inputs of rank {rank + 2}, shaped {expected}. "
            f"Received input with shape {shape}. {fix}"
        )
    got = shape[channel_axis(data_format)]
    if channels is not None and got is not None and got != channels:
        raise ValueError(
            f"{who} was built for inputs with {channels} channels, but received input with "
            f"shape {shape} ({got} channels, layout {expected}). Pass data with {channels} "
            "channels, or use a new layer for the new channel count."
        )


def effective_kernel(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's `"same"` padding of one axis: `(before, after)`, extra on the after side."""
    eff = effective_kernel(kernel, dilation)
    out = -(-size // stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def padding_pairs(
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: str,
) -> list[tuple[int, int]]:
    """`(before, after)` padding per spatial axis for `"valid"`, `"same"` or `"causal"`."""
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if padding == "causal":
        return [(effective_kernel(k, d) - 1, 0) for k, d in zip(kernel, dilation)]
    return [same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)]


def torch_padding(pairs: list[tuple[int, int]]) -> tuple[tuple[int, ...], list[int] | None]:
    """Splits per-axis padding into what the torch op takes and an `F.pad` list.

    Returns `(op_padding, pad)`: symmetric amounts go to the op (no copy); when any
    axis is asymmetric, `pad` is the `F.pad` argument (last axis first) and the op
    gets zeros.
    """
    if all(b == a for b, a in pairs):
        return tuple(b for b, _ in pairs), None
    pad: list[int] = []
    for b, a in reversed(pairs):
        pad += [b, a]
    return (0,) * len(pairs), pad


def conv_output_length(size: int | None, kernel: int, stride: int, dilation: int, padding: str) -> int | None:
    """Output length of one axis of a convolution or pooling (Keras's formula)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    return (size - effective_kernel(kernel, dilation)) // stride + 1


def deconv_output_length(
    size: int | None, kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> int | None:
    """Output length of one axis of a transposed convolution (Keras's formula)."""
    if size is None:
        return None
    eff = effective_kernel(kernel, dilation)
    if output_padding is None:
        if padding == "valid":
            return size * stride + max(eff - stride, 0)
        return size * stride
    pad = eff // 2 if padding == "same" else 0
    return (size - 1) * stride + eff - 2 * pad + output_padding


def check_window_fits(
    layer: Any,
    sizes: tuple[Any, ...],
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    what: str = "kernel",
) -> None:
    """For `padding="valid"`: raises when a window is larger than the input (empty output)."""
    for n, k, d in zip(sizes, kernel, dilation):
        if n is not None and n < effective_kernel(k, d):
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) cannot apply a {what} of size "
                f"{tuple(kernel)} with padding='valid' to inputs with spatial shape "
                f"{tuple(sizes)}: the output would be empty. Use padding='same', a smaller "
                f"{what}, or larger inputs."
            )


def output_spec(layer: Any, inputs: Any, dtype: torch.dtype | None = None) -> tuple[tuple, torch.dtype]:
    """`compute_output_spec` for one symbolic input: builds the layer for the input's
    shape and returns `(output_shape, dtype)` from `compute_output_shape`, without
    running the layer (so free spatial axes stay None)."""
    if not isinstance(inputs, SymbolicTensor):
        raise TypeError(
            f"Layer '{layer.name}' ({type(layer).__name__}) takes a single input tensor. "
            f"Received: {type(inputs).__name__}."
        )
    layer.build_from_shape(inputs.shape)
    out_dtype = inputs.dtype if inputs.dtype.is_floating_point else (dtype or torch.get_default_dtype())
    return tuple(layer.compute_output_shape(inputs.shape)), out_dtype
