"""`ModelCheckpoint`: save the model (or its weights) during training."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.monitor import check_monitor, is_improvement, resolve_mode
from lamina.utils import validation

# The files `model.save` / `model.save_weights` write (Lamina's, then Keras's).
MODEL_SUFFIXES = (".lamina", ".keras")
WEIGHTS_SUFFIXES = (".weights.safetensors", ".weights.h5")


def _check_save_freq(owner: str, save_freq: Any) -> Any:
    if save_freq == "epoch":
        return save_freq
    if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq <= 0:
        raise ValueError(
            f"`{owner}` expects `save_freq` to be 'epoch' or a positive integer (a number of "
            f"batches). Received: save_freq={save_freq!r}."
        )
    return save_freq


class ModelCheckpoint(Callback):
    """Saves the model or its weights at the end of every epoch (or every
    ``save_freq`` batches), optionally only when ``monitor`` improved.

    ``filepath`` may contain ``str.format`` fields filled from the epoch number
    (1-based, as in Keras), the batch number (1-based, with an integer
    ``save_freq``) and the logs: ``"ckpt-{epoch:02d}-{val_loss:.2f}.lamina"``.
    A full model goes to a ``.lamina`` or Keras ``.keras`` file (`model.save`,
    read back with `lamina.load_model`); with ``save_weights_only=True`` the
    path must end in ``.weights.safetensors`` or Keras's ``.weights.h5``
    (`model.save_weights`, read back with `model.load_weights`).

    Args:
        filepath: Path (or template) of the file to write; its folder is created.
        monitor: The logged quantity compared when ``save_best_only``.
            Defaults to `"val_loss"`.
        verbose: 1 prints a line for every save (or skipped save). Defaults to `0`.
        save_best_only: Save only when ``monitor`` improved on the best value
            so far. Defaults to `False`.
        save_weights_only: Save only the weights. Defaults to `False`.
        mode: `"min"`, `"max"` or `"auto"` (max for names containing acc, auc,
            precision, recall or f1; min otherwise). Defaults to `"auto"`.
        save_freq: `"epoch"`, or an integer: save every that many batches (the
            logs are then the running means of the epoch so far, and reading
            them waits for the device). Defaults to `"epoch"`.
        initial_value_threshold: With ``save_best_only``, the value the first
            save must beat. Defaults to `None`.

    Attributes:
        best: The best monitored value seen so far.
        last_saved: The path of the last file written, or None.

    Example:
        >>> import lamina
        >>> ckpt = lamina.callbacks.ModelCheckpoint(
        ...     "checkpoints/best.lamina", monitor="val_accuracy", save_best_only=True)
        >>> # model.fit(x, y, validation_split=0.2, epochs=20, callbacks=[ckpt])
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        owner = "ModelCheckpoint"
        if not isinstance(filepath, (str, os.PathLike)) or not os.fspath(filepath):
            raise ValueError(f"`{owner}` expects `filepath` to be a file path. Received: filepath={filepath!r}.")
        self.save_weights_only = validation.boolean(owner, "save_weights_only", save_weights_only)
        path = os.fspath(filepath)
        weights_file = path.endswith(WEIGHTS_SUFFIXES)
        if self.save_weights_only and not weights_file:
            raise ValueError(
                "When `save_weights_only=True`, `ModelCheckpoint` expects `filepath` to end in "
                f"{' or '.join(map(repr, WEIGHTS_SUFFIXES))}. Received: filepath={path!r}. Use e.g. "
                "'ckpt.weights.h5'."
            )
        if not self.save_weights_only and (weights_file or not path.endswith(MODEL_SUFFIXES)):
            hint = (
                " To save only the weights, pass `save_weights_only=True`."
                if weights_file
                else " Use e.g. 'ckpt.keras', or `save_weights_only=True` with a "
                "'.weights.h5' path."
            )
            raise ValueError(
                f"`ModelCheckpoint` expects `filepath` to end in {' or '.join(map(repr, MODEL_SUFFIXES))} "
                f"(a whole model). Received: filepath={path!r}.{hint}"
            )
        self.filepath = filepath
        self.monitor = check_monitor(owner, monitor)
        self.verbose = validation.non_negative_int(owner, "verbose", verbose)
        self.save_best_only = validation.boolean(owner, "save_best_only", save_best_only)
        self.mode = mode
        self._mode = resolve_mode(owner, mode, monitor)
        self.save_freq = _check_save_freq(owner, save_freq)
        self.initial_value_threshold = validation.number(
            owner, "initial_value_threshold", initial_value_threshold, allow_none=True
        )
        if self.save_freq == "epoch":
            self.skip_batch_hooks = True
        self.best: float | None = initial_value_threshold
        self.last_saved: str | None = None
        self._epoch = 0
        self._batches_since_save = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        method = "save_weights" if self.save_weights_only else "save"
        if not callable(getattr(self.model, method, None)):
            raise TypeError(
                f"`ModelCheckpoint` calls `model.{method}(path)`, which "
                f"{type(self.model).__name__} does not have. Use a `lamina.Model`."
            )
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, dict(logs or {}))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, dict(logs or {}))

    # ------------------------------------------------------------------ helpers
    def _file_path(self, epoch: int, batch: int | None, logs: Mapping[str, Any]) -> str:
        template = os.fspath(self.filepath)
        fields: dict[str, Any] = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return template.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"`ModelCheckpoint` could not fill the template filepath={template!r}: {e!r}. "
                f"Available fields: {', '.join(sorted(fields))}. Use only those names (validation "
                "keys exist only when `fit` validates)."
            ) from None

    def _save(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> None:
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(
                    f"`ModelCheckpoint` can save the best model only when `{self.monitor}` is "
                    f"in the logs; skipping. Available keys: {', '.join(sorted(logs)) or '(none)'}.",
                    stacklevel=3,
                )
                return
            current = float(current)
            previous = self.best
            if not is_improvement(current, previous, self._mode, 0.0):
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {_fmt(previous, self._mode)}")
                return
            self.best = current
            if self.verbose > 0:
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {_fmt(previous, self._mode)} "
                    f"to {current:.5f}, saving model to {path}"
                )
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path


def _fmt(value: float | None, mode: str) -> str:
    if value is None:
        return "inf" if mode == "min" else "-inf"
    return f"{value:.5f}"
