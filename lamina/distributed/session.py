"""One `fit` / `evaluate` under `torchrun`: the data sharded, the model wrapped,
the callbacks of rank 0 only, the metrics reduced.

`Trainer.fit` asks `session(model)` once; outside `torchrun` it is None and
nothing else here runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist

from lamina.distributed import fsdp, reduction, sharding
from lamina.distributed.context import DistributedContext, get_context
from lamina.distributed.strategy import FullyShardedDataParallel, get_distribution
from lamina.training.callbacks import Callback, ProgbarLogger


def _writer_classes() -> tuple[type, ...]:
    from lamina.training.callbacks.csv_logger import CSVLogger
    from lamina.training.callbacks.model_checkpoint import ModelCheckpoint
    from lamina.training.callbacks.tensorboard import TensorBoard

    return (ProgbarLogger, CSVLogger, TensorBoard, ModelCheckpoint)


class _SharedBackup(Callback):
    """A `BackupAndRestore` under `torchrun`: every process restores the same backup
    (after a barrier, so none reads a file rank 0 is still writing); only rank 0 writes."""

    def __init__(self, inner: Callback, chief: bool) -> None:
        super().__init__()
        self.inner = inner
        self.chief = chief
        self.skip_batch_hooks = not chief or getattr(inner, "skip_batch_hooks", False)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs: dict | None = None) -> None:
        dist.barrier()
        self.inner.on_train_begin(logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.inner.on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.chief:
            self.inner.on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.chief:
            self.inner.on_epoch_end(epoch, logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.chief:
            self.inner.on_train_end(logs)


class _EpochSync(Callback):
    """Sets the epoch of distributed samplers (a new shuffle each epoch)."""

    skip_batch_hooks = True

    def __init__(self, samplers: list[Any]) -> None:
        super().__init__()
        self.samplers = samplers

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        for s in self.samplers:
            s.set_epoch(epoch)


def _weighted_allreduce(state, bucket):  # noqa: ANN001, ANN202 (DDP checks the annotations)
    """DDP communication hook: the sum over processes of each gradient times its
    process's share of the global batch (`StepWeight.value`), instead of the mean."""
    buffer = bucket.buffer()
    buffer.mul_(state.value)
    future = dist.all_reduce(buffer, async_op=True).get_future()
    return future.then(lambda f: f.value()[0])


