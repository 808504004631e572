"""3-D convolutions and pooling, Conv1DTranspose, SeparableConv1D, DepthwiseConv1D:
contract tests, parity with torch.nn.functional on the same weights, errors."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import conv_transpose, convolutional3d, separable_conv

L = lamina.layers


def _ncdhw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 4, 1, 2, 3)


def _ndhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 4, 1)


def _copy_weights(ref: torch.nn.Module, layer) -> None:
    """Puts the Lamina layer's kernel and bias into the torch module (same layout)."""
    with torch.no_grad():
        ref.weight.copy_(layer.kernel)
        ref.bias.copy_(layer.bias)


# ---------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, expected, n_weights",
    [
        (L.Conv3D, {"filters": 4, "kernel_size": 3}, (2, 5, 6, 7, 3), (2, 3, 4, 5, 4), 2),
        (L.Conv3D, {"filters": 4, "kernel_size": (3, 2, 1), "strides": 2, "padding": "same"},
         (2, 5, 6, 7, 3), (2, 3, 3, 4, 4), 2),
        (L.Conv3D, {"filters": 4, "kernel_size": 2, "data_format": "channels_first"},
         (2, 3, 4, 4, 4), (2, 4, 3, 3, 3), 2),
        (L.Conv3DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 3, 4, 2, 3), (2, 7, 9, 5, 2), 2),
        (L.Conv3DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
         (2, 3, 4, 2, 3), (2, 6, 8, 4, 2), 2),
        (L.Conv1DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 5, 3), (2, 11, 4), 2),
        (L.Conv1DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                             "output_padding": 1}, (2, 5, 3), (2, 10, 4), 2),
        (L.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 9, 3), (2, 7, 6), 2),
        (L.DepthwiseConv1D, {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 9, 3), (2, 5, 3), 2),
        (L.SeparableConv1D, {"filters": 5, "kernel_size": 3, "depth_multiplier": 2}, (2, 9, 3), (2, 7, 5), 3),
        (L.SeparableConv1D, {"filters": 5, "kernel_size": 3, "padding": "same", "use_bias": False},
         (2, 9, 3), (2, 9, 5), 2),
        (L.MaxPooling3D, {"pool_size": 2}, (2, 4, 5, 6, 3), (2, 2, 2, 3, 3), 0),
        (L.MaxPooling3D, {"pool_size": 2, "padding": "same"}, (2, 4, 5, 6, 3), (2, 2, 3, 3, 3), 0),
        (L.AveragePooling3D, {"pool_size": (2, 2, 3), "strides": 1}, (2, 4, 5, 6, 3), (2, 3, 4, 4, 3), 0),
        (L.AveragePooling3D, {"pool_size": 2, "padding": "same"}, (2, 3, 5, 6, 3), (2, 2, 3, 3, 3), 0),
        (L.GlobalMaxPooling3D, {}, (2, 3, 4, 5, 6), (2, 6), 0),
        (L.GlobalAveragePooling3D, {"keepdims": True}, (2, 3, 4, 5, 6), (2, 1, 1, 1, 6), 0),
        (L.GlobalAveragePooling3D, {"data_format": "channels_first"}, (2, 6, 3, 4, 5), (2, 6), 0),
        (L.UpSampling3D, {}, (2, 2, 3, 4, 3), (2, 4, 6, 8, 3), 0),
        (L.UpSampling3D, {"size": (1, 2, 3), "data_format": "channels_first"}, (2, 3, 2, 3, 4), (2, 3, 2, 6, 12), 0),
        (L.ZeroPadding3D, {}, (2, 2, 3, 4, 3), (2, 4, 5, 6, 3), 0),
        (L.ZeroPadding3D, {"padding": ((1, 0), (0, 2), (3, 1))}, (2, 2, 3, 4, 3), (2, 3, 5, 8, 3), 0),
        (L.Cropping3D, {}, (2, 4, 5, 6, 3), (2, 2, 3, 4, 3), 0),
        (L.Cropping3D, {"cropping": (0, 1, 2), "data_format": "channels_first"}, (2, 3, 4, 5, 6), (2, 3, 4, 3, 2), 0),
    ],
)
def test_conv3d_family_contract(cls, kwargs, input_shape, expected, n_weights):
    run_layer_test(cls, kwargs, input_shape, expected, expected_num_trainable_weights=n_weights,
                   expected_num_non_trainable_weights=0)


