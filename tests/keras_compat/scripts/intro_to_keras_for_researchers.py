"""Keras guide "Introduction to Keras for Researchers"
(keras-team/keras-io guides/intro_to_keras_for_researchers.py), re-created for Lamina.

Tensors, variables and gradients; layers with weights made in `__init__` or
`build`, trainable and frozen weights, nested layers, `add_loss`, metrics in a
hand-written loop, training and inference modes, the functional API, `fit` /
`predict` / `evaluate`, a `Model` subclass with its own `train_step`, and a
variational autoencoder written as nested layers and as a functional model.

keras-io has only a TensorFlow edition of this guide (`tf.*` tensors, `tf.GradientTape`,
`tf.function`, `tf.data`). This port keeps every Keras call in order and writes the
TensorFlow parts the way Keras 3 does on the PyTorch backend:
- `tf.constant` / `tf.ones` / `tf.zeros` / `tf.square` / `tf.exp` / `tf.sqrt` /
  `tf.matmul` / `tf.reduce_sum` / `tf.reduce_mean` / `tf.shape` / `tf.nn.relu` /
  `tf.nn.sigmoid` become their `keras.ops` names, `tf.random.normal` and
  `tf.keras.backend.random_normal` become `keras.random.normal`,
  `tf.random.uniform(dtype="int32")` becomes `keras.random.randint` (Keras 3's
  `uniform` is for floats), `tf.nn.dropout` becomes `keras.random.dropout`,
  `tf.Variable(initial_value=...)` becomes `keras.Variable(initializer=...)` (Keras 3's
  argument name) and the `tf.*_initializer()` objects their `keras.initializers` classes;
- each `tf.GradientTape` block becomes the PyTorch step of keras-io's
  guides/writing_a_custom_training_loop_in_torch.py (`zero_grad`, `backward`,
  `v.value.grad`, the optimizer under `torch.no_grad()`), and `tape.watch` /
  `tape.gradient` on plain tensors become `requires_grad_` / `torch.autograd.grad`;
- `@tf.function` is dropped (Keras 3 has no decorator for a free function);
- `tf.data` pipelines over MNIST become PyTorch DataLoaders over MNIST-shaped arrays;
- `metric.reset_states()` is `reset_state()`, the only name Keras 3 has.
Two parts of the guide are not expressible in Keras 3 and are left out: the
functional VAE's `vae.add_loss(kl_loss)` on a symbolic tensor (Keras 3 raises
"`add_loss()` can only be called from inside `build()` or `call()`"; that VAE is
trained on the reconstruction loss only), and the hypernetwork, which assigns
tensors to `Dense.kernel` (a read-only property in Keras 3; Lamina raises the same
AttributeError).
"""

# ruff: noqa: UP008, UP031  (the guide's super(Cls, self) calls and %-formatting are kept)

import numpy as np
import torch  # lamina-compat: import (PyTorch autograd and DataLoader instead of tf)

import lamina as keras  # lamina-compat: import

x = keras.ops.convert_to_tensor([[5, 2], [1, 3]])  # lamina-compat: backend-agnostic (tf.constant)
print(x)

x.numpy()

print("dtype:", x.dtype)
print("shape:", x.shape)

print(keras.ops.ones(shape=(2, 1)))  # lamina-compat: backend-agnostic (tf.ones)
print(keras.ops.zeros(shape=(2, 1)))  # lamina-compat: backend-agnostic (tf.zeros)

x = keras.random.normal(shape=(2, 2), mean=0.0, stddev=1.0)  # lamina-compat: backend-agnostic

x = keras.random.randint(shape=(2, 2), minval=0, maxval=10, dtype="int32")  # lamina-compat: backend-agnostic

initial_value = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic
a = keras.Variable(initial_value)  # lamina-compat: backend-agnostic (tf.Variable)
print(a)

new_value = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic
a.assign(new_value)
for i in range(2):
    for j in range(2):
        assert a[i, j] == new_value[i, j]

added_value = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic
a.assign_add(added_value)
for i in range(2):
    for j in range(2):
        assert a[i, j] == new_value[i, j] + added_value[i, j]

a = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic
b = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic

