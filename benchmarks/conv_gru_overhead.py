"""`Model.fit` against a hand-written PyTorch loop for the example convnet and GRU.

The models are the ones the examples train: the convnet of
`examples/image_cnn.py` (without its augmentation layers) on the bundled
digits as ``(n, 8, 8, 1)`` images, and the `GRU(64)` classifier of
`examples/sequence_gru.py` on the digits read row by row (8 steps x 8
features). The PyTorch side is what a PyTorch user writes: `nn.Conv2d` /
`nn.GRU` modules, data as tensors in memory, batches taken by index from a
`torch.randperm`, Adam with Keras's epsilon (1e-7), loss and accuracy summed
on the device and read once per epoch. Both sides start from the same
weights (copied from the Lamina model, and checked to give the same outputs)
and compute the same loss: the models end with a softmax, so the loss is the
crossentropy of the normalised, clamped probabilities, as Keras defines it.

After one untimed warm-up run per side, runs are interleaved (lamina, torch,
lamina, torch, ...; the starting side alternates) so drift in machine load hits
both sides alike; the script prints the median time of each, the median of the
per-repetition ratios with its quartiles and the ratio of the medians
(`benchmarks/timing.py`). `--profile` then profiles one Lamina `fit` (cProfile) and prints
where its time goes. On CUDA each timing starts and ends with
`torch.cuda.synchronize()`. `--quick` (2 repetitions of 1 epoch on 512 samples)
is a smoke test of the script, not a measurement.

    .venv/bin/python benchmarks/conv_gru_overhead.py [--reps 5] [--epochs 10] [--device cpu|cuda] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import timing
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import lamina

EPSILON = 1e-7
BATCH_SIZE = 32
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TorchConvnet(nn.Module):
    """examples/image_cnn.py's convnet (no augmentation), channels-last input like the Lamina model."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(64 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)
        x = F.max_pool2d(torch.relu(self.c1(x)), 2)
        x = F.max_pool2d(torch.relu(self.c2(x)), 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # flatten in channels-last order
        return torch.softmax(self.fc(self.dropout(x)), dim=-1)


class TorchGRU(nn.Module):
    """examples/sequence_gru.py's GRU(64) classifier: last hidden state -> dense softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(8, 64, batch_first=True)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)
        return torch.softmax(self.fc(h[-1]), dim=-1)


def copy_weights(src: lamina.Model, dst: nn.Module) -> None:
    """Copies the Lamina weights (PyTorch layout already) into the torch model, in order.

    A Lamina GRU holds its two biases as one ``(2, 3 * units)`` weight; nn.GRU has
    ``bias_ih`` and ``bias_hh``.
    """
    flat = []
    for p in src.parameters():
        flat.extend([p[0], p[1]] if p.ndim == 2 and p.shape[0] == 2 and p.shape[1] % 3 == 0 else [p])
    targets = list(dst.parameters())
    if [tuple(a.shape) for a in flat] != [tuple(b.shape) for b in targets]:
        raise RuntimeError(f"Weight shapes differ: {[tuple(a.shape) for a in flat]} vs "
                           f"{[tuple(b.shape) for b in targets]}")
    with torch.no_grad():
        for a, b in zip(flat, targets):
            b.copy_(a)


def check_same_outputs(ml: lamina.Model, mt: nn.Module, x: np.ndarray) -> None:
    """The two models, with the same weights, give the same probabilities (inference mode)."""
    mt.eval()
    with torch.no_grad():
        expected = mt(torch.as_tensor(x[:64]).to(lamina.get_device())).cpu().numpy()
    got = ml.predict(x[:64], verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def crossentropy(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Keras's sparse categorical crossentropy on probabilities (normalise, clamp, log)."""
    p = probs / probs.sum(dim=-1, keepdim=True)
    return F.nll_loss(torch.log(p.clamp(EPSILON, 1.0 - EPSILON)), labels)


def synchronize() -> None:
    """Waits for the kernels queued on the CUDA device (no-op on CPU), so a timing holds
    all the work of its side."""
    if lamina.get_device().type == "cuda":
        torch.cuda.synchronize()


def time_lamina(model: lamina.Model, x: np.ndarray, y: np.ndarray, epochs: int) -> float:
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    synchronize()
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    synchronize()
    return time.perf_counter() - t0


def torch_epochs(model: nn.Module, x: np.ndarray, y: np.ndarray):
    """Sets up the hand-written loop (data on the device, Adam) and returns a function that
    trains one epoch: shuffled batches by index, loss and accuracy summed on the device and
    read once at the end of the epoch."""
    device = lamina.get_device()
    model.to(device)
    xt = torch.as_tensor(x, dtype=torch.float32).to(device)
    yt = torch.as_tensor(y, dtype=torch.long).to(device)
    # torch's default Adam update, or with BENCH_HAND_ADAM=fused its fused kernel (Lamina's).
    fused = True if os.environ.get("BENCH_HAND_ADAM") == "fused" else None
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=EPSILON, fused=fused)
    n = xt.shape[0]

    def epoch() -> None:
        model.train()
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        for i in range(0, n, BATCH_SIZE):
            idx = perm[i : i + BATCH_SIZE]
            xb, yb = xt[idx], yt[idx]
            out = model(xb)
            loss = crossentropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach() * xb.shape[0]
            correct += (out.detach().argmax(-1) == yb).sum()
        _ = (total / n).item(), (correct / n).item()

    return epoch