def test_conv3d_symbolic_free_spatial_axes_stay_none():
    out = L.Conv3D(4, 3, padding="same")(lamina.Input(shape=(None, 8, None, 2)))
    assert out.shape == (None, None, 8, None, 4)
    out = L.MaxPooling3D(2)(lamina.Input(shape=(None, 8, 8, 2)))
    assert out.shape == (None, None, 4, 4, 2)


# ---------------------------------------------------------------------------- parity


def test_conv3d_matches_torch_conv3d_module():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 7, 3)
    layer = L.Conv3D(4, (3, 2, 2), dilation_rate=(1, 2, 1), groups=1)
    out = layer(x)
    ref = torch.nn.Conv3d(3, 4, (3, 2, 2), dilation=(1, 2, 1))
    _copy_weights(ref, layer)
    torch.testing.assert_close(out, _ndhwc(ref(_ncdhw(x))))


def test_conv3d_same_padding_is_tensorflow_style():
    # Stride 2 on an even size: total padding 1, all of it at the end (as TF/Keras).
    torch.manual_seed(0)
    x = torch.randn(1, 4, 4, 4, 2)
    layer = L.Conv3D(3, 2, strides=2, padding="same")
    out = layer(x)
    expected = F.conv3d(_ncdhw(x), layer.kernel, layer.bias, stride=2)
    torch.testing.assert_close(out, _ndhwc(expected))
    layer = L.Conv3D(3, 3, strides=2, padding="same")
    out = layer(x)
    padded = F.pad(_ncdhw(x), (0, 1, 0, 1, 0, 1))
    torch.testing.assert_close(out, _ndhwc(F.conv3d(padded, layer.kernel, layer.bias, stride=2)))


def test_conv3d_transpose_is_the_gradient_of_conv3d():
    """Conv3DTranspose(same) is the adjoint of Conv3D(same) with the same kernel."""
    torch.manual_seed(0)
    conv = L.Conv3D(4, 3, strides=2, padding="same", use_bias=False)
    x = torch.randn(1, 5, 6, 4, 3, requires_grad=True)
    y = conv(x)
    g = torch.randn_like(y)
    (grad,) = torch.autograd.grad(y, x, g)
    tconv = L.Conv3DTranspose(3, 3, strides=2, padding="same", use_bias=False, output_padding=(0, 1, 1))
    tconv(g)
    with torch.no_grad():
        tconv.kernel.copy_(conv.kernel)
    torch.testing.assert_close(tconv(g), grad, rtol=1e-4, atol=1e-5)


def test_conv1d_transpose_matches_torch_module():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 3)
    layer = L.Conv1DTranspose(4, 3, strides=2, dilation_rate=1)
    out = layer(x)
    ref = torch.nn.ConvTranspose1d(3, 4, 3, stride=2)
    _copy_weights(ref, layer)
    torch.testing.assert_close(out, ref(x.transpose(1, 2)).transpose(1, 2))
    assert out.shape == (2, 13, 4)


