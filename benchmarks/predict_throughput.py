"""`Model.predict` against a bare `torch.inference_mode()` forward of the same module.

Two models: the MLP of `benchmarks/fit_overhead.py` (64-256-256-10) on the
bundled digits as vectors, and the convnet of `examples/image_cnn.py`
(without augmentation) on the digits as ``(n, 8, 8, 1)`` images.

The bare side is what a PyTorch user writes around the very same Lamina model
(same object, same weights), put in eval mode once beforehand:

    with torch.inference_mode():
        out = model(torch.from_numpy(x)).numpy()                       # one row
        out = torch.cat([model(xt[i : i + bs]) for i in ...]).numpy()  # n rows, xt = torch.from_numpy(x)

so it includes the NumPy -> tensor and tensor -> NumPy conversions that
`predict` does. The `predict` side is `model.predict(x, verbose=0)` (and
`batch_size=bs` where given) on the model in training mode, as `fit` leaves it,
so `predict` pays for its switch to inference mode and back on every call.

Two measurements, each with the two sides interleaved and repeated:

1. single row: ``--calls`` calls per side per round, ``--rounds`` rounds;
2. ``--samples`` rows (10,000 by default) at the default batch size (32) and
   at 256; one call per side per round. Also a hand-written `nn` module with
   the same weights (the PyTorch model a user would write instead), for reference.

Each round gives a ratio (predict time / bare time); the script prints the
median time per call of each side and the median ratio with its spread
(interquartile range and min-max over the rounds), and the ratio of the best
times of each side (the least disturbed by other processes). Both sides give the same numbers (checked).

    .venv/bin/python benchmarks/predict_throughput.py [--rounds 30] [--calls 100] [--threads 1] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import lamina
from lamina import layers

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEVICE = [torch.device("cpu")]  # set once in `main` (not looked up inside the timed calls)


def mlp_lamina() -> lamina.Model:
    return lamina.Sequential([
        lamina.Input(shape=(64,)),
        layers.Dense(256, activation="relu"),
        layers.Dense(256, activation="relu"),
        layers.Dense(10),
    ])


def mlp_torch() -> nn.Module:
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def convnet_lamina() -> lamina.Model:
    spec = importlib.util.spec_from_file_location("example_image_cnn", EXAMPLES / "image_cnn.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_convnet(augment=False)


class TorchConvnet(nn.Module):
    """examples/image_cnn.py's convnet, channels-last input like the Lamina model."""

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
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return torch.softmax(self.fc(self.dropout(x)), dim=-1)


def copy_weights(src: lamina.Model, dst: nn.Module) -> None:
    with torch.no_grad():
        for a, b in zip(src.parameters(), dst.parameters(), strict=True):
            b.copy_(a)


