"""`PyDataset` in fit / evaluate / predict: every batch seen, `on_epoch_end` per pass,
workers prefetching in order, the Keras batch forms, clear errors."""

import math
import threading
import time

import numpy as np
import pytest
import torch

import lamina
from lamina.utils import PyDataset


class Regression(PyDataset):
    def __init__(self, x, y, batch_size=16, weights=None, delay=0.0, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.w, self.batch_size, self.delay = x, y, weights, batch_size, delay
        self.seen = []
        self.threads = set()
        self.epochs_ended = 0
        self.lock = threading.Lock()

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, idx):
        with self.lock:
            self.seen.append(idx)
            self.threads.add(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        sl = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        if self.y is None:
            return self.x[sl]
        if self.w is None:
            return self.x[sl], self.y[sl]
        return self.x[sl], self.y[sl], self.w[sl]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _data(n=100):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    return x, y


def _model():
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(learning_rate=0.1), "mse")
    return model


def test_py_dataset_fit_sees_every_batch_and_calls_on_epoch_end():
    x, y = _data()
    ds = Regression(x, y)
    model = _model()
    history = model.fit(ds, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.1 * losses[0]
    assert ds.epochs_ended == 3
    # batch 0 read once more to build the model; each epoch reads all 7 batches once
    counts = np.bincount(ds.seen, minlength=7)
    assert counts.min() >= 3 and sum(counts) - counts[0] == 3 * 6


def test_py_dataset_fit_matches_the_same_arrays():
    x, y = _data()
    a = _model()
    a.fit(Regression(x, y, batch_size=20), epochs=2, shuffle=False, verbose=0)
    b = _model()
    b.fit(x, y, batch_size=20, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_py_dataset_shuffle_changes_batch_order_not_content():
    x, y = _data()
    ds = Regression(x, y, batch_size=10)
    lamina.set_seed(1)
    _model().fit(ds, epochs=1, verbose=0)  # shuffle=True by default
    order = ds.seen[1:]
    assert sorted(order) == list(range(10)) and order != list(range(10))


def test_py_dataset_threads_prefetch_in_order():
    x, y = _data(64)
    ds = Regression(x, y, batch_size=8, delay=0.02, workers=4)
    start = time.perf_counter()
    batches = list(ds)
    took = time.perf_counter() - start
    assert len(threading.enumerate()) < 20
    for i, (bx, _) in enumerate(batches):
        np.testing.assert_array_equal(bx, x[i * 8:(i + 1) * 8])
    assert len(ds.threads) > 1
    assert took < 8 * 0.02 * 0.8  # in parallel: well under the serial time


def test_py_dataset_workers_in_fit_and_processes():
    x, y = _data(60)
    ds = Regression(x, y, batch_size=10, workers=2)
    model = _model()
    model.fit(ds, epochs=2, verbose=0)
    assert ds.epochs_ended == 2 and len(ds.threads) > 1
    procs = Regression(x, y, batch_size=10, workers=2, use_multiprocessing=True)
    out = model.predict(Regression(x, None, batch_size=10), verbose=0)
    out_procs = model.predict(procs, verbose=0)
    np.testing.assert_allclose(out, out_procs, rtol=1e-6)
    assert out.shape == (60, 1)


def test_py_dataset_evaluate_with_sample_weight():
    x, y = _data(40)
    model = _model()
    w = np.zeros(40, dtype=np.float32)
    w[:20] = 1.0
    loss = model.evaluate(Regression(x, y, batch_size=10, weights=w), verbose=0)
    pred = model.predict(x, verbose=0)
    per_sample = ((pred - y) ** 2).mean(axis=1)
    # Keras: a batch's loss is sum(w * l) / batch_size, averaged over the batches
    expected = np.mean([np.sum(w[i:i + 10] * per_sample[i:i + 10]) / 10 for i in range(0, 40, 10)])
    assert loss == pytest.approx(float(expected), rel=1e-4)


def test_py_dataset_errors():
    with pytest.raises(ValueError, match="Received: workers=0"):
        Regression(*_data(), workers=0)

    class Empty(PyDataset):
        def __len__(self):
            return 0

        def __getitem__(self, idx):
            raise IndexError

    with pytest.raises(ValueError, match="Received: num_batches=0"):
        _model().fit(Empty(), verbose=0)

    class NoItems(PyDataset):
        def __len__(self):
            return 1

    with pytest.raises(NotImplementedError, match="must implement `__getitem__"):
        _model().fit(NoItems(), verbose=0)

    class Four(Regression):
        def __getitem__(self, idx):
            return self.x[:4], self.y[:4], None, None

    with pytest.raises(ValueError, match="tuple of 4 items"):
        _model().fit(Four(*_data()), verbose=0)


def test_py_dataset_without_super_init_gets_defaults():
    class Bare(PyDataset):
        def __init__(self):
            self.x = torch.ones(4, 3)

        def __len__(self):
            return 1

        def __getitem__(self, idx):
            return self.x, torch.zeros(4, 1)

    ds = Bare()
    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__"):
        assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (1, False, 10)
    _model().fit(ds, verbose=0)


def test_py_dataset_list_batches_and_class_weight():
    x, y = _data(40)
    labels = (y[:, 0] > 0).astype(np.int64)

    class Lists(Regression):
        def __getitem__(self, idx):
            sl = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
            return [self.x[sl], self.y[sl]]

    model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    adapter_batches = Lists(x, labels, batch_size=10)
    assert model.evaluate(adapter_batches, verbose=0) == pytest.approx(model.evaluate(x, labels, verbose=0), rel=1e-5)

    from lamina.training.py_dataset_adapter import PyDatasetAdapter

    adapter = PyDatasetAdapter(Regression(x, labels, batch_size=40), device=torch.device("cpu"))
    adapter.apply_class_weight({0: 0.5, 1: 2.0})
    _, _, w = adapter.first_batch()
    np.testing.assert_array_equal(w.numpy(), np.where(labels == 1, 2.0, 0.5))


def test_py_dataset_numpy_length_and_endless_dataset_with_steps_per_epoch():
    x, y = _data(32)

    class NumpyLen(Regression):
        def __len__(self):
            return np.int64(4)

    ds = NumpyLen(x, y, batch_size=8)
    _model().fit(ds, epochs=2, verbose=0)
    assert ds.epochs_ended == 2

    class Endless(Regression):
        @property
        def num_batches(self):
            return None

        def __getitem__(self, idx):
            return super().__getitem__(idx % 4)

    endless = Endless(x, y, batch_size=8)
    history = _model().fit(endless, epochs=3, steps_per_epoch=5, verbose=0)
    assert len(history.history["loss"]) == 3
    assert len(endless.seen) == 1 + 15  # the build batch, then exactly 15 steps: nothing read ahead