@pytest.mark.parametrize("length, strides", [(9, 2), (10, 2), (10, 3)])
def test_conv1d_transpose_same_is_the_gradient_of_conv1d_same(length, strides):
    torch.manual_seed(0)
    conv = L.Conv1D(4, 3, strides=strides, padding="same", use_bias=False)
    x = torch.randn(2, length, 3, requires_grad=True)
    y = conv(x)
    g = torch.randn_like(y)
    (grad,) = torch.autograd.grad(y, x, g)
    out_pad = length - (y.shape[1] - 1) * strides - 3 + 2 * (3 // 2)
    tconv = L.Conv1DTranspose(3, 3, strides=strides, padding="same", use_bias=False, output_padding=out_pad)
    tconv(g)
    with torch.no_grad():
        tconv.kernel.copy_(conv.kernel)
    torch.testing.assert_close(tconv(g), grad, rtol=1e-4, atol=1e-5)


def test_depthwise_conv1d_matches_grouped_conv1d():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 3)
    layer = L.DepthwiseConv1D(3, depth_multiplier=2)
    out = layer(x)
    ref = torch.nn.Conv1d(3, 6, 3, groups=3)
    _copy_weights(ref, layer)
    torch.testing.assert_close(out, ref(x.transpose(1, 2)).transpose(1, 2))


def test_separable_conv1d_is_depthwise_then_pointwise():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 3)
    layer = L.SeparableConv1D(5, 3, padding="same", depth_multiplier=2)
    out = layer(x)
    assert tuple(layer.pointwise_kernel.shape) == (5, 6, 1)
    xc = F.pad(x.transpose(1, 2), (1, 1))
    mid = F.conv1d(xc, layer.depthwise_kernel, groups=3)
    expected = F.conv1d(mid, layer.pointwise_kernel, layer.bias)
    torch.testing.assert_close(out, expected.transpose(1, 2))


def test_max_pooling3d_matches_torch_and_same_ignores_padding():
    x = torch.randn(2, 4, 6, 6, 3)
    torch.testing.assert_close(L.MaxPooling3D(2)(x), _ndhwc(F.max_pool3d(_ncdhw(x), 2)))
    x = -torch.rand(1, 3, 3, 3, 1) - 1  # all negative: a zero pad would win the max
    out = L.MaxPooling3D(2, padding="same")(x)
    assert out.shape == (1, 2, 2, 2, 1)
    assert out[0, -1, -1, -1, 0] == x[0, 2, 2, 2, 0]


def test_average_pooling3d_same_divides_by_real_values():
    x = torch.arange(27, dtype=torch.float32).reshape(1, 3, 3, 3, 1)
    out = L.AveragePooling3D(2, padding="same")(x)
    assert out.shape == (1, 2, 2, 2, 1)
    torch.testing.assert_close(out[0, -1, -1, -1, 0], x[0, 2, 2, 2, 0])  # a window with one real value
    torch.testing.assert_close(out[0, 0, 0, 0, 0], x[0, :2, :2, :2, 0].mean())
    y = torch.randn(2, 4, 6, 6, 3)
    torch.testing.assert_close(L.AveragePooling3D(2)(y), _ndhwc(F.avg_pool3d(_ncdhw(y), 2)))


def test_global_pooling3d_reduces_spatial_axes():
    x = torch.randn(2, 3, 4, 5, 6)
    torch.testing.assert_close(L.GlobalAveragePooling3D()(x), x.mean(dim=(1, 2, 3)))
    torch.testing.assert_close(L.GlobalMaxPooling3D()(x), x.amax(dim=(1, 2, 3)))


def test_conv3d_model_trains_with_channels_first_runs():
    model = lamina.Sequential([
        lamina.Input(shape=(4, 6, 6, 2)),
        L.Conv3D(4, 3, padding="same", activation="relu"),
        L.MaxPooling3D(2),
        L.Conv3D(4, 2),
        L.GlobalAveragePooling3D(),
        L.Dense(2),
    ])
    x = torch.randn(3, 4, 6, 6, 2)
    # The model (which may call the conv/pool run on one channels-first view) agrees
    # with calling the layers one by one.
    model.eval()
    expected = x
    for layer in model.layers:
        expected = layer(expected)
    torch.testing.assert_close(model(x), expected)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x.numpy(), torch.randn(3, 2).numpy(), epochs=1, verbose=0)


