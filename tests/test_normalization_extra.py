"""GroupNormalization, UnitNormalization and AlphaDropout: contract, parity with
torch.nn / NumPy, Keras's formulas, errors."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import normalization, regularization

L = lamina.layers


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, n_weights",
    [
        (L.GroupNormalization, {"groups": 2}, (2, 5, 6, 4), 2),
        (L.GroupNormalization, {"groups": -1, "center": False}, (2, 7, 6), 1),
        (L.GroupNormalization, {"groups": 3, "axis": 1, "scale": False}, (2, 6, 5), 1),
        (L.GroupNormalization, {"groups": 2, "scale": False, "beta_initializer": "ones"}, (2, 3, 4), 1),
        (L.GroupNormalization, {"groups": 1, "gamma_regularizer": "l2"}, (2, 6), 2),
        (L.UnitNormalization, {}, (2, 5), 0),
        (L.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4), 0),
        (L.AlphaDropout, {"rate": 0.3}, (2, 3, 4), 0),
        (L.AlphaDropout, {"rate": 0.3, "noise_shape": [None, 1, 4]}, (2, 3, 4), 0),
    ],
)
def test_normalization_extra_contract(cls, kwargs, input_shape, n_weights):
    run_layer_test(cls, kwargs, input_shape, input_shape, expected_num_trainable_weights=n_weights,
                   expected_num_non_trainable_weights=0)


# ---------------------------------------------------------------------------- GroupNormalization


def test_group_normalization_matches_torch_group_norm():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 6, 8) * 3 + 1
    layer = L.GroupNormalization(groups=4)
    layer(x)
    with torch.no_grad():
        layer.gamma.copy_(torch.randn(8))
        layer.beta.copy_(torch.randn(8))
    ref = torch.nn.GroupNorm(4, 8, eps=1e-3)
    with torch.no_grad():
        ref.weight.copy_(layer.gamma)
        ref.bias.copy_(layer.beta)
    expected = ref(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_group_normalization_matches_numpy_keras_formula():
    """Keras: mean/variance per (sample, group) over the group's channels and all
    other axes; `(x - mean) * rsqrt(var + eps) * gamma + beta`."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 6)).astype("float32")
    groups, eps = 3, 1e-3
    g = x.reshape(2, 4, groups, 2)
    mean = g.mean(axis=(1, 3), keepdims=True)
    var = g.var(axis=(1, 3), keepdims=True)
    expected = ((g - mean) / np.sqrt(var + eps)).reshape(2, 4, 6)
    out = L.GroupNormalization(groups=groups)(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_group_normalization_beta_without_gamma_matches_torch():
    x = torch.randn(2, 3, 4)
    layer = L.GroupNormalization(groups=2, scale=False, beta_initializer="ones")
    expected = torch.nn.GroupNorm(2, 4, eps=1e-3, affine=False)(x.transpose(1, 2)).transpose(1, 2) + 1
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_group_normalization_minus_one_is_instance_norm_and_keeps_config():
    x = torch.randn(2, 5, 5, 3)
    layer = L.GroupNormalization(groups=-1)
    expected = F.instance_norm(x.permute(0, 3, 1, 2), eps=1e-3).permute(0, 2, 3, 1)
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-5)
    assert layer.get_config()["groups"] == -1  # not replaced by the channel count


def test_group_normalization_in_a_conv_model_matches_layer_by_layer():
    model = lamina.Sequential([
        lamina.Input(shape=(6, 6, 4)), L.Conv2D(8, 3), L.GroupNormalization(groups=4), L.Conv2D(2, 3),
    ])
    model.eval()
    x = torch.randn(2, 6, 6, 4)
    expected = x
    for layer in model.layers:
        expected = layer(expected)
    torch.testing.assert_close(model(x), expected)


