"""The GPU half of `benchmarks/mfu.py`: a mid-size convnet and a small transformer in bfloat16.

For each model, three sides train the same architecture on the same in-memory
data (tensors on the device, batches by index from a `torch.randperm`):

- ``fit``: Lamina's `fit`, with the `"mixed_bfloat16"` dtype policy
  (`lamina.mixed_precision.set_global_policy`) when this build of Lamina has
  it; without it every side runs in float32 and the script says so;
- ``hand loop``: a PyTorch user's eager loop on a Lamina model of the same
  architecture (a `torch.nn.Module`), with the forward pass and the loss in
  `torch.autocast(dtype=torch.bfloat16)` and `torch.optim.Adam`;
- ``fit, jit_compile=True``: `fit` after `compile(..., jit_compile=True)`
  (`torch.compile` of the forward pass); its compilation happens in the
  untimed warm-up.

The FLOPs of one training step (forward and backward) are counted with
`torch.utils.flop_counter.FlopCounterMode` on one step of the hand loop, and
on one `fit` step as a check. The peak is the GPU's dense bfloat16 figure from
`PEAK_BF16` when its name is known, else a measured large `torch.matmul`
(which is printed in either case). Each repetition times one epoch of every
side, in an order that rotates; the script prints each side's median step
time, FLOP/s and model FLOP utilisation (MFU), the median paired ratios
``fit / hand loop`` and ``jit / hand loop`` with their lowest and highest,
and the issue's targets (#17): fit / hand loop <= 1.03, jit at least as fast
as the hand loop, convnet MFU >= 40 %.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections.abc import Callable

import torch
import torch.nn.functional as F
from mfu import counted_flops, matmul_peak, rate, spread, timed

import lamina
from lamina import layers

# Dense bfloat16 tensor-core peaks (TFLOP/s, no sparsity) from the vendors' data sheets.
# Matched on the words of `torch.cuda.get_device_name()`, most specific first.
PEAK_BF16: tuple[tuple[tuple[str, ...], float], ...] = (
    (("H100", "PCIE"), 756.0),
    (("H100", "NVL"), 835.0),
    (("GH200",), 989.0),
    (("H200",), 989.0),
    (("H100",), 989.0),  # SXM
    (("A100",), 312.0),
    (("L40S",), 362.0),
    (("L4",), 121.0),
    (("A10",), 125.0),
)
TARGET_FIT_RATIO, TARGET_CONVNET_MFU = 1.03, 0.40


def table_peak(name: str) -> float | None:
    """The dense bfloat16 peak in FLOP/s of the GPU called ``name``, or None if unknown."""
    words = set(re.split(r"[\s\-_]+", name.upper()))
    for keys, tflops in PEAK_BF16:
        if all(k in words for k in keys):
            return tflops * 1e12
    return None


def convnet(quick: bool) -> tuple[Callable[[], lamina.Model], torch.Tensor, int]:
    """VGG-like: three blocks of two 3x3 convolutions and a 2x2 pooling, on 64x64x3 images."""
    size, blocks, batch = (
        (16, [(8, 16)], 8) if quick else (64, [(64, 128), (256, 256), (512, 512)], 256)
    )

    def make() -> lamina.Model:
        stack: list = [lamina.Input(shape=(size, size, 3))]
        for a, b in blocks:
            stack += [
                layers.Conv2D(a, 3, padding="same", activation="relu"),
                layers.Conv2D(b, 3, padding="same", activation="relu"),
                layers.MaxPooling2D(2),
            ]
        return lamina.Sequential([*stack, layers.GlobalAveragePooling2D(), layers.Dense(100)])

    return make, torch.randn(batch, size, size, 3), batch


def transformer(quick: bool) -> tuple[Callable[[], lamina.Model], torch.Tensor, int]:
    """Encoder classifier: token + position embedding, post-norm encoder blocks, mean pooling."""
    vocab, seq, dim, heads, ff, depth, batch = (
        (100, 16, 32, 2, 64, 1, 8) if quick else (8192, 256, 512, 8, 2048, 4, 64)
    )

    def make() -> lamina.Model:
        return lamina.Sequential(
            [
                lamina.Input(shape=(seq,), dtype="int64"),
                layers.PositionalEmbedding(sequence_length=seq, vocab_size=vocab, embed_dim=dim),
                *[
                    layers.TransformerEncoder(intermediate_dim=ff, num_heads=heads)
                    for _ in range(depth)
                ],
                layers.GlobalAveragePooling1D(),
                layers.Dense(100),
            ]
        )

    return make, torch.randint(1, vocab, (batch, seq)), batch


def compiled(model: lamina.Model, jit: bool) -> lamina.Model:
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-4),
        loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    return model


def hand_loop(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int, bf16: bool):
    """Returns (one epoch, one step) of a PyTorch user's eager loop with bfloat16 autocast."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-7)

    def step(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    def epoch() -> float:
        model.train()
        perm = torch.randperm(x.shape[0], device=x.device)
        total = torch.zeros((), device=x.device)
        for start in range(0, x.shape[0], batch):
            idx = perm[start : start + batch]
            total += step(x[idx], y[idx])
        return total.item()

    return epoch, lambda: step(x[:batch], y[:batch])


def precision_policy() -> bool:
    """Sets Lamina's `"mixed_bfloat16"` policy if this build has `lamina.mixed_precision`;
    returns whether bfloat16 is used."""
    mp = getattr(lamina, "mixed_precision", None)
    if mp is None or not hasattr(mp, "set_global_policy"):
        print(
            "note: this Lamina has no lamina.mixed_precision.set_global_policy; every side runs "
            "in float32 (MFU against a measured float32 matmul)",
            flush=True,
        )
        return False
    mp.set_global_policy("mixed_bfloat16")
    return True


def bench_model(
    name: str, spec, args: argparse.Namespace, device: torch.device, bf16: bool, peak: float
) -> dict[str, float]:
    make, x_one, batch = spec
    steps = 2 if args.quick else 20
    reps = 2 if args.quick else args.reps
    x = torch.cat([x_one] * steps).to(device)
    y = torch.randint(0, 100, (x.shape[0],), device=device)
    lamina.set_seed(0)
    sides: dict[str, Callable[[], object]] = {}
    fit_model = compiled(make(), jit=False)
    sides["fit"] = lambda: fit_model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    loop_model = make().to(device)
    sides["hand loop"], loop_step = hand_loop(loop_model, x, y, batch, bf16)
    if not args.no_jit:
        jit_model = compiled(make(), jit=True)
        sides["fit, jit_compile=True"] = lambda: jit_model.fit(
            x, y, batch_size=batch, epochs=1, verbose=0
        )
    for fn in sides.values():  # warm-up: builds, kernel selection, torch.compile
        fn()
    flops = counted_flops(loop_step)
    fit_flops = counted_flops(
        lambda: fit_model.fit(x[:batch], y[:batch], batch_size=batch, verbose=0)
    )
    times: dict[str, list[float]] = {k: [] for k in sides}
    order = list(sides)
    for r in range(reps):
        for side in order[r % len(order) :] + order[: r % len(order)]:
            times[side].append(timed(sides[side], device))
    print(
        f"{name}: batch {batch}, FLOPs per step {flops} (FlopCounterMode, one hand-loop step; one fit "
        f"step: {fit_flops})",
        flush=True,
    )
    mfu = {}
    for side, ts in times.items():
        t = statistics.median(ts) / steps
        mfu[side] = flops / t / peak
        print(f"  {side:<22} {1e3 * t:8.2f} ms/step  {rate(flops / t)}  MFU {mfu[side]:.1%}")
    for side in times:
        if side != "hand loop":
            med, lo, hi = spread([a / b for a, b in zip(times[side], times["hand loop"])])
            print(
                f"  {side} / hand loop: {med:.3f} (min {lo:.3f}, max {hi:.3f}; median of {reps} paired)"
            )
            mfu[f"{side} / hand loop"] = med
    return mfu


def run(args: argparse.Namespace) -> None:
    lamina.set_device(args.device)
    device = lamina.get_device()
    bf16 = precision_policy()
    dtype = torch.bfloat16 if bf16 else torch.float32
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    measured = matmul_peak(512 if args.quick else 8192, dtype, device, repeats=5)
    listed = table_peak(name) if (device.type == "cuda" and bf16) else None
    peak = listed or measured
    print(
        f"device={device} ({name}) torch={torch.__version__} compute={dtype} "
        f"peak {rate(peak).strip()} ({'data sheet' if listed else 'measured'}); measured matmul "
        f"{rate(measured).strip()}",
        flush=True,
    )
    try:
        results = {
            "convnet": bench_model("convnet", convnet(args.quick), args, device, bf16, peak),
            "transformer": bench_model(
                "transformer", transformer(args.quick), args, device, bf16, peak
            ),
        }
    finally:
        if bf16:
            lamina.mixed_precision.set_global_policy("float32")
    report_targets(results)


def report_targets(results: dict[str, dict[str, float]]) -> None:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    for model, r in results.items():
        fit = r["fit / hand loop"]
        line = f"targets {model}: fit / hand loop {fit:.3f} <= {TARGET_FIT_RATIO}: {verdict(fit <= TARGET_FIT_RATIO)}"
        if "fit, jit_compile=True / hand loop" in r:
            jit = r["fit, jit_compile=True / hand loop"]
            line += f"; jit / hand loop {jit:.3f} <= 1: {verdict(jit <= 1.0)}"
        if model == "convnet":
            line += f"; fit MFU {r['fit']:.1%} >= {TARGET_CONVNET_MFU:.0%}: {verdict(r['fit'] >= TARGET_CONVNET_MFU)}"
        print(line, flush=True)
