"""Damaged or hand-made Keras `.keras` files: the structure of `config.json` is checked
before conversion (every refusal names the JSON path and the problem), integer
datasets for float variables and weights that match no layer are refused.

The files are Keras-written fixtures from tests/fixtures/keras, edited with zipfile.
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving.errors import InvalidFileError

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "keras")


def _members(name):
    with zipfile.ZipFile(os.path.join(HERE, f"{name}.keras")) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _write(tmp_path, members, filename="model.keras"):
    path = tmp_path / filename
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    return str(path)


def _tampered(tmp_path, name, edit):
    members = _members(name)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return _write(tmp_path, members)


def _layer(config, name):
    return next(e for e in config["config"]["layers"] if (e.get("name") or e["config"]["name"]) == name)


def _predict(model, name):
    data = np.load(os.path.join(HERE, f"{name}.npz"))
    xs = [data[k] for k in sorted(data.files) if k.startswith("x")]
    out = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
    return data, out if isinstance(out, list) else [out]


@pytest.mark.parametrize("name", ["mlp", "multi_input"])
def test_good_files_still_load_and_predict_as_keras(tmp_path, name):
    path = _tampered(tmp_path, name, lambda c: None)  # rewritten, unchanged
    data, outs = _predict(lamina.load_model(path), name)
    for i, out in enumerate(outs):
        np.testing.assert_allclose(np.asarray(out), data[f"y{i}"], rtol=1e-4, atol=1e-5)


def _set_layers(value):
    return lambda c: c["config"].__setitem__("layers", value)


def _set_in(layer, key, value, sub="config"):
    def edit(c):
        target = _layer(c, layer)
        (target[sub] if sub else target)[key] = value

    return edit


def _history(layer, value):
    return lambda c: _layer(c, layer)["inbound_nodes"][0]["args"][0]["config"].__setitem__("keras_history", value)


@pytest.mark.parametrize(
    "name, edit, match",
    [
        ("mlp", lambda c: c.__setitem__("config", []), r"`config` must be a dict"),
        ("mlp", _set_layers({"a": 1}), r"`config\.layers` must be a list of layer entries; received \{'a': 1\}"),
        ("mlp", lambda c: c["config"]["layers"].__setitem__(1, 5), r"`config\.layers\[1\]` must be a layer entry"),
        ("mlp", _set_in("dense", "config", [], sub=None), r"`config\.layers\[1\]\.config` must be a dict; received \[\]"),
        ("mlp", _set_in("dense", "registered_name", {"a": 1}, sub=None), r"`config\.layers\[1\]\.registered_name` must be a string"),
        ("mlp", _set_in("dense", "class_name", 12345, sub=None), r"`config\.layers\[1\]\.class_name` must be a string; received 12345"),
        ("mlp", _set_in("input_layer", "batch_shape", {"0": [None]}), r"`config\.layers\[0\]\.config\.batch_shape` must be a list of sizes"),
        ("mlp", _set_in("input_layer", "batch_shape", [None, -4]), r"`config\.layers\[0\]\.config\.batch_shape` must be a list of sizes"),
        ("mlp", _set_in("dense", "dtype", {"config": "x"}), r"`config\.layers\[1\]\.config\.dtype` must be a dtype name"),
        ("mlp", _set_in("dense_1", "name", "dense"), r"`config\.layers\[3\]` is named 'dense', like an earlier layer; Keras refuses duplicate"),
        ("multi_input", _set_in("head_1", "name", "branch_a", sub=None), r"`config\.layers\[6\]` is named 'branch_a'.*duplicate"),
        ("multi_input", _set_in("branch_a", "inbound_nodes", "x", sub=None), r"`config\.layers\[2\]\.inbound_nodes` must be a list of nodes; received 'x'"),
        ("multi_input", _history("branch_a", ["a"]), r"`config\.layers\[2\]\.inbound_nodes\[0\]\.args\[0\]\.config\.keras_history` must be \[layer_name, node_index, tensor_index\]; received \['a'\]"),
        ("multi_input", _history("branch_a", [5, 0, 0]), r"keras_history` must be \[layer_name, node_index, tensor_index\]"),
        ("multi_input", _history("branch_a", ["a", -1, 0]), r"keras_history` must be \[layer_name"),
        ("multi_input", _history("branch_a", ["nosuch", 0, 0]), r"keras_history` refers to layer 'nosuch', which the model does not have"),
        ("multi_input", _history("branch_a", ["a", 7, 0]), r"refers to node 7 of layer 'a', which has 1 node"),
        ("multi_input", lambda c: _layer(c, "branch_a")["inbound_nodes"][0].__setitem__("args", []), r"inbound_nodes\[0\]\.args` must be the layer's inputs: at least one `__keras_tensor__`"),
        ("multi_input", lambda c: _layer(c, "branch_a")["inbound_nodes"][0]["args"][0].__setitem__("class_name", 1), r"args\[0\]\.class_name` must be '__keras_tensor__'"),
        ("multi_input", lambda c: c["config"].__setitem__("output_layers", ["nosuch", 0, 0]), r"`config\.output_layers` refers to layer 'nosuch'"),
        ("multi_input", lambda c: c["config"].__setitem__("input_layers", "a"), r"`config\.input_layers` must be a \[layer_name, node_index, tensor_index\] reference"),
        ("multi_input", lambda c: c["config"].pop("layers"), r"`config\.layers` must be a list of layer entries; received None"),
    ],
)
def test_malformed_config_is_refused_naming_the_json_path(tmp_path, name, edit, match):
    path = _tampered(tmp_path, name, edit)
    with pytest.raises(ValueError, match=r"'model\.keras': config\.json: " + r".*" + match) as info:
        lamina.load_model(path)
    assert isinstance(info.value, InvalidFileError) and info.value.member == "config.json"
    assert "Save the model again" in str(info.value)


def _rewrite_h5(members, edit):
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as h5:
        edit(h5)
    members["model.weights.h5"] = buffer.getvalue()


def test_no_layers_but_weights_is_refused(tmp_path):
    path = _tampered(tmp_path, "mlp", _set_layers([]))
    with pytest.raises(ValueError, match=r"'model\.keras' holds weights \(e\.g\. the dataset 'layers/.*vars/0'\) but the model .* has no layers with variables"):
        lamina.load_model(path)


def _int_dataset(h5):
    name = "layers/dense/vars/0"
    values = np.asarray(h5[name][()])
    del h5[name]
    h5.create_dataset(name, data=np.round(values * 10).astype("int64"))


def test_integer_dataset_for_float_variable_is_refused(tmp_path):
    members = _members("mlp")
    _rewrite_h5(members, _int_dataset)
    path = _write(tmp_path, members)
    with pytest.raises(ValueError, match=r"the dataset 'layers/dense/vars/0' .* is int64, but the variable is float32.*no option to cast"):
        lamina.load_model(path)
    # the same for a `.weights.h5` file loaded into a model
    model = lamina.load_model(os.path.join(HERE, "mlp.keras"))
    before = [w.copy() for w in model.get_weights()]
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(members["model.weights.h5"])
    with pytest.raises(ValueError, match=r"'layers/dense/vars/0' .* is int64, but the variable is float32"):
        model.load_weights(str(weights))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # a refused file changes nothing


def test_float64_dataset_for_float32_variable_loads_as_keras_does(tmp_path):
    members = _members("mlp")

    def to_float64(h5):
        values = np.asarray(h5["layers/dense/vars/0"][()])
        del h5["layers/dense/vars/0"]
        h5.create_dataset("layers/dense/vars/0", data=values.astype("float64"))

    _rewrite_h5(members, to_float64)
    data, outs = _predict(lamina.load_model(_write(tmp_path, members)), "mlp")
    np.testing.assert_allclose(np.asarray(outs[0]), data["y0"], rtol=1e-4, atol=1e-5)


def test_nan_weights_in_a_keras_file_are_refused(tmp_path):
    members = _members("mlp")

    def put_nan(h5):
        values = np.asarray(h5["layers/dense/vars/0"][()]).copy()
        values[0, 0] = np.nan
        h5["layers/dense/vars/0"][...] = values

    _rewrite_h5(members, put_nan)
    with pytest.raises(ValueError, match=r"(?i)nan"):
        lamina.load_model(_write(tmp_path, members))
