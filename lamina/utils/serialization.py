"""The `serialize` / `deserialize` of every family (losses, metrics, optimizers,
schedules, initializers, regularizers, activations, layers), as thin calls into
the one registry (`lamina.saving.registry`) and the Keras config form
(`lamina.saving.serialization_lib`)."""

from __future__ import annotations

import inspect
from typing import Any

from lamina.saving import registry, serialization_lib


def class_config(obj: Any) -> dict[str, Any]:
    """The Keras config of an object: ``{"module", "class_name", "config", "registered_name"}``."""
    return serialization_lib.serialize_keras_object(obj)


def check_config(config: Any) -> str:
    """Checks the form of a serialised object and returns its class name."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "`deserialize` expects a dict with keys 'class_name' and 'config'. "
            f"Received: config={config!r}."
        )
    return config["class_name"]


def _unknown_class(kind: str, family: str, name: Any) -> ValueError:
    valid = sorted(n for n in registry.builtin_classes(family) if n not in registry.NOT_BY_NAME)
    return ValueError(
        f"Unknown {kind} class: {name!r}. Valid classes are: {', '.join(valid)}. "
        f"Received: class_name={name!r}. Pass user-defined classes with "
        f"`custom_objects={{'{name}': {name}}}` or register them with "
        "@lamina.saving.register_keras_serializable()."
    )


def resolve_function(family: str, name: str, kind: str | None = None) -> Any:
    """A function by name: scoped or registered, else a built-in of ``family``."""
    kind = kind or family
    custom = registry.registered_objects()
    if name in custom and not inspect.isclass(custom[name]):
        return custom[name]
    functions = registry.builtin_functions(family)
    if name in functions:
        return functions[name]
    names = registry.builtin_names(family)
    if name.lower() in names and not inspect.isclass(names[name.lower()]):
        return names[name.lower()]
    raise ValueError(
        f"Unknown {kind} function name: {name!r}. Valid names are: "
        f"{', '.join(sorted(functions))}. Received: fn={name!r}. Register custom functions "
        "with @lamina.saving.register_keras_serializable() or pass them in `custom_objects`."
    )


def deserialize(
    config: Any,
    *,
    family: str,
    kind: str,
    custom_objects: dict[str, Any] | None = None,
    wrapper: type | None = None,
) -> Any:
    """Rebuilds an object of one family from its config, without importing anything.

    Args:
        config: `{"class_name", "config"}` (short or Keras form); a
            `{"class_name": "function"}` config gives the function (wrapped in
            ``wrapper`` when given); a name is looked up as `get` does.
        family: The registry family (`"loss"`, ...).
        kind: The word used in errors (`"loss"`, `"learning rate schedule"`, ...).
        custom_objects: Extra classes or functions by name. Defaults to `None`.
        wrapper: The class wrapping plain functions (`LossFunctionWrapper`,
            `MeanMetricWrapper`), whose `fn` may be a function name. Defaults to `None`.
    """
    token = registry.push_scope(custom_objects)
    try:
        if isinstance(config, str):
            return registry.lookup(family, config, kind)
        name = check_config(config)
        inner = config.get("config", {})
        if name == "function":
            fn_name = config.get("registered_name") or inner
            fn = resolve_function(family, fn_name, kind)
            return wrapper(fn) if wrapper is not None else fn
        try:
            cls = serialization_lib.resolve_class(name, config.get("registered_name"), family)
        except ValueError:
            # Older files name some objects by their snake_case name ("glorot_uniform").
            cls = registry.builtin_names(family).get(name.lower() if isinstance(name, str) else name)
            if not inspect.isclass(cls):
                raise _unknown_class(kind, family, name) from None
        inner = serialization_lib.materialize(dict(inner or {}))
        if wrapper is not None and cls is wrapper and isinstance(inner.get("fn"), str):
            inner["fn"] = resolve_function(family, inner["fn"], kind)
            return cls(**inner)
        return serialization_lib.from_config(cls, inner)
    finally:
        registry.pop_scope(token)


def get(identifier: Any, *, family: str, kind: str, base: type) -> Any:
    """The common part of a family's `get`: an instance is returned as is, a
    subclass or a name is instantiated with its defaults, a config is
    deserialised. Returns `NotImplemented` for anything else (the family decides)."""
    if isinstance(identifier, base):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, base):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier, family=family, kind=kind)
    if isinstance(identifier, str):
        obj = registry.lookup(family, identifier, kind)
        return obj() if inspect.isclass(obj) else obj
    return NotImplemented


def serialize_layer(layer: Any) -> dict[str, Any]:
    """Returns the Keras config of a layer (`lamina.layers.serialize`).

    Args:
        layer: A Lamina layer (or model).

    Returns:
        `{"module", "class_name", "config", "registered_name"}`, plus
        `"build_config"` once the layer is built. Layers and other objects in
        the layer's `get_config()` are serialised too.

    Example:
        >>> import lamina
        >>> config = lamina.utils.serialization.serialize_layer(lamina.layers.Dense(2))
        >>> config["class_name"]
        'Dense'
    """
    from lamina.layers.layer import Layer

    if not isinstance(layer, Layer):
        raise TypeError(
            f"`serialize` expects a Lamina layer. Received: layer of type {type(layer).__name__}. "
            "Use `lamina.saving.serialize_keras_object` for other objects."
        )
    return class_config(layer)


def deserialize_layer(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a layer from its config (`lamina.layers.deserialize`).

    Args:
        config: The output of `serialize_layer` (or a Keras `{"class_name",
            "config"}` dict); a layer is returned as it is.
        custom_objects: Extra classes or functions by name. Defaults to `None`.

    Returns:
        The layer (built when the config has a `build_config`).
    """
    from lamina.layers.layer import Layer

    if isinstance(config, Layer):
        return config  # already rebuilt (a sub-layer inside a config being loaded)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "`deserialize` expects a layer config, a dict with keys 'class_name' and 'config'. "
            f"Received: config={config!r}."
        )
    layer = serialization_lib.deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(layer, Layer):
        raise ValueError(
            "`deserialize` expects the config of a layer. Received: a config of "
            f"{type(layer).__name__}. Use `lamina.saving.deserialize_keras_object` for other objects."
        )
    return layer
