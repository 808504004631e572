"""A clear error when another process of the job died or hung."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch.distributed as dist

from lamina.distributed.context import TIMEOUT_ENV, get_context

F = TypeVar("F", bound=Callable[..., Any])

# Words of gloo's and NCCL's messages when a peer is gone or a collective timed out.
_PEER_FAILURE = (
    "timed out",
    "timeout",
    "connection closed",
    "connection reset",
    "broken pipe",
    "peer",
    "gloo",
    "nccl",
)


class DistributedTrainingError(RuntimeError):
    """A collective operation of `fit` / `evaluate` / `predict` failed: another process
    of the `torchrun` job exited, crashed or hung."""


def _is_collective_failure(error: BaseException) -> bool:
    if isinstance(error, dist.DistError):
        return True
    message = str(error).lower()
    return isinstance(error, RuntimeError) and any(word in message for word in _PEER_FAILURE)


def translate_collective_errors(method: F) -> F:
    """Turns a failed collective inside ``method`` into a `DistributedTrainingError`
    that says what happened and what to do. Outside `torchrun`, errors pass unchanged."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except DistributedTrainingError:
            raise
        except Exception as error:
            if not _is_collective_failure(error):
                raise
            ctx = get_context()
            if ctx is None:
                raise
            timeout = (
                f"{ctx.timeout_s:g} s"
                if ctx.timeout_s is not None
                else "the process group's timeout"
            )
            raise DistributedTrainingError(
                f"`{method.__name__}` on rank {ctx.rank} of {ctx.world_size} stopped: a collective "
                f"operation with the other processes failed or got no answer within {timeout} "
                f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). Another "
                "process probably exited, crashed or hung: look at its output for the first error. "
                f"Every process must call `{method.__name__}` with the same model and data. To wait "
                f"longer for slow steps (e.g. a large checkpoint), set {TIMEOUT_ENV} (seconds)."
            ) from error

    return wrapper  # type: ignore[return-value]
