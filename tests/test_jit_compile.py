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
