"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax): contract, parity, errors."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import activation_layers

L = lamina.layers


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, n_weights",
    [
        (L.ReLU, {}, (2, 5), 0),
        (L.ReLU, {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}, (2, 3, 4), 0),
        (L.LeakyReLU, {}, (2, 5), 0),
        (L.ELU, {"alpha": 0.5}, (2, 3, 4), 0),
        (L.PReLU, {"alpha_initializer": "ones"}, (2, 3, 4), 1),
        (L.PReLU, {"shared_axes": [1, 2], "alpha_initializer": "ones"}, (2, 3, 4, 5), 1),
        (L.Softmax, {}, (2, 5), 0),
        (L.Softmax, {"axis": [1, 2]}, (2, 3, 4), 0),
    ],
)
def test_activation_layers_contract(cls, kwargs, input_shape, n_weights):
    run_layer_test(cls, kwargs, input_shape, input_shape, expected_num_trainable_weights=n_weights,
                   expected_num_non_trainable_weights=0)


def _keras_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    """Keras's documented piecewise definition, in NumPy."""
    out = np.where(x >= threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        out = np.where(x >= max_value, max_value, out)
    return out


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"max_value": 1.5}, {"negative_slope": 0.2}, {"threshold": 0.5, "negative_slope": 0.1, "max_value": 2.0}],
)
def test_relu_matches_keras_definition(kwargs):
    x = torch.linspace(-3, 3, 25)
    out = L.ReLU(**kwargs)(x)
    np.testing.assert_allclose(out.numpy(), _keras_relu(x.numpy(), **kwargs), rtol=1e-6, atol=1e-6)


def test_leaky_relu_default_slope_is_keras3_0_3():
    x = torch.tensor([-10.0, -1.0, 0.0, 2.0])
    torch.testing.assert_close(L.LeakyReLU()(x), torch.tensor([-3.0, -0.3, 0.0, 2.0]))
    torch.testing.assert_close(L.LeakyReLU(0.1)(x), F.leaky_relu(x, 0.1))


def test_leaky_relu_alpha_is_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        layer = L.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2
    assert layer.get_config()["negative_slope"] == 0.2


def test_elu_matches_torch():
    x = torch.randn(4, 6)
    torch.testing.assert_close(L.ELU(alpha=0.7)(x), F.elu(x, alpha=0.7))


