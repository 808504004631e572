"""Keras's "endpoint layer" pattern: a layer that takes the targets as inputs, adds its
loss with `add_loss` and updates its own metric; the model compiles without a loss."""

from __future__ import annotations

import numpy as np
import torch

import lamina
from lamina.layers.layer import Layer


class LogisticEndpoint(Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = lamina.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_metric = lamina.metrics.BinaryAccuracy(name="accuracy")

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            self.add_loss(self.loss_fn(targets, logits, sample_weight))
            self.accuracy_metric.update_state(targets, logits, sample_weight)
        return lamina.ops.sigmoid(logits)


def _endpoint_model():
    inputs = lamina.Input((4,), name="inputs")
    logits = lamina.layers.Dense(1, kernel_initializer="zeros")(inputs)
    targets = lamina.Input((1,), name="targets")
    sample_weight = lamina.Input((1,), name="sample_weight")
    preds = LogisticEndpoint()(logits, targets, sample_weight)
    return lamina.Model([inputs, targets, sample_weight], preds)


def test_compile_without_metrics_has_no_compile_metrics_entry_as_keras():
    model = _endpoint_model()
    model.compile(lamina.optimizers.Adam(1e-3))
    assert [m.name for m in model.metrics] == ["loss", "accuracy"]
    model.compile(lamina.optimizers.Adam(1e-3), metrics=["mae"])
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics", "accuracy"]


def test_endpoint_layer_loss_and_metric_drive_fit():
    rng = np.random.default_rng(0)
    targets = (rng.random((64, 1)) > 0.5).astype("float32")
    data = {
        "inputs": rng.random((64, 4)).astype("float32"),
        "targets": targets,
        "sample_weight": np.ones((64, 1), "float32"),
    }
    model = _endpoint_model()
    model.compile(lamina.optimizers.SGD(0.0))  # no update: the first step's values are exact
    history = model.fit(data, batch_size=64, epochs=2, verbose=0)
    # Zero logits: the loss is log(2) for every sample; accuracy counts targets equal to (0 > 0.5).
    np.testing.assert_allclose(history.history["loss"], [np.log(2.0)] * 2, rtol=1e-6)
    np.testing.assert_allclose(history.history["accuracy"], [float((targets == 0).mean())] * 2, rtol=1e-6)
    count = model.layers[-1].accuracy_metric.variables[1]
    assert count.name == "count" and float(count.value) == 64.0  # reset at the start of each epoch


def test_inference_model_shares_weights_and_ignores_missing_targets():
    model = _endpoint_model()
    inputs = lamina.Input((4,), name="inputs")
    logits = lamina.layers.Dense(1)(inputs)
    preds = LogisticEndpoint()(logits, targets=None, sample_weight=None)
    inference = lamina.Model(inputs, preds)
    inference.set_weights(model.get_weights())
    assert [w.shape for w in inference.get_weights()] == [(4, 1), (1,)]
    out = inference.predict(np.ones((3, 4), "float32"), verbose=0)
    np.testing.assert_allclose(out, np.full((3, 1), 0.5))
    assert torch.equal(inference.layers[-1].accuracy_metric.result(), torch.tensor(0.0))


def test_graph_construction_keeps_no_loss_terms_as_keras():
    model = _endpoint_model()  # the endpoint's call ran on placeholder data while the graph was written
    assert model.losses == []
    data = [torch.ones(2, 4), torch.ones(2, 1), torch.ones(2, 1)]
    model(data)
    np.testing.assert_allclose([float(t) for t in model.losses], [np.log(2.0)], rtol=1e-6)
