"""Layers held in list / tuple / dict attributes are tracked, as in Keras."""

import copy

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class Blocks(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense_list = []
        for units in (3, 4):
            self.dense_list.append(layers.Dense(units))
        self.by_name = {"out": layers.Dense(2)}
        self.pair = (layers.Dense(5), "not a layer")
        self.numbers = [1, 2]

    def call(self, inputs):
        x = inputs
        for layer in self.dense_list:
            x = layer(x)
        return self.by_name["out"](x) + self.pair[0](x)[:, :2]


def test_layers_in_list_dict_tuple_attributes_are_tracked():
    block = Blocks()
    out = block(torch.ones(2, 6))
    assert out.shape == (2, 2)
    assert isinstance(block.dense_list, list) and isinstance(block.by_name, dict)
    assert block.numbers == [1, 2]
    # 4 Dense layers, kernel and bias each.
    assert len(block.trainable_weights) == 8
    keys = set(block.state_dict())
    assert {"dense_list.0.kernel", "dense_list.1.bias", "by_name.out.kernel", "pair.0.kernel"} <= keys
    params = sum(p.numel() for p in block.parameters())
    assert params == (6 * 3 + 3) + (3 * 4 + 4) + (4 * 2 + 2) + (4 * 5 + 5)


def test_tracked_lists_follow_mutations_and_reassignment():
    block = Blocks()
    block(torch.ones(1, 6))
    extra = layers.Dense(1)
    extra.build((None, 4))
    block.dense_list.append(extra)
    assert any(p is extra.kernel for p in block.parameters())
    block.dense_list.pop()
    assert not any(p is extra.kernel for p in block.parameters())
    block.by_name["more"] = extra
    assert any(p is extra.kernel for p in block.parameters())
    block.by_name = None
    assert "by_name" not in dict(block.named_children())
    block.numbers += [3]
    assert block.numbers == [1, 2, 3]


def test_tracked_layers_train_and_copy_in_a_model():
    inputs = lamina.Input(shape=(6,))
    block = Blocks()
    model = lamina.Model(inputs, block(inputs))
    model.compile(optimizer="sgd", loss="mse")
    before = [w.detach().clone() for w in block.dense_list[0].weights]
    model.fit(np.random.rand(8, 6).astype("float32"), np.random.rand(8, 2).astype("float32"), epochs=1, verbose=0)
    assert not torch.equal(before[0], block.dense_list[0].kernel.detach())
    clone = copy.deepcopy(block)
    assert len(clone.trainable_weights) == 8
    assert clone.dense_list[0] is not block.dense_list[0]
    assert clone.dense_list[0] in list(clone.modules())


def test_layer_input_and_output_are_its_first_call_in_the_graph():
    inputs = lamina.Input(shape=(4,))
    dense = layers.Dense(3)
    hidden = dense(inputs)
    head = layers.Dense(2)
    outputs = head(hidden)
    model = lamina.Model(inputs, outputs)
    assert dense.input is inputs and dense.output is hidden and head.input is hidden
    assert model.layers[0].output is inputs and model.layers[0].input is inputs
    merged = layers.Concatenate()([hidden, outputs])
    assert isinstance(merged.node.layer.input, list)
    extractor = lamina.Model(inputs=model.input, outputs=head.input)
    x = np.random.rand(5, 4).astype("float32")
    np.testing.assert_allclose(extractor.predict(x, verbose=0), dense(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    unused = layers.Dense(2)
    with pytest.raises(AttributeError):
        _ = unused.input


class ListAndDict(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense_list = [layers.Dense(3), layers.Dense(2)]
        self.by_name = {"out": layers.Dense(2)}

    def call(self, x):
        for layer in self.dense_list:
            x = layer(x)
        return x + self.by_name["out"](x)


def test_layers_in_containers_use_keras_weight_layout_and_file_paths(tmp_path):
    import h5py

    inputs = lamina.Input(shape=(4,))
    model = lamina.Model(inputs, ListAndDict()(inputs))
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,), (2, 2), (2,)]
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    with h5py.File(path) as f:
        found = []
        f.visit(found.append)
    # The paths Keras 3 writes for this model (checked against a file written by Keras 3.15).
    assert {"layers/list_and_dict/dense_list/dense/vars", "layers/list_and_dict/dense_list/dense_1/vars",
            "layers/list_and_dict/by_name/dense/vars"} <= set(found)
    inputs = lamina.Input(shape=(4,))
    clone = lamina.Model(inputs, ListAndDict()(inputs))
    clone.load_weights(path)
    x = np.random.rand(3, 4).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
