"""`Sequential`: a plain stack of layers, each with one input and one output."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.layers import layout
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.symbolic import SymbolicTensor
from lamina.models.model import Model

# Built-in layers whose `call` takes a list of tensors.
_MULTI_INPUT_LAYERS = frozenset(
    {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
     "Attention", "AdditiveAttention", "MultiHeadAttention", "GroupedQueryAttention"}
)


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: Optional list of layers (an `Input(shape=...)` may come first).
        name: Optional model name.

    With an input shape (an `Input`, or `input_shape=` on the first layer) the
    model is built at once, so `summary()` and `count_params()` work before
    `fit`; otherwise it is built on the first batch it sees.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([
        ...     lamina.Input(shape=(64,)),
        ...     lamina.layers.Dense(32, activation="relu"),
        ...     lamina.layers.Dense(10, activation="softmax"),
        ... ])
        >>> model.count_params()
        2410
    """

    def __init__(self, layers: list[Any] | None = None, name: str | None = None, trainable: bool = True, **kwargs: Any) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack: list[nn.Module] = []
        self._lamina: list[bool] = []
        # What `call` runs: the layers, with channels-first runs fused (layout.stack_steps).
        self._steps_cache: list[tuple[Any, bool]] | None = None
        self._input_layer: InputLayer | None = None
        self._graph: tuple[Any, Any] | None = None  # symbolic (inputs, outputs), made on demand
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(
                f"`Sequential` expects `layers` to be a list of layers. Received: {type(layers).__name__}."
            )
        for layer in layers or []:
            self.add(layer, _build=False)
        self._maybe_build()
        if not trainable:
            self.trainable = False  # freeze every layer, as Keras does

    @property
    def layers(self) -> list[nn.Module]:
        """The layers of the stack, in order (without the input layer)."""
        return list(self._stack)

    def add(self, layer: Any, _build: bool = True) -> None:
        """Appends a layer (or an `Input`) to the stack."""
        if isinstance(layer, SymbolicTensor):
            if layer.node is None or not isinstance(layer.node.layer, InputLayer):
                raise TypeError(
                    "`Sequential.add` accepts an `Input(...)` or a layer. Received a symbolic "
                    "tensor that is the output of another layer; use the functional API instead."
                )
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(
                    "An `Input` can only be the first entry of a `Sequential` model. Received it "
                    f"after {len(self._stack)} layer(s)."
                )
            self._input_layer = layer
            return
        if not isinstance(layer, nn.Module):
            raise TypeError(
                "`Sequential` accepts only layers (Lamina layers or torch.nn.Module instances). "
                f"Received: {layer!r} of type {type(layer).__name__}."
            )
        name = layer.name if isinstance(layer, Layer) else f"{type(layer).__name__.lower()}_{len(self._stack)}"
        if name in self._modules:
            raise ValueError(
                f"All layers in a Sequential model must have unique names. The name {name!r} is "
                "already used. Give the layer another `name=`."
            )
        from lamina.models.functional import _module_key

        self.add_module(_module_key(self, name), layer)
        self._stack.append(layer)
        self._lamina = [isinstance(m, Layer) for m in self._stack]
        self._steps_cache = None
        self._graph = None
        self.built = False
        self._weight_penalties = None
        if not self.trainable:
            layer.trainable = False  # a frozen Sequential freezes what is added to it
        if _build:
            self._maybe_build()

    def pop(self) -> nn.Module:
        """Removes and returns the last layer."""
        if not self._stack:
            raise ValueError("`pop` was called on a Sequential model that has no layers.")
        layer = self._stack.pop()
        self._graph = None
        for key, module in list(self._modules.items()):
            if module is layer:
                del self._modules[key]
        self._lamina = [isinstance(m, Layer) for m in self._stack]
        self._steps_cache = None
        return layer

    def _declared_input(self) -> tuple[tuple[int | None, ...], torch.dtype] | None:
        if self._input_layer is not None:
            return (None, *self._input_layer.shape), self._input_layer.dtype
        if self._stack and isinstance(self._stack[0], Layer) and self._stack[0]._input_shape_arg is not None:
            return (None, *self._stack[0]._input_shape_arg), torch.float32
        return None

    def _input_dtype(self) -> torch.dtype:
        declared = self._declared_input()
        return declared[1] if declared else torch.float32

    def _maybe_build(self) -> None:
        declared = self._declared_input()
        if declared is None or not self._stack:
            return
        shape, dtype = declared
        if all(self._lamina) and None in shape[1:]:
            # Free axes (e.g. images of any size): build layer by layer from symbolic
            # shapes, so no layer sees a made-up size (a 5x5 kernel on a 3x3 dummy).
            x: Any = SymbolicTensor(shape, dtype, None)
            for layer in self._stack:
                x = layer(x)
            self._build_input_shape = shape
            self.built = True
            return
        self.build(shape)

    def _single_input(self, inputs: Any) -> Any:
        """The one input of a stack whose first layer takes one tensor: a list of one
        array is unwrapped (as Keras does); a dict or a list of several arrays is
        refused, naming the keys, instead of failing inside that layer."""
        if not isinstance(inputs, (dict, list, tuple)) or not self._stack:
            return inputs
        first = self._stack[0]
        # A merging layer first (`Concatenate`) or a user's layer may take several inputs.
        takes_one = self._declared_input() is not None or (
            isinstance(first, Layer)
            and type(first).__module__.startswith("lamina.layers")
            and type(first).__name__ not in _MULTI_INPUT_LAYERS
        )
        if not takes_one:
            return inputs
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            return inputs[0]
        if isinstance(inputs, dict):
            keys = ", ".join(repr(k) for k in inputs)
            received = f"a dict with keys {keys}"
            fix = (
                "Pass the array itself (e.g. `x[" + repr(next(iter(inputs), "key")) + "]`), or build a "
                "model with one `Input` per key with the functional API: "
                "`lamina.Model(inputs={name: lamina.Input(...)}, outputs=...)`."
            )
        else:
            received = f"a {type(inputs).__name__} of {len(inputs)} inputs"
            fix = (
                "Pass one array (concatenate the features with `np.concatenate(..., axis=-1)`), "
                "or build a model with several `Input`s with the functional API."
            )
        raise ValueError(
            f"`{self.name}` is a `Sequential` model, which takes exactly one input (an array or "
            f"tensor). Received: {received}. {fix}"
        )

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not isinstance(inputs, torch.Tensor):
            inputs = self._single_input(inputs)
        steps = self._steps_cache
        if steps is None:
            steps, final = layout.stack_steps(self._stack, self._lamina)
            if final:
                self._steps_cache = steps
        x = inputs
        if training is None:
            for step, _ in steps:
                x = step(x)
        else:
            for step, takes_training in steps:
                x = step(x, training=training) if takes_training else step(x)
        return x

    # ------------------------------------------------------------------ symbolic graph
    def _symbolic_graph(self) -> tuple[Any, Any]:
        """The model's symbolic input and output, made once (as Keras's Sequential
        does) by calling the layers on an `Input` of the model's input shape."""
        if self._graph is None:
            from lamina.layers.input_layer import Input

            if self._input_layer is not None:
                x = inputs = self._input_layer.output
            elif self.built and isinstance(self._build_input_shape, (tuple, list)) and self._stack:
                shape = tuple(self._build_input_shape)[1:]
                x = inputs = Input(shape=shape, dtype=self._input_dtype(), name=f"{self.name}_input")
            else:
                raise ValueError(
                    f"The Sequential model '{self.name}' has never been called and thus has no "
                    "defined input. Give it an `Input(shape=...)` first, or call it on data."
                )
            for layer in self._stack:
                x = layer(x)
            self._graph = (inputs, x)
        return self._graph

    @property
    def input(self) -> Any:
        """The model's symbolic input (after it is built)."""
        return self._symbolic_graph()[0]

    @property
    def output(self) -> Any:
        """The model's symbolic output (after it is built)."""
        return self._symbolic_graph()[1]

    @property
    def inputs(self) -> list[Any]:
        return [self.input]

    @property
    def outputs(self) -> list[Any]:
        return [self.output]

    def get_config(self) -> dict[str, Any]:
        """The layers (`{"class_name", "config"}` each) and the input specification."""
        from lamina.models.functional import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Sequential:
        """Rebuilds the model from `get_config()`'s output (with fresh weights)."""
        from lamina.models.functional import sequential_from_config

        return sequential_from_config(cls, config, custom_objects)
