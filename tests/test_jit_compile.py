"""`compile(jit_compile=True)` runs the forward pass through `torch.compile`."""

import numpy as np
import torch

import lamina
from lamina import layers


def _train(jit: bool):
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(6,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(lamina.optimizers.SGD(0.05), "mse", jit_compile=jit)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = x[:, :1] * 2.0
    lamina.set_seed(1)
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    return model, hist


def test_jit_compile_trains_like_eager():
    eager, h_eager = _train(False)
    compiled, h_compiled = _train(True)
    assert compiled._call_fn is not compiled  # the forward really goes through torch.compile
    for a, b in zip(eager.parameters(), compiled.parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(h_eager.history["loss"], h_compiled.history["loss"], rtol=1e-4)


def test_jit_compile_runs_a_fused_convnet_like_eager():
    """The channels-first run of a convnet (lamina/layers/layout.py) traces under torch.compile."""
    results = []
    for jit in (False, True):
        lamina.set_seed(0)
        model = lamina.Sequential([
            lamina.Input(shape=(6, 6, 2)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(4, 3, padding="same"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3),
        ])
        model.compile(lamina.optimizers.SGD(0.05), lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=jit)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(32, 6, 6, 2)).astype(np.float32)
        y = rng.integers(0, 3, 32)
        lamina.set_seed(1)
        hist = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        results.append((model, hist))
    (eager, h_eager), (compiled, h_compiled) = results
    assert type(eager._steps_cache[0][0]).__name__ == "ChannelsFirstRun"
    for a, b in zip(eager.parameters(), compiled.parameters()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(h_eager.history["loss"], h_compiled.history["loss"], rtol=1e-4)
