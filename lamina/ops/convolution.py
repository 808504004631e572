"""Convolution and pooling ops, channels-last by default with Keras-layout kernels.

Kernels are `(*kernel_size, in_channels, out_channels)` as in Keras; `"same"`
padding follows TensorFlow (the extra row or column of padding goes at the end).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops._utils import float_tensor
from lamina.ops.core import convert_to_tensor, tensors, to_float


def _ntuple(name: str, value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(
            f"`{name}` expects an int or {n} ints for a {n}-D operation. Received: {name}={value}."
        )
    return value


def _padding(op: str, padding: str) -> str:
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(
            f"`ops.{op}` expects `padding` to be 'valid' or 'same'. Received: padding={padding!r}."
        )
    return padding


def _same_pads(size: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
               dilation: tuple[int, ...]) -> list[int]:
    """TF-style 'same' pads (extra on the right), in F.pad order (last axis first)."""
    pads: list[int] = []
    for n, k, s, d in reversed(list(zip(size, kernel, strides, dilation))):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


def _to_cf(x: torch.Tensor, data_format: str | None) -> torch.Tensor:
    return torch.movedim(x, -1, 1) if data_format in (None, "channels_last") else x


def _from_cf(x: torch.Tensor, data_format: str | None) -> torch.Tensor:
    return torch.movedim(x, 1, -1) if data_format in (None, "channels_last") else x


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """N-D convolution (N = 1, 2, 3) with a Keras-layout kernel.

    Args:
        inputs: Tensor of shape `(batch, *spatial, in_channels)` (channels-last).
        kernel: Tensor of shape `(*kernel_size, in_channels // groups, out_channels)`.
        strides: An int or N ints. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels-last).
        dilation_rate: An int or N ints. Defaults to `1`.

    Example:
        >>> ops.conv(ops.ones((1, 5, 5, 2)), ops.ones((3, 3, 2, 4)), padding="same").shape
        torch.Size([1, 5, 5, 4])
    """
    x, k = tensors(inputs, kernel)
    x = to_float(x)
    k = k.to(x.dtype)
    n = x.ndim - 2
    if n not in _CONV or k.ndim != n + 2:
        raise ValueError(
            "`ops.conv` expects a 3-D, 4-D or 5-D input and a kernel of the same rank. "
            f"Received: inputs.shape={tuple(x.shape)}, kernel.shape={tuple(k.shape)}."
        )
    strides, dil = _ntuple("strides", strides, n), _ntuple("dilation_rate", dilation_rate, n)
    x = _to_cf(x, data_format)
    in_ch = x.shape[1]
    if in_ch % k.shape[-2]:
        raise ValueError(
            f"`ops.conv` expects the input channels ({in_ch}) to be a multiple of the kernel's "
            f"input channels. Received: kernel.shape={tuple(k.shape)}."
        )
    weight = k.permute(n + 1, n, *range(n))  # (out, in/groups, *spatial)
    if _padding("conv", padding) == "same":
        x = F.pad(x, _same_pads(tuple(x.shape[2:]), tuple(k.shape[:n]), strides, dil))
    out = _CONV[n](x, weight, stride=strides, dilation=dil, groups=in_ch // k.shape[-2])
    return _from_cf(out, data_format)


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """Depthwise convolution; `kernel` is `(*kernel_size, in_channels, depth_multiplier)`.

    Example:
        >>> ops.depthwise_conv(ops.ones((1, 5, 5, 2)), ops.ones((3, 3, 2, 1))).shape
        torch.Size([1, 3, 3, 2])
    """
    k = convert_to_tensor(kernel)
    n = k.ndim - 2
    full = k.reshape(*k.shape[:n], 1, k.shape[-2] * k.shape[-1])
    return conv(inputs, full, strides, padding, data_format, dilation_rate)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Any = 1) -> torch.Tensor:
    """Depthwise convolution followed by a pointwise (1x1) convolution.

    Example:
        >>> ops.separable_conv(ops.ones((1, 5, 5, 2)), ops.ones((3, 3, 2, 1)),
        ...                    ops.ones((1, 1, 2, 4))).shape
        torch.Size([1, 3, 3, 4])
    """
    out = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(out, pointwise_kernel, 1, "valid", data_format, 1)


def _pool(op: str, inputs: Any, pool_size: Any, strides: Any, padding: str,
          data_format: str | None) -> torch.Tensor:
    x = float_tensor(inputs)
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(
            f"`ops.{op}` expects a 3-D, 4-D or 5-D input. Received: inputs.shape={tuple(x.shape)}."
        )
    size = _ntuple("pool_size", pool_size, n)
    strides = size if strides is None else _ntuple("strides", strides, n)
    x = _to_cf(x, data_format)
    same = _padding(op, padding) == "same"
    pads = _same_pads(tuple(x.shape[2:]), size, strides, (1,) * n) if same else None
    if op == "max_pool":
        if same:
            x = F.pad(x, pads, value=-math.inf)
        out = getattr(F, f"max_pool{n}d")(x, size, strides)
    else:
        avg = getattr(F, f"avg_pool{n}d")
        if same:  # like Keras, the padded zeros do not count in the average
            count = avg(F.pad(torch.ones_like(x[:1, :1]), pads), size, strides)
            out = avg(F.pad(x, pads), size, strides) / count
        else:
            out = avg(x, size, strides)
    return _from_cf(out, data_format)


def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str | None = None) -> torch.Tensor:
    """Max pooling over 1-3 spatial axes (channels-last by default).

    Args:
        inputs: Tensor of shape `(batch, *spatial, channels)`.
        pool_size: An int or one int per spatial axis.
        strides: An int, ints, or None (= `pool_size`). Defaults to `None`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`.

    Example:
        >>> ops.max_pool(ops.ones((1, 4, 4, 3)), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None) -> torch.Tensor:
    """Average pooling over 1-3 spatial axes; see `max_pool` for the arguments.

    Example:
        >>> ops.average_pool(ops.ones((1, 4, 4, 3)), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format)


_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   output_padding: Any = None, data_format: str | None = None,
                   dilation_rate: Any = 1) -> torch.Tensor:
    """N-D transposed convolution (the gradient of `conv`), with Keras's output sizes.

    Args:
        inputs: Tensor of shape `(batch, *spatial, in_channels)` (channels-last).
        kernel: Tensor of shape `(*kernel_size, out_channels, in_channels)`.
        strides: An int or N ints. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        output_padding: Extra size added at the end of each spatial axis, an int
            or N ints. Defaults to `None` (inferred as Keras does).
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`.
        dilation_rate: An int or N ints. Defaults to `1`.

    Example:
        >>> ops.conv_transpose(ops.ones((1, 4, 4, 2)), ops.ones((3, 3, 5, 2)), 2, "same").shape
        torch.Size([1, 8, 8, 5])
    """
    x, k = tensors(inputs, kernel)
    x = to_float(x)
    k = k.to(x.dtype)
    n = x.ndim - 2
    if n not in _CONV_T or k.ndim != n + 2:
        raise ValueError(
            "`ops.conv_transpose` expects a 3-D, 4-D or 5-D input and a kernel of the same rank. "
            f"Received: inputs.shape={tuple(x.shape)}, kernel.shape={tuple(k.shape)}."
        )
    strides, dil = _ntuple("strides", strides, n), _ntuple("dilation_rate", dilation_rate, n)
    same = _padding("conv_transpose", padding) == "same"
    out_pad = None if output_padding is None else _ntuple("output_padding", output_padding, n)
    x = _to_cf(x, data_format)
    weight = k.permute(n + 1, n, *range(n))  # (in, out, *spatial)
    full = _CONV_T[n](x, weight, stride=strides, dilation=dil)
    for d in range(n):
        size, s = x.shape[2 + d], strides[d]
        kd = (k.shape[d] - 1) * dil[d] + 1
        if out_pad is None:
            length = size * s if same else size * s + max(kd - s, 0)
            start = max(kd - s, 0) // 2 if same else 0
        else:
            start = kd // 2 if same else 0
            length = (size - 1) * s + kd - 2 * start + out_pad[d]
        have = full.shape[2 + d]
        if start + length > have:  # extra zeros at the end, as TensorFlow adds them
            pads = [0, 0] * (n - 1 - d) + [0, start + length - have]
            full = F.pad(full, pads)
        full = full.narrow(2 + d, start, length)
    return _from_cf(full, data_format)


def _adaptive(op: str, inputs: Any, output_size: Any, data_format: str | None) -> torch.Tensor:
    x = float_tensor(inputs)
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(
            f"`ops.{op}` expects a 3-D, 4-D or 5-D input. Received: inputs.shape={tuple(x.shape)}."
        )
    size = _ntuple("output_size", output_size, n)
    kind = "max" if op == "adaptive_max_pool" else "avg"
    fn = getattr(F, f"adaptive_{kind}_pool{n}d")
    return _from_cf(fn(_to_cf(x, data_format), size), data_format)


def adaptive_average_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> torch.Tensor:
    """Average pooling to a fixed `output_size` (PyTorch's adaptive bins).

    Example:
        >>> ops.adaptive_average_pool(ops.ones((1, 7, 9, 3)), (2, 3)).shape
        torch.Size([1, 2, 3, 3])
    """
    return _adaptive("adaptive_average_pool", inputs, output_size, data_format)


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> torch.Tensor:
    """Max pooling to a fixed `output_size` (PyTorch's adaptive bins).

    Example:
        >>> ops.adaptive_max_pool(ops.ones((1, 7, 9, 3)), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    return _adaptive("adaptive_max_pool", inputs, output_size, data_format)


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Moves channel blocks into `block_size x block_size` spatial tiles (TensorFlow's order).

    Example:
        >>> ops.depth_to_space(ops.ones((1, 2, 2, 8)), 2).shape
        torch.Size([1, 4, 4, 2])
    """
    x = convert_to_tensor(x)
    if data_format == "channels_first":
        x = torch.movedim(x, 1, -1)
    b, h, w, c = x.shape
    if c % (block_size * block_size):
        raise ValueError(
            f"`ops.depth_to_space` expects channels divisible by block_size**2. "
            f"Received: {c} channels, block_size={block_size}."
        )
    out = x.reshape(b, h, w, block_size, block_size, c // block_size**2)
    out = out.permute(0, 1, 3, 2, 4, 5).reshape(b, h * block_size, w * block_size, -1)
    return torch.movedim(out, -1, 1) if data_format == "channels_first" else out


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> torch.Tensor:
    """Moves `block_size x block_size` spatial tiles into channels (inverse of `depth_to_space`).

    Example:
        >>> ops.space_to_depth(ops.ones((1, 4, 4, 2)), 2).shape
        torch.Size([1, 2, 2, 8])
    """
    x = convert_to_tensor(x)
    if data_format == "channels_first":
        x = torch.movedim(x, 1, -1)
    b, h, w, c = x.shape
    if h % block_size or w % block_size:
        raise ValueError(
            "`ops.space_to_depth` expects height and width divisible by `block_size`. "
            f"Received: spatial shape ({h}, {w}), block_size={block_size}."
        )
    out = x.reshape(b, h // block_size, block_size, w // block_size, block_size, c)
    out = out.permute(0, 1, 3, 2, 4, 5).reshape(b, h // block_size, w // block_size, -1)
    return torch.movedim(out, -1, 1) if data_format == "channels_first" else out


def unfold(input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,  # noqa: A002
           stride: Any = 1) -> torch.Tensor:
    """Extracts sliding blocks from a channels-first batch (PyTorch's `unfold`, as Keras).

    Args:
        input: Tensor of shape `(batch, channels, height, width)`.
        kernel_size: An int or 2 ints.
        dilation: An int or 2 ints. Defaults to `1`.
        padding: An int or 2 ints of zero padding. Defaults to `0`.
        stride: An int or 2 ints. Defaults to `1`.

    Returns:
        Tensor of shape `(batch, channels * kh * kw, num_blocks)`.

    Example:
        >>> ops.unfold(ops.ones((1, 2, 4, 4)), 2, stride=2).shape
        torch.Size([1, 8, 4])
    """
    x = float_tensor(input)
    if x.ndim != 4:
        raise ValueError(
            "`ops.unfold` expects a 4-D input (batch, channels, height, width). "
            f"Received: input.shape={tuple(x.shape)}."
        )
    return F.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)
