"""Overriding train_step / test_step / predict_step keeps fit's machinery working:
callbacks, compiled metrics, History, the progress display and evaluate/predict."""

from __future__ import annotations

import copy
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina


def _data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int64")
    return x, y


class Classifier(lamina.Model):
    """A subclassed model whose train_step is the default one written out as the
    Keras guide writes it (`for metric in self.metrics`), plus an extra tracked
    value (the gradient norm)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = lamina.layers.Dense(8, activation="relu")
        self.out = lamina.layers.Dense(2, activation="softmax")
        self.grad_norm = lamina.metrics.Mean(name="grad_norm")

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        self.optimizer.zero_grad()
        loss.backward()
        self.grad_norm.update_state(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in self.trainable_weights])))
        self.optimizer.step()
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            elif metric.name != "grad_norm":
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


class Plain(Classifier):
    """The same network with the default steps."""

    train_step = lamina.Model.train_step


def _compiled(cls):
    lamina.set_seed(0)
    model = cls()
    model.build((None, 4))  # now, so that both models get the same initial weights
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_custom_train_step_matches_default_and_logs_extra_keys():
    x, y = _data()
    custom, plain = _compiled(Classifier), _compiled(Plain)
    lamina.set_seed(1)  # the same shuffling for both
    h_custom = custom.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    lamina.set_seed(1)
    h_plain = plain.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    # As in Keras, evaluation reports every metric of the model (grad_norm was reset, not updated).
    assert set(h_custom.history) == {"loss", "grad_norm", "accuracy", "val_loss", "val_accuracy", "val_grad_norm"}
    assert h_custom.history["val_grad_norm"] == [0.0, 0.0, 0.0]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert h_custom.history[key] == pytest.approx(h_plain.history[key], abs=1e-6)
    assert all(v > 0 and math.isfinite(v) for v in h_custom.history["grad_norm"])
    for a, b in zip(custom.weights, plain.weights):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_custom_train_step_values_reach_callbacks_and_progress_display(capsys):
    x, y = _data()
    model = _compiled(Classifier)
    batch_values, epoch_logs = [], []
    cb = lamina.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_values.append(logs["grad_norm"]),
        on_epoch_end=lambda epoch, logs: epoch_logs.append(dict(logs)),
    )
    stop = lamina.callbacks.EarlyStopping(monitor="grad_norm", patience=0, mode="max")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=2, callbacks=[cb, stop])
    # Batch logs are the running mean of the epoch so far; the last one is the epoch value.
    assert len(batch_values) == 4 * len(history.epoch)
    assert batch_values[3] == pytest.approx(history.history["grad_norm"][0], rel=1e-6)
    assert epoch_logs[0]["grad_norm"] == history.history["grad_norm"][0]
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "grad_norm:" in out and "accuracy:" in out


class Regressor(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = lamina.layers.Dense(1)

    def call(self, inputs, training=None):
        return self.dense(inputs)

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        error = (y_pred - y).abs()
        return {"loss": self.compute_loss(x, y, y_pred), "max_error": error.max()}

    def predict_step(self, data):
        y_pred = self(data, training=False)
        return {"value": y_pred, "sign": (y_pred > 0).long()}


def test_custom_test_step_and_predict_step():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True).astype("float32")
    lamina.set_seed(0)
    model = Regressor()
    model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=40, validation_data=(x, y), verbose=0)
    # The default train_step logs the loss; the custom test_step adds max_error to validation.
    assert set(history.history) == {"loss", "val_loss", "val_max_error"}
    out = model.predict(x, batch_size=16, verbose=0)
    assert set(out) == {"value", "sign"} and out["value"].shape == (40, 1)
    np.testing.assert_array_equal(out["sign"], (out["value"] > 0).astype(np.int64))
    logs = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
    assert logs["max_error"] == pytest.approx(float(np.abs(out["value"] - y).max()), rel=1e-5)
    assert logs["loss"] == pytest.approx(float(((out["value"] - y) ** 2).mean()), rel=1e-5)
    assert history.history["val_max_error"][-1] == pytest.approx(logs["max_error"], rel=1e-6)


class TwoNets(lamina.Model):
    """No `call`: train_step drives two sub-models with their own optimizers (the GAN shape)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])
        self.b = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(1)])

    def compile(self, model_optimizer=None, **kwargs):
        super().compile(optimizer=model_optimizer, **kwargs)
        self.a_opt = lamina.optimizers.SGD(0.05)
        self.b_opt = lamina.optimizers.Adam(0.05)
        self.a_opt.build(self.a.trainable_weights)
        self.b_opt.build(self.b.trainable_weights)

    def train_step(self, data):
        x, y = data
        target = y.float().reshape(-1, 1)
        logs = {}
        for name, net, opt in (("a", self.a, self.a_opt), ("b", self.b, self.b_opt)):
            loss = torch.nn.functional.mse_loss(net(x), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            logs[f"{name}_loss"] = loss.detach()
        return logs


@pytest.mark.parametrize("model_optimizer", [None, "rmsprop"])
def test_model_without_call_and_own_optimizers_trains_with_callbacks(model_optimizer):
    x, y = _data()
    lamina.set_seed(0)
    model = TwoNets()
    model.compile(model_optimizer)  # like a GAN: optimizer=None, or Keras's default optimizer
    terminate = lamina.callbacks.TerminateOnNaN()
    stop = lamina.callbacks.EarlyStopping(monitor="b_loss", patience=1, min_delta=10.0)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[terminate, stop])
    assert set(history.history) == {"a_loss", "b_loss"}
    assert history.epoch == [0, 1]  # no improvement of 10 -> stops after patience 1
    assert history.history["b_loss"][1] < history.history["b_loss"][0]
    assert model.a_opt.iterations == model.b_opt.iterations == 8
    assert terminate.stopped_batch is None
    if model_optimizer is None:
        assert model.optimizer is None
    else:  # built over all weights by fit, never stepped
        assert model.optimizer.built and model.optimizer.iterations == 0


