"""Keras 3 example "Standalone Mixture-of-Experts (MoE) Layers"
(keras-team/keras-io examples/keras_recipes/mixture_of_experts.py), re-created for Lamina.

Two custom layers built from `add_weight` kernels in Keras's layout and `ops`
(`tensordot`, `conv`, `reshape`, `expand_dims`, `sum`) with activations from
`activations.get`, used in a functional CNN compared with a baseline; then a
feature extractor read from a layer's `.input` and a `Dense` layer given the
MoE gating weights with `set_weights`.
"""

import numpy as np

import lamina as keras  # lamina-compat: import
from lamina import activations, layers, ops, optimizers  # lamina-compat: import


class DenseMoE(layers.Layer):
    def __init__(
        self,
        units,
        n_experts,
        expert_activation=None,
        gating_activation=None,
        use_expert_bias=True,
        use_gating_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.n_experts = n_experts
        self.expert_activation = activations.get(expert_activation)
        self.gating_activation = activations.get(gating_activation)
        self.use_expert_bias = use_expert_bias
        self.use_gating_bias = use_gating_bias

    def build(self, input_shape):
        input_dim = input_shape[-1]

        self.expert_kernel = self.add_weight(
            name="expert_kernel",
            shape=(input_dim, self.units, self.n_experts),
            initializer="glorot_uniform",
            trainable=True,
        )

        if self.use_expert_bias:
            self.expert_bias = self.add_weight(
                name="expert_bias",
                shape=(self.units, self.n_experts),
                initializer="zeros",
                trainable=True,
            )

        self.gating_kernel = self.add_weight(
            name="gating_kernel",
            shape=(input_dim, self.n_experts),
            initializer="glorot_uniform",
            trainable=True,
        )

        if self.use_gating_bias:
            self.gating_bias = self.add_weight(
                name="gating_bias",
                shape=(self.n_experts,),
                initializer="zeros",
                trainable=True,
            )

        super().build(input_shape)

    def call(self, inputs):
        expert_outputs = ops.tensordot(inputs, self.expert_kernel, axes=1)

        if self.use_expert_bias:
            expert_outputs = expert_outputs + self.expert_bias

        expert_outputs = self.expert_activation(expert_outputs)

        gating_outputs = ops.tensordot(inputs, self.gating_kernel, axes=1)

        if self.use_gating_bias:
            gating_outputs = gating_outputs + self.gating_bias

        gating_outputs = self.gating_activation(gating_outputs)

        gating_outputs = ops.expand_dims(gating_outputs, axis=1)

        output = ops.sum(expert_outputs * gating_outputs, axis=-1)

        return output

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "n_experts": self.n_experts,
                "expert_activation": activations.serialize(self.expert_activation),
                "gating_activation": activations.serialize(self.gating_activation),
                "use_expert_bias": self.use_expert_bias,
                "use_gating_bias": self.use_gating_bias,
            }
        )
        return config


class Conv2DMoE(layers.Layer):
    def __init__(
        self,
        filters,
        kernel_size,
        n_experts,
        strides=1,
        padding="valid",
        expert_activation=None,
        gating_activation=None,
        use_expert_bias=True,
        use_gating_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = (
            kernel_size
            if isinstance(kernel_size, tuple)
            else (kernel_size, kernel_size)
        )
        self.n_experts = n_experts
        self.strides = strides if isinstance(strides, tuple) else (strides, strides)
        self.padding = padding
        self.expert_activation = activations.get(expert_activation)
        self.gating_activation = activations.get(gating_activation)
        self.use_expert_bias = use_expert_bias
        self.use_gating_bias = use_gating_bias

    def build(self, input_shape):
        input_channels = input_shape[-1]

        self.expert_kernel = self.add_weight(
            name="expert_kernel",
            shape=(
                self.kernel_size[0],
                self.kernel_size[1],
                input_channels,
                self.filters,
                self.n_experts,
            ),
            initializer="glorot_uniform",
            trainable=True,
        )

        if self.use_expert_bias:
            self.expert_bias = self.add_weight(
                name="expert_bias",
                shape=(self.filters, self.n_experts),
                initializer="zeros",
                trainable=True,
            )

        self.gating_kernel = self.add_weight(
            name="gating_kernel",
            shape=(1, 1, input_channels, self.n_experts),
            initializer="glorot_uniform",
            trainable=True,
        )

        if self.use_gating_bias:
            self.gating_bias = self.add_weight(
                name="gating_bias",
                shape=(self.n_experts,),
                initializer="zeros",
                trainable=True,
            )

        super().build(input_shape)

    def call(self, inputs):
        expert_kernel = ops.reshape(
            self.expert_kernel,
            (
                self.kernel_size[0],
                self.kernel_size[1],
                ops.shape(inputs)[-1],
                self.filters * self.n_experts,
            ),
        )

        expert_outputs = ops.conv(
            inputs,
            expert_kernel,
            strides=self.strides,
            padding=self.padding,
        )

        output_shape = ops.shape(expert_outputs)
        expert_outputs = ops.reshape(
            expert_outputs,
            (
                output_shape[0],
                output_shape[1],
                output_shape[2],
                self.filters,
                self.n_experts,
            ),
        )

        if self.use_expert_bias:
            expert_outputs = expert_outputs + self.expert_bias

        expert_outputs = self.expert_activation(expert_outputs)

        gating_outputs = ops.conv(
            inputs,
            self.gating_kernel,
            strides=self.strides,
            padding=self.padding,
        )

        if self.use_gating_bias:
            gating_outputs = gating_outputs + self.gating_bias

        gating_outputs = self.gating_activation(gating_outputs)

        gating_outputs = ops.expand_dims(gating_outputs, axis=-2)

        output = ops.sum(expert_outputs * gating_outputs, axis=-1)

        return output

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "n_experts": self.n_experts,
                "strides": self.strides,
                "padding": self.padding,
                "expert_activation": activations.serialize(self.expert_activation),
                "gating_activation": activations.serialize(self.gating_activation),
                "use_expert_bias": self.use_expert_bias,
                "use_gating_bias": self.use_gating_bias,
            }
        )
        return config


