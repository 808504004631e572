"""Image augmentation layers: identity in inference, random per sample in
training, transforms checked against torch.flip / torch.rot90 / pooling references."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from tests.layer_test_utils import run_layer_test

ALL = [
    (layers.RandomFlip, {"seed": 1}),
    (layers.RandomRotation, {"factor": 0.2, "fill_mode": "constant", "fill_value": 0.5, "seed": 2}),
    (layers.RandomZoom, {"height_factor": (-0.4, 0.4), "width_factor": 0.3, "interpolation": "nearest", "seed": 4}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": (-0.1, 0.3), "fill_mode": "nearest"}),
    (layers.RandomContrast, {"factor": 0.4, "value_range": (0, 1), "seed": 3}),
]


def _image(n=4, h=6, w=5, c=3):
    return torch.rand(n, h, w, c, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("cls, kwargs", ALL)
def test_augmentation_contract_identity_in_inference_and_random_in_training(cls, kwargs):
    run_layer_test(cls, kwargs, (4, 6, 5, 3), (4, 6, 5, 3), run_training_step=False)
    x = _image()
    layer = cls(**kwargs)
    assert torch.equal(layer(x, training=False), x)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    out = layer(x)  # training mode, training=None
    assert out.shape == x.shape and not torch.allclose(out, x)


def test_random_crop_contract_and_shapes():
    run_layer_test(layers.RandomCrop, {"height": 3, "width": 2, "seed": 0}, (4, 6, 5, 3), (4, 3, 2, 3), run_training_step=False)
    layer = layers.RandomCrop(3, 2)
    assert tuple(layer(_image(), training=True).shape) == (4, 3, 2, 3)
    assert tuple(layer(_image()[0], training=True).shape) == (3, 2, 3)  # one image
    assert tuple(layers.RandomCrop(8, 8)(_image(), training=True).shape) == (4, 8, 8, 3)  # smaller: resized


def test_random_flip_horizontal_and_vertical_equal_torch_flip_per_sample():
    x = torch.rand(32, 4, 5, 2)
    for mode, axis in (("horizontal", 2), ("vertical", 1)):  # width / height axis of NHWC
        out = layers.RandomFlip(mode, seed=0)(x, training=True)
        flipped = (out == torch.flip(x, [axis])).flatten(1).all(1)
        kept = (out == x).flatten(1).all(1)
        assert bool((flipped | kept).all()) and 0 < int(flipped.sum()) < 32
    both = layers.RandomFlip(seed=3)(x, training=True)
    variants = [lambda s: s, lambda s: s.flip(1), lambda s: s.flip(0), lambda s: s.flip(0).flip(1)]
    matched = [next(i for i, v in enumerate(variants) if torch.equal(o, v(s))) for o, s in zip(both, x)]
    assert set(matched) == {0, 1, 2, 3}


def test_random_rotation_half_turn_equals_rot90_twice():
    x = torch.rand(3, 4, 6, 2)
    out = layers.RandomRotation((0.5, 0.5))(x, training=True)
    torch.testing.assert_close(out, torch.rot90(x, 2, dims=(1, 2)), atol=1e-5, rtol=0)


def test_random_rotation_quarter_turn_is_counter_clockwise():
    x = torch.rand(2, 5, 5, 1)
    out = layers.RandomRotation((0.25, 0.25))(x, training=True)
    # np.rot90 / torch.rot90 over (rows, cols) turn the picture counter-clockwise.
    torch.testing.assert_close(out, torch.rot90(x, 1, dims=(1, 2)), atol=1e-5, rtol=0)
    clockwise = layers.RandomRotation((-0.25, -0.25))(x, training=True)
    torch.testing.assert_close(clockwise, torch.rot90(x, -1, dims=(1, 2)), atol=1e-5, rtol=0)


def test_random_zoom_out_by_two_equals_average_pooling_in_the_centre():
    x = torch.rand(2, 8, 8, 3)
    out = layers.RandomZoom((1.0, 1.0), fill_mode="constant")(x, training=True)
    pooled = F.avg_pool2d(x.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    expected = torch.zeros_like(x)
    expected[:, 2:6, 2:6] = pooled
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)
    wide = layers.RandomZoom((0.0, 0.0), width_factor=(1.0, 1.0), fill_mode="constant")(x, training=True)
    torch.testing.assert_close(wide[:, :, 2:6], F.avg_pool2d(x.permute(0, 3, 1, 2), (1, 2)).permute(0, 2, 3, 1))


@pytest.mark.parametrize(
    "fill_mode, fill_value, first_rows",
    [("constant", 7.0, [7.0, 7.0]), ("nearest", 0.0, [0.0, 0.0]), ("reflect", 0.0, [1.0, 0.0])],
)
def test_random_translation_shifts_down_with_each_fill_mode(fill_mode, fill_value, first_rows):
    rows = torch.arange(4.0).reshape(1, 4, 1, 1).expand(1, 4, 3, 1)  # row i holds the value i
    layer = layers.RandomTranslation((0.5, 0.5), 0.0, fill_mode=fill_mode, fill_value=fill_value)
    out = layer(rows, training=True)[0, :, 0, 0].tolist()
    assert out == pytest.approx(first_rows + [0.0, 1.0])
    left = layers.RandomTranslation(0.0, (-1 / 3, -1 / 3), fill_mode="constant")
    cols = torch.arange(3.0).reshape(1, 1, 3, 1)
    assert left(cols, training=True).flatten().tolist() == pytest.approx([1.0, 2.0, 0.0])


def test_random_contrast_scales_deviation_from_channel_mean():
    x = 100 + 50 * torch.rand(6, 4, 4, 3)
    out = layers.RandomContrast(0.5, seed=0)(x, training=True)
    mean = x.mean(dim=(1, 2), keepdim=True)
    ratio = (out - mean) / (x - mean)
    per_image = ratio.reshape(6, -1)
    torch.testing.assert_close(per_image, per_image[:, :1].expand_as(per_image), atol=1e-3, rtol=1e-3)
    factors = per_image[:, 0]
    assert bool(((factors >= 0.5) & (factors <= 1.5)).all()) and len(set(factors.round(decimals=4).tolist())) > 1
    clipped = layers.RandomContrast((0.0, 1.0), value_range=(0, 1))(torch.rand(8, 4, 4, 1), training=True)
    assert float(clipped.min()) >= 0.0 and float(clipped.max()) <= 1.0


def test_random_crop_windows_are_per_sample_and_center_crop_in_inference():
    x = torch.arange(6 * 8, dtype=torch.float32).reshape(1, 6, 8, 1).repeat(16, 1, 1, 1)
    out = layers.RandomCrop(3, 4, seed=0)(x, training=True)
    offsets = set()
    for sample in out:
        top, left = int(sample[0, 0, 0]) // 8, int(sample[0, 0, 0]) % 8
        assert torch.equal(sample, x[0, top : top + 3, left : left + 4])
        offsets.add((top, left))
    assert len(offsets) > 1
    # Inference: the largest centred window with the target aspect ratio, resized.
    center = layers.RandomCrop(4, 4)(x[:2], training=False)
    window = x[:2, :, 1:7].permute(0, 3, 1, 2)
    expected = F.interpolate(window, size=(4, 4), mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
    torch.testing.assert_close(center, expected)
    exact = layers.RandomCrop(2, 4)(x[:, 2:4, 2:6], training=False)
    assert torch.equal(exact, x[:, 2:4, 2:6])
    # Same-ratio target smaller than the image: a centre crop of that size after the resize.
    half = layers.RandomCrop(3, 4)(x[:1], training=False)
    ref = F.interpolate(x[:1].permute(0, 3, 1, 2), size=(3, 4), mode="bilinear", align_corners=False)
    torch.testing.assert_close(half, ref.permute(0, 2, 3, 1))


def test_augmentation_seeds_are_repeatable_and_global_rng_follows_set_seed():
    x = _image()
    a = layers.RandomRotation(0.3, seed=5)(x, training=True)
    b = layers.RandomRotation(0.3, seed=5)(x, training=True)
    c = layers.RandomRotation(0.3, seed=6)(x, training=True)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    layer = layers.RandomRotation(0.3, seed=5)
    assert not torch.equal(layer(x, training=True), layer(x, training=True))  # the stream advances
    lamina.set_seed(11)
    d = layers.RandomZoom(0.3)(x, training=True)
    lamina.set_seed(11)
    e = layers.RandomZoom(0.3)(x, training=True)
    assert torch.equal(d, e)


def test_augmentation_in_a_model_trains_and_predicts_deterministically():
    model = lamina.Sequential([
        lamina.Input(shape=(8, 8, 1)),
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.1, 0.1),
        layers.Flatten(),
        layers.Dense(2),
    ])
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype(np.float32)
    y = np.arange(16) % 2
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.RandomFlip(mode="diagonal"), "`RandomFlip` expects `mode` to be one of"),
        (lambda: layers.RandomRotation(1.5), r"expects `factor` values \[-1.0, 1.0\]. Received: factor=1.5"),
        (lambda: layers.RandomRotation((0.3, 0.1)), "lower <= upper. Received: factor=\\(0.3, 0.1\\)"),
        (lambda: layers.RandomRotation("big"), "`factor` to be a number or a tuple of two numbers"),
        (lambda: layers.RandomRotation(0.1, fill_mode="wrap"), "`fill_mode` to be one of 'reflect', 'constant', 'nearest'"),
        (lambda: layers.RandomZoom((-1.0, 0.2)), "factors > -1"),
        (lambda: layers.RandomTranslation(2.0, 0.1), r"`height_factor` values \[-1.0, 1.0\]"),
        (lambda: layers.RandomContrast(-0.1), "`factor` values >= 0"),
        (lambda: layers.RandomContrast(0.1, value_range=(1, 0)), "`value_range` to be a pair"),
        (lambda: layers.RandomCrop(0, 3), "`height` to be a positive integer"),
        (lambda: layers.RandomFlip(seed=1.5), "`seed` to be an integer or None"),
    ],
)
def test_augmentation_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_augmentation_rejects_non_image_input():
    with pytest.raises(ValueError, match=r"expects images of shape \(batch, height, width, channels\)"):
        layers.RandomFlip()(torch.ones(2, 3), training=True)
