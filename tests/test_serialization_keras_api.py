"""Tests of Keras's serialization API on Lamina: register_keras_serializable,
get_custom_objects, serialize/deserialize_keras_object, clone_model, to_json."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import (
    activations,
    initializers,
    layers,
    losses,
    metrics,
    optimizers,
    regularizers,
    schedules,
)
from lamina.saving import registry


@pytest.fixture
def custom_objects():
    """The global custom-object dict, restored after the test."""
    objects = lamina.saving.get_custom_objects()
    before = dict(objects)
    yield objects
    objects.clear()
    objects.update(before)


def _x(n: int = 6, d: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


# --------------------------------------------------------------------------- registration
def test_register_keras_serializable_uses_package_and_name(custom_objects):
    @lamina.saving.register_keras_serializable(package="MyPackage", name="Twice")
    def twice(x):
        return 2 * x

    @lamina.saving.register_keras_serializable()
    class Scale(layers.Layer):
        def call(self, inputs, training=None):
            return inputs * 3

    assert lamina.saving.get_registered_name(twice) == "MyPackage>Twice"
    assert lamina.saving.get_registered_name(Scale) == "Custom>Scale"
    assert custom_objects["MyPackage>Twice"] is twice
    assert lamina.saving.get_registered_object("MyPackage>Twice") is twice
    assert lamina.saving.get_registered_object("Custom>Scale") is Scale
    assert lamina.saving.get_registered_object("NotThere") is None


def test_get_registered_name_falls_back_to_the_object_name_as_keras():
    def plain(x):
        return x

    assert lamina.saving.get_registered_name(plain) == "plain"
    assert lamina.saving.get_registered_name(layers.Dense) == "Dense"


def test_get_custom_objects_is_the_mutable_global_dict(custom_objects):
    class Added(layers.Layer):
        pass

    lamina.saving.get_custom_objects()["Added"] = Added
    assert lamina.saving.get_class("Added") is Added
    lamina.saving.get_custom_objects().clear()
    with pytest.raises(ValueError, match="Unknown class 'Added'"):
        lamina.saving.get_class("Added")


def test_register_keras_serializable_rejects_bad_package():
    with pytest.raises(ValueError, match=r"`package` to be a non-empty string without '>'\. Received: package='a>b'"):
        lamina.saving.register_keras_serializable(package="a>b")


def test_custom_object_scope_resolves_only_inside_the_block():
    class Scoped(layers.Layer):
        pass

    config = {"class_name": "Scoped", "config": {"name": "s"}}
    with lamina.saving.CustomObjectScope({"Scoped": Scoped}):
        assert isinstance(lamina.saving.deserialize_keras_object(config), Scoped)
    with lamina.saving.custom_object_scope({"Scoped": Scoped}):
        assert lamina.saving.get_class("Scoped") is Scoped
    with pytest.raises(ValueError, match="Unknown class 'Scoped'"):
        lamina.saving.deserialize_keras_object(config)
    assert isinstance(lamina.saving.deserialize_keras_object(config, custom_objects={"Scoped": Scoped}), Scoped)


# --------------------------------------------------------------------------- round trips
ROUND_TRIPS = [
    ("layer", lambda: layers.Dense(3, activation="relu", kernel_regularizer=regularizers.L2(0.1), name="d")),
    ("layer", lambda: layers.Conv2D(4, 3, strides=2, padding="same", name="c")),
    ("loss", lambda: losses.Huber(delta=2.0)),
    ("loss", lambda: losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)),
    ("metric", lambda: metrics.Precision(thresholds=0.3, name="p")),
    ("optimizer", lambda: optimizers.Adam(learning_rate=0.01, beta_1=0.8)),
    ("optimizer", lambda: optimizers.SGD(learning_rate=schedules.CosineDecay(0.1, 100), momentum=0.9)),
    ("schedule", lambda: schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)),
    ("initializer", lambda: initializers.HeNormal(seed=3)),
    ("regularizer", lambda: regularizers.L1L2(l1=0.1, l2=0.2)),
]


@pytest.mark.parametrize(("family", "make"), ROUND_TRIPS, ids=lambda v: v if isinstance(v, str) else "")
def test_serialize_keras_object_round_trips(family, make):
    obj = make()
    config = lamina.saving.serialize_keras_object(obj)
    assert set(config) >= {"module", "class_name", "config", "registered_name"}
    assert config["module"] == registry.FAMILY_MODULES[family]
    assert config["class_name"] == type(obj).__name__
    assert config["registered_name"] is None
    text = json.dumps(config)  # JSON-able as it is
    back = lamina.saving.deserialize_keras_object(json.loads(text))
    assert type(back) is type(obj)
    assert back is not obj
    assert lamina.saving.serialize_keras_object(back)["config"] == json.loads(text)["config"]


def test_serialize_keras_object_keeps_behaviour_of_losses_and_layers():
    y_true = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    y_pred = torch.tensor([[0.5, 3.0], [-1.0, 1.5]])
    loss = losses.Huber(delta=0.5)
    back = lamina.saving.deserialize_keras_object(lamina.saving.serialize_keras_object(loss))
    torch.testing.assert_close(back(y_true, y_pred), loss(y_true, y_pred))
    dense = layers.Dense(2, activation="tanh")
    dense.build((None, 4))
    config = lamina.saving.serialize_keras_object(dense)
    assert config["build_config"] == {"input_shape": [None, 4]}
    rebuilt = lamina.saving.deserialize_keras_object(config)
    assert rebuilt.built
    rebuilt.set_weights(dense.get_weights())
    x = torch.from_numpy(_x())
    torch.testing.assert_close(rebuilt(x), dense(x))


def test_serialize_keras_object_of_functions_and_plain_values():
    relu = lamina.saving.serialize_keras_object(activations.relu)
    assert relu == {"module": "lamina.activations", "class_name": "function", "config": "relu", "registered_name": "relu"}
    assert lamina.saving.deserialize_keras_object(relu) is activations.relu
    mse = lamina.saving.serialize_keras_object(losses.mean_squared_error)
    assert lamina.saving.deserialize_keras_object(mse) is losses.mean_squared_error
    assert lamina.saving.serialize_keras_object({"a": [1, (2.0, None)], "b": "s"}) == {"a": [1, (2.0, None)], "b": "s"}
    array = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_array_equal(
        lamina.saving.deserialize_keras_object(lamina.saving.serialize_keras_object(array)), array
    )


def test_deserialize_keras_object_reads_keras_module_names():
    huber = lamina.saving.deserialize_keras_object(
        {"module": "keras.losses", "class_name": "Huber",
         "config": {"delta": 2.0, "name": "huber_loss", "reduction": "sum_over_batch_size"},
         "registered_name": None}
    )
    assert isinstance(huber, losses.Huber) and huber.delta == 2.0
    relu = {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"}
    assert lamina.saving.deserialize_keras_object(relu) is activations.relu
    # A name two families share resolves in the family its module names.
    mse = {"module": "keras.metrics", "class_name": "MeanSquaredError", "config": {"name": "mse"}, "registered_name": None}
    assert isinstance(lamina.saving.deserialize_keras_object(mse), metrics.MeanSquaredError)


def test_deserialize_keras_object_refuses_lambdas_and_unknown_classes():
    with pytest.raises(ValueError, match=r"holds a Python `lambda`, whose code Lamina refuses to run"):
        lamina.saving.deserialize_keras_object({"class_name": "__lambda__", "config": {"value": "..."}})
    with pytest.raises(ValueError, match=r"Unknown class 'os\.system'.*register"):
        lamina.saving.deserialize_keras_object({"module": "os", "class_name": "os.system", "config": {}, "registered_name": None})
    with pytest.raises(ValueError, match=r"Cannot serialize a `lambda`"):
        lamina.saving.serialize_keras_object(lambda x: x)


@pytest.mark.parametrize(
    ("module", "obj", "make"),
    [
        (losses, losses.Huber(delta=3.0), lambda c: losses.deserialize(c)),
        (metrics, metrics.Recall(thresholds=0.2), lambda c: metrics.deserialize(c)),
        (optimizers, optimizers.RMSprop(learning_rate=0.02), lambda c: optimizers.deserialize(c)),
        (schedules, schedules.PolynomialDecay(0.1, 50), lambda c: schedules.deserialize(c)),
        (initializers, initializers.Constant(0.5), lambda c: initializers.deserialize(c)),
        (regularizers, regularizers.L2(0.3), lambda c: regularizers.deserialize(c)),
    ],
    ids=lambda v: getattr(v, "__name__", "").rsplit(".", 1)[-1] if hasattr(v, "__name__") else "",
)
def test_family_serialize_deserialize_use_the_keras_form(module, obj, make):
    config = module.serialize(obj)
    assert config == lamina.saving.serialize_keras_object(obj)
    back = make(config)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()
    short = {"class_name": config["class_name"], "config": config["config"]}  # Lamina 0.x files
    assert make(short).get_config() == obj.get_config()


def test_layers_serialize_and_deserialize():
    from lamina.utils.serialization import deserialize_layer, serialize_layer

    serialize = getattr(layers, "serialize", serialize_layer)
    deserialize = getattr(layers, "deserialize", deserialize_layer)
    config = serialize(layers.Dropout(0.25, name="drop"))
    assert config["class_name"] == "Dropout" and config["config"]["rate"] == 0.25
    back = deserialize(config)
    assert isinstance(back, layers.Dropout) and back.rate == 0.25 and back.name == "drop"
    with pytest.raises(ValueError, match=r"expects the config of a layer\. Received: a config of Huber"):
        deserialize(losses.serialize(losses.Huber()))


# --------------------------------------------------------------------------- names
def test_family_get_resolves_keras_names_and_aliases():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get("kld"), losses.KLDivergence)
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert activations.get("relu") is activations.relu
    assert activations.get("swish") is activations.silu
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert isinstance(initializers.get("glorot_uniform"), initializers.GlorotUniform)
    assert isinstance(metrics.get("rmse"), metrics.RootMeanSquaredError)


def test_registry_discovers_a_class_added_to_a_family_module(monkeypatch):
    class DoubleError(losses.LossFunctionWrapper):
        def __init__(self, reduction="sum_over_batch_size", name="double_error"):
            super().__init__(losses.mean_absolute_error, name=name, reduction=reduction)

    DoubleError.__module__ = "lamina.losses"
    monkeypatch.setattr(losses, "DoubleError", DoubleError, raising=False)
    registry.refresh()
    try:
        assert isinstance(losses.get("double_error"), DoubleError)
        assert isinstance(losses.deserialize(losses.serialize(DoubleError())), DoubleError)
    finally:
        monkeypatch.undo()
        registry.refresh()
    with pytest.raises(ValueError, match="Unknown loss name: 'double_error'"):
        losses.get("double_error")


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: losses.get("msee"), r"Unknown loss name: 'msee'\. Valid names are: .*mean_squared_error.*mse"),
        (lambda: optimizers.get("adamm"), r"Unknown optimizer name: 'adamm'\. Valid names are: .*adam.*rmsprop.*sgd"),
        (lambda: activations.get("relux"), r"Unknown activation name: 'relux'\. Valid names are: .*relu, relu6"),
        (lambda: initializers.get("glorot"), r"Unknown initializer name: 'glorot'\. Valid names are: .*glorot_uniform"),
        (lambda: losses.deserialize({"class_name": "Nope", "config": {}}), r"Unknown loss class: 'Nope'\. Valid classes are: .*Huber.*custom_objects"),
        (lambda: metrics.deserialize({"class_name": "function", "config": "nope"}), r"Unknown metric function name: 'nope'\. Valid names are: .*accuracy"),
    ],
)
def test_unknown_names_list_the_valid_ones(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# --------------------------------------------------------------------------- saving
def test_custom_layer_with_sublayer_in_get_config_saves_and_loads(tmp_path, custom_objects):
    @lamina.saving.register_keras_serializable(package="Test")
    class Residual(layers.Layer):
        def __init__(self, sublayer, **kwargs):
            super().__init__(**kwargs)
            self.sublayer = sublayer

        def call(self, inputs, training=None):
            return inputs + self.sublayer(inputs)

        def get_config(self):
            config = super().get_config()
            config["sublayer"] = self.sublayer  # a layer instance, as in the Keras guides
            return config

    inputs = lamina.Input(shape=(4,))
    outputs = layers.Dense(2)(Residual(layers.Dense(4, activation="tanh"))(inputs))
    model = lamina.Model(inputs, outputs)
    path = tmp_path / "residual.lamina"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = _x()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=0)
    residual = next(layer for layer in loaded.layers if isinstance(layer, Residual))
    assert isinstance(residual.sublayer, layers.Dense) and residual.sublayer.units == 4
    config = lamina.saving.serialize_keras_object(Residual(layers.Dense(3)))
    assert config["registered_name"] == "Test>Residual"
    assert config["config"]["sublayer"]["class_name"] == "Dense"
    assert isinstance(lamina.saving.deserialize_keras_object(config).sublayer, layers.Dense)


@pytest.mark.parametrize("decorator", ["keras", "lamina"])
def test_registered_custom_activation_saves_and_loads(tmp_path, custom_objects, decorator):
    def scaled_tanh(x):
        return 2.0 * torch.tanh(x)

    if decorator == "keras":
        lamina.saving.register_keras_serializable(package="Test")(scaled_tanh)
    else:
        lamina.register(scaled_tanh)
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3, activation=scaled_tanh)])
    config = activations.serialize(scaled_tanh)
    assert config["class_name"] == "function" and config["registered_name"] == registry.get_registered_name(scaled_tanh)
    assert activations.deserialize(config) is scaled_tanh
    model.save(tmp_path / "act.lamina")
    loaded = lamina.load_model(tmp_path / "act.lamina")
    assert loaded.layers[-1].activation is scaled_tanh
    x = _x()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    expected = 2.0 * np.tanh(x @ model.get_weights()[0] + model.get_weights()[1])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_unregistered_custom_activation_cannot_be_saved(tmp_path):
    def shifted(x):
        return x + 1

    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3, activation=shifted)])
    with pytest.raises(ValueError, match=r"it is not a built-in Lamina activation \(elu, .*\) nor a registered function\. Decorate the function with @lamina\.saving\.register_keras_serializable\(\)"):
        model.save(tmp_path / "m.lamina")


def test_models_namespace_has_keras_helpers():
    assert lamina.models.load_model is lamina.load_model
    assert lamina.models.save_model is lamina.saving.save_model
    assert lamina.saving.load_model is lamina.load_model


# --------------------------------------------------------------------------- clone / json
def _functional():
    inputs = lamina.Input(shape=(4,))
    hidden = layers.Dense(5, activation="relu", name="hidden")(inputs)
    outputs = layers.Add()([layers.Dense(5, name="branch")(hidden), hidden])
    return lamina.Model(inputs, layers.Dense(2, name="head")(outputs))


def _sequential():
    return lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(5, activation="relu"), layers.Dense(2)])


@lamina.saving.register_keras_serializable(package="TestClone")
class TwoLayer(lamina.Model):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = layers.Dense(units, activation="relu")
        self.second = layers.Dense(2)

    def call(self, inputs, training=None):
        return self.second(self.first(inputs))

    def get_config(self):
        return {"units": self.units, "name": self.name}


def _subclassed():
    model = TwoLayer(units=6)
    model.build((None, 4))
    return model


@pytest.mark.parametrize("make", [_sequential, _functional, _subclassed], ids=["sequential", "functional", "subclassed"])
def test_clone_model_same_architecture_fresh_weights(make):
    lamina.set_seed(1)
    model = make()
    model.compile(optimizer="adam", loss="mse")
    clone = lamina.models.clone_model(model)
    assert type(clone) is type(model)
    assert [type(m).__name__ for m in clone.children()] == [type(m).__name__ for m in model.children()]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not clone.compiled
    x = _x()
    assert not np.allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    assert all(a is not b for a, b in zip(clone.parameters(), model.parameters()))
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_clone_model_clone_function_and_input_tensors():
    model = _functional()
    seen = []

    def clone_function(layer):
        seen.append(layer)
        config = layer.get_config()
        if isinstance(layer, layers.Dense):
            config["activation"] = "tanh"
        return type(layer).from_config(config)

    new_input = lamina.Input(shape=(4,), name="fresh_input")
    clone = lamina.models.clone_model(model, input_tensors=new_input, clone_function=clone_function)
    assert sorted(type(layer).__name__ for layer in seen) == ["Add", "Dense", "Dense", "Dense"]
    assert all(any(layer is original for original in model.layers) for layer in seen)
    assert clone.inputs[0] is new_input
    assert all(layer.activation is activations.tanh for layer in clone.layers if isinstance(layer, layers.Dense))
    seq = lamina.models.clone_model(_sequential(), clone_function=lambda layer: layers.Dense(7) if isinstance(layer, layers.Dense) else layer)
    assert [layer.units for layer in seq.layers] == [7, 7]


def test_clone_model_refuses_clone_function_for_subclassed_models():
    with pytest.raises(ValueError, match=r"only for Sequential and functional models\. Received: a subclassed `TwoLayer`"):
        lamina.models.clone_model(_subclassed(), clone_function=lambda layer: layer)
    with pytest.raises(TypeError, match=r"expects a `lamina\.Model`\. Received: model of type Dense"):
        lamina.models.clone_model(layers.Dense(2))


@pytest.mark.parametrize("make", [_sequential, _functional], ids=["sequential", "functional"])
def test_to_json_and_model_from_json_round_trip(make):
    model = make()
    text = model.to_json()
    config = json.loads(text)
    assert config["class_name"] == type(model).__name__ and config["module"] == "lamina.models"
    rebuilt = lamina.models.model_from_json(text)
    assert type(rebuilt) is type(model)
    assert [layer.get_config() for layer in rebuilt.layers] == [layer.get_config() for layer in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = _x()
    np.testing.assert_array_equal(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))
    assert model.to_json(indent=2) != text and json.loads(model.to_json(indent=2)) == config


def test_model_from_json_errors():
    with pytest.raises(ValueError, match=r"could not parse the JSON string.*Received: json_string='not json'"):
        lamina.models.model_from_json("not json")
    with pytest.raises(ValueError, match=r"expects the JSON of a model\. Received: a config of Dense"):
        lamina.models.model_from_json(json.dumps(lamina.saving.serialize_keras_object(layers.Dense(2))))