def test_group_normalization_groups_must_divide_channels():
    with pytest.raises(ValueError, match=r"groups=3, which must divide the number of channels.*5 channels"):
        L.GroupNormalization(groups=3)(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match=r"groups=32.*4 channels"):
        L.GroupNormalization()(torch.randn(2, 4))  # Keras's default of 32 groups


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: L.GroupNormalization(groups=0), r"`GroupNormalization` expects `groups` to be a positive integer"),
        (lambda: L.GroupNormalization(axis=[1, 2]), r"`GroupNormalization` expects `axis` to be an integer"),
        (lambda: L.GroupNormalization(epsilon=0), r"`GroupNormalization` expects `epsilon` to be a number > 0.0"),
        (lambda: L.GroupNormalization(center="yes"), r"`GroupNormalization` expects `center` to be True or False"),
        (lambda: L.UnitNormalization(axis="last"), r"`UnitNormalization` expects `axis` to be an integer or a list"),
        (lambda: L.AlphaDropout(1.0), r"`AlphaDropout` expects `rate` to be a number in \[0.0, 1.0\)"),
        (lambda: L.AlphaDropout(0.1, noise_shape=5), r"`AlphaDropout` expects `noise_shape` to be None or a tuple"),
    ],
)
def test_normalization_extra_argument_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_group_normalization_axis_out_of_range_is_explained():
    with pytest.raises(ValueError, match=r"axis=3, which is not a non-batch axis"):
        L.GroupNormalization(groups=1, axis=3)(torch.randn(2, 4, 5))


# ---------------------------------------------------------------------------- UnitNormalization


def test_unit_normalization_matches_f_normalize():
    x = torch.randn(3, 4, 5)
    torch.testing.assert_close(L.UnitNormalization()(x), F.normalize(x, dim=-1, eps=1e-6))
    torch.testing.assert_close(L.UnitNormalization(axis=1)(x), F.normalize(x, dim=1, eps=1e-6))
    out = L.UnitNormalization(axis=[1, 2])(x)
    torch.testing.assert_close(out.square().sum(dim=(1, 2)), torch.ones(3))
    zeros = L.UnitNormalization()(torch.zeros(2, 3))
    assert torch.equal(zeros, torch.zeros(2, 3))  # the 1e-12 floor: no NaN


def test_unit_normalization_axis_out_of_range_is_explained():
    with pytest.raises(ValueError, match=r"axis=3, out of range for inputs of rank 2"):
        L.UnitNormalization(axis=3)(torch.randn(2, 3))


# ---------------------------------------------------------------------------- AlphaDropout


def test_alpha_dropout_is_identity_in_inference():
    x = torch.randn(4, 5)
    assert torch.equal(L.AlphaDropout(0.5)(x, training=False), x)
    layer = L.AlphaDropout(0.5)
    layer.eval()
    assert torch.equal(layer(x), x)


def test_alpha_dropout_values_follow_keras_affine_map():
    rate = 0.25
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    torch.manual_seed(0)
    x = torch.randn(200, 50)
    out = L.AlphaDropout(rate)(x, training=True)
    kept = torch.isclose(out, a * x + b, atol=1e-6)
    dropped = torch.isclose(out, torch.full_like(out, a * alpha_p + b), atol=1e-6)
    assert bool((kept | dropped).all())
    assert abs(dropped.float().mean().item() - rate) < 0.02


def test_alpha_dropout_keeps_selu_statistics():
    torch.manual_seed(0)
    x = torch.randn(400, 500)  # zero mean, unit variance
    out = L.AlphaDropout(0.2)(x, training=True)
    assert abs(out.mean().item()) < 0.02
    assert math.isclose(out.var().item(), 1.0, abs_tol=0.03)


def test_alpha_dropout_noise_shape_shares_the_mask():
    torch.manual_seed(0)
    x = torch.zeros(3, 6, 4)
    out = L.AlphaDropout(0.5, noise_shape=(None, 1, 4))(x, training=True)
    assert torch.equal(out, out[:, :1, :].expand_as(out))  # same mask at every step
    with pytest.raises(ValueError, match=r"noise_shape=\[None, 1\].*rank 2"):
        L.AlphaDropout(0.5, noise_shape=(None, 1))(x, training=True)


def test_docstring_examples_run():
    for module in (normalization, regularization):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__
