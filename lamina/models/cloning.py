"""`clone_model`, `model_from_json` and `model_to_json`: a model's architecture
without its weights, as in Keras; `compile_like` compiles a clone as the original was."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from lamina.saving import registry, serialization_lib
from lamina.utils import validation


def _clone_layer(layer: Any) -> Any:
    """A fresh layer with the same config (sub-layers in its config are fresh too)."""
    config = serialization_lib.serialize_keras_object(layer.get_config())
    return serialization_lib.from_config(type(layer), config)


class _Given:
    """Stands in for a class in a config entry, so the graph is rebuilt with a
    layer made beforehand (by `clone_function`)."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def from_config(self, config: dict[str, Any]) -> Any:
        return self.layer


def _check_function(clone_function: Any) -> Callable[[Any], Any]:
    if clone_function is None:
        return _clone_layer
    if not callable(clone_function):
        raise TypeError(
            "`clone_model` expects `clone_function` to be a function layer -> layer, or None. "
            f"Received: clone_function={clone_function!r}."
        )
    return clone_function


def _input_list(input_tensors: Any) -> list[Any] | None:
    if input_tensors is None:
        return None
    from lamina.layers.symbolic import SymbolicTensor
    from lamina.utils.tree import flatten

    tensors = flatten(input_tensors)
    if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
        raise ValueError(
            "`clone_model` expects `input_tensors` to be `lamina.Input(...)` tensors (one, or a "
            f"list with one per model input). Received: input_tensors={input_tensors!r}."
        )
    return tensors


def _clone_sequential(model: Any, inputs: list[Any] | None, fn: Callable[[Any], Any]) -> Any:
    from lamina.layers.input_layer import InputLayer
    from lamina.models.sequential import Sequential

    layers = [fn(layer) for layer in model.layers if not isinstance(layer, InputLayer)]
    if inputs is not None:
        if len(inputs) != 1:
            raise ValueError(
                "A `Sequential` model has one input, so `clone_model` expects one input tensor. "
                f"Received: {len(inputs)} input tensors."
            )
        from lamina.models.model import Model

        x = inputs[0]
        for layer in layers:
            x = layer(x)
        return Model(inputs[0], x, name=model.name)
    config = model.get_config()
    if config.get("input") is not None:
        layers.insert(0, InputLayer.from_config(config["input"]))
    clone = Sequential(layers, name=model.name, trainable=model.trainable)
    shape = config.get("build_input_shape")
    if not clone.built and shape is not None:
        clone.build(tuple(shape))
    return clone


def _clone_functional(model: Any, inputs: list[Any] | None, fn: Callable[[Any], Any]) -> Any:
    from lamina.layers.input_layer import InputLayer
    from lamina.models.functional import _layer_name, functional_from_config

    config = model.get_config()
    by_name = {_layer_name(layer): layer for layer in model.layers}
    input_names = [
        ref["__tensor__"][0] if isinstance(ref, dict) and "__tensor__" in ref else None
        for ref in _flat_refs(config["input_layers"])
    ]
    if inputs is not None and len(inputs) != len(input_names):
        raise ValueError(
            f"`clone_model` expects one input tensor per model input ({len(input_names)}). "
            f"Received: {len(inputs)} input tensors."
        )
    given: dict[str, Any] = {}
    entries = []
    for i, entry in enumerate(config["layers"]):
        name = entry.get("name", entry["config"].get("name"))
        layer = by_name[name]
        if isinstance(layer, InputLayer):
            if inputs is not None:
                made = inputs[input_names.index(name)].node.layer
            else:
                made = InputLayer.from_config(layer.get_config())
        else:
            made = fn(layer)
        key = f"__clone_{i}__"
        given[key] = _Given(made)
        entries.append({**entry, "class_name": key})
    return functional_from_config({**config, "layers": entries}, given, type(model))


def _flat_refs(struct: Any) -> list[Any]:
    if isinstance(struct, dict) and "__tensor__" in struct:
        return [struct]
    if isinstance(struct, dict):
        return [r for v in struct.values() for r in _flat_refs(v)]
    if isinstance(struct, list):
        return [r for v in struct for r in _flat_refs(v)]
    return []


