"""Pooling layers: contract tests, parity with torch.nn.functional (TF "same" semantics), errors."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import pooling

L = lamina.layers


def _nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, expected",
    [
        (L.MaxPooling1D, {}, (2, 9, 3), (2, 4, 3)),
        (L.MaxPooling1D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 3), (2, 5, 3)),
        (L.AveragePooling1D, {"pool_size": 2, "padding": "same"}, (2, 9, 3), (2, 5, 3)),
        (L.MaxPooling2D, {}, (2, 7, 8, 3), (2, 3, 4, 3)),
        (L.MaxPooling2D, {"pool_size": (3, 2), "strides": 2, "padding": "same"}, (2, 7, 8, 3), (2, 4, 4, 3)),
        (L.MaxPooling2D, {"data_format": "channels_first"}, (2, 3, 7, 8), (2, 3, 3, 4)),
        (L.AveragePooling2D, {"pool_size": 3, "strides": 1}, (2, 7, 8, 3), (2, 5, 6, 3)),
        (L.AveragePooling2D, {"pool_size": 2, "padding": "same"}, (2, 7, 8, 3), (2, 4, 4, 3)),
        (L.GlobalAveragePooling1D, {}, (2, 9, 3), (2, 3)),
        (L.GlobalMaxPooling1D, {"keepdims": True}, (2, 9, 3), (2, 1, 3)),
        (L.GlobalAveragePooling2D, {}, (2, 7, 8, 3), (2, 3)),
        (L.GlobalAveragePooling2D, {"data_format": "channels_first", "keepdims": True}, (2, 3, 7, 8), (2, 3, 1, 1)),
        (L.GlobalMaxPooling2D, {}, (2, 7, 8, 3), (2, 3)),
    ],
)
def test_pooling_contract(cls, kwargs, input_shape, expected):
    run_layer_test(cls, kwargs, input_shape, expected, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0)


def test_max_pooling2d_valid_matches_f_max_pool2d():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 10, 3)
    out = L.MaxPooling2D((3, 2), strides=(2, 1))(x)
    torch.testing.assert_close(out, _nhwc(F.max_pool2d(_nchw(x), (3, 2), (2, 1))))


def test_max_pooling2d_same_ignores_padding_with_tf_split():
    torch.manual_seed(0)
    x = -torch.rand(2, 5, 6, 3) - 1.0  # all negative: zero padding would leak into the max
    out = L.MaxPooling2D(2, padding="same")(x)
    # TF: out = ceil(5/2)=3, ceil(6/2)=3; total padding height 1 -> (0, 1), width 0.
    expected = F.max_pool2d(F.pad(_nchw(x), (0, 0, 0, 1), value=float("-inf")), 2, 2)
    assert out.shape == (2, 3, 3, 3)
    torch.testing.assert_close(out, _nhwc(expected))
    assert (out < 0).all()


def test_average_pooling2d_same_excludes_padding_from_the_mean():
    torch.manual_seed(0)
    x = torch.rand(1, 5, 5, 2) + 1.0
    out = L.AveragePooling2D(2, padding="same")(x)
    assert out.shape == (1, 3, 3, 2)
    xc = _nchw(x)
    # Windows along the bottom/right edge hold 2 (or 1) real values, not 4.
    torch.testing.assert_close(out[0, 0, 0], xc[0, :, 0:2, 0:2].mean(dim=(1, 2)))
    torch.testing.assert_close(out[0, 2, 0], xc[0, :, 4:5, 0:2].mean(dim=(1, 2)))
    torch.testing.assert_close(out[0, 2, 2], xc[0, :, 4, 4])
    # Whole map against an independent formulation: padded sums / padded counts.
    pad = (0, 1, 0, 1)
    sums = F.avg_pool2d(F.pad(xc, pad), 2, 2, divisor_override=1)
    counts = F.avg_pool2d(F.pad(torch.ones(1, 1, 5, 5), pad), 2, 2, divisor_override=1)
    torch.testing.assert_close(out, _nhwc(sums / counts))


def test_average_pooling2d_same_symmetric_padding_uses_count_include_pad_false():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 6, 3)
    out = L.AveragePooling2D(3, strides=1, padding="same")(x)
    expected = F.avg_pool2d(_nchw(x), 3, 1, padding=1, count_include_pad=False)
    torch.testing.assert_close(out, _nhwc(expected))


def test_pooling1d_matches_f_pool1d():
    torch.manual_seed(0)
    x = torch.randn(2, 11, 4)
    xc = x.transpose(1, 2)
    torch.testing.assert_close(L.MaxPooling1D(3, strides=2)(x), F.max_pool1d(xc, 3, 2).transpose(1, 2))
    torch.testing.assert_close(L.AveragePooling1D(3)(x), F.avg_pool1d(xc, 3).transpose(1, 2))
    # same, stride 2 on 11 steps: out 6, total padding max(5*2+3-11, 0)=2 -> (1, 1)
    torch.testing.assert_close(
        L.MaxPooling1D(3, strides=2, padding="same")(x),
        F.max_pool1d(xc, 3, 2, padding=1).transpose(1, 2),
    )


def test_global_poolings_match_reductions():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 3)
    torch.testing.assert_close(L.GlobalAveragePooling2D()(x), x.mean(dim=(1, 2)))
    torch.testing.assert_close(L.GlobalMaxPooling2D()(x), x.amax(dim=(1, 2)))
    torch.testing.assert_close(L.GlobalMaxPooling2D(keepdims=True)(x), x.amax(dim=(1, 2), keepdim=True))
    s = torch.randn(2, 7, 3)
    torch.testing.assert_close(L.GlobalAveragePooling1D()(s), s.mean(dim=1))
    torch.testing.assert_close(L.GlobalMaxPooling1D(data_format="channels_first")(s), s.amax(dim=2))


def test_global_average_pooling1d_uses_the_padding_mask():
    torch.manual_seed(0)
    vectors = torch.randn(3, 4, 2)
    # A (batch, steps) padding mask travels with the tensor as `_lamina_mask`.
    vectors._lamina_mask = torch.tensor([[True, True, False, False], [True] * 4, [False] * 4])
    out = L.GlobalAveragePooling1D()(vectors)
    torch.testing.assert_close(out[0], vectors[0, :2].mean(dim=0))
    torch.testing.assert_close(out[1], vectors[1].mean(dim=0))
    torch.testing.assert_close(out[2], torch.zeros(2))  # nothing real: zeros, not NaN
    kept = L.GlobalAveragePooling1D(keepdims=True)(vectors)
    torch.testing.assert_close(kept[:, 0], out)


def test_pooling_symbolic_free_axes_stay_none():
    out = L.MaxPooling2D(3, padding="valid")(lamina.Input(shape=(None, 10, 4)))
    assert out.shape == (None, None, 3, 4)
    assert L.GlobalMaxPooling2D()(lamina.Input(shape=(None, None, 4))).shape == (None, 4)


def test_pooling_argument_errors():
    with pytest.raises(ValueError, match=r"`MaxPooling2D` expects `pool_size` to be a positive integer or a tuple "
                       r"of 2 positive integers\. Received: pool_size=0"):
        L.MaxPooling2D(0)
    with pytest.raises(ValueError, match=r"`AveragePooling1D` expects `padding` to be one of 'valid', 'same'\. "
                       r"Received: padding='causal'"):
        L.AveragePooling1D(padding="causal")
    with pytest.raises(ValueError, match=r"Received: strides=\(1, 2, 3\)"):
        L.MaxPooling2D(strides=(1, 2, 3))
    with pytest.raises(TypeError, match=r"`GlobalMaxPooling2D` expects `keepdims` to be True or False"):
        L.GlobalMaxPooling2D(keepdims=1)


def test_pooling_rank_and_size_errors():
    with pytest.raises(ValueError, match=r"Layer 'pool' \(MaxPooling2D\) expects inputs of rank 4, shaped "
                       r"\(batch, height, width, channels\)\. Received input with shape \(None, 8, 8\)"):
        L.MaxPooling2D(name="pool")(torch.randn(2, 8, 8))
    with pytest.raises(ValueError, match=r"\(GlobalAveragePooling1D\) expects inputs of rank 3"):
        L.GlobalAveragePooling1D()(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"cannot apply a pool_size of size \(3, 3\) with padding='valid' to "
                       r"inputs with spatial shape \(2, 2\)"):
        L.MaxPooling2D(3)(torch.randn(1, 2, 2, 1))


def test_pooling_integer_input_is_cast_to_float():
    x = torch.arange(16).reshape(1, 4, 4, 1)
    out = L.AveragePooling2D(2)(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0, :, :, 0], torch.tensor([[2.5, 4.5], [10.5, 12.5]]))


def test_docstring_examples_run():
    result = doctest.testmod(pooling)
    assert result.failed == 0 and result.attempted > 0
