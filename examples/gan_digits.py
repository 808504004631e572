"""A GAN that learns to draw 8x8 digits: custom training by overriding `train_step`.

A generative adversarial network trains two models against each other: the
discriminator learns to tell real images from generated ones, the generator
learns to fool it. One `fit` step is two updates with two optimizers, so the
GAN is a subclassed `lamina.Model` that overrides

* `compile(d_optimizer, g_optimizer, loss_fn)`: it calls `super().compile()`
  without a loss (the GAN computes its own) and keeps its two optimizers;
* `train_step(batch)`: one discriminator update, then one generator update;
  it returns `{"d_loss": ..., "g_loss": ...}`, which `fit` averages per
  epoch, shows in the progress display, passes to callbacks and records in
  the `History`.

Everything else is the usual `fit`: batching and shuffling, callbacks,
`verbose`. The data is scikit-learn's bundled digits (1,797 images of 8x8
pixels), scaled to [-1, 1] to match the generator's `tanh` output.

Run it::

    python examples/gan_digits.py --epochs 60 --out samples.png
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

import lamina

LATENT_DIM = 16


def load_images(limit: int | None = None) -> np.ndarray:
    """The digits as float32 vectors of 64 pixels in [-1, 1], shape ``(n, 64)``."""
    images = load_digits().images.reshape(-1, 64).astype("float32")  # pixel values 0..16
    images = images / 8.0 - 1.0
    return images[:limit] if limit is not None else images


def make_generator(latent_dim: int = LATENT_DIM) -> lamina.Model:
    """Noise of shape ``(batch, latent_dim)`` -> images of shape ``(batch, 64)`` in [-1, 1]."""
    return lamina.Sequential(
        [
            lamina.Input(shape=(latent_dim,)),
            lamina.layers.Dense(64, activation="leaky_relu"),
            lamina.layers.Dense(128, activation="leaky_relu"),
            lamina.layers.Dense(64, activation="tanh"),
        ],
        name="generator",
    )


def make_discriminator() -> lamina.Model:
    """Images of shape ``(batch, 64)`` -> one logit each (real > 0 > fake)."""
    return lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(128, activation="leaky_relu"),
            lamina.layers.Dropout(0.2),
            lamina.layers.Dense(64, activation="leaky_relu"),
            lamina.layers.Dense(1),
        ],
        name="discriminator",
    )


class GAN(lamina.Model):
    """A generator and a discriminator trained against each other by `fit`.

    Args:
        discriminator: Maps images to a logit ("real" when positive).
        generator: Maps noise of shape ``(batch, latent_dim)`` to images.
        latent_dim: Size of the generator's noise input.
    """

    def __init__(self, discriminator: lamina.Model, generator: lamina.Model, latent_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        # Running means over the epoch, reset by `fit` at each epoch start (Keras's idiom).
        self.d_loss_tracker = lamina.metrics.Mean(name="d_loss")
        self.g_loss_tracker = lamina.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer: Any, g_optimizer: Any, loss_fn: Any) -> None:  # type: ignore[override]
        # No loss and no optimizer for the model as a whole: train_step uses its own.
        super().compile(optimizer=None)
        self.d_optimizer = lamina.optimizers.get(d_optimizer)
        self.g_optimizer = lamina.optimizers.get(g_optimizer)
        # Each optimizer updates one of the two networks only.
        self.d_optimizer.build(self.discriminator.trainable_weights)
        self.g_optimizer.build(self.generator.trainable_weights)
        self.loss_fn = lamina.losses.get(loss_fn)

    def train_step(self, batch: Any) -> dict[str, torch.Tensor]:
        real = batch  # fit(x) without targets: the batch is x alone, as in Keras
        n = real.shape[0]
        ones = torch.ones(n, 1, device=real.device)
        zeros = torch.zeros(n, 1, device=real.device)

        # 1. Discriminator: real images -> 1, generated images -> 0.
        noise = torch.randn(n, self.latent_dim, device=real.device)
        fake = self.generator(noise, training=True).detach()  # no generator gradients here
        images = torch.cat([fake, real])
        labels = torch.cat([zeros, ones])
        labels = labels + 0.05 * torch.rand_like(labels)  # a little label noise, a known GAN trick
        d_loss = self.loss_fn(labels, self.discriminator(images, training=True))
        self.d_optimizer.zero_grad()
        d_loss.backward()
        self.d_optimizer.step()

        # 2. Generator: make the discriminator call its images real. Only the
        # generator's optimizer steps; the discriminator's stray gradients are
        # cleared by its zero_grad() in the next step.
        noise = torch.randn(n, self.latent_dim, device=real.device)
        g_loss = self.loss_fn(ones, self.discriminator(self.generator(noise, training=True), training=True))
        self.g_optimizer.zero_grad()
        g_loss.backward()
        self.g_optimizer.step()

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def generate(self, noise: torch.Tensor) -> np.ndarray:
        """Images for the given noise, shape ``(batch, 64)``, as NumPy."""
        return self.generator.predict(noise, verbose=0)


def save_samples(images: np.ndarray, path: str) -> None:
    """Writes a grid of 8x8 images to a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    cols = 8
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols, rows))
    for ax, img in zip(np.ravel(axes), images):
        ax.imshow(img.reshape(8, 8), cmap="gray_r", vmin=-1, vmax=1)
    for ax in np.ravel(axes):
        ax.axis("off")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def main(epochs: int = 60, quick: bool = False, out: str | None = None, verbose: int = 2) -> dict[str, Any]:
    """Trains the GAN and prints the losses.

    Args:
        epochs: Passes over the images. Defaults to `60`.
        quick: Use 256 images (a smoke test in seconds). Defaults to `False`.
        out: Optional PNG path for a grid of 16 generated digits.
        verbose: Passed to `fit` (2: one line per epoch). Defaults to `2`.

    Returns:
        ``{"gan", "history", "before", "after"}``: the trained model, its
        `History`, and images generated from the same fixed noise before and
        after training.
    """
    lamina.set_seed(0)
    images = load_images(limit=256 if quick else None)
    gan = GAN(make_discriminator(), make_generator(LATENT_DIM), LATENT_DIM)
    gan.compile(
        d_optimizer=lamina.optimizers.Adam(learning_rate=3e-4, beta_1=0.5),
        g_optimizer=lamina.optimizers.Adam(learning_rate=3e-4, beta_1=0.5),
        loss_fn=lamina.losses.BinaryCrossentropy(from_logits=True),
    )
    fixed_noise = torch.randn(16, LATENT_DIM)
    before = gan.generate(fixed_noise)
    history = gan.fit(images, batch_size=64, epochs=epochs, verbose=verbose)
    after = gan.generate(fixed_noise)
    print(f"final d_loss={history.history['d_loss'][-1]:.4f}  g_loss={history.history['g_loss'][-1]:.4f}")
    if out:
        save_samples(after, out)
        print(f"wrote {out}")
    return {"gan": gan, "history": history, "before": before, "after": after}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="256 images, for a smoke test")
    parser.add_argument("--out", default=None, help="PNG file for a grid of generated digits")
    args = parser.parse_args()
    main(epochs=args.epochs, quick=args.quick, out=args.out)
