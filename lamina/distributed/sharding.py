"""Each process's part of the data.

In-memory arrays (`ShardedArrays`): every process holds all of them; for each
step the global batch is taken from one permutation (drawn on rank 0 and
broadcast, so it is the permutation a single process would draw with the same
seed) and split into `world_size` nearly equal, contiguous parts, one per
process. All processes run the same number of steps. Before each training
batch is handed out, `StepWeight.value` is set to ``n_rank / n_global``: the
gradient all-reduce weights each process's mean-loss gradient by it, so the
summed gradient is the gradient of the mean loss over the global batch, short
last batch included. For evaluation the samples are split into `world_size`
contiguous blocks, one per process, batched locally.

Datasets and data loaders (`shard_loader`): for training, rebuilt with a
`torch.utils.data.DistributedSampler`, so that processes see disjoint samples
(the sampler repeats a few samples to give every process the same number of
steps); for evaluation, a contiguous block of samples per process, none
repeated. A `PyDataset`'s batches are dealt round-robin (`PyDatasetShard`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist

from lamina.distributed.context import DistributedContext
from lamina.training.data_adapter import _take as take_rows
from lamina.training.data_adapter import pack_x_y_sample_weight
from lamina.utils.tree import map_structure


class StepWeight:
    """The weight of this process's gradient in the all-reduce of the current step."""

    def __init__(self, world_size: int) -> None:
        self.default = 1.0 / world_size
        self.value = self.default


def _take(struct: Any, idx: torch.Tensor) -> Any:
    # The rows of every leaf (tensors on the device, text arrays on the host).
    return None if struct is None else map_structure(lambda t: take_rows(t, idx), struct)


class ShardedArrays:
    """This process's batches of an `ArrayAdapter` (the data is on every process).

    Args:
        base: The `ArrayAdapter` with all the samples.
        ctx: The process group.
        global_batch: Samples per step over all processes.
        training: Training batches (shuffled like `base`, weighted, equal step
            counts) or evaluation batches (a contiguous block per process).
        weight: The `StepWeight` to set before each training batch, or None.
    """

    one_shot = False

    def __init__(
        self,
        base: Any,
        ctx: DistributedContext,
        global_batch: int,
        training: bool,
        weight: StepWeight | None,
    ) -> None:
        self.base = base
        self.ctx = ctx
        self.global_batch = global_batch
        self.training = training
        self.weight = weight
        n, world = base.num_samples, ctx.world_size
        if training:
            rest = n % global_batch
            self._usable = n - rest if 0 < rest < world else n
            if self._usable < n and ctx.is_chief:
                warnings.warn(
                    f"The last global batch would hold {rest} sample(s) for {world} processes; they are "
                    f"left out of each epoch (every process needs at least one). Use a batch size that "
                    f"leaves no remainder below {world}.",
                    stacklevel=4,
                )
            self._steps = math.ceil(self._usable / global_batch)
        else:
            blocks = torch.tensor_split(torch.arange(n), world)
            self._block = blocks[ctx.rank]
            self._local_batch = max(1, math.ceil(global_batch / world))
            self._steps = math.ceil(len(self._block) / self._local_batch)

    def __getattr__(self, name: str) -> Any:
        # device, validator, num_samples, batch_size_of, set_validator, ...: the base adapter's.
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    @property
    def steps(self) -> int:
        return self._steps

    def first_batch(self) -> Any:
        """The base adapter's first batch (the same on every process: models build alike)."""
        return self.base.first_batch()

    def _batch(self, idx: torch.Tensor) -> Any:
        b = self.base
        return pack_x_y_sample_weight(_take(b.x, idx), _take(b.y, idx), _take(b.sample_weight, idx))

    def _permutation(self) -> torch.Tensor:
        n, device = self.base.num_samples, self.base.device
        if not self.base.shuffle:
            return torch.arange(n, device=device)
        # Drawn on rank 0 only: the same draw as a single process with the same seed.
        comm_device = self.ctx.device if self.ctx.backend == "nccl" else torch.device("cpu")
        perm = (
            torch.randperm(n, device=device)
            if self.ctx.is_chief
            else torch.empty(n, dtype=torch.long, device=device)
        )
        perm = perm.to(comm_device)
        dist.broadcast(perm, src=0)
        return perm.to(device)

    def __iter__(self) -> Iterator[Any]:
        if not self.training:
            block = self._block.to(self.base.device)
            for start in range(0, len(block), self._local_batch):
                yield self._batch(block[start : start + self._local_batch])
            return
        perm = self._permutation()[: self._usable]
        world, rank, weight = self.ctx.world_size, self.ctx.rank, self.weight
        for start in range(0, self._usable, self.global_batch):
            idx = perm[start : start + self.global_batch]
            part = torch.tensor_split(idx, world)[rank]
            if weight is not None:
                weight.value = len(part) / len(idx)
            yield self._batch(part)
        if weight is not None:
            weight.value = weight.default


