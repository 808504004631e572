"""Whether this process is one of several (`torchrun`), and the process group.

`get_context()` is the one check `fit` / `evaluate` / `predict` make: it returns
None at once in a plain process (no ``WORLD_SIZE`` in the environment and no
initialised `torch.distributed` group), so nothing changes outside `torchrun`.
Under `torchrun` (or any launcher that sets ``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT``) it initialises the process group itself
when the script has not: NCCL with the GPU ``LOCAL_RANK`` when CUDA is
available, else gloo, with a timeout on collectives of ``LAMINA_DIST_TIMEOUT``
seconds (default 300) so that a process whose peer died fails with an error
instead of waiting forever. A group the script initialised itself is used as it is.
"""

from __future__ import annotations

import atexit
import datetime
import os
import time
from dataclasses import dataclass

import torch
import torch.distributed as dist

from lamina import runtime

TIMEOUT_ENV = "LAMINA_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0
_REQUIRED_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistributedContext:
    """The process group as Lamina uses it.

    Attributes:
        rank: This process's index, 0 to `world_size - 1` (rank 0 writes files).
        world_size: Number of processes.
        local_rank: Index of this process on its machine (its GPU).
        backend: `"gloo"` or `"nccl"` (or the backend of a group the script made).
        device: The device this process trains on.
        timeout_s: Timeout of collectives in seconds, None when the script
            initialised the group itself (its own timeout applies).
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device
    timeout_s: float | None

    @property
    def is_chief(self) -> bool:
        """Whether this is rank 0, the process that writes logs and files."""
        return self.rank == 0


_context: DistributedContext | None = None
_local_depth = 0  # > 0 inside `local()` (a distributed call running its per-process part)


def timeout_seconds() -> float:
    """The timeout of collectives: ``LAMINA_DIST_TIMEOUT`` seconds, default 300.

    Raises:
        ValueError: If the variable is set to something other than a positive number.
    """
    raw = os.environ.get(TIMEOUT_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value:
        raise ValueError(
            f"`{TIMEOUT_ENV}` must be a positive number of seconds. Received: {TIMEOUT_ENV}={raw!r}. "
            f"Set e.g. {TIMEOUT_ENV}=600, or unset it for the default ({DEFAULT_TIMEOUT_S:g} s)."
        )
    return value


def _env_world_size() -> int:
    raw = os.environ.get("WORLD_SIZE")
    try:
        return int(raw) if raw is not None else 1
    except ValueError:
        raise ValueError(
            f"`WORLD_SIZE` must be an integer. Received: WORLD_SIZE={raw!r}."
        ) from None


def _init_from_env() -> DistributedContext:
    missing = [k for k in _REQUIRED_ENV if k not in os.environ]
    if missing:
        raise RuntimeError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} says this process is one of several, but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set. Launch the "
            "script with `torchrun --nproc_per_node=N script.py`, or unset WORLD_SIZE."
        )
    timeout = timeout_seconds()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and runtime.get_device().type == "cuda"
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
        runtime.set_device(device)
        dist.init_process_group(
            "nccl", timeout=datetime.timedelta(seconds=timeout), device_id=device
        )
    else:
        device = runtime.get_device()
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout))
    atexit.register(_destroy)  # the group Lamina made, closed before the interpreter's threads go
    return DistributedContext(
        dist.get_rank(), dist.get_world_size(), local_rank, dist.get_backend(), device, timeout
    )


# How long `_destroy` hands the GIL to Gloo's worker threads at exit (seconds).
_EXIT_GRACE_S = 0.25


def _destroy() -> None:
    global _context
    if dist.is_initialized():
        dist.destroy_process_group()
        # A Gloo worker thread frees a finished all-reduce after the caller has moved on;
        # when the tensors it frees are held by Python (metric states) it takes the GIL.
        # If the interpreter is finalizing by then, that thread aborts the whole process
        # ("terminate called without an active exception", SIGABRT after a good run; seen
        # under load with torch 2.13, pytorch/pytorch#190489). The group object lives on
        # while the DDP wrapper holds it, so destroying it does not join those threads:
        # sleeping releases the GIL while the interpreter is still whole.
        time.sleep(_EXIT_GRACE_S)
    _context = None


def _from_group() -> DistributedContext:
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = str(dist.get_backend())
    if backend == "nccl":
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = runtime.get_device()
    return DistributedContext(
        dist.get_rank(), dist.get_world_size(), local_rank, backend, device, None
    )


def get_context() -> DistributedContext | None:
    """The process group `fit` / `evaluate` / `predict` share, or None in a single process.

    Returns None (one dictionary look-up) when no ``WORLD_SIZE`` is set and no
    `torch.distributed` group is initialised, when the world has one process,
    and inside `local()`. Otherwise initialises the group on first use (see the
    module docstring) and returns it.

    Returns:
        A `DistributedContext`, or None.
    """
    global _context
    if _local_depth:
        return None
    if _context is not None and dist.is_initialized():
        return _context
    initialised = dist.is_available() and dist.is_initialized()
    if not initialised and "WORLD_SIZE" not in os.environ:
        return None
    if initialised:
        _context = _from_group()
    elif _env_world_size() <= 1 or not dist.is_available():
        return None
    else:
        _context = _init_from_env()
    return _context if _context.world_size > 1 else None


class local:  # noqa: N801 (used as a context manager, like torch.no_grad)
    """Within it, `fit` / `evaluate` / `predict` run on this process alone.

    For work one process does by itself under `torchrun` (e.g. rank 0
    evaluating on a test set the others do not have): without it, each call
    waits for the other processes, which never come.

    Example:
        >>> import lamina
        >>> with lamina.distributed.local():
        ...     pass  # model.evaluate(x_test, y_test) here involves no other process
    """

    def __enter__(self) -> local:
        global _local_depth
        _local_depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _local_depth
        _local_depth -= 1


def is_chief() -> bool:
    """Whether this process writes files: True in a single process and on rank 0."""
    if _local_depth:
        return True
    if "WORLD_SIZE" not in os.environ and not (dist.is_available() and dist.is_initialized()):
        return True
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0
