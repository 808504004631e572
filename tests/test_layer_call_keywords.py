"""A call's first input passed by keyword, as Keras allows (`layer(logits=x, targets=y)`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.layer import Layer


class Endpoint(Layer):
    def call(self, logits, targets=None, sample_weight=None):
        out = logits * 2.0
        if targets is not None:
            out = out + targets
        if sample_weight is not None:
            out = out * sample_weight
        return out


def test_layer_call_first_input_by_keyword_equals_positional():
    x, t, w = torch.ones(2, 1), torch.full((2, 1), 3.0), torch.full((2, 1), 0.5)
    layer = Endpoint()
    by_keyword = layer(logits=x, targets=t, sample_weight=w)
    np.testing.assert_array_equal(by_keyword.numpy(), layer(x, t, w).numpy())
    np.testing.assert_array_equal(by_keyword.numpy(), np.full((2, 1), 2.5))
    np.testing.assert_array_equal(layer(logits=x).numpy(), np.full((2, 1), 2.0))


def test_layer_call_inputs_keyword_builds_builtin_layer():
    dense = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    np.testing.assert_array_equal(dense(inputs=torch.ones(1, 3)).detach().numpy(), [[3.0, 3.0]])


def test_symbolic_call_first_input_by_keyword():
    inputs = lamina.Input((1,))
    out = Endpoint()(logits=inputs, targets=None)
    model = lamina.Model(inputs, out)
    np.testing.assert_allclose(model.predict(np.ones((3, 1), "float32"), verbose=0), np.full((3, 1), 2.0))


def test_subclassed_model_calls_sublayer_with_keywords_only():
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
            self.endpoint = Endpoint()

        def call(self, inputs):
            return self.endpoint(logits=self.dense(inputs["x"]), targets=inputs["t"])

    net = Net()
    out = net(inputs={"x": np.ones((2, 3), "float32"), "t": np.ones((2, 1), "float32")})
    np.testing.assert_array_equal(out.detach().numpy(), np.full((2, 1), 7.0))


def test_missing_first_input_names_it_in_house_form():
    expected = (
        r"Layer 'ep' \(Endpoint\) was called without its first input `logits` \(its "
        r"`call\(self, logits, targets=None, sample_weight=None\)`\)\. Received: keyword "
        r"arguments targets only\. Pass the input positionally or as `logits=`\."
    )
    with pytest.raises(TypeError, match=expected):
        Endpoint(name="ep")(targets=torch.ones(1))


def test_functional_call_with_tensors_by_keyword_as_keras():
    logits, targets, weights = lamina.Input((1,)), lamina.Input((1,)), lamina.Input((1,))
    out = Endpoint()(logits, targets=targets, sample_weight=weights)
    model = lamina.Model([logits, targets, weights], out)
    x, t, w = np.ones((2, 1), "float32"), np.full((2, 1), 3.0, "float32"), np.full((2, 1), 0.5, "float32")
    np.testing.assert_allclose(model.predict([x, t, w], verbose=0), np.full((2, 1), 2.5))
    first_by_keyword = Endpoint()(logits=logits, targets=targets)  # every tensor by keyword
    model = lamina.Model([logits, targets], first_by_keyword)
    np.testing.assert_allclose(model.predict([x, t], verbose=0), np.full((2, 1), 5.0))


def test_functional_keyword_tensor_out_of_call_order_is_refused():
    logits, weights = lamina.Input((1,)), lamina.Input((1,))
    with pytest.raises(TypeError, match="received a symbolic tensor as the keyword argument `sample_weight`"):
        Endpoint()(logits, sample_weight=weights)  # `targets` would sit between them


def test_functional_config_replays_several_positional_tensors(tmp_path):
    logits, targets, weights = lamina.Input((1,)), lamina.Input((1,)), lamina.Input((1,))
    model = lamina.Model([logits, targets, weights], Endpoint()(logits, targets=targets, sample_weight=weights))
    x = [np.ones((2, 1), "float32"), np.full((2, 1), 3.0, "float32"), np.full((2, 1), 0.5, "float32")]
    clone = lamina.Model.from_config(model.get_config(), custom_objects={"Endpoint": Endpoint})
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    with lamina.saving.custom_object_scope({"Endpoint": Endpoint}):
        model.save(tmp_path / "m.lamina")
        loaded = lamina.load_model(tmp_path / "m.lamina")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.full((2, 1), 2.5))


def test_keras_file_replays_several_positional_tensors(tmp_path):
    logits, targets, weights = lamina.Input((1,)), lamina.Input((1,)), lamina.Input((1,))
    model = lamina.Model([logits, targets, weights], Endpoint()(logits, targets, weights))
    x = [np.ones((2, 1), "float32"), np.full((2, 1), 3.0, "float32"), np.full((2, 1), 0.5, "float32")]
    with lamina.saving.custom_object_scope({"Endpoint": Endpoint}):
        model.save(tmp_path / "m.keras")
        loaded = lamina.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.full((2, 1), 2.5))


def test_training_context_is_per_thread():
    """A sub-layer inherits the training flag of its caller in the same thread only: a
    server's worker predicting while another thread trains sees its own flag."""
    import threading

    import torch

    import lamina
    from lamina.layers.call_spec import TRAINING_CONTEXT

    seen = {}
    inside = threading.Event()
    release = threading.Event()

    class Probe(lamina.layers.Layer):
        def call(self, inputs, training=None):
            seen[threading.current_thread().name] = training
            if threading.current_thread().name == "trainer":
                inside.set()
                release.wait(10)
            return inputs

    class Outer(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, inputs, training=None):
            return self.probe(inputs)  # no `training=`: inherited from the caller

    outer = Outer()
    trainer = threading.Thread(target=lambda: outer(torch.ones(1, 2), training=True), name="trainer")
    trainer.start()
    assert inside.wait(10)
    outer(torch.ones(1, 2), training=False)  # while the trainer thread is inside its call
    release.set()
    trainer.join(10)
    assert seen == {"trainer": True, threading.current_thread().name: False}
    assert TRAINING_CONTEXT.value is None
