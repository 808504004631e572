"""Keras 3 example "Trainer pattern"
(keras-team/keras-io examples/keras_recipes/trainer_pattern.py), re-created for Lamina.

One `keras.Model` subclass holds a custom `train_step` / `test_step` with its own
loss and metric and wraps any model (Sequential or functional) to train it. The
original runs on the TensorFlow backend for the gradient computation only
(`tf.GradientTape`); this port computes the gradients the PyTorch way, as Keras's
guide custom_train_step_in_torch.py does, and keeps every Keras call.
"""

import numpy as np
import torch  # lamina-compat: import (torch step instead of tf.GradientTape)

import lamina as keras  # lamina-compat: import

# lamina-compat: data (MNIST-shaped uint8 images and labels instead of keras.datasets.mnist)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(2000, 28, 28), dtype=np.uint8)
y_train = rng.integers(0, 10, size=(2000,), dtype=np.uint8)
x_test = rng.integers(0, 256, size=(500, 28, 28), dtype=np.uint8)
y_test = rng.integers(0, 10, size=(500,), dtype=np.uint8)
x_train, x_test = x_train / 255.0, x_test / 255.0


class MyTrainer(keras.Model):
    def __init__(self, model):
        super().__init__()
        self.model = model
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy()

    @property
    def metrics(self):
        return [self.accuracy_metric]

    def train_step(self, data):
        x, y = data
        # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
        self.zero_grad()
        y_pred = self.model(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()

        trainable_vars = self.trainable_variables
        gradients = [v.value.grad for v in trainable_vars]  # lamina-compat: torch step

        with torch.no_grad():  # lamina-compat: torch step
            self.optimizer.apply_gradients(zip(gradients, trainable_vars))

        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self.model(x, training=False)
        for metric in self.metrics:
            metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def call(self, x):
        x = self.model(x)
        return x


model_a = keras.models.Sequential(
    [
        keras.layers.Flatten(),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ]
)

func_input = keras.Input(shape=(28, 28, 1))
x = keras.layers.Flatten()(func_input)
x = keras.layers.Dense(512, activation="relu")(x)
x = keras.layers.Dropout(0.4)(x)
func_output = keras.layers.Dense(10, activation="softmax")(x)

model_b = keras.Model(func_input, func_output)

trainer_1 = MyTrainer(model_a)
trainer_2 = MyTrainer(model_b)

trainer_1.compile(optimizer=keras.optimizers.SGD())
trainer_1.fit(
    x_train, y_train, epochs=2, batch_size=64, validation_data=(x_test, y_test)  # lamina-compat: data
)

trainer_2.compile(optimizer=keras.optimizers.Adam())
trainer_2.fit(
    x_train, y_train, epochs=2, batch_size=64, validation_data=(x_test, y_test)  # lamina-compat: data
)
