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

from lamina.layers import layer as layer_mod
from lamina.layers.layer import Layer, shape_of
from lamina.training.trainer import Trainer
from lamina.utils.tree import first_leaf


class Model(Trainer, Layer):
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
        if (cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs)) or _functional_arguments(args, kwargs):
            from lamina.models.functional import Functional

            if cls is Model:
                return super().__new__(Functional)
            if not issubclass(cls, Functional):
                # `class CustomModel(lamina.Model)` called as `CustomModel(inputs, outputs)`:
                # a functional model with the subclass's methods (Keras does the same).
                return super().__new__(_functional_subclass(cls))
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError(
                f"`{type(self).__name__}` got positional arguments {args!r}. A subclassed model "
                "passes only keyword arguments (such as `name=`) to `super().__init__()`."
            )
        super().__init__(**kwargs)
        self._init_trainer()
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

    def _has_call(self) -> bool:
        """Whether the model defines a forward pass (a GAN-style model may not)."""
        return type(self).call is not Model.call

    # ------------------------------------------------------------------ losses of a step
    def _clear_call_losses(self) -> None:
        if layer_mod._LOSS_OWNERS.data:
            layer_mod.clear_losses(self)

    def _has_loss_terms(self) -> bool:
        return bool(self._penalty_terms()) or bool(layer_mod.collect_losses(self))

    def _penalty_terms(self) -> list[tuple[Any, str, Any]]:
        if self._weight_penalties is None:
            self._weight_penalties = [
                (m, name, reg)
                for m in self.modules()
                if isinstance(m, Layer)
                for name, reg in m._weight_regularizers
            ]
        return self._weight_penalties

    def _penalties(self) -> torch.Tensor | None:
        """The weight penalties of the regularizers plus this step's `add_loss` terms."""
        weight_terms = self._weight_penalties
        if weight_terms is None:
            weight_terms = self._penalty_terms()
        extra = layer_mod.collect_losses(self) if layer_mod._LOSS_OWNERS.data else []
        if not weight_terms and not extra:
            return None
        terms = [reg(getattr(m, name)) for m, name, reg in weight_terms] + extra
        return torch.stack([t.reshape(()) for t in terms]).sum()

    # ------------------------------------------------------------------ saving
    def save(self, filepath: Any) -> None:
        """Saves the model (architecture, weights, compile configuration, optimizer
        state) to one `.lamina` file, atomically; `lamina.load_model` reads it back.
        See `lamina.saving.save_model`. Under `torchrun` only rank 0 writes (with
        `FullyShardedDataParallel`, every process must call it: the weights are gathered)."""
        from lamina.distributed import is_chief
        from lamina.distributed.fsdp import gathered
        from lamina.saving import save_model

        with gathered(self):  # FSDP: the full weights, from every process
            if is_chief():
                save_model(self, filepath)

    def save_weights(self, filepath: Any) -> None:
        """Writes the weights (the `state_dict`, buffers included) to a
        `.weights.safetensors` file, atomically. See `lamina.saving.save_weights`.
        Under `torchrun` only rank 0 writes."""
        from lamina.distributed import is_chief
        from lamina.distributed.fsdp import gathered
        from lamina.saving import save_weights

        with gathered(self):  # FSDP: the full weights, from every process
            if is_chief():
                save_weights(self, filepath)

    def load_weights(self, filepath: Any, strict: bool = True, **checks: bool) -> Any:
        """Loads weights from a `.weights.safetensors` (or `.lamina`) file.

        With ``strict=True`` any missing, unexpected or mis-shaped weight raises one
        ValueError listing them all; with ``strict=False`` the matching weights are
        loaded. ``allow_dtype_cast=True`` / ``allow_nonfinite=True`` accept weights of
        another dtype / NaN or infinite weights (see `lamina.saving.load_weights`).
        Returns a `lamina.saving.WeightsReport`.
        """
        from lamina.saving import load_weights

        return load_weights(self, filepath, strict=strict, **checks)

    def export(
        self, filepath: Any, format: str | None = None, verbose: bool = True, input_signature: Any = None, **kwargs: Any
    ) -> Any:
        """Exports the model for inference to ONNX (``format="onnx"``) or to a
        `torch.export` program (``format="torch"``, a ``.pt2`` file), and checks
        the exported file against the model before returning. The format
        defaults to the file's suffix (``.onnx`` or ``.pt2``). See
        `lamina.saving.export.export_model`."""
        from lamina.saving.export import export_model

        return export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    @property
    def reference_profile(self) -> Any:
        """The reference profile of the training inputs and predictions that
        `lamina serve` monitors drift against (a `lamina.monitoring.ReferenceProfile`),
        or None when the model was not trained with `fit` (nor loaded with one)."""
        from lamina.monitoring import recording

        return recording.reference_profile(self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs:
            args, kwargs = self._first_input_from_kwargs(kwargs)
        if args and isinstance(args[0], torch.Tensor):
            return self._entry_call(args, kwargs)
        if args and not isinstance(first_leaf(args[0]), torch.Tensor) and not layer_mod._is_symbolic(args[0]):
            from lamina.training.data_adapter import _structure_to_tensors

            args = (_structure_to_tensors(args[0], "inputs"), *args[1:])
        return super().__call__(*args, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        """Returns the model's architecture (no weights) as a JSON string.

        `lamina.models.model_from_json` rebuilds the model from it.

        Args:
            **kwargs: Passed to `json.dumps` (e.g. `indent=2`).

        Example:
            >>> import lamina
            >>> model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(2)])
            >>> clone = lamina.models.model_from_json(model.to_json())
        """
        from lamina.models.cloning import model_to_json

        return model_to_json(self, **kwargs)


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _functional_arguments(args: tuple, kwargs: dict[str, Any]) -> bool:
    """Whether a subclass is called as `CustomModel(inputs, outputs)`: the first two
    arguments (or `inputs=` / `outputs=`) hold symbolic tensors from `lamina.Input`."""
    from lamina.layers.symbolic import SymbolicTensor
    from lamina.utils.tree import flatten

    inputs = args[0] if args else kwargs.get("inputs")
    outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
    if inputs is None or outputs is None or len(args) > 2:
        return False
    leaves = flatten(inputs) + flatten(outputs)
    return bool(leaves) and all(isinstance(t, SymbolicTensor) for t in leaves)


def _functional_subclass(cls: type) -> type:
    """``cls`` with `Functional` inserted before `Model` in its bases (made once per class)."""
    made = _FUNCTIONAL_SUBCLASSES.get(cls)
    if made is None:
        from lamina.models.functional import Functional

        made = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
        made._lamina_functional_of = cls  # type: ignore[attr-defined]
        _FUNCTIONAL_SUBCLASSES[cls] = made
    return made
