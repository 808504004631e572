"""Translates Keras 3 model configs (`config.json` of a `.keras` file) to Lamina's and back.

Reading: each Keras entry (`module`, `class_name`, `config`, `registered_name`,
`build_config`, `inbound_nodes`) becomes Lamina's `{"class_name", "config"}`,
Keras's dtype policies become dtype names, initializer and regularizer
sub-configs lose their `module`, and functional graphs keep their
`keras_history` references. Only Lamina's built-in classes and registered ones
are instantiated: a `Lambda` layer (it carries marshalled Python bytecode) and
unknown classes are refused, naming the layer.

Writing: Lamina's configs get Keras's envelope (`module`, `registered_name`,
`build_config`, `__keras_tensor__` references) so that Keras 3's
`keras.saving.load_model` reads them.
"""

from __future__ import annotations

import inspect
from typing import Any

from lamina.saving import registry

_TENSOR_KEY = "__tensor__"  # Lamina's functional configs' reference key

# Keras arguments Lamina has no counterpart for, dropped when they hold a value
# that changes nothing (None, False, a default).
_HARMLESS = {
    "seed": None,
    "sparse": False,
    "ragged": False,
    "optional": False,
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "autocast": True,
    "unroll": False,
    "stateful": False,
    "zero_output_for_mask": None,
    "dtype": None,
    "use_gate": False,
    "sliding_window": None,
    "synchronized": False,
    "flash_attention": None,
    "attention_axes": [1],
    "data_format": "channels_last",
    "renorm": False,
    "rms_scaling": False,
}
# Arguments whose value changes nothing Lamina computes at inference.
# (`epsilon` of `Discretization` only tunes `adapt`'s quantiles.)
_ANY_VALUE = {
    "seed",
    "zero_output_for_mask",
    "dtype",
    "flash_attention",
    "renorm_momentum",
    "epsilon",
}


def _refuse_lambda(name: str) -> ValueError:
    return ValueError(
        f"Layer '{name}' of the Keras file is a `Lambda` layer, which Lamina does not load: its "
        "function is stored as marshalled Python bytecode, and running code from a file is "
        "unsafe. Received: class_name='Lambda'. Rewrite the function as a small `Layer` "
        "subclass, register it with `@lamina.register` (or pass it in `custom_objects`), and "
        "save the model again."
    )


def _unknown_class(class_name: str, name: str | None, module: Any) -> ValueError:
    where = f"layer '{name}'" if name else "an object"
    if isinstance(module, str) and module.startswith("keras"):
        problem = f"Keras's built-in `{class_name}`, which Lamina does not have yet"
        fix = (
            f"Write a Lamina layer named `{class_name}` with the same arguments and weights, "
            "register it with `@lamina.register` (or pass "
            f"`custom_objects={{'{class_name}': {class_name}}}`), and load again."
        )
    else:
        problem = f"class `{class_name}`, which is neither a Lamina class nor a registered one"
        fix = (
            "Register the class with `@lamina.register` (or pass "
            f"`custom_objects={{'{class_name}': {class_name}}}`) and load again."
        )
    return ValueError(
        f"The Keras file uses {problem} ({where}), so it cannot be loaded. Received: "
        f"class_name={class_name!r}. {fix}"
    )


def _resolve(entry: dict[str, Any], custom_objects: dict[str, Any] | None) -> type:
    class_name = entry.get("class_name")
    name = (entry.get("config") or {}).get("name")
    if class_name == "Lambda":
        raise _refuse_lambda(name or "?")
    custom = custom_objects or {}
    for key in (entry.get("registered_name"), class_name):
        if key and key in custom:
            return custom[key]
    for key in (entry.get("registered_name"), class_name):
        if not key:
            continue
        try:
            return registry.get_class(key)
        except (KeyError, ValueError, TypeError):
            continue
    raise _unknown_class(str(class_name), name, entry.get("module"))


