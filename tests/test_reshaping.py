"""Reshaping layers added for issue 4: Permute, RepeatVector, UpSampling, ZeroPadding, Cropping."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import reshaping

L = lamina.layers


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, expected",
    [
        (L.Permute, {"dims": (2, 1)}, (2, 5, 3), (2, 3, 5)),
        (L.Permute, {"dims": [3, 1, 2]}, (2, 4, 5, 3), (2, 3, 4, 5)),
        (L.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4)),
        (L.UpSampling1D, {"size": 3}, (2, 4, 5), (2, 12, 5)),
        (L.UpSampling2D, {}, (2, 3, 4, 5), (2, 6, 8, 5)),
        (L.UpSampling2D, {"size": (1, 3), "interpolation": "bilinear"}, (2, 3, 4, 5), (2, 3, 12, 5)),
        (L.UpSampling2D, {"size": 2, "data_format": "channels_first"}, (2, 5, 3, 4), (2, 5, 6, 8)),
        (L.ZeroPadding1D, {"padding": (1, 2)}, (2, 4, 5), (2, 7, 5)),
        (L.ZeroPadding2D, {}, (2, 3, 4, 5), (2, 5, 6, 5)),
        (L.ZeroPadding2D, {"padding": ((1, 0), (2, 3)), "data_format": "channels_first"}, (2, 5, 3, 4), (2, 5, 4, 9)),
        (L.Cropping1D, {}, (2, 6, 5), (2, 4, 5)),
        (L.Cropping2D, {"cropping": ((1, 2), (0, 1))}, (2, 6, 7, 3), (2, 3, 6, 3)),
        (L.Cropping2D, {"cropping": 1, "data_format": "channels_first"}, (2, 3, 6, 7), (2, 3, 4, 5)),
    ],
)
def test_reshaping_contract(cls, kwargs, input_shape, expected):
    run_layer_test(cls, kwargs, input_shape, expected, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0)


def test_permute_matches_torch_permute():
    x = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(L.Permute((3, 1, 2))(x), x.permute(0, 3, 1, 2))


def test_repeat_vector_repeats_each_sample():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = L.RepeatVector(3)(x)
    torch.testing.assert_close(out, torch.stack([x, x, x], dim=1))
    out[0, 0, 0] = 9.0  # a real copy, safe for in-place ops downstream
    assert x[0, 0] == 1.0


def test_upsampling_nearest_repeats_rows_and_columns():
    x = torch.randn(2, 3, 4, 5)
    out = L.UpSampling2D((2, 3))(x)
    expected = x.repeat_interleave(2, dim=1).repeat_interleave(3, dim=2)
    torch.testing.assert_close(out, expected)
    s = torch.randn(2, 4, 5)
    torch.testing.assert_close(L.UpSampling1D(2)(s), s.repeat_interleave(2, dim=1))


def test_upsampling_bilinear_uses_half_pixel_centres_like_tensorflow():
    # TF's resize(bilinear) of [0, 1] to 4 values: [0, 0.25, 0.75, 1].
    x = torch.tensor([0.0, 1.0]).reshape(1, 1, 2, 1)
    out = L.UpSampling2D((1, 2), interpolation="bilinear")(x)
    torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 0.25, 0.75, 1.0]))
    y = torch.randn(2, 3, 4, 5)
    expected = F.interpolate(y.permute(0, 3, 1, 2), scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(L.UpSampling2D(2, interpolation="bilinear")(y), expected.permute(0, 2, 3, 1))


def test_zero_padding_matches_f_pad():
    x = torch.randn(2, 3, 4, 5)
    out = L.ZeroPadding2D(((1, 2), (3, 0)))(x)
    torch.testing.assert_close(out, F.pad(x, (0, 0, 3, 0, 1, 2)))
    torch.testing.assert_close(L.ZeroPadding2D(1)(x), F.pad(x, (0, 0, 1, 1, 1, 1)))
    torch.testing.assert_close(L.ZeroPadding2D((2, 1))(x), F.pad(x, (0, 0, 1, 1, 2, 2)))
    s = torch.randn(2, 4, 5)
    torch.testing.assert_close(L.ZeroPadding1D(2)(s), F.pad(s, (0, 0, 2, 2)))


def test_cropping_slices_the_borders():
    x = torch.randn(2, 6, 7, 3)
    torch.testing.assert_close(L.Cropping2D(((1, 2), (3, 0)))(x), x[:, 1:4, 3:7])
    torch.testing.assert_close(L.Cropping2D((1, 2))(x), x[:, 1:5, 2:5])
    s = torch.randn(2, 6, 3)
    torch.testing.assert_close(L.Cropping1D((2, 1))(s), s[:, 2:5])


def test_spatial_layers_keep_free_axes_symbolic():
    inp = lamina.Input(shape=(None, 8, 3))
    assert L.Cropping2D(((2, 2), (3, 3)))(inp).shape == (None, None, 2, 3)
    assert L.ZeroPadding2D(1)(inp).shape == (None, None, 10, 3)
    assert L.UpSampling2D(2)(inp).shape == (None, None, 16, 3)


def test_reshaping_and_regularization_layers_survive_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = lamina.Sequential([
        lamina.Input(shape=(6, 6, 2)),
        L.ZeroPadding2D(((1, 0), (0, 2))),
        L.Cropping2D(1),
        L.UpSampling2D((2, 1), interpolation="bilinear"),
        L.SpatialDropout2D(0.2),
        L.Permute((3, 1, 2)),
        L.Reshape((2, -1)),
        L.Cropping1D((0, 1)),
        L.ZeroPadding1D(1),
        L.UpSampling1D(2),
        L.GaussianNoise(0.1),
        L.ActivityRegularization(l2=0.01),
        L.Flatten(),
        L.RepeatVector(2),
    ])
    model.eval()
    x = torch.randn(3, 6, 6, 2)
    path = tmp_path / "reshape.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    loaded.eval()
    torch.testing.assert_close(loaded(x), model(x))


def test_reshaping_argument_errors():
    with pytest.raises(ValueError, match=r"`Permute` expects `dims` to be a permutation of 1 \.\. n.*"
                       r"Received: dims=\(0, 1\)"):
        L.Permute((0, 1))
    with pytest.raises(ValueError, match=r"`RepeatVector` expects `n` to be a positive integer\. Received: n=0"):
        L.RepeatVector(0)
    with pytest.raises(ValueError, match=r"`UpSampling2D` expects `interpolation` to be one of 'nearest', "
                       r"'bilinear'\. Received: interpolation='bicubic'"):
        L.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match=r"`ZeroPadding2D` expects `padding` to be .*Received: padding=\(1, 2, 3\)"):
        L.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match=r"`Cropping1D` expects `cropping` to be an integer >= 0 or a tuple "
                       r"\(before, after\).*Received: cropping=-1"):
        L.Cropping1D(-1)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\): data_format"):
        L.UpSampling1D(2, data_format="channels_first")


def test_reshaping_input_errors():
    with pytest.raises(ValueError, match=r"Layer 'p' \(Permute\) with dims=\(2, 1\) expects inputs of rank 3\. "
                       r"Received input with shape \(None, 4\)"):
        L.Permute((2, 1), name="p")(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"\(RepeatVector\) expects inputs of rank 2.*\(None, 3, 4\)"):
        L.RepeatVector(2)(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"\(UpSampling2D\) expects inputs of rank 4, shaped "
                       r"\(batch, height, width, channels\)"):
        L.UpSampling2D()(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"\(Cropping2D\) cannot crop 6 values .*from an axis of size 5"):
        L.Cropping2D(((3, 3), (0, 0)))(torch.randn(1, 5, 5, 1))


def test_docstring_examples_run():
    result = doctest.testmod(reshaping)
    assert result.failed == 0 and result.attempted > 0
