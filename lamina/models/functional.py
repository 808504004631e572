"""`Functional`: the model that `lamina.Model(inputs, outputs)` makes.

Calling layers on `lamina.Input(...)` records a graph of `Node`s (see
`lamina.layers.symbolic`). `Functional` walks that graph back from the outputs
to the inputs once, registers every layer as a sub-module under its name, and
turns the graph into a flat plan: each call of `call(inputs)` replays the nodes
in topological order on real tensors. A layer called twice (a shared layer)
appears once, so both calls use the same weights.

This module also holds the configs of `Functional` and `Sequential` models
(`get_config` / `from_config`), so a saved model can be rebuilt from JSON, and
`get_layer`, shared by every model.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from lamina.layers import layout
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.symbolic import Node, SymbolicTensor
from lamina.models.model import Model
from lamina.utils.tree import flatten

_TENSOR_KEY = "__tensor__"


class _Slot:
    """Where a tensor lives in the replay buffer (an index into a list)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _replace(struct: Any, fn: Any) -> Any:
    """Maps ``fn`` over the leaves of a list / tuple / dict structure (tuples become lists)."""
    if isinstance(struct, dict):
        return {k: _replace(v, fn) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [_replace(v, fn) for v in struct]
    return fn(struct)


def _fuse_runs(plan: list[tuple], output_slots: Any) -> tuple[list[tuple], bool]:
    """``plan`` with chains of channels-first layers called as `ChannelsFirstRun`s,
    and the other single-tensor calls of Lamina layers as `layout.DirectCall`s.

    A chain is a sequence of single-input, single-output calls where each
    output feeds only the next call (and is not a model output); its runs are
    found by `layout.find_runs`. Also returns whether the result is final
    (every layer built), so the caller may keep it.
    """
    if not all(getattr(entry[0], "built", True) for entry in plan):
        return plan, False
    uses: dict[int, int] = {}
    for slot in flatten(output_slots) + [
        s for entry in plan for s in ([entry[1]] if isinstance(entry[1], int) else
                                      [leaf.index for leaf in flatten(entry[1]) if isinstance(leaf, _Slot)])
    ]:
        uses[slot] = uses.get(slot, 0) + 1
    chains: list[list[int]] = []
    open_chains: dict[int, list[int]] = {}  # output slot -> the chain that ends with it
    for k, (_, arg, kwargs, pass_training, out_slots) in enumerate(plan):
        if not (isinstance(arg, int) and not kwargs and pass_training and len(out_slots) == 1):
            continue
        chain = open_chains.pop(arg, None) if uses.get(arg) == 1 else None
        if chain is None:
            chain = []
            chains.append(chain)
        chain.append(k)
        open_chains[out_slots[0]] = chain
    fused: dict[int, tuple] = {}
    dropped: set[int] = set()
    for chain in chains:
        layers = [plan[k][0] for k in chain]
        for start, stop, rank in layout.find_runs(layers):
            run = layout.ChannelsFirstRun(layers[start:stop], rank)
            fused[chain[start]] = (run, plan[chain[start]][1], {}, True, plan[chain[stop - 1]][4])
            dropped.update(chain[start + 1 : stop])
    steps = []
    for k, entry in enumerate(plan):
        if k in dropped:
            continue
        entry = fused.get(k, entry)
        if isinstance(entry[0], Layer) and isinstance(entry[1], int) and not entry[2]:
            entry = (layout.DirectCall(entry[0]), *entry[1:])  # one tensor in: skip Module.__call__
        steps.append(entry)
    return steps, True


def _check_symbolic(struct: Any, what: str) -> list[SymbolicTensor]:
    leaves = flatten(struct)
    if not leaves:
        raise ValueError(f"`Model` expects at least one tensor in `{what}`. Received: {what}={struct!r}.")
    for t in leaves:
        if not isinstance(t, SymbolicTensor):
            raise TypeError(
                f"`Model` expects `{what}` to hold symbolic tensors (from `lamina.Input(...)` and "
                f"layers called on it). Received: {type(t).__name__} {t!r}. Build the graph by "
                "calling layers on `lamina.Input(shape=...)`."
            )
    return leaves


def _topological_nodes(outputs: list[SymbolicTensor], inputs: list[SymbolicTensor]) -> list[Node]:
    """Nodes that lead from ``inputs`` to ``outputs``, each after the nodes it reads."""
    input_nodes = {id(t.node) for t in inputs}
    input_names = [t.node.layer.name for t in inputs]
    order: list[Node] = []
    done: set[int] = set()
    stack: list[tuple[Node, bool]] = []
    for t in reversed(outputs):
        if t.node is None:
            raise ValueError(
                f"The output {t!r} was not made by a layer of a functional graph. Pass the "
                "outputs of layers called on `lamina.Input(...)`."
            )
        stack.append((t.node, False))
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded or id(node) in input_nodes:
            done.add(id(node))
            order.append(node)
            continue
        if isinstance(node.layer, InputLayer):
            raise ValueError(
                f"Graph disconnected: the outputs depend on the input '{node.layer.name}', which "
                f"is not in the model's `inputs` ({input_names}). Add it to `inputs=`. "
                f"Received: inputs={input_names}."
            )
        stack.append((node, True))
        for parent in reversed(node.parents):
            if parent.node is None:
                raise ValueError(
                    f"Layer '{node.layer.name}' was called on {parent!r}, which comes from no "
                    "layer. Build the graph from `lamina.Input(...)`."
                )
            if id(parent.node) not in done:
                stack.append((parent.node, False))
    return order


class Functional(Model):
    """A model defined by a graph of layers: `lamina.Model(inputs, outputs)`.

    Args:
        inputs: The model's input(s): a symbolic tensor from `lamina.Input(...)`,
            a list of them, or a dict by name.
        outputs: The tensor(s) computed from `inputs` by calling layers: one, a
            list, or a dict by output name (the names used by `compile`'s per-output
            losses and metrics).
        name: Optional model name. Defaults to an automatic `functional_N`.
        trainable: Whether the model's weights are trained. Defaults to `True`.

    Calling the model takes the inputs in the same form (a tensor; a list in
    input order; or a dict by input name) and returns outputs in the structure of
    `outputs`. Shapes: each input is `(batch, *Input.shape)`; each output has the
    shape its symbolic tensor shows, with the batch axis first.

    Example:
        >>> import lamina
        >>> inputs = lamina.Input(shape=(8,), name="features")
        >>> hidden = lamina.layers.Dense(16, activation="relu")(inputs)
        >>> outputs = lamina.layers.Dense(1)(hidden)
        >>> model = lamina.Model(inputs, outputs)
        >>> model.output_names
        ['dense_1']
    """

    def __init__(
        self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        in_flat = _check_symbolic(inputs, "inputs")
        out_flat = _check_symbolic(outputs, "outputs")
        for t in in_flat:
            if t.node is None or not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    "`Model` expects every entry of `inputs` to come from `lamina.Input(...)`. "
                    f"Received: {t!r}. Pass the `Input` tensors the graph starts from."
                )
        if len({id(t) for t in in_flat}) != len(in_flat):
            raise ValueError(f"The same `Input` appears twice in `inputs`. Received: inputs={inputs!r}.")
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = list(in_flat)
        self.outputs = list(out_flat)
        nodes = _topological_nodes(out_flat, in_flat)
        input_node_ids = {id(t.node) for t in in_flat}
        self._nodes = [n for n in nodes if id(n) not in input_node_ids]

        layers: list[nn.Module] = [t.node.layer for t in in_flat]
        for node in self._nodes:
            if not any(node.layer is seen for seen in layers):
                layers.append(node.layer)
        self._layers = layers
        self._register_layers()
        self._layer_nodes: dict[str, list[Node]] = {}
        for t in in_flat:
            self._layer_nodes[t.node.layer.name] = [t.node]
        for node in self._nodes:
            self._layer_nodes.setdefault(_layer_name(node.layer), []).append(node)
        self._make_plan()
        self.built = True
        if not trainable:
            self.trainable = False  # freeze every layer, as Keras does
        self._build_input_shape = _replace(inputs, lambda t: t.shape) if not isinstance(
            inputs, SymbolicTensor) else inputs.shape

    # ------------------------------------------------------------------ graph
    def _register_layers(self) -> None:
        names: dict[str, nn.Module] = {}
        for layer in self._layers:
            name = _layer_name(layer)
            if name in names:
                raise ValueError(
                    f"All layers in a functional model must have unique names. The name {name!r} is "
                    f"used by two different layers ({type(names[name]).__name__} and "
                    f"{type(layer).__name__}). Give one of them another `name=`."
                )
            names[name] = layer
            self.add_module(_module_key(self, name), layer)

    def _make_plan(self) -> None:
        slots: dict[int, int] = {id(t): i for i, t in enumerate(self.inputs)}

        def to_slot(t: Any) -> Any:
            return _Slot(slots[id(t)]) if isinstance(t, SymbolicTensor) else t

        plan = []
        for node in self._nodes:
            spec = node.inputs
            arg: Any = slots[id(spec)] if isinstance(spec, SymbolicTensor) else _replace(spec, to_slot)
            out_slots = []
            for t in flatten(node.outputs):
                slots[id(t)] = len(slots)
                out_slots.append(slots[id(t)])
            is_lamina = isinstance(node.layer, Layer)
            plan.append((node.layer, arg, dict(node.kwargs), is_lamina and "training" not in node.kwargs, out_slots))
        self._plan = plan
        self._n_slots = len(slots)
        self._output_slots = _replace(self._outputs_struct, lambda t: slots[id(t)])
        self._run_plan: list[tuple] | None = None  # `_plan` with channels-first runs fused
        # Per input: its rank and the (axis, size) pairs it fixes, for `call`'s quick check.
        self._input_specs = [
            (len(t.shape), tuple((axis, size) for axis, size in enumerate(t.shape) if axis > 0 and size is not None))
            for t in self.inputs
        ]

    # ------------------------------------------------------------------ calling
    def _input_list(self, inputs: Any) -> list[torch.Tensor]:
        """The call's inputs as a list in input order (from a tensor, list or dict)."""
        names = self.input_names
        n = len(names)
        if isinstance(inputs, dict):
            missing = [k for k in names if k not in inputs]
            unexpected = [k for k in inputs if k not in names]
            if missing or unexpected:
                raise ValueError(
                    f"Model '{self.name}' expects a dict with the keys {names}. Received: keys "
                    f"{list(inputs)} (missing {missing}, unexpected {unexpected}). Key each array "
                    "by the name of its `Input(name=...)`."
                )
            return [inputs[k] for k in names]
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != n:
                raise ValueError(
                    f"Model '{self.name}' expects {n} input(s) {names}. Received: a "
                    f"{type(inputs).__name__} of {len(inputs)}. Pass one array per input, in "
                    "this order, or a dict by input name."
                )
            return list(inputs)
        if n != 1:
            raise ValueError(
                f"Model '{self.name}' expects {n} inputs {names}. Received: a single "
                f"{type(inputs).__name__}. Pass a list in this order, or a dict by input name."
            )
        return [inputs]

    def _check_input(self, sym: SymbolicTensor, x: Any, name: str) -> Any:
        """``x`` checked against the input's shape; as in Keras, a rank one off is
        adjusted when the extra axis is a trailing 1 (`(b, 28, 28)` data for an
        `Input((28, 28, 1))` gets the axis, `(b, 3, 1)` data for `Input((3,))` loses it)."""
        if not isinstance(x, torch.Tensor):
            return x
        shape = sym.shape
        received = (None, *tuple(x.shape)[1:])
        if x.ndim == len(shape) - 1 and shape[-1] == 1:
            x = x.unsqueeze(-1)
        elif x.ndim == len(shape) + 1 and x.shape[-1] == 1:
            x = x.squeeze(-1)
        if x.ndim != len(shape) or any(d is not None and d != s for d, s in zip(shape[1:], x.shape[1:])):
            raise ValueError(
                f"Input '{name}' of model '{self.name}' expects shape {shape} (batch axis first). "
                f"Received: input with shape {received}. Reshape the data, or "
                "build the model for this shape."
            )
        return x

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """Replays the graph on ``inputs`` (tensor, list in input order, or dict by name)."""
        values: list[Any] = [None] * self._n_slots
        if isinstance(inputs, torch.Tensor) and len(self.inputs) == 1:  # the common case, checked quickly
            ndim, fixed = self._input_specs[0]
            if inputs.ndim != ndim or any(inputs.shape[axis] != size for axis, size in fixed):
                inputs = self._check_input(self.inputs[0], inputs, self.input_names[0])
            values[0] = inputs
        else:
            given = self._input_list(inputs)
            for i, (sym, x, name) in enumerate(zip(self.inputs, given, self.input_names)):
                values[i] = self._check_input(sym, x, name)
        plan = self._run_plan
        if plan is None:
            plan, final = _fuse_runs(self._plan, self._output_slots)
            if final:
                self._run_plan = plan
        for layer, arg, kwargs, pass_training, out_slots in plan:
            x = values[arg] if arg.__class__ is int else _replace(
                arg, lambda s: values[s.index] if isinstance(s, _Slot) else s)
            if pass_training and training is not None:
                out = layer(x, training=training, **kwargs)
            else:
                out = layer(x, **kwargs) if kwargs else layer(x)
            if len(out_slots) == 1 and isinstance(out, torch.Tensor):
                values[out_slots[0]] = out
            else:
                for slot, value in zip(out_slots, flatten(out)):
                    values[slot] = value
        return _replace(self._output_slots, lambda s: values[s]) if not isinstance(
            self._output_slots, int) else values[self._output_slots]

    @property
    def input(self) -> Any:
        """The model's input: one symbolic tensor, or the structure given as `inputs`."""
        return self._inputs_struct

    @property
    def output(self) -> Any:
        """The model's output: one symbolic tensor, or the structure given as `outputs`."""
        return self._outputs_struct

    def _input_dtype(self) -> torch.dtype:
        return self.inputs[0].dtype

    # ------------------------------------------------------------------ introspection
    @property
    def layers(self) -> list[nn.Module]:
        """Every layer of the graph once (input layers first), in topological order."""
        return list(self._layers)

    @property
    def input_names(self) -> list[str]:
        """The inputs' names: the keys of a dict `inputs`, else the `Input` layers' names."""
        if isinstance(self._inputs_struct, dict):
            return list(self._inputs_struct.keys())
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The outputs' names: the keys of a dict `outputs`, else the names of the layers
        that made them (`name_1`, ... when one layer makes several outputs). `compile`
        uses them for per-output losses, metrics and `loss_weights`, and logs
        `<name>_loss`."""
        if isinstance(self._outputs_struct, dict):
            return [str(k) for k in self._outputs_struct.keys()]
        names = [_layer_name(t.node.layer) for t in self.outputs]
        out: list[str] = []
        for i, name in enumerate(names):
            out.append(name if names.count(name) == 1 else f"{name}_{names[:i].count(name)}")
        return out

    def node_index(self, node: Node) -> int:
        """Index of ``node`` among the calls of its layer inside this model."""
        nodes = self._layer_nodes[_layer_name(node.layer)]
        return next(i for i, n in enumerate(nodes) if n is node)

    def get_config(self) -> dict[str, Any]:
        """The graph as JSON-able data: the layers (class, config, calls) and the
        input and output references. `from_config` rebuilds the model."""
        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Functional:
        """Rebuilds a functional model from `get_config()`'s output (fresh weights)."""
        return functional_from_config(config, custom_objects, cls)


def _module_key(model: nn.Module, name: str) -> str:
    """The sub-module key for a layer: its name, unless that is taken by an attribute
    of the model (a layer named `inputs` or `output`, as Keras allows), then
    the name with underscores appended."""
    key = name
    while key in model._modules or (hasattr(model, key) and not isinstance(getattr(model, key, None), nn.Module)):
        key += "_"
    return key


def _layer_name(layer: nn.Module) -> str:
    name = getattr(layer, "name", None)
    return name if isinstance(name, str) else f"{type(layer).__name__.lower()}_{id(layer)}"


# ---------------------------------------------------------------------- get_layer
def model_layers(model: nn.Module) -> list[nn.Module]:
    """The layers of any model: `model.layers` for `Sequential` and functional models,
    the direct sub-modules of a subclassed model."""
    layers = getattr(type(model), "layers", None)
    if isinstance(layers, property):
        return list(model.layers)
    return list(model.children())


def get_layer(model: nn.Module, name: str | None = None, index: int | None = None) -> nn.Module:
    """Returns a layer of ``model`` by name or by index in `model.layers`."""
    layers = model_layers(model)
    model_name = getattr(model, "name", type(model).__name__)
    if name is not None and index is not None:
        raise ValueError(
            f"`get_layer` expects either `name` or `index`, not both. Received: name={name!r}, "
            f"index={index!r}."
        )
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int) or not -len(layers) <= index < len(layers):
            raise ValueError(
                f"`get_layer` expects `index` to be an integer in [{-len(layers)}, {len(layers)}) "
                f"because model '{model_name}' has {len(layers)} layers. Received: index={index!r}."
            )
        return layers[index]
    if name is None:
        raise ValueError("`get_layer` expects a layer `name` or an `index`. Received: name=None, index=None.")
    for layer in layers:
        if _layer_name(layer) == name:
            return layer
    available = [_layer_name(layer) for layer in layers]
    raise ValueError(
        f"No layer named {name!r} in model '{model_name}'. Received: name={name!r}. "
        f"Available layers: {available}."
    )


