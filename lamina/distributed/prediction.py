"""`predict` under `torchrun`: each process predicts its block, every process gets all of it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from lamina.distributed.context import DistributedContext, local
from lamina.utils.tree import flatten, map_structure


def _num_samples(x: Any) -> int:
    return int(flatten(x)[0].shape[0])


def _concat(parts: list[Any]) -> Any:
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concat([p[k] for p in parts]) for k in first}
    if isinstance(first, (list, tuple)):
        return [_concat([p[i] for p in parts]) for i in range(len(first))]
    return np.concatenate(parts)


def predict(model: Any, x: Any, ctx: DistributedContext, predict_fn: Any, **kwargs: Any) -> Any:
    """Splits in-memory ``x`` into `world_size` contiguous blocks, predicts this
    process's block with ``predict_fn`` (the single-process `predict`) and gathers the
    blocks in rank order: every process returns the full result, in the order of ``x``.

    Args:
        model: The model.
        x: In-memory inputs (arrays, tensors, pandas objects, or a dict / list of them).
        ctx: The process group.
        predict_fn: The single-process predict, called as `predict_fn(model, x_part, **kwargs)`.
        **kwargs: `batch_size`, `verbose`, `callbacks` (for rank 0; others run silent).
    """
    from lamina.training.data_adapter import _structure_to_tensors

    tensors = _structure_to_tensors(x, "x")
    n = _num_samples(tensors)
    from lamina.distributed.fsdp import is_sharded

    if n < ctx.world_size or is_sharded(model):  # (a sharded model's forward pass is collective)
        with local():
            return predict_fn(model, x, **kwargs)
    block = torch.tensor_split(torch.arange(n), ctx.world_size)[ctx.rank]
    start, stop = int(block[0]), int(block[-1]) + 1
    part = map_structure(
        lambda t: t[start:stop] if isinstance(t, (torch.Tensor, np.ndarray)) else t, tensors
    )
    if not ctx.is_chief:
        kwargs = {**kwargs, "verbose": 0}
    with local():
        mine = predict_fn(model, part, **kwargs)
    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, mine)
    return _concat(gathered)