c = a + b
d = keras.ops.square(c)  # lamina-compat: backend-agnostic (tf.square)
e = keras.ops.exp(d)  # lamina-compat: backend-agnostic (tf.exp)

a = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic
b = keras.random.normal(shape=(2, 2))  # lamina-compat: backend-agnostic

a.requires_grad_()  # lamina-compat: torch autograd (tape.watch(a))
c = keras.ops.sqrt(keras.ops.square(a) + keras.ops.square(b))  # lamina-compat: backend-agnostic
(dc_da,) = torch.autograd.grad(c.sum(), a)  # lamina-compat: torch autograd (tape.gradient)
print(dc_da)

a = keras.Variable(a)  # lamina-compat: backend-agnostic (tf.Variable)

c = keras.ops.sqrt(keras.ops.square(a) + keras.ops.square(b))  # lamina-compat: backend-agnostic
(dc_da,) = torch.autograd.grad(c.sum(), a)  # lamina-compat: torch autograd (tape.gradient)
print(dc_da)

# lamina-compat: torch autograd (nested tapes -> create_graph=True)
c = keras.ops.sqrt(keras.ops.square(a) + keras.ops.square(b))
(dc_da,) = torch.autograd.grad(c.sum(), a, create_graph=True)
(d2c_da2,) = torch.autograd.grad(dc_da.sum(), a)
print(d2c_da2)


class Linear(keras.layers.Layer):
    def __init__(self, units=32, input_dim=32):
        super(Linear, self).__init__()
        w_init = keras.initializers.RandomNormal()  # lamina-compat: backend-agnostic
        self.w = keras.Variable(  # lamina-compat: backend-agnostic (tf.Variable)
            initializer=w_init(shape=(input_dim, units), dtype="float32"),  # lamina-compat: Keras 3 name
            trainable=True,
        )
        b_init = keras.initializers.Zeros()  # lamina-compat: backend-agnostic
        self.b = keras.Variable(  # lamina-compat: backend-agnostic (tf.Variable)
            initializer=b_init(shape=(units,), dtype="float32"), trainable=True  # lamina-compat: Keras 3 name
        )

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b  # lamina-compat: backend-agnostic


linear_layer = Linear(units=4, input_dim=2)

y = linear_layer(keras.ops.ones((2, 2)))  # lamina-compat: backend-agnostic (tf.ones)
assert y.shape == (2, 4)

assert linear_layer.weights == [linear_layer.w, linear_layer.b]


class Linear(keras.layers.Layer):
    def __init__(self, units=32):
        super(Linear, self).__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,), initializer="random_normal", trainable=True
        )

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b  # lamina-compat: backend-agnostic


linear_layer = Linear(4)

y = linear_layer(keras.ops.ones((2, 2)))  # lamina-compat: backend-agnostic (tf.ones)

# lamina-compat: data (MNIST-shaped uint8 images and labels instead of keras.datasets.mnist)
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(640, 28, 28), dtype=np.uint8)
y_train = rng.integers(0, 10, size=(640,), dtype=np.uint8)
# lamina-compat: data (shuffled DataLoader of 64-sample batches instead of tf.data)
dataset = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(
        torch.from_numpy(x_train.reshape(640, 784).astype("float32") / 255),
        torch.from_numpy(y_train),
    ),
    batch_size=64,
    shuffle=True,
)

linear_layer = Linear(10)

loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

optimizer = keras.optimizers.SGD(learning_rate=1e-3)

for step, (x, y) in enumerate(dataset):
    # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
    logits = linear_layer(x)

    loss = loss_fn(y, logits)

    linear_layer.zero_grad()  # lamina-compat: torch step
    loss.backward()  # lamina-compat: torch step
    gradients = [v.value.grad for v in linear_layer.trainable_weights]  # lamina-compat: torch step

    with torch.no_grad():  # lamina-compat: torch step
        optimizer.apply_gradients(zip(gradients, linear_layer.trainable_weights))

    if step % 100 == 0:
        print("Step:", step, "Loss:", float(loss))


class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super(ComputeSum, self).__init__()
        self.total = keras.Variable(  # lamina-compat: backend-agnostic (tf.Variable, tf.zeros)
            initializer=keras.ops.zeros((input_dim,)), trainable=False  # lamina-compat: Keras 3 name
        )

    def call(self, inputs):
        self.total.assign_add(keras.ops.sum(inputs, axis=0))  # lamina-compat: backend-agnostic
        return self.total


