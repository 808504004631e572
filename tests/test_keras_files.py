"""Keras 3 files both ways, against outputs Keras itself computed.

The fixtures in tests/fixtures/keras/ were written by Keras 3 (see
scripts/make_keras_fixtures.py); `lamina_written/` holds files Lamina wrote and
the outputs Keras computed after loading them. Keras is never imported here.
"""

import json
import os
import shutil
import zipfile

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving import keras_format
from lamina.saving.keras_layout import get_keras_weights

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "keras")
WRITTEN = os.path.join(HERE, "lamina_written")
MODELS = [
    "mlp",
    "activations",
    "preprocessing",
    "encoding",
    "augmentation",
    "conv1d",
    "conv1d_more",
    "conv2d",
    "conv3d",
    "images",
    "reshaping",
    "recurrent",
    "simple_rnn",
    "masking",
    "attention",
    "merging",
    "multi_input",
    "nested",
    "shared",
    "text_classifier",
    "seq2seq",
]
RECURRENT = {"recurrent", "simple_rnn", "masking", "text_classifier", "seq2seq"}


def _data(name, folder=HERE):
    data = np.load(os.path.join(folder, f"{name}.npz"))
    xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
    ys = [data[k] for k in sorted(data.files) if k.startswith("y")]
    return xs, ys


def _predict(model, xs):
    out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return [np.asarray(o) for o in out] if isinstance(out, (list, tuple)) else [np.asarray(out)]


def _assert_outputs(name, got, expected):
    tol = 1e-4 if name in RECURRENT else 1e-5
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol)


def _h5_datasets(path_or_bytes):
    found = {}
    with h5py.File(path_or_bytes, "r") as h5:
        h5.visititems(
            lambda n, o: found.__setitem__(n, o.shape) if isinstance(o, h5py.Dataset) else None
        )
    return found


@pytest.mark.parametrize("name", MODELS)
def test_load_model_keras_file_predicts_as_keras(name):
    model = lamina.load_model(os.path.join(HERE, f"{name}.keras"))
    xs, ys = _data(name)
    _assert_outputs(name, _predict(model, xs), ys)


@pytest.mark.parametrize("name", MODELS)
def test_load_weights_keras_weights_h5_into_zeroed_twin_predicts_as_keras(name):
    model = lamina.load_model(os.path.join(HERE, f"{name}.keras"))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    report = model.load_weights(os.path.join(HERE, f"{name}.weights.h5"))
    assert report.ok
    xs, ys = _data(name)
    _assert_outputs(name, _predict(model, xs), ys)


def test_load_weights_keras_h5_into_model_built_in_lamina_code():
    a, b = lamina.Input(shape=(4,), name="a"), lamina.Input(shape=(3,), name="b")
    ha = layers.Dense(5, activation="relu", name="branch_a")(a)
    hb = layers.Dense(5, activation="relu", name="branch_b")(b)
    out1 = layers.Dense(2, name="head_1")(layers.Concatenate()([ha, hb]))
    out2 = layers.Dense(1, activation="sigmoid", name="head_2")(layers.Multiply()([ha, hb]))
    model = lamina.Model([a, b], [out1, out2])
    model.load_weights(os.path.join(HERE, "multi_input.weights.h5"))
    xs, ys = _data("multi_input")
    _assert_outputs("multi_input", _predict(model, xs), ys)


@pytest.mark.parametrize("name", MODELS)
def test_save_keras_file_reloads_in_lamina_with_same_predictions(name, tmp_path):
    model = lamina.load_model(os.path.join(HERE, f"{name}.keras"))
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    xs, ys = _data(name)
    _assert_outputs(name, _predict(lamina.load_model(path), xs), ys)


@pytest.mark.parametrize("name", MODELS)
def test_save_weights_h5_has_keras_paths_and_shapes(name, tmp_path):
    model = lamina.load_model(os.path.join(HERE, f"{name}.keras"))
    path = str(tmp_path / f"{name}.weights.h5")
    model.save_weights(path)
    assert _h5_datasets(path) == _h5_datasets(os.path.join(HERE, f"{name}.weights.h5"))


@pytest.mark.parametrize("name", MODELS)
def test_keras_reads_lamina_written_files_with_same_outputs(name):
    # Keras's outputs after loading the files Lamina wrote (scripts/make_keras_fixtures.py).
    xs, keras_ys = _data(name, WRITTEN)
    _, original_ys = _data(name)
    _assert_outputs(name, keras_ys, original_ys)
    _assert_outputs(
        name, _predict(lamina.load_model(os.path.join(WRITTEN, f"{name}.keras")), xs), keras_ys
    )


def test_load_model_lambda_layer_is_refused_without_running_code():
    with pytest.raises(
        ValueError, match=r"Layer 'double' .* `Lambda` layer.*bytecode.*@lamina.register"
    ):
        lamina.load_model(os.path.join(HERE, "lambda_layer.keras"))


def _rewrite_config(tmp_path, name, edit):
    src = os.path.join(HERE, f"{name}.keras")
    dst = str(tmp_path / f"{name}_edited.keras")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    return dst


