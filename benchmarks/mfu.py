"""Model FLOP utilisation: achieved FLOP/s in training against the machine's peak.

CPU (the default, `--device cpu`): a wide MLP (4096-wide Dense layers) trained
with Lamina's `fit` in float32 at several batch sizes, next to a hand-written
PyTorch loop on the same model. Its FLOPs are counted exactly: per example and
Dense layer of `in` inputs and `out` units, the forward pass costs `2*in*out`
(one multiply-add per weight) and the backward pass `2*in*out` for the weight
gradient plus `2*in*out` for the input gradient, except for the first layer,
whose input (the data) needs no gradient. Biases, activations, the loss and the
optimizer are left out (they are not matrix products), as
`torch.utils.flop_counter.FlopCounterMode` leaves them out; the script checks
that the formula equals FlopCounterMode's count of one `fit` step. The peak is
measured by the script itself: a large `torch.matmul` in the same dtype on the
same threads. Each repetition times the peak and every training case once, in
an order that rotates from one repetition to the next, so the load of this
shared machine hits all alike; each case's utilisation is its FLOP/s divided by
the peak of the same repetition, and the script prints the median over
repetitions with the lowest and highest. The Adam update alone (no FLOPs
counted, memory-bound) is timed too, to show what it costs at each batch size.

CUDA (`--device cuda`, or `--suite models`): a mid-size convnet and a small
transformer in bfloat16 (`benchmarks/mfu_models.py`).

    .venv/bin/python benchmarks/mfu.py [--reps 7] [--batch-sizes 64 256 1024] [--quick]
    .venv/bin/python benchmarks/mfu.py --device cuda [--no-jit]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import lamina
from lamina import layers

TARGET_CPU = 0.50


def dense_flops(dims: list[tuple[int, int]], batch: int) -> int:
    """FLOPs of one training step of a stack of Dense layers with the given ``(in, out)``
    sizes: forward ``2*in*out``, weight gradient ``2*in*out``, input gradient ``2*in*out``
    (not for the first layer) per example."""
    forward = sum(2 * a * b for a, b in dims)
    input_grads = sum(2 * a * b for a, b in dims[1:])
    return batch * (2 * forward + input_grads)


def counted_flops(fn: Callable[[], object]) -> int:
    """The FLOPs `FlopCounterMode` counts while ``fn()`` runs."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds ``fn()`` takes, with the device's queued work waited for on both sides."""
    synchronize(device)
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - t0


