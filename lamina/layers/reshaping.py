"""Reshaping layers: `Flatten`, `Reshape`, `Permute`, `RepeatVector`, and the spatial
`UpSampling1D/2D`, `ZeroPadding1D/2D`, `Cropping1D/2D`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers import conv_utils
from lamina.layers.layer import Layer, shape_of
from lamina.utils import validation


class Flatten(Layer):
    """Flattens every axis but the batch axis.

    Input shape: `(batch, d1, d2, ...)`. Output shape: `(batch, d1 * d2 * ...)`.
    """

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return inputs.reshape(inputs.shape[0], -1)


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: Shape of one output sample; one entry may be -1.

    Input shape: any. Output shape: `(batch, *target_shape)`.
    """

    def __init__(self, target_shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_shape, (tuple, list)) or not all(
            isinstance(d, int) and (d > 0 or d == -1) for d in target_shape
        ) or list(target_shape).count(-1) > 1:
            raise ValueError(
                "`Reshape` expects `target_shape` to be a tuple of positive integers with at "
                f"most one -1. Received: target_shape={target_shape!r}."
            )
        self.target_shape = tuple(target_shape)

    def build(self, input_shape: Any) -> None:
        known = [d for d in input_shape[1:]]
        if None not in known:
            size = 1
            for d in known:
                size *= d
            target = 1
            for d in self.target_shape:
                target *= abs(d)
            bad = (-1 not in self.target_shape and size != target) or (
                -1 in self.target_shape and size % target != 0
            )
            if bad:
                raise ValueError(
                    f"Layer '{self.name}' (Reshape) cannot reshape input of shape "
                    f"{tuple(input_shape)} ({size} values per sample) to target_shape="
                    f"{self.target_shape}. The target must hold the same number of values."
                )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


# ---------------------------------------------------------------------------
# Axis and spatial reshaping: Permute, RepeatVector, UpSampling, ZeroPadding,
# Cropping (channels-last at the API, like the convolution layers).


def _is_int(v: Any, low: int = 0) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def _pairs(owner: str, name: str, value: Any, rank: int, low: int = 0) -> tuple[tuple[int, int], ...]:
    """Normalises a padding/cropping argument to one `(before, after)` pair per axis.

    Rank 1 takes an int or `(before, after)`; rank 2 takes an int, a pair of ints
    (symmetric per axis) or a pair of pairs `((top, bottom), (left, right))`.
    """
    if _is_int(value, low):
        return ((value, value),) * rank
    if isinstance(value, (tuple, list)):
        if rank == 1 and len(value) == 2 and all(_is_int(v, low) for v in value):
            return ((value[0], value[1]),)
        if rank > 1 and len(value) == rank:
            if all(_is_int(v, low) for v in value):
                return tuple((v, v) for v in value)
            if all(isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(v, low) for v in p) for p in value):
                return tuple((p[0], p[1]) for p in value)
    forms = (
        "an integer >= 0 or a tuple (before, after) of integers >= 0"
        if rank == 1
        else "an integer >= 0, a tuple of 2 integers (symmetric height and width amounts) or "
        "a tuple of 2 tuples ((top, bottom), (left, right))"
    )
    raise ValueError(f"`{owner}` expects `{name}` to be {forms}. Received: {name}={value!r}.")


class _SpatialLayer(Layer):
    """Shared input checks and symbolic shapes of the spatial reshaping layers."""

    _rank = 2

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._set_data_format("channels_last")

    def _set_data_format(self, data_format: Any) -> None:
        self._data_format = conv_utils.standardize_data_format(type(self).__name__, data_format)
        self._channels_last = self._data_format == "channels_last"
        # Index of the first spatial axis in a (batch, ...) tensor.
        self._first = 1 if self._channels_last else 2

    def _check(self, shape: Any) -> tuple[Any, ...]:
        shape = tuple(shape)
        conv_utils.check_input_shape(self, shape, self._rank, self._data_format)
        return conv_utils.spatial_dims(shape, self._data_format)

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        """Output shape for ``input_shape`` (batch axis None)."""
        shape = tuple(input_shape)
        spatial = self._output_spatial(self._check(shape))
        channels = shape[conv_utils.channel_axis(self._data_format)]
        return conv_utils.with_spatial(shape, spatial, channels, self._data_format)

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> tuple[tuple, torch.dtype]:
        """Symbolic output (shape, dtype) without running the layer."""
        shape, _ = conv_utils.output_spec(self, inputs)
        return shape, inputs.dtype


