"""Tests of `model.save` / `lamina.load_model` / `save_weights` / `load_weights`.

Every file is written and read back; corrupted and malicious files must be
refused with a clear message and without executing anything.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import sys
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.saving import file_io, model_io, registry
from lamina.saving.weights import WeightsReport

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = rng.integers(0, 3, size=48)
    return x, y


def make_sequential(seed: int = 0) -> lamina.Sequential:
    lamina.set_seed(seed)
    return lamina.Sequential(
        [
            lamina.Input(shape=(4,)),
            lamina.layers.Dense(8, activation="relu", name="hidden"),
            lamina.layers.BatchNormalization(name="bn"),
            lamina.layers.Dropout(0.25, name="drop"),
            lamina.layers.Dense(3, activation="softmax", name="out"),
        ]
    )


def trained_sequential(data, epochs: int = 2) -> lamina.Sequential:
    model = make_sequential()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    lamina.set_seed(1)
    model.fit(*data, batch_size=16, epochs=epochs, verbose=0)
    return model


def rewrite(path, edit) -> None:
    """Rewrites a saved file's members through ``edit(members: dict) -> None``."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    edit(members)
    with open(path, "wb") as f:
        file_io.write_zip(f, members)


def edit_config(path, fn) -> None:
    def edit(members):
        config = json.loads(members["config.json"])
        fn(config)
        members["config.json"] = json.dumps(config).encode()

    rewrite(path, edit)


@pytest.fixture
def cleanup():
    names: list[str] = []
    yield names
    for name in names:
        registry.unregister(name)


@pytest.fixture
def no_system(monkeypatch):
    """Records calls to os.system / os.popen instead of running them."""
    calls: list[object] = []
    native = sys.modules[os.system.__module__]  # posix (or nt): what a pickle names
    for module in (os, native):
        monkeypatch.setattr(module, "system", lambda *a, **k: calls.append(a) or 0)
    monkeypatch.setattr(os, "popen", lambda *a, **k: calls.append(a))
    return calls


# --------------------------------------------------------------------------- round trips


def test_save_sequential_round_trip_predictions_identical(tmp_path, data):
    model = trained_sequential(data)
    path = tmp_path / "m.lamina"
    model.save(path)
    assert zipfile.is_zipfile(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == [
            "config.json", "model.safetensors", "optimizer.json", "optimizer.safetensors", "profile.json"
        ]
    loaded = lamina.load_model(path)
    assert type(loaded) is lamina.Sequential
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Dense", "BatchNormalization", "Dropout", "Dense"
    ]
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))
    for key, value in model.state_dict().items():  # batch-norm statistics included
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    assert loaded.get_config() == model.get_config()


def test_save_writes_metadata_and_compile_config(tmp_path, data):
    model = trained_sequential(data, epochs=1)
    path = tmp_path / "m.lamina"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    assert config["format"] == "lamina"
    assert config["format_version"] == model_io.FORMAT_VERSION
    assert config["class_name"] == "Sequential"
    meta = config["metadata"]
    assert meta["lamina_version"] == lamina.__version__
    assert meta["torch_version"] == torch.__version__
    assert meta["created"].endswith("+00:00")  # ISO 8601, UTC
    assert meta["input"] == {"shape": [None, 4], "dtype": "float32"}
    cc = config["compile_config"]
    assert cc["optimizer"]["class_name"] == "Adam"
    assert cc["loss"]["class_name"] == "SparseCategoricalCrossentropy"
    assert cc["metrics"] == ["accuracy"]
    assert cc["jit_compile"] is False


def test_load_model_restores_compile_and_adam_moments(tmp_path, data):
    model = trained_sequential(data)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert loaded.compiled
    assert isinstance(loaded.optimizer, lamina.optimizers.Adam)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6
    loaded.optimizer.build(list(loaded.parameters()))
    original = model.optimizer.torch_optimizer.state_dict()
    restored = loaded.optimizer.torch_optimizer.state_dict()
    assert restored["param_groups"] == original["param_groups"]
    assert original["state"].keys() == restored["state"].keys()
    for index, entry in original["state"].items():
        for name in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(restored["state"][index][name], entry[name], rtol=0, atol=0)
    assert loaded.evaluate(*data, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}


def test_load_model_training_continues_identically(tmp_path, data):
    model = trained_sequential(data, epochs=2)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    for m in (model, loaded):
        lamina.set_seed(7)
        m.fit(*data, batch_size=16, epochs=1, verbose=0)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 9
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=1e-6)


