"""Keras 3 example "Evaluating and exporting scikit-learn metrics in a Keras callback"
(keras-team/keras-io examples/keras_recipes/sklearn_metric_callbacks.py), re-created for Lamina.

A `keras.callbacks.Callback` that predicts on held-out data at the end of every
epoch, scores it with scikit-learn's `jaccard_score`, averages it with a
`keras.metrics.Mean` and writes it to TensorBoard. The original writes the
scalar with TensorFlow's `tf.summary` (its only TensorFlow call); this port
writes it with the backend-agnostic TensorBoard writer that ships with PyTorch.
"""

import os

import numpy as np
from sklearn.metrics import jaccard_score
from torch.utils.tensorboard import SummaryWriter  # lamina-compat: import (tf.summary writer)

import lamina as keras  # lamina-compat: import
from lamina import layers  # lamina-compat: import


class JaccardScoreCallback(keras.callbacks.Callback):
    def __init__(self, name, x_test, y_test, log_dir):
        self.x_test = x_test
        self.y_test = y_test
        self.keras_metric = keras.metrics.Mean("jaccard_score")
        self.epoch = 0
        # lamina-compat: tf.summary.create_file_writer -> SummaryWriter
        self.summary_writer = SummaryWriter(os.path.join(log_dir, name))

    def on_epoch_end(self, batch, logs=None):
        self.epoch += 1
        self.keras_metric.reset_state()
        predictions = self.model.predict(self.x_test)
        jaccard_value = jaccard_score(np.argmax(predictions, axis=-1), self.y_test, average=None)
        self.keras_metric.update_state(jaccard_value)
        self._write_metric(self.keras_metric.name, self.keras_metric.result().numpy().astype(float))

    def _write_metric(self, name, value):
        # lamina-compat: tf.summary.scalar under the writer -> SummaryWriter.add_scalar
        self.summary_writer.add_scalar(name, value, global_step=self.epoch)
        self.summary_writer.flush()


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
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
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
callbacks = [JaccardScoreCallback(model.name, x_test, np.argmax(y_test, axis=-1), "logs")]
model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_split=0.1,
    callbacks=callbacks,
)
