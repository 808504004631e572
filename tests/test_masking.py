"""Padding masks: `Masking`, `Embedding(mask_zero=True)` and mask propagation."""

from __future__ import annotations

import doctest

import pytest
import torch
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import (
    LSTM,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    LayerNormalization,
    Masking,
    masking,
)
from lamina.layers.masking import get_mask, set_mask


def test_masking_contract():
    run_layer_test(Masking, {"mask_value": 0.5}, (2, 4, 3), (2, 4, 3), expected_num_trainable_weights=0)


def test_masking_zeroes_padded_steps_and_attaches_mask():
    x = torch.tensor([[[1.0, 2.0], [-1.0, -1.0], [-1.0, 3.0]]])
    out = Masking(mask_value=-1.0)(x)
    assert torch.equal(get_mask(out), torch.tensor([[True, False, True]]))
    assert torch.equal(out, torch.tensor([[[1.0, 2.0], [0.0, 0.0], [-1.0, 3.0]]]))
    images = Masking()(torch.zeros(2, 3, 4, 4))  # steps of any rank: all features compared
    assert not get_mask(images).any()


def test_embedding_mask_zero_attaches_mask_only_when_asked():
    tokens = torch.tensor([[4, 2, 0, 0], [1, 0, 3, 0]])
    assert torch.equal(get_mask(Embedding(5, 3, mask_zero=True)(tokens)), tokens != 0)
    assert get_mask(Embedding(5, 3)(tokens)) is None
    emb = Embedding(5, 3, mask_zero=True)
    assert torch.equal(emb.compute_mask(tokens), get_mask(emb(tokens)))


@pytest.mark.parametrize("layer", [
    Dense(4), Dropout(0.5), LayerNormalization(), lamina.layers.Activation("relu"),
    lamina.layers.TimeDistributed(Dense(2)),
])
def test_mask_passes_through_layers_that_keep_the_time_axis(layer):
    tokens = torch.tensor([[3, 1, 0], [2, 0, 0]])
    x = Embedding(4, 6, mask_zero=True)(tokens)
    layer.train()
    assert torch.equal(get_mask(layer(x)), tokens != 0)


def test_mask_is_dropped_when_the_time_axis_goes():
    x = Embedding(4, 6, mask_zero=True)(torch.tensor([[3, 1, 0]]))
    assert get_mask(Flatten()(x)) is None
    assert get_mask(LSTM(3)(x)) is None
    assert get_mask(Dense(2)(torch.randn(1, 3, 2))) is None  # no mask in, none out


def test_layer_that_sets_its_own_mask_keeps_it():
    class Shift(lamina.layers.Layer):
        def call(self, inputs, training=None):
            return set_mask(inputs * 2, torch.ones(inputs.shape[:2], dtype=torch.bool))

    x = set_mask(torch.randn(2, 3, 4), torch.tensor([[True, False, False]] * 2))
    assert get_mask(Shift()(x)).all()


def test_set_mask_checks_shape():
    with pytest.raises(ValueError, match=r"must have shape \(batch, steps\) = \(2, 3\).*Received: mask with shape \(3,\)"):
        set_mask(torch.randn(2, 3, 4), torch.ones(3, dtype=torch.bool))


def test_masking_rejects_inputs_without_a_features_axis():
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, steps, features\)"):
        Masking()(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"`Masking` expects `mask_value` to be a number"):
        Masking(mask_value="pad")


def test_sequential_masking_lstm_ignores_padding():
    torch.manual_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(None, 3)), Masking(), Dense(5), LSTM(4)])
    x = torch.randn(1, 3, 3)
    padded = torch.cat([x, torch.zeros(1, 4, 3)], dim=1)
    model.eval()
    torch.testing.assert_close(model(padded), model(x))
    plain = [m for m in model.layers if not isinstance(m, Masking)]
    y = padded
    for layer in plain:
        y = layer(y)
    assert not torch.allclose(y, model(x))  # without the mask the padding changes the result


def test_functional_model_carries_mask_and_builds_symbolically():
    tokens_in = lamina.Input(shape=(None,), dtype="int64")
    x = Embedding(10, 4, mask_zero=True)(tokens_in)  # the zero dummy batch is fully masked
    x = Dense(6)(x)
    out = LSTM(3)(x)
    assert out.shape == (None, 3)
    model = lamina.Model(tokens_in, out)
    tokens = torch.tensor([[5, 3, 0, 0, 0], [5, 3, 7, 1, 2]])
    result = model(tokens)
    torch.testing.assert_close(result[:1], model(tokens[:1, :2]))


def test_masking_docstring_examples_run():
    result = doctest.testmod(masking)
    assert result.attempted > 0 and result.failed == 0


def test_mask_attribute_is_keras_name_with_lamina_alias():
    x = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, True, False]] * 2)
    set_mask(x, mask)
    assert x._keras_mask is mask and x._lamina_mask is mask
    y = torch.randn(2, 3, 4)
    y._keras_mask = mask  # as Keras code attaches it
    assert get_mask(y) is mask
    z = torch.randn(2, 3, 4)
    z._lamina_mask = mask  # the older name still reads
    assert get_mask(z) is mask
    # Lamina layers pass a Keras-named mask on under both names.
    out = Dense(2)(y)
    assert out._keras_mask is mask and out._lamina_mask is mask
