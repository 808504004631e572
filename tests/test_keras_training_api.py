"""Keras 3's training protocol: what `train_step` receives and returns, `model.metrics`,
weighted metrics, generators with `steps_per_epoch`, validation frequency, and the
functional / Sequential model attributes (`input`, `output`, ...)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _regression(n: int = 64, d: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ rng.normal(size=(d, 1))).astype("float32")
    return x, y


def _dense_model(d: int = 4):
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(d,)), layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


# ---------------------------------------------------------------- what train_step receives
class Recorder(lamina.Model):
    """Records the structure of each batch handed to train_step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(1)
        self.kinds = []

    def call(self, inputs, training=None):
        return self.dense(inputs)

    def train_step(self, data):
        if isinstance(data, tuple):
            self.kinds.append(len(data))
        else:
            self.kinds.append("x")
        return super().train_step(data) if isinstance(data, tuple) else {}


@pytest.mark.parametrize(
    "make_args, expected",
    [
        (lambda x, y, w: ((x,), {}), "x"),
        (lambda x, y, w: ((x, y), {}), 2),
        (lambda x, y, w: ((x, y), {"sample_weight": w}), 3),
    ],
)
def test_train_step_receives_the_users_structure(make_args, expected):
    x, y = _regression(32)
    w = np.linspace(0.5, 1.5, 32).astype("float32")
    model = Recorder()
    model.compile(optimizer="sgd", loss="mse")
    args, kwargs = make_args(x, y, w)
    model.fit(*args, **kwargs, batch_size=16, epochs=1, verbose=0)
    assert model.kinds == [expected, expected]


def test_unpack_x_y_sample_weight_follows_keras():
    unpack = lamina.training.data_adapter.unpack_x_y_sample_weight
    assert unpack("x") == ("x", None, None)
    assert unpack(("x",)) == ("x", None, None)
    assert unpack(["x", "y"]) == ("x", "y", None)
    assert unpack(("x", "y", "w")) == ("x", "y", "w")
    with pytest.raises(ValueError, match=r"`\(x, y, sample_weight\)`\. Received: a tuple of 4 elements"):
        unpack((1, 2, 3, 4))


# ---------------------------------------------------------------- the Keras guide's custom step
class CustomModel(lamina.Model):
    """`customizing_what_happens_in_fit`: the step updates `self.metrics` by name."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights) \
            if hasattr(self.optimizer, "apply") else self.optimizer.step()
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_subclass_built_functionally_runs_the_keras_guide_step():
    x, y = _regression(64)
    lamina.set_seed(0)
    inputs = lamina.Input(shape=(4,), name="inputs")  # Keras allows this name
    outputs = layers.Dense(1, name="output")(inputs)
    model = CustomModel(inputs, outputs)
    assert isinstance(model, CustomModel) and isinstance(model, lamina.Model)
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    assert [m.name for m in model.metrics][:2] == ["loss", "compile_metrics"]
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    # The epoch's loss is the running mean over its four equal batches, as in Keras.
    pred = model.predict(x, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["mae"] == pytest.approx(
        float(np.abs(pred - y).mean()), rel=1e-5)
    assert model.input is inputs and model.output is outputs and model.inputs == [inputs]
    assert model.get_layer("output").name == "output"


def test_metrics_reset_every_epoch_and_logs_are_the_last_steps():
    x, y = _regression(64)
    model = _dense_model()
    seen = []

    class Peek(lamina.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(float(self.model.metrics[0].count))

    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Peek()])
    assert seen == [0.0, 0.0]  # the loss tracker starts each epoch empty
    # The epoch loss equals the mean of the batch losses recomputed by hand.
    assert len(history.history["loss"]) == 2


class TrackedVAE(lamina.Model):
    """Metrics set as attributes and listed in an overridden `metrics` property."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(4)
        self.total_loss_tracker = lamina.metrics.Mean(name="total_loss")
        self.steps_seen = lamina.metrics.Sum(name="steps") if hasattr(lamina.metrics, "Sum") else lamina.metrics.Mean(name="steps")

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.steps_seen]

    def call(self, inputs, training=None):
        return self.dense(inputs)

    def train_step(self, data):
        loss = ((self(data) - data) ** 2).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.total_loss_tracker.update_state(loss)
        self.steps_seen.update_state(1.0)
        return {"loss": self.total_loss_tracker.result(), "steps": self.steps_seen.result()}


