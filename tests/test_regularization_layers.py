"""Regularisation layers added for issue 4: SpatialDropout1D/2D, GaussianNoise,
GaussianDropout, ActivityRegularization."""

from __future__ import annotations

import doctest

import pytest
import torch
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import regularization
from lamina.layers.layer import pop_call_losses

L = lamina.layers


@pytest.mark.parametrize(
    "cls, kwargs, input_shape",
    [
        (L.SpatialDropout1D, {"rate": 0.5}, (2, 6, 4)),
        (L.SpatialDropout2D, {"rate": 0.5}, (2, 5, 6, 4)),
        (L.SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (2, 4, 5, 6)),
        (L.GaussianNoise, {"stddev": 0.1}, (2, 3)),
        (L.GaussianDropout, {"rate": 0.2}, (2, 3, 4)),
        (L.ActivityRegularization, {"l1": 0.01, "l2": 0.02}, (2, 3)),
    ],
)
def test_regularization_contract(cls, kwargs, input_shape):
    run_layer_test(cls, kwargs, input_shape, input_shape, expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0)
    pop_call_losses()


@pytest.mark.parametrize(
    "layer",
    [L.SpatialDropout2D(0.5), L.GaussianNoise(1.0), L.GaussianDropout(0.5), L.SpatialDropout1D(0.5)],
)
def test_noise_layers_are_identity_in_inference(layer):
    x = torch.randn(2, 4, 4, 3) if isinstance(layer, L.SpatialDropout2D) else torch.randn(2, 4, 3)
    assert layer(x, training=False) is x
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert not torch.equal(layer(x), x)  # training mode (a module's default) adds noise
    assert not torch.equal(layer(x, training=True), x)


def test_spatial_dropout2d_drops_whole_channels():
    torch.manual_seed(0)
    x = torch.ones(8, 5, 6, 16)
    out = L.SpatialDropout2D(0.5)(x, training=True)
    per_channel = out.reshape(8, 30, 16)
    # Each (sample, channel) map is either all zeros or all 1 / (1 - rate).
    assert ((per_channel == 0).all(dim=1) | (per_channel == 2).all(dim=1)).all()
    dropped = (per_channel == 0).all(dim=1).float().mean()
    assert 0.3 < dropped < 0.7


def test_spatial_dropout1d_drops_whole_channels_at_every_step():
    torch.manual_seed(0)
    out = L.SpatialDropout1D(0.25)(torch.ones(16, 7, 8), training=True)
    assert ((out == 0).all(dim=1) | (out == 1 / 0.75).all(dim=1)).all()
    assert (out == 0).any()


def test_gaussian_noise_and_dropout_statistics():
    torch.manual_seed(0)
    x = torch.full((200, 500), 2.0)
    noisy = L.GaussianNoise(0.5)(x, training=True)
    torch.testing.assert_close(noisy.mean(), torch.tensor(2.0), atol=0.01, rtol=0)
    torch.testing.assert_close(noisy.std(), torch.tensor(0.5), atol=0.01, rtol=0)
    dropped = L.GaussianDropout(0.2)(x, training=True)
    # Multiplicative noise of mean 1 and stddev sqrt(0.2 / 0.8) = 0.5.
    torch.testing.assert_close(dropped.mean(), torch.tensor(2.0), atol=0.01, rtol=0)
    torch.testing.assert_close(dropped.std(), torch.tensor(1.0), atol=0.01, rtol=0)


def test_activity_regularization_adds_batch_mean_penalty():
    pop_call_losses()
    x = torch.tensor([[1.0, -2.0], [3.0, 0.0]])
    layer = L.ActivityRegularization(l1=0.1, l2=0.01)
    out = layer(x)
    assert out is x
    (penalty,) = layer.losses
    expected = (0.1 * x.abs().sum() + 0.01 * (x**2).sum()) / 2  # divided by the batch size, as Dense
    torch.testing.assert_close(penalty, expected)
    assert pop_call_losses() == [penalty]
    L.ActivityRegularization()(x)  # both factors zero: no loss term
    assert pop_call_losses() == []


def test_activity_regularization_enters_the_training_loss():
    torch.manual_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(3,)), L.Dense(2), L.ActivityRegularization(l2=1e3)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = torch.randn(8, 3), torch.zeros(8, 2)
    with torch.no_grad():
        pred = model(x)
        plain = ((pred - y) ** 2).mean() + 1e3 * (pred**2).sum() / 8
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    torch.testing.assert_close(torch.tensor(history.history["loss"][0]), plain, rtol=1e-4, atol=1e-4)


def test_regularization_argument_errors():
    with pytest.raises(ValueError, match=r"`SpatialDropout2D` expects `rate` to be a number in \[0\.0, 1\.0\)\. "
                       r"Received: rate=1\.0"):
        L.SpatialDropout2D(1.0)
    with pytest.raises(ValueError, match=r"`GaussianNoise` expects `stddev` to be a number >= 0\.0\. "
                       r"Received: stddev=-1"):
        L.GaussianNoise(-1)
    with pytest.raises(ValueError, match=r"`ActivityRegularization` expects `l1` to be a number >= 0\.0\. "
                       r"Received: l1='a'"):
        L.ActivityRegularization(l1="a")
    with pytest.raises(ValueError, match=r"`SpatialDropout2D` expects `data_format` to be one of"):
        L.SpatialDropout2D(0.1, data_format="NHWC")
    with pytest.raises(ValueError, match=r"\(SpatialDropout2D\) expects inputs of rank 4, shaped "
                       r"\(batch, height, width, channels\)\. Received input with shape \(None, 5, 3\)"):
        L.SpatialDropout2D(0.1)(torch.randn(2, 5, 3))


def test_docstring_examples_run():
    torch.manual_seed(0)
    result = doctest.testmod(regularization)
    assert result.failed == 0 and result.attempted > 0
