"""`Model.fit` against a hand-written PyTorch loop on the same in-memory data.

Both sides train the same architecture from the same initial weights, with the
same batch order source (torch.randperm), the same optimizer (Adam, Keras's
epsilon) and the same loss, for the same number of epochs. Runs are
interleaved (lamina first in even repetitions, torch first in odd ones) so
drift in machine load and warm caches hit both sides alike; a warm-up run of
each side comes first (the first optimizer in a process imports part of
torch). The script prints the median time of each, the median of the
per-repetition ratios with its quartiles, and the ratio of the medians
(`benchmarks/timing.py`).

On CUDA each timing starts and ends with `torch.cuda.synchronize()`, so queued
kernels count to the side that launched them. `--quick` (2 repetitions of 1
epoch on 512 samples) is a smoke test of the script, not a measurement.

    .venv/bin/python benchmarks/fit_overhead.py [--reps 5] [--epochs 20] [--device cpu|cuda] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import timing
import torch
from sklearn.datasets import load_digits
from torch import nn

import lamina
from lamina import layers


def mlp_lamina() -> lamina.Model:
    return lamina.Sequential([
        lamina.Input(shape=(64,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(256, activation="relu"),
        layers.Dense(10),
    ])


def mlp_torch() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


class TorchCNN(nn.Module):
    """Channels-last input (N, 8, 8, 1), like the Lamina model."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)
        x = torch.max_pool2d(torch.relu(self.c1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.c2(x)), 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return self.fc(x)


def cnn_lamina() -> lamina.Model:
    return lamina.Sequential([
        lamina.Input(shape=(8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10),
    ])


def copy_weights(src: lamina.Model, dst: nn.Module) -> None:
    """Copies Lamina weights (torch layout already) into the torch model, in order."""
    with torch.no_grad():
        for a, b in zip(src.parameters(), dst.parameters()):
            b.copy_(a)


def synchronize() -> None:
    """Waits for the kernels queued on the CUDA device (no-op on CPU), so a timing holds
    all the work of its side."""
    if lamina.get_device().type == "cuda":
        torch.cuda.synchronize()


def time_lamina(model: lamina.Model, x: np.ndarray, y: np.ndarray, epochs: int, metrics: list[str]) -> float:
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=metrics)
    synchronize()
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    synchronize()
    return time.perf_counter() - t0


def torch_epochs(model: nn.Module, x: np.ndarray, y: np.ndarray, accuracy: bool):
    """Sets up the hand-written loop (data on the device, Adam) and returns a function that
    trains one epoch: shuffled batches by index, loss (and accuracy) summed on the device
    and read once at the end of the epoch."""
    device = lamina.get_device()
    model.to(device)
    xt = torch.as_tensor(x, dtype=torch.float32).to(device)
    yt = torch.as_tensor(y, dtype=torch.long).to(device)
    # torch's default Adam update, or with BENCH_HAND_ADAM=fused its fused kernel, which
    # Lamina's Adam uses for plain CPU / CUDA weights.
    fused = True if os.environ.get("BENCH_HAND_ADAM") == "fused" else None
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, fused=fused)
    loss_fn = nn.CrossEntropyLoss()
    n = xt.shape[0]

    def epoch() -> None:
        model.train()
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for i in range(0, n, 32):
            idx = perm[i : i + 32]
            xb, yb = xt[idx], yt[idx]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
            if accuracy:
                correct += (out.detach().argmax(-1) == yb).sum()
        _ = (total / n).item(), (correct / n).item()

    return epoch


def time_torch(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, accuracy: bool) -> float:
    synchronize()
    t0 = time.perf_counter()
    epoch = torch_epochs(model, x, y, accuracy)
    for _ in range(epochs):
        epoch()
    synchronize()
    return time.perf_counter() - t0


def bench_epochs(name: str, make_l, make_t, x, y, epochs: int, reps: int, accuracy: bool) -> None:
    """`--interleave epoch`: the two sides alternate epoch by epoch inside one `fit`
    (`timing.EpochInterleave`); prints the pooled per-epoch ratios and the whole-run ratios."""
    pairs = timing.EpochPairs()
    for r in range(reps):
        lamina.set_seed(r)
        ml, mt = make_l(), make_t()
        copy_weights(ml, mt)
        lamina.set_seed(r)
        ml.compile(optimizer=lamina.optimizers.Adam(1e-3),
                   loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"] if accuracy else [])
        pairs.fit(ml, lambda mt=mt: torch_epochs(mt, x, y, accuracy), x, y, batch_size=32, epochs=epochs)
    pairs.report(name, 34)


def bench(name: str, make_l, make_t, x, y, epochs: int, reps: int, accuracy: bool) -> tuple[float, float]:
    tl, tt = [], []
    for r in range(reps):
        lamina.set_seed(r)
        ml = make_l()
        mt = make_t()
        copy_weights(ml, mt)
        # Alternate which side runs first, so warm caches favour neither.
        for side in ((0, 1) if r % 2 == 0 else (1, 0)):
            lamina.set_seed(r)
            if side == 0:
                tl.append(time_lamina(ml, x, y, epochs, ["accuracy"] if accuracy else []))
            else:
                tt.append(time_torch(mt, x, y, epochs, accuracy))
    summary = timing.paired(tl, tt)
    print(f"{name:<34} {timing.describe(summary)}", flush=True)
    return summary["lamina"], summary["torch"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--device", default=None, help="cpu or cuda (default: Lamina's, CUDA when present)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 repetitions of 1 epoch on 512 samples")
    p.add_argument("--only", default=None, help="mlp or cnn")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--interleave", choices=["run", "epoch"], default="run",
                   help="alternate whole runs (default) or single epochs inside one fit (timing.EpochInterleave)")
    args = p.parse_args()
    if args.quick:
        args.reps, args.epochs = 2, 1
    if args.device:
        lamina.set_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    if args.quick:
        x, y = x[:512], y[:512]
    time_lamina(mlp_lamina(), x, y, 1, ["accuracy"])  # warm-up: one-off imports and allocations
    time_torch(mlp_torch(), x, y, 1, True)
    print(f"device={lamina.get_device()} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"samples={len(x)} batch=32 epochs={args.epochs} reps={args.reps}", flush=True)
    run = bench_epochs if args.interleave == "epoch" else bench
    if args.only in (None, "mlp"):
        run("MLP 64-256-256-10, loss only", mlp_lamina, mlp_torch, x, y, args.epochs, args.reps, False)
        run("MLP 64-256-256-10, + accuracy", mlp_lamina, mlp_torch, x, y, args.epochs, args.reps, True)
    if args.only in (None, "cnn") and hasattr(layers, "Conv2D"):
        xi = x.reshape(-1, 8, 8, 1)
        run("CNN 2 conv on 8x8, + accuracy", cnn_lamina, TorchCNN, xi, y, args.epochs, args.reps, True)


if __name__ == "__main__":
    main()
