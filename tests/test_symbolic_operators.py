"""Functional graphs written with Python operators and activations on symbolic tensors, as in Keras."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_symbolic_operators_and_activations_build_graph_nodes():
    inputs = lamina.Input(shape=(3,))
    hidden = layers.Dense(4, kernel_initializer="ones")(inputs)
    out = lamina.activations.sigmoid(hidden) * 5
    out = 1.0 - out / 2 + (-hidden) ** 2 + abs(hidden) // 3 + hidden % 2
    first = hidden[:, 0]
    model = lamina.Model(inputs, [out, first, hidden @ np.ones((4, 2), "float32"), hidden > 0.5])
    x = torch.tensor([[0.1, -0.2, 0.3], [1.0, 2.0, -4.0]])
    got, got_first, got_mm, got_gt = model(x)
    h = x.sum(-1, keepdim=True).expand(2, 4)
    expected = 1.0 - torch.sigmoid(h) * 5 / 2 + h ** 2 + torch.floor_divide(h.abs(), 3) + torch.remainder(h, 2)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got_first, h[:, 0])
    torch.testing.assert_close(got_mm, h @ torch.ones(4, 2))
    assert torch.equal(got_gt, h > 0.5)
    names = [layer.name for layer in model.layers]
    assert "sigmoid" in names and "multiply" in names


def test_symbolic_activation_nodes_survive_config_round_trip():
    inputs = lamina.Input(shape=(2,))
    outputs = lamina.activations.softmax(layers.Dense(3)(inputs), axis=-1) * 2
    sliced = outputs[..., 1:][:, None, ::2]
    model = lamina.Model(inputs, [outputs, sliced])
    clone = lamina.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    x = np.random.rand(4, 2).astype("float32")
    got, got_sliced = model.predict(x, verbose=0)
    for a, b in zip(clone.predict(x, verbose=0), (got, got_sliced)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(got.sum(-1), 2.0, rtol=1e-5)
    np.testing.assert_allclose(got_sliced, got[:, None, 1::2])


def test_activations_keep_their_identity_and_plain_tensor_path():
    act = lamina.activations
    assert act.swish is act.silu and act.get("swish") is act.silu
    assert act.serialize(act.relu) == "relu"
    torch.testing.assert_close(act.relu(torch.tensor([-1.0, 2.0]), max_value=1.0), torch.tensor([0.0, 1.0]))


def test_string_lookup_without_oov_in_a_sequential_on_a_string_input():
    vocabulary = ["a", "b", "c"]
    encoder = lamina.Sequential([
        layers.StringLookup(vocabulary=vocabulary, mask_token=None, num_oov_indices=0),
        layers.Embedding(input_dim=3, output_dim=2),
    ])
    inputs = layers.Input(shape=(), dtype="string")
    model = lamina.Model(inputs, encoder(inputs))
    assert tuple(model.outputs[0].shape) == (None, 2)
    ids_out = model.predict(np.array(["c", "a"]), verbose=0)
    weights = encoder.layers[1].get_weights()[0]
    np.testing.assert_allclose(ids_out, weights[[2, 0]])
    with pytest.raises(ValueError, match=r"num_oov_indices=0.*Received: 'z'"):
        model(np.array(["z"]))


def test_symbolic_ops_that_drop_or_move_the_batch_axis_get_keras_shapes():
    x = lamina.Input(shape=(8,))
    a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
    ops = lamina.ops
    # Keras: a full reduction is a scalar; a reduction over the batch keeps the features;
    # stacking puts the new axis first; reshape(-1, n) merges the batch into an unknown axis.
    assert ops.mean(x).shape == () and ops.sum(x).shape == ()
    assert ops.mean(x, axis=0).shape == (8,) and ops.mean(x, axis=-1).shape == (None,)
    assert ops.stack([a, b]).shape == (2, None, 4)
    assert ops.reshape(lamina.Input(shape=(5, 3)), (-1, 3)).shape == (None, 3)
    # The graph still runs on real batches.
    model = lamina.Model(x, [ops.mean(x, axis=0), ops.mean(x)])
    per_feature, overall = model(torch.arange(24.0).reshape(3, 8))
    torch.testing.assert_close(per_feature, torch.arange(24.0).reshape(3, 8).mean(0))
    assert overall.shape == () and float(overall) == pytest.approx(11.5)


def test_batches_from_an_iterable_keep_string_inputs_for_a_string_model():
    vocabulary = ["a", "b", "c"]
    inputs = layers.Input(name="item", shape=(), dtype="string")
    lookup = layers.StringLookup(vocabulary=vocabulary, mask_token=None, num_oov_indices=0)
    model = lamina.Model(inputs, layers.Embedding(3, 1)(lookup(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    items = np.array(["a", "b", "c", "a"])
    batches = [({"item": items[:2]}, np.ones((2, 1), "float32")),
               ({"item": items[2:]}, np.ones((2, 1), "float32"))]
    loader = torch.utils.data.DataLoader(batches, batch_size=None)
    history = model.fit(loader, epochs=2, validation_data=loader, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(loader, verbose=0).shape == (4, 1)
