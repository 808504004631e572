"""Image files to arrays and back, with Pillow (`load_img`, `img_to_array`,
`array_to_img`, `save_img`). Arrays are channels-last, as in Keras."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

_COLOR_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil() -> Any:
    from PIL import Image

    return Image


def _resample(interpolation: str, owner: str) -> Any:
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"`{owner}` expects `interpolation` to be one of {', '.join(map(repr, _INTERPOLATIONS))}. "
            f"Received: interpolation={interpolation!r}."
        )
    return getattr(_pil().Resampling, interpolation.upper())


def _check_data_format(owner: str, data_format: str | None) -> str:
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"`{owner}` expects `data_format` to be 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}."
        )
    return data_format


def resize_image(img: Any, size: tuple[int, int], interpolation: str, crop_to_aspect_ratio: bool, owner: str,
                 pad_to_aspect_ratio: bool = False) -> Any:
    """Resizes a PIL image to `size=(height, width)`. With `crop_to_aspect_ratio`, first
    crops the largest centred box of the target aspect ratio; with `pad_to_aspect_ratio`,
    first pads the image (centred, with zeros) to that ratio. Either way, no distortion."""
    height, width = size
    if img.size == (width, height):
        return img
    resample = _resample(interpolation, owner)
    w, h = img.size
    if crop_to_aspect_ratio:
        crop_w = min(w, int(round(h * width / height)))
        crop_h = min(h, int(round(w * height / width)))
        left, top = (w - crop_w) // 2, (h - crop_h) // 2
        img = img.crop((left, top, left + crop_w, top + crop_h))
    elif pad_to_aspect_ratio:
        pad_w = max(w, int(round(h * width / height)))
        pad_h = max(h, int(round(w * height / width)))
        canvas = _pil().new(img.mode, (pad_w, pad_h))
        canvas.paste(img, ((pad_w - w) // 2, (pad_h - h) // 2))
        img = canvas
    return img.resize((width, height), resample)


def load_img(
    path: str | os.PathLike | Any,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Any:
    """Loads an image into a PIL Image.

    Args:
        path: Path to the image file (or a binary file object).
        color_mode: One of `"grayscale"`, `"rgb"`, `"rgba"`. Defaults to `"rgb"`.
        target_size: `(height, width)` to resize to. Defaults to `None` (the
            original size).
        interpolation: Resampling method when resizing: `"nearest"`,
            `"bilinear"`, `"bicubic"`, `"hamming"`, `"box"` or `"lanczos"`.
            Defaults to `"nearest"`.
        keep_aspect_ratio: Whether to crop the centre of the image to the target
            aspect ratio before resizing, rather than stretching it. Defaults to
            `False`.

    Returns:
        A PIL Image instance.

    Example:
        >>> image = load_img("cat.png", target_size=(64, 64))  # doctest: +SKIP
        >>> img_to_array(image).shape  # doctest: +SKIP
        (64, 64, 3)
    """
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            "`load_img` expects `color_mode` to be one of 'grayscale', 'rgb', 'rgba'. "
            f"Received: color_mode={color_mode!r}."
        )
    image_mod = _pil()
    if isinstance(path, (str, os.PathLike)):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"`load_img` found no file at {str(path)!r}. Received: path={str(path)!r}.")
        with open(path, "rb") as f:
            img = image_mod.open(f)
            img.load()
    elif hasattr(path, "read"):
        img = image_mod.open(path)
        img.load()
    else:
        raise TypeError(
            "`load_img` expects `path` to be a file path or a binary file object. "
            f"Received: path of type {type(path).__name__}."
        )
    mode = _COLOR_MODES[color_mode]
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif img.mode != mode:
        img = img.convert(mode)
    if target_size is not None:
        img = resize_image(img, tuple(target_size), interpolation, keep_aspect_ratio, "load_img")
    return img


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """Converts a PIL Image to a NumPy array of shape `(height, width, channels)`.

    Args:
        img: PIL Image instance.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (`"channels_last"`).
        dtype: Output dtype. Defaults to `None` (`"float32"`).

    Returns:
        A 3-D NumPy array (a grayscale image gets one channel).

    Example:
        >>> from PIL import Image
        >>> img_to_array(Image.new("RGB", (4, 2))).shape
        (2, 4, 3)
    """
    data_format = _check_data_format("img_to_array", data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x.reshape(x.shape + (1,))
    elif x.ndim != 3:
        raise ValueError(
            f"`img_to_array` expects a 2-D or 3-D image. Received: an image of shape {x.shape}."
        )
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    return x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: Any = None) -> Any:
    """Converts a 3-D array to a PIL Image.

    Args:
        x: Array (NumPy or torch) of shape `(height, width, channels)` with 1, 3
            or 4 channels.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (`"channels_last"`).
        scale: Whether to rescale the values to 0-255 (minimum to 0, maximum to
            255). Defaults to `True`.
        dtype: Dtype used before the conversion. Defaults to `None` (`"float32"`).

    Returns:
        A PIL Image instance: mode `"L"` (or `"I"` above 255), `"RGB"` or `"RGBA"`.

    Example:
        >>> array_to_img(np.zeros((2, 4, 3))).size
        (4, 2)
    """
    data_format = _check_data_format("array_to_img", data_format)
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(
            "`array_to_img` expects an array of rank 3 (height, width, channels). "
            f"Received: an array of shape {x.shape}."
        )
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x = x / x_max
        x = x * 255
    image_mod = _pil()
    channels = x.shape[2]
    if channels == 4:
        return image_mod.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return image_mod.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:
            return image_mod.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_mod.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(
        f"`array_to_img` expects 1, 3 or 4 channels. Received: an array of shape {x.shape} "
        f"({channels} channels)."
    )


def save_img(
    path: str | os.PathLike | Any,
    x: Any,
    data_format: str | None = None,
    file_format: str | None = None,
    scale: bool = True,
    **kwargs: Any,
) -> None:
    """Saves an image stored as a NumPy array to a path or file object.

    Args:
        path: Path or file object.
        x: Array of shape `(height, width, channels)`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (`"channels_last"`).
        file_format: Image format (e.g. `"png"`). Defaults to `None` (from the
            file name).
        scale: Whether to rescale the values to 0-255. Defaults to `True`.
        **kwargs: Passed on to `PIL.Image.save()`.

    Example:
        >>> save_img("out.png", np.zeros((8, 8, 3)))  # doctest: +SKIP
    """
    img = array_to_img(x, data_format=data_format, scale=scale)
    fmt = file_format or (os.path.splitext(str(path))[1][1:] if isinstance(path, (str, os.PathLike)) else None)
    if img.mode == "RGBA" and fmt and fmt.lower() in ("jpg", "jpeg"):
        warnings.warn("JPEG has no alpha channel: the image is saved as RGB.", stacklevel=2)
        img = img.convert("RGB")
    if fmt and fmt.lower() == "jpg":
        file_format = "jpeg"
    img.save(path, format=file_format, **kwargs)