def _accepted(cls: type) -> set[str]:
    """The keyword arguments ``cls`` accepts, following `**kwargs` up its bases."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    names.discard("self")
    return names


def _sub_object(value: Any) -> Any:
    """A Keras initializer / regularizer / constraint / activation sub-config, without
    Keras's envelope."""
    if isinstance(value, dict) and "class_name" in value:
        out = {"class_name": value["class_name"], "config": dict(value.get("config") or {})}
        out["config"] = {k: v for k, v in out["config"].items() if v is not None or k == "seed"}
        return out
    return value


def _dtype_name(value: Any) -> Any:
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name", "float32")
    return value


def layer_config_from_keras(
    entry: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A Keras layer entry as Lamina's `{"class_name", "config"}` (models included)."""
    class_name = entry.get("class_name")
    if class_name in ("Functional", "Model") and "layers" in entry.get("config", {}):
        return {"class_name": "Functional", "config": functional_from_keras(entry, custom_objects)}
    if class_name == "Sequential":
        return {"class_name": "Sequential", "config": sequential_from_keras(entry, custom_objects)}
    cls = _resolve(entry, custom_objects)
    config = dict(entry.get("config") or {})
    name = config.get("name", "?")
    if class_name == "InputLayer":
        return {"class_name": "InputLayer", "config": _input_config(config)}
    for key in ("layer", "backward_layer"):  # wrappers
        if isinstance(config.get(key), dict) and "class_name" in config[key]:
            config[key] = layer_config_from_keras(config[key], custom_objects)
    accepted = _accepted(cls)
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "dtype":
            value = _dtype_name(value)
            if value in (None, "float32"):
                continue
        if key == "axis" and isinstance(value, list) and len(value) == 1:
            value = value[0]
        if key.endswith(("_initializer", "_regularizer", "_constraint", "activation")):
            value = _sub_object(value)
        if key in accepted:
            out[key] = value
            continue
        if value in (None, False) or key in _ANY_VALUE or key.endswith("_initializer"):
            continue
        if key in _HARMLESS and value == _HARMLESS[key]:
            continue
        raise ValueError(
            f"Layer '{name}' ({class_name}) of the Keras file sets `{key}`, which Lamina's "
            f"`{cls.__name__}` does not support. Received: {key}={value!r}. Remove the argument "
            "in Keras and save the model again, or load only the weights into a Lamina model "
            "(`model.load_weights(...)`)."
        )
    converted: dict[str, Any] = {"class_name": _registered_or_class(cls), "config": out}
    # Shapes of built-in layers come from the graph (their model builds them); a class
    # of the user's that builds itself (`build_from_config`), or a `Model` subclass, is
    # built from its build config, as Keras does.
    if isinstance(entry.get("build_config"), dict) and _builds_itself(cls):
        converted["build_config"] = entry["build_config"]
    return converted


def _builds_itself(cls: type) -> bool:
    from lamina.models.model import Model
    from lamina.saving.serialization_lib import _overrides

    user = _overrides(cls)
    return bool(user) and ("build_from_config" in user or issubclass(cls, Model))


def _registered_or_class(cls: type) -> str:
    return registry.get_registered_name(cls) or cls.__name__


def _input_config(config: dict[str, Any]) -> dict[str, Any]:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None:
        shape = [None, *(config.get("shape") or [])]
    out: dict[str, Any] = {"shape": list(shape[1:]), "name": config.get("name")}
    if shape[0] is not None:
        out["batch_size"] = shape[0]
    dtype = _dtype_name(config.get("dtype"))
    if dtype not in (None, "float32"):
        out["dtype"] = dtype
    return out


def sequential_from_keras(
    entry: dict[str, Any], custom_objects: dict[str, Any] | None
) -> dict[str, Any]:
    config = entry.get("config") or {}
    layers = list(config.get("layers", []))
    out: dict[str, Any] = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    if layers and layers[0].get("class_name") == "InputLayer":
        out["input"] = _input_config(layers.pop(0).get("config") or {})
    else:
        shape = config.get("build_input_shape") or (entry.get("build_config") or {}).get(
            "input_shape"
        )
        if shape is not None:
            out["build_input_shape"] = list(shape)
    out["layers"] = [layer_config_from_keras(e, custom_objects) for e in layers]
    return out


def _is_history(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) for v in value[1:])
    )