# ---------------------------------------------------------------------- config
def _registered_name(layer: nn.Module) -> str:
    from lamina.saving import registry

    return registry.get_registered_name(type(layer)) or type(layer).__name__


def serialize_layer(layer: nn.Module) -> dict[str, Any]:
    """`{"class_name", "config"}` of a layer, for model configs."""
    if not isinstance(layer, Layer):
        raise ValueError(
            f"Cannot write the config of {type(layer).__name__} (a plain torch.nn.Module): it has "
            "no `get_config()`. Received: a model containing this module. Wrap it in a Lamina "
            "`Layer` subclass registered with `@lamina.register`, or save only the weights "
            "(`model.state_dict()`)."
        )
    return {"class_name": _registered_name(layer), "config": layer.get_config()}


def deserialize_layer(
    entry: dict[str, Any], custom_objects: dict[str, type] | None = None, path: str | None = None
) -> Any:
    """Rebuilds a layer (or model) from `serialize_layer`'s output. ``path`` (the
    entry's place in the JSON, e.g. ``config.layers[1]``) is named in errors."""
    from lamina.layers.layer import ConfigArgumentError
    from lamina.saving import registry

    if path is not None:
        _check_layer_entry(entry, path)
    class_name = entry["class_name"]
    cls = (custom_objects or {}).get(class_name) or registry.get_class(class_name)
    try:
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            layer = cls.from_config(entry["config"], custom_objects=custom_objects)
        else:
            layer = cls.from_config(entry["config"])
    except ConfigArgumentError as e:
        if path is None:
            raise
        raise ConfigArgumentError(f"The `{class_name}` entry at `{path}.config`: {e}") from e
    build_config = entry.get("build_config")
    if build_config and not getattr(layer, "built", True):
        layer.build_from_config(build_config)  # e.g. a `build` that takes more than a shape
    return layer


