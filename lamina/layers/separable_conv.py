"""Depthwise and depthwise-separable convolutions: `DepthwiseConv1D/2D`, `SeparableConv1D/2D`.

A depthwise convolution filters each input channel on its own (`groups =
in_channels` in PyTorch), producing `depth_multiplier` outputs per channel; its
kernel is stored as `(in_channels * depth_multiplier, 1, kh, kw)`, as the weight of
`torch.nn.Conv2d(c, c * m, k, groups=c)`. Output channel `c * m + j` is the `j`-th
filter of input channel `c`, as in Keras.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import constraints, initializers, regularizers
from lamina.layers.convolutional import _CONV, BaseConv, _serialize
from lamina.utils import validation


def _add_depthwise_kernel(
    layer: BaseConv, name: str, in_channels: int, multiplier: int, initializer: Any, regularizer: Any,
    constraint: Any = None,
) -> torch.nn.Parameter:
    """Creates a depthwise kernel whose initial values have Keras's fans
    (`fan_in = kh * kw * in_channels`, `fan_out = kh * kw * depth_multiplier`)."""
    kernel = layer._kernel_size
    param = layer.add_weight(
        name, (in_channels * multiplier, 1, *kernel), "zeros", regularizer,
        constraint=constraints.depthwise_layout(constraint, len(kernel), in_channels, multiplier),
    )
    with torch.no_grad():
        # (multiplier, in, kh, kw) has those fans in PyTorch's (out, in, ...) convention.
        values = initializer(torch.empty(multiplier, in_channels, *kernel, dtype=param.dtype))
        param.copy_(values.transpose(0, 1).reshape(param.shape))
    return param


class DepthwiseConv(BaseConv):
    """N-D depthwise convolution (`DepthwiseConv1D`, `DepthwiseConv2D` are its
    public forms)."""

    _rank = 2

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = "channels_last",
        dilation_rate: int | tuple[int, ...] = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        owner = type(self).__name__
        self.depth_multiplier = validation.positive_int(owner, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def _build_weights(self, in_channels: int) -> None:
        self.kernel = _add_depthwise_kernel(
            self, "kernel", in_channels, self.depth_multiplier, self.depthwise_initializer,
            self.depthwise_regularizer, self.depthwise_constraint,
        )
        self.bias = self._add_bias(in_channels * self.depth_multiplier)

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.shape[1]
        x, padding = self._pad(x)
        return _CONV[self._rank](x, self.kernel, self.bias, self._strides, padding, self._dilation, groups)

    def _output_channels(self, in_channels: int | None) -> int | None:
        return None if in_channels is None else in_channels * self.depth_multiplier

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            depth_multiplier=self.depth_multiplier,
            depthwise_initializer=initializers.serialize(self.depthwise_initializer),
            depthwise_regularizer=_serialize(regularizers, self.depthwise_regularizer),
            depthwise_constraint=constraints.layer_config(self.depthwise_constraint),
        )
        return config


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2-D convolution: each input channel is convolved with its own
    `depth_multiplier` filters (`torch.nn.functional.conv2d` with `groups=channels`).

    Args:
        kernel_size: Height and width of the window (int or tuple of 2 ints).
        strides: Strides along height and width. Defaults to `1`.
        padding: `"valid"` or `"same"` (TensorFlow-style, see `Conv2D`).
            Defaults to `"valid"`.
        depth_multiplier: Number of output channels per input channel. Defaults to `1`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        dilation_rate: Dilation of the window. Defaults to `1`.
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        depthwise_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        depthwise_regularizer: Optional penalty on the kernel. Defaults to `None`.
        bias_regularizer: Optional penalty on the bias. Defaults to `None`.
        activity_regularizer: Optional penalty on the output (divided by the batch
            size, as `Dense`). Defaults to `None`.
        depthwise_constraint: Optional constraint applied to the kernel after each
            optimizer update; its `axis` refers to Keras's layout
            `(*kernel_size, in_channels, depth_multiplier)`. Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias. Defaults to `None`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, new_height, new_width, channels * depth_multiplier)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer(torch.ones(2, 8, 8, 4)).shape
        torch.Size([2, 8, 8, 8])
    """

    _rank = 2


