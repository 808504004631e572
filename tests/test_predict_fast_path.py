"""`predict`'s fast path (in-memory arrays, no callbacks, verbose=0) against its
general path and against a plain forward pass: same outputs for arrays, tensors,
dicts, lists, single rows and batch sizes that do not divide the data; the
model's training flags, custom `predict_step`, callbacks and progress display
kept as they were."""

import numpy as np
import pytest
import torch
from torch import nn

import lamina
from lamina import layers
from lamina.training import inference


class Recorder(lamina.callbacks.Callback):
    """A callback that keeps the outputs `predict` hands to `on_predict_batch_end`."""

    def __init__(self):
        super().__init__()
        self.outputs = []

    def on_predict_batch_end(self, batch, logs=None):
        self.outputs.append(logs["outputs"])


def _mlp(dropout=0.0):
    lamina.set_seed(0)
    return lamina.Sequential([
        lamina.Input(shape=(6,)),
        layers.Dense(16, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(3),
    ])


def _reference(model, x):
    """The plain PyTorch forward pass in inference mode."""
    model.eval()
    with torch.no_grad():
        out = model(x if isinstance(x, torch.Tensor) else torch.as_tensor(x), training=False)
    model.train()
    return out.numpy()


def _general(model, x, **kwargs):
    """`predict` through the general path (a callback takes it off the fast path)."""
    return model.predict(x, verbose=0, callbacks=[Recorder()], **kwargs)


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).normal(size=(70, 6)).astype(np.float32)


@pytest.mark.parametrize("rows, batch_size", [(1, None), (70, None), (70, 32), (70, 7), (64, 64), (5, 200)])
def test_fast_path_equals_general_path_and_forward(data, rows, batch_size):
    model = _mlp(dropout=0.5)  # dropout would show if inference mode were not set
    x = data[:rows]
    fast = model.predict(x, verbose=0, batch_size=batch_size)
    assert isinstance(fast, np.ndarray) and fast.shape == (rows, 3) and fast.dtype == np.float32
    np.testing.assert_array_equal(fast, _general(model, x, batch_size=batch_size))
    np.testing.assert_allclose(fast, _reference(model, x), rtol=1e-6, atol=1e-6)


def test_fast_path_input_types(data):
    model = _mlp()
    expected = _general(model, data)
    np.testing.assert_array_equal(model.predict(torch.from_numpy(data), verbose=0), expected)
    np.testing.assert_allclose(model.predict(data.astype(np.float64), verbose=0), expected, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(np.asfortranarray(data), verbose=0), expected)
    readonly = data.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(model.predict(readonly, verbose=0), expected)
    np.testing.assert_array_equal(model.predict(data[::1][:, :], verbose=0), expected)
    # The general path's conversions: a list of numbers is one array.
    np.testing.assert_allclose(model.predict(data.tolist(), verbose=0), expected, rtol=1e-6)


def test_integer_inputs_take_the_same_conversion():
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(4,), dtype="int64"), layers.Embedding(10, 3), layers.Flatten()])
    ids = np.array([[1, 2, 3, 0], [9, 8, 7, 6], [5, 5, 5, 5]], dtype=np.int32)
    fast = model.predict(ids, verbose=0)
    np.testing.assert_array_equal(fast, _general(model, ids))
    np.testing.assert_allclose(fast, _reference(model, torch.from_numpy(ids).long()), rtol=1e-6)


def _two_in_two_out():
    lamina.set_seed(0)
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(2,), name="b")
    h = layers.Dense(8, activation="relu")(layers.Concatenate()([a, b]))
    return lamina.Model([a, b], [layers.Dense(1, name="out1")(h), layers.Dense(2, name="out2")(h)])


