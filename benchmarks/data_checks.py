"""What the data checks of issue #13 cost: peak memory of the in-memory check, and
the per-batch cost of the streamed checks.

1. Peak memory. Each variant runs in a fresh Python process (so the high-water mark
   is its own): allocate a float32 array of ``--mb`` MB, touch it, read ``VmHWM``
   from /proc/self/status, run the check, read ``VmHWM`` again. The extra peak is
   reported in MB and as a multiple of the data's size. Variants: ``old`` (the
   check before issue #13: ``~isfinite(t)`` over the whole tensor, then
   ``.sum()`` and ``nonzero``), ``new`` (`lamina.training.data_checks.check_finite`,
   blocks of ~16 MB), and ``new-fail`` (the same with a NaN in the last row, so
   the count and the first index are computed).
2. Streamed checks. `fit` over a DataLoader (TensorDataset, ``--batches`` batches of 32
   rows x 64 float32 features, sparse labels, MLP 64-256-10) with the
   `DataValidator` as it is and with its per-batch check replaced by a no-op,
   epochs interleaved (with/without, then without/with, ...), ``--reps`` epochs each;
   the median and quartiles of an epoch, the difference per batch, the fastest
   epoch of each, and the check alone on one batch.

Usage: ``.venv/bin/python benchmarks/data_checks.py [--mb 300] [--reps 11] [--batches 256]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def _vm_hwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _old_check(t) -> None:  # the check before issue #13, for comparison
    import torch

    bad = ~torch.isfinite(t)
    count = int(bad.sum())
    if count:
        raise ValueError(f"{count} bad, first at {torch.nonzero(bad)[0].tolist()}")


def child(variant: str, mb: int) -> None:
    import numpy as np
    import torch

    from lamina.training.data_checks import check_finite  # imported before the baseline

    torch.set_num_threads(1)
    rows = mb * 2**20 // (4 * 64)
    arr = np.empty((rows, 64), dtype=np.float32)
    arr.fill(0.5)  # touch every page
    if variant == "new-fail":
        arr[-1, -1] = np.nan
    t = torch.from_numpy(arr)
    before = _vm_hwm_kb()
    start = time.perf_counter()
    if variant == "old":
        _old_check(t)
    elif variant == "none":
        pass
    else:
        try:
            check_finite(t, "x")
        except ValueError:
            assert variant == "new-fail"
    seconds = time.perf_counter() - start
    after = _vm_hwm_kb()
    data_mb = arr.nbytes / 2**20
    print(json.dumps({"variant": variant, "data_mb": data_mb, "extra_mb": (after - before) / 1024, "seconds": seconds}))


def peak_memory(mb: int, rounds: int) -> list[dict]:
    results: dict[str, list[dict]] = {}
    for _ in range(rounds):
        for variant in ("old", "new", "new-fail"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, "--mb", str(mb)],
                check=True, capture_output=True, text=True,
            ).stdout
            results.setdefault(variant, []).append(json.loads(out.strip().splitlines()[-1]))
    rows = []
    for variant, runs in results.items():
        extra = statistics.median(r["extra_mb"] for r in runs)
        secs = statistics.median(r["seconds"] for r in runs)
        rows.append({"variant": variant, "data_mb": runs[0]["data_mb"], "extra_mb": extra, "seconds": secs,
                     "extra_mb_all": [round(r["extra_mb"], 1) for r in runs]})
    return rows


def streamed(reps: int, batches: int) -> dict:
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    import lamina
    from lamina.training import data_checks

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.normal(size=(batches * 32, 64)).astype("float32"))
    y = torch.as_tensor(rng.integers(0, 10, size=batches * 32))
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(64,)), lamina.layers.Dense(256, activation="relu"), lamina.layers.Dense(10)]
    )
    model.compile("adam", lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    real = data_checks.DataValidator.check_batch

    def off(self, x, y, w, where=""):
        return None

    times: dict[str, list[float]] = {"with checks": [], "without": []}
    model.fit(loader, epochs=1, verbose=0)  # warm-up
    for rep in range(reps):
        order = (("with checks", real), ("without", off))
        for name, fn in order if rep % 2 == 0 else order[::-1]:  # alternate which goes first
            data_checks.DataValidator.check_batch = fn
            try:
                start = time.perf_counter()
                model.fit(loader, epochs=1, verbose=0)
                times[name].append(time.perf_counter() - start)
            finally:
                data_checks.DataValidator.check_batch = real
    # The check alone on one batch, to put the difference in context.
    validator = data_checks.DataValidator.for_model(model, "fit")
    xb, yb = x[:32], y[:32]
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        validator.check_batch(xb, yb, None, " from batch 0 of the DataLoader")
    alone_us = (time.perf_counter() - start) / n * 1e6

    def q(v: list[float]) -> tuple[float, float, float]:
        qs = statistics.quantiles(v, n=4)
        return qs[0], statistics.median(v), qs[2]

    diffs = [a - b for a, b in zip(times["with checks"], times["without"])]
    return {
        "min": (min(times["with checks"]), min(times["without"])),
        "batches": batches,
        "with": q(times["with checks"]),
        "without": q(times["without"]),
        "diff_per_batch_us": [d / batches * 1e6 for d in q(diffs)],
        "check_alone_us": alone_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--batches", type=int, default=256)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mb)
        return
    print(f"Peak memory of the in-memory finite check, {args.mb} MB float32, fresh process per run, "
          f"{args.rounds} rounds (median):")
    for r in peak_memory(args.mb, args.rounds):
        print(f"  {r['variant']:9s} extra peak {r['extra_mb']:7.1f} MB = {r['extra_mb'] / r['data_mb']:.2f}x data "
              f"(runs {r['extra_mb_all']}), {r['seconds'] * 1e3:.0f} ms")
    s = streamed(args.reps, args.batches)
    print(f"DataLoader fit, {s['batches']} batches of 32, {args.reps} interleaved epochs each, "
          "seconds per epoch (q1 / median / q3):")
    print("  with checks  {:.4f} / {:.4f} / {:.4f}".format(*s["with"]))
    print("  without      {:.4f} / {:.4f} / {:.4f}".format(*s["without"]))
    print("  difference per batch (pairs, q1 / median / q3): {:.1f} / {:.1f} / {:.1f} us".format(*s["diff_per_batch_us"]))
    print("  fastest epoch: with {:.4f}, without {:.4f}; difference per batch {:.1f} us".format(
        *s["min"], (s["min"][0] - s["min"][1]) / s["batches"] * 1e6))
    print(f"  the check alone on one batch (32x64 float32 + labels): {s['check_alone_us']:.1f} us")


if __name__ == "__main__":
    main()
