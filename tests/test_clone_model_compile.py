"""Tests of `lamina.models.clone_model(model, compile=True)`: the clone is compiled like
the original (optimizer config, loss, metrics, loss weights, jit_compile) with fresh
stateful objects, so training it leaves the original untouched."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, losses, metrics, optimizers, schedules
from lamina.models import clone_model


def _data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")


def _classifier() -> lamina.Model:
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(4,)), layers.Dense(8, activation="relu"), layers.Dense(3)]
    )
    model.compile(
        optimizer=optimizers.Adam(
            learning_rate=schedules.ExponentialDecay(3e-3, decay_steps=10, decay_rate=0.5),
            clipnorm=1.0,
        ),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy", metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")],
        weighted_metrics=[metrics.SparseCategoricalAccuracy(name="wacc")],
    )
    return model


def _state(model: lamina.Model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_clone_compiles_with_the_same_settings_and_fresh_objects() -> None:
    model = _classifier()
    clone = clone_model(model, compile=True)
    assert clone.compiled
    assert clone.optimizer is not model.optimizer
    assert type(clone.optimizer) is type(model.optimizer)
    assert clone.optimizer.get_config() == model.optimizer.get_config()
    assert clone.optimizer.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
    assert clone.loss is not model.loss and clone.loss.get_config() == model.loss.get_config()
    original, cloned = model._compile_config, clone._compile_config
    assert original == {
        **cloned,
        "metrics": original["metrics"],
        "weighted_metrics": original["weighted_metrics"],
    }
    assert cloned["metrics"][0] == "accuracy"
    for before, after in zip(
        original["metrics"][1:] + original["weighted_metrics"],
        cloned["metrics"][1:] + cloned["weighted_metrics"],
    ):
        assert after is not before and after.get_config() == before.get_config()
    # Same weights, same settings: the same numbers under the same names.
    x, y = _data()
    clone.set_weights(model.get_weights())
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    got = clone.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(got) == sorted(expected) == ["accuracy", "loss", "top2", "wacc"]
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6)


def test_clone_has_fresh_weights_unless_they_are_copied() -> None:
    model = _classifier()
    clone = clone_model(model, compile=True)
    x, _ = _data()
    assert all(a is not b for a, b in zip(clone.parameters(), model.parameters()))
    assert not np.allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))


def test_training_the_clone_leaves_the_original_and_its_optimizer_untouched() -> None:
    x, y = _data()
    model = _classifier()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    weights = _state(model)
    opt_state = copy.deepcopy(model.optimizer.state_dict())
    steps = int(model.optimizer.iterations)
    assert steps == 4
    clone = clone_model(model, compile=True)
    # The clone's optimizer starts from scratch: no slots, no step count.
    assert not clone.optimizer.built and int(clone.optimizer.iterations) == 0
    clone.set_weights(model.get_weights())
    clone.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert int(clone.optimizer.iterations) == 8
    assert not all(torch.equal(weights[k], v) for k, v in clone.state_dict().items())
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert int(model.optimizer.iterations) == steps
    after = model.optimizer.state_dict()["optimizer"]["state"]
    for i, slots in after.items():
        for name, value in slots.items():
            assert torch.equal(opt_state["optimizer"]["state"][i][name], value), name


def test_clone_metrics_do_not_share_state_with_the_original() -> None:
    x, y = _data()
    model = _classifier()
    model.evaluate(x, y, verbose=0)
    top2 = model._compile_config["metrics"][1]
    before = float(top2.result())
    clone = clone_model(model, compile=True)
    clone_top2 = clone._compile_config["metrics"][1]
    assert float(clone_top2.result()) == 0.0
    clone.evaluate(x[:5], y[:5], verbose=0)
    assert float(top2.result()) == before


def test_clone_keeps_loss_weights_jit_compile_and_plain_function_losses() -> None:
    inputs = lamina.Input(shape=(4,))
    hidden = layers.Dense(6, activation="relu")(inputs)
    model = lamina.Model(
        inputs, {"a": layers.Dense(1, name="a")(hidden), "b": layers.Dense(1, name="b")(hidden)}
    )

    def half_mae(y_true, y_pred):
        return 0.5 * torch.mean(torch.abs(y_true - y_pred), dim=-1)

    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9),
        loss={"a": "mse", "b": half_mae},
        loss_weights={"a": 1.0, "b": 0.25},
        jit_compile=True,
    )
    clone = clone_model(model, compile=True)
    assert clone._compile_config["loss_weights"] == {"a": 1.0, "b": 0.25}
    assert clone._compile_config["loss_weights"] is not model._compile_config["loss_weights"]
    assert clone._compile_config["jit_compile"] is True and clone._jit_compile is True
    assert clone.loss["b"] is half_mae and clone.loss["a"] == "mse"
    assert clone.optimizer.get_config() == model.optimizer.get_config()


class _CountingMetric(metrics.Metric):
    """A metric whose constructor takes an argument its config does not hold."""

    def __init__(self, scale, name="counting"):
        super().__init__(name=name)
        self.scale = scale
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign(self.total + self.scale * y_true.shape[0])

    def result(self):
        return self.total

    def reset_state(self):
        self.total.assign(0.0)


def test_a_metric_that_cannot_be_rebuilt_from_its_config_is_copied_and_reset() -> None:
    x, y = _data()
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3)])
    counting = _CountingMetric(scale=2.0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[counting])
    model.evaluate(x, y, verbose=0)
    assert float(counting.result()) == 2.0 * len(x)
    clone = clone_model(model, compile=True)
    fresh = clone._compile_config["metrics"][0]
    assert fresh is not counting and fresh.scale == 2.0 and float(fresh.result()) == 0.0
    clone.evaluate(x[:10], y[:10], verbose=0)
    assert float(fresh.result()) == 20.0 and float(counting.result()) == 2.0 * len(x)


@lamina.saving.register_keras_serializable(package="TestCloneCompile")
class _TwoLayer(lamina.Model):
    def __init__(self, units=5, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = layers.Dense(units, activation="relu")
        self.second = layers.Dense(3)

    def call(self, inputs, training=None):
        return self.second(self.first(inputs))

    def get_config(self):
        return {"units": self.units, "name": self.name}


def test_subclassed_model_is_rebuilt_and_compiled() -> None:
    x, y = _data()
    lamina.set_seed(0)
    model = _TwoLayer(units=7)
    model.build((None, 4))
    model.compile(
        optimizer=optimizers.RMSprop(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=1, verbose=0)
    clone = clone_model(model, compile=True)
    assert type(clone) is _TwoLayer and clone.units == 7 and clone.compiled
    assert clone.optimizer.get_config() == model.optimizer.get_config()
    assert int(clone.optimizer.iterations) == 0
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(
        clone.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6
    )


class _TwoOptimizers(lamina.Model):
    """A model whose `compile` takes its own arguments (as a GAN's does)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(1)

    def call(self, inputs, training=None):
        return self.dense(inputs)

    def compile(self, first_lr=1e-3, second_lr=1e-2):
        super().compile(optimizer=optimizers.Adam(first_lr), loss="mse")
        self.first_lr, self.second_lr = first_lr, second_lr


class _TwoOptimizersWithConfig(_TwoOptimizers):
    def get_compile_config(self):
        return {"first_lr": self.first_lr, "second_lr": self.second_lr}

    def compile_from_config(self, config):
        self.compile(**config)


def test_a_custom_compile_needs_get_compile_config() -> None:
    model = _TwoOptimizers()
    model.build((None, 4))
    model.compile(first_lr=0.5)
    with pytest.raises(
        ValueError,
        match=r"overrides `compile` but not `get_compile_config`\. Implement "
        r"`get_compile_config\(\)` and `compile_from_config\(config\)`",
    ):
        clone_model(model, compile=True)
    assert not clone_model(model).compiled  # compile=False still works
    configured = _TwoOptimizersWithConfig()
    configured.build((None, 4))
    configured.compile(first_lr=0.5, second_lr=0.25)
    clone = clone_model(configured, compile=True)
    assert (clone.first_lr, clone.second_lr) == (0.5, 0.25)
    assert clone.optimizer is not configured.optimizer
    assert clone.optimizer.learning_rate == pytest.approx(0.5)


def test_compile_true_rejects_an_uncompiled_model_and_bad_values() -> None:
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(2)], name="plain")
    with pytest.raises(
        ValueError,
        match=r"expects a compiled model.*Received: an uncompiled `Sequential` named 'plain'\. "
        r"Call `model\.compile\(\.\.\.\)` first",
    ):
        clone_model(model, compile=True)
    with pytest.raises(TypeError, match=r"`compile` to be True or False. Received: compile='yes'"):
        clone_model(model, compile="yes")
    with pytest.raises(
        TypeError, match=r"It accepts `input_tensors`, `clone_function` and `compile`"
    ):
        clone_model(model, recursive=True)
    assert not clone_model(model).compiled


def test_compile_like_replaces_the_named_settings_only() -> None:
    from lamina.models.cloning import compile_like

    model = _classifier()
    model.compile(
        optimizer=optimizers.SGD(learning_rate=0.1),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=True,
    )
    clone = clone_model(model)
    probe = optimizers.Adam(learning_rate=0.5)
    compile_like(clone, model, jit_compile=False, optimizer=probe)
    assert clone._jit_compile is False and clone.optimizer is probe
    assert clone._compile_config == {**model._compile_config, "jit_compile": False}
    with pytest.raises(ValueError, match=r"`compile_like` expects a compiled model"):
        compile_like(clone, lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(2)]))
    custom = _TwoOptimizersWithConfig()
    custom.build((None, 4))
    custom.compile(first_lr=0.5)
    with pytest.raises(
        ValueError, match=r"cannot replace compile arguments\. Received: \['jit_compile'\]"
    ):
        compile_like(clone_model(custom), custom, jit_compile=False)