def test_overridden_metrics_property_is_reset_each_epoch_and_compile_needs_no_loss():
    x, _ = _regression(64)
    lamina.set_seed(0)
    model = TrackedVAE()
    model.compile(optimizer=lamina.optimizers.Adam(0.01))  # no loss: the step computes it
    history = model.fit(x, batch_size=16, epochs=3, verbose=0)
    assert set(history.history) == {"loss", "steps"}
    # Reset at each epoch start: 4 steps per epoch (a Sum counts 4, a Mean stays 1).
    expected = 4.0 if hasattr(lamina.metrics, "Sum") else 1.0
    assert history.history["steps"] == [expected] * 3
    assert history.history["loss"][-1] < history.history["loss"][0]


# ---------------------------------------------------------------- losses from add_loss only
class EndpointLoss(layers.Layer):
    def call(self, inputs, training=None):
        target, pred = inputs
        self.add_loss(((target - pred) ** 2).mean())
        return pred


def test_compile_without_loss_trains_on_add_loss():
    x, y = _regression(64)
    lamina.set_seed(0)
    inp = lamina.Input(shape=(4,), name="x")
    tgt = lamina.Input(shape=(1,), name="y")
    pred = layers.Dense(1)(inp)
    out = EndpointLoss()([tgt, pred])
    model = lamina.Model([inp, tgt], out)
    model.compile(optimizer=lamina.optimizers.SGD(0.05))
    history = model.fit([x, y], batch_size=16, epochs=5, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    # The logged loss is the mean squared error of the model, computed by hand after each epoch.
    final = model.predict([x, y], verbose=0)
    assert model.evaluate([x, y], verbose=0) == pytest.approx(float(((final - y) ** 2).mean()), rel=1e-4)


def test_model_without_weights_fits_on_add_loss():
    class Penalty(layers.Layer):
        def call(self, inputs, training=None):
            self.add_loss(inputs.abs().mean())
            return inputs

    x, _ = _regression(32)
    model = lamina.Sequential([lamina.Input(shape=(4,)), Penalty()])
    model.compile(optimizer="adam")
    history = model.fit(x, batch_size=32, epochs=2, verbose=0)
    assert history.history["loss"] == pytest.approx([float(np.abs(x).mean())] * 2, rel=1e-5)


# ---------------------------------------------------------------- weighted metrics
def test_sample_weight_weights_loss_and_weighted_metrics_only():
    x, y = _regression(40)
    w = np.linspace(0.0, 2.0, 40).astype("float32")
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    logs = model.evaluate(x, y, sample_weight=w, batch_size=40, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)[:, 0]
    err = np.abs(pred - y[:, 0])
    assert logs["mae"] == pytest.approx(float(err.mean()), rel=1e-5)  # unweighted, as in Keras 3
    assert logs["weighted_mae"] == pytest.approx(float((err * w).sum() / w.sum()), rel=1e-5)
    # Keras's loss reduction: sum(w * loss) / batch size.
    assert logs["loss"] == pytest.approx(float((w * (pred - y[:, 0]) ** 2).mean()), rel=1e-5)


def test_class_weight_leaves_plain_metrics_unweighted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(x, y, batch_size=60, epochs=1, class_weight={0: 1.0, 1: 5.0}, verbose=0)
    acc = float((model.predict(x, verbose=0).argmax(1) == y).mean())  # lr 0: weights unchanged
    assert h.history["accuracy"][0] == pytest.approx(acc, abs=1e-6)


# ---------------------------------------------------------------- generators and steps
def test_infinite_generator_with_steps_per_epoch_and_unbuilt_model():
    x, y = _regression(64)
    drawn = []

    def batches():
        i = 0
        while True:
            drawn.append(i)
            sl = slice((i % 4) * 16, (i % 4 + 1) * 16)
            yield x[sl], y[sl]
            i += 1

    lamina.set_seed(0)
    model = lamina.Sequential([layers.Dense(1)])  # built from the generator's first batch
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    history = model.fit(batches(), steps_per_epoch=4, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert len(drawn) == 12  # the batch used to build is not lost, nothing extra drawn
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_finite_generator_without_steps_runs_out_with_keras_warning():
    x, y = _regression(64)
    model = _dense_model()
    gen = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(gen, epochs=3, verbose=0)
    assert history.epoch == [0]


def test_steps_per_epoch_on_arrays_continues_the_stream():
    x, y = _regression(64)
    model = _dense_model()
    counts = []
    cb = lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: counts.append(b))
    history = model.fit(x, y, batch_size=16, steps_per_epoch=3, epochs=3, verbose=0, callbacks=[cb])
    assert counts == [0, 1, 2] * 3 and len(history.epoch) == 3


def test_validation_freq_and_validation_steps():
    x, y = _regression(64)
    model = _dense_model()
    seen = []
    cb = lamina.callbacks.LambdaCallback(on_test_batch_end=lambda b, logs: seen.append(b))
    history = model.fit(x, y, batch_size=16, epochs=4, validation_data=(x, y), validation_steps=2,
                        validation_freq=2, verbose=0, callbacks=[cb])
    assert len(history.history["val_loss"]) == 2  # after epochs 2 and 4
    assert seen == [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"`fit` expects `validation_freq` to be a positive integer"):
        model.fit(x, y, validation_freq=0, verbose=0)


def test_evaluate_and_predict_steps():
    x, y = _regression(64)
    model = _dense_model()
    assert model.predict(x, batch_size=16, steps=2, verbose=0).shape == (32, 1)
    first_half = model.evaluate(x[:32], y[:32], batch_size=16, verbose=0)
    assert model.evaluate(x, y, batch_size=16, steps=2, verbose=0) == pytest.approx(first_half, rel=1e-6)


# ---------------------------------------------------------------- building and attributes
class GAN(lamina.Model):
    """A GAN-style model with a `call(z)` for generation: fit must not call it on data batches."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.generator = lamina.Sequential([lamina.Input(shape=(2,)), layers.Dense(4)])
        self.discriminator = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(1)])
        self.d_loss_tracker = lamina.metrics.Mean(name="d_loss")

    def call(self, z, training=None):
        if z.shape[-1] != 2:
            raise AssertionError("fit called the model on a data batch to build it")
        return self.generator(z)

    def train_step(self, real):
        z = torch.randn(real.shape[0], 2)
        fake = self(z).detach()
        scores = self.discriminator(torch.cat([real, fake]))
        labels = torch.cat([torch.ones(len(real), 1), torch.zeros(len(fake), 1)])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, labels)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.d_loss_tracker.update_state(loss)
        return {"d_loss": self.d_loss_tracker.result()}


def test_fit_with_custom_train_step_never_calls_the_model_to_build_it():
    x, _ = _regression(32)
    lamina.set_seed(0)
    gan = GAN()
    gan.compile(optimizer="adam")
    history = gan.fit(x, batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss"}


def test_sequential_input_output_and_layer_names_like_keras():
    inputs = lamina.Input(shape=(4,))
    model = lamina.Sequential([inputs, layers.Dense(3, name="inputs"), layers.Dense(2, name="output")])
    assert model.input is inputs and model.inputs == [inputs]
    assert model.output.shape == (None, 2) and model.outputs[0] is model.output
    assert model.get_layer("inputs").units == 3
    unbuilt = lamina.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="has never been called and thus has no defined input"):
        _ = unbuilt.input
    unbuilt(np.zeros((2, 5), "float32"))
    assert unbuilt.input.shape == (None, 5) and unbuilt.output.shape == (None, 2)


def test_sequential_trainable_false_freezes_every_layer():
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3), layers.Dense(2)], trainable=False)
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    model.add(layers.Dense(1))
    assert model.trainable_weights == []


# ---------------------------------------------------------------- losses of the latest call only
class ActivityPenalty(layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * inputs.abs().sum())
        return inputs


def test_losses_hold_the_latest_calls_terms_only_and_do_not_leak_between_models():
    a = lamina.Sequential([lamina.Input(shape=(2,)), ActivityPenalty(1.0)])
    b = lamina.Sequential([lamina.Input(shape=(2,)), ActivityPenalty(10.0)])
    x = torch.tensor([[1.0, -2.0]])
    a(x)
    a(x)  # Keras clears the terms at the start of each outer call
    assert [float(t) for t in a.losses] == [3.0]
    b(x)
    assert [float(t) for t in b.losses] == [30.0] and [float(t) for t in a.losses] == [3.0]
    # A layer called on its own is an outer call too.
    layer = ActivityPenalty(2.0)
    layer(x)
    layer(2 * x)
    assert [float(t) for t in layer.losses] == [12.0]


def test_add_loss_terms_of_a_fit_step_are_the_steps_own():
    x, _ = _regression(32)
    model = lamina.Sequential([lamina.Input(shape=(4,)), ActivityPenalty(1.0)])
    model.compile(optimizer="sgd")
    history = model.fit(x, batch_size=16, epochs=1, verbose=0, shuffle=False)
    expected = np.mean([np.abs(x[:16]).sum(), np.abs(x[16:]).sum()])
    assert history.history["loss"][0] == pytest.approx(float(expected), rel=1e-5)


def test_custom_step_unpacking_the_wrong_structure_gets_a_clear_error():
    class NeedsTargets(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)

        def train_step(self, data):
            x, y = data
            return {}

    x, _ = _regression(12)
    model = NeedsTargets()
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"`train_step` could not unpack its `data` argument .*It received "
                                         r"`x` alone \(a Tensor, as when `fit` gets no `y`\).*unpack_x_y_sample_weight"):
        model.fit(x, batch_size=4, epochs=1, verbose=0)


def test_add_loss_on_a_symbolic_tensor_is_refused_as_in_keras():
    inputs = lamina.Input(shape=(4,))
    z = layers.Dense(2)(inputs)
    model = lamina.Model(inputs, z)
    with pytest.raises(ValueError, match=r"`add_loss\(\)` can only be called from inside `build\(\)` or `call\(\)`"):
        model.add_loss(-0.5 * lamina.ops.mean(z))


def test_add_loss_takes_a_list_of_terms():
    class TwoTerms(layers.Layer):
        def call(self, inputs):
            self.add_loss([inputs.sum(), 2 * inputs.sum()])
            return inputs

    layer = TwoTerms()
    layer(torch.ones(1, 3))
    assert [float(t) for t in layer.losses] == [3.0, 6.0]


# ---------------------------------------------------------------- metrics-only compile, compiled_metrics
def test_evaluate_of_a_model_compiled_for_metrics_only_reports_loss_zero():
    x = np.random.rand(8, 4).astype("float32")
    y = np.arange(8) % 3
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3)])
    model.compile(metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss == 0.0
    expected = float((model.predict(x, verbose=0).argmax(-1) == y).mean())
    assert accuracy == pytest.approx(expected)
    assert model.metrics_names == ["loss", "accuracy"]


def test_compiled_metrics_update_state_updates_the_compiled_metrics_with_a_warning():
    class Student(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3)
            self.tracker = lamina.metrics.Mean(name="extra")

        def call(self, x):
            return self.dense(x)

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            self.tracker.update_state(1.0)
            self.compiled_metrics.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    x = np.random.rand(6, 4).astype("float32")
    y = np.arange(6) % 3
    model = Student()
    model.compile(optimizer="adam", metrics=[lamina.metrics.SparseCategoricalAccuracy()])
    with pytest.warns(DeprecationWarning, match=r"compiled_metrics\(\)` is deprecated"):
        logs = model.evaluate(x, y, verbose=0, return_dict=True)
    expected = float((model.predict(x, verbose=0).argmax(-1) == y).mean())
    assert logs["sparse_categorical_accuracy"] == pytest.approx(expected)
    assert logs["extra"] == 1.0  # the other trackers are left alone
    assert [m.name for m in model.compiled_metrics.metrics] == ["sparse_categorical_accuracy"]


@pytest.mark.parametrize("ext", ["lamina", "keras"])
def test_input_output_attributes_after_load_model(tmp_path, ext):
    inputs = lamina.Input(shape=(4,))
    hidden = layers.Dense(3, name="h")(inputs)
    model = lamina.Model(inputs, layers.Dense(2, name="o")(hidden))
    path = str(tmp_path / f"m.{ext}")
    model.save(path)
    restored = lamina.load_model(path)
    assert restored.input.shape == (None, 4) and restored.output.shape == (None, 2)
    assert restored.get_layer("h").output is restored.get_layer("o").input
    seq = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3, name="a"), layers.Dense(2, name="b")])
    seq.save(str(tmp_path / f"s.{ext}"))
    loaded = lamina.load_model(str(tmp_path / f"s.{ext}"))
    assert loaded.output.shape == (None, 2) and loaded.get_layer("b").input is loaded.get_layer("a").output
