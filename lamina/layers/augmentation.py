"""Image augmentation layers: random in training, the identity in inference.

Images are channels-last, `(batch, height, width, channels)` (or one image
`(height, width, channels)`). Every layer draws its random parameters per
sample, in one tensor op over the batch (no Python loop over samples). Geometric
transforms build one affine matrix per sample and resample with
`torch.nn.functional.affine_grid` / `grid_sample` (pixel-centre convention,
`align_corners=False`), so rotation, zoom and translation are about the image
centre exactly as Keras's pixel transforms.

A layer is random when called with `training=True`, or with `training=None`
while the module is in training mode (`model.fit`); `evaluate`, `predict` and
`model.eval()` give the input back unchanged (`RandomCrop` center-crops then).
With `seed=`, a layer draws from its own `torch.Generator` (repeatable);
without, from the global RNG (`lamina.set_seed`).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers.layer import Layer
from lamina.layers.preprocessing.base import check_factor_pair, json_value
from lamina.utils import validation

_PADDING = {"reflect": "reflection", "constant": "zeros", "nearest": "border"}
_INTERPOLATION = ("bilinear", "nearest")


class BaseImageAugmentation(Layer):
    """Shared by the augmentation layers: the training switch, the per-sample
    random draws (a seeded `torch.Generator` or the global RNG) and the
    channels-last batch handling."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(
                f"`{type(self).__name__}` expects `seed` to be an integer or None. Received: seed={seed!r}."
            )
        self.seed = seed
        self._generator: torch.Generator | None = None

    def _uniform(self, shape: tuple[int, ...], low: float, high: float, device: torch.device) -> torch.Tensor:
        """Uniform samples in [low, high), float32, on ``device``."""
        if self.seed is None:
            u = torch.rand(shape, device=device)
        else:
            if self._generator is None:
                self._generator = torch.Generator().manual_seed(int(self.seed))
            u = torch.rand(shape, generator=self._generator).to(device, non_blocking=True)
        return low + (high - low) * u

    def _images(self, inputs: Any) -> tuple[torch.Tensor, bool]:
        """The inputs as a 4-D batch, and whether a single 3-D image was given."""
        if not isinstance(inputs, torch.Tensor):
            inputs = torch.as_tensor(inputs)
        if inputs.ndim == 3:
            return inputs.unsqueeze(0), True
        if inputs.ndim != 4:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects images of shape (batch, height, "
                f"width, channels) or (height, width, channels). Received: input with shape "
                f"{tuple(inputs.shape)}."
            )
        return inputs, False

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if training is None:
            training = self.training
        images, single = self._images(inputs)
        out = self.augment(images) if training else self.infer(images)
        return out[0] if single else out

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """The random transform of a `(batch, height, width, channels)` batch."""
        raise NotImplementedError

    def infer(self, images: torch.Tensor) -> torch.Tensor:
        """The inference transform (the identity by default)."""
        return images

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["seed"] = self.seed
        return config


def _float(images: torch.Tensor) -> torch.Tensor:
    return images if images.is_floating_point() else images.to(torch.float32)


def affine_transform(
    images: torch.Tensor,
    theta: torch.Tensor,
    interpolation: str = "bilinear",
    fill_mode: str = "reflect",
    fill_value: float = 0.0,
) -> torch.Tensor:
    """Resamples channels-last ``images`` with per-sample affine maps ``theta``.

    ``theta`` is `(batch, 2, 3)` in `affine_grid`'s normalised coordinates: it
    maps each output location to the input location it reads from. Outside the
    image, `"reflect"` mirrors about the edge, `"nearest"` repeats the edge
    pixel and `"constant"` uses ``fill_value``.
    """
    x = _float(images).permute(0, 3, 1, 2)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode=interpolation, padding_mode=_PADDING[fill_mode], align_corners=False)
    if fill_mode == "constant" and fill_value != 0:
        inside = F.grid_sample(
            torch.ones_like(x[:, :1]), grid, mode=interpolation, padding_mode="zeros", align_corners=False
        )
        out = out + (1 - inside) * fill_value
    return out.permute(0, 2, 3, 1)