def test_load_model_compile_false_leaves_model_uncompiled(tmp_path, data):
    model = trained_sequential(data, epochs=1)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina", compile=False)
    assert not loaded.compiled and loaded.optimizer is None
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))


def test_save_uncompiled_model_round_trip(tmp_path, data):
    model = make_sequential()
    model.save(tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as zf:
        assert "optimizer.json" not in zf.namelist()
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert not loaded.compiled
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))


def test_save_functional_round_trip(tmp_path, data):
    lamina.set_seed(0)
    inputs = lamina.Input(shape=(4,))
    hidden = lamina.layers.Dense(6, activation="relu")(inputs)
    outputs = lamina.layers.Dense(3, activation="softmax")(hidden)
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(*data, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "f.lamina")
    loaded = lamina.load_model(tmp_path / "f.lamina")
    assert type(loaded).__name__ == "Functional"
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))


def test_save_sequential_with_integer_inputs_and_no_input_layer(tmp_path):
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.layers.Embedding(10, 3), lamina.layers.Flatten(), lamina.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).integers(0, 10, size=(16, 5))
    model.fit(x, np.ones((16, 1), "float32"), verbose=0)
    model.save(tmp_path / "e.lamina")
    loaded = lamina.load_model(tmp_path / "e.lamina")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_save_subclassed_registered_model_round_trip(tmp_path, data, cleanup):
    @lamina.register
    class TwoLayerNet(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = lamina.layers.Dense(5, activation="tanh")
            self.out = lamina.layers.Dense(3)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    cleanup.append("TwoLayerNet")
    lamina.set_seed(0)
    model = TwoLayerNet(name="net")
    model.compile(optimizer="adam", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(*data, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "s.lamina")
    loaded = lamina.load_model(tmp_path / "s.lamina")
    assert type(loaded) is TwoLayerNet and loaded.name == "net"
    assert loaded.loss.from_logits is True
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))


def test_save_subclassed_model_with_get_config(tmp_path, data, cleanup):
    @lamina.register
    class WideNet(lamina.Model):
        def __init__(self, width, **kwargs):
            super().__init__(**kwargs)
            self.width = width
            self.hidden = lamina.layers.Dense(width)
            self.out = lamina.layers.Dense(3)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

        def get_config(self):
            return {**super().get_config(), "width": self.width}

    cleanup.append("WideNet")
    model = WideNet(7)
    model.predict(data[0], verbose=0)  # builds it
    model.save(tmp_path / "w.lamina")
    loaded = lamina.load_model(tmp_path / "w.lamina")
    assert loaded.width == 7 and loaded.hidden.units == 7
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))


def test_save_custom_layer_and_custom_loss_registered(tmp_path, data, cleanup):
    @lamina.register
    class Scale(lamina.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs, training=None):
            return inputs * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    @lamina.register
    class ScaledMSE(lamina.losses.Loss):
        def __init__(self, weight=1.0, **kwargs):
            super().__init__(**kwargs)
            self.weight = weight

        def call(self, y_true, y_pred):
            return self.weight * ((y_true - y_pred) ** 2).mean(dim=-1)

        def get_config(self):
            return {**super().get_config(), "weight": self.weight}

    @lamina.register
    def mean_abs(y_true, y_pred):
        return (y_true - y_pred).abs().mean(dim=-1)

    cleanup.extend(["Scale", "ScaledMSE", "mean_abs"])
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2), Scale(3.0)])
    model.compile(optimizer="sgd", loss=ScaledMSE(weight=0.5), metrics=[mean_abs, "mae"])
    y = np.ones((48, 2), "float32")
    model.fit(data[0], y, batch_size=16, verbose=0)
    model.save(tmp_path / "c.lamina")
    loaded = lamina.load_model(tmp_path / "c.lamina")
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].factor == 3.0
    assert isinstance(loaded.loss, ScaledMSE) and loaded.loss.weight == 0.5
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))
    logs = loaded.evaluate(data[0], y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mean_abs", "mae"}


def test_load_model_custom_objects_instead_of_registering(tmp_path, data, cleanup):
    class Halve(lamina.layers.Layer):
        def call(self, inputs, training=None):
            return inputs / 2

    lamina.register(Halve)
    model = lamina.Sequential([lamina.Input(shape=(4,)), Halve()])
    model.save(tmp_path / "h.lamina")
    registry.unregister("Halve")
    with pytest.raises(ValueError, match="Unknown class 'Halve' in the saved file"):
        lamina.load_model(tmp_path / "h.lamina")
    loaded = lamina.load_model(tmp_path / "h.lamina", custom_objects={"Halve": Halve})
    np.testing.assert_array_equal(loaded.predict(data[0], verbose=0), data[0] / 2)


def test_save_tied_weights_round_trip(tmp_path, data, cleanup):
    @lamina.register
    class Tied(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = torch.nn.Linear(4, 4)
            self.b = torch.nn.Linear(4, 4)
            self.b.weight = self.a.weight

        def call(self, inputs, training=None):
            return self.b(self.a(inputs))

    cleanup.append("Tied")
    model = Tied()
    model.save(tmp_path / "t.lamina")
    loaded = lamina.load_model(tmp_path / "t.lamina")
    assert loaded.a.weight is loaded.b.weight
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), loaded.predict(data[0], verbose=0))