class SeparableConv(BaseConv):
    """N-D depthwise-separable convolution (`SeparableConv1D`, `SeparableConv2D`
    are its public forms)."""

    _rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        data_format: str | None = "channels_last",
        dilation_rate: int | tuple[int, ...] = 1,
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            activity_regularizer,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        owner = type(self).__name__
        self.filters = validation.positive_int(owner, "filters", filters)
        self.depth_multiplier = validation.positive_int(owner, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _build_weights(self, in_channels: int) -> None:
        mid = in_channels * self.depth_multiplier
        self.depthwise_kernel = _add_depthwise_kernel(
            self, "depthwise_kernel", in_channels, self.depth_multiplier, self.depthwise_initializer,
            self.depthwise_regularizer, self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (self.filters, mid, *(1,) * self._rank), self.pointwise_initializer,
            self.pointwise_regularizer,
            constraint=constraints.conv_layout(self.pointwise_constraint, self._rank),
        )
        self.bias = self._add_bias(self.filters)

    def _weight_dtype(self) -> torch.dtype:
        return self.depthwise_kernel.dtype

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.shape[1]
        x, padding = self._pad(x)
        y = _CONV[self._rank](x, self.depthwise_kernel, None, self._strides, padding, self._dilation, groups)
        return _CONV[self._rank](y, self.pointwise_kernel, self.bias)

    def _output_channels(self, in_channels: int | None) -> int:
        return self.filters

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            depth_multiplier=self.depth_multiplier,
            depthwise_initializer=initializers.serialize(self.depthwise_initializer),
            pointwise_initializer=initializers.serialize(self.pointwise_initializer),
            depthwise_regularizer=_serialize(regularizers, self.depthwise_regularizer),
            pointwise_regularizer=_serialize(regularizers, self.pointwise_regularizer),
            depthwise_constraint=constraints.layer_config(self.depthwise_constraint),
            pointwise_constraint=constraints.layer_config(self.pointwise_constraint),
        )
        return config


