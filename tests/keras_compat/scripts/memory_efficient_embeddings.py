"""Keras 3 example "Memory-efficient embeddings for recommendation systems"
(keras-team/keras-io examples/keras_recipes/memory_efficient_embeddings.py), re-created for Lamina.

A baseline collaborative-filtering model (string inputs, `StringLookup` +
`Embedding` encoders, `Dot`, `keras.activations.sigmoid` on a symbolic tensor),
then a quotient-remainder embedding layer for users and a mixed-dimension
embedding layer for movies, trained on ratings read from CSV files. The original
runs on the TensorFlow backend; its TensorFlow calls are ported to backend-agnostic
equivalents: `tf.math.floordiv` / `floormod` / `zeros` / `expand_dims` / `cast` to
`keras.ops`, the `tf.lookup.StaticHashTable` from movie to block to a
`StringLookup` over the same keys followed by `ops.take` of the block ids, and
`tf.data.experimental.make_csv_dataset` to a PyTorch `DataLoader` over the CSV rows.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch  # lamina-compat: import (DataLoader instead of tf.data)

import lamina as keras  # lamina-compat: import
from lamina import layers, ops  # lamina-compat: import
from lamina.layers import StringLookup  # lamina-compat: import

# lamina-compat: data (ratings with MovieLens-1M's columns instead of the downloaded ml-1m/ratings.dat)
_rng = np.random.default_rng(0)
_num_ratings, _num_users, _num_movies = 12000, 3000, 2000
_popularity = 1.0 / np.arange(1, _num_movies + 1) ** 0.7
ratings_data = pd.DataFrame(
    {
        "user_id": _rng.integers(1, _num_users + 1, _num_ratings),
        "movie_id": _rng.choice(np.arange(1, _num_movies + 1), _num_ratings, p=_popularity / _popularity.sum()),
        "rating": _rng.integers(1, 6, _num_ratings),
        "unix_timestamp": _rng.integers(956703932, 1046454590, _num_ratings),
    }
)

ratings_data["movie_id"] = ratings_data["movie_id"].apply(lambda x: f"movie_{x}")
ratings_data["user_id"] = ratings_data["user_id"].apply(lambda x: f"user_{x}")
ratings_data["rating"] = ratings_data["rating"].apply(lambda x: float(x))
del ratings_data["unix_timestamp"]

print(f"Number of users: {len(ratings_data.user_id.unique())}")
print(f"Number of movies: {len(ratings_data.movie_id.unique())}")
print(f"Number of ratings: {len(ratings_data.index)}")

random_selection = np.random.rand(len(ratings_data.index)) <= 0.85
train_data = ratings_data[random_selection]
eval_data = ratings_data[~random_selection]

train_data.to_csv("train_data.csv", index=False, sep="|", header=False)
eval_data.to_csv("eval_data.csv", index=False, sep="|", header=False)
print(f"Train data split: {len(train_data.index)}")
print(f"Eval data split: {len(eval_data.index)}")
print("Train and eval data files are saved.")

csv_header = list(ratings_data.columns)
user_vocabulary = list(ratings_data.user_id.unique())
movie_vocabulary = list(ratings_data.movie_id.unique())
target_feature_name = "rating"
learning_rate = 0.001
batch_size = 128
num_epochs = 2  # lamina-compat: data (num_epochs = 3)
base_embedding_dim = 64


def get_dataset_from_csv(csv_file_path, batch_size=128, shuffle=True):
    # lamina-compat: data (a DataLoader over the CSV rows instead of tf.data.experimental.make_csv_dataset)
    frame = pd.read_csv(csv_file_path, sep="|", header=None, names=csv_header)
    features = {name: frame[name].to_numpy() for name in csv_header if name != target_feature_name}
    labels = frame[target_feature_name].to_numpy("float32")

    def collate(rows):
        index = np.array(rows)
        return {name: column[index] for name, column in features.items()}, labels[index]

    return torch.utils.data.DataLoader(
        range(len(frame)), batch_size=batch_size, shuffle=shuffle, collate_fn=collate
    )


def run_experiment(model):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.MeanSquaredError(),
        metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
    )
    train_dataset = get_dataset_from_csv("train_data.csv", batch_size)
    eval_dataset = get_dataset_from_csv("eval_data.csv", batch_size, shuffle=False)
    history = model.fit(
        train_dataset,
        epochs=num_epochs,
        validation_data=eval_dataset,
    )
    return history


def embedding_encoder(vocabulary, embedding_dim, num_oov_indices=0, name=None):
    return keras.Sequential(
        [
            StringLookup(
                vocabulary=vocabulary, mask_token=None, num_oov_indices=num_oov_indices
            ),
            layers.Embedding(
                input_dim=len(vocabulary) + num_oov_indices, output_dim=embedding_dim
            ),
        ],
        name=f"{name}_embedding" if name else None,
    )


def create_baseline_model():
    user_input = layers.Input(name="user_id", shape=(), dtype="string")  # lamina-compat: backend-agnostic (tf.string)
    user_embedding = embedding_encoder(
        vocabulary=user_vocabulary, embedding_dim=base_embedding_dim, name="user"
    )(user_input)

    movie_input = layers.Input(name="movie_id", shape=(), dtype="string")  # lamina-compat: backend-agnostic (tf.string)
    movie_embedding = embedding_encoder(
        vocabulary=movie_vocabulary, embedding_dim=base_embedding_dim, name="movie"
    )(movie_input)

    logits = layers.Dot(axes=1, name="dot_similarity")(
        [user_embedding, movie_embedding]
    )
    prediction = keras.activations.sigmoid(logits) * 5
    model = keras.Model(
        inputs=[user_input, movie_input], outputs=prediction, name="baseline_model"
    )
    return model


baseline_model = create_baseline_model()
baseline_model.summary()

history = run_experiment(baseline_model)

plt.plot(history.history["loss"])
plt.plot(history.history["val_loss"])
plt.title("model loss")
plt.ylabel("loss")
plt.xlabel("epoch")
plt.legend(["train", "eval"], loc="upper left")
plt.show()


class QREmbedding(keras.layers.Layer):
    def __init__(self, vocabulary, embedding_dim, num_buckets, name=None):
        super().__init__(name=name)
        self.num_buckets = num_buckets

        self.index_lookup = StringLookup(
            vocabulary=vocabulary, mask_token=None, num_oov_indices=0
        )
        self.q_embeddings = layers.Embedding(
            num_buckets,
            embedding_dim,
        )
        self.r_embeddings = layers.Embedding(
            num_buckets,
            embedding_dim,
        )

    def call(self, inputs):
        embedding_index = self.index_lookup(inputs)
        quotient_index = ops.floor_divide(embedding_index, self.num_buckets)  # lamina-compat: backend-agnostic (tf.math.floordiv)
        remainder_index = ops.mod(embedding_index, self.num_buckets)  # lamina-compat: backend-agnostic (tf.math.floormod)
        quotient_embedding = self.q_embeddings(quotient_index)
        remainder_embedding = self.r_embeddings(remainder_index)
        return quotient_embedding * remainder_embedding


class MDEmbedding(keras.layers.Layer):
    def __init__(
        self, blocks_vocabulary, blocks_embedding_dims, base_embedding_dim, name=None
    ):
        super().__init__(name=name)
        self.num_blocks = len(blocks_vocabulary)

        keys = []
        values = []
        for block_idx, block_vocab in enumerate(blocks_vocabulary):
            keys.extend(block_vocab)
            values.extend([block_idx] * len(block_vocab))
        # lamina-compat: backend-agnostic (tf.lookup.StaticHashTable(keys -> values, default_value=-1))
        self.vocab_to_block = StringLookup(vocabulary=keys, mask_token=None, num_oov_indices=1)
        self.block_of_index = ops.convert_to_tensor([-1] + values)  # lamina-compat: backend-agnostic

        self.block_embedding_encoders = []
        self.block_embedding_projectors = []

        for idx in range(self.num_blocks):
            vocabulary = blocks_vocabulary[idx]
            embedding_dim = blocks_embedding_dims[idx]
            block_embedding_encoder = embedding_encoder(
                vocabulary, embedding_dim, num_oov_indices=1
            )
            self.block_embedding_encoders.append(block_embedding_encoder)
            if embedding_dim == base_embedding_dim:
                self.block_embedding_projectors.append(layers.Lambda(lambda x: x))
            else:
                self.block_embedding_projectors.append(
                    layers.Dense(units=base_embedding_dim)
                )

    def call(self, inputs):
        block_indicies = ops.take(self.block_of_index, self.vocab_to_block(inputs))  # lamina-compat: backend-agnostic (.lookup)
        embeddings = ops.zeros(shape=(ops.shape(inputs)[0], base_embedding_dim))  # lamina-compat: backend-agnostic (tf.zeros, tf.shape)
        for idx in range(self.num_blocks):
            block_embeddings = self.block_embedding_encoders[idx](inputs)
            block_embeddings = self.block_embedding_projectors[idx](block_embeddings)
            mask = ops.expand_dims(ops.cast(block_indicies == idx, "float32"), 1)  # lamina-compat: backend-agnostic (tf.expand_dims, tf.cast)
            block_embeddings = block_embeddings * mask
            embeddings += block_embeddings

        return embeddings


movie_frequencies = ratings_data["movie_id"].value_counts()
movie_frequencies.hist(bins=10)

sorted_movie_vocabulary = list(movie_frequencies.keys())

movie_blocks_vocabulary = [
    sorted_movie_vocabulary[:400],
    sorted_movie_vocabulary[400:1700],
    sorted_movie_vocabulary[1700:],
]

movie_blocks_embedding_dims = [64, 32, 16]

user_embedding_num_buckets = len(user_vocabulary) // 50


def create_memory_efficient_model():
    user_input = layers.Input(name="user_id", shape=(), dtype="string")  # lamina-compat: backend-agnostic (tf.string)
    user_embedding = QREmbedding(
        vocabulary=user_vocabulary,
        embedding_dim=base_embedding_dim,
        num_buckets=user_embedding_num_buckets,
        name="user_embedding",
    )(user_input)

    movie_input = layers.Input(name="movie_id", shape=(), dtype="string")  # lamina-compat: backend-agnostic (tf.string)
    movie_embedding = MDEmbedding(
        blocks_vocabulary=movie_blocks_vocabulary,
        blocks_embedding_dims=movie_blocks_embedding_dims,
        base_embedding_dim=base_embedding_dim,
        name="movie_embedding",
    )(movie_input)

    logits = layers.Dot(axes=1, name="dot_similarity")(
        [user_embedding, movie_embedding]
    )
    prediction = keras.activations.sigmoid(logits) * 5
    model = keras.Model(
        inputs=[user_input, movie_input], outputs=prediction, name="baseline_model"
    )
    return model


memory_efficient_model = create_memory_efficient_model()
memory_efficient_model.summary()

history = run_experiment(memory_efficient_model)

plt.plot(history.history["loss"])
plt.plot(history.history["val_loss"])
plt.title("model loss")
plt.ylabel("loss")
plt.xlabel("epoch")
plt.legend(["train", "eval"], loc="upper left")
plt.show()
