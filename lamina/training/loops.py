"""The loops behind `fit`, `evaluate` and `predict`, as separate, small pieces.

* `EpochIterator` hands out the batches of one epoch: a full pass over the
  data, or `steps` batches of a stream that restarts (re-shuffled) when it ends;
  a one-shot iterator (a Python generator) is read on across epochs.
* `train_epoch`, `evaluate_epoch` and `predict_batches` run the model's
  `train_step`, `test_step` and `predict_step` over those batches and call the
  batch hooks of the callbacks.

They use only the model's public training API (`train_step`, `test_step`,
`predict_step`, `stop_training`), so each can be tested with any object that
has it. Nothing here waits for the device per step: step logs are read only
when a callback reads them (`BatchLogs`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from lamina.training.callbacks import CallbackList


def flatten_logs(logs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Logs with dict values (Keras's `compile_metrics` result) merged in, one level deep."""
    out: dict[str, Any] = {}
    for key, value in (logs or {}).items():
        if isinstance(value, Mapping):
            out.update(value)
        else:
            out[key] = value
    return out


def to_floats(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """Reads scalar tensors back to Python floats with one wait for the device.

    Values that are not scalars (a custom step may return anything) are kept as they are.
    """
    flat = flatten_logs(logs)
    keys = [k for k, v in flat.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    out: dict[str, Any] = {}
    if keys:
        device = flat[keys[0]].device
        values = torch.stack([flat[k].detach().float().reshape(()).to(device) for k in keys]).tolist()
        out = dict(zip(keys, values))
    for k, v in flat.items():
        if k in out:
            continue
        if isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool):
            out[k] = float(v)
        elif isinstance(v, np.ndarray) and v.size == 1:
            out[k] = float(v.reshape(()))
        else:
            out[k] = v
    return {k: out[k] for k in flat}


class BatchLogs(Mapping):
    """The logs of one step, for batch hooks: read (one device sync) only when used."""

    __slots__ = ("_logs", "_cache")

    def __init__(self, logs: Mapping[str, Any] | None) -> None:
        self._logs = logs
        self._cache: dict[str, Any] | None = None

    def _values(self) -> dict[str, Any]:
        if self._cache is None:
            self._cache = to_floats(self._logs)
        return self._cache

    def __getitem__(self, key: str) -> Any:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return repr(self._values())


class EpochIterator:
    """Batches for each epoch from a data adapter.

    Args:
        adapter: An adapter from `lamina.training.data_adapter.adapt`.
        steps: Batches per epoch. None: one full pass over the data (for a
            one-shot iterator: until it is exhausted). Defaults to `None`.
    """

    def __init__(self, adapter: Any, steps: int | None = None) -> None:
        self.adapter = adapter
        self.steps = steps
        self.exhausted = False
        self._iterator: Iterator[Any] | None = None

    def epoch(self) -> Iterator[Any]:
        """The batches of the next epoch."""
        if self.steps is None:
            if self.adapter.one_shot:
                # A generator: read on where the last epoch stopped.
                if self._iterator is None:
                    self._iterator = iter(self.adapter)
                yield from self._iterator
                self.exhausted = True
                return
            yield from self.adapter
            return
        done = 0
        fresh = False
        while done < self.steps:
            if self._iterator is None:
                self._iterator = iter(self.adapter)
                fresh = True
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if self.adapter.one_shot or fresh:
                    self.exhausted = True
                    warnings.warn(
                        "Your input ran out of data; interrupting training. Make sure that your "
                        "dataset or generator can generate at least `steps_per_epoch * epochs` "
                        "batches.",
                        stacklevel=4,
                    )
                    return
                continue
            fresh = False
            done += 1
            yield batch


def _unpack_hint(error: ValueError, data: Any, step_name: str) -> ValueError | None:
    """A clearer error when a custom step unpacks `data` into the wrong number of parts
    (`x, y = data` when `fit` got only `x`, so `data` is a tensor)."""
    message = str(error)
    if "values to unpack" not in message:
        return None
    if isinstance(data, tuple):
        got = f"a tuple of {len(data)} ({', '.join(('x', 'y', 'sample_weight')[: len(data)])})"
    else:
        got = f"`x` alone (a {type(data).__name__}, as when `fit` gets no `y`)"
    return ValueError(
        f"`{step_name}` could not unpack its `data` argument ({message}). It received {got}. "
        "`data` is what the data yields: `x`, `(x, y)` or `(x, y, sample_weight)`; use "
        "`x, y, sample_weight = lamina.utils.unpack_x_y_sample_weight(data)` to accept all three."
    )


def _run_step(step: Any, data: Any, step_name: str) -> Any:
    try:
        return step(data)
    except ValueError as error:
        hint = _unpack_hint(error, data, step_name)
        if hint is None:
            raise
        raise hint from error


def train_epoch(model: Any, batches: Iterator[Any], cbs: CallbackList) -> tuple[Any, int]:
    """Runs `model.train_step` on each batch. Returns the last step's logs and the
    number of steps run (0 when there was no batch)."""
    model.train()
    hooks = cbs.train_batch_hooks
    train_step = model.train_step
    logs: Any = None
    steps = 0
    for step, data in enumerate(batches):
        if hooks:
            cbs.on_train_batch_begin(step, {})
        try:
            logs = train_step(data)
        except ValueError as error:
            hint = _unpack_hint(error, data, "train_step")
            if hint is None:
                raise
            raise hint from error
        steps = step + 1
        if hooks:
            cbs.on_train_batch_end(step, BatchLogs(logs))
        if model.stop_training:
            break
    return logs, steps


def evaluate_epoch(model: Any, batches: Iterator[Any], cbs: CallbackList) -> tuple[Any, int]:
    """Runs `model.test_step` on each batch, without gradients, in inference mode.
    Returns the last step's logs and the number of steps."""
    was_training = model.training
    model.eval()
    hooks = cbs.test_batch_hooks
    logs: Any = None
    steps = 0
    try:
        with torch.no_grad():
            for step, data in enumerate(batches):
                if hooks:
                    cbs.on_test_batch_begin(step, {})
                logs = _run_step(model.test_step, data, "test_step")
                steps = step + 1
                if hooks:
                    cbs.on_test_batch_end(step, BatchLogs(logs))
    finally:
        model.train(was_training)
    return logs, steps


def predict_batches(model: Any, batches: Iterator[Any], cbs: CallbackList) -> list[Any]:
    """Runs `model.predict_step` on each batch, in inference mode; returns the
    per-batch outputs. (A model already in inference mode is left as it is.)"""
    was_training = model.training
    if was_training:
        model.eval()
    hooks = cbs.predict_batch_hooks
    outputs: list[Any] = []
    try:
        with torch.no_grad():
            for step, data in enumerate(batches):
                if hooks:
                    cbs.on_predict_batch_begin(step, {})
                out = _run_step(model.predict_step, data, "predict_step")
                outputs.append(out)
                if hooks:
                    cbs.on_predict_batch_end(step, {"outputs": out})
    finally:
        if was_training:
            model.train(True)
    return outputs


def concat_to_numpy(outputs: list[Any]) -> Any:
    """Joins per-batch outputs (tensors, or dicts / lists of them) along the batch axis."""
    first = outputs[0]
    if isinstance(first, dict):
        return {k: concat_to_numpy([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return [concat_to_numpy([o[i] for o in outputs]) for i in range(len(first))]
    if isinstance(first, torch.Tensor):
        if first.dtype is torch.bfloat16 or first.dtype is torch.float16:
            # Mixed precision: predictions come back as float32 (NumPy has no bfloat16).
            outputs = [o.float() for o in outputs]
            first = outputs[0]
        if len(outputs) == 1:  # one batch: its own copy, as `torch.cat` would give
            t = first.detach()
            return t.numpy().copy() if t.device.type == "cpu" else t.cpu().numpy()
        return torch.cat(outputs).detach().cpu().numpy()
    return np.concatenate([np.asarray(o) for o in outputs])
