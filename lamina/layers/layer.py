"""The `Layer` base class: a `torch.nn.Module` with Keras's life cycle.

A layer's constructor only stores (validated) arguments. Weights are created in
`build(input_shape)` the first time the layer sees data, so `Dense(64)` needs no
input size. `call(inputs, training=None)` computes. `get_config()` returns the
constructor arguments and `from_config(config)` rebuilds an equal layer.
"""

from __future__ import annotations

import functools
import inspect
import re
import weakref
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from lamina import constraints as constraints_mod
from lamina import initializers as initializers_mod
from lamina import mixed_precision
from lamina import regularizers as regularizers_mod
from lamina.layers import call_spec as call_spec_mod
from lamina.layers import policy_calls, tracking
from lamina.layers.call_spec import TRAINING_CONTEXT, call_spec, shape_of
from lamina.layers.symbolic import SymbolicTensor, call_symbolic, infer_output_shape
from lamina.utils import validation
from lamina.variables import Variable, standardize_dtype

_NAME_COUNTS: defaultdict[str, int] = defaultdict(int)
# Layers holding `add_loss` terms of their latest call, by id. A call from outside
# any layer (an "entry" call: `model(x)`, `layer(x)`, a training step) first clears
# the terms of the layers under it, so `losses` hold that call's terms only (Keras 3).
_LOSS_OWNERS: weakref.WeakValueDictionary[int, Layer] = weakref.WeakValueDictionary()
_CALL_DEPTH = [0]


def clear_losses(root: nn.Module) -> None:
    """Drops the `add_loss` terms held by ``root`` and the layers under it."""
    if not _LOSS_OWNERS.data:  # the plain dict: a C-speed emptiness test on the hot path
        return
    under = {id(m) for m in root.modules()}
    for key in [k for k in list(_LOSS_OWNERS.keys()) if k in under]:
        owner = _LOSS_OWNERS.pop(key, None)
        if owner is not None:
            owner._losses.clear()


def collect_losses(root: nn.Module) -> list[torch.Tensor]:
    """The `add_loss` terms of the latest call, held by ``root`` and the layers under it."""
    if not _LOSS_OWNERS.data:  # the plain dict: a C-speed emptiness test on the hot path
        return []
    under = {id(m) for m in root.modules()}
    return [t for k, owner in list(_LOSS_OWNERS.items()) if k in under for t in owner._losses]


def pop_call_losses() -> list[torch.Tensor]:
    """Returns and clears every layer's pending `add_loss` terms (all models)."""
    out = [t for owner in list(_LOSS_OWNERS.values()) for t in owner._losses]
    for owner in list(_LOSS_OWNERS.values()):
        owner._losses.clear()
    _LOSS_OWNERS.clear()
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


