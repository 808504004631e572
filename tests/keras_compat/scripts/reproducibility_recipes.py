"""Keras 3 example "Reproducibility in Keras Models"
(keras-team/keras-io examples/keras_recipes/reproducibility_recipes.py), re-created for Lamina.

Seeded initializers (the same seed gives the same values, unseeded ones follow
`keras.utils.set_random_seed`), then a small CNN trained on a shuffled, batched
and mapped input pipeline whose `History` is written to JSON and compared. The
original calls TensorFlow for three things, ported to their backend-agnostic or
PyTorch counterparts: `tf.config.experimental.enable_op_determinism` (PyTorch's
`torch.use_deterministic_algorithms`), the `tf.data` pipeline (a PyTorch
`DataLoader` that shuffles, batches and maps) and the per-batch map written with
`tf.cast` / `tf.expand_dims` / `tf.image.resize` (`keras.ops` equivalents).
"""

import json

import numpy as np
import torch  # lamina-compat: import (PyTorch determinism and DataLoader instead of tf)
from torch.utils.data import DataLoader, TensorDataset, default_collate  # lamina-compat: import

import lamina as keras  # lamina-compat: import
from lamina import initializers, layers, ops  # lamina-compat: import

keras.utils.set_random_seed(812)

torch.use_deterministic_algorithms(True)  # lamina-compat: backend (tf.config.experimental.enable_op_determinism)

initializers_list = [
    initializers.RandomNormal,
    initializers.RandomUniform,
    initializers.TruncatedNormal,
    initializers.VarianceScaling,
    initializers.GlorotNormal,
    initializers.GlorotUniform,
    initializers.HeNormal,
    initializers.HeUniform,
    initializers.LecunNormal,
    initializers.LecunUniform,
    initializers.Orthogonal,
]

for initializer in initializers_list:
    print(f"Running {initializer}")
    for iteration in range(2):
        result = float(initializer(seed=42)(shape=(1, 1)))
        print(f"\tIteration --> {iteration} // Result --> {result}")
    print("\n")

glorot_normal_1 = keras.initializers.GlorotNormal(seed=42)
glorot_normal_2 = keras.initializers.GlorotNormal(seed=42)

input_dim, neurons = 3, 5

result_1 = glorot_normal_1(shape=(input_dim, neurons))
result_2 = glorot_normal_2(shape=(input_dim, neurons))

equal = np.allclose(result_1, result_2)
print(f"Are the results equal? {equal}")

glorot_normal_3 = keras.initializers.GlorotNormal()
glorot_normal_4 = keras.initializers.GlorotNormal()

result_3 = glorot_normal_3(shape=(input_dim, neurons))
result_4 = glorot_normal_4(shape=(input_dim, neurons))

equal = np.allclose(result_3, result_4)
print(f"Are the results equal? {equal}")


def train_model(train_data, test_data) -> dict:
    model = keras.Sequential(
        [
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.2),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Dropout(0.2),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ]
    )

    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    history = model.fit(train_data, epochs=2, validation_data=test_data)

    print(f"Model accuracy on test data: {model.evaluate(test_data)[1] * 100:.2f}%")

    return history.history


# lamina-compat: data (MNIST-shaped uint8 images and labels instead of keras.datasets.mnist)
rng = np.random.default_rng(0)
train_images = rng.integers(0, 256, size=(384, 28, 28), dtype=np.uint8)
train_labels = rng.integers(0, 10, size=(384,), dtype=np.uint8)
test_images = rng.integers(0, 256, size=(128, 28, 28), dtype=np.uint8)
test_labels = rng.integers(0, 10, size=(128,), dtype=np.uint8)

# lamina-compat: data (TensorDataset instead of tf.data.Dataset.from_tensor_slices)
train_ds = TensorDataset(torch.from_numpy(train_images), torch.from_numpy(train_labels))
test_ds = TensorDataset(torch.from_numpy(test_images), torch.from_numpy(test_labels))


def prepare_dataset(image, label):
    image = ops.cast(image, "float32") / 255.0  # lamina-compat: backend-agnostic (tf.cast)

    image = ops.expand_dims(image, axis=-1)  # lamina-compat: backend-agnostic (tf.expand_dims)

    image = ops.image.resize(image, (32, 32))  # lamina-compat: backend-agnostic (tf.image.resize)

    return image, label


# lamina-compat: data (DataLoader shuffle / batch / map instead of the tf.data pipeline)
train_data = DataLoader(
    train_ds, batch_size=64, shuffle=True,
    collate_fn=lambda batch: prepare_dataset(*default_collate(batch)),
)

test_data = DataLoader(
    test_ds, batch_size=64, collate_fn=lambda batch: prepare_dataset(*default_collate(batch)),
)

history = train_model(train_data, test_data)

with open("history.json", "w") as fp:
    json.dump(history, fp)

with open("history.json", "r") as fp:  # noqa: UP015 - as in the original
    history_loaded = json.load(fp)

for key in history.keys():
    for i in range(len(history[key])):
        if not np.allclose(history[key][i], history_loaded[key][i]):
            print(f"{key} not equal")
