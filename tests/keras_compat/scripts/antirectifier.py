"""Keras 3 example "Simple custom layer example: Antirectifier"
(keras-team/keras-io examples/keras_recipes/antirectifier.py), re-created for Lamina.

A custom layer with a weight made in `build`, a `call` written with `ops`, and a
`get_config` that serializes its initializer, trained in a Sequential model.
"""

import numpy as np

import lamina as keras  # lamina-compat: import
from lamina import layers, ops  # lamina-compat: import


class Antirectifier(layers.Layer):
    def __init__(self, initializer="he_normal", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        output_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(output_dim * 2, output_dim),
            initializer=self.initializer,
            name="kernel",
            trainable=True,
        )

    def call(self, inputs):
        inputs -= ops.mean(inputs, axis=-1, keepdims=True)
        pos = ops.relu(inputs)
        neg = ops.relu(-inputs)
        concatenated = ops.concatenate([pos, neg], axis=-1)
        return ops.matmul(concatenated, self.kernel)

    def get_config(self):
        config = super().get_config()
        extra = {"initializer": keras.initializers.serialize(self.initializer)}
        return dict(list(config.items()) + list(extra.items()))


batch_size = 128
num_classes = 10
epochs = 2  # lamina-compat: data

# lamina-compat: data (MNIST-shaped uint8 images and labels instead of keras.datasets.mnist)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(2000, 28, 28), dtype=np.uint8)
y_train = rng.integers(0, num_classes, size=(2000,), dtype=np.uint8)
x_test = rng.integers(0, 256, size=(500, 28, 28), dtype=np.uint8)
y_test = rng.integers(0, num_classes, size=(500,), dtype=np.uint8)

x_train = x_train.reshape(-1, 784)
x_test = x_test.reshape(-1, 784)
x_train = x_train.astype("float32")
x_test = x_test.astype("float32")
x_train /= 255
x_test /= 255
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        layers.Dense(256),
        Antirectifier(),
        layers.Dense(256),
        Antirectifier(),
        layers.Dropout(0.5),
        layers.Dense(10),
    ]
)

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.15)

model.evaluate(x_test, y_test)
