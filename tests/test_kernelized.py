"""RandomFourierFeatures: Keras 2's layer (shapes, weights, config, the kernels it approximates)."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import RandomFourierFeatures
from tests.layer_test_utils import run_layer_test


def test_random_fourier_features_layer_contract():
    run_layer_test(
        RandomFourierFeatures, {"output_dim": 8, "scale": 2.0}, (4, 3), (4, 8),
        expected_num_trainable_weights=0, expected_num_non_trainable_weights=3,
        run_training_step=False,
    )
    layer = run_layer_test(
        RandomFourierFeatures, {"output_dim": 8, "kernel_initializer": "laplacian", "trainable": True},
        (4, 3), (4, 8), expected_num_trainable_weights=1, expected_num_non_trainable_weights=2,
    )
    assert layer.trainable_weights[0] is layer.kernel_scale


def test_random_fourier_features_formula_and_default_scales():
    torch.manual_seed(0)
    layer = RandomFourierFeatures(output_dim=6)
    x = torch.randn(5, 8)
    out = layer(x)
    # Keras 2: sqrt(2 / output_dim) * cos(x @ W / scale + b); scale sqrt(input_dim / 2) for gaussian.
    assert layer.scale == pytest.approx(2.0)
    w, b = layer.unscaled_kernel.detach().numpy(), layer.bias.detach().numpy()
    ref = np.sqrt(2 / 6) * np.cos(x.numpy() @ w / 2.0 + b)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-5, atol=1e-6)
    assert tuple(w.shape) == (8, 6) and 0 <= b.min() and b.max() < 2 * math.pi
    laplacian = RandomFourierFeatures(3, kernel_initializer="laplacian")
    laplacian.build((None, 8))
    assert laplacian.scale == 1.0


@pytest.mark.parametrize(
    ("kernel_initializer", "kernel"),
    [
        ("gaussian", lambda x, y, s: np.exp(-np.sum((x - y) ** 2, -1) / (2 * s * s))),
        ("laplacian", lambda x, y, s: np.exp(-np.sum(np.abs(x - y), -1) / s)),
    ],
)
def test_random_fourier_features_approximate_their_kernel(kernel_initializer, kernel):
    torch.manual_seed(1)
    layer = RandomFourierFeatures(20000, kernel_initializer=kernel_initializer, scale=1.5)
    x = torch.randn(6, 2) * 0.5
    feats = layer(x).detach().double().numpy()
    approx = feats @ feats.T
    xs = x.double().numpy()
    exact = kernel(xs[:, None, :], xs[None, :, :], 1.5)
    np.testing.assert_allclose(approx, exact, atol=0.05)


def test_random_fourier_features_bad_arguments_raise_house_errors():
    with pytest.raises(ValueError, match=r"Received: output_dim=0"):
        RandomFourierFeatures(0)
    with pytest.raises(ValueError, match=r"Received: kernel_initializer='poly'"):
        RandomFourierFeatures(4, kernel_initializer="poly")
    with pytest.raises(ValueError, match=r"scale"):
        RandomFourierFeatures(4, scale=0.0)
    with pytest.raises(ValueError, match=r"expects a 2-D input"):
        RandomFourierFeatures(4)(torch.ones(2, 3, 4))


def test_random_fourier_features_in_a_hinge_model_trains_the_dense_head_only():
    model = lamina.Sequential([
        lamina.Input(shape=(5,)), RandomFourierFeatures(output_dim=32, scale=3.0), lamina.layers.Dense(3),
    ])
    model.compile(optimizer="adam", loss=lamina.losses.hinge)
    rff = model.layers[0]
    before = rff.unscaled_kernel.detach().clone()
    model.fit(np.random.rand(16, 5).astype("float32"), np.eye(3)[np.arange(16) % 3], epochs=1, verbose=0)
    assert torch.equal(before, rff.unscaled_kernel.detach())
    clone = RandomFourierFeatures.from_config(rff.get_config())
    assert clone.get_config() == rff.get_config()


def test_random_fourier_features_kernel_scale_stays_non_negative():
    layer = RandomFourierFeatures(4, scale=1.0, trainable=True)
    layer.build((None, 3))
    assert isinstance(layer.kernel_scale.constraint, lamina.constraints.NonNeg)
    lamina.optimizers.SGD(1.0).apply([torch.tensor([10.0])], [layer.kernel_scale])
    assert float(layer.kernel_scale.detach()) == 0.0
