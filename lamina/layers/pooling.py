"""Pooling layers: `MaxPooling1D/2D`, `AveragePooling1D/2D` and the global poolings
(the 3-D forms are in `convolutional3d`).

Channels-last at the API; computed with `torch.nn.functional` pooling on a
channels-first view. `padding="same"` follows TensorFlow/Keras: the output has
`ceil(size / strides)` positions, the extra padding goes to the bottom/right,
max pooling ignores the padding and average pooling divides by the number of
real (unpadded) values in each window.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers import conv_utils
from lamina.layers.layer import Layer
from lamina.utils import validation

# Attribute under which a (batch, steps) padding mask travels with a tensor
# (the convention of `lamina.layers.masking`).
_MASK_ATTR = "_lamina_mask"

# The ATen ops themselves (F.max_pool*d adds a Python dispatch on `return_indices`).
_MAX_POOL = {1: torch.max_pool1d, 2: torch.max_pool2d, 3: torch.max_pool3d}
_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


class BasePooling(Layer):
    """Shared machinery of the windowed pooling layers; use a concrete subclass."""

    _rank = 2
    _mode = "max"

    def __init__(
        self,
        pool_size: int | tuple[int, ...] = 2,
        strides: int | tuple[int, ...] | None = None,
        padding: str = "valid",
        data_format: str | None = "channels_last",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        n = self._rank
        self._pool_size = validation.int_tuple(owner, "pool_size", pool_size, n)
        self._strides = self._pool_size if strides is None else validation.int_tuple(owner, "strides", strides, n)
        self._padding = conv_utils.standardize_padding(owner, padding)
        self._data_format = conv_utils.standardize_data_format(owner, data_format)
        self._channels_last = self._data_format == "channels_last"
        self._to_cf = conv_utils.to_channels_first(self._rank)
        self._to_cl = conv_utils.to_channels_last(self._rank)
        # Padding per input size: (op padding, F.pad list or None), checked once per size.
        self._padding_for: dict[tuple[int, ...], tuple[tuple[int, ...], list[int] | None]] = {}
        self.pool_size = pool_size
        self.strides = strides
        self.padding = padding
        self.data_format = data_format

    def build(self, input_shape: Any) -> None:
        conv_utils.check_input_shape(self, tuple(input_shape), self._rank, self._data_format)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        conv_utils.check_input_shape(self, tuple(inputs.shape), self._rank, self._data_format)
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        if not self._channels_last:
            return self._call_channels_first(x)
        return self._call_channels_first(x.permute(self._to_cf)).permute(self._to_cl)

    def _channels_first_rank(self) -> int | None:
        return self._rank if self._channels_last else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        sizes = tuple(x.shape[2:])
        # Under torch.export a free axis is a SymInt, which cannot be a dict key: no cache then.
        cacheable = all(type(n) is int for n in sizes)
        padding = self._padding_for.get(sizes) if cacheable else None
        if padding is None:
            ones = (1,) * self._rank
            if self._padding == "valid":
                conv_utils.check_window_fits(self, sizes, self._pool_size, ones, what="pool_size")
            pairs = conv_utils.padding_pairs(sizes, self._pool_size, self._strides, ones, self._padding)
            padding = conv_utils.torch_padding(pairs)
            if len(self._padding_for) >= 64:  # inputs of many sizes (free spatial axes)
                self._padding_for.clear()
            if cacheable:
                self._padding_for[sizes] = padding
        return self._pool(x, *padding)

    def _pool(self, x: torch.Tensor, op_padding: tuple[int, ...], pad: list[int] | None) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        """Output shape for ``input_shape`` (batch axis None), by Keras's formula."""
        shape = tuple(input_shape)
        conv_utils.check_input_shape(self, shape, self._rank, self._data_format)
        sizes = conv_utils.spatial_dims(shape, self._data_format)
        if self._padding == "valid":
            conv_utils.check_window_fits(self, sizes, self._pool_size, (1,) * self._rank, what="pool_size")
        spatial = tuple(
            conv_utils.conv_output_length(n, k, s, 1, self._padding)
            for n, k, s in zip(sizes, self._pool_size, self._strides)
        )
        channels = shape[conv_utils.channel_axis(self._data_format)]
        return conv_utils.with_spatial(shape, spatial, channels, self._data_format)

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> tuple[tuple, torch.dtype]:
        """Symbolic output (shape, dtype) without running the layer."""
        return conv_utils.output_spec(self, inputs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            pool_size=conv_utils.jsonable(self.pool_size),
            strides=conv_utils.jsonable(self.strides),
            padding=self.padding,
            data_format=self.data_format,
        )
        return config