class _AffineAugmentation(BaseImageAugmentation):
    """Shared arguments of the layers that resample the image."""

    def __init__(
        self,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        owner = type(self).__name__
        self.fill_mode = validation.one_of(owner, "fill_mode", fill_mode, tuple(_PADDING))
        self.interpolation = validation.one_of(owner, "interpolation", interpolation, _INTERPOLATION)
        self.fill_value = validation.number(owner, "fill_value", fill_value)

    def _resample(self, images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        return affine_transform(images, theta, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(fill_mode=self.fill_mode, interpolation=self.interpolation, fill_value=self.fill_value)
        return config


def _bounds(owner: str, name: str, value: Any, low: float | None, high: float | None) -> tuple[float, float]:
    lower, upper = check_factor_pair(owner, name, value)
    if upper < lower:
        raise ValueError(
            f"`{owner}` expects `{name}` to have lower <= upper. Received: {name}={value!r}. "
            "Pass (lower, upper), or a single number f for (-f, f)."
        )
    if (low is not None and lower < low) or (high is not None and upper > high):
        span = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"`{owner}` expects `{name}` values {span}. Received: {name}={value!r}.")
    return lower, upper


class RandomFlip(BaseImageAugmentation):
    """Flips each image horizontally and/or vertically with probability 1/2.

    Args:
        mode: `"horizontal"` (left-right), `"vertical"` (up-down) or
            `"horizontal_and_vertical"` (each independently). Defaults to
            `"horizontal_and_vertical"`.
        seed: Optional integer for a repeatable sequence of flips.

    Input and output shape: `(batch, height, width, channels)` (or one image).

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.RandomFlip("horizontal", seed=0)
        >>> layer(torch.ones(2, 4, 4, 3), training=True).shape
        torch.Size([2, 4, 4, 3])
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.mode = validation.one_of(
            "RandomFlip", "mode", mode, ("horizontal_and_vertical", "horizontal", "vertical")
        )

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        out = images
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = self._uniform((n, 1, 1, 1), 0.0, 1.0, images.device) < 0.5
            out = torch.where(flip, out.flip(2), out)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = self._uniform((n, 1, 1, 1), 0.0, 1.0, images.device) < 0.5
            out = torch.where(flip, out.flip(1), out)
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mode"] = self.mode
        return config


class RandomRotation(_AffineAugmentation):
    """Rotates each image by a random angle about its centre.

    Args:
        factor: A fraction of a full turn (2π): a number `f` draws angles in
            `[-f * 2π, f * 2π]`; a pair `(lower, upper)` in `[lower * 2π, upper * 2π]`.
            Positive angles rotate counter-clockwise. Values must lie in [-1, 1].
        fill_mode: Points outside the image: `"reflect"`, `"constant"` or `"nearest"`.
            Defaults to `"reflect"`.
        interpolation: `"bilinear"` or `"nearest"`. Defaults to `"bilinear"`.
        seed: Optional integer for repeatable angles.
        fill_value: The value of `"constant"` filling. Defaults to `0.0`.

    Input and output shape: `(batch, height, width, channels)` (or one image); float.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.RandomRotation((0.5, 0.5))  # always 180 degrees
        >>> x = torch.arange(4.0).reshape(1, 2, 2, 1)
        >>> layer(x, training=True)[0, :, :, 0].round().tolist()
        [[3.0, 2.0], [1.0, 0.0]]
    """

    def __init__(
        self,
        factor: Any,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self._lower, self._upper = _bounds("RandomRotation", "factor", factor, -1.0, 1.0)
        self.factor = factor

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        n, h, w = images.shape[:3]
        angle = self._uniform((n,), self._lower * 2 * math.pi, self._upper * 2 * math.pi, images.device)
        cos, sin = torch.cos(angle), torch.sin(angle)
        zero = torch.zeros_like(cos)
        # Rotation about the centre in pixel units, written in normalised coordinates.
        theta = torch.stack(
            [torch.stack([cos, -sin * h / w, zero], -1), torch.stack([sin * w / h, cos, zero], -1)], 1
        )
        return self._resample(images, theta)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["factor"] = json_value(self.factor)
        return config


class RandomZoom(_AffineAugmentation):
    """Zooms each image in or out by a random factor about its centre.

    Args:
        height_factor: A number `f` for a vertical zoom in `[-f, f]`, or a pair
            `(lower, upper)`; the image is resampled with scale `1 + zoom`, so a
            positive value zooms out and a negative one zooms in. Values must be > -1.
        width_factor: The same for the horizontal axis. Defaults to `None`: the same
            zoom as the height (the aspect ratio is kept).
        fill_mode: `"reflect"`, `"constant"` or `"nearest"`. Defaults to `"reflect"`.
        interpolation: `"bilinear"` or `"nearest"`. Defaults to `"bilinear"`.
        seed: Optional integer for repeatable zooms.
        fill_value: The value of `"constant"` filling. Defaults to `0.0`.

    Input and output shape: `(batch, height, width, channels)` (or one image); float.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.RandomZoom(0.2, seed=1)(torch.ones(2, 8, 8, 3), training=True).shape
        torch.Size([2, 8, 8, 3])
    """

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self._height = _bounds("RandomZoom", "height_factor", height_factor, None, None)
        self._width = None if width_factor is None else _bounds("RandomZoom", "width_factor", width_factor, None, None)
        if self._height[0] <= -1.0 or (self._width is not None and self._width[0] <= -1.0):
            raise ValueError(
                "`RandomZoom` expects factors > -1 (a zoom of 1 + factor must stay positive). "
                f"Received: height_factor={height_factor!r}, width_factor={width_factor!r}."
            )
        self.height_factor = height_factor
        self.width_factor = width_factor

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        zy = 1.0 + self._uniform((n,), *self._height, images.device)
        zx = zy if self._width is None else 1.0 + self._uniform((n,), *self._width, images.device)
        zero = torch.zeros_like(zy)
        theta = torch.stack([torch.stack([zx, zero, zero], -1), torch.stack([zero, zy, zero], -1)], 1)
        return self._resample(images, theta)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(height_factor=json_value(self.height_factor), width_factor=json_value(self.width_factor))
        return config


class RandomTranslation(_AffineAugmentation):
    """Shifts each image by a random fraction of its height and width.

    Args:
        height_factor: A number `f` for a vertical shift in `[-f, f]` times the
            height, or a pair `(lower, upper)`; positive shifts move the image down.
            Values must lie in [-1, 1].
        width_factor: The same for the width; positive shifts move it right.
        fill_mode: `"reflect"`, `"constant"` or `"nearest"`. Defaults to `"reflect"`.
        interpolation: `"bilinear"` or `"nearest"`. Defaults to `"bilinear"`.
        seed: Optional integer for repeatable shifts.
        fill_value: The value of `"constant"` filling. Defaults to `0.0`.

    Input and output shape: `(batch, height, width, channels)` (or one image); float.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.RandomTranslation((0.5, 0.5), 0.0, fill_mode="constant")
        >>> layer(torch.ones(1, 2, 1, 1), training=True).flatten().tolist()
        [0.0, 1.0]
    """

    def __init__(
        self,
        height_factor: Any,
        width_factor: Any,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self._height = _bounds("RandomTranslation", "height_factor", height_factor, -1.0, 1.0)
        self._width = _bounds("RandomTranslation", "width_factor", width_factor, -1.0, 1.0)
        self.height_factor = height_factor
        self.width_factor = width_factor

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        dy = self._uniform((n,), *self._height, images.device)
        dx = self._uniform((n,), *self._width, images.device)
        one, zero = torch.ones_like(dy), torch.zeros_like(dy)
        # A shift of d * size pixels is 2 * d in normalised coordinates; the output at
        # p reads the input at p - shift.
        theta = torch.stack([torch.stack([one, zero, -2 * dx], -1), torch.stack([zero, one, -2 * dy], -1)], 1)
        return self._resample(images, theta)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(height_factor=json_value(self.height_factor), width_factor=json_value(self.width_factor))
        return config


class RandomContrast(BaseImageAugmentation):
    """Scales each image's deviation from its per-channel mean by a random factor.

    `output = clip((x - mean) * c + mean, *value_range)` with `c` drawn per image
    in `[1 - lower, 1 + upper]` and `mean` the image's mean per channel.

    Args:
        factor: A number `f` in [0, 1] (`lower = upper = f`), or a pair `(lower, upper)`
            with `0 <= lower <= 1` and `upper >= 0`.
        value_range: The range the outputs are clipped to. Defaults to `(0, 255)`.
        seed: Optional integer for repeatable factors.

    Input and output shape: `(batch, height, width, channels)` (or one image); float.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.RandomContrast(0.5, seed=0)
        >>> layer(torch.rand(2, 4, 4, 3) * 255, training=True).shape
        torch.Size([2, 4, 4, 3])
    """

    def __init__(
        self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            lower = upper = float(factor)
        else:
            lower, upper = check_factor_pair("RandomContrast", "factor", factor)
        if lower < 0 or upper < 0 or lower > 1:
            raise ValueError(
                "`RandomContrast` expects `factor` values >= 0 (and a lower bound <= 1). "
                f"Received: factor={factor!r}."
            )
        if not (
            isinstance(value_range, (tuple, list))
            and len(value_range) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value_range)
            and value_range[0] < value_range[1]
        ):
            raise ValueError(
                "`RandomContrast` expects `value_range` to be a pair (low, high) with low < high. "
                f"Received: value_range={value_range!r}."
            )
        self._lower, self._upper = lower, upper
        self._range = (float(value_range[0]), float(value_range[1]))
        self.factor = factor
        self.value_range = value_range

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        x = _float(images)
        c = self._uniform((x.shape[0], 1, 1, 1), 1.0 - self._lower, 1.0 + self._upper, x.device).to(x.dtype)
        mean = x.mean(dim=(1, 2), keepdim=True)
        return ((x - mean) * c + mean).clamp(*self._range)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(factor=json_value(self.factor), value_range=json_value(self.value_range))
        return config


class RandomCrop(BaseImageAugmentation):
    """Crops each image to `(height, width)` at a random position in training.

    Each image gets its own position (Keras crops a whole batch at one position).

    In inference (and in training when an image is smaller than the target), it
    does what Keras does: takes the largest centred window with the target's
    aspect ratio and resizes it to `(height, width)` (bilinear, no antialiasing).
    For an image larger than the target with the same aspect ratio this is a
    resize of the whole image; a target with a different aspect ratio crops the
    centre first.

    Args:
        height: Target height.
        width: Target width.
        seed: Optional integer for repeatable crops.

    Input shape: `(batch, H, W, channels)` (or one image). Output shape:
    `(batch, height, width, channels)`.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.RandomCrop(3, 3, seed=0)(torch.ones(2, 5, 6, 1), training=True).shape
        torch.Size([2, 3, 3, 1])
    """

    def __init__(self, height: int, width: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.height = validation.positive_int("RandomCrop", "height", height)
        self.width = validation.positive_int("RandomCrop", "width", width)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        n, h, w = images.shape[:3]
        if h < self.height or w < self.width:
            return self.infer(images)
        dev = images.device
        top = (self._uniform((n,), 0.0, 1.0, dev) * (h - self.height + 1)).long().clamp(max=h - self.height)
        left = (self._uniform((n,), 0.0, 1.0, dev) * (w - self.width + 1)).long().clamp(max=w - self.width)
        rows = top[:, None, None] + torch.arange(self.height, device=dev)[None, :, None]
        cols = left[:, None, None] + torch.arange(self.width, device=dev)[None, None, :]
        return images[torch.arange(n, device=dev)[:, None, None], rows, cols]

    def infer(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[1:3]
        if (h, w) == (self.height, self.width):
            return images
        # The largest centred window with the target aspect ratio, then a resize.
        crop_h = min(h, int(w * self.height / self.width))
        crop_w = min(w, int(h * self.width / self.height))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        window = _float(images[:, top : top + crop_h, left : left + crop_w]).permute(0, 3, 1, 2)
        out = F.interpolate(window, size=(self.height, self.width), mode="bilinear", align_corners=False)
        return out.permute(0, 2, 3, 1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(height=self.height, width=self.width)
        return config
