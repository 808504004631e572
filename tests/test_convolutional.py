"""Convolution layers: contract tests, parity with torch.nn.functional, errors."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import conv_transpose, conv_utils, convolutional, separable_conv
from lamina.layers.layer import pop_call_losses

Conv1D = lamina.layers.Conv1D
Conv2D = lamina.layers.Conv2D
Conv2DTranspose = lamina.layers.Conv2DTranspose
DepthwiseConv2D = lamina.layers.DepthwiseConv2D
SeparableConv2D = lamina.layers.SeparableConv2D


def _nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


# ---------------------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, expected, n_weights",
    [
        (Conv1D, {"filters": 4, "kernel_size": 3}, (2, 9, 3), (2, 7, 4), 2),
        (Conv1D, {"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 9, 3), (2, 5, 4), 2),
        (Conv1D, {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 9, 3), (2, 9, 4), 2),
        (Conv2D, {"filters": 4, "kernel_size": 3}, (2, 7, 8, 3), (2, 5, 6, 4), 2),
        (Conv2D, {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same"}, (2, 7, 8, 3), (2, 4, 4, 4), 2),
        (Conv2D, {"filters": 6, "kernel_size": 3, "groups": 3, "use_bias": False}, (2, 7, 7, 3), (2, 5, 5, 6), 1),
        (Conv2D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"}, (2, 7, 7, 3), (2, 3, 3, 4), 2),
        (Conv2D, {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 7, 8), (2, 4, 5, 6), 2),
        (Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 5, 6, 3), (2, 11, 13, 4), 2),
        (Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 3), (2, 10, 12, 4), 2),
        (Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 5, 6, 3), (2, 12, 14, 4), 2),
        (DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 7, 7, 3), (2, 5, 5, 6), 2),
        (DepthwiseConv2D, {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 3), (2, 4, 4, 3), 2),
        (SeparableConv2D, {"filters": 5, "kernel_size": 3, "depth_multiplier": 2}, (2, 7, 7, 3), (2, 5, 5, 5), 3),
        (SeparableConv2D, {"filters": 5, "kernel_size": 3, "padding": "same", "use_bias": False}, (2, 7, 7, 3), (2, 7, 7, 5), 2),
    ],
)
def test_conv_layers_contract(cls, kwargs, input_shape, expected, n_weights):
    run_layer_test(cls, kwargs, input_shape, expected, expected_num_trainable_weights=n_weights,
                   expected_num_non_trainable_weights=0)


def test_conv2d_symbolic_free_spatial_axes_stay_none():
    inp = lamina.Input(shape=(None, None, 3))
    out = Conv2D(8, 5, strides=2, padding="same")(inp)
    assert out.shape == (None, None, None, 8)
    out = Conv2D(8, 5)(lamina.Input(shape=(None, 12, 3)))
    assert out.shape == (None, None, 8, 8)
    out = Conv2DTranspose(4, 3, strides=2)(lamina.Input(shape=(None, 5, 3)))
    assert out.shape == (None, None, 11, 4)


def test_conv2d_compute_output_shape_matches_a_run():
    for kwargs in ({"padding": "valid", "strides": 3}, {"padding": "same", "strides": 2, "dilation_rate": 1}):
        layer = Conv2D(4, 3, **kwargs)
        out = layer(torch.randn(1, 10, 11, 2))
        assert layer.compute_output_shape((None, 10, 11, 2)) == (None, *out.shape[1:])


# ---------------------------------------------------------------------------- parity


def test_conv2d_valid_matches_f_conv2d_and_torch_conv2d_module():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 10, 3)
    layer = Conv2D(5, (3, 2), strides=(2, 1), dilation_rate=(1, 2), activation="relu")
    out = layer(x)
    expected = F.relu(F.conv2d(_nchw(x), layer.kernel, layer.bias, (2, 1), 0, (1, 2)))
    torch.testing.assert_close(out, _nhwc(expected))
    # Weights are in PyTorch's layout: they load into torch.nn.Conv2d unchanged.
    module = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), dilation=(1, 2))
    module.load_state_dict({"weight": layer.kernel, "bias": layer.bias})
    torch.testing.assert_close(out, _nhwc(F.relu(module(_nchw(x)))))


def test_conv2d_output_is_contiguous_channels_last_without_copies():
    x = torch.randn(2, 8, 8, 3)
    out = Conv2D(4, 3, padding="same")(x)
    assert out.is_contiguous()  # NHWC result of a channels_last convolution


def test_conv2d_same_stride2_pads_like_tensorflow():
    torch.manual_seed(0)
    x = torch.randn(2, 7, 8, 3)
    layer = Conv2D(4, 3, strides=2, padding="same")
    out = layer(x)
    # TF: out = ceil(in / 2) = (4, 4); total pad height max(3*2+3-7, 0)=2 -> (1, 1),
    # width max(3*2+3-8, 0)=1 -> (0, 1): the extra column goes on the right.
    assert conv_utils.same_padding(7, 3, 2) == (1, 1)
    assert conv_utils.same_padding(8, 3, 2) == (0, 1)
    padded = F.pad(_nchw(x), (0, 1, 1, 1))
    expected = F.conv2d(padded, layer.kernel, layer.bias, stride=2)
    assert out.shape == (2, 4, 4, 4)
    torch.testing.assert_close(out, _nhwc(expected))


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_conv2d_same_even_kernel_stride1_matches_torch_same():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 7, 3)
    layer = Conv2D(4, (4, 3), padding="same", dilation_rate=(1, 2))
    out = layer(x)
    # torch's padding="same" (stride 1) also puts the extra row at the end.
    expected = F.conv2d(_nchw(x), layer.kernel, layer.bias, padding="same", dilation=(1, 2))
    assert conv_utils.same_padding(6, 4, 1) == (1, 2)
    torch.testing.assert_close(out, _nhwc(expected))


def test_conv2d_channels_first_matches_channels_last():
    torch.manual_seed(0)
    x = torch.randn(2, 9, 9, 3)
    last = Conv2D(4, 3, strides=2, padding="same")
    first = Conv2D(4, 3, strides=2, padding="same", data_format="channels_first")
    last(x)
    first(_nchw(x))
    first.load_state_dict(last.state_dict())
    torch.testing.assert_close(_nchw(last(x)), first(_nchw(x)))


def test_conv1d_causal_matches_left_padded_conv1d():
    torch.manual_seed(0)
    x = torch.randn(2, 10, 3)
    layer = Conv1D(4, 3, padding="causal", dilation_rate=2)
    out = layer(x)
    expected = F.conv1d(F.pad(x.transpose(1, 2), (4, 0)), layer.kernel, layer.bias, dilation=2)
    torch.testing.assert_close(out, expected.transpose(1, 2))
    # Causality: changing the future leaves earlier outputs untouched.
    x2 = x.clone()
    x2[:, 6:] += 1.0
    torch.testing.assert_close(layer(x2)[:, :6], out[:, :6])


def test_conv1d_same_stride2_matches_explicit_padding():
    torch.manual_seed(0)
    x = torch.randn(2, 10, 3)
    layer = Conv1D(4, 4, strides=2, padding="same")
    out = layer(x)
    # out = 5; total = max(4*2+4-10, 0) = 2 -> (1, 1)
    expected = F.conv1d(F.pad(x.transpose(1, 2), (1, 1)), layer.kernel, layer.bias, stride=2)
    torch.testing.assert_close(out, expected.transpose(1, 2))


def test_conv2d_transpose_valid_matches_f_conv_transpose2d():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 3)
    layer = Conv2DTranspose(4, (3, 2), strides=2, output_padding=(1, 0))
    out = layer(x)
    expected = F.conv_transpose2d(_nchw(x), layer.kernel, layer.bias, stride=2, output_padding=(1, 0))
    torch.testing.assert_close(out, _nhwc(expected))
    module = torch.nn.ConvTranspose2d(3, 4, (3, 2), stride=2, output_padding=(1, 0))
    module.load_state_dict({"weight": layer.kernel, "bias": layer.bias})
    torch.testing.assert_close(out, _nhwc(module(_nchw(x))))


@pytest.mark.parametrize(
    "kernel, strides, padding, dilation, output_padding",
    [
        (3, 2, "same", 1, None),  # odd padding total: trimmed at the bottom/right
        (4, 2, "same", 1, None),
        (5, 3, "same", 1, 2),
        (2, 3, "valid", 1, None),  # stride > kernel: zero rows appended
        (3, 1, "same", 2, None),
        (3, 2, "valid", 1, 1),
    ],
)
def test_conv2d_transpose_is_the_adjoint_of_conv2d(kernel, strides, padding, dilation, output_padding):
    """<conv(x), y> == <x, conv_transpose(y)> with the same kernel: the transposed layer is
    exactly the gradient of Conv2D with TF-style padding."""
    torch.manual_seed(0)
    y = torch.randn(2, 5, 6, 4, dtype=torch.float64)
    t = Conv2DTranspose(3, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                        output_padding=output_padding, use_bias=False)
    t(y.float())
    t.double()
    ty = t(y)
    h, w = ty.shape[1:3]
    expected_hw = tuple(
        conv_utils.deconv_output_length(n, kernel, strides, dilation, padding, output_padding) for n in (5, 6)
    )
    assert (h, w) == expected_hw
    c = Conv2D(4, kernel, strides=strides, padding=padding, dilation_rate=dilation, use_bias=False)
    c(torch.zeros(1, h, w, 3))
    c.double()
    with torch.no_grad():
        c.kernel.copy_(t.kernel)
    x = torch.randn(2, h, w, 3, dtype=torch.float64)
    cx = c(x)
    assert cx.shape == y.shape
    torch.testing.assert_close((cx * y).sum(), (x * ty).sum())


def test_conv2d_transpose_same_output_size_follows_keras():
    # Keras: size * strides with output_padding=None.
    assert Conv2DTranspose(2, 3, strides=2, padding="same")(torch.randn(1, 7, 7, 1)).shape == (1, 14, 14, 2)
    assert Conv2DTranspose(2, 3, strides=2, padding="valid")(torch.randn(1, 7, 7, 1)).shape == (1, 15, 15, 2)
    # (size - 1) * strides + k - 2 * (k // 2) + output_padding
    out = Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=0)(torch.randn(1, 7, 7, 1))
    assert out.shape == (1, 13, 13, 2)


def test_depthwise_conv2d_matches_grouped_conv2d():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 8, 3)
    layer = DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)
    out = layer(x)
    assert layer.kernel.shape == (6, 1, 3, 3)
    expected = F.conv2d(F.pad(_nchw(x), (0, 1, 0, 1)), layer.kernel, layer.bias, stride=2, groups=3)
    torch.testing.assert_close(out, _nhwc(expected))
    # Output channel c * m + j comes from input channel c only.
    x2 = x.clone()
    x2[..., 1] += 1.0
    changed = (layer(x2) - out).abs().amax(dim=(0, 1, 2)) > 0
    assert changed.tolist() == [False, False, True, True, False, False]


def test_separable_conv2d_matches_depthwise_then_pointwise():
    torch.manual_seed(0)
    x = torch.randn(2, 7, 7, 3)
    layer = SeparableConv2D(5, 3, padding="same", depth_multiplier=2, activation="tanh")
    out = layer(x)
    depthwise = F.conv2d(_nchw(x), layer.depthwise_kernel, None, padding=1, groups=3)
    expected = torch.tanh(F.conv2d(depthwise, layer.pointwise_kernel, layer.bias))
    torch.testing.assert_close(out, _nhwc(expected))
    assert layer.pointwise_kernel.shape == (5, 6, 1, 1)


def test_depthwise_kernel_initialised_with_keras_fans():
    torch.manual_seed(0)
    layer = DepthwiseConv2D(3, depth_multiplier=4, depthwise_initializer="glorot_uniform")
    layer(torch.zeros(1, 5, 5, 16))
    # Keras: fan_in = 9 * 16, fan_out = 9 * 4 -> limit sqrt(6 / 180).
    limit = (6 / (9 * 16 + 9 * 4)) ** 0.5
    assert layer.kernel.abs().max() <= limit
    assert layer.kernel.abs().max() > 0.8 * limit


def test_conv2d_integer_input_is_cast():
    out = Conv2D(2, 1, kernel_initializer="ones")(torch.ones(1, 2, 2, 3, dtype=torch.int64))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, torch.full((1, 2, 2, 2), 3.0))


def test_conv2d_regularizers_add_losses():
    pop_call_losses()
    layer = Conv2D(2, 1, kernel_initializer="ones", kernel_regularizer=lamina.regularizers.L2(0.5),
                   activity_regularizer=lamina.regularizers.L1(0.1))
    x = torch.ones(4, 2, 2, 3)
    layer(x)
    losses = layer.losses
    assert len(losses) == 2  # Keras 3's order: the call's add_loss terms, then weight penalties
    torch.testing.assert_close(losses[1], torch.tensor(0.5 * 6))  # 6 kernel entries of 1
    torch.testing.assert_close(losses[0], torch.tensor(0.1 * 3.0 * 32 / 4))  # divided by batch
    pop_call_losses()


def test_conv2d_under_torch_compile_fullgraph():
    torch.manual_seed(0)
    layer = Conv2D(4, 3, strides=2, padding="same", activation="relu")
    x = torch.randn(2, 9, 8, 3)
    eager = layer(x)
    compiled = torch.compile(layer, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), eager)


def test_conv_model_trains_with_fit():
    torch.manual_seed(0)
    model = lamina.Sequential([
        lamina.Input(shape=(8, 8, 1)),
        Conv2D(4, 3, padding="same", activation="relu"),
        lamina.layers.MaxPooling2D(),
        SeparableConv2D(4, 3, padding="same"),
        lamina.layers.GlobalAveragePooling2D(),
        lamina.layers.Dense(2),
    ])
    model.compile(optimizer="adam", loss="mse")
    x, y = torch.randn(16, 8, 8, 1), torch.randn(16, 2)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(x, verbose=0).shape == (16, 2)


def test_conv_and_pooling_layers_survive_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = lamina.Sequential([
        lamina.Input(shape=(9, 9, 3)),
        Conv2D(4, 3, strides=2, padding="same", activation="relu", kernel_regularizer="l2"),
        DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        lamina.layers.AveragePooling2D(2, padding="same"),
        Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1),
        SeparableConv2D(3, (3, 2), padding="same"),
        lamina.layers.GlobalMaxPooling2D(),
    ])
    model.eval()
    x = torch.randn(2, 9, 9, 3)
    path = tmp_path / "conv.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    loaded.eval()
    torch.testing.assert_close(loaded(x), model(x))


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": 0, "kernel_size": 3}, r"`Conv2D` expects `filters` to be a positive integer\. Received: filters=0"),
        ({"filters": 4, "kernel_size": 3, "padding": "full"}, r"`padding` to be one of 'valid', 'same'\. Received: padding='full'"),
        ({"filters": 4, "kernel_size": (3, 3, 3)}, r"`kernel_size` to be a positive integer or a tuple of 2 .*Received: kernel_size=\(3, 3, 3\)"),
        ({"filters": 4, "kernel_size": 3, "strides": 0}, r"Received: strides=0"),
        ({"filters": 4, "kernel_size": 3, "groups": 3}, r"`filters` to be divisible by `groups`\. Received: filters=4, groups=3"),
        ({"filters": 4, "kernel_size": 3, "data_format": "NHWC"}, r"`data_format` to be one of .*Received: data_format='NHWC'"),
        ({"filters": 4, "kernel_size": 3, "padding": "causal"}, r"Received: padding='causal'"),
        ({"filters": 4, "kernel_size": 3, "kernal_size": 3}, r"unexpected keyword argument\(s\): kernal_size"),
    ],
)
def test_conv2d_argument_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Conv2D(**kwargs)


def test_conv2d_padding_is_case_insensitive_like_keras():
    layer = Conv2D(2, 3, padding="SAME")
    assert layer(torch.randn(1, 5, 5, 1)).shape == (1, 5, 5, 2)
    assert layer.get_config()["padding"] == "same"  # Keras stores and saves it lower-cased


def test_conv2d_on_2d_input_names_layer_rank_and_shape():
    layer = Conv2D(4, 3, name="conv")
    with pytest.raises(ValueError, match=r"Layer 'conv' \(Conv2D\) expects inputs of rank 4, shaped "
                       r"\(batch, height, width, channels\)\. Received input with shape \(None, 10\)"):
        layer(torch.randn(2, 10))
    with pytest.raises(ValueError, match=r"rank 4.*\(None, 28, 28\)\. If each sample has a single channel"):
        layer(torch.randn(2, 28, 28))
    with pytest.raises(ValueError, match=r"Layer 'conv' \(Conv2D\) expects inputs of rank 4"):
        layer(lamina.Input(shape=(10,)))


def test_conv2d_channel_mismatch_after_build():
    layer = Conv2D(4, 3, name="c")
    layer(torch.randn(1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"built for inputs with 3 channels.*\(2, 5, 5, 2\)"):
        layer(torch.randn(2, 5, 5, 2))


def test_conv2d_kernel_larger_than_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"cannot apply a kernel of size \(5, 5\) with padding='valid' to "
                       r"inputs with spatial shape \(3, 3\).*Use padding='same'"):
        Conv2D(2, 5)(torch.randn(1, 3, 3, 1))
    with pytest.raises(ValueError, match=r"spatial shape \(3, 3\)"):
        Conv2D(2, 5)(lamina.Input(shape=(3, 3, 1)))


def test_groups_must_divide_input_channels():
    with pytest.raises(ValueError, match=r"groups=2, which must divide the number of input channels\. "
                       r"Received input with 3 channels"):
        Conv2D(4, 3, groups=2)(torch.randn(1, 5, 5, 3))


def test_conv_needs_known_channels():
    with pytest.raises(ValueError, match=r"needs a known number of channels"):
        Conv2D(4, 3)(lamina.Input(shape=(8, 8, None)))


def test_conv1d_rank_error_and_causal_only_for_conv1d():
    with pytest.raises(ValueError, match=r"\(Conv1D\) expects inputs of rank 3, shaped \(batch, steps, channels\)"):
        Conv1D(2, 3)(torch.randn(2, 4, 4, 4))


def test_conv2d_transpose_output_padding_errors():
    with pytest.raises(ValueError, match=r"`output_padding` to be smaller than the matching stride\. "
                       r"Received: output_padding=2, strides=2"):
        Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"`output_padding` to be an integer >= 0 .*Received: output_padding=-1"):
        Conv2DTranspose(2, 3, strides=2, output_padding=-1)


def test_depthwise_and_separable_argument_errors():
    with pytest.raises(ValueError, match=r"`DepthwiseConv2D` expects `depth_multiplier` to be a positive integer"):
        DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match=r"`SeparableConv2D` expects `filters` to be a positive integer"):
        SeparableConv2D(-1, 3)


def test_docstring_examples_run():
    for module in (convolutional, conv_transpose, separable_conv):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


# ---------------------------------------------------------------------------- Keras subclasses
class _KerasConv2D(Conv2D):  # a subclass written outside Lamina: Keras's kernel layout
    pass


class _StandardizedByOverride(Conv2D):
    def convolution_op(self, inputs, kernel):
        mean, var = lamina.ops.moments(kernel, axes=[0, 1, 2], keepdims=True)
        return lamina.ops.conv(inputs, (kernel - mean) / lamina.ops.sqrt(var + 1e-10), strides=list(self.strides))


class _StandardizedByCall(Conv2D):
    def call(self, inputs):
        mean, var = lamina.ops.moments(self.kernel, axes=[0, 1, 2], keepdims=True)
        result = self.convolution_op(inputs, (self.kernel - mean) / lamina.ops.sqrt(var + 1e-10))
        return result + self.bias if self.use_bias else result


def _standardized_reference(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """NHWC conv with a Keras-layout kernel standardized over (kh, kw, in), in plain torch."""
    mean = kernel.mean(dim=(0, 1, 2), keepdim=True)
    var = kernel.var(dim=(0, 1, 2), keepdim=True, unbiased=False)
    k = ((kernel - mean) / torch.sqrt(var + 1e-10)).permute(3, 2, 0, 1)
    return _nhwc(F.conv2d(_nchw(x), k, stride=stride)) + bias


def test_conv_public_attributes_are_standardized_like_keras():
    layer = Conv2D(4, 3, padding="SAME", dilation_rate=2)
    assert (layer.kernel_size, layer.strides, layer.dilation_rate) == ((3, 3), (1, 1), (2, 2))
    assert (layer.padding, layer.data_format) == ("same", "channels_last")
    assert layer.get_config()["strides"] == [1, 1]
    assert Conv1D(2, 3, strides=2).strides == (2,)


def test_user_subclass_keeps_keras_kernel_layout_and_matches_conv2d():
    torch.manual_seed(0)
    x = torch.randn(2, 7, 6, 3)
    plain, sub = Conv2D(4, (3, 2), strides=2, padding="same"), _KerasConv2D(4, (3, 2), strides=2, padding="same")
    plain(x), sub(x)
    assert tuple(plain.kernel.shape) == (4, 3, 3, 2)  # Lamina's own layer: PyTorch's layout
    assert tuple(sub.kernel.shape) == (3, 2, 3, 4)  # a user's subclass: Keras's layout
    sub.set_weights(plain.get_weights())
    assert [w.shape for w in sub.get_weights()] == [(3, 2, 3, 4), (4,)]
    torch.testing.assert_close(sub.kernel.detach(), plain.kernel.detach().permute(2, 3, 1, 0))
    torch.testing.assert_close(sub(x), plain(x))


def test_overridden_convolution_op_is_used_with_bias_and_activation():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 8, 3)
    layer = _StandardizedByOverride(5, 3, strides=2, activation="relu", bias_initializer="ones")
    out = layer(x)
    expected = torch.relu(_standardized_reference(x, layer.kernel.detach(), layer.bias.detach(), stride=2))
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_call_override_uses_convolution_op_without_activation_as_keras():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 6, 2)
    layer = _StandardizedByCall(3, 3, activation="relu", bias_initializer="ones")
    out = layer(x)
    expected = _standardized_reference(x, layer.kernel.detach(), layer.bias.detach())
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert (out < 0).any()  # the overriding call applies no activation, as in Keras


def test_keras_subclasses_in_sequential_are_not_fused_into_channels_first_runs():
    torch.manual_seed(0)
    x = torch.randn(4, 9, 9, 1)
    conv = _StandardizedByOverride(4, 3)
    model = lamina.Sequential([lamina.Input((9, 9, 1)), conv, lamina.layers.MaxPooling2D(), lamina.layers.Flatten()])
    expected = F.max_pool2d(_nchw(_standardized_reference(x, conv.kernel.detach(), conv.bias.detach())), 2)
    torch.testing.assert_close(model(x), _nhwc(expected).flatten(1), rtol=1e-5, atol=1e-5)


def test_plain_conv_convolution_op_accepts_its_own_kernel():
    torch.manual_seed(0)
    x = torch.randn(1, 6, 5, 3)
    layer = Conv2D(4, 3, padding="same", use_bias=False)
    out = layer(x)
    torch.testing.assert_close(layer.convolution_op(x, layer.kernel), out)
    keras_kernel = layer.kernel.detach().permute(2, 3, 1, 0)
    torch.testing.assert_close(layer.convolution_op(x, keras_kernel), out)


def test_conv1d_subclass_causal_padding_matches_conv1d():
    class Causal(Conv1D):
        pass

    torch.manual_seed(0)
    x = torch.randn(2, 10, 3)
    plain, sub = Conv1D(4, 3, padding="causal", dilation_rate=2), Causal(4, 3, padding="causal", dilation_rate=2)
    plain(x), sub(x)
    sub.set_weights(plain.get_weights())
    torch.testing.assert_close(sub(x), plain(x))


def test_keras_subclass_trains_and_saves_keras_weights(tmp_path):
    torch.manual_seed(0)
    model = lamina.Sequential([lamina.Input((6, 6, 1)), _StandardizedByOverride(2, 3), lamina.layers.Flatten(), lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = torch.randn(16, 6, 6, 1), torch.randn(16, 1)
    before = model.layers[0].kernel.detach().clone()
    model.fit(x, y, epochs=1, verbose=0)
    assert not torch.equal(before, model.layers[0].kernel.detach())
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    clone = lamina.Sequential([lamina.Input((6, 6, 1)), _StandardizedByOverride(2, 3), lamina.layers.Flatten(), lamina.layers.Dense(1)])
    clone.load_weights(path)
    torch.testing.assert_close(clone(x), model(x))


@pytest.mark.parametrize(
    "cls, kwargs, shape",
    [
        (Conv2D, {"data_format": "channels_first", "groups": 2, "strides": 2, "padding": "same"}, (2, 4, 7, 6)),
        (Conv2D, {"groups": 2, "dilation_rate": 2, "activation": "relu"}, (2, 9, 9, 4)),
        (lamina.layers.Conv3D, {"padding": "same"}, (2, 5, 5, 5, 2)),
    ],
)
def test_keras_layout_subclass_matches_builtin_for_groups_formats_and_ranks(cls, kwargs, shape):
    sub_cls = type("UserConv", (cls,), {"__module__": "user_code"})
    torch.manual_seed(0)
    x = torch.randn(*shape)
    plain, sub = cls(6, 3, **kwargs), sub_cls(6, 3, **kwargs)
    plain(x), sub(x)
    assert sub._keras_kernel and not plain._keras_kernel
    sub.set_weights(plain.get_weights())
    torch.testing.assert_close(sub(x), plain(x), rtol=1e-5, atol=1e-5)