class Permute(Layer):
    """Permutes the axes of each sample (the batch axis stays first).

    Args:
        dims: A permutation of `1 .. rank - 1`, indexing axes from 1 as Keras
            (e.g. `(2, 1)` swaps the two axes of a `(batch, a, b)` input).

    Input shape: `(batch, d1, ..., dn)`. Output shape: `(batch, d_dims[0], ..., d_dims[n-1])`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Permute((2, 1))(torch.ones(2, 10, 64)).shape
        torch.Size([2, 64, 10])
    """

    def __init__(self, dims: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(dims, (tuple, list)) or not dims or sorted(
            d if _is_int(d) else -1 for d in dims
        ) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "`Permute` expects `dims` to be a permutation of 1 .. n (axes counted from 1, "
                f"the batch axis excluded), e.g. dims=(2, 1). Received: dims={dims!r}."
            )
        self.dims = tuple(dims)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(
                f"Layer '{self.name}' (Permute) with dims={self.dims} expects inputs of rank "
                f"{len(self.dims) + 1}. Received input with shape {tuple(input_shape)}. "
                "Give one entry in `dims` per non-batch axis."
            )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.ndim != len(self.dims) + 1:
            self.build(shape_of(inputs))
        return inputs.permute(0, *self.dims)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeats each sample's vector `n` times along a new steps axis.

    Args:
        n: Number of repetitions (positive integer).

    Input shape: `(batch, features)`. Output shape: `(batch, n, features)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.RepeatVector(3)(torch.ones(2, 4)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = validation.positive_int("RepeatVector", "n", n)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"Layer '{self.name}' (RepeatVector) expects inputs of rank 2, shaped "
                f"(batch, features). Received input with shape {tuple(input_shape)}. "
                "Flatten the input first (e.g. with a `Flatten` layer)."
            )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.ndim != 2:
            self.build(shape_of(inputs))
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["n"] = self.n
        return config


class UpSampling1D(_SpatialLayer):
    """Repeats each step `size` times along the steps axis.

    Args:
        size: Upsampling factor (positive integer). Defaults to `2`.

    Input shape: `(batch, steps, features)`. Output shape: `(batch, steps * size, features)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.UpSampling1D(3)(torch.ones(2, 4, 5)).shape
        torch.Size([2, 12, 5])
    """

    _rank = 1

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = validation.positive_int("UpSampling1D", "size", size)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check(inputs.shape)
        return inputs.repeat_interleave(self.size, dim=1)

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else n * self.size for n in sizes)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling2D(_SpatialLayer):
    """Upsamples images by integer factors (`torch.nn.functional.interpolate`).

    `"nearest"` repeats each row `size[0]` times and each column `size[1]` times;
    `"bilinear"` interpolates with half-pixel centres (TensorFlow's
    `resize(..., "bilinear")`, PyTorch's `align_corners=False`).

    Args:
        size: Upsampling factors for height and width (int or tuple of 2 ints).
            Defaults to `(2, 2)`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        interpolation: `"nearest"` or `"bilinear"`. Defaults to `"nearest"`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, height * size[0], width * size[1], channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.UpSampling2D(2)(torch.ones(2, 4, 5, 3)).shape
        torch.Size([2, 8, 10, 3])
    """

    _rank = 2

    def __init__(
        self,
        size: int | tuple[int, int] = (2, 2),
        data_format: str | None = "channels_last",
        interpolation: str = "nearest",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._set_data_format(data_format)
        self._size = validation.int_tuple("UpSampling2D", "size", size, 2)
        self.size = size
        self.data_format = data_format
        self.interpolation = validation.one_of(
            "UpSampling2D", "interpolation", interpolation, ("nearest", "bilinear")
        )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check(inputs.shape)
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        if self._channels_last:
            x = x.movedim(-1, 1)
        if self.interpolation == "nearest":
            y = F.interpolate(x, scale_factor=self._size, mode="nearest")
        else:
            y = F.interpolate(x, scale_factor=self._size, mode="bilinear", align_corners=False)
        return y.movedim(1, -1) if self._channels_last else y

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else n * f for n, f in zip(sizes, self._size))

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> tuple[tuple, torch.dtype]:
        """Symbolic output (shape, dtype) without running the layer."""
        return conv_utils.output_spec(self, inputs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            size=conv_utils.jsonable(self.size),
            data_format=self.data_format,
            interpolation=self.interpolation,
        )
        return config


class ZeroPadding1D(_SpatialLayer):
    """Adds rows of zeros at the start and end of the steps axis.

    Args:
        padding: An int (the same amount at both ends) or `(left, right)`. Defaults to `1`.

    Input shape: `(batch, steps, features)`. Output shape:
    `(batch, steps + left + right, features)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.ZeroPadding1D((1, 2))(torch.ones(2, 4, 5)).shape
        torch.Size([2, 7, 5])
    """

    _rank = 1

    def __init__(self, padding: int | tuple[int, int] = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pads = _pairs("ZeroPadding1D", "padding", padding, 1)
        self.padding = padding

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check(inputs.shape)
        (left, right), = self._pads
        return F.pad(inputs, (0, 0, left, right))

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else n + b + a for n, (b, a) in zip(sizes, self._pads))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["padding"] = conv_utils.jsonable(self.padding)
        return config


class ZeroPadding2D(_SpatialLayer):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: An int (the same on all four sides), a tuple of 2 ints
            `(symmetric_height, symmetric_width)`, or a tuple of 2 tuples
            `((top, bottom), (left, right))`. Defaults to `(1, 1)`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, height + top + bottom, width + left + right, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.ZeroPadding2D(((1, 0), (2, 2)))(torch.ones(2, 4, 5, 3)).shape
        torch.Size([2, 5, 9, 3])
    """

    _rank = 2

    def __init__(
        self, padding: Any = (1, 1), data_format: str | None = "channels_last", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._set_data_format(data_format)
        self._pads = _pairs("ZeroPadding2D", "padding", padding, 2)
        self.padding = padding
        self.data_format = data_format

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check(inputs.shape)
        (top, bottom), (left, right) = self._pads
        pad = (left, right, top, bottom)
        return F.pad(inputs, (0, 0, *pad) if self._channels_last else pad)

    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else n + b + a for n, (b, a) in zip(sizes, self._pads))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(padding=conv_utils.jsonable(self.padding), data_format=self.data_format)
        return config


class _Cropping(_SpatialLayer):
    def _output_spatial(self, sizes: tuple[Any, ...]) -> tuple[Any, ...]:
        out = []
        for n, (b, a) in zip(sizes, self._crops):
            if n is not None and b + a >= n:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) cannot crop {b + a} values "
                    f"(cropping={self.cropping!r}) from an axis of size {n}: nothing would be left. "
                    "Crop less, or pass larger inputs."
                )
            out.append(None if n is None else n - b - a)
        return tuple(out)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        sizes = self._output_spatial(self._check(inputs.shape))
        x = inputs
        for i, (size, (before, _)) in enumerate(zip(sizes, self._crops)):
            x = x.narrow(self._first + i, before, size)
        return x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cropping"] = conv_utils.jsonable(self.cropping)
        return config


class Cropping1D(_Cropping):
    """Removes steps at the start and end of the steps axis.

    Args:
        cropping: An int (the same at both ends) or `(start, end)`. Defaults to `(1, 1)`.

    Input shape: `(batch, steps, features)`. Output shape:
    `(batch, steps - start - end, features)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Cropping1D((1, 2))(torch.ones(2, 6, 5)).shape
        torch.Size([2, 3, 5])
    """

    _rank = 1

    def __init__(self, cropping: int | tuple[int, int] = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._crops = _pairs("Cropping1D", "cropping", cropping, 1)
        self.cropping = cropping


class Cropping2D(_Cropping):
    """Removes rows and columns at the borders of each image.

    Args:
        cropping: An int (the same on all four sides), a tuple of 2 ints
            `(symmetric_height, symmetric_width)`, or a tuple of 2 tuples
            `((top, bottom), (left, right))`. Defaults to `((0, 0), (0, 0))`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.

    Input shape: `(batch, height, width, channels)`. Output shape:
    `(batch, height - top - bottom, width - left - right, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Cropping2D(((2, 2), (4, 4)))(torch.ones(2, 28, 28, 3)).shape
        torch.Size([2, 24, 20, 3])
    """

    _rank = 2

    def __init__(
        self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = "channels_last", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._set_data_format(data_format)
        self._crops = _pairs("Cropping2D", "cropping", cropping, 2)
        self.cropping = cropping
        self.data_format = data_format

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config
