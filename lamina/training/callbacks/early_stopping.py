"""`EarlyStopping`: stop `fit` when a monitored quantity stops improving."""

from __future__ import annotations

import torch

from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.monitor import (
    check_monitor,
    is_improvement,
    monitored_value,
    resolve_mode,
)
from lamina.utils import validation


def snapshot_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's state (weights and buffers), kept on its device."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: The logged quantity to watch. Defaults to `"val_loss"`.
        min_delta: The smallest change that counts as an improvement (its
            absolute value is used). Defaults to `0`.
        patience: Epochs without improvement after which training stops.
            Defaults to `0`.
        verbose: 1 prints a line when training stops and when weights are
            restored. Defaults to `0`.
        mode: `"min"`, `"max"` or `"auto"` (max for names containing acc, auc,
            precision, recall or f1; min otherwise). Defaults to `"auto"`.
        baseline: A value the quantity must beat; training stops after
            ``patience`` epochs that do not beat it. Defaults to `None`.
        restore_best_weights: At the end of training, put back the weights of
            the best epoch (when one was seen). Defaults to `False`.
        start_from_epoch: Epochs to wait before watching (a warm-up).
            Defaults to `0`.

    Attributes set during `fit`: ``best``, ``best_epoch`` (0-based),
    ``stopped_epoch`` (0-based; 0 when training was not stopped), ``wait``.

    Example:
        >>> import lamina
        >>> stop = lamina.callbacks.EarlyStopping(monitor="val_loss", patience=3)
        >>> # model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        owner = "EarlyStopping"
        self.monitor = check_monitor(owner, monitor)
        self.min_delta = validation.number(owner, "min_delta", min_delta)
        self.patience = validation.non_negative_int(owner, "patience", patience)
        self.verbose = validation.non_negative_int(owner, "verbose", verbose)
        self.mode = mode
        self._mode = resolve_mode(owner, mode, monitor)
        self.baseline = validation.number(owner, "baseline", baseline, allow_none=True)
        self.restore_best_weights = validation.boolean(owner, "restore_best_weights", restore_best_weights)
        self.start_from_epoch = validation.non_negative_int(owner, "start_from_epoch", start_from_epoch)
        self.skip_batch_hooks = True
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._reset()  # the same instance can be reused for another fit

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = monitored_value("EarlyStopping", logs, self.monitor, "is conditioned")
        if current is None or epoch < self.start_from_epoch:
            return
        delta = abs(self.min_delta)
        if self.restore_best_weights and self.best_weights is None:
            # Keep the first watched epoch's weights even if it never improves on the baseline.
            self.best_weights = snapshot_weights(self.model)
            self.best_epoch = epoch
        self.wait += 1
        if is_improvement(current, self.best, self._mode, delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = snapshot_weights(self.model)
            # Restart the count only when the baseline is beaten too.
            if self.baseline is None or is_improvement(current, self.baseline, self._mode, delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)
