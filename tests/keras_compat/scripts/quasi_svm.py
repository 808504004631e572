"""Keras example "A Quasi-SVM in Keras"
(keras-team/keras-io examples/keras_recipes/quasi_svm.py), re-created for Lamina.

A `RandomFourierFeatures` layer followed by a linear `Dense` layer, trained with
the hinge loss: an approximate kernel SVM, with one-hot labels from
`keras.utils.to_categorical` and a named `CategoricalAccuracy` metric. The example
exists only in its Keras 2 form (`tensorflow.keras`, with the layer under
`layers.experimental`); it uses no TensorFlow op, so only its imports change.
"""

import numpy as np

import lamina as keras  # lamina-compat: import
from lamina import layers  # lamina-compat: import
from lamina.layers import RandomFourierFeatures  # lamina-compat: import

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        RandomFourierFeatures(
            output_dim=4096, scale=10.0, kernel_initializer="gaussian"
        ),
        layers.Dense(units=10),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss=keras.losses.hinge,
    metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
)

# lamina-compat: data (MNIST-shaped uint8 images and labels instead of keras.datasets.mnist)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(1000, 28, 28), dtype=np.uint8)
y_train = rng.integers(0, 10, size=(1000,), dtype=np.uint8)
x_test = rng.integers(0, 256, size=(200, 28, 28), dtype=np.uint8)
y_test = rng.integers(0, 10, size=(200,), dtype=np.uint8)

x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255

y_train = keras.utils.to_categorical(y_train)
y_test = keras.utils.to_categorical(y_test)

model.fit(x_train, y_train, epochs=2, batch_size=128, validation_split=0.2)  # lamina-compat: data (epochs=20)
