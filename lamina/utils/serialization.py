"""The `{"class_name": ..., "config": ...}` form shared by every serialisable family
(losses, metrics, optimizers, schedules, initializers, regularizers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.utils import validation


def class_config(obj: Any) -> dict[str, Any]:
    """Returns ``{"class_name": type name, "config": obj.get_config()}``."""
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def check_config(config: Any) -> str:
    """Checks the form of a serialised object and returns its class name."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "`deserialize` expects a dict with keys 'class_name' and 'config'. "
            f"Received: config={config!r}."
        )
    return config["class_name"]


def deserialize_class_or_function(
    config: dict[str, Any],
    *,
    kind: str,
    classes: dict[str, type],
    functions: dict[str, Callable[..., Any]],
    wrapper: type,
    custom_objects: dict[str, Any] | None,
) -> Any:
    """Rebuilds a loss or metric: a class by name, or ``wrapper(fn=...)`` around a
    function by name. Only the given tables and ``custom_objects`` are consulted:
    nothing is imported."""
    name = check_config(config)
    custom_objects = custom_objects or {}
    table = {**classes, **{k: v for k, v in custom_objects.items() if isinstance(v, type)}}
    if name not in table:
        valid = ", ".join(sorted(table))
        raise ValueError(
            f"Unknown {kind} class: {name!r}. Valid names are: {valid}. Pass user-defined "
            f"classes with `custom_objects={{'{name}': {name}}}`. Received: class_name={name!r}."
        )
    cls = table[name]
    kwargs = dict(config.get("config", {}))
    if cls is wrapper and isinstance(kwargs.get("fn"), str):
        fns = {**functions, **{k: v for k, v in custom_objects.items() if not isinstance(v, type)}}
        fn_name = kwargs["fn"]
        kwargs["fn"] = fns.get(fn_name) or validation.lookup(f"{kind} function", fn_name, fns)
        return cls(**kwargs)
    return cls.from_config(kwargs)
