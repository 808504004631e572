"""The `Layer` base class: a `torch.nn.Module` with Keras's life cycle.

A layer's constructor only stores (validated) arguments. Weights are created in
`build(input_shape)` the first time the layer sees data, so `Dense(64)` needs no
input size. `call(inputs, training=None)` computes. `get_config()` returns the
constructor arguments and `from_config(config)` rebuilds an equal layer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import torch
from torch import nn

from lamina import initializers as initializers_mod
from lamina import regularizers as regularizers_mod
from lamina.layers.symbolic import SymbolicTensor, call_symbolic, infer_output_shape
from lamina.utils import validation

_NAME_COUNTS: defaultdict[str, int] = defaultdict(int)
# Loss terms added with `Layer.add_loss` during the current forward pass; the
# training step takes them (`pop_call_losses`) and adds them to the loss.
_CALL_LOSSES: list[torch.Tensor] = []


def pop_call_losses() -> list[torch.Tensor]:
    """Returns and clears the loss terms added during the last forward pass."""
    if not _CALL_LOSSES:
        return []
    out = list(_CALL_LOSSES)
    _CALL_LOSSES.clear()
    return out


def clear_session() -> None:
    """Resets automatic layer names (`dense`, `dense_1`, ...) to start again from zero."""
    _NAME_COUNTS.clear()


def _snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(base: str) -> str:
    """Returns ``base`` the first time, then ``base_1``, ``base_2``, ..."""
    n = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if n == 0 else f"{base}_{n}"


def shape_of(x: Any) -> Any:
    """Keras-style shape of a tensor (or nested structure): batch axis as None."""
    if isinstance(x, dict):
        return {k: shape_of(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [shape_of(v) for v in x]
    return (None, *tuple(x.shape[1:]))


ANY_RANK = -1
"""`Layer._channels_first_rank()` of a layer that computes on each value alone
(any rank, any layout); see `lamina.layers.layout`."""


class Layer(nn.Module):
    """Base class of every Lamina layer.

    Args:
        name: The layer's name; unique names such as `dense_1` are made when None.
        trainable: Whether the layer's weights are updated by training.
            Defaults to `True`.
        input_shape: Optional shape of one sample (without the batch axis), as in
            Keras, so a `Sequential` model can be built before it sees data.

    Subclasses override `build(input_shape)` to create weights with
    `add_weight(...)`, `call(inputs, training=None)` to compute, and
    `get_config()` to return their constructor arguments.
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        input_shape: tuple[int | None, ...] | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        cls_name = type(self).__name__
        validation.no_unknown_kwargs(cls_name, kwargs)
        if name is not None and (not isinstance(name, str) or not name or "." in name):
            raise ValueError(
                f"`{cls_name}` expects `name` to be a non-empty string without '.'. "
                f"Received: name={name!r}."
            )
        validation.boolean(cls_name, "trainable", trainable)
        if input_shape is not None:
            input_shape = tuple(input_shape)
        self.name = name if name is not None else unique_name(_snake_case(cls_name))
        self._trainable = trainable
        self._input_shape_arg = input_shape
        self._dtype_arg = dtype
        self.built = False
        self._build_input_shape: Any = None
        self._expected_last_dim: int | None = None
        self._weight_regularizers: list[tuple[str, Any]] = []
        self._trainable_declared: dict[str, bool] = {}

    # ------------------------------------------------------------------ life cycle
    def build(self, input_shape: Any) -> None:
        """Creates the layer's weights. `input_shape` has None for the batch axis."""
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """Computes the layer's output. Override in subclasses."""
        raise NotImplementedError(f"Layer `{type(self).__name__}` does not implement `call()`.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if args and not isinstance(args[0], torch.Tensor) and _is_symbolic(args[0]):
            return call_symbolic(self, *args, **kwargs)
        return super().__call__(*args, **kwargs)

    def forward(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.built:
            self._build_for(inputs)
        elif self._expected_last_dim is not None and inputs.shape[-1] != self._expected_last_dim:
            raise ValueError(
                f"Input of layer '{self.name}' ({type(self).__name__}) is incompatible with the "
                f"layer: it was built for input shape {self._build_input_shape} (last dimension "
                f"{self._expected_last_dim}), but received input with shape "
                f"{shape_of(inputs)}. Pass data with {self._expected_last_dim} features, or "
                "build a new model for the new width."
            )
        out = self.call(inputs, *args, **kwargs)
        # Mask propagation (see lamina/layers/masking.py): a layer that keeps the
        # (batch, steps) axes passes its input's padding mask on, unless it set one.
        mask = getattr(inputs, "_lamina_mask", None)
        if (
            mask is not None
            and isinstance(out, torch.Tensor)
            and out.ndim >= 3
            and out.shape[:2] == inputs.shape[:2]
            and getattr(out, "_lamina_mask", None) is None
        ):
            out._lamina_mask = mask
        return out

    # ------------------------------------------------------------------ channels-first runs
    def _channels_first_rank(self) -> int | None:
        """Spatial axes of the channels-last inputs this (built) layer can also take as a
        channels-first view through `_call_channels_first`; `ANY_RANK` for layers
        that act on each value alone; None (the default) when it cannot. Models use it to
        call runs of such layers without permuting around each (`lamina.layers.layout`)."""
        return None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        """`call` on the channels-first view of a channels-last input (see `_channels_first_rank`)."""
        raise NotImplementedError(f"Layer `{type(self).__name__}` cannot compute on channels-first views.")

    def _build_for(self, inputs: Any) -> None:
        shape = shape_of(inputs)
        self.build(shape)
        self._build_input_shape = shape
        self.built = True
        if self._modules:
            # Sub-layers created in `build` start in training mode: give them ours.
            self.train(self.training)
        # Weights are created on the CPU; follow the data's device.
        leaf = inputs
        while isinstance(leaf, (list, tuple, dict)):
            leaf = next(iter(leaf.values())) if isinstance(leaf, dict) else leaf[0]
        if isinstance(leaf, torch.Tensor) and leaf.device.type != "cpu":
            self.to(leaf.device)

    def build_from_shape(self, input_shape: Any) -> None:
        """Builds the layer for inputs of ``input_shape`` (batch axis as None)."""
        if not self.built:
            self.build(input_shape)
            if self._modules:
                self.train(self.training)
            self._build_input_shape = input_shape
            self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for ``input_shape``; by default found by running the layer
        on a small zero batch (no gradient, inference mode)."""
        return infer_output_shape(self, input_shape)

    # ------------------------------------------------------------------ weights
    def add_weight(
        self,
        name: str,
        shape: tuple[int, ...],
        initializer: Any = "glorot_uniform",
        regularizer: Any = None,
        trainable: bool = True,
        dtype: torch.dtype | None = None,
    ) -> nn.Parameter:
        """Creates, initialises and registers a weight (a `torch.nn.Parameter`).

        Weights are stored in PyTorch's layout (a dense kernel is `(units, in)`),
        so `state_dict()` matches the equivalent `torch.nn` module.
        """
        tensor = torch.empty(tuple(shape), dtype=dtype or torch.get_default_dtype())
        initializers_mod.get(initializer)(tensor)
        param = nn.Parameter(tensor, requires_grad=trainable and self._trainable)
        self.register_parameter(name, param)
        self._trainable_declared[name] = trainable
        if regularizer is not None:
            self._weight_regularizers.append((name, regularizers_mod.get(regularizer)))
        return param

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        validation.boolean(type(self).__name__, "trainable", value)
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = value
                for pname, p in module.named_parameters(recurse=False):
                    p.requires_grad_(value and module._trainable_declared.get(pname, True))
            else:
                for p in module.parameters(recurse=False):
                    p.requires_grad_(value)

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        return [p for p in self.parameters() if p.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        frozen = [p for p in self.parameters() if not p.requires_grad]
        return frozen + [b for _, b in self.named_buffers() if b.is_floating_point()]

    @property
    def weights(self) -> list[torch.Tensor]:
        return self.trainable_weights + self.non_trainable_weights

    def count_params(self) -> int:
        """Number of scalars in the layer's weights (trainable and not)."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so its weights do not exist. "
                "Call it on data, or give the model an `Input(shape=...)` first."
            )
        return sum(w.numel() for w in self.weights)

    def get_weights(self) -> list[Any]:
        """Weights as NumPy arrays, in the order of `weights`."""
        return [w.detach().cpu().numpy() for w in self.weights]

    def set_weights(self, arrays: list[Any]) -> None:
        """Sets the weights from NumPy arrays in the order of `weights`."""
        weights = self.weights
        if len(arrays) != len(weights):
            raise ValueError(
                f"Layer '{self.name}' expects {len(weights)} weight arrays. "
                f"Received: {len(arrays)} arrays."
            )
        with torch.no_grad():
            for w, a in zip(weights, arrays):
                a = torch.as_tensor(a, dtype=w.dtype)
                if tuple(a.shape) != tuple(w.shape):
                    raise ValueError(
                        f"Layer '{self.name}': weight shape {tuple(w.shape)} does not match "
                        f"the array's shape {tuple(a.shape)}."
                    )
                w.copy_(a)

    # ------------------------------------------------------------------ losses
    def add_loss(self, loss: torch.Tensor) -> None:
        """Adds a loss term (e.g. an activity penalty) to the training loss of this step."""
        _CALL_LOSSES.append(loss)

    @property
    def losses(self) -> list[torch.Tensor]:
        """Weight-regularisation penalties of this layer and its sub-layers, plus the
        terms added with `add_loss` during the current forward pass."""
        out: list[torch.Tensor] = []
        for module in self.modules():
            if isinstance(module, Layer):
                for pname, reg in module._weight_regularizers:
                    out.append(reg(getattr(module, pname)))
        return out + list(_CALL_LOSSES)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-able values."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuilds a layer from `get_config()`'s output."""
        config = dict(config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)

    # ------------------------------------------------------------------ misc
    @property
    def input_shape(self) -> Any:
        return self._build_input_shape or self._input_shape_arg

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _is_symbolic(x: Any) -> bool:
    if isinstance(x, SymbolicTensor):
        return True
    if isinstance(x, (list, tuple)) and x:
        return isinstance(x[0], SymbolicTensor)
    if isinstance(x, dict) and x:
        return isinstance(next(iter(x.values())), SymbolicTensor)
    return False
