"""Transposed convolutions ("deconvolutions"): `Conv1DTranspose`, `Conv2DTranspose`
(`Conv3DTranspose` lives in `convolutional3d`), on one base, `ConvTranspose`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.layers import conv_utils
from lamina.layers.convolutional import BaseConv, _serialize
from lamina.utils import validation

_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class ConvTranspose(BaseConv):
    """N-D transposed convolution (`Conv1DTranspose`, `Conv2DTranspose`,
    `Conv3DTranspose` are its public forms; see `Conv2DTranspose` for the
    output-size formula). The kernel is stored as `(in_channels, filters, *kernel)`,
    as `torch.nn.ConvTranspose{1,2,3}d`'s weight."""

    _rank = 2
    _window_must_fit = False

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        output_padding: int | tuple[int, ...] | None = None,
        data_format: str | None = "channels_last",
        dilation_rate: int | tuple[int, ...] = 1,
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
        self.output_padding = output_padding
        self._output_padding: tuple[int | None, ...] = (None,) * self._rank
        if output_padding is not None:
            self._output_padding = conv_utils.non_negative_int_tuple(
                owner, "output_padding", output_padding, self._rank
            )
            if any(p >= s for p, s in zip(self._output_padding, self._strides)):
                raise ValueError(
                    f"`{owner}` expects each entry of `output_padding` to be smaller than the "
                    f"matching stride. Received: output_padding={output_padding!r}, "
                    f"strides={strides!r}. Lower `output_padding` or raise `strides`."
                )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _build_weights(self, in_channels: int) -> None:
        shape = (in_channels, self.filters, *self._kernel_size)
        self.kernel = self.add_weight(
            "kernel", shape, self.kernel_initializer, self.kernel_regularizer,
            # (in, filters, *k) in PyTorch; Keras's (*k, filters, in) is the same permutation.
            constraint=constraints.conv_layout(self.kernel_constraint, self._rank),
        )
        self.bias = self._add_bias(self.filters)

    def _output_length(self, size: int | None, axis: int) -> int | None:
        return conv_utils.deconv_output_length(
            size,
            self._kernel_size[axis],
            self._strides[axis],
            self._dilation[axis],
            self._padding,
            self._output_padding[axis],
        )

    def _output_channels(self, in_channels: int | None) -> int:
        return self.filters

    def _convolve(self, x: torch.Tensor) -> torch.Tensor:
        # The full transposed convolution has (n - 1) * s + k rows; the output is the
        # window [before, before + out) of it (zero-extended past its end), where
        # `before` is the top padding of the matching TF-style forward convolution.
        # torch expresses this as padding=before plus output_padding, except when the
        # window stops one row short of torch's, which is then sliced off.
        paddings, extras, lengths = [], [], []
        crop = False
        for axis, n in enumerate(x.shape[2:]):
            k = conv_utils.effective_kernel(self._kernel_size[axis], self._dilation[axis])
            s = self._strides[axis]
            out = self._output_length(n, axis)
            full = (n - 1) * s + k
            before = max(full - out, 0) // 2 if self._padding == "same" else 0
            extra = out - (full - 2 * before)
            if extra < 0:
                crop, extra = True, 0
            paddings.append(before)
            extras.append(extra)
            lengths.append(out)
        y = _CONV_TRANSPOSE[self._rank](
            x, self.kernel, self.bias, self._strides, tuple(paddings), tuple(extras), 1, self._dilation
        )
        if crop:
            for axis, out in enumerate(lengths):
                y = y.narrow(axis + 2, 0, out)
        return y

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            filters=self.filters,
            output_padding=conv_utils.jsonable(self.output_padding),
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            kernel_regularizer=_serialize(regularizers, self.kernel_regularizer),
            kernel_constraint=constraints.layer_config(self.kernel_constraint),
        )
        return config


class Conv2DTranspose(ConvTranspose):
    """Transposed 2-D convolution, `torch.nn.functional.conv_transpose2d`.

    The transpose (gradient) of a `Conv2D` with the same `kernel_size`, `strides`,
    `padding` and `dilation_rate`: it maps a `Conv2D`'s output shape back to its
    input shape, e.g. to upsample in a decoder. The kernel is stored as
    `(in_channels, filters, kh, kw)`, as `torch.nn.ConvTranspose2d`'s weight.

    The output size per spatial axis follows Keras: with `output_padding=None`,
    `size * strides` for `"same"` and `size * strides + max(k - strides, 0)` for
    `"valid"` (`k` the dilated kernel size); otherwise
    `(size - 1) * strides + k - 2 * pad + output_padding` with `pad = k // 2` for
    `"same"` and 0 for `"valid"`. `"same"` is the exact transpose of `Conv2D`'s
    TensorFlow-style padding (an odd padding total is trimmed at the bottom/right).

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Height and width of the window (int or tuple of 2 ints).
        strides: Upsampling factors along height and width. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        output_padding: Extra rows/columns added to one side of the output (int or
            tuple of 2 ints, each smaller than the matching stride), or None to let
            the formula above decide. Defaults to `None`.
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

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, new_height, new_width, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Conv2DTranspose(8, 3, strides=2, padding="same")
        >>> layer(torch.ones(2, 7, 7, 16)).shape
        torch.Size([2, 14, 14, 8])
    """

    _rank = 2


class Conv1DTranspose(ConvTranspose):
    """Transposed 1-D convolution, `torch.nn.functional.conv_transpose1d`.

    The transpose of a `Conv1D` with the same `kernel_size`, `strides`, `padding`
    and `dilation_rate` (maps its output length back to its input length), e.g.
    to upsample sequences. The kernel is stored as `(in_channels, filters, k)`, as
    `torch.nn.ConvTranspose1d`'s weight; the output length follows Keras (see
    `Conv2DTranspose`).

    Args:
        filters: Number of output channels (positive integer).
        kernel_size: Length of the window (int or tuple of 1 int).
        strides: Upsampling factor. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        output_padding: Extra steps added at the end of the output (smaller than
            `strides`), or None to let the formula decide. Defaults to `None`.
        data_format: `"channels_last"` (`(batch, steps, channels)`) or
            `"channels_first"`; None means channels-last. Defaults to `"channels_last"`.
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

    Input shape: `(batch, steps, channels)`. Output shape: `(batch, new_steps, filters)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Conv1DTranspose(8, 3, strides=2, padding="same")
        >>> layer(torch.ones(2, 10, 4)).shape
        torch.Size([2, 20, 8])
    """

    _rank = 1
