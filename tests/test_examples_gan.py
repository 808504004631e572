"""examples/gan_digits.py runs (short mode) and trains both networks."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import torch

import lamina

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "gan_digits.py"


def _load():
    spec = importlib.util.spec_from_file_location("gan_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gan_example_trains_both_networks(capsys):
    gan_digits = _load()
    result = gan_digits.main(epochs=3, quick=True, verbose=2)
    history, gan = result["history"], result["gan"]

    assert history.epoch == [0, 1, 2]
    assert set(history.history) == {"d_loss", "g_loss"}
    for key in ("d_loss", "g_loss"):
        assert all(math.isfinite(v) and v > 0 for v in history.history[key])
    out = capsys.readouterr().out
    assert "Epoch 3/3" in out and "d_loss:" in out and "g_loss:" in out
    assert f"final d_loss={history.history['d_loss'][-1]:.4f}" in out

    # The generator changed: same noise, different images, still in tanh's range.
    before, after = result["before"], result["after"]
    assert before.shape == after.shape == (16, 64)
    assert np.abs(after - before).max() > 1e-2
    assert after.min() >= -1.0 and after.max() <= 1.0

    # The model-level optimizer is None; each network has its own, built on its weights only.
    assert gan.optimizer is None
    assert [id(p) for p in gan.d_optimizer.torch_optimizer.param_groups[0]["params"]] == [
        id(p) for p in gan.discriminator.trainable_weights]
    assert [id(p) for p in gan.g_optimizer.torch_optimizer.param_groups[0]["params"]] == [
        id(p) for p in gan.generator.trainable_weights]
    steps = 3 * math.ceil(256 / 64)
    assert gan.d_optimizer.iterations == gan.g_optimizer.iterations == steps


def test_gan_example_data_and_sample_grid(tmp_path):
    gan_digits = _load()
    images = gan_digits.load_images(limit=10)
    assert images.shape == (10, 64) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    lamina.set_seed(0)
    generator = gan_digits.make_generator()
    fake = generator.predict(torch.randn(4, gan_digits.LATENT_DIM), verbose=0)
    assert fake.shape == (4, 64)
    path = tmp_path / "samples.png"
    gan_digits.save_samples(fake, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