class SeparableConv2D(SeparableConv):
    """Depthwise-separable 2-D convolution: a depthwise convolution (each channel
    filtered on its own, `depth_multiplier` times) followed by a pointwise 1x1
    convolution that mixes channels into `filters` outputs.

    Weights: `depthwise_kernel` `(in_channels * depth_multiplier, 1, kh, kw)`,
    `pointwise_kernel` `(filters, in_channels * depth_multiplier, 1, 1)` and `bias`
    `(filters,)`, in PyTorch's layout.

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Height and width of the depthwise window (int or tuple of 2 ints).
        strides: Strides of the depthwise step. Defaults to `1`.
        padding: `"valid"` or `"same"` (TensorFlow-style, see `Conv2D`).
            Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        dilation_rate: Dilation of the depthwise window. Defaults to `1`.
        depth_multiplier: Depthwise outputs per input channel. Defaults to `1`.
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        depthwise_initializer: Defaults to `"glorot_uniform"`.
        pointwise_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        depthwise_regularizer: Optional penalty on the depthwise kernel. Defaults to `None`.
        pointwise_regularizer: Optional penalty on the pointwise kernel. Defaults to `None`.
        bias_regularizer: Optional penalty on the bias. Defaults to `None`.
        activity_regularizer: Optional penalty on the output (divided by the batch
            size, as `Dense`). Defaults to `None`.
        depthwise_constraint: Optional constraint applied to the depthwise kernel
            after each optimizer update (Keras's layout `(*kernel_size,
            in_channels, depth_multiplier)`). Defaults to `None`.
        pointwise_constraint: Optional constraint applied to the pointwise kernel
            (Keras's layout `(*(1,) * rank, in_channels * depth_multiplier,
            filters)`). Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias. Defaults to `None`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, new_height, new_width, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.SeparableConv2D(16, 3, padding="same")
        >>> layer(torch.ones(2, 8, 8, 4)).shape
        torch.Size([2, 8, 8, 16])
    """

    _rank = 2


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1-D convolution: each input channel of a sequence is convolved
    with its own `depth_multiplier` filters (`torch.nn.functional.conv1d` with
    `groups=channels`). The kernel is stored as `(channels * depth_multiplier, 1, k)`.

    Args:
        kernel_size: Length of the window (int or tuple of 1 int).
        strides: Stride of the window. Defaults to `1`.
        padding: `"valid"` or `"same"` (TensorFlow-style, see `Conv1D`).
            Defaults to `"valid"`.
        depth_multiplier: Number of output channels per input channel. Defaults to `1`.
        data_format: `"channels_last"` (`(batch, steps, channels)`) or
            `"channels_first"`; None means channels-last. Defaults to `"channels_last"`.
        dilation_rate: Dilation of the window. Defaults to `1`.
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        depthwise_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        depthwise_regularizer: Optional penalty on the kernel. Defaults to `None`.
        bias_regularizer: Optional penalty on the bias. Defaults to `None`.
        activity_regularizer: Optional penalty on the output (divided by the batch
            size, as `Dense`). Defaults to `None`.
        depthwise_constraint: Optional constraint applied to the kernel after each
            optimizer update; its `axis` refers to Keras's layout
            `(*kernel_size, in_channels, depth_multiplier)`. Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias. Defaults to `None`.

    Input shape: `(batch, steps, channels)`. Output shape:
    `(batch, new_steps, channels * depth_multiplier)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same")
        >>> layer(torch.ones(2, 10, 4)).shape
        torch.Size([2, 10, 8])
    """

    _rank = 1


class SeparableConv1D(SeparableConv):
    """Depthwise-separable 1-D convolution: a depthwise convolution of each channel
    (`depth_multiplier` times) followed by a pointwise (kernel size 1) convolution
    that mixes channels into `filters` outputs.

    Weights: `depthwise_kernel` `(channels * depth_multiplier, 1, k)`,
    `pointwise_kernel` `(filters, channels * depth_multiplier, 1)` and `bias`
    `(filters,)`, in PyTorch's layout.

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Length of the depthwise window (int or tuple of 1 int).
        strides: Stride of the depthwise step. Defaults to `1`.
        padding: `"valid"` or `"same"` (TensorFlow-style, see `Conv1D`).
            Defaults to `"valid"`.
        data_format: `"channels_last"` (`(batch, steps, channels)`) or
            `"channels_first"`; None means channels-last. Defaults to `"channels_last"`.
        dilation_rate: Dilation of the depthwise window. Defaults to `1`.
        depth_multiplier: Depthwise outputs per input channel. Defaults to `1`.
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        depthwise_initializer: Defaults to `"glorot_uniform"`.
        pointwise_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        depthwise_regularizer: Optional penalty on the depthwise kernel. Defaults to `None`.
        pointwise_regularizer: Optional penalty on the pointwise kernel. Defaults to `None`.
        bias_regularizer: Optional penalty on the bias. Defaults to `None`.
        activity_regularizer: Optional penalty on the output (divided by the batch
            size, as `Dense`). Defaults to `None`.
        depthwise_constraint: Optional constraint applied to the depthwise kernel
            after each optimizer update (Keras's layout `(*kernel_size,
            in_channels, depth_multiplier)`). Defaults to `None`.
        pointwise_constraint: Optional constraint applied to the pointwise kernel
            (Keras's layout `(*(1,) * rank, in_channels * depth_multiplier,
            filters)`). Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias. Defaults to `None`.

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, new_steps, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.SeparableConv1D(16, 3, padding="same")
        >>> layer(torch.ones(2, 10, 4)).shape
        torch.Size([2, 10, 16])
    """

    _rank = 1
