"""Tests of the class registry that `load_model` uses instead of imports."""

from __future__ import annotations

import pytest

import lamina
from lamina import losses, metrics
from lamina.saving import registry


@pytest.fixture
def cleanup():
    """Unregisters the names a test registers."""
    names: list[str] = []
    yield names
    for name in names:
        registry.unregister(name)


def test_registry_get_class_finds_builtin_layers_and_models():
    assert registry.get_class("Dense") is lamina.layers.Dense
    assert registry.get_class("BatchNormalization") is lamina.layers.BatchNormalization
    assert registry.get_class("Sequential") is lamina.Sequential
    assert registry.get_class("Model") is lamina.Model
    assert registry.get_class("Adam") is lamina.optimizers.Adam
    assert registry.get_class("CosineDecay") is lamina.schedules.CosineDecay
    assert registry.get_class("GlorotUniform") is lamina.initializers.GlorotUniform
    assert registry.get_class("L2") is lamina.regularizers.L2


def test_registry_get_class_finds_functional_model():
    from lamina.models.functional import Functional

    assert registry.get_class("Functional") is Functional


def test_registry_builtin_layers_cover_every_public_layer():
    table = registry.builtin_classes("layer")
    for name in lamina.layers.__all__:
        obj = getattr(lamina.layers, name)
        if isinstance(obj, type) and issubclass(obj, lamina.layers.Layer):
            assert table[name] is obj


def test_registry_family_separates_shared_names():
    assert registry.get_class("MeanSquaredError", family="loss") is losses.MeanSquaredError
    assert registry.get_class("MeanSquaredError", family="metric") is metrics.MeanSquaredError


def test_registry_get_class_unknown_name_is_refused():
    with pytest.raises(ValueError, match=r"Unknown class 'os\.system' in the saved file\. Only Lamina's built-in classes"):
        registry.get_class("os.system")
    with pytest.raises(ValueError, match="register it before calling load_model"):
        registry.get_class("NoSuchLayer")


def test_registry_get_class_non_string_is_refused():
    with pytest.raises(ValueError, match=r"must be a string\. Received: class_name=\['Dense'\]"):
        registry.get_class(["Dense"])


def test_registry_unknown_family_is_refused():
    with pytest.raises(ValueError, match="Received: family='layers'"):
        registry.builtin_classes("layers")


def test_register_decorator_forms(cleanup):
    @lamina.register
    class PlainLayer(lamina.layers.Layer):
        pass

    @lamina.register()
    class CalledLayer(lamina.layers.Layer):
        pass

    @lamina.register(name="NamedLayer")
    class SomeLayer(lamina.layers.Layer):
        pass

    def my_loss(y_true, y_pred):
        return (y_true - y_pred).abs().mean(dim=-1)

    assert lamina.register(my_loss) is my_loss
    cleanup.extend(["PlainLayer", "CalledLayer", "NamedLayer", "my_loss"])
    assert registry.get_class("PlainLayer") is PlainLayer
    assert registry.get_class("CalledLayer") is CalledLayer
    assert registry.get_class("NamedLayer") is SomeLayer
    assert registry.get_registered_name(SomeLayer) == "NamedLayer"
    assert registry.get_registered_name(my_loss) == "my_loss"
    assert registry.registered_objects()["my_loss"] is my_loss


def test_register_reregistering_replaces_the_entry(cleanup):
    @lamina.register
    class Twice(lamina.layers.Layer):
        pass

    first = Twice

    @lamina.register  # noqa: F811 - a notebook cell run again
    class Twice(lamina.layers.Layer):  # type: ignore[no-redef]
        pass

    cleanup.append("Twice")
    assert registry.get_class("Twice") is Twice
    assert registry.get_class("Twice") is not first


def test_register_rejects_builtin_names():
    with pytest.raises(ValueError, match=r"'Dense' is already used by Lamina's built-in class .*name='CustomDense'"):

        @lamina.register
        class Dense(lamina.layers.Layer):
            pass


def test_register_rejects_non_class_values():
    with pytest.raises(TypeError, match="expects a class or a function.*Received: 3 of type int"):
        lamina.register(3)
    with pytest.raises(ValueError, match="Received: name='not an id'"):
        lamina.register(name="not an id")(type("X", (), {}))


def test_registry_builtin_name_of_builtin_and_unknown():
    assert registry.get_registered_name(lamina.layers.Dense) == "Dense"

    class Unregistered(lamina.layers.Layer):
        pass

    assert registry.get_registered_name(Unregistered) is None


def test_custom_object_scope_adds_and_removes_names():
    class Scoped(lamina.layers.Layer):
        pass

    with lamina.saving.custom_object_scope({"Scoped": Scoped}):
        assert registry.get_class("Scoped") is Scoped
    with pytest.raises(ValueError, match="Unknown class 'Scoped'"):
        registry.get_class("Scoped")


def test_custom_object_scope_rejects_bad_mapping():
    with pytest.raises(TypeError, match=r"`custom_objects` must be a dict.*Received: custom_objects=\['Dense'\]"):
        with lamina.saving.custom_object_scope(["Dense"]):
            pass


def test_has_custom_get_config():
    class NoConfig(lamina.Model):
        pass

    class WithConfig(lamina.Model):
        def get_config(self):
            return super().get_config()

    class Child(WithConfig):
        pass

    assert not registry.has_custom_get_config(NoConfig)
    assert registry.has_custom_get_config(WithConfig)
    assert registry.has_custom_get_config(Child)
    assert registry.has_custom_get_config(lamina.Sequential)
