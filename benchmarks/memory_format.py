"""Which memory format Lamina's convolutions compute in, and whether it is the faster one.

Lamina's image layers take channels-last tensors ``(batch, height, width,
channels)``, as Keras does. A run of conv / pooling layers computes on the
channels-first *view* of that input (``x.permute(0, 3, 1, 2)``, no copy; see
`lamina/layers/layout.py`): a tensor of logical shape NCHW whose memory is
NHWC, which is exactly PyTorch's ``torch.channels_last`` memory format, so the
convolution kernels run channels-last. The alternative is to copy the view to
a contiguous NCHW tensor first (``.contiguous()``), which is what a
layer-by-layer implementation that converts at every layer ends up doing.

This script times one training step (forward, backward) of the same conv
stack in three settings, rounds interleaved so machine drift hits all alike:

- ``channels_last``: channels-last data, permuted view (what Lamina runs);
- ``nchw_copy``: channels-last data copied to contiguous NCHW before the stack;
- ``nchw_data``: data stored NCHW from the start (a PyTorch user's default;
  no conversion at all) — the reference of the ratios.

Models: the convnet of `examples/image_cnn.py` (32-64 filters on 8x8x1) and a
CIFAR-sized stack (32-64-128 filters on 32x32x3, generated data). Prints the
median step time of each setting and its median paired ratio to ``nchw_data``.

On CUDA each timing starts and ends with `torch.cuda.synchronize()`. `--quick`
(2 rounds at batch 32) is a smoke test of the script, not a measurement.

    .venv/bin/python benchmarks/memory_format.py [--rounds 30] [--batch-sizes 32 128] [--device cpu|cuda] [--amp] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import lamina


class ConvStack(nn.Module):
    """conv-relu-pool blocks, then a linear head on the flattened features (NCHW in)."""

    def __init__(self, in_channels: int, filters: tuple[int, ...], size: int) -> None:
        super().__init__()
        chans = (in_channels, *filters)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(chans, chans[1:]))
        side = size // 2 ** len(filters)
        self.fc = nn.Linear(filters[-1] * side * side, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = F.max_pool2d(torch.relu(conv(x)), 2)
        return self.fc(x.flatten(1))


def make_inputs(kind: str, data_nhwc: torch.Tensor, data_nchw: torch.Tensor):
    if kind == "channels_last":
        return lambda idx: data_nhwc[idx].permute(0, 3, 1, 2)
    if kind == "nchw_copy":
        return lambda idx: data_nhwc[idx].permute(0, 3, 1, 2).contiguous()
    return lambda idx: data_nchw[idx]


def bench(name: str, in_channels: int, filters: tuple[int, ...], size: int, batch: int, rounds: int,
          device: torch.device, amp: bool) -> None:
    torch.manual_seed(0)
    n = batch * 8
    nhwc = torch.randn(n, size, size, in_channels, device=device)
    nchw = nhwc.permute(0, 3, 1, 2).contiguous()
    labels = torch.randint(0, 10, (n,), device=device)
    model = ConvStack(in_channels, filters, size).to(device)
    kinds = ("channels_last", "nchw_copy", "nchw_data")
    inputs = {k: make_inputs(k, nhwc, nchw) for k in kinds}
    x = inputs["channels_last"](torch.arange(batch, device=device))
    # With one channel the two formats are the same memory (and torch then picks NCHW kernels).
    assert x.is_contiguous(memory_format=torch.channels_last) and (in_channels == 1 or not x.is_contiguous())
    batches = [torch.arange(i, i + batch, device=device) for i in range(0, n, batch)]

    def steps(kind: str) -> float:
        make = inputs[kind]
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for idx in batches:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = F.cross_entropy(model(make(idx)), labels[idx])
            model.zero_grad(set_to_none=True)
            loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / len(batches)

    for kind in kinds:  # warm-up: kernel selection, allocator
        steps(kind)
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for r in range(rounds):
        order = kinds[r % 3:] + kinds[: r % 3]  # rotate the starting setting
        for kind in order:
            times[kind].append(steps(kind))
    ref = times["nchw_data"]
    cells = []
    for kind in kinds:
        ratio = statistics.median(a / b for a, b in zip(times[kind], ref))
        cells.append(f"{kind} {1e3 * statistics.median(times[kind]):7.3f} ms ({ratio:.3f})")
    print(f"{name:<28} batch {batch:>4}  " + "  ".join(cells), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    p.add_argument("--device", default=None, help="cpu or cuda (default: Lamina's, CUDA when present)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 rounds at batch 32")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast (mixed precision)")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.batch_sizes = 2, [32]
    if args.device:
        lamina.set_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = lamina.get_device()
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()} rounds={args.rounds} "
          f"amp={args.amp}; per-step time and (median paired ratio to nchw_data)", flush=True)
    for batch in args.batch_sizes:
        bench("convnet 32-64 on 8x8x1", 1, (32, 64), 8, batch, args.rounds, device, args.amp)
        bench("stack 32-64-128 on 32x32x3", 3, (32, 64, 128), 32, batch, args.rounds, device, args.amp)


if __name__ == "__main__":
    main()
