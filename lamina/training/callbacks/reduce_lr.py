"""`ReduceLROnPlateau`: lower the learning rate when a quantity stops improving."""

from __future__ import annotations

from typing import Any

from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.monitor import (
    check_monitor,
    is_improvement,
    monitored_value,
    resolve_mode,
)
from lamina.utils import validation


def require_optimizer(owner: str, model: Any) -> Any:
    """Returns ``model.optimizer`` or raises the error for a model without one."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"`{owner}` changes the learning rate of `model.optimizer`, but the model has no "
            f"optimizer. Received: model.optimizer={optimizer!r}. Compile the model with an "
            "optimizer, e.g. `model.compile(optimizer='adam', ...)`."
        )
    return optimizer


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved
    for ``patience`` epochs.

    The epoch logs get a ``learning_rate`` entry (the rate used in that epoch),
    so it appears in `History`, `CSVLogger` and the progress display.

    Args:
        monitor: The logged quantity to watch. Defaults to `"val_loss"`.
        factor: New rate = rate * factor, with 0 <= factor < 1. Defaults to `0.1`.
        patience: Epochs without improvement before the rate is lowered.
            Defaults to `10`.
        verbose: 1 prints a line when the rate changes. Defaults to `0`.
        mode: `"min"`, `"max"` or `"auto"` (max for names containing acc, auc,
            precision, recall or f1; min otherwise). Defaults to `"auto"`.
        min_delta: Change below which the quantity counts as not improved.
            Defaults to `1e-4`.
        cooldown: Epochs to wait after a reduction before counting again.
            Defaults to `0`.
        min_lr: The rate is never lowered below this. Defaults to `0.0`.

    Example:
        >>> import lamina
        >>> reduce = lamina.callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=1e-5)
        >>> # model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[reduce])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        owner = "ReduceLROnPlateau"
        self.monitor = check_monitor(owner, monitor)
        self.factor = validation.number(owner, "factor", factor, low=0.0, high=1.0, high_inclusive=False)
        self.patience = validation.non_negative_int(owner, "patience", patience)
        self.verbose = validation.non_negative_int(owner, "verbose", verbose)
        self.mode = mode
        self._mode = resolve_mode(owner, mode, monitor)
        self.min_delta = validation.number(owner, "min_delta", min_delta, low=0.0)
        self.cooldown = validation.non_negative_int(owner, "cooldown", cooldown)
        self.min_lr = validation.number(owner, "min_lr", min_lr, low=0.0)
        self.skip_batch_hooks = True
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        require_optimizer("ReduceLROnPlateau", self.model)
        self._reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        lr = float(optimizer.learning_rate)
        if logs is not None:
            logs["learning_rate"] = lr
        current = monitored_value("ReduceLROnPlateau", logs, self.monitor, "conditions the learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if is_improvement(current, self.best, self._mode, self.min_delta):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait >= self.patience and lr > self.min_lr:
            new_lr = max(lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr:.6g}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
