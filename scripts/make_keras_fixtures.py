"""Builds the Keras parity fixtures in tests/fixtures/keras/ (run by make_keras_fixtures.sh).

Three modes, each run once in order; the test suite itself never imports Keras:

* ``keras`` (Keras 3 in its own virtual environment, KERAS_BACKEND=torch): builds
  small models of each layer family with seeded random weights and stores, per
  model, ``<name>.keras``, ``<name>.weights.h5`` and ``<name>.npz`` (a fixed
  input ``x`` (or ``x0``, ``x1``, ...) Keras's output ``y0`` (``y1``, ...) and Keras's `model.get_weights()` (``w000``, ...)).
  Also ``lambda_layer.keras`` (a model with a `Lambda` layer, which Lamina refuses).
* ``lamina`` (Lamina's environment): loads each ``<name>.keras`` with Lamina and
  writes it back with ``model.save`` into ``lamina_written/<name>.keras``.
* ``keras-check`` (Keras's environment): loads every Lamina-written file with
  Keras and stores Keras's output on the same input in ``lamina_written/<name>.npz``,
  which the test suite compares with Lamina's.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras")
WRITTEN = os.path.join(OUT, "lamina_written")


def _models(keras):  # noqa: ANN001 - keras is the imported module
    L = keras.layers
    models = {}

    models["mlp"] = keras.Sequential(
        [
            keras.Input((6,)),
            L.Dense(8, activation="relu"),
            L.Dropout(0.5),
            L.Dense(5, activation="tanh", use_bias=False),
            L.Dense(3, activation="softmax"),
        ],
        name="mlp",
    )
    models["conv2d"] = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(2),
            L.SeparableConv2D(5, 3, padding="same", depth_multiplier=2),
            L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid"),
            L.Conv2DTranspose(3, 2, strides=2),
            L.AveragePooling2D(2),
            L.Conv2D(4, (2, 1), strides=(1, 1), use_bias=False),
            L.GlobalAveragePooling2D(),
            L.Dense(2),
        ],
        name="conv2d",
    )
    models["conv1d"] = keras.Sequential(
        [
            keras.Input((12, 4)),
            L.Conv1D(5, 3, strides=2, activation="relu"),
            L.AveragePooling1D(2, padding="same"),
            L.Conv1D(3, 2, dilation_rate=1, padding="causal"),
            L.LayerNormalization(),
            L.Flatten(),
            L.Dense(2, activation="sigmoid"),
        ],
        name="conv1d",
    )
    models["recurrent"] = keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            L.Embedding(20, 6, mask_zero=True),
            L.Bidirectional(L.LSTM(4, return_sequences=True)),
            L.GRU(3),
            L.Dense(2),
        ],
        name="recurrent",
    )
    models["simple_rnn"] = keras.Sequential(
        [
            keras.Input((5, 3)),
            L.SimpleRNN(4, return_sequences=True),
            L.Bidirectional(L.GRU(2), merge_mode="sum"),
            L.Dense(1),
        ],
        name="simple_rnn",
    )
    x = keras.Input((5, 8))
    att = L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    h = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, att]))
    h = L.GlobalAveragePooling1D()(h)
    models["attention"] = keras.Model(x, L.Dense(3)(h), name="attention")

    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    ha = L.Dense(5, activation="relu", name="branch_a")(a)
    hb = L.Dense(5, activation="relu", name="branch_b")(b)
    merged = L.Concatenate()([ha, hb])
    out1 = L.Dense(2, name="head_1")(merged)
    out2 = L.Dense(1, activation="sigmoid", name="head_2")(L.Multiply()([ha, hb]))
    models["multi_input"] = keras.Model([a, b], [out1, out2], name="multi_input")

    inner = keras.Sequential(
        [keras.Input((4,)), L.Dense(6, activation="relu"), L.Dense(4)], name="inner"
    )
    z = keras.Input((4,))
    models["nested"] = keras.Model(z, L.Dense(2)(inner(z)), name="nested")
    models["conv3d"] = keras.Sequential(
        [
            keras.Input((4, 4, 4, 2)),
            L.Conv3D(3, 2, padding="same", activation="relu"),
            L.MaxPooling3D(2),
            L.Conv3DTranspose(2, 2, strides=2),
            L.ZeroPadding3D(1),
            L.Cropping3D(1),
            L.AveragePooling3D(2),
            L.UpSampling3D(2),
            L.GlobalAveragePooling3D(),
            L.Dense(2),
        ],
        name="conv3d",
    )
    models["conv1d_more"] = keras.Sequential(
        [
            keras.Input((10, 3)),
            L.Conv1DTranspose(4, 3, strides=2),
            L.SeparableConv1D(5, 3, depth_multiplier=2),
            L.DepthwiseConv1D(3, depth_multiplier=2),
            L.ZeroPadding1D(2),
            L.Cropping1D((1, 2)),
            L.UpSampling1D(2),
            L.MaxPooling1D(2),
            L.SpatialDropout1D(0.2),
            L.GlobalMaxPooling1D(),
            L.Dense(2),
        ],
        name="conv1d_more",
    )
    models["activations"] = keras.Sequential(
        [
            keras.Input((6,)),
            L.Dense(8),
            L.PReLU(),
            L.LeakyReLU(negative_slope=0.2),
            L.Dense(8),
            L.ELU(),
            L.ReLU(max_value=1.5),
            L.Dense(8),
            L.GroupNormalization(groups=2),
            L.UnitNormalization(),
            L.Activation("gelu"),
            L.GaussianNoise(0.1),
            L.GaussianDropout(0.1),
            L.AlphaDropout(0.1),
            L.Dense(4),
            L.Softmax(),
        ],
        name="activations",
    )
    models["reshaping"] = keras.Sequential(
        [
            keras.Input((4, 6)),
            L.Reshape((6, 4)),
            L.Permute((2, 1)),
            L.TimeDistributed(L.Dense(3)),
            L.Flatten(),
            L.RepeatVector(2),
            L.Dense(2),
        ],
        name="reshaping",
    )
    models["preprocessing"] = keras.Sequential(
        [
            keras.Input((3,)),
            L.Normalization(),
            L.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 0.25]),
            L.Rescaling(0.5, offset=1.0),
            L.Dense(2),
        ],
        name="preprocessing",
    )
    models["images"] = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            L.Resizing(6, 6),
            L.CenterCrop(4, 4),
            L.ZeroPadding2D(1),
            L.Cropping2D(((1, 0), (0, 1))),
            L.UpSampling2D(2),
            L.SpatialDropout2D(0.1),
            L.GlobalMaxPooling2D(),
            L.Dense(2),
        ],
        name="images",
    )
    q, v = keras.Input((4, 6), name="q"), keras.Input((5, 6), name="v")
    att = L.Attention()([q, v])
    diff = L.Subtract()([att, q])
    mix = L.Average()([L.Maximum()([att, q]), L.Minimum()([att, q]), diff])
    dots = L.Dot(axes=(2, 2))([mix, v])
    flat = L.Concatenate()([L.Flatten()(mix), L.Flatten()(dots)])
    models["merging"] = keras.Model([q, v], L.Dense(2)(flat), name="merging")

    seq = keras.Input((6, 3))
    masked = L.Masking(mask_value=0.0)(seq)
    h = L.LSTM(4, return_sequences=True)(masked)
    h = L.SimpleRNN(3)(h)
    models["masking"] = keras.Model(seq, L.Dense(1)(h), name="masking")
    models["augmentation"] = keras.Sequential(
        [
            keras.Input((6, 6, 3)),
            L.RandomFlip(),
            L.RandomRotation(0.1),
            L.RandomZoom(0.1),
            L.RandomTranslation(0.1, 0.1),
            L.RandomContrast(0.1),
            L.ActivityRegularization(l1=0.01),
            L.Flatten(),
            L.Dense(2),
        ],
        name="augmentation",
    )
    # (Keras's lookup and hashing layers need TensorFlow, so they are not covered here.)
    numbers = keras.Input((4,), name="numbers")
    binned = L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0])(numbers)
    counts = L.CategoryEncoding(num_tokens=4, output_mode="count")(binned)
    hot = L.CategoryEncoding(num_tokens=4, output_mode="multi_hot")(binned)
    merged = L.Concatenate()([counts, hot])
    models["encoding"] = keras.Model(numbers, L.Dense(2)(merged), name="encoding")
    # A shared layer (two nodes), a nested functional model, a text classifier.
    left, right = keras.Input((5,), name="left"), keras.Input((5,), name="right")
    shared = L.Dense(4, activation="tanh", name="shared")
    tower_in = keras.Input((4,))
    tower = keras.Model(tower_in, L.Dense(3)(tower_in), name="tower")
    joined = L.Concatenate()([tower(shared(left)), tower(shared(right))])
    models["shared"] = keras.Model([left, right], L.Dense(1)(joined), name="shared_model")

    tokens = keras.Input((7,), dtype="int32")
    emb = L.Embedding(20, 5, mask_zero=True)(tokens)
    pooled = L.GlobalAveragePooling1D()(L.GRU(4, return_sequences=True)(emb))
    models["text_classifier"] = keras.Model(tokens, L.Dense(2)(pooled), name="text_classifier")

    # Without a mask: Keras does not hand a mask to a layer called with several tensors
    # (here `initial_state`), while Lamina's recurrent layers read it from the input.
    tokens = keras.Input((7,), dtype="int32")
    emb = L.Embedding(20, 5)(tokens)
    enc, h, c = L.LSTM(4, return_state=True, return_sequences=True)(emb)
    dec = L.LSTM(4)(enc, initial_state=[h, c])
    models["seq2seq"] = keras.Model(tokens, L.Dense(2)(dec), name="seq2seq")
    return models


def _inputs(model, rng):  # noqa: ANN001
    xs = []
    for t in model.inputs:
        shape = (3, *t.shape[1:])
        if "int" in str(t.dtype):
            x = rng.integers(1, 20, size=shape).astype("int32")
            x[0, 4:] = 0  # right padding: masked steps
            x[1, 6:] = 0
            xs.append(x)
        else:
            x = rng.standard_normal(shape).astype("float32")
            if model.name == "masking":
                x[0, 4:] = 0.0  # masked steps
                x[1, 5:] = 0.0
            xs.append(x)
    return xs


def _randomize(model, rng):  # noqa: ANN001
    for layer in model.layers:
        for w in layer.weights:
            value = rng.standard_normal(tuple(w.shape)).astype(w.dtype) * 0.5
            if "variance" in w.path:
                value = np.abs(value) + 0.5
            w.assign(value)


def _save_npz(path, xs, ys, weights=()):  # noqa: ANN001
    arrays = {f"x{i}": x for i, x in enumerate(xs)}
    arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(ys)})
    arrays.update({f"w{i:03d}": np.asarray(w) for i, w in enumerate(weights)})
    np.savez(path, **arrays)


def _as_list(y):  # noqa: ANN001
    return [np.asarray(v) for v in y] if isinstance(y, (list, tuple)) else [np.asarray(y)]


def keras_mode() -> None:
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    os.makedirs(OUT, exist_ok=True)
    for name, model in _models(keras).items():
        _randomize(model, rng)
        xs = _inputs(model, rng)
        ys = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        model.save(os.path.join(OUT, f"{name}.keras"))
        model.save_weights(os.path.join(OUT, f"{name}.weights.h5"))
        _save_npz(os.path.join(OUT, f"{name}.npz"), xs, ys, model.get_weights())
        print(f"wrote {name}")
    x = keras.Input((3,))
    lam = keras.Model(x, keras.layers.Lambda(lambda t: t * 2.0, name="double")(x))
    lam.save(os.path.join(OUT, "lambda_layer.keras"))
    # Compiled models: Lamina restores the optimizer, loss and metrics.
    compiled = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation="softmax")], name="compiled"
    )
    compiled.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    compiled.save(os.path.join(OUT, "compiled.keras"))
    objects = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)], name="compiled_objects")
    objects.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=keras.losses.Huber(),
        metrics=[keras.metrics.MeanAbsoluteError()],
    )
    objects.save(os.path.join(OUT, "compiled_objects.keras"))


def lamina_mode() -> None:
    import lamina

    os.makedirs(WRITTEN, exist_ok=True)
    for file in sorted(os.listdir(OUT)):
        if not file.endswith(".keras") or file == "lambda_layer.keras":
            continue
        model = lamina.load_model(os.path.join(OUT, file))
        model.save(os.path.join(WRITTEN, file))
        print(f"lamina wrote {file}")


def keras_check_mode() -> None:
    import keras

    failures: list[str] = []
    for file in sorted(os.listdir(WRITTEN)):
        if not file.endswith(".keras"):
            continue
        name = file[: -len(".keras")]
        try:
            model = keras.saving.load_model(os.path.join(WRITTEN, file))
        except Exception as e:  # noqa: BLE001 - report every file, then fail
            failures.append(f"{file}: {type(e).__name__}: ...{str(e)[-700:]}")
            continue
        if getattr(model, "optimizer", None) is not None:  # the compile config Keras rebuilt
            compiled = {
                "optimizer": type(model.optimizer).__name__,
                "learning_rate": float(model.optimizer.learning_rate),
                "loss": type(model.loss).__name__
                if not isinstance(model.loss, str)
                else model.loss,
            }
            with open(os.path.join(WRITTEN, f"{name}.compile.json"), "w") as f:
                json.dump(compiled, f)
        if not os.path.exists(os.path.join(OUT, f"{name}.npz")):
            continue
        data = np.load(os.path.join(OUT, f"{name}.npz"))
        xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
        ys = _as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        _save_npz(os.path.join(WRITTEN, f"{name}.npz"), xs, ys)
        print(f"keras read lamina-written {file}")
    if failures:
        sys.exit("Keras could not read these Lamina-written files:\n" + "\n".join(failures))


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "keras"
    {"keras": keras_mode, "lamina": lamina_mode, "keras-check": keras_check_mode}[mode]()