__all__ = [
    "ANY_RANK",
    "Layer",
    "clear_losses",
    "clear_session",
    "collect_losses",
    "pop_call_losses",
    "shape_of",
    "unique_name",
]


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
        dtype: The layer's dtype policy (`lamina.mixed_precision`): a policy name
            (`"float32"`, `"mixed_bfloat16"`, ...), a `DTypePolicy` or a torch
            floating dtype. Weights are created in its variable dtype and the
            layer computes in its compute dtype. Defaults to `None`: the global
            policy when the layer is constructed.

    Subclasses override `build(input_shape)` to create weights with
    `add_weight(...)`, `call(inputs, training=None)` to compute, and
    `get_config()` to return their constructor arguments. As in Keras, `call`
    gets `training` and `mask` only when its signature names them, several
    positional tensors (`layer(a, b)` for `call(self, a, b)`) work eagerly and in
    functional models, and NumPy inputs are converted to tensors.

    Example:

    ```python
    class Linear(lamina.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units))
            self.b = self.add_weight(shape=(self.units,), initializer="zeros")

        def call(self, inputs):
            return inputs @ self.w + self.b
    ```
    """

    # Class defaults: a layer whose `__init__` has not run yet follows float32.
    _dtype_policy = mixed_precision.DTypePolicy("float32")
    _entry_autocast: torch.dtype | None = None
    _own_compute: torch.dtype | None = None
    _policy_entry = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._lamina_call_spec = call_spec(cls)  # `call`'s signature, read once per class
        # As in Keras, calling `build` (also directly: `layer.build(shape)`) leaves the
        # layer built, so its first call does not build it again over weights set since.
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_lamina_marks_built", False):
            cls.build = _marking_built(build)

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        input_shape: tuple[int | None, ...] | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        # Keras code may set `self.supports_masking` before calling this.
        supports_masking = self.__dict__.get("_supports_masking")
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
        self._set_dtype_policy(dtype, cls_name)
        self.built = False
        self._build_input_shape: Any = None
        self._expected_last_dim: int | None = None
        self._weight_regularizers: list[tuple[str, Any]] = []
        self._trainable_declared: dict[str, bool] = {}
        self._supports_masking: bool | None = supports_masking
        # Parameter names given automatically by `add_weight(name=None)`, renamed to
        # the attribute the weight is assigned to (`self.w = self.add_weight(...)`).
        self._auto_weight_keys: dict[int, str] = {}
        # Positional inputs a functional graph folds into one list (see `call_symbolic`).
        self._positional_arity = 0

    # ------------------------------------------------------------------ dtype policy
    def _set_dtype_policy(self, dtype: Any, owner: str) -> None:
        try:
            policy = mixed_precision.get(dtype)
        except ValueError as err:
            raise ValueError(f"`{owner}` got an invalid `dtype`. {err}") from None
        self._dtype_policy = policy
        compute = policy.torch_compute_dtype
        # A top-level call (`model(x)`, `layer(x)`) of a layer whose compute dtype is
        # reduced runs under `torch.autocast` (`policy_calls.policy_call`).
        self._entry_autocast = compute if compute in mixed_precision.REDUCED else None
        # A layer given its own `dtype=` computes in it whatever its caller does (the
        # float32 softmax of a mixed model): its `forward` is wrapped, on the instance,
        # by `_policy_forward`; a layer following the global policy costs nothing per call.
        self._own_compute = compute if dtype is not None else None
        self._policy_entry = self._entry_autocast is not None or dtype is not None
        if dtype is not None:
            self.__dict__["forward"] = self._policy_forward
        else:
            self.__dict__.pop("forward", None)

    @property
    def dtype_policy(self) -> mixed_precision.DTypePolicy:
        """The layer's `DTypePolicy`."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        self._set_dtype_policy(value, type(self).__name__)

    @property
    def dtype(self) -> str:
        """The dtype of the layer's variables (Keras's `layer.dtype`), e.g. `"float32"`."""
        return self._dtype_policy.variable_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype the layer creates its variables in."""
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in (its floating outputs' dtype)."""
        return self._dtype_policy.compute_dtype

    def _policy_forward(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """`forward` in the layer's own compute dtype (`policy_calls.policy_forward`)."""
        return policy_calls.policy_forward(self, inputs, args, kwargs)

    # ------------------------------------------------------------------ life cycle
    def build(self, input_shape: Any) -> None:
        """Creates the layer's weights. `input_shape` has None for the batch axis."""
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """Computes the layer's output. Override in subclasses."""
        raise NotImplementedError(f"Layer `{type(self).__name__}` does not implement `call()`.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args and kwargs:
            args, kwargs = self._first_input_from_kwargs(kwargs)
        if args and not isinstance(args[0], torch.Tensor) and _is_symbolic(args[0]):
            return call_symbolic(self, *args, **kwargs)
        return self._entry_call(args, kwargs)

    def _entry_call(self, args: tuple, kwargs: dict[str, Any]) -> Any:
        """`nn.Module.__call__`; a call from outside any layer first clears the
        `add_loss` terms under this layer (so `losses` are this call's)."""
        if _CALL_DEPTH[0]:
            return nn.Module.__call__(self, *args, **kwargs)
        if _LOSS_OWNERS.data:
            clear_losses(self)
        _CALL_DEPTH[0] = 1
        try:
            if self._policy_entry:  # (a dtype policy of its own, or mixed precision)
                return policy_calls.policy_call(self, args, kwargs)
            return nn.Module.__call__(self, *args, **kwargs)
        finally:
            _CALL_DEPTH[0] = 0

    def _first_input_from_kwargs(self, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """Keras binds a call's arguments to `call`'s signature, so the first input may
        come by keyword (`layer(logits=x, targets=y)`): it becomes the positional input."""
        spec = self._lamina_call_spec
        names = spec.tensor_args
        if not names:
            return (), kwargs
        if names[0] not in kwargs:
            raise TypeError(
                f"Layer '{self.name}' ({type(self).__name__}) was called without its first input "
                f"`{names[0]}` (its `{spec.text}`). Received: keyword arguments "
                f"{', '.join(kwargs)} only. Pass the input positionally or as `{names[0]}=`."
            )
        kwargs = dict(kwargs)
        return (kwargs.pop(names[0]),), kwargs

    def forward(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if inputs.__class__ is not torch.Tensor:
            inputs, args = self._standardize_inputs(inputs, args)
        if not self.built:
            self._build_for(inputs) if not args else self._build_for_args(inputs, args)
        elif self._expected_last_dim is not None and inputs.shape[-1] != self._expected_last_dim:
            raise ValueError(
                f"Input of layer '{self.name}' ({type(self).__name__}) is incompatible with the "
                f"layer: it was built for input shape {self._build_input_shape} (last dimension "
                f"{self._expected_last_dim}), but received input with shape "
                f"{shape_of(inputs)}. Pass data with {self._expected_last_dim} features, or "
                "build a new model for the new width."
            )
        spec = self._lamina_call_spec
        if kwargs:
            allowed = spec.keywords
            if allowed is not None:
                for key in kwargs:
                    if key not in allowed:
                        kwargs = call_spec_mod.filter_kwargs(self, spec, kwargs)
                        break
        if args and spec.max_positional is not None and len(args) >= spec.max_positional:
            raise call_spec_mod.too_many_positional(self, spec, len(args) + 1)
        if spec.keras_rules:
            return self._keras_call(spec, inputs, args, kwargs)
        training = kwargs.get("training") if kwargs else None
        if training is None:
            # A sub-layer called without `training=` inherits its caller's (Keras's call context).
            if spec.takes_training and TRAINING_CONTEXT.value is not None:
                kwargs["training"] = TRAINING_CONTEXT.value
            out = self.call(inputs, *args, **kwargs)
        elif self._modules:
            outer = TRAINING_CONTEXT.value
            TRAINING_CONTEXT.value = training
            try:
                out = self.call(inputs, *args, **kwargs)
            finally:
                TRAINING_CONTEXT.value = outer
        else:
            out = self.call(inputs, *args, **kwargs)
        # Masks (see lamina/layers/masking.py): a mask set in `call` (under either name)
        # gets both names; otherwise a Lamina layer that keeps the (batch, steps) axes
        # passes its input's mask on.
        own = getattr(out, "_lamina_mask", None)
        if own is not None:
            if getattr(out, "_keras_mask", None) is None:
                out._keras_mask = own
            return out
        mask = getattr(inputs, "_keras_mask", None)
        if mask is not None:
            if getattr(inputs, "_lamina_mask", None) is None:
                inputs._lamina_mask = mask  # for the layers that read the older name
            if (
                isinstance(out, torch.Tensor)
                and out.ndim >= 3
                and out.shape[:2] == inputs.shape[:2]
                and getattr(out, "_keras_mask", None) is None
            ):
                out._keras_mask = out._lamina_mask = mask
        return out

    def _keras_call(self, spec: Any, inputs: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
        """`call` with Keras 3's rules for a user's layer: `mask=` filled from the inputs,
        the training flag inherited, the output mask from `compute_mask`."""
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            previous_mask = call_spec_mod.read_mask(inputs)
        if spec.takes_mask and kwargs.get("mask") is None and not args:
            kwargs["mask"] = previous_mask
        elif args:
            names = spec.tensor_args
            for name, value in zip(names, (inputs, *args)):
                key = f"{name}_mask"
                if key in (spec.keywords or ()) and kwargs.get(key) is None:
                    kwargs[key] = call_spec_mod.read_mask(value)
        training = kwargs.get("training")
        if training is None and spec.takes_training and TRAINING_CONTEXT.value is not None:
            kwargs["training"] = training = TRAINING_CONTEXT.value
        outer = TRAINING_CONTEXT.value
        if training is not None:
            TRAINING_CONTEXT.value = training
        try:
            out = self.call(inputs, *args, **kwargs)
        finally:
            TRAINING_CONTEXT.value = outer
        call_spec_mod.apply_keras_mask_rules(self, inputs, out, previous_mask)
        return out

    def _standardize_inputs(self, inputs: Any, args: tuple) -> tuple[Any, tuple]:
        """NumPy / Python inputs as tensors, and a functional graph's folded list of
        positional inputs unpacked again (off the single-tensor fast path)."""
        if isinstance(inputs, torch.Tensor):
            return inputs, args
        if not args and isinstance(inputs, (list, tuple)):
            spec = self._lamina_call_spec
            n = len(inputs)
            if (self._positional_arity and n == self._positional_arity) or (
                # `layer([a, b])` for `call(self, a, b)`: the tensors go to their parameters.
                spec.keras_rules
                and spec.n_required >= 2
                and spec.n_required <= n <= (spec.max_positional or n)
            ):
                inputs, args = inputs[0], tuple(inputs[1:])
        device = None
        for tensor in self.parameters():
            device = tensor.device
            break
        inputs = call_spec_mod.convert_inputs(inputs, device)
        if args:
            args = tuple(call_spec_mod.convert_inputs(a, device) for a in args)
        return inputs, args

    # ------------------------------------------------------------------ graph nodes
    @property
    def input(self) -> Any:
        """The symbolic input of the layer's first call in a functional graph (Keras's
        `layer.input`): one tensor, or the list the layer was called on."""
        return self._first_node_value("inputs", "input")

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's first call in a functional graph."""
        return self._first_node_value("outputs", "output")

    def _first_node_value(self, attr: str, what: str) -> Any:
        nodes = self.__dict__.get("_inbound_nodes")
        if not nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic input (e.g. "
                f"`lamina.Input(...)`), so it has no defined {what}."
            )
        value = getattr(nodes[0], attr)
        if value is None:  # an input layer: its input is its output
            value = nodes[0].outputs
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    # ------------------------------------------------------------------ masks
    @property
    def supports_masking(self) -> bool:
        """Whether the layer passes masks on (through `compute_mask`).

        Lamina's own layers pass a padding mask on when they keep the `(batch, steps)`
        axes. For a custom layer it follows Keras: True when the layer overrides
        `compute_mask` (or sets `self.supports_masking = True`), else False, and then
        an incoming mask is dropped with a warning.
        """
        value = self.__dict__.get("_supports_masking")
        if value is not None:
            return value
        if not call_spec(self.__class__).keras_rules:
            return True
        return type(self).compute_mask is not Layer.compute_mask

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The output's mask; by default the incoming one (`previous_mask`).

        Args:
            inputs: The layer's inputs.
            previous_mask: The mask the inputs carry (None when none).

        Returns:
            A boolean tensor of shape `(batch, steps)`, or None.
        """
        return previous_mask

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
        self._after_build(shape, inputs)

    def _build_for_args(self, inputs: Any, args: tuple) -> None:
        """Builds for a call with several positional inputs: a `build` with one
        parameter gets the first input's shape, one with several gets
        `{name}_shape` keywords named after `call`'s parameters (as in Keras)."""
        if type(self)._build_for is not Layer._build_for:  # a model's own way to build
            self._build_for(inputs)
            return
        shapes = call_spec_mod.build_shapes(self.build, call_spec(self.__class__), inputs, args)
        shape = shape_of(inputs)
        if shapes is None:
            self.build(shape)
        else:
            self.build(**shapes)
        self._after_build(shape, inputs)

    def _after_build(self, shape: Any, inputs: Any) -> None:
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
    def add_weight(self, *args: Any, **kwargs: Any) -> Variable:
        """Creates, initialises and tracks a weight, a `lamina.Variable`.

        Keras 3's signature: `add_weight(shape=None, initializer=None, dtype=None,
        trainable=True, autocast=True, regularizer=None, constraint=None,
        aggregation="none", overwrite_with_gradient=False, name=None)`. Lamina's
        built-in layers also call it with a name first, as
        `add_weight(name, shape, initializer, regularizer, trainable, dtype)`.

        Args:
            shape: The weight's shape. Defaults to `None` (a scalar, `()`).
            initializer: A name (`"zeros"`, `"glorot_uniform"`, ...), an
                `Initializer`, or a callable `fn(shape, dtype=None)`. Defaults to
                `None`: `"glorot_uniform"` for float weights, `"zeros"` otherwise.
            dtype: `"float32"`, `"int64"`, ... or a torch dtype. Defaults to `None`
                (`"float32"`).
            trainable: Whether training updates it. Defaults to `True`.
            regularizer: A regularizer (name or instance) whose penalty joins
                `layer.losses`. Defaults to `None`.
            constraint: A constraint (a name such as `"non_neg"`, a
                `lamina.constraints.Constraint`, or a callable `w -> w`) that the
                optimizer applies to the weight after each update, on the weight as
                `shape` lays it out; stored on the variable as `constraint`.
                Defaults to `None`.
            name: The weight's name. Defaults to `None`: `"variable"`,
                `"variable_1"`, ... (the attribute it is assigned to becomes its
                key in `state_dict()`).

        Returns:
            The `Variable` (a `torch.nn.Parameter`).

        Example:

        >>> layer = Layer()
        >>> w = layer.add_weight(shape=(3, 2), initializer="ones")
        >>> (w.path, tuple(w.shape))
        ('layer/variable', (3, 2))
        """
        if args and isinstance(args[0], str):
            spec = _LEGACY_ADD_WEIGHT.bind(*args, **kwargs)
        else:
            try:
                spec = _KERAS_ADD_WEIGHT.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(
                    f"`{type(self).__name__}.add_weight` got unexpected arguments ({err}). Its "
                    f"signature is add_weight{_KERAS_ADD_WEIGHT}. Received: args={args!r}, "
                    f"kwargs={kwargs!r}."
                ) from None
        spec.apply_defaults()
        a = spec.arguments
        return self._add_variable(
            a["name"], a["shape"], a["initializer"], a["regularizer"], a["trainable"], a["dtype"],
            a.get("constraint"), torch_layout=spec.signature is _LEGACY_ADD_WEIGHT,
        )

    def add_variable(self, *args: Any, **kwargs: Any) -> Variable:
        """Alias of `add_weight`, as in Keras 3."""
        return self.add_weight(*args, **kwargs)

    def _add_variable(
        self, name: str | None, shape: Any, initializer: Any, regularizer: Any, trainable: bool,
        dtype: Any, constraint: Any, torch_layout: bool = False,
    ) -> Variable:
        """Makes the weight. ``torch_layout``: the shape is in PyTorch's layout (Lamina's
        built-in layers, name first), so fans are read PyTorch's way; otherwise it is in
        Keras's layout (a user's `add_weight(shape=(in, out))`) and read Keras's way."""
        owner = type(self).__name__
        shape = () if shape is None else shape
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, (tuple, list, torch.Size)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise ValueError(
                f"`{owner}.add_weight` expects `shape` to be a tuple of non-negative integers "
                f"(no None: weights have a fixed size). Received: shape={shape!r}. Build the "
                "weight from the known dimensions of `input_shape`."
            )
        validation.boolean(f"{owner}.add_weight", "trainable", trainable)
        constraint = constraints_mod.get(constraint)
        torch_dtype = standardize_dtype(dtype, self._dtype_policy.torch_variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if torch_dtype.is_floating_point else "zeros"
        auto = name is None
        if auto:
            n = self.__dict__.get("_auto_weight_count", 0)
            self.__dict__["_auto_weight_count"] = n + 1
            name = self._free_weight_name("variable" if n == 0 else f"variable_{n}")
        elif not isinstance(name, str) or not name or "." in name:
            raise ValueError(
                f"`{owner}.add_weight` expects `name` to be a non-empty string without '.'. "
                f"Received: name={name!r}."
            )
        shape = tuple(int(d) for d in shape)
        value = initializer
        if torch_layout:
            init = initializers_mod.get(initializer)
            value = torch.empty(shape, dtype=torch_dtype)
            with torch.no_grad():
                init(value)
        variable = Variable(
            value, shape=shape, dtype=torch_dtype,
            trainable=trainable and self._trainable, name=name, path=f"{self.name}/{name}",
            constraint=constraint,
        )
        variable._declared_trainable = trainable
        self.register_parameter(name, variable)
        if auto:
            self._auto_weight_keys[id(variable)] = name
        self._trainable_declared[name] = trainable
        if regularizer is not None:
            reg = regularizers_mod.get(regularizer)
            variable.regularizer = reg
            self._weight_regularizers.append((name, reg))
        return variable

    def _free_weight_name(self, base: str) -> str:
        name, i = base, 0
        while name in self._parameters or name in self.__dict__ or name in self._modules:
            i += 1
            name = f"{base}_{i}"
        return name

    def __setattr__(self, name: str, value: Any) -> None:
        auto = self.__dict__.get("_auto_weight_keys")
        if auto and isinstance(value, Variable) and id(value) in auto:
            self._rename_weight(auto.pop(id(value)), name, value)
        if name[:1] != "_" and "_modules" in self.__dict__:
            # Layers in a list / tuple / dict attribute are tracked, as in Keras.
            previous = self.__dict__.get(name)
            if type(value) in (list, tuple, dict) or isinstance(previous, tracking.TRACKED):
                self._modules.pop(name, None)
                self.__dict__.pop(name, None)
            if type(value) in (list, tuple, dict):
                object.__setattr__(self, name, tracking.track(self, name, value))
                return
        super().__setattr__(name, value)

    def _rename_weight(self, old: str, new: str, value: Variable) -> None:
        """Re-keys an automatically named weight under the attribute it is assigned to,
        keeping its place (so `state_dict()` holds it once, as `new`)."""
        if old == new or self._parameters.get(old) is not value or new in self._parameters:
            return
        items = [(new if k == old else k, v) for k, v in self._parameters.items()]
        self._parameters.clear()
        self._parameters.update(items)
        self._trainable_declared[new] = self._trainable_declared.pop(old, True)
        self._weight_regularizers = [(new if n == old else n, r) for n, r in self._weight_regularizers]

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
                    declared = getattr(p, "_declared_trainable", None)
                    if declared is None:
                        declared = module._trainable_declared.get(pname, True)
                    p.requires_grad_(value and declared and (p.is_floating_point() or p.is_complex()))
            else:
                for p in module.parameters(recurse=False):
                    p.requires_grad_(value)

    def _own_weights(self) -> list[torch.Tensor]:
        params = list(self._parameters.values())
        trainable = [p for p in params if p is not None and p.requires_grad]
        frozen = [p for p in params if p is not None and not p.requires_grad]
        buffers = [b for b in self._buffers.values() if b is not None and b.is_floating_point()]
        return trainable + frozen + buffers

    @property
    def weights(self) -> list[torch.Tensor]:
        """The weights in Keras's order: each layer's own (trainable ones first, then
        the frozen ones and its floating-point buffers), then its sub-layers'."""
        return self._state_list(with_seeds=False)

    def _state_list(self, with_seeds: bool) -> list[torch.Tensor]:
        if with_seeds:
            from lamina.random import SeedGenerator
        out: list[torch.Tensor] = []
        seen: set[int] = set()
        for module in self.modules():
            own = module._own_weights() if isinstance(module, Layer) else [
                *module._parameters.values(), *(b for b in module._buffers.values() if b is not None
                                                 and b.is_floating_point())]
            if with_seeds:
                own = [*own, *(gen.state for gen in SeedGenerator._found_in(module))]
            for w in own:
                if w is not None and id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        return [w for w in self.weights if not w.requires_grad]

    @property
    def variables(self) -> list[torch.Tensor]:
        """All the layer's state: `weights` plus the state variable of each
        `lamina.random.SeedGenerator` a layer holds, as in Keras (each layer's own,
        then its sub-layers')."""
        return self._state_list(with_seeds=True)

    @property
    def trainable_variables(self) -> list[torch.Tensor]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[torch.Tensor]:
        """`non_trainable_weights` plus the seed generators' states (see `variables`)."""
        return [v for v in self.variables if not v.requires_grad]

    def count_params(self) -> int:
        """Number of scalars in the layer's weights (trainable and not)."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so its weights do not exist. "
                "Call it on data, or give the model an `Input(shape=...)` first."
            )
        return sum(w.numel() for w in self.weights)

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays (copies) in Keras's layout and order.

        A `Dense` gives `[kernel (in, units), bias (units,)]` and a `Conv2D`
        `[kernel (kh, kw, in, filters), bias]`, as Keras's `get_weights()`; a model
        gives the concatenation over its layers. `set_weights` takes the same list.
        """
        from lamina.saving.keras_layout import get_keras_weights

        return [np.array(a, copy=True) for a in get_keras_weights(self)]

    def set_weights(self, weights: list[Any]) -> None:
        """Sets the weights from NumPy arrays in Keras's layout and order (as
        `get_weights()` returns them, or as Keras's `layer.get_weights()` does).

        Args:
            weights: The arrays. A wrong number of arrays, or a wrong shape (such as a
                kernel in PyTorch's `(units, in)` layout), raises a ValueError and
                changes nothing.
        """
        from lamina.saving.keras_layout import set_keras_weights

        set_keras_weights(self, list(weights))

    # ------------------------------------------------------------------ saving hooks
    def save_own_variables(self, store: Any) -> None:
        """Writes the layer's own variables (not its sub-layers') into ``store``.

        `model.save("m.keras")` calls this for a layer whose class overrides it or
        `load_own_variables`; other layers are written in Keras's weight layout.
        The default writes `store["0"]`, `store["1"]`, ... in the order of the
        layer's own `weights` (trainable first), each a NumPy copy of the variable
        as `weights` holds it (PyTorch's layout: a `Dense` kernel is `(units, in)`),
        so that `store[str(i)]` fits `self.weights[i]` in an override, as in Keras.

        Args:
            store: A dict-like object, keyed by strings, that receives NumPy arrays.

        Example:

        >>> layer = Layer()
        >>> _ = layer.add_weight(shape=(2,), initializer="ones")
        >>> store = {}
        >>> layer.save_own_variables(store)
        >>> {k: v.tolist() for k, v in store.items()}
        {'0': [1.0, 1.0]}
        """
        for i, v in enumerate(self._own_weights()):
            store[f"{i}"] = v.detach().cpu().numpy().copy()

    def load_own_variables(self, store: Any) -> None:
        """Sets the layer's own variables from ``store``, as `save_own_variables` wrote it.

        Args:
            store: A dict-like object holding `store["0"]`, `store["1"]`, ... (arrays).

        Raises:
            ValueError: when ``store`` holds another number of variables than the layer.
        """
        own = self._own_weights()
        keys = list(store.keys())
        if len(keys) != len(own):
            raise ValueError(
                f"Layer '{self.name}' expects {len(own)} variables to load. Received: "
                f"{len(keys)} variables ({keys[:10]}). Load the file into the architecture "
                "that wrote it."
            )
        for i, v in enumerate(own):
            value = torch.as_tensor(np.asarray(store[f"{i}"]), dtype=v.dtype, device=v.device)
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(
                    f"Layer '{self.name}' expects variable {i} of shape {tuple(v.shape)}. "
                    f"Received: shape={tuple(value.shape)}. Load the file into the architecture "
                    "that wrote it."
                )
            with torch.no_grad():
                v.copy_(value)

    def get_build_config(self) -> dict[str, Any] | None:
        """What `build_from_config` needs to build the layer again on loading: by
        default `{"input_shape": ...}` once built (with None for the batch axis),
        else None. Override it, with `build_from_config`, for a `build` that takes
        more than the input shape."""
        if not self.built:
            return None
        shape = self._build_input_shape
        if isinstance(shape, torch.Size):
            shape = tuple(shape)
        if isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape):
            return {"input_shape": list(shape)}
        return None

    def build_from_config(self, config: dict[str, Any] | None) -> None:
        """Builds the layer from `get_build_config()`'s output (called on loading).

        Args:
            config: `{"input_shape": shape}` or `{"shapes_dict": {...}}`; None or
                empty leaves the layer as it is.
        """
        if not config:
            return
        if config.get("input_shape") is not None:
            shape = config["input_shape"]
            self.build(tuple(shape) if isinstance(shape, list) else shape)
        elif config.get("shapes_dict"):
            self.build(**config["shapes_dict"])
        self.built = True

    # ------------------------------------------------------------------ losses
    def add_loss(self, loss: Any) -> None:
        """Adds a loss term (e.g. an activity penalty) to the loss of the current call.

        The terms of a call are kept until the next call from outside the layer
        (or the model containing it); `losses` lists them and `fit` adds them to
        the training loss.

        Args:
            loss: A scalar tensor (or a number), or a list / tuple of them.

        Example:

        ```python
        class ActivityPenalty(lamina.layers.Layer):
            def call(self, inputs):
                self.add_loss(1e-2 * lamina.ops.sum(inputs))
                return inputs
        ```
        """
        if isinstance(loss, (list, tuple)):
            for term in loss:
                self.add_loss(term)
            return
        if _is_symbolic(loss):
            # Keras 3 refuses a loss of symbolic tensors (`model.add_loss(kl)` on a graph).
            raise ValueError(
                "`add_loss()` can only be called from inside `build()` or `call()`, on a "
                f"tensor input. Received invalid value: {loss!r} (a symbolic tensor of a "
                f"functional graph) on layer '{self.name}'. Compute the loss in the `call()` "
                "of a layer of the graph and call `self.add_loss(...)` there."
            )
        if "_losses" not in self.__dict__:
            self._losses: list[torch.Tensor] = []
        self._losses.append(loss if isinstance(loss, torch.Tensor) else torch.as_tensor(loss, dtype=torch.float32))
        _LOSS_OWNERS[id(self)] = self

    @property
    def losses(self) -> list[torch.Tensor]:
        """The `add_loss` terms of the latest call of this layer and its sub-layers,
        then the weight-regularisation penalties (as Keras 3 orders them)."""
        out: list[torch.Tensor] = collect_losses(self)
        for module in self.modules():
            if isinstance(module, Layer):
                for pname, reg in module._weight_regularizers:
                    out.append(reg(getattr(module, pname)))
        return out

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-able values."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        policy = self._dtype_policy
        if self._own_compute is not None or policy.name != "float32":
            # The policy's name (a `.keras` file gets Keras's `DTypePolicy` object;
            # `from_config` accepts either, or a `DTypePolicy`).
            config["dtype"] = policy.name
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuilds a layer from `get_config()`'s output."""
        config = check_config_arguments(cls, config)
        if "input_shape" in config and config["input_shape"] is not None:
            config["input_shape"] = tuple(config["input_shape"])
        return cls(**config)

    # ------------------------------------------------------------------ misc
    @property
    def input_shape(self) -> Any:
        return self._build_input_shape or self._input_shape_arg

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


Layer._lamina_call_spec = call_spec(Layer)


class ConfigArgumentError(TypeError, ValueError):
    """A saved config does not fit the constructor of its class: a required
    argument is missing or an argument is unknown. Both a `TypeError` (what
    calling the constructor raised before) and a `ValueError` (what a loader
    raises for a broken file)."""


def check_config_arguments(cls: type, config: Any, what: str | None = None) -> dict[str, Any]:
    """A copy of ``config`` once it is known to bind to ``cls.__init__``.

    Raises `ConfigArgumentError` naming the class, the missing or unknown
    argument and the known ones, before anything is created. A constructor
    that takes ``**kwargs`` accepts any extra key (it checks them itself).
    """
    label = what or f"`{cls.__name__}` config"
    if not isinstance(config, dict):
        raise ConfigArgumentError(
            f"The {label} must be a dict of constructor arguments. "
            f"Received: {type(config).__name__} {config!r:.200}."
        )
    bad_keys = [k for k in config if not isinstance(k, str)]
    if bad_keys:
        raise ConfigArgumentError(f"The {label} has keys that are not strings. Received: {bad_keys!r:.200}.")
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # a class without an inspectable constructor
        return dict(config)
    params = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = [
        n for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    if not takes_any:
        unknown = [k for k in config if k not in known]
        if unknown:
            raise ConfigArgumentError(
                f"The {label} has an unknown argument {unknown[0]!r} (known: {', '.join(known)}). "
                f"Received: {unknown[0]}={config[unknown[0]]!r:.100}. Remove it from the config."
            )
    missing = [
        n for n, p in params.items()
        if p.default is inspect.Parameter.empty and n not in config
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    if missing:
        raise ConfigArgumentError(
            f"The {label} lacks the required argument {missing[0]!r}"
            + (f" (also missing: {', '.join(map(repr, missing[1:]))})" if missing[1:] else "")
            + f". Received: config keys {sorted(config)!r:.300}. Add it to the config."
        )
    return dict(config)


def _marking_built(build: Any) -> Any:
    @functools.wraps(build)
    def build_and_mark(self: Layer, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        self.built = True
        if self._build_input_shape is None:
            shape = args[0] if args else (next(iter(kwargs.values())) if kwargs else None)
            self._build_input_shape = tuple(shape) if isinstance(shape, list) and all(
                d is None or isinstance(d, int) for d in shape) else shape

    build_and_mark._lamina_marks_built = True  # type: ignore[attr-defined]
    return build_and_mark


def _keras_add_weight(
    shape: Any = None, initializer: Any = None, dtype: Any = None, trainable: bool = True,
    autocast: bool = True, regularizer: Any = None, constraint: Any = None, aggregation: str = "none",
    overwrite_with_gradient: bool = False, name: str | None = None,
) -> None: ...


def _legacy_add_weight(
    name: str, shape: Any = None, initializer: Any = None, regularizer: Any = None,
    trainable: bool = True, dtype: Any = None, constraint: Any = None, **ignored: Any,
) -> None: ...


_KERAS_ADD_WEIGHT = inspect.signature(_keras_add_weight)
_LEGACY_ADD_WEIGHT = inspect.signature(_legacy_add_weight)


def _is_symbolic(x: Any) -> bool:
    if isinstance(x, SymbolicTensor):
        return True
    if isinstance(x, (list, tuple)) and x:
        return isinstance(x[0], SymbolicTensor)
    if isinstance(x, dict) and x:
        return isinstance(next(iter(x.values())), SymbolicTensor)
    return False
