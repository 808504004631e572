"""`serialize_keras_object` / `deserialize_keras_object`: any Lamina object to and
from the Keras 3 config form, through the one registry.

The form is Keras's::

    {"module": "lamina.layers", "class_name": "Dense",
     "config": {...}, "registered_name": None}

A built-in object names its family's public module; a registered one its own
module and its registered name (`"package>name"`); a function has
`class_name="function"` and its name as `config`. Reading also accepts the
short `{"class_name", "config"}` form and Keras's own module names
(`"keras.layers"`, `"keras.src.losses.losses"`, ...). Reading never imports a
module: only built-in and registered objects are instantiated, and a Keras
`lambda` is refused.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import numpy as np
import torch

from lamina.saving import registry

PLAIN_TYPES = (str, int, float, bool)
_MARKER_KEYS = frozenset({"module", "class_name", "config", "registered_name"})

# Module word -> family, checked in this order (schedules live under keras.optimizers).
_MODULE_WORDS = (
    ("schedules", "schedule"), ("optimizers", "optimizer"), ("losses", "loss"),
    ("metrics", "metric"), ("initializers", "initializer"), ("regularizers", "regularizer"),
    ("activations", "activation"), ("models", "model"), ("layers", "layer"),
)


def is_serialized_object(value: Any) -> bool:
    """Whether ``value`` is the full Keras form (with `module` and `registered_name`)."""
    return isinstance(value, dict) and _MARKER_KEYS <= set(value)


def family_from_module(module: Any) -> str | None:
    """`"keras.src.layers.core.dense"` -> `"layer"`; None when no family word is in it."""
    if not isinstance(module, str):
        return None
    parts = module.split(".")
    for word, family in _MODULE_WORDS:
        if word in parts:
            return family
    return None


# --------------------------------------------------------------------------- serialize
def serialize_keras_object(obj: Any) -> Any:
    """Returns the config of a Lamina object (layer, loss, metric, optimizer, ...).

    Plain values, lists and dicts are returned with their items serialised;
    tensors and NumPy arrays become `{"class_name": "__tensor__", ...}`; an
    object with `get_config()` or a built-in or registered function becomes
    the Keras dict `{"module", "class_name", "config", "registered_name"}`
    (layers also get a `build_config` once built).

    Args:
        obj: The object to serialise.

    Returns:
        A JSON-able value that `deserialize_keras_object` turns back into an
        equivalent object.

    Example:
        >>> import lamina
        >>> config = lamina.saving.serialize_keras_object(lamina.layers.Dense(3))
        >>> config["class_name"], config["module"]
        ('Dense', 'lamina.layers')
    """
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(x) for x in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, torch.dtype):
        return str(obj).replace("torch.", "")
    if isinstance(obj, torch.Tensor):
        value = obj.detach().cpu()
        return {"class_name": "__tensor__", "config": {"value": value.tolist(), "dtype": str(value.dtype).replace("torch.", "")}}
    if isinstance(obj, np.ndarray):
        if obj.ndim == 0:
            return obj.item()
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, types.FunctionType):
        return _serialize_function(obj)
    if inspect.isclass(obj):
        raise TypeError(
            f"`serialize_keras_object` expects an object, not a class. Received: {obj!r}. "
            "Serialise an instance, or store the class's registered name "
            "(`lamina.saving.get_registered_name(cls)`)."
        )
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"Cannot serialize the object {obj!r} of type {type(obj).__name__}: to be "
            "serializable, a class must implement `get_config()`. Received: an object without it."
        )
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(
            f"`{type(obj).__name__}.get_config()` must return a dict. Received: {config!r}."
        )
    cls = type(obj)
    family = registry.family_of(cls)
    registered = None if family is not None else registry.get_registered_name(cls)
    out: dict[str, Any] = {
        "module": registry.FAMILY_MODULES[family] if family is not None else cls.__module__,
        "class_name": cls.__name__,
        "config": serialize_keras_object(config),
        "registered_name": registered,
    }
    build_config = _build_config(obj)
    if build_config is not None:
        out["build_config"] = build_config
    return out


def _serialize_function(fn: types.FunctionType) -> dict[str, Any]:
    if fn.__name__ == "<lambda>":
        raise ValueError(
            "Cannot serialize a `lambda`: Lamina never saves or runs code from files. "
            f"Received: {fn!r}. Use a named function registered with "
            "@lamina.saving.register_keras_serializable()."
        )
    family = registry.family_of(fn)
    if family is not None:
        return {
            "module": registry.FAMILY_MODULES[family],
            "class_name": "function",
            "config": fn.__name__,
            "registered_name": fn.__name__,
        }
    name = registry.get_registered_name(fn)
    return {
        "module": fn.__module__,
        "class_name": "function",
        "config": name or fn.__name__,
        "registered_name": name,
    }


def _build_config(obj: Any) -> dict[str, Any] | None:
    from lamina.layers.layer import Layer
    from lamina.models.model import Model

    if not isinstance(obj, Layer) or isinstance(obj, Model) or not obj.built:
        return None
    shape = getattr(obj, "_build_input_shape", None)
    if shape is None or not isinstance(shape, (tuple, list)):
        return None
    if not all(d is None or isinstance(d, int) for d in shape):
        return None
    return {"input_shape": list(shape)}


# --------------------------------------------------------------------------- deserialize
def deserialize_keras_object(
    config: Any,
    custom_objects: dict[str, Any] | None = None,
    safe_mode: bool = True,
    **kwargs: Any,
) -> Any:
    """Rebuilds an object from `serialize_keras_object`'s output.

    Accepts the Keras 3 form `{"module", "class_name", "config",
    "registered_name"}` and the short `{"class_name", "config"}` form. Classes
    and functions are looked up in ``custom_objects``, the scope in force, the
    registered objects and Lamina's built-ins; nothing is imported and no code
    is run from the config.

    Args:
        config: The config (a dict, a list of them, a plain value, or an
            object already built, returned as is).
        custom_objects: Extra classes or functions by name. Defaults to `None`.
        safe_mode: Kept for Keras compatibility; Lamina always refuses
            `lambda` configs. Defaults to `True`.
        **kwargs: `module_objects` (a dict of further objects by name), as in Keras.

    Returns:
        The object.

    Raises:
        ValueError: For a class or function that is neither built in nor
            registered, or a Keras `lambda`.

    Example:
        >>> import lamina
        >>> loss = lamina.losses.Huber(delta=2.0)
        >>> config = lamina.saving.serialize_keras_object(loss)
        >>> lamina.saving.deserialize_keras_object(config).delta
        2.0
    """
    module_objects = kwargs.pop("module_objects", None)
    if kwargs:
        raise TypeError(
            "`deserialize_keras_object` got unexpected keyword arguments. "
            f"Received: {sorted(kwargs)}. It accepts `custom_objects`, `safe_mode` and `module_objects`."
        )
    token = registry.push_scope({**(module_objects or {}), **registry.check_custom_objects(custom_objects)})
    try:
        return _deserialize(config)
    finally:
        registry.pop_scope(token)


def _deserialize(config: Any) -> Any:
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):
        found = registry.registered_objects().get(config)
        return found if found is not None else config
    if isinstance(config, (list, tuple)):
        return [_deserialize(x) for x in config]
    if not isinstance(config, dict):
        return config  # an object already built
    if "class_name" not in config or "config" not in config:
        return {k: _deserialize(v) for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"]
    if class_name == "__tensor__":
        return torch.tensor(inner["value"], dtype=getattr(torch, inner["dtype"]))
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__lambda__":
        raise ValueError(
            "The config holds a Python `lambda`, whose code Lamina refuses to run. "
            "Received: class_name='__lambda__'. Rewrite it as a named function registered with "
            "@lamina.saving.register_keras_serializable() and save again."
        )
    family = family_from_module(config.get("module"))
    if class_name == "function":
        name = config.get("registered_name") or inner
        return resolve_function(name if isinstance(name, str) else inner, family)
    cls = resolve_class(class_name, config.get("registered_name"), family)
    instance = from_config(cls, inner)
    build = config.get("build_config")
    if isinstance(build, dict) and not getattr(instance, "built", True):
        if hasattr(instance, "build_from_config") and "build_from_config" in _overrides(type(instance)):
            instance.build_from_config(build)
        elif build.get("input_shape") is not None:
            instance.build(tuple(build["input_shape"]))
    return instance


def _overrides(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.startswith("lamina."):
            break
        names.update(vars(klass))
    return names


def materialize(config: Any) -> Any:
    """Turns the full-form entries nested in a config (values that
    `serialize_keras_object` wrote) into objects, leaving the rest as is."""
    if is_serialized_object(config):
        return _deserialize(config)
    if isinstance(config, dict):
        return {k: materialize(v) for k, v in config.items()}
    if isinstance(config, list):
        return [materialize(v) for v in config]
    return config


def from_config(cls: type, config: Any) -> Any:
    """``cls.from_config(config)`` with nested full-form objects rebuilt first, and
    `custom_objects` passed along when ``from_config`` takes it."""
    config = materialize(config)
    if not isinstance(config, dict):
        raise ValueError(
            f"The config of `{cls.__name__}` must be a dict. Received: config={config!r}."
        )
    method = getattr(cls, "from_config", None)
    if method is None:
        from lamina.layers.layer import check_config_arguments

        return cls(**check_config_arguments(cls, config))
    if "custom_objects" in inspect.signature(method).parameters:
        return method(config, custom_objects=registry.registered_objects())
    return method(config)


def resolve_class(class_name: Any, registered_name: Any = None, family: str | None = None) -> type:
    """The class of a config: its registered name, then its class name among the
    scoped, registered and built-in classes (of ``family`` first)."""
    custom = registry.registered_objects()
    for key in (registered_name, class_name):
        if isinstance(key, str) and inspect.isclass(custom.get(key)):
            return custom[key]
    if family is not None and class_name in registry.builtin_classes(family):
        return registry.builtin_classes(family)[class_name]
    return registry.get_class(class_name)


def resolve_function(name: str, family: str | None = None) -> Any:
    """The function of a `{"class_name": "function"}` config."""
    return registry.get_function(name, family)