def clone_model(
    model: Any,
    input_tensors: Any = None,
    clone_function: Callable[[Any], Any] | None = None,
    *,
    compile: bool = False,
    **kwargs: Any,
) -> Any:
    """Clones a model: the same architecture with new layers and fresh weights.

    Sequential and functional models are rebuilt layer by layer (each layer
    made by ``clone_function``); a subclassed model is rebuilt as
    `cls.from_config(model.get_config())`. The clone does not share weights
    with the original (Keras semantics): to start from the original's weights,
    copy them with `clone.set_weights(model.get_weights())`.

    With ``compile=True`` (a Lamina extension) the clone is compiled as the
    original was: a fresh optimizer made from the original optimizer's config
    (its current learning rate, no slots, no step count), fresh metric objects
    (no accumulated state), the same loss, loss weights and `jit_compile`. A
    subclass whose `compile` takes other arguments is compiled with
    `clone.compile_from_config(model.get_compile_config())`, as Keras does on
    loading, so it must implement both.

    Args:
        model: A `lamina.Model`.
        input_tensors: `lamina.Input(...)` tensors to build the clone on (one
            per model input), for Sequential and functional models. Defaults
            to `None` (new inputs like the original's).
        clone_function: A function `layer -> layer` applied to every layer
            (but input layers), for Sequential and functional models. Defaults
            to `None` (a new layer from `layer.get_config()`).
        compile: Whether to compile the clone with the original's compile
            settings (the original must be compiled). Defaults to `False`
            (the clone is uncompiled, as in Keras).

    Returns:
        The new model: uncompiled, or compiled like the original with
        ``compile=True``.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        >>> clone = lamina.models.clone_model(model)
        >>> clone.count_params() == model.count_params()
        True
        >>> model.compile(optimizer="adam", loss="mse")
        >>> trainable = lamina.models.clone_model(model, compile=True)
        >>> trainable.set_weights(model.get_weights())  # start from the same weights
        >>> trainable.optimizer is model.optimizer
        False
    """
    from lamina.models.model import Model

    if kwargs:
        raise TypeError(
            f"`clone_model` got unexpected keyword arguments. Received: {sorted(kwargs)}. "
            "It accepts `input_tensors`, `clone_function` and `compile`."
        )
    if not isinstance(model, Model):
        raise TypeError(
            f"`clone_model` expects a `lamina.Model`. Received: model of type {type(model).__name__}."
        )
    compile = validation.boolean("clone_model", "compile", compile)
    if compile and not getattr(model, "compiled", False):
        raise ValueError(
            "`clone_model(..., compile=True)` expects a compiled model, whose compile settings "
            f"the clone copies. Received: an uncompiled `{type(model).__name__}` "
            f"named '{model.name}'. Call `model.compile(...)` first, or pass `compile=False` and "
            "compile the clone yourself."
        )
    clone = _clone_architecture(model, input_tensors, clone_function)
    if compile:
        compile_like(clone, model)
    return clone


def _clone_architecture(model: Any, input_tensors: Any, clone_function: Any) -> Any:
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    fn = _check_function(clone_function)
    inputs = _input_list(input_tensors)
    if isinstance(model, Sequential):
        return _clone_sequential(model, inputs, fn)
    if isinstance(model, Functional):
        return _clone_functional(model, inputs, fn)
    if inputs is not None or clone_function is not None:
        raise ValueError(
            "`clone_model` accepts `input_tensors` and `clone_function` only for Sequential and "
            f"functional models. Received: a subclassed `{type(model).__name__}` with "
            f"input_tensors={input_tensors!r}, clone_function={clone_function!r}. Rebuild it "
            "with its constructor instead."
        )
    return _clone_subclassed(model)


def _clone_subclassed(model: Any) -> Any:
    cls = type(model)
    if not registry.has_custom_get_config(cls):
        try:
            clone = cls()
        except TypeError as e:
            raise ValueError(
                f"`clone_model` could not rebuild the subclassed model `{cls.__name__}`: {e}. "
                f"Received: a `{cls.__name__}` without `get_config()`. Implement `get_config()` "
                "returning its constructor arguments."
            ) from e
    else:
        config = serialization_lib.serialize_keras_object(model.get_config())
        clone = serialization_lib.from_config(cls, config)
    shape = getattr(model, "_build_input_shape", None)
    if model.built and shape is not None and not clone.built:
        clone.build(shape)
    return clone


# --------------------------------------------------------------------------- compile=True