@pytest.mark.parametrize("batch_size", [None, 4])
def test_dict_and_list_inputs_and_several_outputs(batch_size):
    model = _two_in_two_out()
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(11, 3)).astype(np.float32), rng.normal(size=(11, 2)).astype(np.float32)
    for x in ([xa, xb], (xa, xb), {"a": xa, "b": xb}):
        fast = model.predict(x, verbose=0, batch_size=batch_size)
        general = _general(model, x, batch_size=batch_size)
        assert isinstance(fast, list) and len(fast) == 2
        for f, g in zip(fast, general):
            np.testing.assert_array_equal(f, g)
        with torch.no_grad():
            ref = model([torch.from_numpy(xa), torch.from_numpy(xb)], training=False)
        np.testing.assert_allclose(fast[0], ref[0].numpy(), rtol=1e-6)
        np.testing.assert_allclose(fast[1], ref[1].numpy(), rtol=1e-6)


def test_errors_are_the_general_paths():
    model = _mlp()
    bad = np.ones((4, 6), np.float32)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"`x` contains 1 NaN or infinite value\(s\); the first is at index \(2, 1\)"):
        model.predict(bad, verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.predict(torch.from_numpy(bad), verbose=0)
    with pytest.raises(ValueError, match="cardinality is ambiguous"):
        _two_in_two_out().predict({"a": np.ones((3, 3)), "b": np.ones((4, 2))}, verbose=0)
    with pytest.raises(ValueError, match="`predict` expects `batch_size` to be a positive integer"):
        model.predict(np.ones((2, 6)), batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="built for input shape"):
        model.predict(np.ones((2, 5), np.float32), verbose=0)
    big = np.full((2, 6), 3e38, np.float32)  # large but finite values are fine
    assert model.predict(big, verbose=0).shape == (2, 3)


def test_training_flags_are_restored():
    model = _mlp(dropout=0.5)
    x = np.ones((3, 6), np.float32)
    model.train()
    model.layers[0].eval()  # a mixed state is kept as it was
    before = {name: m.training for name, m in model.named_modules()}
    model.predict(x, verbose=0)
    assert {name: m.training for name, m in model.named_modules()} == before
    model.eval()
    model.predict(x, verbose=0)
    assert not any(m.training for m in model.modules())


def test_a_module_that_overrides_train_is_honoured():
    calls = []

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(6, 2)

        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

        def forward(self, x):
            return self.linear(x)

    class Wrapper(lamina.Model):
        def __init__(self):
            super().__init__()
            self.inner = Frozen()

        def call(self, inputs, training=None):
            return self.inner(inputs)

    model = Wrapper()
    x = np.ones((2, 6), np.float32)
    model.predict(x, verbose=0)  # builds (general path)
    calls.clear()
    model.train()
    out = model.predict(x, verbose=0)
    assert calls[-2:] == [False, True]  # model.eval() then model.train(True)
    assert model.training and model.inner.training
    np.testing.assert_allclose(out, _reference(model, x), rtol=1e-6)


def test_unbuilt_subclassed_model_builds_then_takes_the_fast_path():
    class MLP(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(5, activation="relu")
            self.out = layers.Dense(2)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    lamina.set_seed(0)
    model = MLP()
    x = np.random.default_rng(2).normal(size=(9, 4)).astype(np.float32)
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), first)
    np.testing.assert_allclose(first, _reference(model, x), rtol=1e-6)


def test_custom_predict_step_is_honoured(data):
    class Doubling(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, inputs, training=None):
            return self.dense(inputs)

        def predict_step(self, data):
            x, _, _ = lamina.utils.unpack_x_y_sample_weight(data)
            return {"double": 2 * self(x, training=False)}

    lamina.set_seed(0)
    model = Doubling()
    out = model.predict(data[:5], verbose=0)
    assert set(out) == {"double"}
    np.testing.assert_allclose(out["double"], 2 * _reference(model, data[:5]), rtol=1e-6)


