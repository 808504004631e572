"""The one registry: every name -> object resolution in Lamina goes through it.

A name (in a saved file, in `compile(loss="mse")`, in `Dense(activation="relu")`)
is looked up in three places, in this order:

* the `custom_objects` of the `custom_object_scope` in force (and of the
  `load_model` call in progress);
* the user's classes and functions, registered with `@lamina.register` or
  `@lamina.saving.register_keras_serializable` (the global dict that
  `lamina.saving.get_custom_objects()` returns);
* Lamina's built-in objects, discovered on first use from the public names of
  each family's module (`lamina.layers`, `lamina.losses`, ...): classes
  deriving from the family's base class, and for losses, metrics and
  activations their public functions. Each class is also known by its
  snake_case name (`"mean_squared_error"`), its lower-case name (`"rmsprop"`)
  and Keras's short aliases (`"mse"`, `"bce"`, ...), so a class added to a
  family module needs no edit here.

Nothing is imported because a file names it: only Lamina's own fixed modules.
A name found nowhere is refused with a `ValueError` listing the valid names.

Example:
    >>> import lamina
    >>> @lamina.register
    ... class Scale(lamina.layers.Layer):
    ...     def call(self, inputs, training=None):
    ...         return inputs * 2
    >>> lamina.saving.get_class("Scale") is Scale
    True
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# family -> (modules holding its public objects, "module:BaseClass" or None, function rule).
_FAMILIES: dict[str, tuple[tuple[str, ...], str | None, str | None]] = {
    "model": (("lamina.models", "lamina.models.functional"), "lamina.models:Model", None),
    "layer": (("lamina.layers",), "lamina.layers:Layer", None),
    "loss": (("lamina.losses",), "lamina.losses:Loss", "y_true"),
    "metric": (("lamina.metrics", "lamina.losses"), "lamina.metrics:Metric", "y_true"),
    "optimizer": (("lamina.optimizers",), "lamina.optimizers:Optimizer", None),
    "schedule": (("lamina.schedules",), "lamina.schedules:LearningRateSchedule", None),
    "initializer": (("lamina.initializers",), "lamina.initializers:Initializer", None),
    "regularizer": (("lamina.regularizers",), "lamina.regularizers:Regularizer", None),
    "activation": (("lamina.activations",), None, "x"),
}
FAMILIES: tuple[str, ...] = tuple(_FAMILIES)

# The public module of each family, written as the `module` of serialised objects.
FAMILY_MODULES: dict[str, str] = {fam: mods[0] for fam, (mods, _, _) in _FAMILIES.items()}

# Keras's short names, per family: alias -> canonical class or function name.
# A target missing from this version of Lamina is skipped.
ALIASES: dict[str, dict[str, str]] = {
    "loss": {
        "mse": "MeanSquaredError", "mae": "MeanAbsoluteError",
        "mape": "MeanAbsolutePercentageError", "msle": "MeanSquaredLogarithmicError",
        "bce": "BinaryCrossentropy", "cce": "CategoricalCrossentropy",
        "kld": "KLDivergence", "kullback_leibler_divergence": "KLDivergence",
        "huber_loss": "Huber", "logcosh": "LogCosh", "log_cosh": "LogCosh",
        "ctc": "CTC", "binary_focal_crossentropy": "BinaryFocalCrossentropy",
        "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    },
    "metric": {
        "mse": "MeanSquaredError", "mae": "MeanAbsoluteError",
        "mape": "MeanAbsolutePercentageError", "msle": "MeanSquaredLogarithmicError",
        "rmse": "RootMeanSquaredError", "acc": "Accuracy", "f1": "F1Score",
        "kld": "KLDivergence", "logcosh": "LogCoshError", "log_cosh": "LogCoshError",
        "mean_iou": "MeanIoU", "r2": "R2Score", "r2_score": "R2Score",
    },
    "regularizer": {"l1": "L1", "l2": "L2", "l1_l2": "L1L2", "l1l2": "L1L2"},
    "initializer": {
        "uniform": "RandomUniform", "normal": "RandomNormal",
        "random_uniform": "RandomUniform", "random_normal": "RandomNormal",
    },
}

# Base and wrapper classes: deserialisable by class name, never made by `get("name")`.
NOT_BY_NAME: frozenset[str] = frozenset(
    {"Loss", "LossFunctionWrapper", "Metric", "MeanMetricWrapper", "Reduce", "Optimizer",
     "LearningRateSchedule", "Initializer", "Regularizer", "Layer", "Model"}
)

_BUILTINS: dict[str, dict[str, dict[str, Any]]] | None = None
_REGISTERED: dict[str, Any] = {}  # The global custom objects (see `get_custom_objects`).
_SCOPE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "lamina_custom_objects", default=None
)


def to_snake_case(name: str) -> str:
    """`"MeanSquaredError"` -> `"mean_squared_error"` (Keras's rule)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _public_items(module: Any) -> list[tuple[str, Any]]:
    names = getattr(module, "__all__", None)
    if names is None:
        return [(n, v) for n, v in vars(module).items() if not n.startswith("_")]
    return [(n, vars(module).get(n)) for n in names if not n.startswith("_")]


def _is_family_function(obj: Any, first: str | None) -> bool:
    if first is None or not inspect.isfunction(obj) or obj.__name__.startswith("_"):
        return False
    if not obj.__module__.startswith("lamina.") or obj.__name__ in ("get", "serialize", "deserialize"):
        return False
    params = list(inspect.signature(obj).parameters)
    if first == "y_true":
        return params[:2] == ["y_true", "y_pred"]
    return bool(params) and params[0] == first


def _discover(family: str) -> dict[str, dict[str, Any]]:
    """`{"classes": {name: cls}, "functions": {name: fn}, "names": {lower name: obj}}`."""
    module_names, base_path, fn_rule = _FAMILIES[family]
    modules = []
    for name in module_names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:  # an optional module of this family (e.g. the functional graph)
            continue
    base = None
    if base_path is not None:
        mod, attr = base_path.split(":")
        base = getattr(importlib.import_module(mod), attr)
    classes: dict[str, type] = {}
    functions: dict[str, Any] = {}
    attr_aliases: dict[str, Any] = {}
    for i, module in enumerate(modules):
        for attr, obj in _public_items(module):
            if base is not None and inspect.isclass(obj) and issubclass(obj, base):
                if i > 0 and family == "metric":
                    continue  # the losses module only lends its functions to metrics
                if obj.__module__.startswith("lamina.") and not obj.__name__.startswith("_"):
                    classes.setdefault(obj.__name__, obj)
                    if attr != obj.__name__:
                        attr_aliases[attr] = obj
            elif _is_family_function(obj, fn_rule):
                functions.setdefault(obj.__name__, obj)
                if attr != obj.__name__:
                    attr_aliases[attr] = obj
    names: dict[str, Any] = {}
    for cname, cls in classes.items():
        if cname in NOT_BY_NAME:
            continue
        names.setdefault(to_snake_case(cname), cls)
        names.setdefault(cname.lower(), cls)
    if family == "activation":
        for fname, fn in functions.items():
            names.setdefault(fname, fn)
    for alias, obj in attr_aliases.items():
        names.setdefault(alias.lower(), obj)
    for alias, target in ALIASES.get(family, {}).items():
        obj = classes.get(target) or functions.get(target)
        if obj is not None:
            names.setdefault(alias, obj)
    return {"classes": classes, "functions": functions, "names": names}


def _tables() -> dict[str, dict[str, dict[str, Any]]]:
    global _BUILTINS
    if _BUILTINS is None:
        _BUILTINS = {family: _discover(family) for family in FAMILIES}
    return _BUILTINS


def refresh() -> None:
    """Forgets the discovered built-ins (they are collected again on next use)."""
    global _BUILTINS
    _BUILTINS = None


def _check_family(family: str | None, owner: str) -> None:
    if family is not None and family not in _FAMILIES:
        raise ValueError(
            f"`{owner}` expects `family` to be one of {', '.join(map(repr, FAMILIES))}. "
            f"Received: family={family!r}."
        )


def builtin_classes(family: str | None = None) -> dict[str, type]:
    """Lamina's built-in classes by class name.

    Args:
        family: One of `FAMILIES` (`"model"`, `"layer"`, `"loss"`, ...); None
            merges all families (the earlier family in that order wins a
            shared name). Defaults to `None`.
    """
    _check_family(family, "builtin_classes")
    tables = _tables()
    if family is not None:
        return dict(tables[family]["classes"])
    merged: dict[str, type] = {}
    for fam in reversed(FAMILIES):
        merged.update(tables[fam]["classes"])
    return merged


def builtin_functions(family: str | None = None) -> dict[str, Callable[..., Any]]:
    """Lamina's built-in functions (losses, metrics, activations) by name."""
    _check_family(family, "builtin_functions")
    tables = _tables()
    if family is not None:
        return dict(tables[family]["functions"])
    merged: dict[str, Any] = {}
    for fam in reversed(FAMILIES):
        merged.update(tables[fam]["functions"])
    return merged


def builtin_classes_by_family() -> dict[str, dict[str, type]]:
    """All built-in classes, as ``{family: {name: class}}``."""
    return {fam: dict(t["classes"]) for fam, t in _tables().items()}


def builtin_names(family: str) -> dict[str, Any]:
    """The names `get("...")` of a family accepts (lower case) -> class or function."""
    _check_family(family, "builtin_names")
    return dict(_tables()[family]["names"])


def valid_names(family: str) -> list[str]:
    """The names listed in errors: snake_case names and aliases (lower case for optimizers)."""
    names = builtin_names(family)
    if family == "optimizer":
        return sorted(k for k, v in names.items() if k == getattr(v, "__name__", "").lower())
    shown = set()
    for key, obj in names.items():
        if key == getattr(obj, "__name__", "").lower() and key != to_snake_case(obj.__name__):
            continue  # "meansquarederror" is accepted but not listed
        shown.add(key)
    return sorted(shown)


def lookup(family: str, name: str, kind: str | None = None) -> Any:
    """Resolves a name as `get` does: a registered or scoped object, a built-in class
    name (`"MeanSquaredError"`), or a built-in name or alias (case-insensitive).

    Args:
        family: One of `FAMILIES`.
        name: The name.
        kind: The word used in the error (`"loss"`, ...). Defaults to `family`.

    Raises:
        ValueError: For an unknown name; the message lists the valid names.
    """
    _check_family(family, "lookup")
    custom = registered_objects()
    if name in custom:
        return custom[name]
    tables = _tables()[family]
    if name in tables["classes"] and name not in NOT_BY_NAME:
        return tables["classes"][name]
    key = name.lower() if isinstance(name, str) else name
    if key in tables["names"]:
        return tables["names"][key]
    kind = kind or family
    raise ValueError(
        f"Unknown {kind} name: {name!r}. Valid names are: {', '.join(valid_names(family))}. "
        f"Received: {kind}={name!r}. For a custom {kind}, pass the object itself or register "
        "it with @lamina.saving.register_keras_serializable()."
    )


def family_of(obj: Any) -> str | None:
    """The family of a built-in class or function (of an instance's class), or None."""
    target = obj if (inspect.isclass(obj) or inspect.isfunction(obj)) else type(obj)
    for fam, table in _tables().items():
        if target in table["classes"].values() or target in table["functions"].values():
            return fam
    return None


# --------------------------------------------------------------------------- user objects
def _check_registrable(target: Any, owner: str) -> None:
    if not (inspect.isclass(target) or inspect.isfunction(target)):
        raise TypeError(
            f"`{owner}` expects a class or a function (use it as a decorator). "
            f"Received: {target!r} of type {type(target).__name__}."
        )


def _store(key: str, target: Any) -> None:
    for other_key, other in list(_REGISTERED.items()):
        # One name per object: re-registering under a new name drops the old one.
        if other is target and other_key != key:
            del _REGISTERED[other_key]
    _REGISTERED[key] = target


def register(obj: T | None = None, *, name: str | None = None) -> T | Callable[[T], T]:
    """Registers a custom class or function so saved files can name it.

    Use it as a decorator on custom layers, models, losses, metrics, optimizers,
    schedules, or on plain loss / metric / activation functions. `load_model`
    can only rebuild classes that are built into Lamina or registered; register
    a class before calling `load_model` (for instance by importing the module
    that defines it). Registering a name again replaces the earlier entry (handy
    when a notebook cell is run twice). See also the Keras spelling
    `lamina.saving.register_keras_serializable(package, name)`.

    Args:
        obj: The class or function. Leave it out to use `@register(name=...)`.
        name: The name written to files. Defaults to `obj.__name__`. It may not
            be the name of one of Lamina's built-in classes.

    Returns:
        `obj` itself (or a decorator when `obj` is None).

    Example:
        >>> import lamina
        >>> @lamina.register
        ... class Doubler(lamina.layers.Layer):
        ...     def call(self, inputs, training=None):
        ...         return inputs * 2
        >>> @lamina.register(name="my_mse")
        ... def my_mse(y_true, y_pred):
        ...     return ((y_true - y_pred) ** 2).mean(dim=-1)
    """

    def decorate(target: T) -> T:
        _check_registrable(target, "register")
        key = target.__name__ if name is None else name
        if not isinstance(key, str) or not key or not key.isidentifier():
            raise ValueError(
                "`register` expects `name` to be a non-empty identifier such as 'MyLayer'. "
                f"Received: name={key!r}."
            )
        builtin = builtin_classes().get(key)
        if builtin is not None and builtin is not target:
            raise ValueError(
                f"The name {key!r} is already used by Lamina's built-in class "
                f"`{builtin.__module__}.{builtin.__name__}`, so files naming it would be "
                f"ambiguous. Received: name={key!r}. Register it under another name, e.g. "
                f"@lamina.register(name='Custom{key}')."
            )
        _store(key, target)
        return target

    if obj is None:
        return decorate
    return decorate(obj)


def unregister(name: str) -> None:
    """Removes a registered name (does nothing for an unknown name)."""
    _REGISTERED.pop(name, None)


def registered_objects() -> dict[str, Any]:
    """The registered classes and functions (by registered name and by `__name__`),
    plus the `custom_objects` of the scope in force."""
    out: dict[str, Any] = {}
    for obj in _REGISTERED.values():
        name = getattr(obj, "__name__", None)
        if isinstance(name, str):
            out.setdefault(name, obj)
    out.update(_REGISTERED)
    scope = _SCOPE.get()
    if scope:
        out.update(scope)
    return out


def check_custom_objects(custom_objects: Any) -> dict[str, Any]:
    """Checks a `custom_objects` argument (`{name: class or function}`)."""
    if custom_objects is None:
        return {}
    if not isinstance(custom_objects, dict) or not all(
        isinstance(k, str) and (inspect.isclass(v) or callable(v)) for k, v in custom_objects.items()
    ):
        raise TypeError(
            "`custom_objects` must be a dict mapping names to classes or functions, e.g. "
            f"custom_objects={{'MyLayer': MyLayer}}. Received: custom_objects={custom_objects!r}."
        )
    return custom_objects


def push_scope(custom_objects: dict[str, Any] | None) -> contextvars.Token:
    """Adds ``custom_objects`` to the scope in force; undo with `pop_scope(token)`."""
    objects = check_custom_objects(custom_objects)
    return _SCOPE.set({**(_SCOPE.get() or {}), **objects})


def pop_scope(token: contextvars.Token) -> None:
    _SCOPE.reset(token)


def _unknown(name: str) -> ValueError:
    return ValueError(
        f"Unknown class '{name}' in the saved file. Only Lamina's built-in classes and classes "
        "registered with @lamina.register (or @lamina.saving.register_keras_serializable) can be "
        f"loaded; register it before calling load_model. (Or pass custom_objects={{'{name}': "
        f"{name}}} to load_model.)"
    )


def get_class(name: str, family: str | None = None) -> type:
    """Returns the class saved under ``name``; never imports anything.

    Looks in the `custom_objects` in force, then the registered classes, then
    Lamina's built-in classes.

    Args:
        name: A class name as written in a file, e.g. `"Dense"`.
        family: Restricts the built-in lookup to one family (`"layer"`,
            `"loss"`, `"metric"`, ...), for names two families share.
            Defaults to `None` (models and layers first).

    Raises:
        ValueError: For a name that is neither built in nor registered.
    """
    if not isinstance(name, str):
        raise ValueError(
            f"A class name in a saved file must be a string. Received: class_name={name!r}. "
            "The file is corrupted or was not written by Lamina."
        )
    custom = registered_objects()
    if name in custom and inspect.isclass(custom[name]):
        return custom[name]
    table = builtin_classes(family)
    if name in table:
        return table[name]
    raise _unknown(name)


def get_function(name: str, family: str | None = None) -> Callable[..., Any]:
    """Returns the function saved under ``name`` (scoped, registered or built in)."""
    custom = registered_objects()
    if name in custom and not inspect.isclass(custom[name]):
        return custom[name]
    table = builtin_functions(family)
    if family is not None and name in builtin_names(family) and name not in table:
        table[name] = builtin_names(family)[name]  # an alias such as "swish"
    if name in table:
        return table[name]
    raise ValueError(
        f"Unknown function '{name}' in the config. Only Lamina's built-in functions and "
        "functions registered with @lamina.saving.register_keras_serializable() can be loaded. "
        f"Received: name={name!r}. Register it, or pass custom_objects={{'{name}': {name}}}."
    )


def get_registered_name(obj: Any) -> str | None:
    """The name under which ``obj`` (a class or function) is saved: its registered
    name, or its built-in name; None when it is neither. (The Keras function of
    this name, `lamina.saving.get_registered_name`, falls back to `__name__`.)"""
    for key, value in _REGISTERED.items():
        if value is obj:
            return key
    scope = _SCOPE.get() or {}
    for key, value in scope.items():
        if value is obj:
            return key
    fam = family_of(obj) if (inspect.isclass(obj) or inspect.isfunction(obj)) else None
    return getattr(obj, "__name__", None) if fam is not None else None


def has_custom_get_config(cls: type) -> bool:
    """Whether a `Model` subclass defines its own `get_config` (below `Model`)."""
    from lamina.models.model import Model

    for klass in cls.__mro__:
        if klass is Model:
            return False
        if "get_config" in vars(klass):
            return True
    return False
