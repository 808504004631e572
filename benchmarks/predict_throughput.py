"""`Model.predict` throughput against a hand-written batched PyTorch inference loop.

Two models: the MLP of `benchmarks/fit_overhead.py` (64-256-256-10) on the
bundled digits as vectors, and the convnet of `examples/image_cnn.py`
(without augmentation) on the digits as ``(n, 8, 8, 1)`` images. The digits
are tiled to `--samples` rows so that one `predict` takes long enough to
time. The PyTorch side is what a PyTorch user writes: the same weights in
`nn` modules, `model.eval()`, `torch.inference_mode()`, the input moved to
the device once, batches by slicing, outputs concatenated and returned as a
NumPy array, like `predict`. Both return the same numbers (checked).

After one untimed warm-up per side, runs are interleaved (lamina, torch, ...);
the script prints the median samples per second of each and their ratio
(Lamina / torch, higher is better for Lamina), for several batch sizes.

    .venv/bin/python benchmarks/predict_throughput.py [--reps 5] [--samples 17970] [--batch-sizes 32 256]
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


def lamina_predict(model: lamina.Model, x: np.ndarray, batch_size: int) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    out = model.predict(x, batch_size=batch_size, verbose=0)
    return time.perf_counter() - t0, out


def torch_predict(model: nn.Module, x: np.ndarray, batch_size: int) -> tuple[float, np.ndarray]:
    device = lamina.get_device()
    t0 = time.perf_counter()
    model.to(device).eval()
    xt = torch.as_tensor(x).to(device)
    with torch.inference_mode():
        out = torch.cat([model(xt[i : i + batch_size]) for i in range(0, len(xt), batch_size)])
    result = out.cpu().numpy()
    return time.perf_counter() - t0, result


def bench(name: str, make_l: Callable[[], lamina.Model], make_t: Callable[[], nn.Module], x: np.ndarray,
          batch_size: int, reps: int) -> tuple[float, float]:
    lamina.set_seed(0)
    ml, mt = make_l(), make_t()
    ml.predict(x[:2], verbose=0)  # build
    copy_weights(ml, mt)
    _, a = lamina_predict(ml, x[:512], batch_size)  # warm-up, and the same numbers on both sides
    _, b = torch_predict(mt, x[:512], batch_size)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    tl, tt = [], []
    for _ in range(reps):
        tl.append(lamina_predict(ml, x, batch_size)[0])
        tt.append(torch_predict(mt, x, batch_size)[0])
    sl, st = len(x) / statistics.median(tl), len(x) / statistics.median(tt)
    print(f"{name:<28} batch {batch_size:>4}  lamina {sl:10,.0f} samples/s  torch {st:10,.0f} samples/s  "
          f"ratio {sl / st:.3f}", flush=True)
    return sl, st


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--samples", type=int, default=17970, help="rows (the 1,797 digits tiled)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = p.parse_args()
    if args.device:
        lamina.set_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    digits = (load_digits().data / 16.0).astype(np.float32)
    x = np.resize(digits, (args.samples, 64))
    print(f"device={lamina.get_device()} torch={torch.__version__} threads={torch.get_num_threads()} "
          f"samples={args.samples} reps={args.reps}")
    for batch_size in args.batch_sizes:
        bench("MLP 64-256-256-10", mlp_lamina, mlp_torch, x, batch_size, args.reps)
        bench("convnet 32-64 (image_cnn)", convnet_lamina, TorchConvnet, x.reshape(-1, 8, 8, 1), batch_size,
              args.reps)


if __name__ == "__main__":
    main()