def test_save_optimizer_with_schedule_restores_iterations(tmp_path, data):
    model = make_sequential()
    schedule = lamina.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model.compile(optimizer=lamina.optimizers.SGD(schedule, momentum=0.9), loss="sparse_categorical_crossentropy")
    model.fit(*data, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    assert isinstance(loaded.optimizer._schedule, lamina.schedules.ExponentialDecay)
    assert loaded.optimizer.iterations == 3
    assert loaded.optimizer.learning_rate == pytest.approx(model.optimizer.learning_rate)


# --------------------------------------------------------------------------- save errors


def test_save_requires_lamina_or_keras_extension(tmp_path):
    model = make_sequential()
    with pytest.raises(ValueError, match=r"ending with '\.lamina' \(Lamina's format\) or '\.keras' \(a Keras 3 file\)\. Received: filepath='.*m\.pt'"):
        model.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()


def test_save_unregistered_subclass_is_refused(tmp_path):
    class Anonymous(lamina.Model):
        def call(self, inputs, training=None):
            return inputs

    with pytest.raises(ValueError, match=r"`Anonymous` is not registered.*@lamina\.register"):
        Anonymous().save(tmp_path / "a.lamina")
    assert list(tmp_path.iterdir()) == []


def test_save_subclass_with_constructor_args_needs_get_config(tmp_path, cleanup):
    @lamina.register
    class NeedsArgs(lamina.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.dense = lamina.layers.Dense(units)

        def call(self, inputs, training=None):
            return self.dense(inputs)

    cleanup.append("NeedsArgs")
    with pytest.raises(ValueError, match=r"takes constructor arguments \(units\) but does not define `get_config\(\)`"):
        NeedsArgs(3).save(tmp_path / "n.lamina")


def test_save_unregistered_layer_is_refused(tmp_path):
    class Loose(lamina.layers.Layer):
        def call(self, inputs, training=None):
            return inputs

    model = lamina.Sequential([lamina.Input(shape=(4,)), Loose()])
    with pytest.raises(ValueError, match=r"uses the class 'Loose', which is neither built into Lamina nor registered"):
        model.save(tmp_path / "l.lamina")


def test_save_unregistered_loss_function_is_refused(tmp_path):
    def private_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(dim=-1)

    model = make_sequential()
    model.compile(optimizer="adam", loss=private_loss)
    with pytest.raises(ValueError, match=r"compile configuration of model .* could not be loaded back.*private_loss"):
        model.save(tmp_path / "p.lamina")


def test_save_failure_leaves_previous_file_and_no_temp_file(tmp_path, monkeypatch, data):
    model = trained_sequential(data, epochs=1)
    path = tmp_path / "m.lamina"
    model.save(path)
    before = path.read_bytes()

    real_write_zip = file_io.write_zip

    def write_half_then_fail(f, members):
        real_write_zip(f, members)
        f.truncate(len(before) // 2)
        raise OSError("disk full")

    monkeypatch.setattr(file_io, "write_zip", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lamina"]
    monkeypatch.undo()

    def fsync_fails(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", fsync_fails)
    with pytest.raises(OSError, match="fsync failed"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.lamina"]
    monkeypatch.undo()
    lamina.load_model(path)


def test_save_into_missing_directory_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist. Create it first"):
        make_sequential().save(tmp_path / "nope" / "m.lamina")


# --------------------------------------------------------------------------- corrupted files


@pytest.fixture
def saved(tmp_path, data):
    path = tmp_path / "m.lamina"
    trained_sequential(data, epochs=1).save(path)
    return path


def test_load_model_random_bytes_is_refused(tmp_path):
    path = tmp_path / "r.lamina"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ValueError, match=r"'r\.lamina' is not a Lamina model file \(not a zip archive"):
        lamina.load_model(path)


def test_load_model_truncated_file_is_refused(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"'m\.lamina' is not a Lamina model file \(not a zip archive; the file is truncated"):
        lamina.load_model(saved)


def test_load_model_corrupted_member_is_refused(saved):
    data = bytearray(saved.read_bytes())
    start = data.find(b"model.safetensors") + 200  # inside the stored weights
    data[start : start + 8] = b"\xff" * 8
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"the member 'model\.safetensors' is corrupted"):
        lamina.load_model(saved)


def test_load_model_missing_config_is_refused(saved):
    rewrite(saved, lambda members: members.pop("config.json"))
    with pytest.raises(ValueError, match=r"'m\.lamina' is not a Lamina model file \(the archive has no 'config\.json'"):
        lamina.load_model(saved)


def test_load_model_missing_weights_is_refused(saved):
    rewrite(saved, lambda members: members.pop("model.safetensors"))
    with pytest.raises(ValueError, match=r"the archive has no 'model\.safetensors'"):
        lamina.load_model(saved)


def test_load_model_bad_json_is_refused(saved):
    rewrite(saved, lambda members: members.update({"config.json": b"{not json"}))
    with pytest.raises(ValueError, match=r"'config\.json' is not valid JSON"):
        lamina.load_model(saved)


def test_load_model_future_format_version_is_refused(saved):
    edit_config(saved, lambda c: c.update(format_version=model_io.FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=r"'m\.lamina' was written by a newer Lamina \(file format version 2.*Upgrade Lamina"):
        lamina.load_model(saved)


def test_load_model_other_json_is_refused(saved):
    edit_config(saved, lambda c: c.pop("format"))
    with pytest.raises(ValueError, match=r"'config\.json' does not describe a Lamina model"):
        lamina.load_model(saved)


def test_load_model_missing_file_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No such file: .*absent\.lamina"):
        lamina.load_model(tmp_path / "absent.lamina")


def test_load_model_weights_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"holds only weights.*model\.load_weights\(path\)"):
        lamina.load_model(tmp_path / "m.weights.safetensors")


def test_load_model_mismatched_weights_are_listed(saved):
    def edit(members):
        from safetensors.torch import load, save

        tensors = load(members["model.safetensors"])
        tensors["hidden.kernel"] = torch.zeros(9, 4)
        del tensors["hidden.bias"]
        tensors["extra.weight"] = torch.zeros(1)
        members["model.safetensors"] = save(tensors)

    rewrite(saved, edit)
    with pytest.raises(ValueError) as info:
        lamina.load_model(saved)
    message = str(info.value)
    assert "'m.lamina' do not match the model" in message
    assert "Missing from the file (1): hidden.bias" in message
    assert "Unexpected in the file (1): extra.weight" in message
    assert "hidden.kernel: the model expects [8, 4], the file has [9, 4]" in message


# --------------------------------------------------------------------------- security


@pytest.mark.parametrize("class_name", ["os.system", "builtins.eval", "subprocess.Popen", "NotALayer"])
def test_load_model_refuses_unknown_model_class(saved, no_system, class_name):
    edit_config(saved, lambda c: c.update(class_name=class_name, module="os", config={"command": "echo pwned"}))
    with pytest.raises(ValueError, match=f"Unknown class '{class_name}' in the saved file"):
        lamina.load_model(saved)
    assert no_system == []


def test_load_model_refuses_unknown_nested_layer_class(saved, no_system):
    def edit(config):
        config["config"]["layers"][0] = {
            "class_name": "os.system",
            "module": "os",
            "config": {"command": "echo pwned"},
        }

    edit_config(saved, edit)
    with pytest.raises(ValueError, match="Unknown class 'os.system' in the saved file"):
        lamina.load_model(saved)
    assert no_system == []


def test_load_model_refuses_unknown_loss_class(saved, no_system):
    edit_config(saved, lambda c: c["compile_config"].update(loss={"class_name": "builtins.eval", "config": {}}))
    with pytest.raises(ValueError, match=r"Unknown loss class: 'builtins\.eval'.*compile=False"):
        lamina.load_model(saved)
    assert no_system == []
    assert not lamina.load_model(saved, compile=False).compiled


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _torch_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


# Made at import time, before `no_system` patches os.system: unpickling either
# would call os.system("echo pwned").
_PICKLE_PAYLOAD = pickle.dumps(_Exploit())
_TORCH_PAYLOAD = _torch_pickle({"weights": _Exploit()})


def test_load_model_never_reads_pickle_members(saved, no_system):
    payload = _PICKLE_PAYLOAD
    rewrite(saved, lambda members: members.update({"evil.pkl": payload, "data.pkl": payload}))
    loaded = lamina.load_model(saved)
    assert isinstance(loaded, lamina.Sequential)
    assert no_system == []
    pickle.loads(payload)  # the control: unpickling it would have run os.system
    assert no_system == [("echo pwned",)]


def test_load_model_pickle_in_place_of_weights_is_refused(saved, no_system):
    rewrite(saved, lambda members: members.update({"model.safetensors": _TORCH_PAYLOAD}))
    with pytest.raises(ValueError, match=r"'model\.safetensors' is not valid safetensors data"):
        lamina.load_model(saved)
    assert no_system == []


# --------------------------------------------------------------------------- weights files


def test_save_weights_round_trip(tmp_path, data):
    model = trained_sequential(data, epochs=1)
    path = tmp_path / "m.weights.safetensors"
    model.save_weights(path)
    other = make_sequential(seed=3)
    report = other.load_weights(path)
    assert isinstance(report, WeightsReport) and report.ok
    assert "bn.moving_mean" in report.loaded
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), other.predict(data[0], verbose=0))


def test_load_weights_from_lamina_file(tmp_path, data):
    model = trained_sequential(data, epochs=1)
    model.save(tmp_path / "m.lamina")
    other = make_sequential(seed=3)
    assert other.load_weights(tmp_path / "m.lamina").ok
    np.testing.assert_array_equal(model.predict(data[0], verbose=0), other.predict(data[0], verbose=0))


def test_save_weights_requires_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"ending with '\.weights\.safetensors'\. Received: filepath='.*m\.pt'"):
        make_sequential().save_weights(tmp_path / "m.pt")


def test_load_weights_strict_lists_every_difference(tmp_path):
    source = lamina.Sequential(
        [lamina.Input(shape=(4,)), lamina.layers.Dense(8, name="a"), lamina.layers.Dense(2, name="b")]
    )
    path = tmp_path / "s.weights.safetensors"
    source.save_weights(path)
    target = lamina.Sequential(
        [lamina.Input(shape=(4,)), lamina.layers.Dense(5, name="a"), lamina.layers.Dense(2, name="c")]
    )
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ValueError) as info:
        target.load_weights(path)
    message = str(info.value)
    assert "Missing from the file (2): c.kernel, c.bias" in message
    assert "Unexpected in the file (2): b.bias, b.kernel" in message
    assert "a.kernel: the model expects [5, 4], the file has [8, 4]" in message
    assert "a.bias: the model expects [5], the file has [8]" in message
    assert "pass strict=False" in message
    for key, value in target.state_dict().items():  # nothing was loaded
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_load_weights_non_strict_loads_matches_and_reports(tmp_path):
    source = lamina.Sequential(
        [lamina.Input(shape=(4,)), lamina.layers.Dense(3, name="a"), lamina.layers.Dense(2, name="b")]
    )
    path = tmp_path / "s.weights.safetensors"
    source.save_weights(path)
    target = lamina.Sequential(
        [lamina.Input(shape=(4,)), lamina.layers.Dense(3, name="a"), lamina.layers.Dense(4, name="b")]
    )
    report = target.load_weights(path, strict=False)
    assert report.loaded == ["a.kernel", "a.bias"]
    assert report.mismatched == [("b.kernel", (4, 3), (2, 3)), ("b.bias", (4,), (2,))]
    assert report.missing == [] and report.unexpected == [] and not report.ok
    torch.testing.assert_close(target.a.kernel, source.a.kernel, rtol=0, atol=0)