def test_prelu_matches_torch_prelu_per_channel():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 6, 3)
    layer = L.PReLU(shared_axes=[1, 2])
    layer(x)
    with torch.no_grad():
        layer.alpha.copy_(torch.tensor([0.1, -0.5, 2.0]).reshape(1, 1, 3))
    ref = torch.nn.PReLU(3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor([0.1, -0.5, 2.0]))
    expected = ref(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    torch.testing.assert_close(layer(x), expected)


def test_prelu_alpha_shape_and_default_zero_init():
    layer = L.PReLU()
    x = torch.randn(2, 3, 4)
    out = layer(x)
    assert tuple(layer.alpha.shape) == (3, 4)
    torch.testing.assert_close(out, torch.relu(x))  # alpha starts at zero, as Keras
    layer2 = L.PReLU(shared_axes=1)
    layer2(x)
    assert tuple(layer2.alpha.shape) == (1, 4)


def test_prelu_regularizer_adds_penalty():
    layer = L.PReLU(alpha_initializer="ones", alpha_regularizer=lamina.regularizers.L2(0.5))
    layer(torch.randn(2, 3))
    assert len(layer.losses) == 1
    torch.testing.assert_close(layer.losses[0], torch.tensor(0.5 * 3.0))


def test_prelu_free_axis_needs_sharing():
    with pytest.raises(ValueError, match=r"known size on axis 1.*shared_axes=\[1\]"):
        L.PReLU()(lamina.Input(shape=(None, 4)))
    out = L.PReLU(shared_axes=[1])(lamina.Input(shape=(None, 4)))
    assert out.shape == (None, None, 4)


def test_softmax_matches_torch_and_multi_axis():
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(L.Softmax()(x), torch.softmax(x, -1))
    torch.testing.assert_close(L.Softmax(axis=1)(x), torch.softmax(x, 1))
    expected = torch.softmax(x.reshape(2, 12), -1).reshape(2, 3, 4)
    torch.testing.assert_close(L.Softmax(axis=[1, 2])(x), expected)


def test_softmax_mask_gives_masked_entries_zero_weight():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    mask = torch.tensor([[True, True, False, True]])
    out = L.Softmax()(x, mask=mask)
    expected = torch.softmax(torch.tensor([1.0, 2.0, 4.0]), -1)
    torch.testing.assert_close(out[0, [0, 1, 3]], expected)
    assert out[0, 2] < 1e-6
    # Keras's example values.
    np.testing.assert_allclose(
        L.Softmax()(torch.tensor([1.0, 2.0, 1.0])).numpy(), [0.21194157, 0.5761169, 0.21194157], rtol=1e-6
    )


def test_softmax_mask_of_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"broadcastable to its input shape \(2, 4\).*mask with shape \(3,\)"):
        L.Softmax()(torch.randn(2, 4), mask=torch.ones(3, dtype=torch.bool))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L.ReLU(max_value=-1.0), r"`ReLU` expects `max_value` to be a number >= 0.0. Received: max_value=-1.0"),
        (lambda: L.ReLU(negative_slope=-0.1), r"`ReLU` expects `negative_slope`.*Received: negative_slope=-0.1"),
        (lambda: L.ReLU(threshold=None), r"`ReLU` expects `threshold` to be a number. Received: threshold=None"),
        (lambda: L.LeakyReLU(negative_slope=-1), r"`LeakyReLU` expects `negative_slope`"),
        (lambda: L.ELU(alpha="big"), r"`ELU` expects `alpha` to be a number. Received: alpha='big'"),
        (lambda: L.PReLU(shared_axes=0), r"`PReLU` expects `shared_axes`.*Received: shared_axes=0"),
        (lambda: L.PReLU(alpha_constraint="non_neg"), r"`PReLU` expects `alpha_constraint` to be None"),
        (lambda: L.Softmax(axis="last"), r"`Softmax` expects `axis` to be an integer or a list of integers"),
    ],
)
def test_activation_layers_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_prelu_input_of_another_shape_is_refused():
    layer = L.PReLU()
    layer(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"built for inputs shaped \(batch, 3, 4\).*shape \(2, 5, 4\)"):
        layer(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"Received input with shape \(2, 4\)"):
        layer(torch.randn(2, 4))  # same width, another rank


def test_prelu_shared_axis_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"shared_axes=\[3\].*only 3 axes"):
        L.PReLU(shared_axes=3)(torch.randn(2, 3, 4))


def test_activation_layers_in_a_model_train():
    model = lamina.Sequential([
        lamina.Input(shape=(4,)), L.Dense(8), L.PReLU(), L.Dense(8), L.LeakyReLU(), L.Dense(3), L.Softmax(),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.rand(16, 4).astype("float32"), np.random.randint(0, 3, 16)
    model.fit(x, y, epochs=1, verbose=0)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(np.asarray(probs).sum(-1), 1.0, rtol=1e-5)


def test_docstring_examples_run():
    result = doctest.testmod(activation_layers, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize(
    "input_shape, make_layers",
    [
        ((10, 12, 3), lambda: [
            L.Resizing(8, 8, crop_to_aspect_ratio=True), L.CenterCrop(6, 6), L.Conv2D(4, 3),
            L.GroupNormalization(groups=2), L.PReLU(shared_axes=[1, 2]), L.LeakyReLU(0.1),
            L.GlobalAveragePooling2D(), L.Dense(4), L.UnitNormalization(), L.AlphaDropout(0.1), L.Softmax(),
        ]),
        ((4, 6, 6, 2), lambda: [
            L.Conv3D(3, 3, padding="same"), L.ZeroPadding3D(1), L.MaxPooling3D(2), L.Conv3DTranspose(2, 2, strides=2),
            L.Cropping3D(1), L.UpSampling3D((1, 2, 2)), L.AveragePooling3D(2), L.GlobalMaxPooling3D(), L.Dense(2),
        ]),
        ((9, 3), lambda: [
            L.Conv1DTranspose(4, 3, strides=2), L.SeparableConv1D(4, 3), L.DepthwiseConv1D(3, depth_multiplier=2),
            L.ReLU(max_value=6.0), L.ELU(), L.GlobalAveragePooling1D(), L.Dense(2),
        ]),
    ],
)
def test_new_layers_save_and_load_round_trip(tmp_path, input_shape, make_layers):
    model = lamina.Sequential([lamina.Input(shape=input_shape), *make_layers()])
    x = np.random.rand(2, *input_shape).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
