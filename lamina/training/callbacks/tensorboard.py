"""`TensorBoard`: write training curves and weight histograms for TensorBoard.

The layout is Keras's, so dashboards and habits carry over::

    log_dir/train/       epoch_loss, epoch_accuracy, ..., epoch_learning_rate,
                         batch_* (with update_freq), <weight>/histogram
    log_dir/validation/  epoch_loss, epoch_accuracy, ... (the val_* logs),
                         evaluation_<name>_vs_iterations

Run ``tensorboard --logdir logs`` to look at them.
"""

from __future__ import annotations

import numbers
import os
import warnings
from typing import Any

import torch

from lamina.training.callbacks.base import Callback
from lamina.utils import validation

# Keras arguments Lamina does not implement; accepted only with their "off" value.
_UNSUPPORTED = {
    "write_images": (False, "images of the weights are not written"),
    "write_steps_per_second": (False, "the progress display shows the speed"),
    "profile_batch": (0, "use `torch.profiler` to profile batches"),
    "embeddings_freq": (0, "embeddings are not written"),
    "embeddings_metadata": (None, "embeddings are not written"),
}


def _check_update_freq(update_freq: Any) -> Any:
    if update_freq in ("epoch", "batch"):
        return update_freq
    if isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq <= 0:
        raise ValueError(
            "`TensorBoard` expects `update_freq` to be 'epoch', 'batch' or a positive integer "
            f"(write every that many batches). Received: update_freq={update_freq!r}."
        )
    return update_freq


class TensorBoard(Callback):
    """Writes TensorBoard event files: epoch scalars for training and validation,
    the learning rate, optionally per-batch scalars and weight histograms.

    Args:
        log_dir: Folder for the event files (``train/`` and ``validation/``
            inside it). Defaults to `"logs"`.
        histogram_freq: Write a histogram of every weight each that many epochs;
            0 writes none. Defaults to `0`.
        write_graph: Write the model's graph (traced with `torch.jit.trace` on a
            zero input of the model's built input shape; a model that cannot be
            traced gets a warning). Defaults to `False`.
        update_freq: `"epoch"`: write scalars once per epoch. `"batch"` or an
            integer N: also write ``batch_*`` scalars every N batches (the running
            means of the epoch so far; reading them makes the host wait for the
            device at those batches). Defaults to `"epoch"`.

    The Keras arguments ``write_images``, ``write_steps_per_second``,
    ``profile_batch``, ``embeddings_freq`` and ``embeddings_metadata`` are not
    implemented; they are accepted only with their default (off) values.

    Example:
        >>> import lamina
        >>> tb = lamina.callbacks.TensorBoard(log_dir="logs/run1", histogram_freq=1)
        >>> # model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[tb])
    """

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = False,
        update_freq: str | int = "epoch",
        **kwargs: Any,
    ) -> None:
        super().__init__()
        owner = "TensorBoard"
        for name, (off, why) in _UNSUPPORTED.items():
            if name in kwargs:
                value = kwargs.pop(name)
                if value != off:
                    raise ValueError(
                        f"`TensorBoard` does not implement `{name}` ({why}). "
                        f"Received: {name}={value!r}. Remove it or pass {name}={off!r}."
                    )
        validation.no_unknown_kwargs(owner, kwargs)
        if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
            raise ValueError(f"`{owner}` expects `log_dir` to be a folder path. Received: log_dir={log_dir!r}.")
        self.log_dir = log_dir
        self.histogram_freq = validation.non_negative_int(owner, "histogram_freq", histogram_freq)
        self.write_graph = validation.boolean(owner, "write_graph", write_graph)
        self.update_freq = _check_update_freq(update_freq)
        self._batch_every = 0 if self.update_freq == "epoch" else (1 if self.update_freq == "batch" else self.update_freq)
        if not self._batch_every:
            self.skip_batch_hooks = True  # nothing to do per batch: no per-step cost
        self._writers: dict[str, Any] = {}
        self._train_step = 0

    # ------------------------------------------------------------------ writers
    def _writer(self, kind: str) -> Any:
        if kind not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            self._writers[kind] = SummaryWriter(os.path.join(os.fspath(self.log_dir), kind))
        return self._writers[kind]

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        self._train_step = int(getattr(optimizer, "iterations", 0) or 0)
        self._writer("train")
        if self.write_graph:
            self._write_model_graph()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._train_step += 1
        if self._batch_every and self._train_step % self._batch_every == 0 and logs is not None:
            writer = self._writer("train")
            for name, value in dict(logs).items():
                writer.add_scalar(f"batch_{name}", float(value), self._train_step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if "learning_rate" not in logs and optimizer is not None and hasattr(optimizer, "learning_rate"):
            logs["learning_rate"] = float(optimizer.learning_rate)
        train = self._writer("train")
        for name, value in logs.items():
            if not isinstance(value, numbers.Real):
                continue
            if name.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{name[4:]}", float(value), epoch)
            else:
                train.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, weight in self.model.named_parameters():
                train.add_histogram(f"{name}/histogram", weight.detach().float().cpu(), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer = self._writer("validation")
        step = int(getattr(optimizer, "iterations", 0) or 0)
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._close()

    # ------------------------------------------------------------------ graph
    def _write_model_graph(self) -> None:
        shape = getattr(self.model, "_build_input_shape", None)
        if not (isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape)):
            warnings.warn(
                "`TensorBoard(write_graph=True)` traces the model on a zero input of its built "
                f"input shape, and this model has none it can use (input shape: {shape!r}); the "
                "graph is not written. Models with several inputs are not supported.",
                stacklevel=2,
            )
            return
        concrete = [2 if d is None else d for d in shape]
        device = next((p.device for p in self.model.parameters()), torch.device("cpu"))
        x = torch.zeros(concrete, dtype=self.model._input_dtype(), device=device)
        was_training = self.model.training
        self.model.eval()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer chatter
                self._writer("train").add_graph(_Traceable(self.model), x)
        except Exception as e:  # noqa: BLE001 (tracing can fail in many ways; training goes on)
            warnings.warn(
                f"`TensorBoard(write_graph=True)` could not trace the model, so the graph is not "
                f"written: {type(e).__name__}: {e}",
                stacklevel=2,
            )
        finally:
            self.model.train(was_training)


class _Traceable(torch.nn.Module):
    """Wraps the model so that tracing calls it with a plain tensor and no keywords."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> Any:
        return self.model(x, training=False)