class _MaxPooling(BasePooling):
    def _pool(self, x: torch.Tensor, op_padding: tuple[int, ...], pad: list[int] | None) -> torch.Tensor:
        if pad is not None:
            x = F.pad(x, pad, value=float("-inf"))
        return _MAX_POOL[self._rank](x, self._pool_size, self._strides, op_padding)


class _AveragePooling(BasePooling):
    def _pool(self, x: torch.Tensor, op_padding: tuple[int, ...], pad: list[int] | None) -> torch.Tensor:
        pool = _AVG_POOL[self._rank]
        if pad is None:
            return pool(x, self._pool_size, self._strides, op_padding, count_include_pad=False)
        # Asymmetric padding: divide the window sums by the number of real values,
        # found by pooling a padded map of ones the same way.
        sums = pool(F.pad(x, pad), self._pool_size, self._strides)
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        counts = pool(F.pad(ones, pad), self._pool_size, self._strides)
        return sums / counts


class MaxPooling1D(_MaxPooling):
    """Max pooling over steps: the largest value in each window, per channel
    (`torch.nn.functional.max_pool1d`).

    Args:
        pool_size: Size of the pooling window (int or tuple of 1 int). Defaults to `2`.
        strides: Step of the window; None means `pool_size`. Defaults to `None`.
        padding: `"valid"` (windows inside the input) or `"same"` (output size
            `ceil(size / strides)`, extra padding at the end, padded values ignored).
            Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, new_steps, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.MaxPooling1D(2)(torch.ones(2, 9, 3)).shape
        torch.Size([2, 4, 3])
    """

    _rank = 1


class MaxPooling2D(_MaxPooling):
    """Max pooling over height and width: the largest value in each window, per
    channel (`torch.nn.functional.max_pool2d`).

    Args:
        pool_size: Size of the pooling window (int or tuple of 2 ints). Defaults to `2`.
        strides: Step of the window; None means `pool_size`. Defaults to `None`.
        padding: `"valid"` (windows inside the input) or `"same"` (output size
            `ceil(size / strides)`, extra padding at the end, padded values ignored).
            Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, new_height, new_width, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.MaxPooling2D(2, padding="same")(torch.ones(2, 9, 9, 3)).shape
        torch.Size([2, 5, 5, 3])
    """

    _rank = 2


class AveragePooling1D(_AveragePooling):
    """Average pooling over steps: the mean of each window, per channel
    (`torch.nn.functional.avg_pool1d`).

    Args:
        pool_size: Size of the pooling window (int or tuple of 1 int). Defaults to `2`.
        strides: Step of the window; None means `pool_size`. Defaults to `None`.
        padding: `"valid"` (windows inside the input) or `"same"` (output size
            `ceil(size / strides)`, extra padding at the end, padded values ignored).
            Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, new_steps, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.AveragePooling1D(3, strides=1)(torch.ones(2, 9, 3)).shape
        torch.Size([2, 7, 3])
    """

    _rank = 1


class AveragePooling2D(_AveragePooling):
    """Average pooling over height and width: the mean of each window, per channel
    (`torch.nn.functional.avg_pool2d`).

    Args:
        pool_size: Size of the pooling window (int or tuple of 2 ints). Defaults to `2`.
        strides: Step of the window; None means `pool_size`. Defaults to `None`.
        padding: `"valid"` (windows inside the input) or `"same"` (output size
            `ceil(size / strides)`, extra padding at the end, padded values ignored).
            Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, new_height, new_width, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.AveragePooling2D((2, 2))(torch.ones(2, 8, 8, 3)).shape
        torch.Size([2, 4, 4, 3])
    """

    _rank = 2


