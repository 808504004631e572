"""Writing your own training loop

`fit` covers most training, and overriding `train_step` covers most of what is
left (a GAN is one `train_step`: see `examples/gan_digits.py`). When you want
the whole loop in your hands — updates on an unusual schedule, several models
in lockstep, research code that has to read like the paper — write it
yourself. A Lamina model is a `torch.nn.Module`, so the loop is plain PyTorch:

    model = lamina.Sequential([lamina.Input(shape=(64,)),
                               lamina.layers.Dense(64, activation="relu"),
                               lamina.layers.Dense(10, activation="softmax")])
    optimizer = lamina.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_weights)
    loss_fn = lamina.losses.SparseCategoricalCrossentropy()

    for epoch in range(epochs):
        for x, y in batches:
            y_pred = model(x, training=True)
            loss = loss_fn(y, y_pred)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

`model.trainable_weights` are the parameters that `fit` would update (frozen
layers left out). Instead of `loss.backward()` you can take the gradients
yourself, as with Keras's `GradientTape`:
`grads = torch.autograd.grad(loss, model.trainable_weights)` then
`optimizer.apply_gradients(zip(grads, model.trainable_weights))`.

You keep Lamina's layers, losses, metrics (`update_state` / `result` /
`reset_state`) and optimizers with Keras's defaults, gradient clipping and
learning-rate schedules. A Lamina optimizer is a thin layer over `torch.optim`:
`lamina.optimizers.Adam(1e-3)` steps exactly like
`torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)` (Keras's
epsilon), so any `torch.optim` optimizer or scheduler works in the same loop.
You give up what `fit` does for you: batching and moving data to the device,
validation, callbacks, the progress display, and the care not to wait for the
device at every step (here the loss is summed on the device and read once per
epoch). A middle way is to keep `fit` and override `train_step`.

This file trains a classifier on scikit-learn's 8x8 digits this way; its test
checks that the loss falls and that the Lamina optimizer and `torch.optim.Adam`
give the same weights.

    python examples/custom_loop.py
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import lamina


def load_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits as ``(x_train, x_test, y_train, y_test)``: 64 pixels scaled to [0, 1]."""
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    return train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)


def make_model() -> lamina.Model:
    """A small classifier: 64 pixels -> 10 class probabilities."""
    return lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(64, activation="relu"),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled mini-batches, taken by index from tensors already on the device."""
    order = torch.randperm(len(x), generator=generator).to(x.device)
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]


def train(
    model: lamina.Model,
    optimizer: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    use_autograd_grad: bool = False,
) -> list[float]:
    """Trains ``model`` with a hand-written loop; returns the mean loss of every epoch.

    Args:
        model: A built Lamina model.
        optimizer: A built Lamina optimizer, or any ``torch.optim`` optimizer
            (both have ``zero_grad()`` and ``step()``).
        x, y: Training inputs and integer labels.
        epochs: Passes over the data. Defaults to `10`.
        batch_size: Samples per step. Defaults to `64`.
        seed: Seed of the shuffling. Defaults to `0`.
        use_autograd_grad: Take the gradients with ``torch.autograd.grad`` and
            apply them with ``apply_gradients`` (Lamina optimizers only) instead
            of ``loss.backward()`` + ``step()``. Defaults to `False`.
    """
    device = next(model.parameters()).device
    xt = torch.as_tensor(x, device=device)
    yt = torch.as_tensor(y, device=device)
    loss_fn = lamina.losses.SparseCategoricalCrossentropy()
    weights = model.trainable_weights
    generator = torch.Generator().manual_seed(seed)
    history = []
    model.train()
    for _ in range(epochs):
        total = torch.zeros((), device=device)
        for xb, yb in batches(xt, yt, batch_size, generator):
            y_pred = model(xb, training=True)
            loss = loss_fn(yb, y_pred)
            if use_autograd_grad:
                grads = torch.autograd.grad(loss, weights)
                optimizer.apply_gradients(zip(grads, weights))
            else:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.detach() * len(xb)  # stays on the device: no wait per step
        history.append(float(total) / len(xt))  # one read per epoch
    return history


def evaluate(model: lamina.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model`` on ``(x, y)``, with a Lamina metric."""
    device = next(model.parameters()).device
    metric = lamina.metrics.SparseCategoricalAccuracy()
    model.eval()
    with torch.no_grad():
        y_pred = model(torch.as_tensor(x, device=device), training=False)
        metric.update_state(torch.as_tensor(y, device=device), y_pred)
    return float(metric.result())


def main(epochs: int = 10) -> dict[str, Any]:
    """Trains the digits classifier with the custom loop and prints its progress."""
    lamina.set_seed(0)
    x_train, x_test, y_train, y_test = load_data()
    model = make_model()
    model.to(lamina.get_device())
    optimizer = lamina.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_weights)
    history = train(model, optimizer, x_train, y_train, epochs=epochs)
    for epoch, loss in enumerate(history, start=1):
        print(f"epoch {epoch}: loss {loss:.4f}")
    accuracy = evaluate(model, x_test, y_test)
    print(f"test accuracy: {accuracy:.3f}")
    return {"model": model, "history": history, "accuracy": accuracy}


if __name__ == "__main__":
    main()
