"""`LearningRateScheduler`: set the learning rate at the start of each epoch."""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable

from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.reduce_lr import require_optimizer
from lamina.utils import validation


def _takes_one_argument(fn: Callable) -> bool:
    """True for ``schedule(epoch)`` (Keras' old form), False for ``schedule(epoch, lr)``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: assume the new form
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_varargs = any(p.kind == p.VAR_POSITIONAL for p in params)
    return len(positional) == 1 and not has_varargs


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate to ``schedule(epoch, lr)`` before each epoch.

    ``epoch`` is 0-based and ``lr`` is the current rate; the function returns the
    new rate (a float >= 0). A function of one argument, ``schedule(epoch)``, is
    accepted too. The epoch logs get a ``learning_rate`` entry.

    For a rate that changes every step, give the optimizer a schedule from
    `lamina.optimizers.schedules` instead.

    Args:
        schedule: ``f(epoch: int, lr: float) -> float``.
        verbose: 1 prints the rate set at each epoch. Defaults to `0`.

    Example:
        >>> import lamina
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> cb = lamina.callbacks.LearningRateScheduler(schedule)
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "`LearningRateScheduler` expects `schedule` to be a function `f(epoch, lr) -> lr`. "
                f"Received: schedule={schedule!r}."
            )
        self.schedule = schedule
        self.verbose = validation.non_negative_int("LearningRateScheduler", "verbose", verbose)
        self.skip_batch_hooks = True
        self._one_arg = _takes_one_argument(schedule)

    def on_train_begin(self, logs: dict | None = None) -> None:
        require_optimizer("LearningRateScheduler", self.model)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        lr = float(optimizer.learning_rate)
        new_lr = self.schedule(epoch) if self._one_arg else self.schedule(epoch, lr)
        if isinstance(new_lr, bool) or not isinstance(new_lr, numbers.Real) or math.isnan(new_lr) or new_lr < 0:
            raise ValueError(
                "`LearningRateScheduler` expects `schedule` to return a float >= 0. "
                f"Received: schedule({epoch}, {lr!r}) returned {new_lr!r}."
            )
        optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new_lr):.6g}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