def test_train_step_without_compiled_loss_says_how_to_fix():
    x, y = _data()
    model = Plain()
    model.compile(optimizer="adam")
    with pytest.raises(RuntimeError, match=r"compiled without a `loss`, so `compute_loss` has nothing to compute\. Pass `loss=` to `compile\(\)`, or override `train_step`"):
        model.fit(x, y, epochs=1, verbose=0)


# ---------------------------------------------------------------- examples/custom_loop.py
def _custom_loop_example():
    path = Path(__file__).resolve().parent.parent / "examples" / "custom_loop.py"
    spec = importlib.util.spec_from_file_location("custom_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_custom_loop_lamina_adam_equals_torch_adam_and_loss_falls():
    ex = _custom_loop_example()
    x_train, _, y_train, _ = ex.load_data()
    x, y = x_train[:256], y_train[:256]
    lamina.set_seed(0)
    model = ex.make_model()
    twin, third = copy.deepcopy(model), copy.deepcopy(model)

    optimizer = lamina.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_weights)
    losses = ex.train(model, optimizer, x, y, epochs=3, batch_size=32)
    # Keras's Adam defaults mapped to torch: betas=(beta_1, beta_2), eps=epsilon=1e-7.
    reference = torch.optim.Adam(twin.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    reference_losses = ex.train(twin, reference, x, y, epochs=3, batch_size=32)
    # torch.autograd.grad + apply_gradients (Keras's GradientTape style) is the same update.
    by_grad = lamina.optimizers.Adam(1e-3)
    by_grad.build(third.trainable_weights)
    grad_losses = ex.train(third, by_grad, x, y, epochs=3, batch_size=32, use_autograd_grad=True)

    assert losses[0] > losses[1] > losses[2]
    assert losses == pytest.approx(reference_losses, abs=1e-6) == grad_losses
    for a, b, c in zip(model.trainable_weights, twin.trainable_weights, third.trainable_weights):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
        torch.testing.assert_close(a, c, atol=1e-6, rtol=0)
    assert optimizer.iterations == 3 * 8


def test_custom_loop_example_main_runs(capsys):
    result = _custom_loop_example().main(epochs=2)
    out = capsys.readouterr().out
    assert "epoch 2: loss" in out and f"test accuracy: {result['accuracy']:.3f}" in out
    assert result["history"][1] < result["history"][0]
    assert result["accuracy"] > 0.3  # well above chance (0.1) after two epochs
