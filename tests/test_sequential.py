"""Sequential: add/pop, building with and without an input shape, free axes."""

import pytest
import torch

import lamina
from lamina import layers


def test_sequential_add_builds_when_input_known():
    model = lamina.Sequential()
    model.add(lamina.Input(shape=(5,)))
    model.add(layers.Dense(3))
    assert model.built and model.count_params() == 18
    model.add(layers.Dense(2))
    assert model.count_params() == 18 + 8
    popped = model.pop()
    assert isinstance(popped, layers.Dense) and len(model.layers) == 1


def test_sequential_input_shape_on_first_layer():
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
    assert model.built and model.count_params() == 16 + 5


def test_sequential_without_input_builds_on_first_call():
    model = lamina.Sequential([layers.Dense(4), layers.Dense(1)])
    assert not model.built
    out = model(torch.ones(2, 7))
    assert out.shape == (2, 1) and model.count_params() == 7 * 4 + 4 + 5


def test_sequential_free_spatial_axes_build_without_dummy_sizes(capsys):
    model = lamina.Sequential([
        lamina.Input(shape=(None, None, 3)),
        layers.Conv2D(4, 5),
        layers.GlobalMaxPooling2D(),
        layers.Dense(2),
    ])
    assert model.count_params() == 5 * 5 * 3 * 4 + 4 + 4 * 2 + 2
    assert model(torch.randn(2, 9, 11, 3)).shape == (2, 2)
    model.summary()
    assert "(None, None, None, 4)" in capsys.readouterr().out


def test_sequential_rejects_duplicate_names_and_non_layers():
    with pytest.raises(ValueError, match=r"unique names. The name 'h' is already used"):
        lamina.Sequential([layers.Dense(2, name="h"), layers.Dense(2, name="h")])
    with pytest.raises(TypeError, match=r"accepts only layers .* Received: 3 of type int"):
        lamina.Sequential([3])


def test_sequential_accepts_plain_torch_modules():
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3), torch.nn.ReLU(), layers.Dense(1)])
    model.compile("sgd", "mse")
    hist = model.fit(torch.randn(16, 4), torch.randn(16, 1), epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