def _refs(value: Any) -> Any:
    """Keras's `__keras_tensor__` dicts and `[name, node, index]` triples as Lamina references."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            return {_TENSOR_KEY: list(value["config"]["keras_history"])}
        return {k: _refs(v) for k, v in value.items()}
    if _is_history(value):
        return {_TENSOR_KEY: list(value)}
    if isinstance(value, list):
        return [_refs(v) for v in value]
    return value


def _refs_in(value: Any) -> list[list[Any]]:
    """The `[name, node, index]` references inside a converted value."""
    if isinstance(value, dict):
        if set(value) == {_TENSOR_KEY}:
            return [value[_TENSOR_KEY]]
        return [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    return []


def _node_from_keras(node: Any) -> dict[str, Any]:
    if isinstance(node, list):  # Keras 2's [[name, node, index, kwargs], ...]
        args = [{_TENSOR_KEY: list(t[:3])} for t in node]
        return {"args": args[0] if len(args) == 1 else args, "kwargs": {}}
    args = [_refs(a) for a in node.get("args", [])]
    kwargs = {k: _refs(v) for k, v in (node.get("kwargs") or {}).items() if v is not None}
    if "key" in kwargs and len(args) >= 2:  # MultiHeadAttention(query, value, key=...)
        args.append(kwargs.pop("key"))
    if _refs_in(kwargs.get("initial_state")) and len(args) == 1:
        # A recurrent layer's `layer(x, initial_state=[h, c])` is Lamina's `layer([x, h, c])`.
        states = kwargs.pop("initial_state")
        args = [args[0], *(states if isinstance(states, list) else [states])]
        return {"args": args, "kwargs": kwargs}
    if len(args) > 1:  # `layer(a, b, c)`: replayed with separate positional arguments
        return {"args": args, "kwargs": kwargs, "positional_inputs": len(args)}
    return {"args": args[0] if len(args) == 1 else args, "kwargs": kwargs}


def _is_op(entry: dict[str, Any]) -> bool:
    """An entry for a Keras operation used directly in a graph (`keras.ops.not_equal`, ...)."""
    return str(entry.get("module") or "").startswith("keras.src.ops")


def _refuse_op(entry: dict[str, Any]) -> ValueError:
    name = entry.get("name") or (entry.get("config") or {}).get("name")
    return ValueError(
        f"Layer '{name}' of the Keras file is the Keras operation `{entry.get('class_name')}` "
        "applied directly to a tensor of the functional graph, which Lamina does not load (it "
        f"loads layers only). Received: module={entry.get('module')!r}. In Keras, move the "
        "operation into a small `Layer` subclass, register the same class in Lamina with "
        "`@lamina.register`, and save again."
    )


def functional_from_keras(
    entry: dict[str, Any], custom_objects: dict[str, Any] | None
) -> dict[str, Any]:
    config = entry.get("config") or {}
    entries = list(config.get("layers", []))
    nodes: dict[str, list[dict[str, Any]]] = {}
    for layer_entry in entries:
        name = layer_entry.get("name") or (layer_entry.get("config") or {}).get("name")
        layer_entry = dict(layer_entry, name=name)
        converted = []
        for node in layer_entry.get("inbound_nodes") or []:
            node = _node_from_keras(node)
            # Lamina carries masks on the tensors themselves and sets `training` per call, so a
            # node's `mask=` and `training=` arguments are not replayed.
            if _refs_in(node["kwargs"].get("mask")):
                node["kwargs"].pop("mask")
            node["kwargs"].pop("training", None)
            converted.append(node)
        nodes[name] = converted
    # Keras records a mask's computation (`not_equal`, `any`) as operations: Lamina
    # recomputes masks itself, so operations that only fed `mask=` arguments are dropped.
    keep = {e.get("name") or (e.get("config") or {}).get("name") for e in entries}
    while True:
        used = {r[0] for n in keep for node in nodes[n] for r in _refs_in(node)}
        used |= {r[0] for r in _refs_in(_refs(config.get("output_layers")))}
        drop = {
            n
            for e in entries
            if _is_op(e)
            and (n := e.get("name") or e["config"].get("name")) in keep
            and n not in used
        }
        if not drop:
            break
        keep -= drop
    layers = []
    for layer_entry in entries:
        name = layer_entry.get("name") or (layer_entry.get("config") or {}).get("name")
        if name not in keep:
            continue
        if _is_op(layer_entry):
            raise _refuse_op(dict(layer_entry, name=name))
        converted = layer_config_from_keras(layer_entry, custom_objects)
        converted["name"] = name
        converted["inbound_nodes"] = nodes[name]
        layers.append(converted)

    def io(value: Any) -> Any:
        if _is_history(value):
            return {_TENSOR_KEY: list(value)}
        if isinstance(value, dict):
            return {k: io(v) for k, v in value.items()}
        return [io(v) for v in value]

    return {
        "name": config.get("name"),
        "trainable": config.get("trainable", True),
        "layers": layers,
        "input_layers": io(config["input_layers"]),
        "output_layers": io(config["output_layers"]),
    }


def model_from_keras_config(
    entry: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """Builds the Lamina model (or layer) a Keras `config.json` describes (fresh weights)."""
    from lamina.models.functional import deserialize_layer

    converted = layer_config_from_keras(entry, custom_objects)
    return deserialize_layer(converted, custom_objects)


# =================================================================== structure
# `check_keras_config` walks a Keras `config.json` before any of it is converted:
# every problem is a `ValueError` naming the JSON path, so a damaged or hand-made
# file is refused with a message that says where, instead of failing deep inside
# the conversion with a Python error.
_STRUCT_FIX = "Save the model again with Keras's `model.save('model.keras')`."
_MODEL_CLASSES = ("Sequential", "Functional", "Model")


def _bad(where: str, expected: str, value: Any) -> ValueError:
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return ValueError(f"config.json: `{where.lstrip('.')}` must be {expected}; received {shown}. {_STRUCT_FIX}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_shape(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, list) or not all(v is None or (_is_int(v) and v >= 0) for v in value):
        raise _bad(where, "a list of sizes (integers >= 0, or null)", value)


def _check_optional_str(entry: dict[str, Any], key: str, where: str) -> None:
    if entry.get(key) is not None and not isinstance(entry[key], str):
        raise _bad(f"{where}.{key}", "a string (or null)", entry[key])


def _check_sub_object(value: Any, where: str) -> None:
    """A Keras sub-object envelope (`{"class_name", "config", ...}`) of the right types."""
    if not isinstance(value, dict) or "class_name" not in value:
        return
    if not isinstance(value["class_name"], str):
        raise _bad(f"{where}.class_name", "a string", value["class_name"])
    for key in ("registered_name", "module"):
        _check_optional_str(value, key, where)
    if value.get("config") is not None and not isinstance(value["config"], dict):
        raise _bad(f"{where}.config", "a dict", value["config"])


def _entry_name(entry: dict[str, Any]) -> Any:
    return entry.get("name") or entry["config"].get("name")


def _check_layer_entry(entry: Any, where: str, functional: bool) -> None:
    if not isinstance(entry, dict):
        raise _bad(where, "a layer entry (a dict with `class_name` and `config`)", entry)
    if not isinstance(entry.get("class_name"), str):
        raise _bad(f"{where}.class_name", "a string", entry.get("class_name"))
    if not isinstance(entry.get("config"), dict):
        raise _bad(f"{where}.config", "a dict", entry.get("config"))
    for key in ("registered_name", "module", "name"):
        _check_optional_str(entry, key, where)
    config = entry["config"]
    _check_optional_str(config, "name", f"{where}.config")
    if functional and not isinstance(_entry_name(entry), str):
        raise _bad(f"{where}.name", "the layer's name (a string)", entry.get("name"))
    if entry.get("build_config") is not None:
        if not isinstance(entry["build_config"], dict):
            raise _bad(f"{where}.build_config", "a dict", entry["build_config"])
        shape = entry["build_config"].get("input_shape")
        if isinstance(shape, list) and all(not isinstance(v, (list, dict)) for v in shape):
            _check_shape(shape, f"{where}.build_config.input_shape")
    for key in ("batch_shape", "batch_input_shape", "shape"):
        if key in config:
            _check_shape(config[key], f"{where}.config.{key}")
    if "build_input_shape" in config and isinstance(config["build_input_shape"], (list, type(None))):
        shape = config["build_input_shape"]
        if shape is None or all(not isinstance(v, (list, dict)) for v in shape):
            _check_shape(shape, f"{where}.config.build_input_shape")
    elif "build_input_shape" in config:
        raise _bad(f"{where}.config.build_input_shape", "a list of sizes (or null)", config["build_input_shape"])
    dtype = config.get("dtype")
    if dtype is not None and not isinstance(dtype, str):
        if not isinstance(dtype, dict) or not isinstance(dtype.get("config", {}), dict):
            raise _bad(f"{where}.config.dtype", "a dtype name or a dtype policy dict", dtype)
        name = dtype.get("config", {}).get("name")
        if name is not None and not isinstance(name, str):
            raise _bad(f"{where}.config.dtype.config.name", "a dtype name (a string)", name)
    for key, value in config.items():
        if key.endswith(("_initializer", "_regularizer", "_constraint", "activation")):
            _check_sub_object(value, f"{where}.config.{key}")
    if entry["class_name"] in _MODEL_CLASSES and "layers" in config:
        _check_model_config(entry, where)
    for key in ("layer", "backward_layer"):  # wrappers
        if isinstance(config.get(key), dict) and "class_name" in config[key]:
            _check_layer_entry(config[key], f"{where}.config.{key}", functional=False)


def _check_history(value: Any, where: str, names: dict[str, int]) -> None:
    """A `[layer_name, node_index, tensor_index]` reference to a layer of the model."""
    if not (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and _is_int(value[1])
        and _is_int(value[2])
        and value[1] >= 0
        and value[2] >= 0
    ):
        raise _bad(where, "[layer_name, node_index, tensor_index]", value)
    if value[0] not in names:
        raise ValueError(
            f"config.json: `{where.lstrip('.')}` refers to layer {value[0]!r}, which the model does not "
            f"have (its layers: {sorted(names)[:10]}). {_STRUCT_FIX}"
        )
    if value[1] >= max(1, names[value[0]]):
        raise ValueError(
            f"config.json: `{where.lstrip('.')}` refers to node {value[1]} of layer {value[0]!r}, which has "
            f"{max(1, names[value[0]])} node(s). Received: node_index={value[1]}. {_STRUCT_FIX}"
        )


def _check_node_value(value: Any, where: str, names: dict[str, int], depth: int = 0) -> int:
    """Checks the tensors inside a node's `args` / `kwargs` (`__keras_tensor__` dicts, or
    bare `[name, node, index]` triples, anywhere in lists and dicts); returns their count."""
    if depth > 64:
        raise _bad(where, "a value nested at most 64 levels deep", "...")
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            config = value.get("config")
            if not isinstance(config, dict):
                raise _bad(f"{where}.config", "a dict with `keras_history`", config)
            _check_history(config.get("keras_history"), f"{where}.config.keras_history", names)
            return 1
        if isinstance(value.get("config"), dict) and "keras_history" in value["config"]:
            raise _bad(f"{where}.class_name", "'__keras_tensor__' (the entry has a keras_history)", value.get("class_name"))
        return sum(_check_node_value(v, f"{where}.{k}", names, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        if _is_history(value):
            _check_history(value, where, names)
            return 1
        return sum(_check_node_value(v, f"{where}[{i}]", names, depth + 1) for i, v in enumerate(value))
    return 0


def _check_io(value: Any, where: str, names: dict[str, int], depth: int = 0) -> None:
    """`input_layers` / `output_layers`: a reference, or a list / dict of them."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        _check_history(value, where, names)
    elif isinstance(value, list) and value and depth < 8:
        for i, v in enumerate(value):
            _check_io(v, f"{where}[{i}]", names, depth + 1)
    elif isinstance(value, dict) and value and depth < 8:
        for k, v in value.items():
            _check_io(v, f"{where}.{k}", names, depth + 1)
    else:
        raise _bad(where, "a [layer_name, node_index, tensor_index] reference, or a non-empty list or dict of them", value)


