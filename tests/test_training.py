"""The Sequential training path: parity with hand-written PyTorch, the data a
model accepts, fit/evaluate/predict results, repeatability."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

import lamina
from lamina import layers


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32)[:320], y[:320].astype(np.int64)


def _mlp(seed=0, activation=None):
    lamina.set_seed(seed)
    return lamina.Sequential([
        lamina.Input(shape=(64,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(10, activation=activation),
    ])


def test_fit_matches_hand_written_torch_loop(digits):
    x, y = digits
    model = _mlp()
    ref = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    with torch.no_grad():
        for a, b in zip(model.parameters(), ref.parameters()):
            b.copy_(a)
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=1e-2),
        loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    lamina.set_seed(123)
    history = model.fit(x, y, batch_size=32, epochs=1, shuffle=True, verbose=0)

    # The same epoch by hand: same permutation source, same optimizer, same loss.
    lamina.set_seed(123)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2, eps=1e-7)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    perm = torch.randperm(len(x))
    losses, sizes = [], []
    for i in range(0, len(x), 32):
        idx = perm[i : i + 32]
        loss = nn.functional.cross_entropy(ref(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        sizes.append(len(idx))
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    expected_loss = float(np.average(losses, weights=sizes))
    assert history.history["loss"][0] == pytest.approx(expected_loss, abs=1e-5)


def test_fit_evaluate_predict_results(digits):
    x, y = digits
    model = _mlp(activation="softmax")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 3 and history.epoch == [0, 1, 2]
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    logits = model.predict(x, verbose=0)
    assert isinstance(logits, np.ndarray) and logits.shape == (len(x), 10)
    expected_acc = float((logits.argmax(1) == y).mean())
    assert acc == pytest.approx(expected_acc, abs=1e-6)
    expected_loss = nn.functional.nll_loss(torch.log(torch.from_numpy(logits)), torch.from_numpy(y)).item()
    assert loss == pytest.approx(expected_loss, rel=1e-4)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "accuracy"] == model.metrics_names


def test_metrics_accumulate_over_epoch_not_batch_mean():
    # 3 samples: batches of 2 and 1. Batch accuracies 1/2 and 1/1 average to 0.75;
    # the epoch accuracy over samples is 2/3.
    x = np.eye(3, dtype=np.float32)
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(2, use_bias=False)])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    with torch.no_grad():
        model.layers[0].kernel.copy_(torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    y = np.array([0, 1, 1])  # predictions: 0, 0, 1 -> 2 of 3 right
    model.compile(lamina.optimizers.SGD(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0)
    assert hist.history["accuracy"][0] == pytest.approx(2 / 3)


@pytest.mark.parametrize("kind", ["numpy", "torch", "pandas", "dataset", "dataloader", "iterable"])
def test_fit_accepts_every_input_kind(kind, digits):
    x, y = digits
    if kind == "numpy":
        args = (x, y)
    elif kind == "torch":
        args = (torch.from_numpy(x), torch.from_numpy(y))
    elif kind == "pandas":
        args = (pd.DataFrame(x), pd.Series(y))
    elif kind == "dataset":
        args = (torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), None)
    elif kind == "dataloader":
        ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
        args = (torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True), None)
    else:
        args = ([(x[i : i + 32], y[i : i + 32]) for i in range(0, len(x), 32)], None)
    model = _mlp(activation="softmax")
    model.compile(lamina.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(*args, epochs=5, verbose=0)
    assert hist.history["accuracy"][-1] > 0.8
    result = model.evaluate(*args, verbose=0, return_dict=True)
    assert result["accuracy"] > 0.8
    pred = model.predict(args[0], verbose=0)
    assert pred.shape == (len(x), 10)


def test_sample_weight_and_class_weight_change_the_loss(digits):
    x, y = digits
    model = _mlp(activation="softmax")
    model.compile(lamina.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    plain = model.fit(x, y, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    w = np.where(y == 3, 5.0, 1.0).astype(np.float32)
    weighted = model.fit(x, y, sample_weight=w, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    by_class = model.fit(x, y, class_weight={3: 5.0}, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    assert weighted == pytest.approx(by_class, rel=1e-6)
    probs = torch.from_numpy(model.predict(x, verbose=0))
    per_sample = -torch.log(probs[torch.arange(len(y)), torch.from_numpy(y)].clamp(1e-7, 1 - 1e-7) / probs.sum(1))
    assert plain == pytest.approx(per_sample.mean().item(), rel=1e-4)
    assert weighted == pytest.approx((per_sample * torch.from_numpy(w)).mean().item(), rel=1e-4)


def test_validation_data_tuple_is_reported(digits):
    x, y = digits
    model = _mlp(activation="softmax")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x[:200], y[:200], validation_data=(x[200:], y[200:]), epochs=2, verbose=0)
    val = model.evaluate(x[200:], y[200:], verbose=0, return_dict=True)
    assert hist.history["val_loss"][-1] == pytest.approx(val["loss"], rel=1e-5)


def test_set_seed_makes_fit_repeatable(digits):
    x, y = digits

    def run():
        lamina.set_seed(7)
        model = lamina.Sequential([layers.Dense(16, activation="relu"), layers.Dropout(0.3), layers.Dense(10)])
        model.compile("adam", lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, epochs=2, verbose=0)
        return [p.detach().clone() for p in model.parameters()]

    for a, b in zip(run(), run()):
        assert torch.equal(a, b)


def test_regularization_penalty_is_added_to_training_loss():
    x = np.ones((4, 2), dtype=np.float32)
    y = np.zeros((4, 1), dtype=np.float32)
    model = lamina.Sequential([lamina.Input(shape=(2,)), layers.Dense(1, kernel_initializer="ones", kernel_regularizer=lamina.regularizers.L2(0.5))])
    model.compile(lamina.optimizers.SGD(0.0), "mse")
    hist = model.fit(x, y, epochs=1, verbose=0)
    # prediction 2, error 4; penalty 0.5 * (1 + 1) = 1
    assert hist.history["loss"][0] == pytest.approx(5.0)


def test_predict_before_fit_builds_model_and_subclassing_works():
    class TwoLayer(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    model = TwoLayer()
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    assert model.predict(x, verbose=0).shape == (64, 1)
    model.compile(lamina.optimizers.Adam(0.05), "mse", metrics=["mae"])
    hist = model.fit(x, y, epochs=30, verbose=0)
    assert hist.history["loss"][-1] < 0.2 * hist.history["loss"][0]


def test_verbose_output_plain_lines_when_not_a_terminal(digits, capsys):
    x, y = digits
    model = _mlp(activation="softmax")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=1, validation_split=0.2)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("Epoch")]
    assert len(lines) == 2
    assert "Epoch 2/2" in lines[1] and "loss:" in lines[1] and "val_accuracy:" in lines[1]
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_a_fitted_model_reused_as_a_layer_does_not_shadow_the_outer_metrics():
    """A compiled, fitted Sequential inside a new Model: the outer model's
    `accuracy` is its own (as in Keras, a nested model's compile metrics are
    left out), equal to the accuracy computed from `predict` by hand."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = ((x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)).astype("int64")
    inner = lamina.Sequential(
        [lamina.Input(shape=(8,)), lamina.layers.Dense(16, activation="relu"),
         lamina.layers.Dense(3, activation="softmax")]
    )
    inner.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    inner.fit(x, y, epochs=3, verbose=0)
    inp = lamina.Input(shape=(8,))
    outer = lamina.Model(inp, inner(inp))
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    by_hand = float((outer.predict(x, verbose=0).argmax(-1) == y).mean())
    logs = outer.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(by_hand, abs=1e-6)
    assert by_hand > 0.2
    assert outer.metrics_names == ["loss", "accuracy"]
    history = outer.fit(x, y, epochs=2, verbose=0).history
    assert min(history["accuracy"]) > 0.2
    # the inner model keeps its own metrics for its own loops
    assert inner.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(
        float((inner.predict(x, verbose=0).argmax(-1) == y).mean()), abs=1e-6
    )