# lamina-compat: data (CIFAR-10-shaped uint8 images and (n, 1) labels instead of cifar10.load_data())
rng = np.random.default_rng(0)
x_train = rng.integers(0, 256, size=(640, 32, 32, 3), dtype=np.uint8)
y_train = rng.integers(0, 10, size=(640, 1), dtype=np.uint8)
x_test = rng.integers(0, 256, size=(200, 32, 32, 3), dtype=np.uint8)
y_test = rng.integers(0, 10, size=(200, 1), dtype=np.uint8)

x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0

subset_size = 512  # lamina-compat: data (subset_size = 10000)
x_train = x_train[:subset_size]
y_train = y_train[:subset_size]

print(f"Training samples: {len(x_train)}")
print(f"Test samples: {len(x_test)}")


def create_baseline_model():
    inputs = keras.Input(shape=(32, 32, 3))

    x = layers.Conv2D(32, 3, activation="relu", padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)

    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)

    model = keras.Model(inputs, outputs, name="baseline_model")
    return model


def create_moe_model():
    inputs = keras.Input(shape=(32, 32, 3))

    x = Conv2DMoE(
        32,
        3,
        n_experts=4,
        padding="same",
        expert_activation="relu",
        gating_activation="softmax",
    )(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)

    x = Conv2DMoE(
        64,
        3,
        n_experts=4,
        padding="same",
        expert_activation="relu",
        gating_activation="softmax",
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)

    x = layers.Flatten()(x)
    x = DenseMoE(
        128,
        n_experts=8,
        expert_activation="relu",
        gating_activation="softmax",
    )(x)
    x = layers.Dropout(0.5)(x)
    x = DenseMoE(
        64,
        n_experts=4,
        expert_activation="relu",
        gating_activation="softmax",
    )(x)
    outputs = layers.Dense(10, activation="softmax")(x)

    model = keras.Model(inputs, outputs, name="moe_model")
    return model


epochs = 1  # lamina-compat: data (epochs = 10)
batch_size = 128

print("BASELINE MODEL")
baseline_model = create_baseline_model()
baseline_model.compile(
    optimizer=optimizers.Adam(learning_rate=0.001),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
baseline_model.summary()

print("\nTraining baseline model...")
baseline_history = baseline_model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_split=0.2,
    verbose=1,
)

baseline_test_loss, baseline_test_acc = baseline_model.evaluate(
    x_test, y_test, verbose=0
)
print(f"\nBaseline Test Accuracy: {baseline_test_acc:.4f}")

print("\nMIXTURE-OF-EXPERTS MODEL")
moe_model = create_moe_model()
moe_model.compile(
    optimizer=optimizers.Adam(learning_rate=0.001),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
moe_model.summary()

print("\nTraining MoE model...")
moe_history = moe_model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_split=0.2,
    verbose=1,
)

moe_test_loss, moe_test_acc = moe_model.evaluate(x_test, y_test, verbose=0)
print(f"\nMoE Test Accuracy: {moe_test_acc:.4f}")

print("\nMODEL COMPARISON")
print(
    f"Baseline - Params: {baseline_model.count_params():,} | "
    f"Test Accuracy: {baseline_test_acc:.4f}"
)
print(
    f"MoE Model - Params: {moe_model.count_params():,} | "
    f"Test Accuracy: {moe_test_acc:.4f}"
)

dense_moe_layer = None
for layer in moe_model.layers:
    if isinstance(layer, DenseMoE):
        dense_moe_layer = layer
        break

if dense_moe_layer:
    feature_extractor = keras.Model(
        inputs=moe_model.input,
        outputs=dense_moe_layer.input,
    )

    test_features = feature_extractor.predict(x_test[:100], verbose=0)

    gating_layer = layers.Dense(
        units=dense_moe_layer.n_experts,
        activation=dense_moe_layer.gating_activation,
        use_bias=dense_moe_layer.use_gating_bias,
    )
    gating_layer.build(test_features.shape)
    weights = [dense_moe_layer.gating_kernel]
    if dense_moe_layer.use_gating_bias:
        weights.append(dense_moe_layer.gating_bias)
    gating_layer.set_weights(weights)
    gating_weights = gating_layer(test_features)

    gating_weights_np = ops.convert_to_numpy(gating_weights)

    print("\nGating weights distribution across experts:")
    print(f"Mean gating weights per expert: {gating_weights_np.mean(axis=0)}")
    print(f"Std of gating weights per expert: {gating_weights_np.std(axis=0)}")
