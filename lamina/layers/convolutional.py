"""Convolution layers: `Conv1D`, `Conv2D` and their shared base, `BaseConv` (`Conv3D`
is in `convolutional3d`).

Inputs are channels-last at the API (`(batch, steps, channels)`,
`(batch, height, width, channels)`); weights are kept in PyTorch's layout
(`Conv2D` kernel `(filters, in_channels // groups, kh, kw)`), so the tensors of
`state_dict()` match `torch.nn.Conv2d`'s. The layers call `torch.nn.functional`
on a channels-first view of the input (no copy; see `conv_utils`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.layers import conv_utils
from lamina.layers.layer import Layer
from lamina.ops import convolution as ops_convolution
from lamina.utils import validation

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _serialize(module: Any, obj: Any) -> Any:
    return None if obj is None else module.serialize(obj)


class BaseConv(Layer):
    """Shared machinery of the convolution layers; use a concrete subclass.

    Subclasses set `_rank` (number of spatial axes), create their weights in
    `_build_weights(in_channels)`, compute in `_convolve(x)` on a channels-first
    tensor, and give their output channel count in `_output_channels`.
    """

    _rank = 2
    _paddings: tuple[str, ...] = ("valid", "same")
    _window_must_fit = True  # False for transposed convolutions, which never shrink
    _keras_kernel = False  # see `Conv`

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        data_format: str | None = "channels_last",
        dilation_rate: int | tuple[int, ...] = 1,
        activation: Any = None,
        use_bias: bool = True,
        bias_initializer: Any = "zeros",
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        n = self._rank
        self._kernel_size = validation.int_tuple(owner, "kernel_size", kernel_size, n)
        self._strides = validation.int_tuple(owner, "strides", strides, n)
        self._dilation = validation.int_tuple(owner, "dilation_rate", dilation_rate, n)
        self._padding = conv_utils.standardize_padding(owner, padding, self._paddings)
        self._data_format = conv_utils.standardize_data_format(owner, data_format)
        # Public attributes hold the standardized values, as Keras's (`strides` is `(1, 1)`).
        self.kernel_size = self._kernel_size
        self.strides = self._strides
        self.padding = self._padding
        self.data_format = self._data_format
        self.dilation_rate = self._dilation
        self.activation = activations.get(activation)
        self._act = None if activation is None else activations.kernel(self.activation)
        self.use_bias = validation.boolean(owner, "use_bias", use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self._channels_last = self._data_format == "channels_last"
        self._to_cf = conv_utils.to_channels_first(self._rank)
        self._to_cl = conv_utils.to_channels_last(self._rank)
        self._in_channels: int | None = None
        # With stride 1 (or no "same" padding) the padding does not depend on the input size.
        self._static_padding = None
        if self._padding != "same" or all(s == 1 for s in self._strides):
            pairs = conv_utils.padding_pairs((1,) * n, self._kernel_size, self._strides, self._dilation, self._padding)
            self._static_padding = conv_utils.torch_padding(pairs)

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        conv_utils.check_input_shape(self, shape, self._rank, self._data_format)
        channels = shape[conv_utils.channel_axis(self._data_format)]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) needs a known number of channels "
                f"to build its kernel. Received input shape {shape} (layout "
                f"{conv_utils.layout(self._rank, self._data_format)})."
            )
        self._build_weights(channels)
        self._in_channels = channels

    def _build_weights(self, in_channels: int) -> None:
        raise NotImplementedError

    def _add_bias(self, size: int) -> torch.nn.Parameter | None:
        if not self.use_bias:
            return None
        return self.add_weight(
            "bias", (size,), self.bias_initializer, self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    # ------------------------------------------------------------------ call
    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if self._keras_kernel:
            return self._keras_call(inputs)
        conv_utils.check_input_shape(
            self, tuple(inputs.shape), self._rank, self._data_format, self._in_channels
        )
        x = inputs if inputs.is_floating_point() else inputs.to(self._weight_dtype())
        if self._channels_last:
            x = x.permute(self._to_cf)  # a channels_last-strided NC... view, no copy
        out = self._convolve(x)
        if self._channels_last:
            out = out.permute(self._to_cl)
        if self._act is not None:
            out = self._act(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])
        return out

    def _channels_first_rank(self) -> int | None:
        if self._keras_kernel:
            return None
        if self._channels_last and (self._act is None or activations.is_elementwise(self.activation)):
            return self._rank
        return None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        out = self._convolve(x)
        if self._act is not None:
            out = self._act(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])
        return out

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _weight_dtype(self) -> torch.dtype:
        """The dtype integer inputs are cast to (the kernel's)."""
        return self.kernel.dtype

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
        """Pads ``x`` (channels-first) TF-style; returns it and the op's symmetric padding."""
        if self._padding == "valid":
            conv_utils.check_window_fits(self, tuple(x.shape[2:]), self._kernel_size, self._dilation)
        if self._static_padding is not None:
            op_padding, pad = self._static_padding
        else:
            sizes = tuple(x.shape[2:])
            pairs = conv_utils.padding_pairs(sizes, self._kernel_size, self._strides, self._dilation, self._padding)
            op_padding, pad = conv_utils.torch_padding(pairs)
        if pad is not None:
            x = F.pad(x, pad)
        return x, op_padding

    # ------------------------------------------------------------------ shapes
    def _output_channels(self, in_channels: int | None) -> int | None:
        raise NotImplementedError

    def _output_length(self, size: int | None, axis: int) -> int | None:
        return conv_utils.conv_output_length(
            size, self._kernel_size[axis], self._strides[axis], self._dilation[axis], self._padding
        )

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        """Output shape for ``input_shape`` (batch axis None), by Keras's formulas."""
        shape = tuple(input_shape)
        conv_utils.check_input_shape(self, shape, self._rank, self._data_format, self._in_channels)
        sizes = conv_utils.spatial_dims(shape, self._data_format)
        if self._padding == "valid" and self._window_must_fit:
            conv_utils.check_window_fits(self, sizes, self._kernel_size, self._dilation)
        spatial = tuple(self._output_length(n, i) for i, n in enumerate(sizes))
        channels = self._output_channels(shape[conv_utils.channel_axis(self._data_format)])
        return conv_utils.with_spatial(shape, spatial, channels, self._data_format)

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> tuple[tuple, torch.dtype]:
        """Symbolic output (shape, dtype) without running the layer, so free spatial
        axes (`Input(shape=(None, None, 3))`) stay None."""
        return conv_utils.output_spec(self, inputs)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            kernel_size=conv_utils.jsonable(self.kernel_size),
            strides=conv_utils.jsonable(self.strides),
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=conv_utils.jsonable(self.dilation_rate),
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            bias_initializer=initializers.serialize(self.bias_initializer),
            bias_regularizer=_serialize(regularizers, self.bias_regularizer),
            activity_regularizer=_serialize(regularizers, self.activity_regularizer),
            bias_constraint=constraints.layer_config(self.bias_constraint),
        )
        return config