class PyDatasetShard:
    """This process's batch indices of a `PyDataset` epoch: the order of rank 0
    (shuffled or not), dealt round-robin; for training (``pad``) the first
    indices are repeated so that every process reads the same number of batches."""

    def __init__(self, ctx: DistributedContext, num_batches: int, pad: bool = True) -> None:
        self.ctx = ctx
        self.num_batches = num_batches
        self.pad = pad
        per = num_batches // ctx.world_size + (ctx.rank < num_batches % ctx.world_size)
        self.steps = math.ceil(num_batches / ctx.world_size) if pad else per

    def __call__(self, order: list[int]) -> list[int]:
        ctx = self.ctx
        comm_device = ctx.device if ctx.backend == "nccl" else torch.device("cpu")
        t = torch.tensor(order, dtype=torch.long, device=comm_device)
        dist.broadcast(t, src=0)
        full = t.tolist()
        if not self.pad:
            return full[ctx.rank :: ctx.world_size]
        padded = (full * ctx.world_size)[: self.steps * ctx.world_size]
        return padded[ctx.rank :: ctx.world_size]


def shard_loader(adapter: Any, ctx: DistributedContext, training: bool) -> tuple[bool, Any]:
    """Rebuilds the `DataLoader` of an `IterableAdapter` so that each process reads its part.

    For training, a `DistributedSampler` (shuffled when the loader was; it repeats
    a few samples so that every process runs the same number of steps). For
    evaluation, a contiguous block of the samples per process, nothing repeated
    (so the summed metrics are exact).

    Returns:
        Whether the data is split, and the `DistributedSampler` to give its epoch
        to (or None). A generator or an iterable dataset is taken as it is (split:
        it must yield each process's own part); a loader with a custom batch sampler too.
    """
    from torch.utils.data import DataLoader, DistributedSampler, IterableDataset, RandomSampler

    loader = adapter.data
    if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
        return True, None
    if isinstance(loader.sampler, DistributedSampler):
        return True, loader.sampler  # the script made it
    if loader.batch_sampler is not None and loader.batch_size is None:
        return True, None  # a custom batch sampler: the script decides what each process reads
    if not training:
        n = len(loader.dataset)
        if n < ctx.world_size:
            return False, None  # every process evaluates all of it
        block = torch.tensor_split(torch.arange(n), ctx.world_size)[ctx.rank].tolist()
        _rebuild(adapter, loader, block)
        return True, None
    shuffled = isinstance(loader.sampler, RandomSampler)
    seed = int(torch.empty((), dtype=torch.int64).random_().item()) % (2**31) if shuffled else 0
    if shuffled:  # rank 0's draw, on every process
        seed_t = torch.tensor(
            [seed], dtype=torch.int64, device=ctx.device if ctx.backend == "nccl" else "cpu"
        )
        dist.broadcast(seed_t, src=0)
        seed = int(seed_t.item())
    sampler = DistributedSampler(
        loader.dataset,
        num_replicas=ctx.world_size,
        rank=ctx.rank,
        shuffle=shuffled,
        seed=seed,
        drop_last=loader.drop_last,
    )
    _rebuild(adapter, loader, sampler)
    return True, sampler


def _rebuild(adapter: Any, loader: Any, sampler: Any) -> None:
    from torch.utils.data import DataLoader

    adapter.data = DataLoader(
        loader.dataset,
        batch_size=loader.batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        persistent_workers=loader.persistent_workers if loader.num_workers > 0 else False,
    )
    adapter._steps = len(adapter.data)
