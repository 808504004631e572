"""Keras's per-object saving hooks in `.keras` files: save_own_variables /
load_own_variables, save_assets / load_assets, get_build_config /
build_from_config, and get_compile_config / compile_from_config of a registered
`Model` subclass (written and read back with the same values)."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops


@pytest.fixture(autouse=True)
def _clean_registry():
    saved = dict(lamina.saving.get_custom_objects())
    yield
    lamina.saving.get_custom_objects().clear()
    lamina.saving.get_custom_objects().update(saved)


def test_variable_is_exported_at_top_level():
    assert lamina.Variable is lamina.variables.Variable
    v = lamina.Variable(np.ones(3), name="v", dtype="float32")
    assert v.dtype == torch.float32 and v.name == "v"


def test_layer_default_own_variables_store_round_trips():
    layer = layers.Dense(2)
    layer.build_from_shape((None, 3))
    store: dict = {}
    layer.save_own_variables(store)
    assert sorted(store) == ["0", "1"]
    np.testing.assert_array_equal(store["0"], layer.weights[0].detach().numpy())
    other = layers.Dense(2)
    other.build_from_shape((None, 3))
    other.load_own_variables(store)
    for a, b in zip(layer.weights, other.weights):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(ValueError, match=r"expects 2 variables to load. Received: 1"):
        other.load_own_variables({"0": store["0"]})


def test_own_variable_hooks_are_used_by_keras_files(tmp_path):
    calls = []

    @lamina.saving.register_keras_serializable(package="hooks_test")
    class Scaled(layers.Dense):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.scale = lamina.Variable(np.full((units,), 3.0), name="scale", dtype="float32")

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["extra"] = self.scale.numpy() * 2

        def load_own_variables(self, store):
            calls.append(sorted(store.keys()))
            self.scale.assign(store["extra"] / 2)
            for i, v in enumerate(self.weights):
                v.assign(store[f"{i}"])

        def call(self, inputs):
            return super().call(inputs) * self.scale

    model = lamina.Sequential([Scaled(2)])
    x = np.random.default_rng(0).random((4, 5)).astype("float32")
    model(x)
    with torch.no_grad():
        model.layers[0].scale.add_(1.0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = lamina.models.load_model(path)
    assert calls == [["0", "1", "2", "extra"]]
    np.testing.assert_allclose(restored.layers[0].scale.numpy(), np.full(2, 4.0))
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_assets_are_written_under_the_layer_path_and_read_back(tmp_path):
    @lamina.saving.register_keras_serializable(package="hooks_test")
    class WithVocab(layers.Dense):
        def __init__(self, vocab=None, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.vocab = vocab

        def save_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocab.txt"), "w") as f:
                f.write(self.vocab)

        def load_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocab.txt")) as f:
                self.vocab = f.read().upper()

    model = lamina.Sequential([layers.Dense(3), WithVocab(vocab="a b c", units=2)])
    model(np.zeros((1, 4), dtype="float32"))
    path = str(tmp_path / "m.keras")
    model.save(path)
    names = zipfile.ZipFile(path).namelist()
    assert "assets/layers/with_vocab/vocab.txt" in names
    restored = lamina.models.load_model(path)
    assert restored.layers[1].vocab == "A B C"


def test_unsafe_asset_path_is_refused(tmp_path):
    @lamina.saving.register_keras_serializable(package="hooks_test")
    class WithAsset(layers.Dense):
        def save_assets(self, inner_path):
            open(os.path.join(inner_path, "a.txt"), "w").close()

        def load_assets(self, inner_path):
            pass

    model = lamina.Sequential([WithAsset(2)])
    model(np.zeros((1, 3), dtype="float32"))
    good, bad = str(tmp_path / "good.keras"), str(tmp_path / "bad.keras")
    model.save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr("assets/layers/with_asset/../../evil.txt", b"x")
    with pytest.raises(ValueError, match=r"member name .*evil.txt.* is unsafe: it has a '\.\.' component"):
        lamina.models.load_model(bad)


def test_build_config_hooks_rebuild_a_layer_whose_build_takes_more_than_a_shape(tmp_path):
    @lamina.saving.register_keras_serializable(package="hooks_test")
    class InitBuild(layers.Layer):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, inputs):
            return ops.matmul(inputs, self.w)

        def get_config(self):
            return dict(units=self.units, **super().get_config())

        def build(self, input_shape, init):
            self._shape = input_shape
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer=init)
            self.init = init

        def get_build_config(self):
            return {"input_shape": self._shape, "init": self.init}

        def build_from_config(self, config):
            self.build(config["input_shape"], config["init"])

    layer = InitBuild(units=3)
    layer.build(input_shape=(5,), init="ones")
    assert layer.get_build_config() == {"input_shape": (5,), "init": "ones"}
    model = lamina.Sequential([layer, layers.Dense(1)])
    x = np.random.default_rng(1).random((2, 5)).astype("float32")
    model(x)
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = lamina.models.load_model(path)
    assert restored.built and restored.layers[0].init == "ones"
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_default_build_config_is_the_input_shape_once_built():
    layer = layers.Dense(2)
    assert layer.get_build_config() is None
    layer.build_from_shape((None, 3))
    assert layer.get_build_config() == {"input_shape": [None, 3]}
    other = layers.Dense(2)
    other.build_from_config({"input_shape": [None, 3]})
    assert other.built and tuple(other.kernel.shape) == (2, 3)


def test_subclassed_model_with_compile_hooks_round_trips_through_keras_file(tmp_path):
    @lamina.saving.register_keras_serializable(package="hooks_test")
    def half_sq(y_true, y_pred):
        return ops.sum(ops.square(y_pred - y_true), axis=1) / 2

    @lamina.saving.register_keras_serializable(package="hooks_test")
    class Net(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(2)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

        def compile(self, optimizer, loss_fn):
            super().compile(optimizer=optimizer, loss=loss_fn)
            self.opt_spec, self.loss_fn = optimizer, loss_fn

        def get_compile_config(self):
            return {"opt": self.opt_spec, "loss": self.loss_fn}

        def compile_from_config(self, config):
            self.compile(
                optimizer=lamina.utils.deserialize_keras_object(config["opt"]),
                loss_fn=lamina.utils.deserialize_keras_object(config["loss"]),
            )

    model = Net()
    model.compile(optimizer="sgd", loss_fn=half_sq)
    x = np.random.default_rng(2).random((6, 3)).astype("float32")
    model.fit(x, np.zeros((6, 2), dtype="float32"), verbose=0)
    path = str(tmp_path / "net.keras")
    model.save(path)
    restored = lamina.models.load_model(path)
    assert type(restored) is Net and restored.compiled
    assert restored.opt_spec == "sgd" and restored.loss_fn is half_sq
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    uncompiled = lamina.models.load_model(path, compile=False)
    assert not getattr(uncompiled, "compiled", False)


def test_unregistered_subclassed_model_is_still_refused_for_keras_files(tmp_path):
    class Plain(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)

    model = Plain()
    model(np.zeros((1, 2), dtype="float32"))
    with pytest.raises(ValueError, match="subclassed model"):
        model.save(str(tmp_path / "p.keras"))


def test_model_default_compile_config_round_trips():
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(2)])
    assert model.get_compile_config() is None
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate=0.005), loss="mse", metrics=["mae"])
    config = model.get_compile_config()
    assert config["optimizer"]["class_name"] == "Adam"
    other = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(2)])
    other.compile_from_config(config)
    assert other.compiled and type(other.optimizer).__name__ == "Adam"
    assert float(other.optimizer.learning_rate) == pytest.approx(0.005)