class Conv(BaseConv):
    """N-D convolution (`Conv1D`, `Conv2D` and `Conv3D` are its public forms)."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        data_format: str | None = "channels_last",
        dilation_rate: int | tuple[int, ...] = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
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
        self.groups = validation.positive_int(owner, "groups", groups)
        if filters % groups != 0:
            raise ValueError(
                f"`{owner}` expects `filters` to be divisible by `groups`. "
                f"Received: filters={filters}, groups={groups}. Pick a number of filters "
                "that is a multiple of groups."
            )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _build_weights(self, in_channels: int) -> None:
        if in_channels % self.groups != 0:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) has groups={self.groups}, which "
                f"must divide the number of input channels. Received input with {in_channels} "
                "channels. Use a `groups` that divides the channel count."
            )
        if self._keras_kernel:
            self.kernel = self.add_weight(
                shape=(*self._kernel_size, in_channels // self.groups, self.filters),
                initializer=self.kernel_initializer, regularizer=self.kernel_regularizer, name="kernel",
                constraint=self.kernel_constraint,
            )
        else:
            shape = (self.filters, in_channels // self.groups, *self._kernel_size)
            self.kernel = self.add_weight(
                "kernel", shape, self.kernel_initializer, self.kernel_regularizer,
                constraint=constraints.conv_layout(self.kernel_constraint, self._rank),
            )
        self.bias = self._add_bias(self.filters)

    # Whether the kernel is kept in Keras's layout `(*kernel_size, in // groups,
    # filters)`: True for a subclass written outside Lamina (Keras code reads
    # `self.kernel` and overrides `call` / `convolution_op`); Lamina's own layers keep
    # PyTorch's layout. Set once per class.
    _keras_kernel = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._keras_kernel = not cls.__module__.startswith("lamina.")

    def convolution_op(self, inputs: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """The convolution of `call`, without bias or activation, as Keras's
        `Conv.convolution_op`: a subclass may override it, or call it from its own `call`.

        Args:
            inputs: Tensor in the layer's `data_format` (channels-last by default).
            kernel: Kernel in Keras's layout `(*kernel_size, in_channels // groups,
                filters)`. The layer's own `kernel` is accepted in either layout.

        Returns:
            The convolved tensor, in the layer's `data_format`.

        Example:
            >>> import torch, lamina
            >>> class Doubled(lamina.layers.Conv2D):
            ...     def convolution_op(self, inputs, kernel):
            ...         return super().convolution_op(inputs, 2.0 * kernel)
            >>> Doubled(4, 3)(torch.ones(1, 5, 5, 2)).shape
            torch.Size([1, 3, 3, 4])
        """
        if kernel is self.kernel and not self._keras_kernel:
            kernel = kernel.permute(*range(2, 2 + self._rank), 1, 0)  # PyTorch -> Keras layout
        padding = self._padding
        if padding == "causal":  # Conv1D: left padding of the time axis, then "valid"
            time_axis = 1 if self._channels_last else 2
            pad = [0, 0] * (inputs.ndim - 1 - time_axis) + [self._dilation[0] * (self._kernel_size[0] - 1), 0]
            inputs, padding = F.pad(inputs, pad), "valid"
        return ops_convolution.conv(
            inputs, kernel, strides=self._strides, padding=padding,
            data_format=self._data_format, dilation_rate=self._dilation,
        )

    def _keras_call(self, inputs: torch.Tensor) -> torch.Tensor:
        """Keras's `Conv.call`, which a subclass's `convolution_op` takes part in."""
        conv_utils.check_input_shape(
            self, tuple(inputs.shape), self._rank, self._data_format, self._in_channels
        )
        outputs = self.convolution_op(inputs, self.kernel)
        if self.bias is not None:
            shape = (self.filters,) if self._channels_last else (self.filters, *(1,) * self._rank)
            outputs = outputs + self.bias.reshape(shape)
        if self._act is not None:
            outputs = self._act(outputs)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(outputs) / outputs.shape[0])
        return outputs

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        x, padding = self._pad(x)
        kernel = self.kernel
        if self._keras_kernel:
            kernel = kernel.permute(self._rank + 1, self._rank, *range(self._rank))
        return _CONV[self._rank](x, kernel, self.bias, self._strides, padding, self._dilation, self.groups)

    def _output_channels(self, in_channels: int | None) -> int:
        return self.filters

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            groups=self.groups,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            kernel_regularizer=_serialize(regularizers, self.kernel_regularizer),
            kernel_constraint=constraints.layer_config(self.kernel_constraint),
        )
        return config


class Conv1D(Conv):
    """1-D convolution over sequences (temporal convolution), `torch.nn.functional.conv1d`.

    `output = activation(conv1d(inputs, kernel) + bias)`. The kernel is stored as
    `(filters, in_channels // groups, kernel_size)`, as `torch.nn.Conv1d`'s weight.

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Length of the convolution window (int or tuple of 1 int).
        strides: Stride of the window. Defaults to `1`.
        padding: `"valid"` (no padding), `"same"` (output length `ceil(steps / strides)`,
            TensorFlow's asymmetric split) or `"causal"` (left padding only, so
            `output[t]` does not depend on `input[t + 1:]`). Defaults to `"valid"`.
        data_format: `"channels_last"` (`(batch, steps, channels)`) or `"channels_first"`
            (`(batch, channels, steps)`); None means channels-last.
            Defaults to `"channels_last"`.
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

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, new_steps, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Conv1D(8, 3, padding="causal")
        >>> layer(torch.ones(2, 10, 4)).shape
        torch.Size([2, 10, 8])
    """

    _rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(Conv):
    """2-D convolution over images, `torch.nn.functional.conv2d`.

    `output = activation(conv2d(inputs, kernel) + bias)`. The kernel is stored as
    `(filters, in_channels // groups, kh, kw)`, as `torch.nn.Conv2d`'s weight, and
    the input is convolved as a channels-last-strided NCHW view (no copy).

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Height and width of the window (int or tuple of 2 ints).
        strides: Strides along height and width. Defaults to `1`.
        padding: `"valid"` (no padding) or `"same"` (output size `ceil(size / strides)`;
            with an odd total the extra row/column is padded at the bottom/right, as
            TensorFlow/Keras). Defaults to `"valid"`.
        data_format: `"channels_last"` (`(batch, height, width, channels)`) or
            `"channels_first"` (`(batch, channels, height, width)`); None means
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

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, new_height, new_width, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")
        >>> layer(torch.ones(2, 28, 28, 1)).shape
        torch.Size([2, 14, 14, 16])
    """

    _rank = 2
