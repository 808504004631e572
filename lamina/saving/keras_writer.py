"""Writes Lamina models as Keras 3 configs (the `config.json` of a `.keras` file).

Each layer gets Keras's envelope (`module`, `class_name`, `config`,
`registered_name`, `build_config`), functional graphs get `__keras_tensor__`
references with `keras_history`, and layers are listed in the order Keras's
`Functional` computes (by depth from the inputs, then by traversal order), so
that the weights file Keras reads names each layer as Keras expects.
"""

from __future__ import annotations

from typing import Any

from lamina.layers.input_layer import InputLayer
from lamina.layers.symbolic import SymbolicTensor, dtype_name
from lamina.saving import registry
from lamina.saving.serialization_lib import serialize_keras_object

_MODULES = {
    "initializer": "keras.initializers",
    "regularizer": "keras.regularizers",
    "constraint": "keras.constraints",
}
# Lamina's built-in layers that Keras 3 does not have.
_LAMINA_ONLY = {"PositionalEmbedding", "TransformerEncoder"}
# Arguments Lamina writes that Keras's constructor of the same class does not take.
_NOT_IN_KERAS = {
    "SpatialDropout1D": {"trainable"},
    "SpatialDropout2D": {"trainable"},
    "SpatialDropout3D": {"trainable"},
    "Discretization": {"trainable"},
}


def _is_model(layer: Any) -> bool:
    from lamina.models.model import Model

    return isinstance(layer, Model) and isinstance(getattr(type(layer), "layers", None), property)


def _is_functional(model: Any) -> bool:
    return _is_model(model) and hasattr(model, "_layer_nodes")


# ------------------------------------------------------------------ layer order
def keras_layer_order(model: Any) -> list[Any]:
    """`model.layers` in the order Keras's `Functional` lists them (its `map_graph`)."""
    if not _is_functional(model):
        return list(model.layers)
    indices: dict[int, int] = {}
    order: list[Any] = []  # nodes, in decreasing depth
    finished: set[int] = set()
    inputs = {id(t) for t in model.inputs}

    def visit(t: SymbolicTensor) -> None:
        node = t.node
        if node is None or id(node) in finished:
            return
        indices.setdefault(id(node.layer), len(indices))
        if not isinstance(node.layer, InputLayer) and id(t) not in inputs:
            for parent in node.parents:
                visit(parent)
        finished.add(id(node))
        order.append(node)

    for t in model.outputs:
        visit(t)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    layers: dict[int, Any] = {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        layers[id(node.layer)] = node.layer
        node_depth[id(node)] = depth
        for parent in node.parents:
            if parent.node is not None:
                node_depth[id(parent.node)] = max(depth + 1, node_depth.get(id(parent.node), 0))
    for t in model.inputs:
        if id(t.node.layer) not in layer_depth:
            layer_depth[id(t.node.layer)] = 0
            indices[id(t.node.layer)] = -1
            layers[id(t.node.layer)] = t.node.layer
    keys = sorted(layer_depth, key=lambda k: (-layer_depth[k], indices[k]))
    return [layers[k] for k in keys]


# ------------------------------------------------------------------ layer configs
def _sub_object(value: Any, kind: str) -> Any:
    if isinstance(value, dict) and "class_name" in value:
        return {
            "module": _MODULES[kind],
            "class_name": value["class_name"],
            "config": value.get("config", {}),
            "registered_name": None,
        }
    return value


def _shape(shape: Any) -> Any:
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _keras_config(layer: Any) -> dict[str, Any]:
    config = dict(layer.get_config())
    config.pop("input_shape", None)
    for key in _NOT_IN_KERAS.get(type(layer).__name__, ()):
        config.pop(key, None)
    config["dtype"] = {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": layer.dtype_policy.name},
        "registered_name": None,
    }
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = _sub_object(value, "initializer")
        elif key.endswith("_regularizer"):
            config[key] = _sub_object(value, "regularizer")
        elif key.endswith("_constraint"):
            config[key] = _sub_object(value, "constraint")
        elif key == "activation" and value is None:
            config[key] = "linear"
    for key in ("layer", "backward_layer"):  # wrappers
        inner = getattr(layer, key, None)
        if isinstance(config.get(key), dict) and inner is not None:
            config[key] = layer_entry(inner)
    return config


def layer_entry(layer: Any) -> dict[str, Any]:
    """A layer (or a model) as Keras's `serialize_keras_object` writes it."""
    if _is_model(layer):
        return keras_model_config(layer)
    registered = registry.get_registered_name(type(layer))
    builtin = registered is None or registered == type(layer).__name__
    # Lamina's own layers that Keras lacks keep Lamina's module: Keras then asks for the class.
    module = "lamina.layers" if type(layer).__name__ in _LAMINA_ONLY else "keras.layers"
    entry: dict[str, Any] = {
        "module": module if builtin else None,
        "class_name": type(layer).__name__,
        "config": _keras_config(layer),
        "registered_name": None if builtin else registered,
    }
    if "get_build_config" in _user_overrides(layer):
        build_config = layer.get_build_config()
        if build_config is not None:
            entry["build_config"] = serialize_keras_object(build_config)
        return entry
    shape = getattr(layer, "_build_input_shape", None)
    if shape is None:
        return entry
    if isinstance(shape[0], (list, tuple)):
        shapes = [_shape(s) for s in shape]
        if type(layer).__name__ == "MultiHeadAttention":  # Keras builds it from named shapes
            names = ("query_shape", "value_shape", "key_shape")
            entry["build_config"] = {"shapes_dict": dict(zip(names, shapes))}
            return entry
        entry["build_config"] = {"input_shape": shapes}
    else:
        entry["build_config"] = {"input_shape": _shape(shape)}
    return entry


def _input_entry(layer: InputLayer) -> dict[str, Any]:
    shape = (
        [layer.batch_size, *layer.shape] if hasattr(layer, "batch_size") else [None, *layer.shape]
    )
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": _shape(shape),
            "dtype": dtype_name(layer.dtype),
            "sparse": False,
            "ragged": False,
            "name": layer.name,
        },
        "registered_name": None,
    }


