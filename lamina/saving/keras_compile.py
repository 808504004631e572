"""Keras's `compile_config` (the optimizer, loss and metrics of a `.keras` file).

Reading instantiates only Lamina's built-in and registered optimizers, losses,
metrics and schedules, keeping the arguments Lamina's classes take and dropping
Keras-only ones that hold their neutral value; anything else raises, and
`load_keras_model` then warns and returns the model uncompiled.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from lamina.saving import registry

# Keras-only arguments, dropped when they hold this neutral value.
_NEUTRAL = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
    "reduction": "sum_over_batch_size",
    "dtype": "float32",
}
_IGNORED = {"name", "ema_momentum"}  # no effect on what is computed here


def _accepted(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self"}


def _number(value: Any) -> Any:
    """Keras stores float32 values (0.0010000000474974513): back to the short decimal."""
    if isinstance(value, float):
        return float(repr(np.float32(value)).replace("np.float32(", "").rstrip(")"))
    return value


def _instantiate(entry: dict[str, Any], family: str) -> Any:
    class_name = entry.get("registered_name") or entry.get("class_name")
    try:
        cls = registry.get_class(class_name, family)
    except ValueError:
        cls = registry.get_class(entry.get("class_name"), family)
    accepted = _accepted(cls)
    kwargs: dict[str, Any] = {}
    for key, value in (entry.get("config") or {}).items():
        if isinstance(value, dict) and "class_name" in value:
            value = _instantiate(value, "schedule")
        value = _number(value)
        if key in accepted:
            kwargs[key] = value
        elif key in _IGNORED or (key in _NEUTRAL and value == _NEUTRAL[key]):
            continue
        else:
            raise ValueError(
                f"Keras's `{entry.get('class_name')}` sets `{key}`, which Lamina's "
                f"`{cls.__name__}` does not take. Received: {key}={value!r}."
            )
    return cls(**kwargs)


def _objects(value: Any, family: str) -> Any:
    if isinstance(value, dict) and "class_name" in value:
        return _instantiate(value, family)
    if isinstance(value, dict):
        return {k: _objects(v, family) for k, v in value.items()}
    if isinstance(value, list):
        return [_objects(v, family) for v in value]
    return value


def compile_from_keras(model: Any, compile_config: dict[str, Any]) -> None:
    """Compiles ``model`` as Keras's `compile_config` says (optimizer, loss, metrics)."""
    kwargs: dict[str, Any] = {"optimizer": _objects(compile_config.get("optimizer"), "optimizer")}
    for key, family in (("loss", "loss"), ("metrics", "metric"), ("weighted_metrics", "metric")):
        if compile_config.get(key) is not None:
            kwargs[key] = _objects(compile_config[key], family)
    if compile_config.get("loss_weights") is not None:
        kwargs["loss_weights"] = compile_config["loss_weights"]
    model.compile(**kwargs)


def _to_keras_object(value: Any, module: str) -> Any:
    """Lamina objects and their `{"module", "class_name", "config"}` dicts in Keras's envelope."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict) and "class_name" in value:
        return {
            "module": module,
            "class_name": value["class_name"],
            "config": value.get("config", {}),
            "registered_name": None,
        }
    if isinstance(value, dict):
        return {k: _to_keras_object(v, module) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_keras_object(v, module) for v in value]
    if hasattr(value, "get_config"):
        return _to_keras_object(
            {"class_name": type(value).__name__, "config": value.get_config()}, module
        )
    raise ValueError(
        f"Cannot write {value!r} into a Keras compile configuration. Received: a "
        f"{type(value).__name__}. Compile with names or Lamina's loss and metric classes."
    )


def compile_to_keras(model: Any) -> dict[str, Any] | None:
    """Keras's `compile_config` for a compiled Lamina model (None when not compiled).

    Returns None too when the configuration holds something Keras could not
    rebuild (a plain function as loss, ...): Keras then loads the model uncompiled.
    """
    from lamina import optimizers

    spec = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or spec is None or model.optimizer is None:
        return None
    try:
        return {
            "optimizer": _to_keras_object(
                optimizers.serialize(model.optimizer), "keras.optimizers"
            ),
            "loss": _to_keras_object(spec.get("loss"), "keras.losses"),
            "loss_weights": spec.get("loss_weights"),
            "metrics": _to_keras_object(spec.get("metrics"), "keras.metrics"),
            "weighted_metrics": _to_keras_object(spec.get("weighted_metrics"), "keras.metrics"),
            "run_eagerly": False,
            "steps_per_execution": 1,
            "jit_compile": False,
        }
    except (TypeError, ValueError):
        return None