def bare_forward(model: nn.Module, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """The bare side: a forward of ``model`` under `torch.inference_mode()`, NumPy in and out
    (on an accelerator, the input moved there and the output back, as `predict` does)."""
    device = DEVICE[0]
    with torch.inference_mode():
        if device.type == "cpu":
            xt = torch.from_numpy(x)
            if batch_size is None or len(x) <= batch_size:
                return model(xt).numpy()
            return torch.cat([model(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)]).numpy()
        xt = torch.from_numpy(x).to(device)
        if batch_size is None or len(x) <= batch_size:
            return model(xt).cpu().numpy()
        return torch.cat([model(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)]).cpu().numpy()


CLOCK = [time.perf_counter]  # or time.thread_time (`--clock cpu`): not counting time the thread waits


def timed(fn: Callable[[], object], calls: int) -> float:
    clock = CLOCK[0]
    t0 = clock()
    for _ in range(calls):
        fn()
    return (clock() - t0) / calls


def summarize(name: str, tp: list[float], tb: list[float], unit: float, label: str) -> float:
    ratios = sorted(p / b for p, b in zip(tp, tb))
    r = statistics.median(ratios)
    q1, q3 = np.percentile(ratios, [25, 75])
    print(f"  {name:<44} predict {statistics.median(tp) * unit:8.1f} {label}  bare {statistics.median(tb) * unit:8.1f} "
          f"{label}  ratio {r:5.2f} (IQR {q1:.2f}-{q3:.2f}, min-max {ratios[0]:.2f}-{ratios[-1]:.2f}, "
          f"{len(ratios)} rounds; best times: {min(tp) / min(tb):.2f})", flush=True)
    return r


def single_row(name: str, model: lamina.Model, row: np.ndarray, rounds: int, calls: int) -> float:
    model.eval()
    np.testing.assert_allclose(model.predict(row, verbose=0), bare_forward(model, row), rtol=1e-6, atol=1e-7)
    tp, tb = [], []
    for k in range(rounds):
        order = ("p", "b") if k % 2 == 0 else ("b", "p")
        for side in order:
            if side == "p":
                model.train()  # as `fit` leaves it
                tp.append(timed(lambda: model.predict(row, verbose=0), calls))
            else:
                model.eval()  # once, as a PyTorch user does
                tb.append(timed(lambda: bare_forward(model, row), calls))
    return summarize(name, tp, tb, 1e6, "us/call")


def many_rows(name: str, model: lamina.Model, reference: nn.Module, x: np.ndarray, batch_size: int | None,
              rounds: int) -> float:
    bs = batch_size or 32
    kwargs = {} if batch_size is None else {"batch_size": batch_size}
    model.eval()
    reference.eval()
    expected = bare_forward(model, x, bs)
    np.testing.assert_allclose(model.predict(x, verbose=0, **kwargs), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bare_forward(reference, x, bs), expected, rtol=1e-4, atol=1e-5)
    tp, tb, tr = [], [], []
    for k in range(rounds):
        order = ("p", "b", "r") if k % 2 == 0 else ("r", "b", "p")
        for side in order:
            if side == "p":
                model.train()
                tp.append(timed(lambda: model.predict(x, verbose=0, **kwargs), 1))
            elif side == "b":
                model.eval()
                tb.append(timed(lambda: bare_forward(model, x, bs), 1))
            else:
                tr.append(timed(lambda: bare_forward(reference, x, bs), 1))
    label = f"{name}, batch {'32 (default)' if batch_size is None else batch_size}"
    r = summarize(label, tp, tb, 1e3, "ms")
    print(f"  {'':<44} (hand-written nn module: {statistics.median(tr) * 1e3:.1f} ms; predict / it "
          f"{statistics.median([p / q for p, q in zip(tp, tr)]):.2f})", flush=True)
    return r


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30, help="interleaved rounds per measurement")
    p.add_argument("--calls", type=int, default=100, help="single-row calls per side per round")
    p.add_argument("--samples", type=int, default=10_000, help="rows of the large predict (digits tiled)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[0, 256], help="0 = predict's default (32)")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads, for both sides")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="wall: time.perf_counter; cpu: the thread's CPU time (time.thread_time), which leaves "
                        "out the time other processes hold the core (use with --threads 1)")
    args = p.parse_args()
    if args.device:
        lamina.set_device(args.device)
    torch.set_num_threads(args.threads)
    DEVICE[0] = lamina.get_device()
    CLOCK[0] = time.thread_time if args.clock == "cpu" else time.perf_counter
    digits = (load_digits().data / 16.0).astype(np.float32)
    x = np.resize(digits, (args.samples, 64))
    print(f"device={lamina.get_device()} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"rounds={args.rounds} calls={args.calls} samples={args.samples} clock={args.clock}")
    cases = [("MLP 64-256-256-10", mlp_lamina, mlp_torch, x),
             ("convnet 32-64 (image_cnn)", convnet_lamina, TorchConvnet, x.reshape(-1, 8, 8, 1))]
    built = []
    for name, make_l, make_t, data in cases:
        lamina.set_seed(0)
        model, reference = make_l(), make_t()
        model.predict(data[:2], verbose=0)  # build
        copy_weights(model, reference)
        built.append((name, model, reference, data))
    print("single row (time per call):")
    for name, model, _, data in built:
        single_row(name, model, data[:1], args.rounds, args.calls)
    print(f"{args.samples} rows (time per predict):")
    for batch_size in args.batch_sizes:
        for name, model, reference, data in built:
            many_rows(name, model, reference, data, batch_size or None, max(3, args.rounds // 2))


if __name__ == "__main__":
    main()