def matmul_peak(n: int, dtype: torch.dtype, device: torch.device, repeats: int = 3) -> float:
    """FLOP/s of an ``n x n`` by ``n x n`` `torch.matmul` (``2*n**3`` FLOPs), the median of
    ``repeats`` timings after one untimed product."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    torch.matmul(a, b)
    times = [timed(lambda: torch.matmul(a, b), device) for _ in range(repeats)]
    return 2 * n**3 / statistics.median(times)


def rate(flops_per_second: float) -> str:
    """``12.3 GFLOP/s`` or ``456.7 TFLOP/s``."""
    if flops_per_second >= 1e12:
        return f"{flops_per_second / 1e12:7.1f} TFLOP/s"
    return f"{flops_per_second / 1e9:7.1f} GFLOP/s"


def spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


# ----------------------------------------------------------------- CPU: wide MLP


def make_mlp(width: int, depth: int, classes: int) -> lamina.Model:
    return lamina.Sequential(
        [
            lamina.Input(shape=(width,)),
            *[layers.Dense(width, activation="relu") for _ in range(depth)],
            layers.Dense(classes),
        ]
    )


def compiled(model: lamina.Model, optimizer: str) -> lamina.Model:
    opt = lamina.optimizers.SGD(1e-3) if optimizer == "sgd" else lamina.optimizers.Adam(1e-4)
    model.compile(optimizer=opt, loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def hand_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int):
    """A PyTorch user's epoch of ``steps`` steps on the same module: batches by index from
    `torch.randperm`, cross-entropy, `torch.optim.Adam`; the loss summed on the device and
    read once."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)

    def epoch(batch: int) -> float:
        model.train()
        n = batch * steps
        perm = torch.randperm(n, device=x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, n, batch):
            idx = perm[start : start + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach()
        return total.item()

    return epoch, opt


def mlp_cases(
    args: argparse.Namespace, x: np.ndarray, y: np.ndarray
) -> dict[str, Callable[[int], None]]:
    """The training cases, by name, each a function of the batch size that trains
    ``args.steps`` steps (one epoch over ``args.steps * batch`` examples)."""
    sgd, adam = (compiled(make_mlp(args.width, args.depth, 10), o) for o in ("sgd", "adam"))
    loop_model = make_mlp(args.width, args.depth, 10)
    loop_epoch, loop_opt = hand_loop(loop_model, torch.as_tensor(x), torch.as_tensor(y), args.steps)

    def fit(model: lamina.Model) -> Callable[[int], None]:
        return lambda b: model.fit(
            x[: b * args.steps], y[: b * args.steps], batch_size=b, epochs=1, verbose=0
        )

    def adam_update(b: int | None) -> None:  # the update alone, on the gradients the loop left
        for _ in range(args.steps):
            loop_opt.step()

    return {
        "fit, SGD": fit(sgd),
        "fit, Adam": fit(adam),
        "hand loop, Adam": loop_epoch,
        "Adam update only": adam_update,
    }


def n_flops(case: str) -> bool:
    """Whether the case is a training step (the Adam update alone has no matrix products)."""
    return case != "Adam update only"


def mlp_suite(args: argparse.Namespace) -> None:
    device = torch.device("cpu")
    lamina.set_device(device)
    dims = [(args.width, args.width)] * args.depth + [(args.width, 10)]
    rng = np.random.default_rng(0)
    rows = max(args.batch_sizes) * args.steps
    x = rng.standard_normal((rows, args.width), dtype=np.float32)
    y = rng.integers(0, 10, rows)
    lamina.set_seed(0)
    cases = mlp_cases(args, x, y)
    probe = min(args.batch_sizes)
    for b in args.batch_sizes:  # warm-up: first-fit build, allocator, optimizer state
        for fn in cases.values():
            fn(b)
    matmul_peak(args.peak_n, torch.float32, device, repeats=1)
    formula = dense_flops(dims, probe) * args.steps
    counted = {
        name: counted_flops(lambda n=name: cases[n](probe)) for name in cases if n_flops(name)
    }
    print(
        f"device=cpu torch={torch.__version__} threads={torch.get_num_threads()} dtype=float32 "
        f"reps={args.reps} steps per timing={args.steps}"
    )
    same = all(c == formula for c in counted.values())
    print(
        f"MLP {args.width}->{'x'.join([str(args.width)] * args.depth)}->10: FLOPs of {args.steps} "
        f"step(s) at batch {probe}: formula {formula}; FlopCounterMode "
        + ", ".join(f"{name} {c}" for name, c in counted.items())
        + f" ({'all equal' if same else 'DIFFERENT'})"
    )
    update = "Adam update only"
    times = {(name, b): [] for name in cases if name != update for b in args.batch_sizes}
    times[update, None] = []
    peaks: list[float] = []
    jobs = [("peak", None)] + list(times)
    for r in range(args.reps):
        for name, b in jobs[r % len(jobs) :] + jobs[: r % len(jobs)]:
            if name == "peak":
                peaks.append(matmul_peak(args.peak_n, torch.float32, device))
            else:
                times[name, b].append(timed(lambda n=name, bb=b: cases[n](bb), device))
    report_mlp(args, dims, peaks, times)


def report_mlp(args: argparse.Namespace, dims, peaks: list[float], times: dict) -> None:
    med, lo, hi = spread(peaks)
    print(
        f"peak: torch.matmul {args.peak_n}x{args.peak_n} float32 {med / 1e9:.1f} GFLOP/s "
        f"(median of {len(peaks)}; min {lo / 1e9:.1f}, max {hi / 1e9:.1f})"
    )
    verdicts = []
    for b in args.batch_sizes:
        flops = dense_flops(dims, b) * args.steps
        for name in ("fit, SGD", "fit, Adam", "hand loop, Adam"):
            ts = times[name, b]
            util = [flops / t / p for t, p in zip(ts, peaks)]
            m, lo_u, hi_u = spread(util)
            print(
                f"batch {b:>5}  {name:<16} {1e3 * statistics.median(ts) / args.steps:9.1f} ms/step  "
                f"{flops / statistics.median(ts) / 1e9:7.1f} GFLOP/s  utilisation {m:.1%} "
                f"(min {lo_u:.1%}, max {hi_u:.1%})"
            )
            if name.startswith("fit") and b == max(args.batch_sizes):
                verdicts.append(f"{name} {m:.1%}")
        ratio = statistics.median(
            a / c for a, c in zip(times["fit, Adam", b], times["hand loop, Adam", b])
        )
        update = statistics.median(times["Adam update only", None]) / statistics.median(
            times["fit, Adam", b]
        )
        print(
            f"batch {b:>5}  fit/hand loop (Adam) {ratio:.3f} (median of paired ratios); the Adam "
            f"update alone is {update:.1%} of a fit Adam step"
        )
    met = all(float(v.split()[-1].rstrip("%")) >= 100 * TARGET_CPU for v in verdicts)
    print(
        f"verdict: target >= {TARGET_CPU:.0%} of peak at batch {max(args.batch_sizes)}: "
        f"{'met' if met else 'NOT met'} ({'; '.join(verdicts)})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--device", default="cpu", help="cpu (wide MLP) or cuda (convnet and transformer)"
    )
    p.add_argument(
        "--suite",
        choices=["mlp", "models"],
        default=None,
        help="mlp (CPU default) or models (CUDA default; runs on CPU too, for tests)",
    )
    p.add_argument("--quick", action="store_true", help="smoke test: small sizes, 2 repetitions")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--width", type=int, default=4096)
    p.add_argument("--depth", type=int, default=3, help="hidden Dense layers")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    p.add_argument("--steps", type=int, default=3, help="training steps per timing")
    p.add_argument("--peak-n", type=int, default=4096, help="size of the peak matmul")
    p.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    p.add_argument("--no-jit", action="store_true", help="models suite: skip jit_compile=True")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    suite = args.suite or ("models" if args.device == "cuda" else "mlp")
    if suite == "models":
        import mfu_models

        mfu_models.run(args)
        return
    if args.device != "cpu":
        raise SystemExit(
            f"The MLP suite runs on the CPU. Received: --device {args.device}. "
            "Pass --suite models for the convnet and transformer on that device."
        )
    if args.quick:
        quick = {
            "reps": 2,
            "width": 256,
            "depth": 2,
            "batch_sizes": [32, 128],
            "steps": 2,
            "peak_n": 512,
        }
        vars(args).update(quick)
    mlp_suite(args)


if __name__ == "__main__":
    main()