def _node_config(layer: Any, node: Any, ref: Any) -> dict[str, Any]:
    config = {"args": _replace(node.inputs, ref), "kwargs": dict(node.kwargs)}
    arity = getattr(layer, "_positional_arity", 0)
    if arity and isinstance(node.inputs, list) and len(node.inputs) == arity:
        # A custom layer called as `layer(a, b, c)`: replayed with the tensors as
        # separate positional arguments (its `call` may take `b`, `c` with defaults).
        config["positional_inputs"] = arity
    return config


def functional_config(model: Functional) -> dict[str, Any]:
    """The config of a functional model (see `Functional.get_config`)."""

    def ref(t: Any) -> Any:
        if not isinstance(t, SymbolicTensor):
            return t
        return {_TENSOR_KEY: [_layer_name(t.node.layer), model.node_index(t.node), t.index]}

    layers = []
    for layer in model.layers:
        entry = serialize_layer(layer)
        entry["name"] = _layer_name(layer)
        entry["inbound_nodes"] = [
            _node_config(layer, node, ref)
            for node in model._layer_nodes[_layer_name(layer)]
            if not isinstance(layer, InputLayer)
        ]
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": _replace(model._inputs_struct, ref),
        "output_layers": _replace(model._outputs_struct, ref),
    }