def test_load_weights_into_unbuilt_model_says_to_build(tmp_path):
    make_sequential().save_weights(tmp_path / "m.weights.safetensors")
    unbuilt = lamina.Sequential([lamina.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"The model has no weights yet: build it first"):
        unbuilt.load_weights(tmp_path / "m.weights.safetensors")


def test_load_weights_invalid_file_is_refused(tmp_path):
    path = tmp_path / "x.weights.safetensors"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"'x\.weights\.safetensors' is not a weights file"):
        make_sequential().load_weights(path)


def test_save_weights_is_atomic(tmp_path, monkeypatch):
    model = make_sequential()
    path = tmp_path / "m.weights.safetensors"
    model.save_weights(path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError("rename failed")))
    with pytest.raises(OSError, match="rename failed"):
        make_sequential(seed=5).save_weights(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.weights.safetensors"]


def test_save_multi_output_compile_config_round_trip(tmp_path):
    lamina.set_seed(0)
    inputs = lamina.Input(shape=(4,), name="x")
    hidden = lamina.layers.Dense(8, activation="relu")(inputs)
    reg = lamina.layers.Dense(1, name="reg")(hidden)
    cls = lamina.layers.Dense(3, activation="softmax", name="cls")(hidden)
    model = lamina.Model(inputs, {"reg": reg, "cls": cls})
    model.compile(
        optimizer="adam",
        loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
        metrics={"cls": ["accuracy"], "reg": [lamina.metrics.MeanAbsoluteError()]},
        loss_weights={"reg": 0.5, "cls": 1.0},
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = {"reg": rng.normal(size=(32, 1)).astype("float32"), "cls": rng.integers(0, 3, 32)}
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "mo.lamina")
    loaded = lamina.load_model(tmp_path / "mo.lamina")
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )


