"""Image preprocessing layers: `Resizing` and `CenterCrop`.

Images are channels-last, `(batch, height, width, channels)` or one image
`(height, width, channels)` (`data_format="channels_first"` for
`(batch, channels, height, width)`). Both layers are deterministic: they do the
same thing in training and inference. Resizing uses
`torch.nn.functional.interpolate` with half-pixel centres (`align_corners=False`,
no antialiasing), the convention of Keras's `image.resize`: `"bilinear"` and
`"nearest"` give the same values as Keras; `"bicubic"` uses PyTorch's cubic
kernel (`a = -0.75`), as Keras's PyTorch backend does.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.layers import conv_utils
from lamina.layers.preprocessing.base import PreprocessingLayer
from lamina.utils import validation

# Keras name -> torch mode.
_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic"}


def _float(images: torch.Tensor) -> torch.Tensor:
    return images if images.is_floating_point() else images.to(torch.get_default_dtype())


def _resize(images: torch.Tensor, size: tuple[int, int], interpolation: str) -> torch.Tensor:
    """Resizes a channels-first float batch `(n, c, h, w)` to ``size``."""
    if tuple(images.shape[2:]) == tuple(size):
        return images
    mode = _MODES[interpolation]
    kwargs = {} if mode == "nearest-exact" else {"align_corners": False}
    return F.interpolate(images, size=size, mode=mode, **kwargs)


def _aspect_window(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int, int, int]:
    """The largest centred window of an `height x width` image with the target's
    aspect ratio (Keras's `crop_to_aspect_ratio`): `(top, left, crop_h, crop_w)`."""
    crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
    crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
    return int(float(height - crop_h) / 2), int(float(width - crop_w) / 2), crop_h, crop_w


class _ImageLayer(PreprocessingLayer):
    """Shared by `Resizing` and `CenterCrop`: target size, data format, the
    batched/unbatched handling and the output spec."""

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.height = validation.positive_int(owner, "height", height)
        self.width = validation.positive_int(owner, "width", width)
        self._data_format = conv_utils.standardize_data_format(owner, data_format)
        self.data_format = data_format

    def _convert_inputs(self, inputs: Any) -> Any:
        if isinstance(inputs, torch.Tensor):
            return inputs
        return torch.as_tensor(np.asarray(inputs), device=self._device)

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        return self.compute_output_shape(input_shape), (
            input_dtype if input_dtype.is_floating_point else torch.get_default_dtype()
        )

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = list(input_shape)
        self._check_rank(len(shape), tuple(shape))
        first = len(shape) - 3 + (1 if self._data_format == "channels_first" else 0)
        shape[first], shape[first + 1] = self.height, self.width
        return tuple(shape)

    def _check_rank(self, rank: int, shape: tuple) -> None:
        if rank not in (3, 4):
            layout = "(batch, channels, height, width)" if self._data_format == "channels_first" else (
                "(batch, height, width, channels)"
            )
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects images shaped {layout}, or one "
                f"image without the batch axis. Received input with shape {shape}."
            )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        self._check_rank(inputs.ndim, tuple(inputs.shape))
        x = inputs.unsqueeze(0) if inputs.ndim == 3 else inputs
        channels_last = self._data_format == "channels_last"
        if channels_last:
            x = x.permute(0, 3, 1, 2)
        y = self._transform(x)
        if channels_last:
            y = y.permute(0, 2, 3, 1)
        return y[0] if inputs.ndim == 3 else y

    def _transform(self, images: torch.Tensor) -> torch.Tensor:
        """The transform of a channels-first batch `(n, c, h, w)`."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(height=self.height, width=self.width, data_format=self.data_format)
        return config


class Resizing(_ImageLayer):
    """Resizes images to `(height, width)`.

    Values are interpolated with half-pixel centres and no antialiasing (Keras's
    convention): `"bilinear"` and `"nearest"` match Keras's values; `"bicubic"`
    uses PyTorch's cubic kernel, as Keras's PyTorch backend. Integer images
    (e.g. `uint8`) keep their dtype: the values are rounded and saturated, as Keras.

    Args:
        height: Output height (a positive integer).
        width: Output width (a positive integer).
        interpolation: `"bilinear"`, `"nearest"` or `"bicubic"`. Defaults to `"bilinear"`.
        crop_to_aspect_ratio: If True, first crop the largest centred window with
            the target's aspect ratio, so the image is not distorted. Defaults to `False`.
        pad_to_aspect_ratio: If True, first pad the short side evenly (with
            `fill_value`) to the target's aspect ratio. Defaults to `False`.
        fill_mode: How padded areas are filled; only `"constant"`. Defaults to `"constant"`.
        fill_value: The padding value for `pad_to_aspect_ratio`. Defaults to `0.0`.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `None`.

    Input shape: `(batch, H, W, channels)` or `(H, W, channels)`. Output shape:
    `(batch, height, width, channels)` or `(height, width, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Resizing(4, 6)(torch.ones(2, 8, 8, 3)).shape
        torch.Size([2, 4, 6, 3])
    """

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(height, width, data_format, **kwargs)
        if interpolation in ("lanczos3", "lanczos5", "area"):
            raise ValueError(
                f"`Resizing` expects `interpolation` to be one of 'bilinear', 'nearest', 'bicubic'. "
                f"Received: interpolation={interpolation!r}. Lamina has no {interpolation} kernel; "
                "use 'bicubic' for a sharper resize."
            )
        self.interpolation = validation.one_of("Resizing", "interpolation", interpolation, tuple(_MODES))
        self.crop_to_aspect_ratio = validation.boolean("Resizing", "crop_to_aspect_ratio", crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = validation.boolean("Resizing", "pad_to_aspect_ratio", pad_to_aspect_ratio)
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                "`Resizing` expects at most one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` "
                "to be True. Received: crop_to_aspect_ratio=True, pad_to_aspect_ratio=True. "
                "Pick one: crop keeps the centre, pad keeps the whole image."
            )
        self.fill_mode = validation.one_of("Resizing", "fill_mode", fill_mode, ("constant",))
        if isinstance(fill_value, bool) or not isinstance(fill_value, numbers.Real):
            raise ValueError(f"`Resizing` expects `fill_value` to be a number. Received: fill_value={fill_value!r}.")
        self.fill_value = fill_value

    def _transform(self, images: torch.Tensor) -> torch.Tensor:
        x = _float(images)
        h, w = x.shape[2:]
        if self.crop_to_aspect_ratio:
            top, left, crop_h, crop_w = _aspect_window(h, w, self.height, self.width)
            x = x[:, :, top : top + crop_h, left : left + crop_w]
        elif self.pad_to_aspect_ratio:
            pad_h = max(h, int(float(w * self.height) / self.width))
            pad_w = max(w, int(float(h * self.width) / self.height))
            top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
            if (pad_h, pad_w) != (h, w):
                x = F.pad(x, (left, pad_w - w - left, top, pad_h - h - top), value=float(self.fill_value))
        y = _resize(x, (self.height, self.width), self.interpolation)
        if images.is_floating_point():
            return y
        # Integer images keep their dtype, rounded and saturated, as in Keras.
        info = torch.iinfo(images.dtype) if images.dtype != torch.bool else None
        if info is None:
            return y.round().clamp(0, 1).to(images.dtype)
        return y.round().clamp(info.min, info.max).to(images.dtype)

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        return self.compute_output_shape(input_shape), input_dtype

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            interpolation=self.interpolation,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
        )
        return config


class CenterCrop(_ImageLayer):
    """Crops the central `(height, width)` window of images.

    The window starts at `(H - height) // 2, (W - width) // 2`. An image smaller
    than the target on either side is handled as Keras does: the largest
    centred window with the target's aspect ratio is cropped and resized
    (bilinear) to `(height, width)`. Integer images come out as floats.

    Args:
        height: Output height (a positive integer).
        width: Output width (a positive integer).
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `None`.

    Input shape: `(batch, H, W, channels)` or `(H, W, channels)`. Output shape:
    `(batch, height, width, channels)` or `(height, width, channels)`.

    Example:
        >>> import torch, lamina
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> lamina.layers.CenterCrop(2, 2)(x)[0, ..., 0]
        tensor([[ 5.,  6.],
                [ 9., 10.]])
    """

    def _transform(self, images: torch.Tensor) -> torch.Tensor:
        x = _float(images)
        h, w = x.shape[2:]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return x[:, :, top : top + self.height, left : left + self.width]
        top, left, crop_h, crop_w = _aspect_window(h, w, self.height, self.width)
        window = x[:, :, top : top + crop_h, left : left + crop_w]
        return _resize(window, (self.height, self.width), "bilinear")