def test_callbacks_get_every_batch(data):
    model = _mlp()
    recorder = Recorder()
    out = model.predict(data, batch_size=32, verbose=0, callbacks=[recorder])
    assert [len(o) for o in recorder.outputs] == [32, 32, 6]
    np.testing.assert_array_equal(torch.cat(recorder.outputs).numpy(), out)


def test_verbose_still_shows_progress(data, capsys):
    model = _mlp()
    out = model.predict(data[:3], verbose=1)
    assert "Predict" in capsys.readouterr().out
    np.testing.assert_array_equal(out, model.predict(data[:3], verbose=0))
    model.predict(data[:3], verbose=0)
    assert capsys.readouterr().out == ""


def test_outputs_are_fresh_arrays():
    """An output that is the input itself comes back as a copy, as `torch.cat` gave."""
    lamina.set_seed(0)
    inp = lamina.Input(shape=(2,))
    model = lamina.Model(inp, [layers.Dense(1)(inp), layers.Activation("linear")(inp)])
    x = np.ones((3, 2), np.float32)
    _, same = model.predict(x, verbose=0)
    same[:] = 5.0
    np.testing.assert_array_equal(x, np.ones((3, 2)))


def test_predict_on_batch(data):
    model = _mlp()
    np.testing.assert_array_equal(model.predict_on_batch(data), _general(model, data, batch_size=70))

    class Counting(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)
            self.steps = 0

        def call(self, inputs, training=None):
            return self.dense(inputs)

        def predict_step(self, data):
            self.steps += 1
            return super().predict_step(data)

    counting = Counting()
    assert counting.predict_on_batch(data).shape == (70, 2)
    assert counting.steps == 1  # all of `data` as one batch


def test_prepare_and_restore():
    model = _mlp(dropout=0.5)
    model.train()
    state = inference.prepare(model, torch.device("cpu"))
    assert state.has_weights and not any(m.training for m in model.modules())
    inference.restore(state)
    assert all(m.training for m in model.modules())
    assert inference.as_tensors(np.array(["a", "b"])) is None
    assert inference.as_tensors({"a": np.ones((2, 1)), "b": np.ones((3, 1))}) is None
    t, n = inference.as_tensors([np.ones((2, 1), np.float64), torch.ones(2, 3, dtype=torch.int32)])
    assert n == 2 and t[0].dtype == torch.float32 and t[1].dtype == torch.int64


def test_concurrent_predictions_keep_inference_mode_and_restore():
    """Threads predicting on one model (a server's thread pool): each forward pass runs
    in inference mode until the last prediction ends, then the flags come back. (Before
    the shared switch, one thread's restore put the others' passes in training mode and
    the model could end in eval mode.)"""
    import threading

    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(16, activation="relu")
            self.drop = nn.Dropout(0.9)  # a PyTorch module: it reads its own `training` flag
            self.out = layers.Dense(3)

        def call(self, inputs, training=None):
            return self.out(self.drop(self.hidden(inputs)))

    lamina.set_seed(0)
    model = Net()
    model.predict(np.ones((2, 6), np.float32), verbose=0)  # build
    model.train()
    x = np.random.default_rng(3).normal(size=(40, 6)).astype(np.float32)
    expected = _reference(model, x)
    start = threading.Barrier(4)
    results, errors = [], []

    def work():
        start.wait()
        try:
            for i in range(30):
                results.append(np.allclose(model.predict(x[i % 3 :], verbose=0, batch_size=8), expected[i % 3 :],
                                           rtol=1e-5, atol=1e-6))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 120 and all(results)
    assert all(m.training for m in model.modules())
    assert not inference._ACTIVE


def test_nested_predict_in_a_callback():
    model = _mlp(dropout=0.9)
    model.train()
    x = np.ones((5, 6), np.float32)
    expected = _reference(model, x)

    class Nested(lamina.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6)

    np.testing.assert_allclose(model.predict(x, verbose=0, callbacks=[Nested()]), expected, rtol=1e-6)
    assert all(m.training for m in model.modules())