def test_optimizer_state_encoding_round_trips_tuples_int_keys_and_tensors():
    from lamina.saving.tensors import decode_state, encode_state

    state = {
        "iterations": 3,
        "optimizer": {
            "state": {0: {"step": torch.tensor(3.0), "buf": torch.ones(2)}, 1: {"m": None}},
            "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "x": float("inf")}],
        },
        "odd": {"__tuple__": 1},
    }
    tensors: dict[str, torch.Tensor] = {}
    encoded = encode_state(state, tensors)
    json.dumps(encoded)  # plain JSON
    assert set(tensors) == {"optimizer.state.0.step", "optimizer.state.0.buf"}
    decoded = decode_state(json.loads(json.dumps(encoded)), tensors)
    assert decoded["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    assert decoded["optimizer"]["state"][1] == {"m": None}
    assert decoded["odd"] == {"__tuple__": 1}
    torch.testing.assert_close(decoded["optimizer"]["state"][0]["buf"], torch.ones(2))
    with pytest.raises(TypeError, match=r"Cannot save the state entry 'a' without pickle.*Received a value of type set"):
        encode_state({"a": {1, 2}}, {})
    with pytest.raises(ValueError, match="refers to a tensor 'missing' that was not saved"):
        decode_state({"__tensor__": "missing"}, {})


def test_load_model_optimizer_state_for_other_parameters_is_refused(saved):
    bad = {"state": {"iterations": 1, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}}}
    rewrite(saved, lambda members: members.update({"optimizer.json": json.dumps(bad).encode()}))
    with pytest.raises(ValueError, match=r"optimizer state in 'optimizer\.json' is invalid: it tracks 1 parameters but the model has 6 trainable ones"):
        lamina.load_model(saved)
    assert lamina.load_model(saved, compile=False).optimizer is None


def test_load_weights_matches_by_structure_when_auto_names_differ(tmp_path):
    import lamina as _lamina

    def build():
        return _lamina.Sequential([_lamina.Input(shape=(4,)), _lamina.layers.Dense(3), _lamina.layers.Dense(2)])

    first, second = build(), build()
    assert list(first.state_dict()) != list(second.state_dict())  # dense/dense_1 vs dense_2/dense_3
    path = tmp_path / "m.weights.safetensors"
    first.save_weights(path)
    report = second.load_weights(path)
    assert report.ok
    x = torch.ones(2, 4)
    torch.testing.assert_close(first(x), second(x))
    other = _lamina.Sequential([_lamina.Input(shape=(4,)), _lamina.layers.Dense(5), _lamina.layers.Dense(2)])
    with pytest.raises(ValueError, match="do not match"):
        other.load_weights(path)