my_sum = ComputeSum(2)
x = keras.ops.ones((2, 2))  # lamina-compat: backend-agnostic (tf.ones)

y = my_sum(x)
print(y.numpy())

y = my_sum(x)
print(y.numpy())

assert my_sum.weights == [my_sum.total]
assert my_sum.non_trainable_weights == [my_sum.total]
assert my_sum.trainable_weights == []


class MLP(keras.layers.Layer):
    def __init__(self):
        super(MLP, self).__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(10)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.ops.relu(x)  # lamina-compat: backend-agnostic (tf.nn.relu)
        x = self.linear_2(x)
        x = keras.ops.relu(x)  # lamina-compat: backend-agnostic (tf.nn.relu)
        return self.linear_3(x)


mlp = MLP()

y = mlp(keras.ops.ones(shape=(3, 64)))  # lamina-compat: backend-agnostic (tf.ones)

assert len(mlp.weights) == 6

mlp = keras.Sequential(
    [
        keras.layers.Dense(32, activation=keras.ops.relu),  # lamina-compat: backend-agnostic
        keras.layers.Dense(32, activation=keras.ops.relu),  # lamina-compat: backend-agnostic
        keras.layers.Dense(10),
    ]
)


class ActivityRegularization(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super(ActivityRegularization, self).__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * keras.ops.sum(inputs))  # lamina-compat: backend-agnostic
        return inputs


class SparseMLP(keras.layers.Layer):
    def __init__(self):
        super(SparseMLP, self).__init__()
        self.linear_1 = Linear(32)
        self.regularization = ActivityRegularization(1e-2)
        self.linear_3 = Linear(10)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.ops.relu(x)  # lamina-compat: backend-agnostic (tf.nn.relu)
        x = self.regularization(x)
        return self.linear_3(x)


mlp = SparseMLP()
y = mlp(keras.ops.ones((10, 10)))  # lamina-compat: backend-agnostic (tf.ones)

print(mlp.losses)

mlp = SparseMLP()
mlp(keras.ops.ones((10, 10)))  # lamina-compat: backend-agnostic (tf.ones)
assert len(mlp.losses) == 1
mlp(keras.ops.ones((10, 10)))  # lamina-compat: backend-agnostic (tf.ones)
assert len(mlp.losses) == 1

# lamina-compat: data (the same MNIST-shaped arrays and DataLoader as above, instead of tf.data)
dataset = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(
        torch.from_numpy(x_train.reshape(640, 784).astype("float32") / 255),
        torch.from_numpy(y_train),
    ),
    batch_size=64,
    shuffle=True,
)

mlp = SparseMLP()

loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.SGD(learning_rate=1e-3)

for step, (x, y) in enumerate(dataset):
    # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
    logits = mlp(x)

    loss = loss_fn(y, logits)

    loss += sum(mlp.losses)

    mlp.zero_grad()  # lamina-compat: torch step
    loss.backward()  # lamina-compat: torch step
    gradients = [v.value.grad for v in mlp.trainable_weights]  # lamina-compat: torch step

    with torch.no_grad():  # lamina-compat: torch step
        optimizer.apply_gradients(zip(gradients, mlp.trainable_weights))

    if step % 100 == 0:
        print("Step:", step, "Loss:", float(loss))

accuracy = keras.metrics.SparseCategoricalAccuracy()

model = keras.Sequential(
    [
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10),
    ]
)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)

for epoch in range(2):
    for step, (x, y) in enumerate(dataset):
        # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
        logits = model(x)
        loss_value = loss_fn(y, logits)

        accuracy.update_state(y, logits)

        model.zero_grad()  # lamina-compat: torch step
        loss_value.backward()  # lamina-compat: torch step
        gradients = [v.value.grad for v in model.trainable_weights]  # lamina-compat: torch step
        with torch.no_grad():  # lamina-compat: torch step
            optimizer.apply_gradients(zip(gradients, model.trainable_weights))

        if step % 200 == 0:
            print("Epoch:", epoch, "Step:", step)
            print("Total running accuracy so far: %.3f" % accuracy.result())

    accuracy.reset_state()  # lamina-compat: Keras 3 name (reset_states)

