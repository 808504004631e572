"""Volumetric (3-D) layers: `Conv3D`, `Conv3DTranspose`, `MaxPooling3D`,
`AveragePooling3D`, `GlobalMaxPooling3D`, `GlobalAveragePooling3D`,
`UpSampling3D`, `ZeroPadding3D`, `Cropping3D`.

Inputs are channels-last at the API, `(batch, depth, height, width, channels)`,
as in Keras (videos, medical volumes); the layers share the machinery of their
1-D and 2-D forms (TensorFlow-style `"same"` padding, weights in PyTorch's
layout) and compute with `torch.nn.functional`'s 3-D ops on a channels-first view.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers import conv_utils
from lamina.layers.conv_transpose import ConvTranspose
from lamina.layers.convolutional import Conv
from lamina.layers.pooling import BaseGlobalPooling, _AveragePooling, _MaxPooling
from lamina.layers.reshaping import _Cropping, _pairs, _SpatialLayer
from lamina.utils import validation


class Conv3D(Conv):
    """3-D convolution over volumes, `torch.nn.functional.conv3d`.

    `output = activation(conv3d(inputs, kernel) + bias)`. The kernel is stored as
    `(filters, in_channels // groups, kd, kh, kw)`, as `torch.nn.Conv3d`'s weight.

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Depth, height and width of the window (int or tuple of 3 ints).
        strides: Strides along the three spatial axes. Defaults to `1`.
        padding: `"valid"` (no padding) or `"same"` (output size `ceil(size / strides)`,
            the extra padding at the end of each axis, as TensorFlow/Keras).
            Defaults to `"valid"`.
        data_format: `"channels_last"` (`(batch, depth, height, width, channels)`) or
            `"channels_first"` (`(batch, channels, depth, height, width)`); None means
            channels-last. Defaults to `"channels_last"`.
        dilation_rate: Dilation of the window. Defaults to `1`.
        groups: Number of channel groups, each convolved separately; must divide
            `filters` and the input channels. Defaults to `1`.
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional penalty on the kernel. Defaults to `None`.
        bias_regularizer: Optional penalty on the bias. Defaults to `None`.
        activity_regularizer: Optional penalty on the output (divided by the batch
            size, as `Dense`). Defaults to `None`.
        kernel_constraint: Optional constraint applied to the kernel after each
            optimizer update; its `axis` refers to Keras's kernel layout
            `(*kernel_size, in_channels // groups, filters)`. Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias. Defaults to `None`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, new_depth, new_height, new_width, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Conv3D(8, 3, padding="same", strides=2)
        >>> layer(torch.ones(2, 6, 8, 8, 3)).shape
        torch.Size([2, 3, 4, 4, 8])
    """

    _rank = 3


class Conv3DTranspose(ConvTranspose):
    """Transposed 3-D convolution, `torch.nn.functional.conv_transpose3d`.

    The transpose of a `Conv3D` with the same `kernel_size`, `strides`, `padding`
    and `dilation_rate` (maps its output shape back to its input shape). The
    kernel is stored as `(in_channels, filters, kd, kh, kw)`, as
    `torch.nn.ConvTranspose3d`'s weight; output sizes follow Keras (see
    `Conv2DTranspose`).

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Depth, height and width of the window (int or tuple of 3 ints).
        strides: Upsampling factors. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        output_padding: Extra entries added at the end of each output axis (each
            smaller than the matching stride), or None to let the formula decide.
            Defaults to `None`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        dilation_rate: Dilation of the window. Defaults to `1`.
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional penalty on the kernel. Defaults to `None`.
        bias_regularizer: Optional penalty on the bias. Defaults to `None`.
        activity_regularizer: Optional penalty on the output (divided by the batch
            size, as `Dense`). Defaults to `None`.
        kernel_constraint: Optional constraint applied to the kernel after each
            optimizer update; its `axis` refers to Keras's kernel layout
            `(*kernel_size, filters, in_channels)`. Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias. Defaults to `None`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, new_depth, new_height, new_width, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Conv3DTranspose(4, 3, strides=2, padding="same")
        >>> layer(torch.ones(2, 3, 4, 4, 8)).shape
        torch.Size([2, 6, 8, 8, 4])
    """

    _rank = 3


class MaxPooling3D(_MaxPooling):
    """Max pooling over depth, height and width: the largest value in each window,
    per channel (`torch.max_pool3d`).

    Args:
        pool_size: Size of the pooling window (int or tuple of 3 ints). Defaults to `2`.
        strides: Step of the window; None means `pool_size`. Defaults to `None`.
        padding: `"valid"` (windows inside the input) or `"same"` (output size
            `ceil(size / strides)`, extra padding at the end, padded values ignored).
            Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, new_depth, new_height, new_width, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.MaxPooling3D(2)(torch.ones(2, 4, 6, 7, 3)).shape
        torch.Size([2, 2, 3, 3, 3])
    """

    _rank = 3


class AveragePooling3D(_AveragePooling):
    """Average pooling over depth, height and width: the mean of each window, per
    channel (`torch.nn.functional.avg_pool3d`; with `"same"` padding only real
    values are averaged, as Keras).

    Args:
        pool_size: Size of the pooling window (int or tuple of 3 ints). Defaults to `2`.
        strides: Step of the window; None means `pool_size`. Defaults to `None`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, new_depth, new_height, new_width, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.AveragePooling3D(2, padding="same")(torch.ones(2, 3, 5, 5, 3)).shape
        torch.Size([2, 2, 3, 3, 3])
    """

    _rank = 3


class GlobalMaxPooling3D(BaseGlobalPooling):
    """Maximum over depth, height and width, per channel.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        keepdims: Whether to keep the pooled axes with size 1. Defaults to `False`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, channels)` (`(batch, 1, 1, 1, channels)` with `keepdims=True`).

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GlobalMaxPooling3D()(torch.ones(2, 3, 4, 5, 6)).shape
        torch.Size([2, 6])
    """

    _rank = 3
    _reduce = "max"


class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over depth, height and width, per channel.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        keepdims: Whether to keep the pooled axes with size 1. Defaults to `False`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, channels)` (`(batch, 1, 1, 1, channels)` with `keepdims=True`).

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GlobalAveragePooling3D(keepdims=True)(torch.ones(2, 3, 4, 5, 6)).shape
        torch.Size([2, 1, 1, 1, 6])
    """

    _rank = 3
    _reduce = "mean"


def _pairs3d(owner: str, name: str, value: Any) -> tuple[tuple[int, int], ...]:
    """A 3-D padding/cropping argument as one `(before, after)` pair per axis."""
    try:
        return _pairs(owner, name, value, 3)
    except ValueError:
        raise ValueError(
            f"`{owner}` expects `{name}` to be an integer >= 0, a tuple of 3 integers (symmetric "
            "depth, height and width amounts) or a tuple of 3 tuples ((front, back), (top, bottom), "
            f"(left, right)). Received: {name}={value!r}."
        ) from None


class UpSampling3D(_SpatialLayer):
    """Upsamples volumes by repeating each entry `size[i]` times along spatial axis `i`.

    Args:
        size: Upsampling factors for depth, height and width (int or tuple of 3
            ints). Defaults to `(2, 2, 2)`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape:
    `(batch, depth * size[0], height * size[1], width * size[2], channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.UpSampling3D((1, 2, 3))(torch.ones(2, 3, 4, 5, 6)).shape
        torch.Size([2, 3, 8, 15, 6])
    """

    _rank = 3

    def __init__(
        self, size: int | tuple[int, int, int] = (2, 2, 2), data_format: str | None = "channels_last", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._set_data_format(data_format)
        self._size = validation.int_tuple("UpSampling3D", "size", size, 3)
        self.size = size
        self.data_format = data_format

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check(inputs.shape)
        x = inputs
        for i, factor in enumerate(self._size):
            if factor != 1:
                x = x.repeat_interleave(factor, dim=self._first + i)
        return x

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else n * f for n, f in zip(sizes, self._size))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(size=conv_utils.jsonable(self.size), data_format=self.data_format)
        return config


class ZeroPadding3D(_SpatialLayer):
    """Adds zeros around each volume, along depth, height and width.

    Args:
        padding: An int (the same on all sides), a tuple of 3 ints (symmetric
            amounts per axis), or a tuple of 3 tuples
            `((front, back), (top, bottom), (left, right))`.
            Defaults to `((1, 1), (1, 1), (1, 1))`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape: each
    spatial axis grows by its two amounts.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.ZeroPadding3D((1, 0, 2))(torch.ones(2, 3, 4, 5, 6)).shape
        torch.Size([2, 5, 4, 9, 6])
    """

    _rank = 3

    def __init__(
        self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = "channels_last", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._set_data_format(data_format)
        self._pads = _pairs3d("ZeroPadding3D", "padding", padding)
        self.padding = padding
        self.data_format = data_format

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check(inputs.shape)
        pad: list[int] = []
        for before, after in reversed(self._pads):
            pad += [before, after]
        return F.pad(inputs, [0, 0, *pad] if self._channels_last else pad)

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else n + b + a for n, (b, a) in zip(sizes, self._pads))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(padding=conv_utils.jsonable(self.padding), data_format=self.data_format)
        return config


class Cropping3D(_Cropping):
    """Removes entries at the borders of each volume, along depth, height and width.

    Args:
        cropping: An int (the same on all sides), a tuple of 3 ints (symmetric
            amounts per axis), or a tuple of 3 tuples
            `((front, back), (top, bottom), (left, right))`.
            Defaults to `((1, 1), (1, 1), (1, 1))`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, depth, height, width, channels)`. Output shape: each
    spatial axis shrinks by its two amounts.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Cropping3D(((1, 1), (0, 2), (1, 1)))(torch.ones(2, 4, 5, 6, 3)).shape
        torch.Size([2, 2, 3, 4, 3])
    """

    _rank = 3

    def __init__(
        self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = "channels_last", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._set_data_format(data_format)
        self._crops = _pairs3d("Cropping3D", "cropping", cropping)
        self.cropping = cropping
        self.data_format = data_format

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
