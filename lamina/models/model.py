"""`Model`: a layer with the training API (compile / fit / evaluate / predict).

Three ways to make one:

* `lamina.Sequential([...])`, a plain stack of layers;
* `lamina.Model(inputs, outputs)`, the functional graph;
* `class MyModel(lamina.Model)`, assigning layers in `__init__` and writing
  `call(self, inputs, training=None)`.

`train_step(batch)`, `test_step(batch)` and `predict_step(batch)` are the
override points for custom training (a GAN overrides `train_step`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina import losses as losses_mod
from lamina import optimizers as optimizers_mod
from lamina.layers import layer as layer_mod
from lamina.layers.layer import Layer, shape_of
from lamina.training.compile_utils import CompiledLoss, CompiledMetrics
from lamina.training.trainer import Trainer
from lamina.utils import validation
from lamina.utils.tree import first_leaf, map_structure


class Model(Layer):
    """A model: layers plus `compile`, `fit`, `evaluate`, `predict`, `summary`, `save`.

    Subclass it to write a model as Python code::

        class MLP(lamina.Model):
            def __init__(self):
                super().__init__()
                self.hidden = lamina.layers.Dense(64, activation="relu")
                self.out = lamina.layers.Dense(10)

            def call(self, inputs, training=None):
                return self.out(self.hidden(inputs))

    or call it as `lamina.Model(inputs, outputs)` to make a functional model.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from lamina.models.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError(
                f"`{type(self).__name__}` got positional arguments {args!r}. A subclassed model "
                "passes only keyword arguments (such as `name=`) to `super().__init__()`."
            )
        super().__init__(**kwargs)
        self.optimizer: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: Any = None
        self._compiled_loss: CompiledLoss | None = None
        self._compiled_metrics: CompiledMetrics | None = None
        self._compile_config: dict[str, Any] | None = None
        self._call_fn: Any = None
        self._weight_penalties: list[tuple[Any, str, Any]] | None = None

    # ------------------------------------------------------------------ building
    def _build_for(self, inputs: Any) -> None:
        # Sub-layers build themselves during this first call.
        self._build_input_shape = shape_of(inputs)
        self.built = True

    def build(self, input_shape: Any) -> None:
        """Builds the model's weights for inputs of ``input_shape`` (batch axis None or
        an int) by running it once on a small batch of zeros."""
        from lamina.layers.symbolic import _dummy, _map

        def is_shape(s: Any) -> bool:
            return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)

        def dummy(s: Any) -> Any:
            if is_shape(s):
                return _dummy(tuple(s), self._input_dtype(), 3)
            return _map(dummy, s) if not isinstance(s, (list, tuple)) else [dummy(v) for v in s]

        x = dummy(input_shape)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                self(x)
        finally:
            self.train(was_training)
        self._build_input_shape = input_shape if not is_shape(input_shape) else (None, *tuple(input_shape)[1:])
        self.built = True

    def _input_dtype(self) -> torch.dtype:
        return torch.float32

    def _ensure_built(self, x: Any, device: torch.device) -> None:
        """Builds the model on a real batch if needed, then moves it to ``device``."""
        if not self.built or not any(True for _ in self.parameters()):
            if type(self).call is not Model.call:
                self.to(device)
                was_training = self.training
                self.eval()
                try:
                    with torch.no_grad():
                        self(x)
                finally:
                    self.train(was_training)
            self.built = True
        self.to(device)

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        loss_weights: Any = None,
        jit_compile: bool = False,
        **kwargs: Any,
    ) -> None:
        """Configures the model for training.

        Args:
            optimizer: Name (`"adam"`, `"sgd"`, `"rmsprop"`, ...) or optimizer instance.
                Defaults to `"rmsprop"`, as in Keras.
            loss: Loss name, instance or function; for several outputs a list (in
                output order) or a dict by output name.
            metrics: List of metric names or instances (`"accuracy"` is resolved from
                the loss and output shape); for several outputs a dict by output name
                or a list of lists.
            loss_weights: Optional weights of the per-output losses (list or dict).
            jit_compile: Whether to run the forward pass through `torch.compile`.
                Defaults to `False`.
        """
        validation.no_unknown_kwargs("compile", kwargs)
        validation.boolean("compile", "jit_compile", jit_compile)
        self.optimizer = optimizers_mod.get(optimizer) if optimizer is not None else None
        self._compiled_loss = CompiledLoss(loss, loss_weights) if loss is not None else None
        self._compiled_metrics = CompiledMetrics(metrics)
        self.loss = loss
        self._jit_compile = jit_compile
        self._call_fn = None
        self._compile_config = {
            "loss": self._compiled_loss.get_config() if self._compiled_loss else None,
            "metrics": metrics,
            "loss_weights": loss_weights,
            "jit_compile": jit_compile,
        }
        self.compiled = True

    def _assert_compiled(self, role: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call `compile()` before `{role}()`. For example: "
                "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                "metrics=['accuracy'])."
            )

    @property
    def output_names(self) -> list[str] | None:
        return None

    # ------------------------------------------------------------------ inspection
    def summary(
        self,
        line_length: int | None = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool = False,
    ) -> None:
        """Prints a table of the layers (name and type, output shape, parameters) and
        the parameter totals. See `lamina.models.summary.print_summary`."""
        from lamina.models.summary import print_summary

        print_summary(self, line_length, print_fn, expand_nested, show_trainable)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """Returns a layer by ``name`` or by ``index`` in `layers` (sub-modules of a
        subclassed model); raises a ValueError listing the layers when absent."""
        from lamina.models.functional import get_layer

        return get_layer(self, name, index)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Any:
        """Rebuilds a model from `get_config()`; a functional config gives a functional model."""
        if cls is Model and "input_layers" in config and "output_layers" in config:
            from lamina.models.functional import functional_from_config

            return functional_from_config(config, custom_objects)
        return super().from_config(config)

    def _build_compiled(self, batch: Any, adapter: Any) -> None:
        """Resolves the loss and metrics per output on a first batch (once)."""
        need_loss = self._compiled_loss is not None and not self._compiled_loss.built
        need_metrics = self._compiled_metrics is not None and not self._compiled_metrics.built
        if not (need_loss or need_metrics) and self._call_fn is not None:
            return
        if self._call_fn is None:
            # Not a sub-module: bypass nn.Module.__setattr__ (it would register `self` in itself).
            object.__setattr__(self, "_call_fn", torch.compile(self) if self._jit_compile else self)
        if not (need_loss or need_metrics):
            return
        if type(self).call is Model.call:  # custom train_step only (e.g. a GAN)
            return
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                y_pred = self(batch[0])
        finally:
            self.train(was_training)
        self._output_sample = map_structure(lambda t: tuple(t.shape), y_pred)
        loss_fns: list[Any] = []
        if need_loss:
            self._compiled_loss.build(y_pred, self.output_names)
        if self._compiled_loss is not None:
            loss_fns = self._compiled_loss.fns
        if need_metrics:
            self._compiled_metrics.build(y_pred, self.output_names, loss_fns)

    def _check_targets(self, adapter: Any) -> None:
        """One-off checks of the targets against the loss (before any training)."""
        from lamina.training.data_adapter import ArrayAdapter

        cl = self._compiled_loss
        if cl is None or not cl.built or not isinstance(adapter, ArrayAdapter) or adapter.y is None:
            return
        if cl.single and isinstance(adapter.y, torch.Tensor):
            fn = cl.fns[0]
            if getattr(fn, "kind", None) == "sparse_categorical_crossentropy":
                shape = self._output_sample
                num_classes = shape[-1] if isinstance(shape, tuple) else None
                if num_classes:
                    losses_mod.check_sparse_labels(adapter.y, num_classes)

    # ------------------------------------------------------------------ steps
    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None, training: bool = True
    ) -> torch.Tensor:
        """The total loss: compiled loss(es) plus regularisation penalties."""
        if self._compiled_loss is None:
            raise RuntimeError(
                "The model was compiled without a `loss`, so `compute_loss` has nothing to "
                "compute. Pass `loss=` to `compile()`, or override `train_step`."
            )
        total, parts = self._compiled_loss(y, y_pred, sample_weight)
        self._loss_parts = parts
        penalties = self._penalties()
        if penalties is not None:
            total = total + penalties
        return total

    def _penalties(self) -> torch.Tensor | None:
        if self._weight_penalties is None:
            self._weight_penalties = [
                (m, name, reg)
                for m in self.modules()
                if isinstance(m, Layer)
                for name, reg in m._weight_regularizers
            ]
        extra = layer_mod.pop_call_losses()
        if not self._weight_penalties and not extra:
            return None
        terms = [reg(getattr(m, name)) for m, name, reg in self._weight_penalties] + extra
        return torch.stack([t.reshape(()) for t in terms]).sum()

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Updates the compiled metrics' state with one batch (on the device)."""
        if self._compiled_metrics is not None and self._compiled_metrics.entries:
            # Every metric's `update_state` runs under torch.no_grad (Metric.__init_subclass__).
            self._compiled_metrics.update(y, y_pred, sample_weight)

    def train_step(self, batch: Any) -> dict[str, Any]:
        """One optimisation step on ``batch = (x, y, sample_weight)``.

        Returns a dict of scalar values (tensors or floats) for this batch; `fit`
        reports their epoch mean (weighted by batch size), together with the
        compiled metrics. Override it for custom training, e.g. a GAN.
        """
        x, y, sample_weight = batch
        layer_mod.pop_call_losses()
        # The loop put the model in training mode; layers read it (no kwarg to pass).
        y_pred = self._call_fn(x)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        opt = self.optimizer
        opt.zero_grad()
        loss.backward()
        opt.step()
        self.compute_metrics(x, y, y_pred, sample_weight)
        if self._loss_parts:
            return {"loss": loss.detach(), **self._loss_parts}
        return {"loss": loss.detach()}

    def test_step(self, batch: Any) -> dict[str, Any]:
        """One evaluation step (no gradients); returns per-batch values like `train_step`."""
        x, y, sample_weight = batch
        layer_mod.pop_call_losses()
        y_pred = self._call_fn(x)
        logs: dict[str, Any] = {}
        if self._compiled_loss is not None:
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
            logs = {"loss": loss, **self._loss_parts}
        self.compute_metrics(x, y, y_pred, sample_weight)
        return logs

    def predict_step(self, batch: Any) -> Any:
        """One prediction step; returns the model's output for ``batch[0]``."""
        return self(batch[0], training=False)

    def _clear_metrics(self) -> None:
        if self._compiled_metrics is not None:
            self._compiled_metrics.reset()

    def _metric_results(self) -> dict[str, Any]:
        if self._compiled_metrics is None or not self._compiled_metrics.entries:
            return {}
        return self._compiled_metrics.results()

    @property
    def metrics(self) -> list[Any]:
        """The compiled metric objects (built on the first batch)."""
        return [] if self._compiled_metrics is None else self._compiled_metrics.metrics

    @property
    def metrics_names(self) -> list[str]:
        names = ["loss"] if self._compiled_loss is not None else []
        if self._compiled_loss is not None and not self._compiled_loss.single:
            names += [f"{k}_loss" for k, f in zip(self._compiled_loss.keys, self._compiled_loss.fns) if f is not None]
        if self._compiled_metrics is not None:
            names += self._compiled_metrics.names
        return names

    def reset_metrics(self) -> None:
        self._clear_metrics()

    # ------------------------------------------------------------------ public loops
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
    ) -> Any:
        """Trains the model for a fixed number of epochs; returns a `History`.

        Args:
            x: Inputs: NumPy array, torch tensor, pandas object, a dict/list of those
                (several inputs), a torch `Dataset`/`DataLoader`, or an iterable of
                `(x, y)` / `(x, y, sample_weight)` batches.
            y: Targets, when `x` holds arrays.
            batch_size: Samples per step. Defaults to 32.
            epochs: Number of passes over the data. Defaults to 1.
            verbose: 0 silent, 1 a progress bar (one line per epoch when not on a
                terminal), 2 one line per epoch, "auto" = 1.
            callbacks: List of `lamina.callbacks.Callback`.
            validation_split: Fraction of the arrays (taken from the end, before
                shuffling) kept out for validation.
            validation_data: `(x_val, y_val)` or a dataset to validate on after each epoch.
            shuffle: Whether to shuffle the training samples every epoch.
            class_weight: `{class_index: weight}` to weight the loss per class.
            sample_weight: Per-sample weights of the loss.
            initial_epoch: Epoch to start from (to resume a previous run).
        """
        return Trainer(self).fit(
            x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
            shuffle, class_weight, sample_weight, initial_epoch, validation_batch_size,
        )

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
        """Returns the loss and metrics on the data: a float when there is only the
        loss, else a list in the order of `metrics_names` (a dict with `return_dict=True`)."""
        return Trainer(self).evaluate(x, y, batch_size, verbose, sample_weight, callbacks, return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", callbacks: Any = None) -> Any:
        """Returns the model's outputs for ``x`` as NumPy arrays (batched, no gradients)."""
        return Trainer(self).predict(x, batch_size, verbose, callbacks)

    # ------------------------------------------------------------------ saving
    def save(self, filepath: Any) -> None:
        """Saves the model (architecture, weights, compile configuration, optimizer
        state) to one `.lamina` file, atomically; `lamina.load_model` reads it back.
        See `lamina.saving.save_model`."""
        from lamina.saving import save_model

        save_model(self, filepath)

    def save_weights(self, filepath: Any) -> None:
        """Writes the weights (the `state_dict`, buffers included) to a
        `.weights.safetensors` file, atomically. See `lamina.saving.save_weights`."""
        from lamina.saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath: Any, strict: bool = True) -> Any:
        """Loads weights from a `.weights.safetensors` (or `.lamina`) file.

        With ``strict=True`` any missing, unexpected or mis-shaped weight raises one
        ValueError listing them all; with ``strict=False`` the matching weights are
        loaded. Returns a `lamina.saving.WeightsReport`.
        """
        from lamina.saving import load_weights

        return load_weights(self, filepath, strict=strict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], torch.Tensor):
            return nn.Module.__call__(self, *args, **kwargs)
        if args and not isinstance(first_leaf(args[0]), torch.Tensor) and not layer_mod._is_symbolic(args[0]):
            from lamina.training.data_adapter import _structure_to_tensors

            args = (_structure_to_tensors(args[0], "inputs"), *args[1:])
        return super().__call__(*args, **kwargs)