# ------------------------------------------------------------------ models
def _sequential_config(model: Any) -> dict[str, Any]:
    layers = []
    input_layer = getattr(model, "_input_layer", None)
    if input_layer is not None:
        layers.append(_input_entry(input_layer))
    layers += [layer_entry(layer) for layer in model.layers]
    shape = _shape(getattr(model, "_build_input_shape", None))
    if shape is None and input_layer is not None:
        shape = _shape((None, *input_layer.shape))
    config: dict[str, Any] = {"name": model.name, "trainable": model.trainable, "layers": layers}
    if shape is not None:
        config["build_input_shape"] = shape
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": config,
        "registered_name": None,
        "build_config": {"input_shape": shape},
    }


def _tensor(model: Any, t: SymbolicTensor) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": _shape(t.shape),
            "dtype": dtype_name(t.dtype),
            "keras_history": [t.node.layer.name, model.node_index(t.node), t.index],
        },
    }


def _replace(struct: Any, fn: Any) -> Any:
    if isinstance(struct, SymbolicTensor):
        return fn(struct)
    if isinstance(struct, dict):
        return {k: _replace(v, fn) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return [_replace(v, fn) for v in struct]
    return struct


def _io(model: Any, struct: Any) -> Any:
    def history(t: SymbolicTensor) -> list[Any]:
        return [t.node.layer.name, model.node_index(t.node), t.index]

    if isinstance(struct, SymbolicTensor):
        return history(struct)
    if isinstance(struct, dict):
        return {k: _io(model, v) for k, v in struct.items()}
    return [_io(model, v) for v in struct]


def _node_entry(model: Any, layer: Any, node: Any) -> dict[str, Any]:
    """One call of ``layer`` as Keras's `inbound_nodes` entry (`args`, `kwargs`)."""
    from lamina.layers.attention import MultiHeadAttention
    from lamina.layers.bidirectional import Bidirectional
    from lamina.layers.recurrent import RNNBase

    args = _replace(node.inputs, lambda t: _tensor(model, t))
    kwargs = _replace(dict(node.kwargs), lambda t: _tensor(model, t))
    if isinstance(layer, MultiHeadAttention) and isinstance(args, list):
        return {"args": args, "kwargs": kwargs}  # Keras calls it as (query, value, key)
    if isinstance(layer, (RNNBase, Bidirectional)) and isinstance(args, list) and len(args) > 1:
        # Lamina's `lstm([x, h, c])` is Keras's `lstm(x, initial_state=[h, c])`.
        return {"args": [args[0]], "kwargs": {**kwargs, "initial_state": args[1:]}}
    arity = getattr(layer, "_positional_arity", 0)
    if arity and isinstance(args, list) and len(args) == arity:
        return {"args": args, "kwargs": kwargs}  # a custom layer's layer(a, b, c)
    return {"args": [args], "kwargs": kwargs}


def _functional_config(model: Any) -> dict[str, Any]:
    layers = []
    for layer in keras_layer_order(model):
        if isinstance(layer, InputLayer):
            entry = _input_entry(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = []
            layers.append(entry)
            continue
        entry = layer_entry(layer)
        entry["name"] = layer.name
        nodes = [_node_entry(model, layer, node) for node in model._layer_nodes[layer.name]]
        entry["inbound_nodes"] = nodes
        layers.append(entry)
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": model.name,
            "trainable": model.trainable,
            "layers": layers,
            "input_layers": _io(model, model._inputs_struct),
            "output_layers": _io(model, model._outputs_struct),
        },
        "registered_name": "Functional",
        "build_config": {"input_shape": None},
    }


