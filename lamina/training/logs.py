"""Epoch logs kept on the device: step values are summed lazily, read on demand.

The training step returns scalar tensors (the loss, ...). They are only
collected in a list per step; the sums are formed, and the host waits for the
device, only when someone reads the logs (the progress bar at most ten times a
second, and the end of the epoch).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch


class StepAverager:
    """Mean of per-step values over an epoch, weighted by batch size."""

    def __init__(self) -> None:
        self._pending: list[tuple[dict[str, Any], int]] = []
        self._sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, values: dict[str, Any], batch_size: int) -> None:
        self._pending.append((values, batch_size))
        self.count += batch_size

    def _fold(self) -> None:
        if not self._pending:
            return
        keys: dict[str, tuple[list[Any], list[int]]] = {}
        for values, n in self._pending:
            for k, v in values.items():
                vs, ns = keys.setdefault(k, ([], []))
                vs.append(v)
                ns.append(n)
        for k, (vs, ns) in keys.items():
            tensors = [v.detach().float().reshape(()) if isinstance(v, torch.Tensor) else torch.tensor(float(v)) for v in vs]
            device = tensors[0].device
            stacked = torch.stack([t.to(device) for t in tensors])
            weights = torch.tensor(ns, dtype=stacked.dtype, device=device)
            s = (stacked * weights).sum()
            self._sums[k] = s if k not in self._sums else self._sums[k] + s
        self._pending = []

    def means(self) -> dict[str, torch.Tensor]:
        self._fold()
        if not self.count:
            return {}
        return {k: s / self.count for k, s in self._sums.items()}


def to_floats(values: dict[str, Any]) -> dict[str, float]:
    """Reads 0-d tensors back to Python floats with one wait for the device."""
    if not values:
        return {}
    keys = list(values)
    tensors = [v if isinstance(v, torch.Tensor) else torch.tensor(float(v)) for v in values.values()]
    device = tensors[0].device
    flat = torch.stack([t.detach().float().reshape(()).to(device) for t in tensors]).tolist()
    return dict(zip(keys, flat))


class LazyLogs(Mapping):
    """Batch-level logs for callbacks: computed (and synced, once) only when read.

    The loop makes one per step, so reading several keys costs one device sync.
    """

    __slots__ = ("_averager", "_metrics", "_cache")

    def __init__(self, averager: StepAverager, metrics: Any) -> None:
        self._averager = averager
        self._metrics = metrics
        self._cache: dict[str, float] | None = None

    def _compute(self) -> dict[str, float]:
        if self._cache is None:
            values = dict(self._averager.means())
            if self._metrics is not None:
                values.update(self._metrics.results())
            self._cache = to_floats(values)
        return self._cache

    def __getitem__(self, key: str) -> float:
        return self._compute()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._compute())

    def __len__(self) -> int:
        return len(self._compute())