def time_torch(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int) -> float:
    synchronize()
    t0 = time.perf_counter()
    epoch = torch_epochs(model, x, y)
    for _ in range(epochs):
        epoch()
    synchronize()
    return time.perf_counter() - t0


def bench_epochs(name: str, make_l: Callable[[], lamina.Model], make_t: Callable[[], nn.Module], x: np.ndarray,
                 y: np.ndarray, epochs: int, reps: int) -> None:
    """`--interleave epoch`: the two sides alternate epoch by epoch inside one `fit`
    (`timing.EpochInterleave`); prints the pooled per-epoch ratios and the whole-run ratios."""
    pairs = timing.EpochPairs()
    for r, ml, mt in prepared_pairs(make_l, make_t, x, y, reps):
        lamina.set_seed(r)
        ml.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
        pairs.fit(ml, lambda mt=mt: torch_epochs(mt, x, y), x, y, batch_size=BATCH_SIZE, epochs=epochs)
    pairs.report(name, 36)


def prepared_pairs(make_l: Callable[[], lamina.Model], make_t: Callable[[], nn.Module], x: np.ndarray,
                   y: np.ndarray, reps: int):
    """After an untimed warm-up of both sides (one-off kernel selection and allocations of the
    first calls), yields ``(repetition, lamina model, torch model)`` with the same weights."""
    lamina.set_seed(0)
    warm_l, warm_t = make_l(), make_t()
    warm_l.predict(x[:2], verbose=0)
    time_lamina(warm_l, x[:256], y[:256], 1)
    time_torch(warm_t, x[:256], y[:256], 1)
    for r in range(reps):
        lamina.set_seed(r)
        ml, mt = make_l(), make_t()
        ml.predict(x[:2], verbose=0)  # build
        copy_weights(ml, mt)
        check_same_outputs(ml, mt.to(lamina.get_device()), x)
        yield r, ml, mt


def bench(name: str, make_l: Callable[[], lamina.Model], make_t: Callable[[], nn.Module], x: np.ndarray,
          y: np.ndarray, epochs: int, reps: int) -> tuple[float, float]:
    tl, tt = [], []
    for r, ml, mt in prepared_pairs(make_l, make_t, x, y, reps):
        # Alternate which side runs first, so warm caches and load drift favour neither.
        for side in ((0, 1) if r % 2 == 0 else (1, 0)):
            lamina.set_seed(r)
            if side == 0:
                tl.append(time_lamina(ml, x, y, epochs))
            else:
                tt.append(time_torch(mt, x, y, epochs))
    summary = timing.paired(tl, tt)
    steps = epochs * -(-len(x) // BATCH_SIZE)
    print(f"{name:<36} {timing.describe(summary)}  "
          f"({1e3 * (summary['lamina'] - summary['torch']) / steps:+.3f} ms/step over {steps} steps)", flush=True)
    return summary["lamina"], summary["torch"]


def profile_fit(name: str, make_l: Callable[[], lamina.Model], x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """Profiles one Lamina fit; prints the top functions by own time and Lamina's own share."""
    lamina.set_seed(0)
    model = make_l()
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:64], y[:64], batch_size=BATCH_SIZE, epochs=1, verbose=0)  # warm up outside the profile
    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    own = sum(v[2] for k, v in stats.stats.items() if "/lamina/" in k[0])
    print(f"\nprofile of {name}: {total:.2f}s in total, {own:.2f}s ({own / total:.0%}) in Lamina's own Python code")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(18)
    print("\n".join(line for line in buffer.getvalue().splitlines()[6:] if line.strip()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--device", default=None, help="cpu or cuda (default: Lamina's, CUDA when present)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 repetitions of 1 epoch on 512 samples")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--only", default=None, choices=["convnet", "gru"])
    p.add_argument("--interleave", choices=["run", "epoch"], default="run",
                   help="alternate whole runs (default) or single epochs inside one fit (timing.EpochInterleave)")
    p.add_argument("--profile", action="store_true", help="cProfile one Lamina fit per model afterwards")
    args = p.parse_args()
    if args.quick:
        args.reps, args.epochs = 2, 1
    if args.device:
        lamina.set_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    image_cnn, sequence_gru = load_example("image_cnn"), load_example("sequence_gru")
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    if args.quick:
        images, y = images[:512], y[:512]
    print(f"device={lamina.get_device()} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"samples={len(y)} batch={BATCH_SIZE} epochs={args.epochs} reps={args.reps}")
    cases = {
        "convnet": ("convnet 32-64 on 8x8 (image_cnn)", lambda: image_cnn.make_convnet(augment=False),
                    TorchConvnet, images[..., None]),
        "gru": ("GRU(64) on 8 rows (sequence_gru)", sequence_gru.make_gru, TorchGRU, images),
    }
    for key, (name, make_l, make_t, x) in cases.items():
        if args.only in (None, key):
            run = bench_epochs if args.interleave == "epoch" else bench
            run(name, make_l, make_t, x, y, args.epochs, args.reps)
    if args.profile:
        for key, (name, make_l, _, x) in cases.items():
            if args.only in (None, key):
                profile_fit(name, make_l, x, y, args.epochs)


if __name__ == "__main__":
    main()
