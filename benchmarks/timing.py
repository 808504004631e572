"""Paired timing summary shared by the benchmark scripts.

This project's machines are shared: the same loop runs up to twice as fast or
slow from one minute to the next. The scripts therefore time the two sides
back to back in each repetition (starting side alternating) and summarise the
*paired* ratios, whose median drift cannot move much, next to the ratio of
the two sides' median times.
"""

from __future__ import annotations

import statistics
import time

import lamina


def paired(lamina_times: list[float], torch_times: list[float]) -> dict[str, float]:
    """Medians of each side, their ratio, and the median and quartiles of the per-repetition ratios."""
    ratios = sorted(a / b for a, b in zip(lamina_times, torch_times))
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 2 else [ratios[0]] * 3
    ml, mt = statistics.median(lamina_times), statistics.median(torch_times)
    return {"lamina": ml, "torch": mt, "ratio_of_medians": ml / mt, "ratio": statistics.median(ratios),
            "q1": q[0], "q3": q[2]}


def describe(s: dict[str, float]) -> str:
    """One line: the two medians, the median paired ratio with its quartiles, the ratio of medians."""
    return (f"lamina {s['lamina']:7.3f}s  torch {s['torch']:7.3f}s  ratio {s['ratio']:.3f} "
            f"(quartiles {s['q1']:.3f}-{s['q3']:.3f}; ratio of medians {s['ratio_of_medians']:.3f})")


class EpochInterleave(lamina.callbacks.Callback):
    """A `fit` callback that runs one epoch of the hand-written loop next to each Lamina epoch.

    With whole runs interleaved, a run lasts seconds and this machine's load
    changes within that time (per-run ratios spread by +-10 % or more). Here
    the two sides alternate epoch by epoch (tens of milliseconds): the torch
    epoch runs after Lamina's in even epochs and before it in odd ones, and
    each Lamina epoch is timed from `on_epoch_begin` to `on_epoch_end` (the
    training steps and reading the epoch's logs). `fit`'s set-up and the
    callback's own dispatch are outside the per-epoch times but inside the
    whole-run times that `run_totals` returns.
    """

    def __init__(self, torch_epoch) -> None:
        super().__init__()
        self.torch_epoch = torch_epoch
        self.lamina_times: list[float] = []
        self.torch_times: list[float] = []

    def _run_torch(self) -> None:
        t0 = time.perf_counter()
        self.torch_epoch()
        self.torch_times.append(time.perf_counter() - t0)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        if epoch % 2 == 1:
            self._run_torch()
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.lamina_times.append(time.perf_counter() - self._t0)
        if epoch % 2 == 0:
            self._run_torch()


class EpochPairs:
    """Collects `fit` runs timed with `EpochInterleave` and summarises them."""

    def __init__(self) -> None:
        self.pairs: list[tuple[list[float], list[float]]] = []
        self.run_lamina: list[float] = []
        self.run_torch: list[float] = []

    def fit(self, model, torch_setup, x, y, **fit_kwargs) -> None:
        """Times ``torch_setup()`` (which returns the hand-written one-epoch function),
        then ``model.fit(x, y, **fit_kwargs)`` with that epoch interleaved."""
        t0 = time.perf_counter()
        cb = EpochInterleave(torch_setup())
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.fit(x, y, verbose=0, callbacks=[cb], **fit_kwargs)
        total = time.perf_counter() - t0
        self.pairs.append((cb.lamina_times, cb.torch_times))
        self.run_lamina.append(total - sum(cb.torch_times))
        self.run_torch.append(setup + sum(cb.torch_times))

    def report(self, name: str, width: int) -> None:
        """Prints the per-epoch ratios pooled over runs (each run's first epoch, with its
        one-off work, left out) and the whole-run ratios."""
        lamina_times = [t for lt, _ in self.pairs for t in lt[1:]]
        torch_times = [t for _, tt in self.pairs for t in tt[1:]]
        print(f"{name:<{width}} per epoch: {describe(paired(lamina_times, torch_times))}", flush=True)
        print(f"{'':<{width}} whole runs: {describe(paired(self.run_lamina, self.run_torch))}", flush=True)