def _user_overrides(obj: Any) -> set[str]:
    """The attributes that ``obj``'s own classes (those outside Lamina) define."""
    from lamina.saving.serialization_lib import _overrides

    return _overrides(type(obj))


def _subclassed_config(model: Any) -> dict[str, Any]:
    """A registered `Model` subclass as Keras writes one: its `get_config()`, its build
    config and, when the class defines `get_compile_config`, its compile config."""
    cls = type(model)
    config = model.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"`{cls.__name__}.get_config()` must return a dict. Received: {config!r}.")
    build_config = model.get_build_config()
    if build_config is None and getattr(model, "_build_input_shape", None) is not None:
        shape = model._build_input_shape
        if isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, int) for d in shape):
            build_config = {"input_shape": _shape(shape)}
    entry: dict[str, Any] = {
        "module": cls.__module__,
        "class_name": cls.__name__,
        "config": serialize_keras_object(config),
        "registered_name": registry.get_registered_name(cls),
        "build_config": serialize_keras_object(build_config),
    }
    if "get_compile_config" in _user_overrides(model) and getattr(model, "compiled", False):
        compile_config = model.get_compile_config()
        if compile_config is not None:
            entry["compile_config"] = serialize_keras_object(compile_config)
    return entry


def keras_model_config(model: Any) -> dict[str, Any]:
    """The Keras 3 `config.json` content for a Lamina `Sequential` or functional model,
    or for a registered `Model` subclass (rebuilt by its class on loading)."""
    if _is_functional(model):
        return _functional_config(model)
    if _is_model(model) and type(model).__name__ == "Sequential" or hasattr(model, "_stack"):
        return _sequential_config(model)
    from lamina.models.model import Model

    if (
        isinstance(model, Model)
        and registry.get_registered_name(type(model))
        and _user_overrides(model)
    ):
        return _subclassed_config(model)
    raise ValueError(
        f"Only `Sequential` and functional models can be written as `.keras` files. Received: a "
        f"{type(model).__name__} (a subclassed model). Save it as `.lamina` with "
        "`model.save('model.lamina')`, or its weights with `model.save_weights('m.weights.h5')`."
    )


__all__ = ["keras_layer_order", "keras_model_config", "layer_entry"]