def _rename_first_dense(config, class_name, registered_name):
    entry = config["config"]["layers"][1]
    entry["class_name"], entry["registered_name"], entry["module"] = (
        class_name,
        registered_name,
        None,
    )


def test_load_model_unknown_class_is_refused_with_registration_advice(tmp_path):
    path = _rewrite_config(
        tmp_path, "mlp", lambda c: _rename_first_dense(c, "MyDense", "my_pkg>MyDense")
    )
    with pytest.raises(
        ValueError,
        match=r"uses class `MyDense`, which is neither .* \(layer 'dense'\).*Register the class with `@lamina.register`",
    ):
        lamina.load_model(path)


def test_load_model_custom_objects_resolve_registered_name(tmp_path):
    class MyDense(layers.Dense):
        pass

    path = _rewrite_config(
        tmp_path, "mlp", lambda c: _rename_first_dense(c, "MyDense", "my_pkg>MyDense")
    )
    model = lamina.load_model(path, custom_objects={"my_pkg>MyDense": MyDense})
    assert isinstance(model.layers[0], MyDense)
    xs, ys = _data("mlp")
    _assert_outputs("mlp", _predict(model, xs), ys)


def test_load_model_unsupported_keras_argument_is_refused(tmp_path):
    def low_rank(config):
        config["config"]["layers"][1]["config"]["lora_rank"] = 4  # Keras 3's LoRA, not in Lamina

    path = _rewrite_config(tmp_path, "mlp", low_rank)
    with pytest.raises(
        ValueError, match=r"Layer 'dense' \(Dense\) of the Keras file sets `lora_rank`"
    ):
        lamina.load_model(path)


def test_load_model_truncated_keras_file_gives_clear_error(tmp_path):
    path = tmp_path / "cut.keras"
    data = open(os.path.join(HERE, "mlp.keras"), "rb").read()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError, match=r"'cut.keras' is not a Keras model file \(not a zip archive"
    ):
        lamina.load_model(str(path))


def test_load_model_oversized_member_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(keras_format, "MAX_JSON_BYTES", 100)
    with pytest.raises(ValueError, match=r"'config.json' is \d+ bytes, more than the 100 bytes"):
        lamina.load_model(os.path.join(HERE, "mlp.keras"))


def test_load_weights_from_a_different_architecture_names_the_layer(tmp_path):
    model = lamina.Sequential([lamina.Input(shape=(6,)), layers.Dense(8), layers.Dense(4)])
    with pytest.raises(ValueError, match=r"Layer 'dense\w*' \(Dense\) expects 2 weight arrays"):
        model.load_weights(os.path.join(HERE, "mlp.weights.h5"))


def test_load_weights_corrupted_h5_gives_clear_error(tmp_path):
    path = tmp_path / "bad.weights.h5"
    shutil.copy(os.path.join(HERE, "mlp.weights.h5"), path)
    path.write_bytes(path.read_bytes()[:500])
    model = lamina.load_model(os.path.join(HERE, "mlp.keras"))
    with pytest.raises(ValueError, match=r"'bad.weights.h5' is not a valid Keras weights file"):
        model.load_weights(str(path))


def test_load_model_keras_operation_in_graph_is_refused_not_mistaken_for_a_layer(tmp_path):
    def as_op(config):  # `keras.ops.multiply(a, b)` in a graph has the class name of the layer
        entry = next(e for e in config["config"]["layers"] if e["class_name"] == "Multiply")
        entry["module"] = "keras.src.ops.numpy"

    path = _rewrite_config(tmp_path, "multi_input", as_op)
    with pytest.raises(
        ValueError, match=r"Layer 'multiply' .* Keras operation `Multiply` .*loads layers only"
    ):
        lamina.load_model(path)


@pytest.mark.parametrize("name", MODELS)
def test_get_weights_equals_keras_get_weights_order_and_layout(name):
    model = lamina.load_model(os.path.join(HERE, f"{name}.keras"))
    data = np.load(os.path.join(HERE, f"{name}.npz"))
    expected = [data[k] for k in sorted(data.files) if k.startswith("w")]
    got = get_keras_weights(model)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=0, atol=0)


def test_load_model_restores_keras_compile_config():
    model = lamina.load_model(os.path.join(HERE, "compiled.keras"))
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    history = model.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    assert set(history.history) >= {"loss", "accuracy"}


def test_load_model_restores_keras_optimizer_loss_and_metric_objects():
    model = lamina.load_model(os.path.join(HERE, "compiled_objects.keras"))
    config = model.optimizer.get_config()
    assert (type(model.optimizer).__name__, config["momentum"]) == ("SGD", pytest.approx(0.9))
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    history = model.fit(x, x[:, :1], epochs=1, verbose=0)
    assert "mean_absolute_error" in history.history


def test_load_model_compile_false_leaves_model_uncompiled():
    model = lamina.load_model(os.path.join(HERE, "compiled.keras"), compile=False)
    assert model.optimizer is None


