"""Image ops (`keras.ops.image`): resizing, cropping, padding and colour conversion.

Images are channels-last by default, `(batch, height, width, channels)` or one
image `(height, width, channels)`; `data_format="channels_first"` takes
`(batch, channels, height, width)`. Resizing uses half-pixel centres
(`torch.nn.functional.interpolate` with `align_corners=False`), the convention of
Keras's `image.resize`: `"bilinear"` and `"nearest"` give Keras's values,
`"bicubic"` uses PyTorch's cubic kernel (`a = -0.75`) as Keras's PyTorch backend
does, and `"area"` averages the covered input pixels.

Example:
    >>> import torch
    >>> from lamina import ops
    >>> images = torch.arange(16.0).reshape(1, 4, 4, 1)
    >>> tuple(ops.image.resize(images, (2, 2)).shape)
    (1, 2, 2, 1)
    >>> ops.image.resize(images, (2, 2))[0, :, :, 0]
    tensor([[ 2.5000,  4.5000],
            [10.5000, 12.5000]])
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops._utils import float_tensor
from lamina.ops.core import convert_to_tensor

__all__ = [
    "crop_images", "extract_patches", "hsv_to_rgb", "pad_images", "resize", "rgb_to_grayscale",
    "rgb_to_hsv",
]

# Keras name -> torch interpolation mode.
_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic", "area": "area"}


def _data_format(op: str, data_format: str | None) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"`ops.image.{op}` expects `data_format` to be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}."
        )
    return data_format


def _to_batch_cf(op: str, images: torch.Tensor, data_format: str) -> tuple[torch.Tensor, bool]:
    """`images` as a channels-first batch `(n, c, h, w)`, and whether a batch axis was added."""
    if images.ndim not in (3, 4):
        layout = "(batch, channels, height, width)" if data_format == "channels_first" else (
            "(batch, height, width, channels)"
        )
        raise ValueError(
            f"`ops.image.{op}` expects a 3-D image or a 4-D batch {layout}. "
            f"Received: images.shape={tuple(images.shape)}."
        )
    unbatched = images.ndim == 3
    x = images.unsqueeze(0) if unbatched else images
    if data_format == "channels_last":
        x = x.permute(0, 3, 1, 2)
    return x, unbatched


def _from_batch_cf(x: torch.Tensor, unbatched: bool, data_format: str) -> torch.Tensor:
    if data_format == "channels_last":
        x = x.permute(0, 2, 3, 1)
    return x[0] if unbatched else x


def _size(op: str, size: Any) -> tuple[int, int]:
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError):
        height = width = None
    if height is None or height < 1 or width < 1:
        raise ValueError(
            f"`ops.image.{op}` expects `size` to be a tuple of 2 positive integers "
            f"(height, width). Received: size={size!r}."
        )
    return height, width


def resize(
    images: Any,
    size: Any,
    interpolation: str = "bilinear",
    antialias: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    data_format: str | None = None,
) -> torch.Tensor:
    """Resizes images to `size`, as Keras's `ops.image.resize`.

    Args:
        images: A batch `(batch, height, width, channels)` or one image
            `(height, width, channels)` (channels first with
            `data_format="channels_first"`).
        size: `(height, width)` of the output.
        interpolation: `"bilinear"`, `"nearest"`, `"bicubic"` or `"area"`.
            Defaults to `"bilinear"`.
        antialias: Whether to filter the image when downsampling (bilinear and
            bicubic). Defaults to `False`.
        crop_to_aspect_ratio: If True, first crop the largest centred window
            with the target aspect ratio, so the image is not distorted.
            Defaults to `False`.
        pad_to_aspect_ratio: If True, first pad the short side evenly (with
            `fill_value`) to the target aspect ratio. Defaults to `False`.
        fill_mode: How padded areas are filled; only `"constant"`. Defaults to
            `"constant"`.
        fill_value: The padding value for `pad_to_aspect_ratio`. Defaults to `0.0`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Returns:
        The resized images, floating point (integer images become float32).
    """
    fmt = _data_format("resize", data_format)
    height, width = _size("resize", size)
    if interpolation not in _MODES:
        raise ValueError(
            f"`ops.image.resize` expects `interpolation` to be one of {', '.join(map(repr, _MODES))}. "
            f"Received: interpolation={interpolation!r}."
        )
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "`ops.image.resize` expects at most one of `crop_to_aspect_ratio` and "
            "`pad_to_aspect_ratio` to be True. Received: crop_to_aspect_ratio=True, "
            "pad_to_aspect_ratio=True. Pick one: crop keeps the centre, pad keeps the whole image."
        )
    if fill_mode != "constant":
        raise ValueError(
            f"`ops.image.resize` supports only fill_mode='constant'. Received: fill_mode={fill_mode!r}."
        )
    x, unbatched = _to_batch_cf("resize", float_tensor(images), fmt)
    h, w = x.shape[2:]
    if crop_to_aspect_ratio:
        crop_h = max(min(h, int(float(w * height) / width)), 1)
        crop_w = max(min(w, int(float(h * width) / height)), 1)
        top, left = int(float(h - crop_h) / 2), int(float(w - crop_w) / 2)
        x = x[:, :, top : top + crop_h, left : left + crop_w]
    elif pad_to_aspect_ratio:
        pad_h = max(h, int(float(w * height) / width))
        pad_w = max(w, int(float(h * width) / height))
        top, left = int(float(pad_h - h) / 2), int(float(pad_w - w) / 2)
        if (pad_h, pad_w) != (h, w):
            x = F.pad(x, (left, pad_w - w - left, top, pad_h - h - top), value=float(fill_value))
    if tuple(x.shape[2:]) != (height, width):
        mode = _MODES[interpolation]
        kwargs: dict[str, Any] = {}
        if mode in ("bilinear", "bicubic"):
            kwargs = {"align_corners": False, "antialias": bool(antialias)}
        x = F.interpolate(x, size=(height, width), mode=mode, **kwargs)
    return _from_batch_cf(x, unbatched, fmt)


def _box(op: str, total: int, before: Any, after: Any, target: Any, names: tuple[str, str, str]
         ) -> tuple[int, int]:
    """Resolves two of (before, after, target) along one axis into (before, after)."""
    given = [v is not None for v in (before, after, target)]
    if sum(given) != 2:
        raise ValueError(
            f"`ops.image.{op}` expects exactly two of `{names[0]}`, `{names[1]}` and `{names[2]}`. "
            f"Received: {names[0]}={before}, {names[1]}={after}, {names[2]}={target}."
        )
    if target is None:
        return int(before), int(after)
    if before is None:
        before = total - int(target) - int(after) if op == "crop_images" else int(target) - total - int(after)
    else:
        after = total - int(target) - int(before) if op == "crop_images" else int(target) - total - int(before)
    return int(before), int(after)


def _check_non_negative(op: str, **values: int) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(
                f"`ops.image.{op}` expects `{name}` >= 0: the window crops outside the images or "
                f"is smaller than them. Received: {name}={value}. Ask for a window that fits."
            )


def crop_images(
    images: Any,
    top_cropping: int | None = None,
    left_cropping: int | None = None,
    bottom_cropping: int | None = None,
    right_cropping: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> torch.Tensor:
    """Crops images to a window, as Keras's `ops.image.crop_images`.

    Along each axis give two of the three: the rows (columns) cropped at the
    top (left), at the bottom (right), and the target height (width).

    Args:
        images: A batch `(batch, height, width, channels)` or one image.
        top_cropping: Rows removed at the top.
        left_cropping: Columns removed at the left.
        bottom_cropping: Rows removed at the bottom.
        right_cropping: Columns removed at the right.
        target_height: Height of the result.
        target_width: Width of the result.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Example:
        >>> import torch
        >>> images = torch.arange(16).reshape(4, 4, 1)
        >>> crop_images(images, 1, 1, target_height=2, target_width=2)[..., 0]
        tensor([[ 5,  6],
                [ 9, 10]])
    """
    fmt = _data_format("crop_images", data_format)
    x, unbatched = _to_batch_cf("crop_images", convert_to_tensor(images), fmt)
    h, w = x.shape[2:]
    top, bottom = _box("crop_images", h, top_cropping, bottom_cropping, target_height,
                       ("top_cropping", "bottom_cropping", "target_height"))
    left, right = _box("crop_images", w, left_cropping, right_cropping, target_width,
                       ("left_cropping", "right_cropping", "target_width"))
    _check_non_negative("crop_images", top_cropping=top, bottom_cropping=bottom,
                        left_cropping=left, right_cropping=right)
    if top + bottom >= h or left + right >= w:
        raise ValueError(
            f"`ops.image.crop_images` crops outside images of size {h}x{w}. Received: "
            f"top_cropping={top}, bottom_cropping={bottom}, left_cropping={left}, right_cropping={right}."
        )
    x = x[:, :, top : h - bottom, left : w - right]
    return _from_batch_cf(x, unbatched, fmt)


def pad_images(
    images: Any,
    top_padding: int | None = None,
    left_padding: int | None = None,
    bottom_padding: int | None = None,
    right_padding: int | None = None,
    target_height: int | None = None,
    target_width: int | None = None,
    data_format: str | None = None,
) -> torch.Tensor:
    """Pads images with zeros, as Keras's `ops.image.pad_images`.

    Along each axis give two of the three: the rows (columns) added at the top
    (left), at the bottom (right), and the target height (width).

    Args:
        images: A batch `(batch, height, width, channels)` or one image.
        top_padding: Rows added at the top.
        left_padding: Columns added at the left.
        bottom_padding: Rows added at the bottom.
        right_padding: Columns added at the right.
        target_height: Height of the result.
        target_width: Width of the result.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Example:
        >>> import torch
        >>> pad_images(torch.ones(2, 2, 1), 1, 1, target_height=3, target_width=3)[..., 0]
        tensor([[0., 0., 0.],
                [0., 1., 1.],
                [0., 1., 1.]])
    """
    fmt = _data_format("pad_images", data_format)
    x, unbatched = _to_batch_cf("pad_images", convert_to_tensor(images), fmt)
    h, w = x.shape[2:]
    top, bottom = _box("pad_images", h, top_padding, bottom_padding, target_height,
                       ("top_padding", "bottom_padding", "target_height"))
    left, right = _box("pad_images", w, left_padding, right_padding, target_width,
                       ("left_padding", "right_padding", "target_width"))
    _check_non_negative("pad_images", top_padding=top, bottom_padding=bottom,
                        left_padding=left, right_padding=right)
    x = F.pad(x, (left, right, top, bottom))
    return _from_batch_cf(x, unbatched, fmt)


def rgb_to_grayscale(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Converts RGB images to one grayscale channel (ITU-R 601 luma weights), as Keras.

    Args:
        images: A batch `(batch, height, width, 3)` or one image `(height, width, 3)`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Returns:
        Images with one channel, of the input's floating dtype (float32 for integers).
    """
    fmt = _data_format("rgb_to_grayscale", data_format)
    x, unbatched = _to_batch_cf("rgb_to_grayscale", float_tensor(images), fmt)
    if x.shape[1] != 3:
        raise ValueError(
            "`ops.image.rgb_to_grayscale` expects 3 channels (RGB). "
            f"Received: images.shape={tuple(convert_to_tensor(images).shape)}."
        )
    weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=x.dtype, device=x.device)
    y = (x * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    return _from_batch_cf(y, unbatched, fmt)


def _channels_last_rgb(op: str, images: Any, data_format: str | None) -> tuple[torch.Tensor, int]:
    fmt = _data_format(op, data_format)
    x = float_tensor(images)
    axis = -1 if fmt == "channels_last" else -3
    if x.ndim not in (3, 4) or x.shape[axis] != 3:
        raise ValueError(
            f"`ops.image.{op}` expects a 3-D image or a 4-D batch with 3 channels. "
            f"Received: images.shape={tuple(x.shape)}."
        )
    return x, axis


def rgb_to_hsv(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Converts RGB images with values in [0, 1] to HSV (hue, saturation, value in [0, 1]).

    Args:
        images: A batch `(batch, height, width, 3)` or one image `(height, width, 3)`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Example:
        >>> rgb_to_hsv(torch.tensor([[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]]]))
        tensor([[[0.0000, 1.0000, 1.0000],
                 [0.5000, 1.0000, 0.5000]]])
    """
    x, axis = _channels_last_rgb("rgb_to_hsv", images, data_format)
    r, g, b = x.unbind(axis)
    value = torch.maximum(torch.maximum(r, g), b)
    delta = value - torch.minimum(torch.minimum(r, g), b)
    safe_delta = torch.where(delta > 0, delta, torch.ones_like(delta))
    saturation = torch.where(value > 0, delta / torch.where(value > 0, value, torch.ones_like(value)),
                             torch.zeros_like(value))
    hue = torch.where(
        value == r, (g - b) / safe_delta,
        torch.where(value == g, 2.0 + (b - r) / safe_delta, 4.0 + (r - g) / safe_delta),
    )
    hue = torch.where(delta > 0, torch.remainder(hue / 6.0, 1.0), torch.zeros_like(hue))
    return torch.stack([hue, saturation, value], dim=axis)


def hsv_to_rgb(images: Any, data_format: str | None = None) -> torch.Tensor:
    """Converts HSV images (all channels in [0, 1]) to RGB.

    Args:
        images: A batch `(batch, height, width, 3)` or one image `(height, width, 3)`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Example:
        >>> hsv_to_rgb(torch.tensor([[[0.5, 1.0, 0.5]]]))
        tensor([[[0.0000, 0.5000, 0.5000]]])
    """
    x, axis = _channels_last_rgb("hsv_to_rgb", images, data_format)
    hue, saturation, value = x.unbind(axis)
    # The standard closed form: channel n takes v - v*s*clip(min(k, 4 - k), 0, 1),
    # k = (n + 6h) mod 6, for n = 5 (red), 3 (green), 1 (blue).
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = torch.remainder(n + hue * 6.0, 6.0)
        channels.append(value - value * saturation * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0))
    return torch.stack(channels, dim=axis)


def extract_patches(
    images: Any,
    size: Any,
    strides: Any = None,
    dilation_rate: Any = 1,
    padding: str = "valid",
    data_format: str | None = None,
) -> torch.Tensor:
    """Extracts patches from images, as Keras's `ops.image.extract_patches`.

    Each patch is flattened in `(patch_height, patch_width, channels)` order.

    Args:
        images: A batch `(batch, height, width, channels)` or one image.
        size: Patch size, an int or `(patch_height, patch_width)`.
        strides: Step between patches, an int or a pair. Defaults to `None`
            (the patch size: patches do not overlap).
        dilation_rate: Spacing of the pixels read within a patch. Defaults to `1`.
        padding: `"valid"` (only whole patches) or `"same"` (zero padding, as
            TensorFlow pads). Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels last).

    Returns:
        `(batch, out_height, out_width, patch_height * patch_width * channels)`
        (channels first: `(batch, patch_height * patch_width * channels, out_height, out_width)`).

    Example:
        >>> tuple(extract_patches(torch.zeros(2, 8, 8, 3), 4).shape)
        (2, 2, 2, 48)
    """
    fmt = _data_format("extract_patches", data_format)
    x, unbatched = _to_batch_cf("extract_patches", convert_to_tensor(images), fmt)

    def pair(name: str, value: Any) -> tuple[int, int]:
        value = (value, value) if isinstance(value, int) else tuple(value)
        if len(value) != 2 or any(int(v) < 1 for v in value):
            raise ValueError(
                f"`ops.image.extract_patches` expects `{name}` to be a positive int or 2 positive "
                f"ints. Received: {name}={value!r}."
            )
        return int(value[0]), int(value[1])

    kernel = pair("size", size)
    stride = pair("strides", kernel if strides is None else strides)
    dilation = pair("dilation_rate", dilation_rate)
    if padding not in ("valid", "same"):
        raise ValueError(
            "`ops.image.extract_patches` expects `padding` to be 'valid' or 'same'. "
            f"Received: padding={padding!r}."
        )
    n, c, h, w = x.shape
    if padding == "same":
        pads = []
        for length, k, s, d in ((w, kernel[1], stride[1], dilation[1]), (h, kernel[0], stride[0], dilation[0])):
            total = max((math.ceil(length / s) - 1) * s + (k - 1) * d + 1 - length, 0)
            pads += [total // 2, total - total // 2]
        x = F.pad(x, pads)
    out_h = (x.shape[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    out_w = (x.shape[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    cols = F.unfold(x, kernel, dilation=dilation, stride=stride)  # (n, c*kh*kw, L), (c, kh, kw) order
    cols = cols.view(n, c, kernel[0] * kernel[1], out_h, out_w).transpose(1, 2)
    patches = cols.reshape(n, kernel[0] * kernel[1] * c, out_h, out_w)
    if fmt == "channels_last":
        patches = patches.permute(0, 2, 3, 1)
    return patches[0] if unbatched else patches
