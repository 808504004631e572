"""`Trainer`: the training API that every `Model` has (Keras's `Trainer` base).

It owns the compile state (optimizer, loss, metrics, the loss tracker) and the
public training API: `compile`, `fit`, `evaluate`, `predict`, the override
points `train_step` / `test_step` / `predict_step`, and `compute_loss` /
`compute_metrics` / `metrics` / `reset_metrics` / `get_metrics_result`.
The loops themselves are in `lamina.training.loops`.

Keras's protocol, which custom steps rely on:

* `train_step(data)` receives a batch as the data yields it: `x`, `(x, y)` or
  `(x, y, sample_weight)` (`lamina.utils.unpack_x_y_sample_weight` splits it);
* it returns a dict of values to log; the default returns the running results
  of `model.metrics` (the `loss` tracker and the compiled metrics);
* the epoch's logs are the last step's return values; `model.metrics` are
  reset at the start of each epoch and before each evaluation.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from lamina import mixed_precision, runtime
from lamina import optimizers as optimizers_mod
from lamina.distributed.errors import translate_collective_errors
from lamina.distributed.prediction import predict as distributed_predict
from lamina.distributed.session import session as distributed_session
from lamina.monitoring import recording
from lamina.training import arguments, data_adapter, data_checks, inference, loops
from lamina.training.callbacks import CallbackList, History, ProgbarLogger
from lamina.training.compile_utils import CompiledLoss, CompileMetrics, LossTracker
from lamina.training.data_adapter import unpack_x_y_sample_weight
from lamina.utils import validation
from lamina.utils.tree import first_leaf, map_structure


class MetricsResult(Mapping):
    """`get_metrics_result()` computed when read: what the default steps return.

    Reading it costs one result per metric; a training step that only returns
    it costs nothing (the loop reads the last one of the epoch).
    """

    __slots__ = ("_model", "_values")

    def __init__(self, model: Any) -> None:
        self._model = model
        self._values: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._values is None:
            self._values = self._model.get_metrics_result()
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class Trainer:
    """The training API of `Model`: compile state, the steps and the loops."""

    _loss_scaler: Any = None  # a `mixed_precision.LossScaler` once a float16 step ran
    _auto_scale_loss = True

    def _init_trainer(self) -> None:
        self.optimizer: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: Any = None
        self.loss: Any = None
        self._compile_loss: CompiledLoss | None = None
        self._compile_metrics: CompileMetrics | None = None
        self._loss_tracker: LossTracker | None = None
        self._output_loss_trackers: dict[str, LossTracker] = {}
        self._compile_config: dict[str, Any] | None = None
        self._jit_compile = False
        self._call_fn: Any = None
        self._initial_epoch: int | None = None
        self._output_sample: Any = None

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
        precision: Any = None,
        **kwargs: Any,
    ) -> None:
        """Configures the model for training.

        Args:
            optimizer: Name (`"adam"`, `"sgd"`, `"rmsprop"`, ...) or optimizer
                instance; None for a model whose `train_step` uses its own
                optimizers. Defaults to `"rmsprop"`, as in Keras.
            loss: Loss name, instance or function; for several outputs a list
                (in output order) or a dict by output name. May be None when the
                model adds its loss with `add_loss`. Defaults to `None`.
            loss_weights: Optional weights of the per-output losses (list or
                dict). Defaults to `None`.
            metrics: Metrics computed without sample weights: a list of names or
                instances (`"accuracy"` is resolved from the loss and output
                shape); for several outputs a dict by output name or a list of
                lists. Defaults to `None`.
            weighted_metrics: Metrics that take `sample_weight` / `class_weight`
                into account. Defaults to `None`.
            run_eagerly: Accepted for Keras compatibility; Lamina always runs the
                steps eagerly (set `jit_compile=True` to compile the forward pass).
                Defaults to `False`.
            steps_per_execution: Accepted for Keras compatibility; Lamina runs
                one step per batch, which gives the same results. Defaults to `1`.
            jit_compile: Whether to run the forward pass through `torch.compile`.
                `"auto"` means `False` (compiling takes longer than short runs
                gain). Defaults to `"auto"`.
            auto_scale_loss: Whether a model computing in float16 trains with
                dynamic loss scaling (`lamina.mixed_precision.LossScaler`, Keras's
                `LossScaleOptimizer`): overflowing steps are skipped and the logs
                get `loss_scale` and `skipped_steps`. Defaults to `True`.
            precision: A dtype policy name for the whole model's computation in
                `fit` / `evaluate` / `predict` and `model(x)`: `"mixed_bfloat16"`
                or `"mixed_float16"` run the forward pass under `torch.autocast`
                (the variables stay as they are, losses and metrics in float32),
                `"float32"` turns a mixed policy off. Layers given their own
                `dtype=` keep it. Defaults to `None`: the model's dtype policy
                (the global policy when the model was built, see
                `lamina.mixed_precision.set_global_policy`).

        Example:
            >>> import lamina
            >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3)])
            >>> model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        """
        validation.no_unknown_kwargs("compile", kwargs)
        policy = mixed_precision.precision_policy(precision)
        compute = (policy or self._dtype_policy).torch_compute_dtype  # type: ignore[attr-defined]
        self._entry_autocast = compute if compute in mixed_precision.REDUCED else None
        own = self._own_compute  # type: ignore[attr-defined]
        self._policy_entry = self._entry_autocast is not None or own is not None
        self._loss_scaler = None
        self._auto_scale_loss = bool(auto_scale_loss)
        if jit_compile == "auto":
            jit_compile = False
        validation.boolean("compile", "jit_compile", jit_compile)
        validation.boolean("compile", "run_eagerly", run_eagerly)
        validation.positive_int("compile", "steps_per_execution", steps_per_execution)
        self.optimizer = optimizers_mod.get(optimizer) if optimizer is not None else None
        self._compile_loss = CompiledLoss(loss, loss_weights) if loss is not None else None
        # As Keras: no `compile_metrics` entry in `model.metrics` when none were given.
        self._compile_metrics = (
            CompileMetrics(metrics, weighted_metrics) if metrics is not None or weighted_metrics is not None else None
        )
        self._loss_tracker = LossTracker(name="loss")
        self._output_loss_trackers = {}
        self.loss = loss
        self._jit_compile = jit_compile
        # Not a sub-module: bypass nn.Module.__setattr__ (it would register `self` in itself).
        object.__setattr__(self, "_call_fn", torch.compile(self) if jit_compile else self)
        self._compile_config = {
            "loss": self._compile_loss.get_config() if self._compile_loss else None,
            "metrics": metrics,
            "loss_weights": loss_weights,
            "weighted_metrics": weighted_metrics,
            "jit_compile": jit_compile,
            "precision": None if policy is None else policy.name,
        }
        self.compiled = True

    def get_compile_config(self) -> dict[str, Any] | None:
        """The compile arguments as Keras's `compile_config` (what `model.save("m.keras")`
        writes): optimizer, loss, metrics and loss weights as serialized objects.

        Returns:
            The config, or None when the model is not compiled or its compile
            arguments have no Keras form (a plain function as the loss, ...).
        """
        from lamina.saving.keras_compile import compile_to_keras

        return compile_to_keras(self)

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compiles the model from `get_compile_config()`'s output (or a Keras file's
        `compile_config`). A class whose `compile` takes other arguments overrides
        this (and `get_compile_config`), as in Keras.

        Args:
            config: The compile config.
        """
        from lamina.saving.keras_compile import compile_from_keras

        compile_from_keras(self, config)

    def _assert_compiled(self, role: str) -> None:
        if not self.compiled:
            raise RuntimeError(
                f"You must call `compile()` before `{role}()`. For example: "
                "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', "
                "metrics=['accuracy'])."
            )

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> list[Any]:
        """The metrics the loops reset each epoch: the `loss` tracker, the compiled
        metrics (one `compile_metrics` entry), per-output loss trackers, and
        `lamina.metrics.Metric` objects set as attributes of the model or its layers."""
        out: list[Any] = []
        if self.compiled:
            out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            out.extend(self._output_loss_trackers.values())
        out.extend(self._tracked_metrics())
        return out

    def _tracked_metrics(self) -> list[Any]:
        from lamina.metrics import Metric

        own = (self.__dict__.get("_loss_tracker"), self.__dict__.get("_compile_metrics"))
        found: list[Any] = []
        seen: set[int] = set()
        for module in self._modules_outside_nested_models():
            for value in vars(module).values():
                if isinstance(value, Metric) and id(value) not in seen and not any(value is o for o in own):
                    seen.add(id(value))
                    found.append(value)
        return found

    def _modules_outside_nested_models(self) -> list[Any]:
        """This model and its sub-modules, without descending into nested models.

        A model used as a layer of another (a fitted `Sequential` inside a new
        `Model`) keeps its own compiled metrics and loss tracker; they are not
        updated by the outer model's loops, so, as in Keras, every metric of a
        nested `Trainer` is left out of the outer model's `metrics`.
        """
        out: list[Any] = []
        stack: list[Any] = [self]
        visited: set[int] = set()
        while stack:
            module = stack.pop()
            if id(module) in visited:
                continue
            visited.add(id(module))
            out.append(module)
            # reversed onto the stack: the walk is pre-order like `modules()`
            stack.extend(c for c in reversed(list(module.children())) if not isinstance(c, Trainer))
        return out

    @property
    def metrics_names(self) -> list[str]:
        """The names of the values `evaluate` returns, in order."""
        names: list[str] = []
        for m in self.metrics:
            if isinstance(m, CompileMetrics):
                names += m.names
            else:
                names.append(m.name)
        return names

    def reset_metrics(self) -> None:
        """Resets the state of every metric in `metrics`."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict[str, Any]:
        """The current results of `metrics` by name (dict results merged), as tensors."""
        out: dict[str, Any] = {}
        for m in self.metrics:
            if isinstance(m, LossTracker) and not m.seen:
                continue  # nothing tracked (a model whose steps compute no loss)
            result = m.result()
            if isinstance(result, Mapping):
                out.update(result)
            else:
                out[m.name] = result
        return out

    # ------------------------------------------------------------------ steps
    def compute_loss(
        self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None, training: bool = True
    ) -> torch.Tensor:
        """The total loss of one batch: the compiled loss(es) plus the weight
        penalties of the regularizers and the terms added with `add_loss`.

        Args:
            x: The inputs (unused by the default; for overrides).
            y: The targets.
            y_pred: The model's predictions.
            sample_weight: Optional per-sample weights of the compiled loss.
            training: Whether the step trains. Defaults to `True`.
        """
        total: torch.Tensor | None = None
        cl = self._compile_loss
        if cl is not None:
            if not cl.built:
                cl.build(y_pred, self.output_names)  # type: ignore[attr-defined]
            total, parts = cl(y, y_pred, sample_weight)
            if parts:
                n = int(first_leaf(y_pred).shape[0])
                for name, value in parts.items():
                    tracker = self._output_loss_trackers.get(name)
                    if tracker is None:
                        tracker = self._output_loss_trackers[name] = LossTracker(name=name)
                    tracker.update_state(value, sample_weight=n)
        penalties = self._penalties()  # type: ignore[attr-defined]
        if penalties is not None:
            total = penalties if total is None else total + penalties
        if total is None:
            raise RuntimeError(
                "The model was compiled without a `loss`, so `compute_loss` has nothing to "
                "compute (no `add_loss` terms either). Pass `loss=` to `compile()`, or override "
                "`train_step`."
            )
        return total

    @property
    def compiled_metrics(self) -> Any:
        """Keras 2's `model.compiled_metrics` (deprecated in Keras 3, whose TensorFlow
        backend keeps it): `compiled_metrics.update_state(y, y_pred, sample_weight=None)`
        updates the metrics given to `compile`, with a `DeprecationWarning` that says to
        loop over `self.metrics` instead. Only the compiled metrics are updated (Keras 3's
        shim also feeds `y_pred` to every `Mean` in `self.metrics`, loss trackers
        included)."""
        return _CompiledMetricsShim(self)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Mapping[str, Any]:
        """Updates the compiled metrics with one batch and returns the running
        results of `metrics` (computed when read)."""
        cm = self._compile_metrics
        if cm is not None:
            if not cm.built:
                fns = self._compile_loss.fns if self._compile_loss is not None and self._compile_loss.built else []
                cm.build(y_pred, self.output_names, fns)  # type: ignore[attr-defined]
            cm.update_state(y, y_pred, sample_weight)
        return MetricsResult(self)

    def _step_loss(self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool) -> torch.Tensor | None:
        if self._compile_loss is None and not self._has_loss_terms():  # type: ignore[attr-defined]
            return None
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=training)
        self._loss_tracker.update_state(loss.detach(), sample_weight=int(first_leaf(x).shape[0]))  # type: ignore[union-attr]
        return loss

    def train_step(self, data: Any) -> Mapping[str, Any]:
        """One optimisation step on a batch.

        Args:
            data: The batch as the data yields it: `x`, `(x, y)` or
                `(x, y, sample_weight)`.

        Returns:
            A dict of values to log. The default returns the running results of
            `metrics`; `fit` logs the values returned by an epoch's last step.
            Override it for custom training (e.g. a GAN).
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        self._clear_call_losses()  # type: ignore[attr-defined]
        mixed_precision.refresh_autocast_cache()  # (a user's autocast around `fit`)
        # The loop put the model in training mode; layers read it (no kwarg to pass).
        # A mixed-precision model's call runs under autocast (`Layer._entry_call`);
        # the loss and the metrics take float32 predictions.
        y_pred = self._call_fn(x)
        if y_pred.__class__ is not torch.Tensor or y_pred.dtype in mixed_precision.REDUCED:
            y_pred = mixed_precision.to_float32(y_pred)
        loss = self._step_loss(x, y, y_pred, sample_weight, training=True)
        if loss is None:
            raise RuntimeError(
                "The model was compiled without a `loss`, so `compute_loss` has nothing to "
                "compute. Pass `loss=` to `compile()`, or override `train_step`."
            )
        opt = self.optimizer
        if opt is not None and loss.requires_grad:  # (a model without weights has nothing to train)
            if not opt.built:
                opt.build(list(self.parameters()))  # type: ignore[attr-defined]
            opt.zero_grad()
            if self._entry_autocast is torch.float16 and self._auto_scale_loss:  # type: ignore[attr-defined]
                return self._scaled_update(loss, x, y, y_pred, sample_weight)
            loss.backward()
            opt.step()
            mixed_precision.refresh_autocast_cache()
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _scaled_update(
        self, loss: torch.Tensor, x: Any, y: Any, y_pred: Any, sample_weight: Any
    ) -> Mapping[str, Any]:
        """`train_step`'s update with dynamic loss scaling (float16 computation)."""
        scaler = self._loss_scaler
        if scaler is None:
            scaler = self._loss_scaler = mixed_precision.LossScaler(loss.device.type)
        scaler.backward_and_step(loss, self.optimizer)
        mixed_precision.refresh_autocast_cache()
        self.compute_metrics(x, y, y_pred, sample_weight)
        return _ScaledMetricsResult(self)

    def test_step(self, data: Any) -> Mapping[str, Any]:
        """One evaluation step (no gradients); returns the running results like `train_step`."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        self._clear_call_losses()  # type: ignore[attr-defined]
        mixed_precision.refresh_autocast_cache()
        y_pred = self._call_fn(x)
        if y_pred.__class__ is not torch.Tensor or y_pred.dtype in mixed_precision.REDUCED:
            y_pred = mixed_precision.to_float32(y_pred)
        if self._step_loss(x, y, y_pred, sample_weight, training=False) is None:
            # Compiled for metrics only (no loss, nothing from `add_loss`): the loss is 0,
            # as Keras 2 reports it (Keras 3 raises "No loss to compute"), so `evaluate`
            # still returns `[loss, *metrics]`.
            leaf = first_leaf(y_pred)
            zero = torch.zeros((), device=leaf.device if isinstance(leaf, torch.Tensor) else None)
            self._loss_tracker.update_state(zero, sample_weight=int(first_leaf(x).shape[0]))  # type: ignore[union-attr]
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """One prediction step; returns the model's output for the batch's `x`."""
        x, _, _ = unpack_x_y_sample_weight(data)
        mixed_precision.refresh_autocast_cache()
        return self(x, training=False)  # type: ignore[operator]

    def _epoch_logs(self, logs: Any) -> dict[str, Any]:
        """Keras's rule: the metrics' results when the step returned them, else the step's logs."""
        if isinstance(logs, MetricsResult):
            return loops.to_floats(logs)
        if isinstance(logs, Mapping):
            flat = loops.flatten_logs(logs)
            names = set(self.metrics_names)
            if names and set(flat) == names:
                return loops.to_floats(self.get_metrics_result())
            return loops.to_floats(flat)
        return {} if logs is None else {"logs": logs}

    # ------------------------------------------------------------------ preparation
    def _uses_default_step(self, training: bool) -> bool:
        method = "train_step" if training else "test_step"
        return getattr(type(self), method) is getattr(Trainer, method)

    def _prepare(self, adapter: Any, *, training: bool) -> None:
        """Builds the model, the loss and the metrics on a first batch (only for the
        default steps: a custom `train_step` is never run through the model just
        to build it), hands the adapter the model's data checks, moves the model to
        the device and builds the optimizer."""
        device = adapter.device
        if self._uses_default_step(training):
            # The checks known before the first forward pass (`Embedding` indices: a bad
            # index would fail inside torch), then, once the loss is built, the targets.
            self._check_targets(adapter)
            x, y, _ = unpack_x_y_sample_weight(adapter.first_batch())
            self._ensure_built(x, device)  # type: ignore[attr-defined]
            self._build_compiled(x, y)
            self._check_targets(adapter)
        self.to(device)  # type: ignore[attr-defined]
        params = list(self.parameters())  # type: ignore[attr-defined]
        # A model whose train_step uses its own optimizers (a GAN) may compile with optimizer=None.
        if training and self.optimizer is not None and not self.optimizer.built:
            if params:
                self.optimizer.build(params)
            else:  # layers built by the first (custom) step
                self.optimizer.build_on_first_step(self)

    def _build_compiled(self, x: Any, y: Any) -> None:
        """Resolves the loss and metrics per output from one forward pass (once)."""
        cl, cm = self._compile_loss, self._compile_metrics
        need = (cl is not None and not cl.built) or (cm is not None and not cm.built)
        if not need or not self._has_call():  # type: ignore[attr-defined]
            return
        was_training = self.training  # type: ignore[attr-defined]
        self.eval()  # type: ignore[attr-defined]
        try:
            with torch.no_grad():
                y_pred = self(x)  # type: ignore[operator]
        finally:
            self.train(was_training)  # type: ignore[attr-defined]
        if not data_checks.all_finite(y_pred) and data_checks.all_finite(x):
            # Finite inputs, non-finite outputs before any training: inputs too large (overflow).
            raise data_checks.explain_non_finite_output(self, x)
        self._output_sample = map_structure(lambda t: tuple(t.shape), y_pred)
        if cl is not None and not cl.built:
            cl.build(y_pred, self.output_names)  # type: ignore[attr-defined]
            overflow = data_checks.loss_overflow_error(cl, y, y_pred)  # finite outputs, huge values
            if overflow is not None:
                raise overflow
        if cm is not None and not cm.built:
            cm.build(y_pred, self.output_names, cl.fns if cl is not None else [])  # type: ignore[attr-defined]

    def _check_targets(self, adapter: Any) -> None:
        """Hands ``adapter`` the model's data checks (targets against the compiled loss,
        indices of `Embedding` layers fed by the inputs): in-memory arrays are checked
        at once, whole; streamed batches as they are read."""
        if adapter is None or not hasattr(adapter, "set_validator"):
            return
        role = getattr(adapter.validator, "role", "fit")
        adapter.set_validator(data_checks.DataValidator.for_model(self, role))

    def _callbacks(self, callbacks: Any, verbose: int, params: dict[str, Any], history: History | None) -> CallbackList:
        cbs = list(callbacks or [])
        if history is not None:
            # After the user's callbacks, as in Keras, so that keys they add to the epoch
            # logs (ReduceLROnPlateau's `learning_rate`) are recorded.
            cbs.append(history)
        if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
            cbs.append(ProgbarLogger(verbose))
        return CallbackList(cbs, self, params)

    # ------------------------------------------------------------------ fit
    @translate_collective_errors
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
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Trains the model for a fixed number of epochs; returns a `History`.

        Args:
            x: Inputs: NumPy array, torch tensor, pandas object, a dict/list of those
                (several inputs), a torch `Dataset`/`DataLoader`, a
                `lamina.utils.PyDataset`, a Python generator, or an iterable of
                `x` / `(x, y)` / `(x, y, sample_weight)` batches.
            y: Targets, when `x` holds arrays.
            batch_size: Samples per step for arrays. Defaults to 32.
            epochs: Index of the last epoch (with `initial_epoch`). Defaults to 1.
            verbose: 0 silent, 1 a progress bar (one line per epoch when not on a
                terminal), 2 one line per epoch, "auto" = 1. Defaults to `"auto"`.
            callbacks: List of `lamina.callbacks.Callback`.
            validation_split: Fraction of the arrays (taken from the end, before
                shuffling) kept out for validation. Defaults to `0.0`.
            validation_data: `(x_val, y_val)`, `(x_val, y_val, sample_weight)` or a
                dataset / iterable to validate on after each epoch. A list
                `[x_val, y_val]` is taken like the tuple, as in Keras 3.
            shuffle: Whether to shuffle the training samples every epoch. Defaults to `True`.
            class_weight: `{class_index: weight}` to weight the loss (and
                `weighted_metrics`) per class.
            sample_weight: Per-sample weights of the loss (and `weighted_metrics`).
            initial_epoch: Epoch to start from (to resume a previous run). Defaults to `0`.
            steps_per_epoch: Batches per epoch. Needed for an infinite generator;
                with arrays, epochs then take that many batches of a stream that
                restarts, re-shuffled, when it ends. Defaults to `None` (one pass).
            validation_steps: Batches of `validation_data` per validation. Defaults
                to `None` (all of it).
            validation_batch_size: Batch size for validation arrays. Defaults to `batch_size`.
            validation_freq: Validate every this many epochs. Defaults to `1`.

        Under `torchrun` the same call trains on every process (data parallel,
        see `lamina.distributed`): `batch_size` is per process unless
        `lamina.distributed.DataParallel(split_batch=True)` is set.
        """
        self._assert_compiled("fit")
        dist_run = distributed_session(self)  # None outside torchrun
        args = arguments.fit_arguments(
            y=y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_split=validation_split, shuffle=shuffle, class_weight=class_weight,
            sample_weight=sample_weight, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps, validation_batch_size=validation_batch_size,
            validation_freq=validation_freq,
        )
        batch_size, epochs, verbose, callbacks = args.batch_size, args.epochs, args.verbose, args.callbacks
        validation_split, shuffle, class_weight = args.validation_split, args.shuffle, args.class_weight
        initial_epoch, steps_per_epoch, validation_steps = args.initial_epoch, args.steps_per_epoch, args.validation_steps
        validation_batch_size, validation_freq = args.validation_batch_size, args.validation_freq
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
            if not hasattr(train, "apply_class_weight"):
                raise ValueError("`class_weight` is only supported for in-memory arrays; yield sample weights instead.")
            train.apply_class_weight(class_weight)
        if validation_data is not None:
            val = data_adapter.adapt_validation(validation_data, validation_batch_size or batch_size, device)
        if dist_run is not None:  # this process's part of the data; rank 0's callbacks only
            train = dist_run.shard(train, training=True, batch_size=batch_size)
            val = dist_run.shard(val, training=False, batch_size=validation_batch_size or batch_size)
            callbacks, verbose = dist_run.callbacks(callbacks, verbose, training=True)

        self._prepare(train, training=True)
        recording.remember_training_data(self, train)
        if val is not None and self._uses_default_step(False):
            self._check_targets(val)
            if not isinstance(val, data_adapter.ArrayAdapter):
                val.first_batch()  # read (and checked) now, not after the first training epoch

        history = History()
        steps = steps_per_epoch or train.steps
        params = {"epochs": epochs, "steps": steps, "verbose": verbose, "phase": "fit"}
        cbs = self._callbacks(callbacks, verbose, params, history)
        train_batches = loops.EpochIterator(train, steps_per_epoch)
        val_batches = loops.EpochIterator(val, validation_steps) if val is not None else None
        self.stop_training = False
        self._initial_epoch = None
        cbs.on_train_begin({})
        if self._initial_epoch is not None:  # set by a callback resuming a run (BackupAndRestore)
            initial_epoch, self._initial_epoch = self._initial_epoch, None
        if dist_run is not None:
            dist_run.wrap()  # after the restore: DDP starts from rank 0's weights
        logs: dict[str, Any] = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch, {})
            last, n = loops.train_epoch(self, train_batches.epoch(), cbs)
            if n == 0:
                if epoch == initial_epoch and not train_batches.exhausted:
                    raise ValueError("The training data yielded no batches. Check that it is not empty.")
                if not train_batches.exhausted:
                    warnings.warn("Your input ran out of data; interrupting training.", stacklevel=2)
                break
            logs = self._epoch_logs(last) if dist_run is None else dist_run.epoch_logs(last)
            if val_batches is not None and (epoch + 1 - initial_epoch) % validation_freq == 0:
                val_logs = self._run_evaluation(val_batches, cbs, dist_run)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, logs)
            if train_batches.exhausted and epoch + 1 < epochs:
                warnings.warn(
                    "Your input ran out of data; interrupting training. Make sure that your "
                    "dataset or generator can generate at least `steps_per_epoch * epochs` "
                    "batches (pass `steps_per_epoch` for a generator).",
                    stacklevel=2,
                )
                break
            if dist_run is not None:  # a callback that stopped one process stops them all
                self.stop_training = dist_run.any_process(self.stop_training)
            if self.stop_training:
                break
        if dist_run is not None:
            dist_run.unwrap()
        cbs.on_train_end(logs)
        recording.remember_fit_logs(self, logs)
        return history

    def _run_evaluation(self, batches: loops.EpochIterator, cbs: CallbackList, dist_run: Any = None) -> dict[str, Any]:
        self.reset_metrics()
        cbs.on_test_begin({})
        last, n = loops.evaluate_epoch(self, batches.epoch(), cbs)
        if n == 0:
            raise ValueError("The evaluation data yielded no batches. Check that it is not empty.")
        if dist_run is None:
            logs = self._epoch_logs(last)
        else:  # the metrics over every process's part
            logs = dist_run.epoch_logs(last, reduce=dist_run.reduces(batches.adapter))
        cbs.on_test_end(logs)
        return logs

    # ------------------------------------------------------------------ evaluate
    @translate_collective_errors
    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Any = None,
        return_dict: bool = False,
    ) -> Any:
        """Returns the loss and metrics on the data.

        Args:
            x, y, batch_size, sample_weight: As in `fit`.
            verbose: 0 silent, 1 a progress bar, 2 one line. Defaults to `"auto"`.
            steps: Batches to evaluate (None: all). Defaults to `None`.
            callbacks: List of callbacks.
            return_dict: Return a dict by name instead of a list. Defaults to `False`.

        Returns:
            A float when there is one value, else a list in the order of
            `metrics_names` (a dict with `return_dict=True`). Under `torchrun`
            each process evaluates its part of the data and every process
            returns the values over all of it.
        """
        self._assert_compiled("evaluate")
        dist_run = distributed_session(self)  # None outside torchrun
        args = arguments.evaluate_arguments(
            y=y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight, steps=steps,
            callbacks=callbacks, return_dict=return_dict,
        )
        batch_size, verbose, steps, callbacks, return_dict = (
            args.batch_size, args.verbose, args.steps, args.callbacks, args.return_dict
        )
        adapter = data_adapter.adapt(x, y, sample_weight, batch_size=batch_size, shuffle=False,
                                     device=runtime.get_device(), role="evaluate")
        if dist_run is not None:
            adapter = dist_run.shard(adapter, training=False, batch_size=batch_size or 32)
            callbacks, verbose = dist_run.callbacks(callbacks, verbose, training=False)
        self._prepare(adapter, training=False)
        params = {"steps": steps or adapter.steps, "verbose": verbose, "phase": "evaluate"}
        cbs = self._callbacks(callbacks, verbose, params, None)
        logs = self._run_evaluation(loops.EpochIterator(adapter, steps), cbs, dist_run)
        recording.remember_evaluation(self, logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ predict
    @translate_collective_errors
    def predict(
        self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None, callbacks: Any = None
    ) -> Any:
        """Returns the model's outputs for ``x`` as NumPy arrays (batched, no gradients).

        Args:
            x: Inputs, as in `fit` (batches may carry targets; they are ignored).
            batch_size: Samples per batch for arrays. Defaults to 32.
            verbose: 0 silent, 1 a progress bar. Defaults to `"auto"`.
            steps: Batches to predict (None: all). Defaults to `None`.
            callbacks: List of callbacks; `on_predict_batch_end` gets `{"outputs": ...}`.

        With ``verbose=0``, no callbacks and in-memory arrays or tensors (a dict or
        list of them for several inputs), the batches go straight to the model
        (`lamina.training.inference`): the same outputs for a fraction of the
        per-call cost, which matters for one row at a time.

        Example:
            >>> import numpy as np, lamina
            >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3)])
            >>> model.predict(np.zeros((5, 4), "float32"), verbose=0).shape
            (5, 3)

        Under `torchrun`, with in-memory `x` and no `steps`, each process predicts
        its contiguous block of `x` and every process returns the full result, in
        the order of `x` (other inputs are predicted whole by every process).
        """
        verbose = arguments.check_verbose("predict", verbose)
        batch_size = arguments.check_optional_positive_int("predict", "batch_size", batch_size)
        steps = arguments.check_optional_positive_int("predict", "steps", steps)
        callbacks = arguments.check_callbacks("predict", callbacks)
        dist_run = distributed_session(self) if steps is None else None  # None outside torchrun
        if dist_run is not None and data_adapter.is_array_data(x):
            return distributed_predict(
                self, x, dist_run.ctx, Trainer.predict, batch_size=batch_size, verbose=verbose, callbacks=callbacks
            )
        device = runtime.get_device()
        if (
            verbose == 0
            and not callbacks
            and steps is None
            and type(self).predict_step is Trainer.predict_step
        ):
            # In-memory arrays, nothing to report: straight to the model (same outputs).
            try:
                result = inference.predict_arrays(self, x, batch_size, device)
            except ValueError:
                result = None  # (bad data) the checked path below says what is wrong, and where
            if result is not None:
                return result
        adapter = data_adapter.adapt(x, None, None, batch_size=batch_size, shuffle=False, device=device, role="predict")
        adapter.set_validator(data_checks.DataValidator.for_model(self, "predict"))  # `Embedding` indices of `x`
        x0, _, _ = unpack_x_y_sample_weight(adapter.first_batch())
        if not self.built or not any(True for _ in self.parameters()):  # type: ignore[attr-defined]
            self._ensure_built(x0, device)  # type: ignore[attr-defined]
        params = {"steps": steps or adapter.steps, "verbose": verbose, "phase": "predict"}
        cbs = self._callbacks(callbacks, verbose if verbose == 1 else 0, params, None)
        state = inference.prepare(self, device)  # on the device, in inference mode
        try:
            cbs.on_predict_begin({})
            outputs = loops.predict_batches(self, loops.EpochIterator(adapter, steps).epoch(), cbs)
            cbs.on_predict_end({})
        finally:
            inference.restore(state)
        if not outputs:
            raise ValueError("`predict` received data that yielded no batches.")
        return loops.concat_to_numpy(outputs)

    def predict_on_batch(self, x: Any) -> Any:
        """Returns the model's outputs for one batch ``x`` as NumPy arrays: `predict`
        with all of ``x`` as a single batch, no callbacks and no progress display
        (`predict_step` is still the override point).

        Args:
            x: Inputs: a NumPy array or tensor, or a dict / list of them for several inputs.

        Example:
            >>> import numpy as np, lamina
            >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3)])
            >>> model.predict_on_batch(np.zeros((2, 4), "float32")).shape
            (2, 3)
        """
        try:
            rows = len(first_leaf(x))
        except TypeError:  # a scalar or an object without a length: `predict` explains
            rows = 1
        return self.predict(x, batch_size=max(rows, 1), verbose=0)


class _ScaledMetricsResult(MetricsResult):
    """The running results of `metrics` plus the loss scaler's `loss_scale` and
    `skipped_steps` (what a float16 `train_step` logs)."""

    __slots__ = ()

    def _get(self) -> dict[str, Any]:
        if self._values is None:
            scaler = self._model._loss_scaler
            values = dict(self._model.get_metrics_result())
            values["loss_scale"] = scaler.scale
            values["skipped_steps"] = scaler.skipped_steps
            self._values = values
        return self._values


class _CompiledMetricsShim:
    """What `model.compiled_metrics` returns (see `Trainer.compiled_metrics`)."""

    def __init__(self, model: Any) -> None:
        self._model = model

    @property
    def metrics(self) -> list[Any]:
        cm = self._model._compile_metrics
        return [] if cm is None else list(cm.metrics)

    def update_state(self, y: Any, y_pred: Any, sample_weight: Any = None) -> None:
        warnings.warn(
            "`model.compiled_metrics()` is deprecated. Instead, use e.g.:\n```\n"
            "for metric in self.metrics:\n    metric.update_state(y, y_pred)\n```\n",
            DeprecationWarning,
            stacklevel=2,
        )
        self._model._assert_compiled("compiled_metrics.update_state")
        self._model.compute_metrics(None, y, y_pred, sample_weight)

    def result(self) -> dict[str, Any]:
        cm = self._model._compile_metrics
        return {} if cm is None else dict(cm.result())

    def reset_state(self) -> None:
        cm = self._model._compile_metrics
        if cm is not None:
            cm.reset_state()