def test_upsampling3d_repeats_entries_along_each_axis():
    x = torch.randn(2, 2, 3, 4, 5)
    out = L.UpSampling3D((2, 1, 3))(x)
    expected = x.repeat_interleave(2, dim=1).repeat_interleave(3, dim=3)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(L.UpSampling3D(2)(x), _ndhwc(F.interpolate(_ncdhw(x), scale_factor=2, mode="nearest")))


def test_zero_padding3d_and_cropping3d_are_inverse():
    x = torch.randn(2, 2, 3, 4, 5)
    amounts = ((1, 0), (0, 2), (3, 1))
    padded = L.ZeroPadding3D(amounts)(x)
    torch.testing.assert_close(padded, _ndhwc(F.pad(_ncdhw(x), (3, 1, 0, 2, 1, 0))))
    torch.testing.assert_close(L.Cropping3D(amounts)(padded), x)


# ---------------------------------------------------------------------------- errors


def test_conv3d_wrong_rank_names_the_layout():
    with pytest.raises(ValueError, match=r"expects inputs of rank 5, shaped \(batch, depth, height, width, channels\)"):
        L.Conv3D(2, 3)(torch.randn(2, 6, 6, 3))
    with pytest.raises(ValueError, match=r"rank 5.*add a channels axis of size 1"):
        L.MaxPooling3D(2)(torch.randn(2, 6, 6, 6))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L.Conv3D(0, 3), r"`Conv3D` expects `filters` to be a positive integer. Received: filters=0"),
        (lambda: L.Conv3D(4, (3, 3)), r"`Conv3D` expects `kernel_size` to be a positive integer or a tuple of 3"),
        (lambda: L.Conv3D(4, 3, padding="causal"), r"`Conv3D` expects `padding` to be one of 'valid', 'same'"),
        (lambda: L.Conv3DTranspose(4, 3, strides=2, output_padding=2),
         r"`Conv3DTranspose` expects each entry of `output_padding` to be smaller than the matching stride"),
        (lambda: L.Conv1DTranspose(4, 3, output_padding=(1, 1)), r"`Conv1DTranspose` expects `output_padding`"),
        (lambda: L.SeparableConv1D(4, 3, depth_multiplier=0), r"`SeparableConv1D` expects `depth_multiplier`"),
        (lambda: L.DepthwiseConv1D(3, padding="full"), r"`DepthwiseConv1D` expects `padding`"),
        (lambda: L.MaxPooling3D((2, 2)), r"`MaxPooling3D` expects `pool_size` to be a positive integer or a tuple of 3"),
        (lambda: L.AveragePooling3D(2, data_format="NDHWC"), r"`AveragePooling3D` expects `data_format`"),
        (lambda: L.GlobalMaxPooling3D(keepdims=1), r"`GlobalMaxPooling3D` expects `keepdims` to be True or False"),
        (lambda: L.UpSampling3D((2, 2)), r"`UpSampling3D` expects `size` to be a positive integer or a tuple of 3"),
        (lambda: L.ZeroPadding3D((1, 2)), r"`ZeroPadding3D` expects `padding` to be an integer >= 0, a tuple of 3"),
        (lambda: L.Cropping3D(-1), r"`Cropping3D` expects `cropping`.*Received: cropping=-1"),
    ],
)
def test_conv3d_family_argument_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_cropping3d_too_much_is_explained():
    with pytest.raises(ValueError, match=r"cannot crop 4 values.*axis of size 4"):
        L.Cropping3D(2)(torch.randn(1, 4, 6, 6, 1))


def test_conv3d_valid_window_too_large_is_explained():
    with pytest.raises(ValueError, match=r"cannot apply a kernel of size \(3, 3, 3\) with padding='valid'"):
        L.Conv3D(2, 3)(torch.randn(1, 2, 5, 5, 1))


def test_docstring_examples_run():
    for module in (convolutional3d, conv_transpose, separable_conv):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__