def test_load_model_unsupported_compile_argument_warns_and_returns_uncompiled(tmp_path):
    def ema(config):
        config["compile_config"]["optimizer"]["config"]["use_ema"] = True

    path = _rewrite_config(tmp_path, "compiled", ema)
    with pytest.warns(UserWarning, match=r"compile configuration could not be restored .*use_ema"):
        model = lamina.load_model(path)
    assert model.optimizer is None


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "compiled",
            {"optimizer": "Adam", "learning_rate": 0.01, "loss": "SparseCategoricalCrossentropy"},
        ),
        ("compiled_objects", {"optimizer": "SGD", "learning_rate": 0.1, "loss": "Huber"}),
    ],
)
def test_keras_rebuilds_compile_config_lamina_wrote(name, expected, tmp_path):
    # What Keras's load_model compiled from the file Lamina wrote (make_keras_fixtures.py).
    with open(os.path.join(WRITTEN, f"{name}.compile.json")) as f:
        rebuilt = json.load(f)
    assert rebuilt == {**expected, "learning_rate": pytest.approx(expected["learning_rate"])}
    # And Lamina writes the same configuration again.
    path = str(tmp_path / f"{name}.keras")
    lamina.load_model(os.path.join(HERE, f"{name}.keras")).save(path)
    with zipfile.ZipFile(path) as zf:
        compile_config = json.loads(zf.read("config.json"))["compile_config"]
    assert compile_config["optimizer"]["class_name"] == expected["optimizer"]
    assert compile_config["optimizer"]["config"]["learning_rate"] == pytest.approx(
        expected["learning_rate"]
    )


def test_save_keras_file_of_uncompiled_model_has_no_compile_config(tmp_path):
    model = lamina.load_model(os.path.join(HERE, "compiled.keras"), compile=False)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "compile_config" not in json.loads(zf.read("config.json"))


def test_load_weights_matches_layers_by_keras_place_not_by_name():
    # Unnamed layers: Lamina's automatic names differ from the file's; Keras's order decides.
    a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(3,))
    ha = layers.Dense(5, activation="relu")(a)
    hb = layers.Dense(5, activation="relu")(b)
    out2 = layers.Dense(1, activation="sigmoid")(layers.Multiply()([ha, hb]))
    out1 = layers.Dense(2)(layers.Concatenate()([ha, hb]))  # built after head_2, listed before
    model = lamina.Model([a, b], [out1, out2])
    model.load_weights(os.path.join(HERE, "multi_input.weights.h5"))
    xs, ys = _data("multi_input")
    _assert_outputs("multi_input", _predict(model, xs), ys)


def test_load_model_keras_builtin_without_lamina_counterpart_says_so(tmp_path):
    def einsum(config):
        entry = config["config"]["layers"][1]
        entry["class_name"], entry["module"] = "EinsumDense", "keras.layers"

    path = _rewrite_config(tmp_path, "mlp", einsum)
    with pytest.raises(
        ValueError, match=r"Keras's built-in `EinsumDense`, which Lamina does not have yet"
    ):
        lamina.load_model(path)


def test_load_model_h5_model_file_is_refused_with_advice(tmp_path):
    with pytest.raises(
        ValueError, match=r"reads Keras 3 `.keras` files.*Re-save the model in Keras 3"
    ):
        lamina.load_model(os.path.join(HERE, "mlp.weights.h5"))


def test_save_keras_file_of_subclassed_model_is_refused(tmp_path):
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match=r"Only `Sequential` and functional models can be written"):
        model.save(str(tmp_path / "net.keras"))
    model.save_weights(str(tmp_path / "net.weights.h5"))  # the weights of any model can be
    twin = Net()
    twin(np.zeros((1, 3), "float32"))
    twin.load_weights(str(tmp_path / "net.weights.h5"))
    np.testing.assert_array_equal(twin.get_weights()[0], model.get_weights()[0])


def test_save_keras_file_with_lamina_only_layers_round_trips_in_lamina(tmp_path):
    inputs = lamina.Input(shape=(6,), dtype="int32")
    x = layers.PositionalEmbedding(sequence_length=6, vocab_size=10, embed_dim=8)(inputs)
    x = layers.TransformerEncoder(intermediate_dim=16, num_heads=2)(x)
    model = lamina.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling1D()(x)))
    path = str(tmp_path / "lamina_only.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        entries = json.loads(zf.read("config.json"))["config"]["layers"]
    assert {e["class_name"]: e["module"] for e in entries}["TransformerEncoder"] == "lamina.layers"
    x = np.random.default_rng(0).integers(0, 10, size=(2, 6))
    np.testing.assert_allclose(
        _predict(lamina.load_model(path), [x])[0], _predict(model, [x])[0], rtol=1e-6, atol=1e-6
    )


def test_load_model_truncated_weights_member_gives_clear_error(tmp_path):
    path = str(tmp_path / "cut_weights.keras")
    with (
        zipfile.ZipFile(os.path.join(HERE, "mlp.keras")) as zin,
        zipfile.ZipFile(path, "w") as zout,
    ):
        for item in zin.namelist():
            data = zin.read(item)
            zout.writestr(item, data[:400] if item == "model.weights.h5" else data)
    with pytest.raises(ValueError, match=r"'cut_weights.keras' is not a valid Keras weights file"):
        lamina.load_model(path)