class Session:
    """The distributed parts of one `fit` or `evaluate` call.

    Args:
        model: The model.
        ctx: The process group.
    """

    def __init__(self, model: Any, ctx: DistributedContext) -> None:
        self.model = model
        self.ctx = ctx
        self.distribution = get_distribution()
        self.weight = sharding.StepWeight(ctx.world_size)
        self.samplers: list[Any] = []
        self._original_call: Any = None
        self._reduced: set[int] = set()  # ids of the evaluation adapters split over the processes
        self.fsdp = isinstance(self.distribution, FullyShardedDataParallel) or fsdp.is_sharded(
            model
        )

    # ------------------------------------------------------------------ data
    def shard(self, adapter: Any, *, training: bool, batch_size: int) -> Any:
        """This process's part of ``adapter`` (see `lamina.distributed.sharding`)."""
        from lamina.training.data_adapter import ArrayAdapter, IterableAdapter
        from lamina.training.py_dataset_adapter import PyDatasetAdapter

        if adapter is None:
            return None
        if not training and self.fsdp:
            # A sharded model's forward pass is collective: every process evaluates all of it.
            return adapter
        world = self.ctx.world_size
        if isinstance(adapter, ArrayAdapter):
            if not training and adapter.num_samples < world:
                return adapter  # fewer samples than processes: each evaluates all (nothing reduced)
            global_batch = self.distribution.global_batch(batch_size, world)
            sharded = sharding.ShardedArrays(
                adapter, self.ctx, global_batch, training, self.weight if training else None
            )
            self._reduced.add(id(sharded))
            return sharded
        if isinstance(adapter, IterableAdapter):
            split, sampler = sharding.shard_loader(adapter, self.ctx, training)
            if sampler is not None:
                self.samplers.append(sampler)
            if split:
                self._reduced.add(id(adapter))
            return adapter
        if isinstance(adapter, PyDatasetAdapter):
            if adapter.steps is None or (not training and adapter.steps < world):
                return adapter  # every process reads all of it
            adapter.shard = sharding.PyDatasetShard(self.ctx, adapter.steps, pad=training)
            adapter._steps = adapter.shard.steps
        self._reduced.add(id(adapter))  # (any other iterable is taken as this process's part)
        return adapter

    def reduces(self, adapter: Any) -> bool:
        """Whether the metrics of ``adapter``'s batches are summed over processes
        (False when every process saw all of it)."""
        return id(adapter) in self._reduced

    # ------------------------------------------------------------------ callbacks
    def callbacks(self, callbacks: Any, verbose: int, *, training: bool) -> tuple[list[Any], int]:
        """Rank 0 keeps every callback; the others drop the ones that write
        (progress, CSV, TensorBoard, checkpoints) and only restore backups."""
        from lamina.training.callbacks.backup_and_restore import BackupAndRestore

        cbs = list(callbacks or [])
        if self.fsdp and any(isinstance(c, BackupAndRestore) for c in cbs):
            raise ValueError(
                "`BackupAndRestore` is not supported with `FullyShardedDataParallel` (its backup holds "
                "full weights). Received: a BackupAndRestore callback in an FSDP `fit`. Use "
                "`ModelCheckpoint` (it saves the gathered model), or `DataParallel()`."
            )
        chief = self.ctx.is_chief
        cbs = [_SharedBackup(c, chief) if isinstance(c, BackupAndRestore) else c for c in cbs]
        if not chief:
            writers = _writer_classes()
            if self.fsdp:  # saving gathers the weights, a collective: every process saves
                writers = tuple(w for w in writers if w.__name__ != "ModelCheckpoint")
            cbs = [c for c in cbs if not isinstance(c, writers)]
            verbose = 0
        if training and self.samplers:
            cbs.insert(0, _EpochSync(self.samplers))
        return cbs, verbose

    # ------------------------------------------------------------------ model
    def wrap(self) -> None:
        """Runs the model's forward pass through DDP (or shards it with FSDP) for this `fit`."""
        model = self.model
        if self.fsdp:
            fsdp.shard_model(model, self.ctx)
            self._install(fsdp.ScaledForward(model, self.weight, self.ctx.world_size))
            return
        from torch.nn.parallel import DistributedDataParallel

        if not any(p.requires_grad for p in model.parameters()):
            return  # nothing to train: no gradient to all-reduce
        device_ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
        # No buffer sync in the forward pass (buffers are synced once, here), so that
        # evaluation (unequal batch counts per process) never waits for the others.
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters:
            no_sync: dict[str, Any] = {"forward_sync_buffers": False}
        else:
            no_sync = {"broadcast_buffers": False}
        ddp = DistributedDataParallel(model, device_ids=device_ids, **no_sync)
        ddp.register_comm_hook(self.weight, _weighted_allreduce)
        self._install(torch.compile(ddp) if getattr(model, "_jit_compile", False) else ddp)

    def _install(self, call: Any) -> None:
        # The model's own forward, even when a `fit` that raised left its wrapper in place.
        current = self.model._call_fn
        self._original_call = getattr(current, "_lamina_original_call", current)
        object.__setattr__(call, "_lamina_original_call", self._original_call)
        object.__setattr__(self.model, "_call_fn", call)

    def unwrap(self) -> None:
        """Restores the model's own forward pass."""
        if self._original_call is not None:
            object.__setattr__(self.model, "_call_fn", self._original_call)
            self._original_call = None

    # ------------------------------------------------------------------ logs
    def epoch_logs(self, step_logs: Any, reduce: bool = True) -> dict[str, Any]:
        """The logs of an epoch, the same on every process: the metrics' states
        summed over the processes, then read; other numbers averaged."""
        model = self.model
        if reduce:
            reduction.reduce_metrics(model, self.ctx)
        logs = model._epoch_logs(step_logs)
        if not reduce:
            return logs
        # `_epoch_logs` reads the (reduced) metrics when the step returned their results;
        # otherwise the values are the step's own, from this process: averaged.
        from lamina.training.loops import flatten_logs
        from lamina.training.trainer import MetricsResult

        names = set(model.metrics_names)
        from_metrics = isinstance(step_logs, MetricsResult) or (
            isinstance(step_logs, Mapping) and bool(names) and set(flatten_logs(step_logs)) == names
        )
        return reduction.agree_on_logs(logs, set(logs) if from_metrics else set(), self.ctx)

    def any_process(self, flag: bool) -> bool:
        """Whether ``flag`` (e.g. `stop_training`) is True on at least one process."""
        return reduction.any_process(flag, self.ctx)


def session(model: Any) -> Session | None:
    """A `Session` under `torchrun`, else None (one cheap check)."""
    ctx = get_context()
    return None if ctx is None else Session(model, ctx)
