"""Metrics over all processes: their state tensors are summed, not their results averaged.

A metric's state is additive (sums and counts, confusion counts, histogram
bins), so the sum over processes of each state's change since its reset is
the state one process would have after seeing every sample: the result read
from it equals the single-process result (a mean of means would not, with
unequal shares or a sample-weighted metric). Variables made with
`add_variable(aggregation=...)` follow their aggregation: ``"sum"`` (the
default) summed, ``"mean"`` averaged, ``"only_first_replica"`` taken from
rank 0, ``"none"`` left as they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
import torch.distributed as dist

from lamina.distributed.context import DistributedContext
from lamina.metrics.base import Metric


def _metrics_in(obj: Any, seen: set[int]) -> Iterator[Metric]:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Metric):
        yield obj
    # Containers of metrics: `CompileMetrics.metrics`, a wrapper's `.metric`.
    inner = getattr(obj, "metrics", None)
    if isinstance(inner, (list, tuple)):
        for m in inner:
            yield from _metrics_in(m, seen)
    wrapped = getattr(obj, "metric", None)
    if isinstance(wrapped, Metric):
        yield from _metrics_in(wrapped, seen)


def _states(metric: Metric) -> Iterator[tuple[torch.Tensor, torch.Tensor | float, str]]:
    fold = getattr(metric, "_fold", None)  # LossTracker: queued batch losses into its sums
    if callable(fold):
        fold()
    for name, initial in metric._states.items():
        yield getattr(metric, name), initial, "sum"
    for var, initial in zip(metric._variables, metric._variable_initial):
        yield var, initial, getattr(var, "aggregation", "sum")


def reduce_metrics(model: Any, ctx: DistributedContext) -> None:
    """Replaces the state of every metric of ``model`` by its value over all processes.

    Every process must call it at the same point, with metrics of the same
    structure (the same model, compiled alike). One all-reduce, in float64.
    """
    entries: list[tuple[torch.Tensor, Any, str]] = []
    seen: set[int] = set()
    for top in model.metrics:
        for metric in _metrics_in(top, seen):
            entries.extend(e for e in _states(metric) if e[2] != "none")
    if not entries:
        return
    comm_device = ctx.device if ctx.backend == "nccl" else torch.device("cpu")
    parts = []
    for state, initial, aggregation in entries:
        delta = state.detach().to(comm_device, torch.float64) - (
            initial.to(comm_device, torch.float64) if isinstance(initial, torch.Tensor) else initial
        )
        if aggregation == "only_first_replica" and not ctx.is_chief:
            delta = torch.zeros_like(delta)
        parts.append(delta.reshape(-1))
    flat = torch.cat(parts)
    dist.all_reduce(flat)
    offset = 0
    with torch.no_grad():
        for state, initial, aggregation in entries:
            n = state.numel()
            total = flat[offset : offset + n].reshape(state.shape)
            offset += n
            if aggregation == "mean":
                total = total / ctx.world_size
            base = (
                initial.to(comm_device, torch.float64)
                if isinstance(initial, torch.Tensor)
                else initial
            )
            state.copy_((total + base).to(state.device, state.dtype))


def agree_on_logs(
    logs: Mapping[str, Any], exact: set[str], ctx: DistributedContext
) -> dict[str, Any]:
    """Logs every process shares: numbers not in ``exact`` (values a custom
    `train_step` returned, not read from reduced metrics) are averaged over the
    processes, so that callbacks (`EarlyStopping`, ...) decide alike everywhere."""
    out = dict(logs)
    keys = sorted(
        k
        for k, v in out.items()
        if k not in exact and isinstance(v, (int, float)) and not isinstance(v, bool)
    )
    if not keys:
        return out
    comm_device = ctx.device if ctx.backend == "nccl" else torch.device("cpu")
    values = torch.tensor([float(out[k]) for k in keys], dtype=torch.float64, device=comm_device)
    dist.all_reduce(values)
    for k, v in zip(keys, (values / ctx.world_size).tolist()):
        out[k] = v
    return out


def any_process(flag: bool, ctx: DistributedContext) -> bool:
    """Whether ``flag`` is True on at least one process (e.g. `stop_training`)."""
    comm_device = ctx.device if ctx.backend == "nccl" else torch.device("cpu")
    t = torch.tensor([1.0 if flag else 0.0], device=comm_device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)
