"""How a model is distributed over the processes of a `torchrun` job (Keras 3's spelling).

`set_distribution(DataParallel())` is the default under `torchrun`: nothing to
write in the script. `FullyShardedDataParallel()` shards the parameters,
gradients and optimizer state over the processes (PyTorch's `fully_shard`).
Outside `torchrun` the distribution is ignored: the script runs as in one process.
"""

from __future__ import annotations

from typing import Any

from lamina.utils import validation


class DataParallel:
    """Every process holds the whole model and trains on its part of each batch.

    The model runs in `torch.nn.parallel.DistributedDataParallel`: gradients
    are averaged over the processes in the backward pass, so every process
    takes the same optimizer step.

    Args:
        split_batch: Whether `batch_size` in `fit` / `evaluate` / `predict` is
            the global batch, split over the processes (Keras's and
            `tf.distribute`'s convention). With `False` each process takes
            `batch_size` samples per step and the global batch is
            `batch_size × world_size` (PyTorch's convention: the script's
            batch size is per device, so the same script scales with the
            number of GPUs). Defaults to `False`.

    Example:
        >>> import lamina
        >>> lamina.distributed.set_distribution(lamina.distributed.DataParallel(split_batch=True))
        >>> lamina.distributed.set_distribution(None)  # back to the default
    """

    name = "data_parallel"

    def __init__(self, split_batch: bool = False) -> None:
        self.split_batch = validation.boolean(type(self).__name__, "split_batch", split_batch)

    def global_batch(self, batch_size: int, world_size: int) -> int:
        """Samples per step over all processes for a `batch_size` given to `fit`."""
        return batch_size if self.split_batch else batch_size * world_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split_batch={self.split_batch})"


class FullyShardedDataParallel(DataParallel):
    """Data parallelism with parameters, gradients and optimizer state sharded (FSDP2).

    Each process keeps 1/`world_size` of every parameter (PyTorch's
    `torch.distributed.fsdp.fully_shard`); the full parameters are gathered
    for each forward and backward pass. Batches are split as with
    `DataParallel`. `model.save` gathers the full weights (on every process,
    which must all call it) and rank 0 writes an ordinary `.lamina` file that
    `lamina.load_model` reads in a single process.

    Args:
        split_batch: As in `DataParallel`. Defaults to `False`.
    """

    name = "fsdp"


_distribution: DataParallel | None = None


def set_distribution(distribution: DataParallel | None) -> None:
    """Chooses how `fit` / `evaluate` / `predict` use the processes of a `torchrun` job.

    Args:
        distribution: A `DataParallel` or `FullyShardedDataParallel`, or None
            for the default (`DataParallel()`).

    Raises:
        TypeError: If `distribution` is something else.
    """
    global _distribution
    if distribution is not None and not isinstance(distribution, DataParallel):
        raise TypeError(
            "`set_distribution` expects `lamina.distributed.DataParallel(...)`, "
            "`lamina.distributed.FullyShardedDataParallel(...)` or None. "
            f"Received: {type(distribution).__name__} ({distribution!r})."
        )
    _distribution = distribution


def get_distribution() -> Any:
    """The distribution set by `set_distribution` (`DataParallel()` when none was set)."""
    return _distribution if _distribution is not None else DataParallel()