model = keras.Sequential(
    [
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10),
    ]
)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)


def train_on_batch(x, y):  # lamina-compat: no @tf.function
    # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
    logits = model(x)
    loss = loss_fn(y, logits)
    model.zero_grad()  # lamina-compat: torch step
    loss.backward()  # lamina-compat: torch step
    gradients = [v.value.grad for v in model.trainable_weights]  # lamina-compat: torch step
    with torch.no_grad():  # lamina-compat: torch step
        optimizer.apply_gradients(zip(gradients, model.trainable_weights))
    return loss


# lamina-compat: data (the same MNIST-shaped arrays and DataLoader as above, instead of tf.data)
dataset = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(
        torch.from_numpy(x_train.reshape(640, 784).astype("float32") / 255),
        torch.from_numpy(y_train),
    ),
    batch_size=64,
    shuffle=True,
)

for step, (x, y) in enumerate(dataset):
    loss = train_on_batch(x, y)
    if step % 100 == 0:
        print("Step:", step, "Loss:", float(loss))


class Dropout(keras.layers.Layer):
    def __init__(self, rate):
        super(Dropout, self).__init__()
        self.rate = rate

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate)  # lamina-compat: backend-agnostic
        return inputs


class MLPWithDropout(keras.layers.Layer):
    def __init__(self):
        super(MLPWithDropout, self).__init__()
        self.linear_1 = Linear(32)
        self.dropout = Dropout(0.5)
        self.linear_3 = Linear(10)

    def call(self, inputs, training=None):
        x = self.linear_1(inputs)
        x = keras.ops.relu(x)  # lamina-compat: backend-agnostic (tf.nn.relu)
        x = self.dropout(x, training=training)
        return self.linear_3(x)


mlp = MLPWithDropout()
y_train = mlp(keras.ops.ones((2, 2)), training=True)  # lamina-compat: backend-agnostic (tf.ones)
y_test = mlp(keras.ops.ones((2, 2)), training=False)  # lamina-compat: backend-agnostic (tf.ones)

inputs = keras.Input(shape=(16,), dtype="float32")

x = Linear(32)(inputs)
x = Dropout(0.5)(x)
outputs = Linear(10)(x)

model = keras.Model(inputs, outputs)

assert len(model.weights) == 4

y = model(keras.ops.ones((2, 16)))  # lamina-compat: backend-agnostic (tf.ones)
assert y.shape == (2, 10)

y = model(keras.ops.ones((2, 16)), training=True)  # lamina-compat: backend-agnostic (tf.ones)

inputs = keras.Input(shape=(784,), dtype="float32")
x = keras.layers.Dense(32, activation="relu")(inputs)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)
model = keras.Model(inputs, outputs)

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)

model.fit(dataset, epochs=2)
model.predict(dataset)
model.evaluate(dataset)


class CustomModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy()
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.optimizer = keras.optimizers.Adam(learning_rate=1e-3)

    def train_step(self, data):
        x, y = data
        # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        self.zero_grad()  # lamina-compat: torch step
        loss.backward()  # lamina-compat: torch step
        gradients = [v.value.grad for v in self.trainable_weights]  # lamina-compat: torch step
        with torch.no_grad():  # lamina-compat: torch step
            self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.loss_tracker.update_state(loss)
        self.accuracy.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "accuracy": self.accuracy.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy]


inputs = keras.Input(shape=(784,), dtype="float32")
x = keras.layers.Dense(32, activation="relu")(inputs)
x = keras.layers.Dense(32, activation="relu")(x)
outputs = keras.layers.Dense(10)(x)
model = CustomModel(inputs, outputs)
model.compile()
model.fit(dataset, epochs=2)

from lamina import layers  # noqa: E402  # lamina-compat: import


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = keras.ops.shape(z_mean)[0]  # lamina-compat: backend-agnostic (tf.shape)
        dim = keras.ops.shape(z_mean)[1]  # lamina-compat: backend-agnostic (tf.shape)
        epsilon = keras.random.normal(shape=(batch, dim))  # lamina-compat: backend-agnostic
        return z_mean + keras.ops.exp(0.5 * z_log_var) * epsilon  # lamina-compat: backend-agnostic