class BaseGlobalPooling(Layer):
    """Shared machinery of the global poolings; use a concrete subclass."""

    _rank = 2
    _reduce = "mean"

    def __init__(self, data_format: str | None = "channels_last", keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        self._data_format = conv_utils.standardize_data_format(owner, data_format)
        self.data_format = data_format
        self.keepdims = validation.boolean(owner, "keepdims", keepdims)
        first = 2 if self._data_format == "channels_first" else 1
        self._axes = tuple(range(first, first + self._rank))

    def build(self, input_shape: Any) -> None:
        conv_utils.check_input_shape(self, tuple(input_shape), self._rank, self._data_format)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        conv_utils.check_input_shape(self, tuple(inputs.shape), self._rank, self._data_format)
        if self._reduce == "max":
            return inputs.amax(dim=self._axes, keepdim=self.keepdims)
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        return x.mean(dim=self._axes, keepdim=self.keepdims)

    # A run of channels-first layers may end with a global pooling: its output has no
    # channels axis to move back.
    _exits_channels_first = True

    def _channels_first_rank(self) -> int | None:
        return self._rank if self._data_format == "channels_last" and not self.keepdims else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        dims = tuple(range(2, 2 + self._rank))
        return x.amax(dim=dims) if self._reduce == "max" else x.mean(dim=dims)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        """`(batch, channels)`, or with size-1 spatial axes when `keepdims=True`."""
        shape = tuple(input_shape)
        conv_utils.check_input_shape(self, shape, self._rank, self._data_format)
        channels = shape[conv_utils.channel_axis(self._data_format)]
        if not self.keepdims:
            return (shape[0], channels)
        return conv_utils.with_spatial(shape, (1,) * self._rank, channels, self._data_format)

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> tuple[tuple, torch.dtype]:
        """Symbolic output (shape, dtype) without running the layer."""
        spec_shape, dtype = conv_utils.output_spec(self, inputs)
        if self._reduce == "max":
            dtype = inputs.dtype
        return spec_shape, dtype

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the steps axis, per channel.

    When the input carries a padding mask (from `Embedding(mask_zero=True)` or
    `Masking`, see `lamina.layers.masking`), only the real steps are averaged, as in
    Keras; a sample with no real step gives zeros.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        keepdims: Whether to keep the pooled axes with size 1. Defaults to `False`.

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, channels)`
    (`(batch, 1, channels)` with `keepdims=True`).

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GlobalAveragePooling1D()(torch.ones(2, 9, 3)).shape
        torch.Size([2, 3])
    """

    _rank = 1
    _reduce = "mean"

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        mask = getattr(inputs, _MASK_ATTR, None)
        if mask is None or self._data_format != "channels_last":
            return super().call(inputs, training=training)
        conv_utils.check_input_shape(self, tuple(inputs.shape), self._rank, self._data_format)
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        weights = mask.to(x.dtype).unsqueeze(-1)  # (batch, steps, 1)
        total = (x * weights).sum(dim=1, keepdim=self.keepdims)
        count = weights.sum(dim=1, keepdim=self.keepdims).clamp_min(1.0)
        return total / count


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over height and width, per channel.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        keepdims: Whether to keep the pooled axes with size 1. Defaults to `False`.

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, channels)`
    (`(batch, 1, 1, channels)` with `keepdims=True`).

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GlobalAveragePooling2D()(torch.ones(2, 5, 5, 3)).shape
        torch.Size([2, 3])
    """

    _rank = 2
    _reduce = "mean"


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Maximum over the steps axis, per channel.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        keepdims: Whether to keep the pooled axes with size 1. Defaults to `False`.

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, channels)`
    (`(batch, 1, channels)` with `keepdims=True`).

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GlobalMaxPooling1D()(torch.ones(2, 9, 3)).shape
        torch.Size([2, 3])
    """

    _rank = 1
    _reduce = "max"


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Maximum over height and width, per channel.

    Args:
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        keepdims: Whether to keep the pooled axes with size 1. Defaults to `False`.

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, channels)`
    (`(batch, 1, 1, channels)` with `keepdims=True`).

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GlobalMaxPooling2D(keepdims=True)(torch.ones(2, 5, 5, 3)).shape
        torch.Size([2, 1, 1, 3])
    """

    _rank = 2
    _reduce = "max"
