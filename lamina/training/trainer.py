"""The loops behind `fit`, `evaluate` and `predict`, as separate, small steps.

`Trainer.fit` runs epochs; each epoch runs `model.train_step` per batch and
then `evaluate` on the validation data. Nothing here waits for the device per
step: step values are collected lazily (`logs.StepAverager`) and metrics keep
their state on the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import runtime
from lamina.training import data_adapter
from lamina.training.callbacks import CallbackList, History, ProgbarLogger
from lamina.training.logs import LazyLogs, StepAverager, to_floats
from lamina.utils import validation


def _verbose(verbose: Any, role: str) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"`{role}` expects `verbose` to be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}.")
    return int(verbose)


def _callbacks(model: Any, callbacks: Any, verbose: int, params: dict[str, Any], history: History | None) -> CallbackList:
    cbs = list(callbacks or [])
    if history is not None:
        # After the user's callbacks, as in Keras, so that keys they add to the epoch
        # logs (ReduceLROnPlateau's `learning_rate`) are recorded.
        cbs.append(history)
    if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
        cbs.append(ProgbarLogger(verbose))
    return CallbackList(cbs, model, params)


class Trainer:
    """Runs the loops for one model."""

    def __init__(self, model: Any) -> None:
        self.model = model

    # ------------------------------------------------------------------ preparation
    def _prepare(self, adapter: Any, *, training: bool) -> None:
        """Builds the model on a first batch, moves it to the device, builds the
        loss, metrics and optimizer, and runs the one-off data checks."""
        model = self.model
        device = adapter.device
        batch = adapter.first_batch()
        model._ensure_built(batch[0], device)
        model.to(device)
        model._build_compiled(batch, adapter)
        # A model whose train_step uses its own optimizers (a GAN) may compile with optimizer=None.
        if training and model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(list(model.parameters()))

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Any = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        validation_batch_size: int | None = None,
    ) -> History:
        model = self.model
        model._assert_compiled("fit")
        validation.positive_int("fit", "epochs", epochs)
        validation.non_negative_int("fit", "initial_epoch", initial_epoch)
        validation.number("fit", "validation_split", validation_split, low=0.0, high=1.0, high_inclusive=False)
        verbose = _verbose(verbose, "fit")
        device = runtime.get_device()

        train = data_adapter.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, device=device, role="fit")
        val = None
        if validation_split and validation_data is None:
            if not isinstance(train, data_adapter.ArrayAdapter):
                raise ValueError(
                    "`validation_split` is only supported for in-memory arrays. For a dataset or "
                    "iterable, pass `validation_data` instead."
                )
            val = train.split(validation_split)
        if class_weight is not None:
            if not isinstance(train, data_adapter.ArrayAdapter):
                raise ValueError("`class_weight` is only supported for in-memory arrays; yield sample weights instead.")
            train.apply_class_weight(class_weight)
        if validation_data is not None:
            val = self._adapt_validation(validation_data, validation_batch_size or batch_size, device)

        self._prepare(train, training=True)
        model._check_targets(train)
        if val is not None:
            model._check_targets(val)

        history = History()
        params = {"epochs": epochs, "steps": train.steps, "verbose": verbose, "phase": "fit"}
        cbs = _callbacks(model, callbacks, verbose, params, history)
        model.stop_training = False
        cbs.on_train_begin()
        # A callback (BackupAndRestore) may resume the run at a later epoch.
        override = getattr(model, "_initial_epoch_override", None)
        if override is not None:
            model._initial_epoch_override = None
            initial_epoch = override
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            model._clear_metrics()
            cbs.on_epoch_begin(epoch)
            logs = self._train_epoch(train, cbs)
            if val is not None:
                val_logs = self._evaluate_adapter(val, cbs, phase="validation")
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        cbs.on_train_end(logs)
        return history

    def _adapt_validation(self, validation_data: Any, batch_size: int | None, device: torch.device) -> Any:
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and data_adapter.is_array_data(validation_data[0]):
            vx, vy = validation_data[0], validation_data[1]
            vw = validation_data[2] if len(validation_data) == 3 else None
            return data_adapter.adapt(vx, vy, vw, batch_size=batch_size, shuffle=False, device=device, role="fit(validation_data)")
        if isinstance(validation_data, tuple):
            raise ValueError(
                "`validation_data` must be a tuple `(x_val, y_val)` or `(x_val, y_val, sample_weight)` "
                f"of arrays, or a dataset/iterable of batches. Received a tuple of {len(validation_data)}."
            )
        return data_adapter.adapt(validation_data, batch_size=batch_size, shuffle=False, device=device, role="fit(validation_data)")

    def _train_epoch(self, adapter: Any, cbs: CallbackList) -> dict[str, float]:
        model = self.model
        model.train()
        averager = StepAverager()
        hooks = cbs.train_batch_hooks
        lazy = LazyLogs(averager, model._compiled_metrics) if hooks else None
        train_step = model.train_step
        step = -1
        for step, batch in enumerate(adapter):
            if hooks:
                cbs.on_train_batch_begin(step, lazy)
            averager.add(train_step(batch), adapter.batch_size_of(batch))
            if hooks:
                lazy = LazyLogs(averager, model._compiled_metrics)  # fresh: caches this step's values
                cbs.on_train_batch_end(step, lazy)
                if model.stop_training:
                    break
        if step < 0:
            raise ValueError("The training data yielded no batches. Check that it is not empty.")
        values = averager.means()
        values.update(model._metric_results())
        return to_floats(values)

    # ------------------------------------------------------------------ evaluate
    def _evaluate_adapter(self, adapter: Any, cbs: CallbackList, phase: str) -> dict[str, float]:
        model = self.model
        was_training = model.training
        model.eval()
        model._clear_metrics()
        averager = StepAverager()
        hooks = cbs.test_batch_hooks
        lazy = LazyLogs(averager, model._compiled_metrics) if hooks else None
        cbs.on_test_begin()
        with torch.no_grad():
            for step, batch in enumerate(adapter):
                if hooks:
                    cbs.on_test_batch_begin(step, lazy)
                averager.add(model.test_step(batch), adapter.batch_size_of(batch))
                if hooks:
                    lazy = LazyLogs(averager, model._compiled_metrics)
                    cbs.on_test_batch_end(step, lazy)
        values = averager.means()
        values.update(model._metric_results())
        logs = to_floats(values)
        cbs.on_test_end(logs)
        model.train(was_training)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        callbacks: Any = None,
        return_dict: bool = False,
    ) -> Any:
        model = self.model
        model._assert_compiled("evaluate")
        verbose = _verbose(verbose, "evaluate")
        adapter = data_adapter.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=False,
                                     device=runtime.get_device(), role="evaluate")
        self._prepare(adapter, training=False)
        model._check_targets(adapter)
        params = {"steps": adapter.steps, "verbose": verbose, "phase": "evaluate"}
        cbs = _callbacks(model, callbacks, verbose, params, None)
        logs = self._evaluate_adapter(adapter, cbs, phase="evaluate")
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ predict
    def predict(
        self, x: Any, batch_size: int | None = None, verbose: Any = "auto", callbacks: Any = None
    ) -> Any:
        model = self.model
        verbose = _verbose(verbose, "predict")
        device = runtime.get_device()
        adapter = data_adapter.adapt(x, None, None, batch_size=batch_size, shuffle=False, device=device, role="predict")
        batch = adapter.first_batch()
        model._ensure_built(batch[0], device)
        model.to(device)
        params = {"steps": adapter.steps, "verbose": verbose, "phase": "predict"}
        cbs = _callbacks(model, callbacks, verbose if verbose == 1 else 0, params, None)
        was_training = model.training
        model.eval()
        outputs: list[Any] = []
        cbs.on_predict_begin()
        hooks = cbs.predict_batch_hooks
        with torch.no_grad():
            for step, batch in enumerate(adapter):
                if hooks:
                    cbs.on_predict_batch_begin(step)
                outputs.append(model.predict_step(batch))
                if hooks:
                    cbs.on_predict_batch_end(step)
        cbs.on_predict_end()
        model.train(was_training)
        if not outputs:
            raise ValueError("`predict` received data that yielded no batches.")
        return _concat_to_numpy(outputs)


def _concat_to_numpy(outputs: list[Any]) -> Any:
    first = outputs[0]
    if isinstance(first, dict):
        return {k: _concat_to_numpy([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return [_concat_to_numpy([o[i] for o in outputs]) for i in range(len(first))]
    if isinstance(first, torch.Tensor):
        return torch.cat(outputs).detach().cpu().numpy()
    return np.concatenate([np.asarray(o) for o in outputs])
