"""The top-level names a Keras 3 script reaches through `import lamina as keras`."""

from __future__ import annotations

import pytest
import torch

import lamina as keras


def test_top_level_keras_names_are_lamina_objects():
    assert keras.Layer is keras.layers.Layer
    assert issubclass(keras.Model, keras.Layer)
    for name in ("Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "KerasTensor", "Variable"):
        assert isinstance(getattr(keras, name), type), name
    for module in ("ops", "random", "utils", "models", "saving", "config", "backend", "layers"):
        assert hasattr(keras, module), module
    assert isinstance(keras.Input(shape=(3,)), keras.KerasTensor)
    assert keras.version() == keras.__version__


def test_config_reports_torch_and_round_trips_floatx_and_epsilon():
    assert keras.config.backend() == "torch" == keras.backend.backend()
    assert keras.config.floatx() == "float32" and keras.config.image_data_format() == "channels_last"
    try:
        keras.config.set_floatx("float64")
        assert torch.get_default_dtype() == torch.float64 and keras.config.floatx() == "float64"
    finally:
        keras.config.set_floatx("float32")
    old = keras.config.epsilon()
    try:
        keras.config.set_epsilon(1e-5)
        assert keras.backend.epsilon() == 1e-5
    finally:
        keras.config.set_epsilon(old)


def test_config_refuses_what_lamina_does_not_do():
    with pytest.raises(ValueError, match=r"`set_floatx` expects `value` to be one of"):
        keras.config.set_floatx("float8")
    with pytest.raises(ValueError, match=r"channels_last"):
        keras.config.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match=r"never deserializes code"):
        keras.config.enable_unsafe_deserialization()


def test_layers_serialize_and_deserialize_round_trip_like_keras():
    layer = keras.layers.Dense(3, activation="relu", name="probe")
    config = keras.layers.serialize(layer)
    assert config["class_name"] == "Dense" and config["config"]["units"] == 3
    clone = keras.layers.deserialize(config)
    assert isinstance(clone, keras.layers.Dense) and clone is not layer
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match=r"`deserialize` expects a layer config"):
        keras.layers.deserialize({"units": 3})
