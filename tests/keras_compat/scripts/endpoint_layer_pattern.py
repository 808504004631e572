"""Keras 3 example "Endpoint layer pattern"
(keras-team/keras-io examples/keras_recipes/endpoint_layer_pattern.py), re-created for Lamina.

A layer that takes the targets and sample weights as inputs, adds its loss with
`add_loss` and updates its own metric, used in a functional model trained with
`compile` without a loss, in an inference-only model sharing the weights, and in
a subclassed model. The original runs on the TensorFlow backend for one call,
`tf.nn.softmax`; this port uses its backend-agnostic equivalent `keras.ops.softmax`.
"""

import numpy as np

import lamina as keras  # lamina-compat: import


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_metric = keras.metrics.BinaryAccuracy(name="accuracy")

    def call(self, logits, targets=None, sample_weight=None):
        if targets is not None:
            loss = self.loss_fn(targets, logits, sample_weight)
            self.add_loss(loss)
            self.accuracy_metric.update_state(targets, logits, sample_weight)
        return keras.ops.softmax(logits)  # lamina-compat: backend-agnostic (tf.nn.softmax)


inputs = keras.Input((764,), name="inputs")
logits = keras.layers.Dense(1)(inputs)
targets = keras.Input((1,), name="targets")
sample_weight = keras.Input((1,), name="sample_weight")
preds = LogisticEndpoint()(logits, targets, sample_weight)
model = keras.Model([inputs, targets, sample_weight], preds)

# lamina-compat: data (300 samples instead of 1000)
data = {
    "inputs": np.random.random((300, 764)),
    "targets": np.random.random((300, 1)),
    "sample_weight": np.random.random((300, 1)),
}

model.compile(keras.optimizers.Adam(1e-3))
model.fit(data, epochs=2)


inputs = keras.Input((764,), name="inputs")
logits = keras.layers.Dense(1)(inputs)
preds = LogisticEndpoint()(logits, targets=None, sample_weight=None)
inference_model = keras.Model(inputs, preds)

inference_model.set_weights(model.get_weights())

preds = inference_model.predict(np.random.random((300, 764)))  # lamina-compat: data


class LogReg(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)
        self.logistic_endpoint = LogisticEndpoint()

    def call(self, inputs):
        logits = self.dense(inputs["inputs"])
        preds = self.logistic_endpoint(
            logits=logits,
            targets=inputs["targets"],
            sample_weight=inputs["sample_weight"],
        )
        return preds


model = LogReg()
# lamina-compat: data (300 samples instead of 1000)
data = {
    "inputs": np.random.random((300, 764)),
    "targets": np.random.random((300, 1)),
    "sample_weight": np.random.random((300, 1)),
}

model.compile(keras.optimizers.Adam(1e-3))
model.fit(data, epochs=2)
