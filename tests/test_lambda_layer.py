"""layers.Lambda: Keras's function-as-a-layer (arguments, training and mask passing, shapes, saving)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.layer_test_utils import run_layer_test


@lamina.saving.register_keras_serializable(package="tests")
def scale_by(x, factor=2.0):
    return x * factor


def test_lambda_layer_contract_with_a_registered_function():
    run_layer_test(layers.Lambda, {"function": scale_by, "arguments": {"factor": 3.0}}, (2, 4), (2, 4),
                   expected_num_trainable_weights=0, run_training_step=False)


def test_lambda_passes_arguments_training_and_mask_when_named():
    seen = {}

    def fn(x, training=None, mask=None, offset=0.0):
        seen.update(training=training, mask=mask)
        return x + offset

    layer = layers.Lambda(fn, arguments={"offset": 1.5})
    torch.testing.assert_close(layer(torch.zeros(2, 3), training=True), torch.full((2, 3), 1.5))
    assert seen["training"] is True
    plain = layers.Lambda(lambda x: -x)
    torch.testing.assert_close(plain(torch.ones(1, 2)), -torch.ones(1, 2))


def test_lambda_output_shape_and_functional_use():
    inputs = lamina.Input(shape=(4,))
    outputs = layers.Lambda(lambda x: x[:, :2] * 10)(inputs)
    assert tuple(outputs.shape) == (None, 2)
    model = lamina.Model(inputs, outputs)
    np.testing.assert_allclose(model.predict(np.ones((3, 4), "float32"), verbose=0), np.full((3, 2), 10.0))
    assert layers.Lambda(lambda x: x, output_shape=(7,)).compute_output_shape((None, 3)) == (None, 7)
    assert layers.Lambda(lambda x: x.sum(-1)).compute_output_shape((None, 3, 5)) == (None, 3)
    assert layers.Lambda(lambda x: x, output_shape=lambda s: (s[0], 1)).compute_output_shape((2, 3)) == (2, 1)


def test_lambda_mask_argument_sets_the_output_mask():
    layer = layers.Lambda(lambda x: x, mask=lambda inputs, mask: inputs[..., 0] > 0)
    out = layer(torch.tensor([[[1.0], [0.0]]]))
    assert torch.equal(out._keras_mask, torch.tensor([[True, False]]))


def test_lambda_saving_keeps_named_functions_and_refuses_lambdas(tmp_path):
    inputs = lamina.Input(shape=(3,))
    model = lamina.Model(inputs, layers.Lambda(scale_by, arguments={"factor": 4.0})(layers.Dense(2)(inputs)))
    path = tmp_path / "m.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    x = np.random.rand(2, 3).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    config = layers.Lambda(lambda x: x).get_config()
    assert config["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match=r"Python lambda.*Received: function=<lambda>"):
        layers.Lambda.from_config(config)


def test_lambda_rejects_bad_arguments():
    with pytest.raises(TypeError, match=r"callable. Received: function=3"):
        layers.Lambda(3)
    with pytest.raises(TypeError, match=r"Received: arguments=\[1\]"):
        layers.Lambda(scale_by, arguments=[1])