class Encoder(layers.Layer):
    def __init__(self, latent_dim=32, intermediate_dim=64, **kwargs):
        super(Encoder, self).__init__(**kwargs)
        # lamina-compat: backend-agnostic (keras.ops.relu for tf.nn.relu)
        self.dense_proj = layers.Dense(intermediate_dim, activation=keras.ops.relu)
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    def __init__(self, original_dim, intermediate_dim=64, **kwargs):
        super(Decoder, self).__init__(**kwargs)
        # lamina-compat: backend-agnostic (keras.ops.relu / sigmoid for tf.nn.relu / sigmoid)
        self.dense_proj = layers.Dense(intermediate_dim, activation=keras.ops.relu)
        self.dense_output = layers.Dense(original_dim, activation=keras.ops.sigmoid)

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(layers.Layer):
    def __init__(self, original_dim, intermediate_dim=64, latent_dim=32, **kwargs):
        super(VariationalAutoEncoder, self).__init__(**kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        kl_loss = -0.5 * keras.ops.mean(  # lamina-compat: backend-agnostic (tf.reduce_mean ...)
            z_log_var - keras.ops.square(z_mean) - keras.ops.exp(z_log_var) + 1
        )
        self.add_loss(kl_loss)
        return reconstructed


vae = VariationalAutoEncoder(original_dim=784, intermediate_dim=64, latent_dim=32)

loss_fn = keras.losses.MeanSquaredError()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)

# lamina-compat: data (a shuffled DataLoader of 32-image batches of MNIST-shaped arrays)
dataset = torch.utils.data.DataLoader(
    torch.from_numpy(x_train.reshape(640, 784).astype("float32") / 255),
    batch_size=32,
    shuffle=True,
)


def training_step(x):  # lamina-compat: no @tf.function
    # lamina-compat: torch step (the original records the forward pass on tf.GradientTape)
    reconstructed = vae(x)
    loss = loss_fn(x, reconstructed)
    loss += sum(vae.losses)
    vae.zero_grad()  # lamina-compat: torch step
    loss.backward()  # lamina-compat: torch step
    grads = [v.value.grad for v in vae.trainable_weights]  # lamina-compat: torch step
    with torch.no_grad():  # lamina-compat: torch step
        optimizer.apply_gradients(zip(grads, vae.trainable_weights))
    return loss


losses = []
for step, x in enumerate(dataset):
    loss = training_step(x)
    losses.append(float(loss))
    if step % 100 == 0:
        print("Step:", step, "Loss:", sum(losses) / len(losses))

    if step >= 15:  # lamina-compat: data (15 steps instead of 1000)
        break

original_dim = 784
intermediate_dim = 64
latent_dim = 32

original_inputs = keras.Input(shape=(original_dim,), name="encoder_input")
x = layers.Dense(intermediate_dim, activation="relu")(original_inputs)
z_mean = layers.Dense(latent_dim, name="z_mean")(x)
z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
z = Sampling()((z_mean, z_log_var))
encoder = keras.Model(inputs=original_inputs, outputs=z, name="encoder")

latent_inputs = keras.Input(shape=(latent_dim,), name="z_sampling")
x = layers.Dense(intermediate_dim, activation="relu")(latent_inputs)
outputs = layers.Dense(original_dim, activation="sigmoid")(x)
decoder = keras.Model(inputs=latent_inputs, outputs=outputs, name="decoder")

outputs = decoder(z)
vae = keras.Model(inputs=original_inputs, outputs=outputs, name="vae")

# lamina-compat: not in Keras 3 (vae.add_loss on a symbolic KL tensor is refused; see header)

loss_fn = keras.losses.MeanSquaredError()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)

# lamina-compat: data (DataLoader of (x, x) pairs instead of tf.data's map(lambda x: (x, x)))
x_flat = torch.from_numpy(x_train.reshape(640, 784).astype("float32") / 255)
dataset = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(x_flat, x_flat), batch_size=32, shuffle=True
)

vae.compile(optimizer, loss=loss_fn)

vae.fit(dataset, epochs=1)
