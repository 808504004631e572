"""A model config read from a file is checked before anything is built: a
malformed one is refused with the JSON path of the fault, what was expected and
what was found (not a raw KeyError / TypeError from half-way through the
rebuild); constructor arguments are bound before the constructor runs; and a
negative BatchNormalization variance in the weights is refused."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import lamina
from lamina import layers as L
from lamina.layers.layer import ConfigArgumentError, check_config_arguments
from lamina.saving.errors import InvalidFileError

X_FLAT = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
X_SEQ = np.random.default_rng(1).normal(size=(3, 6, 4)).astype("float32")


def _sequential() -> lamina.Model:
    return lamina.Sequential(
        [lamina.Input(shape=(4,)), L.Dense(8, name="d1"), L.Dense(2, name="d2")], name="seq"
    )


def _functional() -> lamina.Model:
    x = lamina.Input(shape=(4,), name="x")
    a = L.Dense(3, name="a")(x)
    b = L.Dense(3, name="b")(x)
    h = L.Dense(2, name="h")(L.Concatenate(name="cat")([a, b]))
    return lamina.Model(x, h, name="func")


def _wrapped() -> lamina.Model:
    return lamina.Sequential(
        [
            lamina.Input(shape=(6, 4)),
            L.Conv1D(5, 3, name="c1"),
            L.BatchNormalization(name="bn"),
            L.Bidirectional(L.GRU(3, return_sequences=True), name="bi"),
            L.GlobalAveragePooling1D(name="gap"),
            L.Dense(2, name="out"),
        ],
        name="mixed",
    )


def _rewrite(src, dst, config_fn=None, weights_fn=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "config.json" and config_fn is not None:
                config = json.loads(data)
                config_fn(config)
                data = json.dumps(config).encode()
            if info.filename == "model.safetensors" and weights_fn is not None:
                tensors = st_load(data)
                weights_fn(tensors)
                data = st_save(tensors)
            zout.writestr(info, data)
    return dst


def _saved(tmp_path, model):
    path = tmp_path / "good.lamina"
    model.save(path)
    return path


def _tampered(tmp_path, model, config_fn=None, weights_fn=None):
    return _rewrite(_saved(tmp_path, model), tmp_path / "bad.lamina", config_fn, weights_fn)


def _layer(config, name):
    return next(e for e in config["config"]["layers"] if e.get("name", e["config"].get("name")) == name)


def _set_args(name, args):
    def fn(c):
        _layer(c, name)["inbound_nodes"][0]["args"] = args

    return fn


# ----------------------------------------------------------------- good files
@pytest.mark.parametrize("make, x", [(_sequential, X_FLAT), (_functional, X_FLAT), (_wrapped, X_SEQ)])
def test_good_files_still_load_and_predict_identically(tmp_path, make, x):
    model = make()
    expected = model.predict(x, verbose=0)
    loaded = lamina.load_model(_saved(tmp_path, model))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)


# --------------------------------------------------------------- structure
@pytest.mark.parametrize(
    "edit, pattern",
    [
        (lambda c: c["config"].__setitem__("layers", "Dense"), r"`config\.layers` must be a list of layer entries; received 'Dense'"),
        (lambda c: c["config"]["layers"].__setitem__(0, {}), r"`config\.layers\[0\]\.class_name` must be a layer class name \(the key is missing\)"),
        (lambda c: c["config"]["layers"].__setitem__(1, 5), r"`config\.layers\[1\]` must be a layer entry .*received 5"),
        (lambda c: c["config"]["layers"][0].pop("config"), r"`config\.layers\[0\]\.config` must be a dict of the layer's arguments \(the key is missing\)"),
        (lambda c: c["config"]["layers"][0].__setitem__("config", [1, 2]), r"`config\.layers\[0\]\.config` must be a dict of the layer's arguments; received \[1, 2\]"),
        (lambda c: c["config"]["layers"][1]["config"].__setitem__("name", "d1"), r"layer names should be unique.*`config\.layers\[1\]` and `config\.layers\[0\]` are both named 'd1'"),
    ],
)
def test_sequential_config_faults_name_the_json_path(tmp_path, edit, pattern):
    path = _tampered(tmp_path, _sequential(), edit)
    with pytest.raises(InvalidFileError, match=pattern) as info:
        lamina.load_model(path)
    assert "bad.lamina" in str(info.value)


@pytest.mark.parametrize(
    "edit, pattern",
    [
        (_set_args("h", {"__tensor__": ["cat"]}), r"`config\.layers\[\d\]\.inbound_nodes\[0\]\.args\.__tensor__` must be a reference \[layer_name, node_index, tensor_index\].*received \['cat'\]"),
        (_set_args("h", {"__tensor__": "cat"}), r"\.args\.__tensor__` must be a reference .*received 'cat'"),
        (_set_args("h", {"__tensor__": [3, 0, 0]}), r"\.args\.__tensor__` must be a reference .*received \[3, 0, 0\]"),
        (_set_args("h", {"__tensor__": ["cat", -1, 0]}), r"\.args\.__tensor__` must be a reference .*received \['cat', -1, 0\]"),
        (_set_args("h", {"__tensor__": ["cat", 0, True]}), r"\.args\.__tensor__` must be a reference .*received \['cat', 0, True\]"),
        (_set_args("h", {"__tensor__": ["nosuch", 0, 0]}), r"must be a reference to a layer of the model \(one of \[.*'cat'.*\]\); received \['nosuch', 0, 0\]"),
        (_set_args("h", {"__tensor__": ["cat", 3, 0]}), r"an existing node of layer 'cat', which has 1 node\(s\)"),
        (_set_args("h", {"__tensor__": ["cat", 0, 2]}), r"an existing output of layer 'cat', whose node 0 has 1 output tensor\(s\)"),
        (_set_args("h", []), r"\.inbound_nodes\[0\]\.args` must be the node's input tensors"),
        (lambda c: _layer(c, "h")["inbound_nodes"][0].__setitem__("kwargs", [1]), r"\.inbound_nodes\[0\]\.kwargs` must be a dict of keyword arguments"),
        (lambda c: _layer(c, "h").__setitem__("inbound_nodes", "x"), r"\.inbound_nodes` must be a list of nodes"),
        (lambda c: _layer(c, "h")["inbound_nodes"].__setitem__(0, ["x"]), r"\.inbound_nodes\[0\]` must be a node \{'args'"),
        (lambda c: c["config"].__setitem__("output_layers", {"__tensor__": ["nosuch", 0, 0]}), r"`config\.output_layers\.__tensor__` must be a reference to a layer of the model"),
        (lambda c: c["config"].__setitem__("input_layers", {"__tensor__": ["h", 0, 0]}), r"`config\.input_layers\.__tensor__` must be a reference to an input layer"),
        (lambda c: c["config"].pop("input_layers"), r"`config\.input_layers` must be the model's inputs \(the key is missing\)"),
        (lambda c: c["config"]["layers"].insert(2, json.loads(json.dumps(_layer(c, "a")))), r"layer names should be unique.*both named 'a'"),
    ],
)
def test_functional_config_faults_name_the_json_path(tmp_path, edit, pattern):
    path = _tampered(tmp_path, _functional(), edit)
    with pytest.raises(ValueError, match=pattern) as info:
        lamina.load_model(path)
    assert "bad.lamina" in str(info.value)


def test_wrapper_without_its_layer_is_refused_with_the_entry_path(tmp_path):
    path = _tampered(tmp_path, _wrapped(), lambda c: c["config"]["layers"][2]["config"].pop("layer"))
    with pytest.raises(ValueError, match=r"`Bidirectional` entry at `config\.layers\[2\]\.config`.*lacks the required argument 'layer'"):
        lamina.load_model(path)


# ----------------------------------------------------------- constructor args
def test_missing_required_argument_is_named_with_the_path(tmp_path):
    path = _tampered(tmp_path, _sequential(), lambda c: c["config"]["layers"][1]["config"].pop("units"))
    with pytest.raises(ValueError, match=r"`Dense` entry at `config\.layers\[1\]\.config`.*lacks the required argument 'units'"):
        lamina.load_model(path)


def test_wrapped_layer_missing_argument_is_refused(tmp_path):
    path = _tampered(tmp_path, _wrapped(), lambda c: c["config"]["layers"][2]["config"]["layer"]["config"].pop("units"))
    with pytest.raises(ValueError, match=r"`GRU` config lacks the required argument 'units'"):
        lamina.load_model(path)


def test_check_config_arguments_unknown_and_missing():
    class Fixed:
        def __init__(self, rate, scale=1.0):
            self.rate, self.scale = rate, scale

    assert check_config_arguments(Fixed, {"rate": 2}) == {"rate": 2}
    with pytest.raises(ConfigArgumentError, match=r"unknown argument 'evil' \(known: rate, scale\)"):
        check_config_arguments(Fixed, {"rate": 2, "evil": 1})
    with pytest.raises(ConfigArgumentError, match=r"lacks the required argument 'rate'"):
        check_config_arguments(Fixed, {"scale": 2})
    # still a TypeError for code that caught the constructor's own error
    with pytest.raises(TypeError):
        L.Dense.from_config({"name": "d"})


def test_schedule_with_unknown_argument_is_refused():
    config = lamina.optimizers.schedules.serialize(
        lamina.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    )
    config["config"]["evil"] = 1
    with pytest.raises(ValueError, match=r"`ExponentialDecay` schedule config has an unknown argument 'evil' \(known: .*decay_steps"):
        lamina.optimizers.schedules.deserialize(config)


# ----------------------------------------------------------------- values
def test_negative_moving_variance_is_refused(tmp_path):
    model = _wrapped()

    def negative(tensors):
        tensors["bn.moving_variance"] = torch.full_like(tensors["bn.moving_variance"], -1.0)

    path = _tampered(tmp_path, model, weights_fn=negative)
    with pytest.raises(InvalidFileError, match=r"variance 'bn\.moving_variance' holds 5 negative value\(s\) of 5") as info:
        lamina.load_model(path)
    assert "bad.lamina" in str(info.value)
    # a zero variance is legitimate (a constant feature) and loads
    zero = _rewrite(_saved(tmp_path, model), tmp_path / "zero.lamina", weights_fn=lambda t: t["bn.moving_variance"].zero_())
    loaded = lamina.load_model(zero)
    assert float(loaded.get_layer("bn").moving_variance.sum()) == 0.0