def _fresh(obj: Any) -> Any:
    """``obj`` rebuilt from its config (no shared state): a loss or metric object,
    or lists / dicts of them. Names, numbers and plain functions hold no state and
    are kept. An object whose class cannot be rebuilt from its config is deep-copied
    and, for a metric, reset."""
    stateless = callable(obj) and not hasattr(obj, "get_config")  # a plain function
    if obj is None or isinstance(obj, (str, bool, int, float)) or stateless:
        return obj
    if isinstance(obj, dict):
        return {k: _fresh(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_fresh(v) for v in obj)
    try:
        return type(obj).from_config(obj.get_config())
    except Exception:  # noqa: BLE001 - a config that does not rebuild the object: copy it
        fresh = copy.deepcopy(obj)
        if hasattr(fresh, "reset_state"):
            fresh.reset_state()
        return fresh


def _fresh_optimizer(model: Any) -> Any:
    optimizer = model.optimizer
    if optimizer is None:
        return None
    try:
        return type(optimizer).from_config(optimizer.get_config())
    except Exception as e:  # noqa: BLE001 - reported in the house form
        raise ValueError(
            "`clone_model(..., compile=True)` builds a fresh optimizer from the original's "
            f"config, but `{type(optimizer).__name__}.from_config(optimizer.get_config())` "
            f"failed: {e}. Received: model.optimizer={optimizer!r}. Make the optimizer's "
            "`get_config()` return its constructor arguments, or compile the clone yourself."
        ) from e


def _overrides(model: Any, name: str) -> bool:
    from lamina.models.model import Model

    return getattr(type(model), name) is not getattr(Model, name)


def compile_like(clone: Any, model: Any, **overrides: Any) -> None:
    """Compiles ``clone`` with ``model``'s compile settings and fresh stateful objects.

    What `clone_model(model, compile=True)` does after cloning: a fresh optimizer
    from the original optimizer's config, fresh metric objects, the same loss,
    loss weights and `jit_compile`. A class that overrides `compile` is compiled
    with `clone.compile_from_config(model.get_compile_config())`.

    Args:
        clone: The model to compile (usually `clone_model(model)`).
        model: A compiled model whose settings are copied.
        **overrides: `compile` arguments that replace the copied ones (e.g.
            `jit_compile=False`); not accepted for a class with its own `compile`.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        >>> model.compile(optimizer="adam", loss="mse", jit_compile=True)
        >>> clone = lamina.models.clone_model(model)
        >>> compile_like(clone, model, jit_compile=False)
        >>> clone.get_compile_config()["loss"] == model.get_compile_config()["loss"]
        True
    """
    if not getattr(model, "compiled", False):
        raise ValueError(
            "`compile_like` expects a compiled model, whose compile settings it copies. Received: "
            f"an uncompiled `{type(model).__name__}` named '{model.name}'. Call "
            "`model.compile(...)` first."
        )
    if _overrides(model, "get_compile_config"):
        _compile_from_config(clone, model, overrides)
        return
    if _overrides(model, "compile"):
        raise ValueError(
            f"`clone_model(..., compile=True)` cannot tell how the `{type(model).__name__}` was "
            "compiled. Received: a class that overrides `compile` but not "
            "`get_compile_config`. Implement `get_compile_config()` and "
            "`compile_from_config(config)` on it, or pass `compile=False` and compile the "
            "clone yourself."
        )
    spec = model._compile_config or {}
    kwargs: dict[str, Any] = {
        "optimizer": _fresh_optimizer(model),
        "loss": _fresh(model.loss),
        "loss_weights": copy.deepcopy(spec.get("loss_weights")),
        "metrics": _fresh(spec.get("metrics")),
        "weighted_metrics": _fresh(spec.get("weighted_metrics")),
        "jit_compile": spec.get("jit_compile", False),
    }
    # Settings that `compile` accepts but does not record today are passed on when recorded.
    for key in ("run_eagerly", "steps_per_execution", "auto_scale_loss"):
        if key in spec:
            kwargs[key] = spec[key]
    clone.compile(**{**kwargs, **overrides})


def _compile_from_config(clone: Any, model: Any, overrides: dict[str, Any]) -> None:
    name = type(model).__name__
    if overrides:
        raise ValueError(
            f"`compile_like` compiles a `{name}` with its own `compile_from_config`, so it "
            f"cannot replace compile arguments. Received: {sorted(overrides)}. Compile the "
            "clone yourself."
        )
    config = model.get_compile_config()
    if config is None:
        raise ValueError(
            f"`clone_model(..., compile=True)` compiles a `{name}` with "
            "`clone.compile_from_config(model.get_compile_config())`. Received: "
            "get_compile_config() returned None. Return the compile arguments from it."
        )
    clone.compile_from_config(copy.deepcopy(config))


def model_to_json(model: Any, **kwargs: Any) -> str:
    """The model's architecture as a JSON string (see `Model.to_json`).

    Args:
        model: A `lamina.Model`.
        **kwargs: Passed to `json.dumps` (e.g. `indent=2`).
    """
    config = serialization_lib.serialize_keras_object(model)
    return json.dumps(config, **kwargs)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a model (fresh weights) from the JSON string of `model.to_json()`.

    Only Lamina's built-in classes and registered ones (or those in
    ``custom_objects``) are instantiated; nothing is imported.

    Args:
        json_string: The output of `model.to_json()`.
        custom_objects: Extra classes or functions by name. Defaults to `None`.

    Returns:
        The model, uncompiled.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        >>> clone = lamina.models.model_from_json(model.to_json())
        >>> [type(layer).__name__ for layer in clone.layers]
        ['Dense']
    """
    if not isinstance(json_string, (str, bytes)):
        raise TypeError(
            "`model_from_json` expects the JSON string of `model.to_json()`. "
            f"Received: json_string of type {type(json_string).__name__}."
        )
    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"`model_from_json` could not parse the JSON string: {e}. Received: "
            f"json_string={json_string[:80]!r}. Pass the output of `model.to_json()`."
        ) from e
    from lamina.models.model import Model

    model = serialization_lib.deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(model, Model):
        raise ValueError(
            "`model_from_json` expects the JSON of a model. Received: a config of "
            f"{type(model).__name__}. Use `lamina.saving.deserialize_keras_object` for other objects."
        )
    return model