def _is_ref(x: Any) -> bool:
    return isinstance(x, dict) and set(x) == {_TENSOR_KEY}


def _map_refs(struct: Any, fn: Any) -> Any:
    if _is_ref(struct):
        return fn(struct[_TENSOR_KEY])
    if isinstance(struct, dict):
        return {k: _map_refs(v, fn) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_map_refs(v, fn) for v in struct]
    return struct


def _refs_in(struct: Any) -> list[list[Any]]:
    found: list[list[Any]] = []
    _map_refs(struct, found.append)
    return found


# ------------------------------------------------------------ config checks
# A model config read from a file is checked for its structure before any layer
# is created, so a malformed one is refused with the JSON path of the fault, what
# was expected there and what was found, rather than by a Python error raised
# half-way through the rebuild.
class ModelConfigError(ValueError):
    """A model config (from a file, or converted from a Keras file) is malformed."""


def _config_error(path: str, expected: str, received: Any, fix: str = "") -> ModelConfigError:
    text = repr(received)
    if len(text) > 120:
        text = text[:120] + "..."
    return ModelConfigError(
        f"The model config is not valid: `{path}` must be {expected}; received {text}"
        f" ({type(received).__name__}). {fix or 'Save the model again or restore the original file.'}"
    )


def _is_index(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _check_layer_entry(entry: Any, path: str) -> None:
    if not isinstance(entry, dict):
        raise _config_error(path, "a layer entry {'class_name': str, 'config': dict, ...}", entry)
    if "class_name" not in entry:
        raise _config_error(f"{path}.class_name", "a layer class name (the key is missing)", entry)
    if not isinstance(entry["class_name"], str) or not entry["class_name"]:
        raise _config_error(f"{path}.class_name", "a non-empty string naming a layer class", entry["class_name"])
    if "config" not in entry:
        raise _config_error(f"{path}.config", "a dict of the layer's arguments (the key is missing)", entry)
    if not isinstance(entry["config"], dict):
        raise _config_error(f"{path}.config", "a dict of the layer's arguments", entry["config"])
    build = entry.get("build_config")
    if build is not None and not isinstance(build, dict):
        raise _config_error(f"{path}.build_config", "a dict (or absent)", build)


def _check_layers_list(config: Any, root: str) -> list[Any]:
    if not isinstance(config, dict):
        raise _config_error(root, "a dict holding the model's 'layers'", config)
    layers = config.get("layers", [])
    if not isinstance(layers, list):
        raise _config_error(f"{root}.layers", "a list of layer entries", layers)
    for i, entry in enumerate(layers):
        _check_layer_entry(entry, f"{root}.layers[{i}]")
    return layers


def _entry_name(entry: dict[str, Any]) -> Any:
    return entry.get("name", entry["config"].get("name"))


def _walk_refs(struct: Any, path: str, found: list[tuple[Any, str]], depth: int = 0) -> None:
    """Collects the `{"__tensor__": ...}` references in ``struct`` with their paths."""
    if depth > 64:
        raise _config_error(path, "a structure at most 64 levels deep", "a deeper structure")
    if isinstance(struct, dict):
        if _TENSOR_KEY in struct:
            if set(struct) != {_TENSOR_KEY}:
                raise _config_error(path, f"a reference {{'{_TENSOR_KEY}': [layer_name, node_index, tensor_index]}} "
                                    "with no other key", struct)
            found.append((struct[_TENSOR_KEY], f"{path}.{_TENSOR_KEY}"))
            return
        for k, v in struct.items():
            _walk_refs(v, f"{path}.{k}", found, depth + 1)
    elif isinstance(struct, list):
        for i, v in enumerate(struct):
            _walk_refs(v, f"{path}[{i}]", found, depth + 1)


def _check_ref(ref: Any, path: str, nodes: dict[str, int]) -> None:
    shape = "a reference [layer_name, node_index, tensor_index] (a string and two integers >= 0)"
    if (
        not isinstance(ref, list) or len(ref) != 3 or not isinstance(ref[0], str)
        or not _is_index(ref[1]) or not _is_index(ref[2])
    ):
        raise _config_error(path, shape, ref)
    if ref[0] not in nodes:
        raise _config_error(path, f"a reference to a layer of the model (one of {sorted(nodes)!r:.300})", ref)
    if ref[1] >= nodes[ref[0]]:
        raise _config_error(
            path, f"a reference to an existing node of layer {ref[0]!r}, which has {nodes[ref[0]]} "
            f"node(s) (node_index 0 to {nodes[ref[0]] - 1})", ref,
        )


def check_functional_config(config: Any, root: str = "config") -> None:
    """Checks the structure of a functional model's config before anything is built:
    the layer entries, unique layer names, every inbound node, and every tensor
    reference (in the nodes and in `input_layers` / `output_layers`) well formed
    and naming an existing layer and node. Raises `ModelConfigError` (a
    `ValueError`) naming the JSON path (under ``root``) of the first fault."""
    layers = _check_layers_list(config, root)
    nodes: dict[str, int] = {}
    for i, entry in enumerate(layers):
        path = f"{root}.layers[{i}]"
        name = _entry_name(entry)
        if not isinstance(name, str) or not name:
            raise _config_error(f"{path}.name", "the layer's name, a non-empty string", name)
        if name in nodes:
            first = next(j for j, e in enumerate(layers) if _entry_name(e) == name)
            raise ModelConfigError(
                f"The model config is not valid: all layer names should be unique, but `{path}` "
                f"and `{root}.layers[{first}]` are both named {name!r} (a duplicated layer name). "
                "Save the model again or restore the original file."
            )
        inbound = entry.get("inbound_nodes", [])
        if not isinstance(inbound, list):
            raise _config_error(f"{path}.inbound_nodes", "a list of nodes {'args': ..., 'kwargs': {...}}", inbound)
        nodes[name] = max(len(inbound), 1)  # an input layer has one node and no inbound node
    for i, entry in enumerate(layers):
        for k, node in enumerate(entry.get("inbound_nodes", [])):
            path = f"{root}.layers[{i}].inbound_nodes[{k}]"
            if not isinstance(node, dict) or "args" not in node:
                raise _config_error(path, "a node {'args': ..., 'kwargs': {...}}", node)
            unknown = sorted(set(node) - {"args", "kwargs", "positional_inputs"})
            if unknown:
                raise _config_error(path, "a node with keys 'args', 'kwargs' and 'positional_inputs' only",
                                    f"unknown key {unknown[0]!r}")
            kwargs = node.get("kwargs", {})
            if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
                raise _config_error(f"{path}.kwargs", "a dict of keyword arguments with string keys", kwargs)
            positional = node.get("positional_inputs")
            if positional is not None and not (_is_index(positional) and positional >= 1):
                raise _config_error(f"{path}.positional_inputs", "an integer >= 1 (or absent)", positional)
            found: list[tuple[Any, str]] = []
            _walk_refs(node["args"], f"{path}.args", found)
            _walk_refs(kwargs, f"{path}.kwargs", found)
            if not found:
                raise _config_error(f"{path}.args", "the node's input tensors, holding at least one "
                                    f"reference {{'{_TENSOR_KEY}': [layer_name, node_index, tensor_index]}}",
                                    node["args"])
            for ref, ref_path in found:
                _check_ref(ref, ref_path, nodes)
    for key in ("input_layers", "output_layers"):
        if key not in config:
            raise _config_error(f"{root}.{key}", "the model's "
                                f"{'inputs' if key == 'input_layers' else 'outputs'} (the key is missing)", config)
        found = []
        _walk_refs(config[key], f"{root}.{key}", found)
        if not found:
            raise _config_error(f"{root}.{key}", f"a structure of references {{'{_TENSOR_KEY}': [layer_name, "
                                "node_index, tensor_index]}", config[key])
        for ref, ref_path in found:
            _check_ref(ref, ref_path, nodes)
            if key == "input_layers":
                entry = next(e for e in layers if _entry_name(e) == ref[0])
                if entry.get("inbound_nodes"):
                    raise _config_error(ref_path, "a reference to an input layer (a layer with no inbound "
                                        "node)", ref)


def check_sequential_config(config: Any, root: str = "config") -> None:
    """Checks the structure of a `Sequential` model's config (see
    `check_functional_config`)."""
    layers = _check_layers_list(config, root)
    names: dict[str, int] = {}
    for i, entry in enumerate(layers):
        name = entry["config"].get("name")
        if isinstance(name, str):
            if name in names:
                raise ModelConfigError(
                    f"The model config is not valid: all layer names should be unique, but "
                    f"`{root}.layers[{i}]` and `{root}.layers[{names[name]}]` are both named {name!r} "
                    "(a duplicated layer name). Save the model again or restore the original file."
                )
            names[name] = i
    if config.get("input") is not None and not isinstance(config["input"], dict):
        raise _config_error(f"{root}.input", "a dict (the input layer's config)", config["input"])
    shape = config.get("build_input_shape")
    if shape is not None and not (
        isinstance(shape, list) and all(d is None or _is_index(d) for d in shape)
    ):
        raise _config_error(f"{root}.build_input_shape", "a list of integers >= 0 or nulls", shape)


def functional_from_config(
    config: dict[str, Any], custom_objects: dict[str, type] | None = None, cls: type | None = None
) -> Functional:
    """Rebuilds a functional model from `functional_config`'s output."""
    check_functional_config(config)
    created: dict[str, Any] = {}
    produced: dict[tuple[str, int], list[SymbolicTensor]] = {}
    pending: list[tuple[str, int, dict[str, Any]]] = []
    paths: dict[tuple[str, int], str] = {}
    for i, entry in enumerate(config["layers"]):
        layer = deserialize_layer(entry, custom_objects, path=f"config.layers[{i}]")
        name = _entry_name(entry)
        for k in range(len(entry.get("inbound_nodes", []))):
            paths[(name, k)] = f"config.layers[{i}].inbound_nodes[{k}]"
        created[name] = layer
        if isinstance(layer, InputLayer):
            produced[(name, 0)] = [layer.output]
        for k, node in enumerate(entry.get("inbound_nodes", [])):
            pending.append((name, k, node))

    def tensor(r: list[Any]) -> SymbolicTensor:
        outputs = produced[(r[0], r[1])]
        if r[2] >= len(outputs):
            raise _config_error(
                f"{where}.{_TENSOR_KEY}", f"a reference to an existing output of layer {r[0]!r}, whose "
                f"node {r[1]} has {len(outputs)} output tensor(s) (tensor_index 0 to {len(outputs) - 1})", r,
            )
        return outputs[r[2]]

    def ready(node: dict[str, Any]) -> bool:
        return all((r[0], r[1]) in produced for r in _refs_in(node["args"]))

    while pending:
        waiting = []
        for name, k, node in pending:
            if not ready(node):
                waiting.append((name, k, node))
                continue
            where = paths.get((name, k), "config") + ".args"
            args = _map_refs(node["args"], tensor)
            if node.get("positional_inputs"):
                out = created[name](*args, **node.get("kwargs", {}))
            else:
                out = created[name](args, **node.get("kwargs", {}))
            produced[(name, k)] = flatten(out)
        if len(waiting) == len(pending):
            missing = sorted({r[0] for _, _, n in waiting for r in _refs_in(n["args"]) if (r[0], r[1]) not in produced})
            raise ValueError(
                "The model config is inconsistent: some layers read tensors that no layer "
                f"produces (from layers {missing}). Received a config whose layers are "
                f"{[e.get('name') for e in config['layers']]}."
            )
        pending = waiting
    where = "config.input_layers"
    inputs = _map_refs(config["input_layers"], tensor)
    where = "config.output_layers"
    outputs = _map_refs(config["output_layers"], tensor)
    model_cls = cls if cls is not None else Functional
    return model_cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))


def sequential_config(model: Any) -> dict[str, Any]:
    """The config of a `Sequential` model: its layers and its input specification."""
    config: dict[str, Any] = {
        "name": model.name,
        "trainable": model.trainable,
        "layers": [serialize_layer(layer) for layer in model.layers],
    }
    if model._input_layer is not None:
        config["input"] = model._input_layer.get_config()
    elif model.built and model._build_input_shape is not None:
        config["build_input_shape"] = list(model._build_input_shape)
    return config


def sequential_from_config(cls: type, config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Any:
    """Rebuilds a `Sequential` model from `sequential_config`'s output (fresh weights)."""
    check_sequential_config(config)
    layers: list[Any] = [
        deserialize_layer(e, custom_objects, path=f"config.layers[{i}]") for i, e in enumerate(config.get("layers", []))
    ]
    if config.get("input") is not None:
        layers.insert(0, InputLayer.from_config(config["input"]))
    model = cls(layers, name=config.get("name"), trainable=config.get("trainable", True))
    shape = config.get("build_input_shape")
    if not model.built and shape is not None and model.layers:
        model.build(tuple(shape))
    return model