def _check_model_config(entry: dict[str, Any], where: str) -> None:
    config = entry["config"]
    functional = entry["class_name"] != "Sequential"
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise _bad(f"{where}.config.layers", "a list of layer entries", layers)
    for i, layer in enumerate(layers):
        _check_layer_entry(layer, f"{where}.config.layers[{i}]", functional)
    names: dict[str, int] = {}
    for i, layer in enumerate(layers):
        name = _entry_name(layer)
        if name is None and not functional:
            continue
        if name in names:
            raise ValueError(
                f"config.json: `{f'{where}.config.layers[{i}]'.lstrip('.')}` is named {name!r}, like an earlier "
                f"layer; Keras refuses duplicate layer names. Received: name={name!r}. {_STRUCT_FIX}"
            )
        nodes = layer.get("inbound_nodes")
        names[name] = len(nodes) if isinstance(nodes, list) else 0
    if not functional:
        return
    for i, layer in enumerate(layers):
        nodes = layer.get("inbound_nodes", [])
        at = f"{where}.config.layers[{i}].inbound_nodes"
        if nodes is None:
            continue
        if not isinstance(nodes, list):
            raise _bad(at, "a list of nodes", nodes)
        for j, node in enumerate(nodes):
            if isinstance(node, list):  # Keras 2's [[name, node, index, kwargs], ...]
                if not node:
                    raise _bad(f"{at}[{j}]", 'a node (a dict with "args" and "kwargs")', node)
                for k, t in enumerate(node):
                    if not isinstance(t, list) or len(t) not in (3, 4):
                        raise _bad(f"{at}[{j}][{k}]", "[layer_name, node_index, tensor_index, kwargs]", t)
                    _check_history(list(t[:3]), f"{at}[{j}][{k}]", names)
                continue
            if not isinstance(node, dict):
                raise _bad(f"{at}[{j}]", 'a node (a dict with "args" and "kwargs")', node)
            if not isinstance(node.get("args", []), list):
                raise _bad(f"{at}[{j}].args", "a list", node.get("args"))
            if node.get("kwargs") is not None and not isinstance(node["kwargs"], dict):
                raise _bad(f"{at}[{j}].kwargs", "a dict", node.get("kwargs"))
            found = _check_node_value(node.get("args", []), f"{at}[{j}].args", names)
            found += _check_node_value(node.get("kwargs") or {}, f"{at}[{j}].kwargs", names)
            if not found:
                raise _bad(
                    f"{at}[{j}].args",
                    "the layer's inputs: at least one `__keras_tensor__` reference "
                    '({"class_name": "__keras_tensor__", "config": {"keras_history": [...]}})',
                    node.get("args"),
                )
    for key in ("input_layers", "output_layers"):
        if key not in config:
            raise _bad(f"{where}.config.{key}", "the model's inputs / outputs (a reference or a list of them)", None)
        _check_io(config[key], f"{where}.config.{key}", names)


def check_keras_config(config: Any) -> None:
    """Checks the structure of a Keras `config.json` (types, references, unique names)
    before it is converted; a problem is a `ValueError` naming its JSON path."""
    if not isinstance(config, dict):
        raise _bad("(top level)", "a dict", config)
    if not isinstance(config.get("class_name"), str):
        raise _bad("class_name", "a string", config.get("class_name"))
    for key in ("registered_name", "module"):
        _check_optional_str(config, key, "(top level)")
    if not isinstance(config.get("config"), dict):
        raise _bad("config", "a dict (the model's configuration)", config.get("config"))
    if config["class_name"] in _MODEL_CLASSES:
        if config["class_name"] != "Sequential" and "layers" not in config["config"]:
            raise _bad("config.layers", "a list of layer entries", None)
        if "layers" in config["config"] or config["class_name"] == "Sequential":
            _check_model_config(config, "")
    elif "layers" in config["config"]:
        _check_model_config(dict(config, class_name="Functional"), "")
