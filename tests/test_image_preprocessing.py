"""Resizing and CenterCrop: contract, Keras's values (half-pixel resize), parity
with torch.nn.functional.interpolate, errors."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers.preprocessing import image_preprocessing

L = lamina.layers


def _grid(h: int, w: int) -> torch.Tensor:
    return torch.arange(float(h * w)).reshape(1, h, w, 1)


def _numpy_bilinear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """TensorFlow's `resize(..., antialias=False)` bilinear with half-pixel centres,
    written from its definition (one channel, `(h, w)`)."""
    h, w = img.shape

    def coords(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.maximum((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0.0)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, in_size - 1)
        return lo, hi, src - lo

    y0, y1, fy = coords(out_h, h)
    x0, x1, fx = coords(out_w, w)
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy[:, None]) + bottom * fy[:, None]


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, expected",
    [
        (L.Resizing, {"height": 4, "width": 6}, (2, 8, 8, 3), (2, 4, 6, 3)),
        (L.Resizing, {"height": 5, "width": 5, "interpolation": "nearest", "crop_to_aspect_ratio": True},
         (2, 8, 6, 3), (2, 5, 5, 3)),
        (L.Resizing, {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 1.0},
         (2, 3, 6, 2), (2, 4, 4, 2)),
        (L.Resizing, {"height": 4, "width": 6, "data_format": "channels_first"}, (2, 3, 8, 8), (2, 3, 4, 6)),
        (L.CenterCrop, {"height": 3, "width": 4}, (2, 7, 8, 3), (2, 3, 4, 3)),
        (L.CenterCrop, {"height": 6, "width": 6}, (2, 4, 5, 3), (2, 6, 6, 3)),
    ],
)
def test_image_preprocessing_contract(cls, kwargs, input_shape, expected):
    run_layer_test(cls, kwargs, input_shape, expected, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0)


# ---------------------------------------------------------------------------- Resizing


def test_resizing_bilinear_has_keras_values():
    # tf.image.resize / keras.ops.image.resize of a 4x4 ramp to 2x2 (no antialiasing):
    # each output is the mean of a 2x2 block.
    out = L.Resizing(2, 2)(_grid(4, 4))[0, ..., 0]
    torch.testing.assert_close(out, torch.tensor([[2.5, 4.5], [10.5, 12.5]]))


@pytest.mark.parametrize("size", [(3, 5), (7, 9), (2, 8)])
def test_resizing_bilinear_matches_numpy_half_pixel_definition(size):
    img = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    out = L.Resizing(*size)(torch.from_numpy(img)[None, ..., None])[0, ..., 0]
    np.testing.assert_allclose(out.numpy(), _numpy_bilinear(img, *size), rtol=1e-5, atol=1e-5)


def test_resizing_matches_f_interpolate_per_mode():
    x = torch.randn(2, 5, 7, 3)
    nchw = x.permute(0, 3, 1, 2)
    for interpolation, kwargs in (
        ("bilinear", {"mode": "bilinear", "align_corners": False}),
        ("bicubic", {"mode": "bicubic", "align_corners": False}),
        ("nearest", {"mode": "nearest-exact"}),
    ):
        out = L.Resizing(9, 4, interpolation=interpolation)(x)
        torch.testing.assert_close(out, F.interpolate(nchw, size=(9, 4), **kwargs).permute(0, 2, 3, 1))


def test_resizing_nearest_uses_half_pixel_centres():
    # TF/Keras nearest picks floor((i + 0.5) * scale): rows/cols 1 and 3 of a 4x4 image.
    out = L.Resizing(2, 2, interpolation="nearest")(_grid(4, 4))[0, ..., 0]
    torch.testing.assert_close(out, torch.tensor([[5.0, 7.0], [13.0, 15.0]]))


def test_resizing_crop_to_aspect_ratio_crops_the_centre_first():
    x = _grid(4, 6)
    out = L.Resizing(2, 2, crop_to_aspect_ratio=True)(x)
    expected = L.Resizing(2, 2)(x[:, :, 1:5])  # the centred 4x4 window
    torch.testing.assert_close(out, expected)


def test_resizing_pad_to_aspect_ratio_pads_the_short_side():
    x = torch.ones(1, 2, 4, 1)
    out = L.Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=-1.0)(x)[0, ..., 0]
    expected = torch.tensor([[-1.0] * 4, [1.0] * 4, [1.0] * 4, [-1.0] * 4])
    torch.testing.assert_close(out, expected)


def test_resizing_integer_images_keep_their_dtype_rounded_and_saturated():
    x = torch.tensor([[0, 255], [255, 0]], dtype=torch.uint8).reshape(1, 2, 2, 1)
    out = L.Resizing(3, 3)(x)
    assert out.dtype == torch.uint8
    ref = F.interpolate(x.permute(0, 3, 1, 2).float(), size=(3, 3), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, ref.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1))


def test_resizing_unbatched_image_and_numpy_input():
    img = np.random.rand(6, 8, 3).astype("float32")
    out = L.Resizing(3, 4)(img)
    assert tuple(out.shape) == (3, 4, 3)
    torch.testing.assert_close(out, L.Resizing(3, 4)(torch.from_numpy(img)[None])[0])


def test_resizing_symbolic_free_spatial_axes():
    out = L.Resizing(32, 32)(lamina.Input(shape=(None, None, 3)))
    assert out.shape == (None, 32, 32, 3)


def test_resizing_in_a_model_predicts():
    model = lamina.Sequential([lamina.Input(shape=(10, 12, 3)), L.Resizing(5, 6), L.Flatten(), L.Dense(2)])
    assert model.predict(np.random.rand(4, 10, 12, 3).astype("float32"), verbose=0).shape == (4, 2)


# ---------------------------------------------------------------------------- CenterCrop


def test_center_crop_takes_the_central_window():
    x = _grid(5, 6)
    out = L.CenterCrop(2, 3)(x)
    # Keras: start at int((5 - 2) / 2) = 1 and int((6 - 3) / 2) = 1.
    torch.testing.assert_close(out, x[:, 1:3, 1:4])
    cf = L.CenterCrop(2, 3, data_format="channels_first")(x.permute(0, 3, 1, 2))
    torch.testing.assert_close(cf, out.permute(0, 3, 1, 2))


def test_center_crop_smaller_image_is_resized_as_keras_smart_resize():
    x = _grid(4, 6)
    out = L.CenterCrop(8, 8)(x)
    # Largest centred window with aspect 1: rows 0..3, columns 1..4; then bilinear.
    expected = F.interpolate(x[:, :, 1:5].permute(0, 3, 1, 2), size=(8, 8), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, expected.permute(0, 2, 3, 1))


def test_center_crop_integer_images_become_float_as_keras():
    out = L.CenterCrop(1, 1)(torch.full((1, 3, 3, 1), 7, dtype=torch.uint8))
    assert out.dtype == torch.float32 and out.item() == 7.0


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L.Resizing(0, 4), r"`Resizing` expects `height` to be a positive integer. Received: height=0"),
        (lambda: L.Resizing(4, 4, interpolation="area"), r"`Resizing` expects `interpolation` to be one of"),
        (lambda: L.Resizing(4, 4, interpolation="cubic"), r"Received: interpolation='cubic'"),
        (lambda: L.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
         r"at most one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`"),
        (lambda: L.Resizing(4, 4, fill_mode="reflect"), r"`Resizing` expects `fill_mode` to be one of 'constant'"),
        (lambda: L.Resizing(4, 4, fill_value="black"), r"`Resizing` expects `fill_value` to be a number"),
        (lambda: L.CenterCrop(4, -1), r"`CenterCrop` expects `width` to be a positive integer"),
        (lambda: L.CenterCrop(4, 4, data_format="NHWC"), r"`CenterCrop` expects `data_format`"),
    ],
)
def test_image_preprocessing_argument_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_image_preprocessing_wrong_rank_is_explained():
    with pytest.raises(ValueError, match=r"expects images shaped \(batch, height, width, channels\).*\(4, 5\)"):
        L.Resizing(2, 2)(torch.randn(4, 5))


def test_docstring_examples_run():
    result = doctest.testmod(image_preprocessing, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
