"""Tests of the class registry that `load_model` uses instead of imports."""

from __future__ import annotations

import pytest
import torch

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


def test_registry_to_snake_case_follows_keras():
    assert registry.to_snake_case("MeanSquaredError") == "mean_squared_error"
    assert registry.to_snake_case("KLDivergence") == "kl_divergence"
    assert registry.to_snake_case("F1Score") == "f1_score"
    assert registry.to_snake_case("AUC") == "auc"


def test_registry_builtin_functions_per_family():
    assert registry.builtin_functions("activation")["relu"] is lamina.activations.relu
    assert registry.builtin_functions("loss")["mean_squared_error"] is losses.mean_squared_error
    # Metrics can use every loss function; helpers that are not losses are left out.
    assert registry.builtin_functions("metric")["huber"] is losses.huber
    assert "check_sparse_labels" not in registry.builtin_functions("loss")
    assert "kernel" not in registry.builtin_functions("activation")


def test_registry_valid_names_hide_lowercase_class_names_but_accept_them():
    names = registry.valid_names("loss")
    assert "mse" in names and "mean_squared_error" in names
    assert "meansquarederror" not in names
    assert registry.lookup("loss", "MeanSquaredError") is losses.MeanSquaredError
    assert registry.lookup("loss", "MEAN_SQUARED_ERROR") is losses.MeanSquaredError
    assert "rmsprop" in registry.valid_names("optimizer")


def test_registry_lookup_names_the_family_in_errors():
    with pytest.raises(ValueError, match=r"Unknown optimizer name: 'adamm'\. Valid names are: .*adam.*Received: optimizer='adamm'"):
        registry.lookup("optimizer", "adamm")
    with pytest.raises(ValueError, match=r"expects `family` to be one of .*Received: family='optimiser'"):
        registry.lookup("optimiser", "adam")


def test_registered_functions_resolve_by_name_in_every_family(cleanup):
    def half_error(y_true, y_pred):
        return (y_true - y_pred).abs().mean(dim=-1) / 2

    lamina.register(half_error)
    cleanup.append("half_error")
    loss = losses.get("half_error")
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.fn is half_error
    metric = metrics.get("half_error")
    assert isinstance(metric, metrics.MeanMetricWrapper) and metric.name == "half_error"
    y_true, y_pred = torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]])
    torch.testing.assert_close(loss(y_true, y_pred), torch.tensor(0.75))
    assert losses.deserialize(losses.serialize(loss)).fn is half_error


def test_get_registered_name_of_builtin_functions_and_scoped_objects():
    assert registry.get_registered_name(lamina.activations.relu) == "relu"

    def local(x):
        return x

    assert registry.get_registered_name(local) is None
    with lamina.saving.custom_object_scope({"my_local": local}):
        assert registry.get_registered_name(local) == "my_local"


def test_registry_get_function_unknown_name_is_refused():
    with pytest.raises(ValueError, match=r"Unknown function 'evil' in the config\..*Received: name='evil'"):
        registry.get_function("evil")
