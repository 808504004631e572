"""Keras 3 example "Customizing the convolution operation of a Conv2D layer"
(keras-team/keras-io examples/keras_recipes/subclassing_conv_layers.py), re-created for Lamina.

Two `layers.Conv2D` subclasses standardize their kernel: one overrides
`convolution_op`, the other calls it from its own `call`; both train in a
Sequential model. The original runs on the TensorFlow backend for three calls
(`tf.nn.moments`, `tf.nn.conv2d`, `tf.sqrt`); this port uses their
backend-agnostic equivalents in `keras.ops` (`moments`, `conv`, `sqrt`).
"""

import numpy as np

import lamina as keras  # lamina-compat: import
from lamina import layers, ops  # lamina-compat: import


class StandardizedConv2DWithOverride(layers.Conv2D):
    def convolution_op(self, inputs, kernel):
        mean, var = ops.moments(kernel, axes=[0, 1, 2], keepdims=True)  # lamina-compat: tf.nn.moments
        return ops.conv(  # lamina-compat: tf.nn.conv2d (its `name` argument has no ops counterpart)
            inputs,
            (kernel - mean) / ops.sqrt(var + 1e-10),  # lamina-compat: tf.sqrt
            padding="valid",
            strides=list(self.strides),
        )


class StandardizedConv2DWithCall(layers.Conv2D):
    def call(self, inputs):
        mean, var = ops.moments(self.kernel, axes=[0, 1, 2], keepdims=True)  # lamina-compat: tf.nn.moments
        result = self.convolution_op(inputs, (self.kernel - mean) / ops.sqrt(var + 1e-10))  # lamina-compat: tf.sqrt
        if self.use_bias:
            result = result + self.bias
        return result


num_classes = 10
input_shape = (28, 28, 1)

# lamina-compat: data (MNIST-shaped uint8 images and labels instead of keras.datasets.mnist)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(1500, 28, 28), dtype=np.uint8)
y_train = rng.integers(0, num_classes, size=(1500,), dtype=np.uint8)
x_test = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
y_test = rng.integers(0, num_classes, size=(300,), dtype=np.uint8)

x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.layers.Input(shape=input_shape),
        StandardizedConv2DWithCall(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        StandardizedConv2DWithOverride(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = 2  # lamina-compat: data

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=2, validation_split=0.1)  # lamina-compat: data
