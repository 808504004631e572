"""Lamina's built-in objects per family, discovered from each family module's
public names, with Keras's names and aliases (`"mse"`, `"rmsprop"`, ...)."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any

# family -> (modules holding its public objects, "module:BaseClass" or None, the first
# parameter of its functions: "y_true" for losses and metrics, "x" for activations).
_FAMILIES: dict[str, tuple[tuple[str, ...], str | None, str | None]] = {
    "model": (("lamina.models", "lamina.models.functional"), "lamina.models:Model", None),
    "layer": (("lamina.layers",), "lamina.layers:Layer", None),
    "loss": (("lamina.losses",), "lamina.losses:Loss", "y_true"),
    "metric": (("lamina.metrics", "lamina.losses"), "lamina.metrics:Metric", "y_true"),
    "optimizer": (("lamina.optimizers",), "lamina.optimizers:Optimizer", None),
    "schedule": (("lamina.schedules",), "lamina.schedules:LearningRateSchedule", None),
    "initializer": (("lamina.initializers",), "lamina.initializers:Initializer", None),
    "regularizer": (("lamina.regularizers",), "lamina.regularizers:Regularizer", None),
    "constraint": (("lamina.constraints",), "lamina.constraints:Constraint", None),
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
     "LearningRateSchedule", "Initializer", "Regularizer", "Constraint", "Layer",
     "Model"}
)

_BUILTINS: dict[str, dict[str, dict[str, Any]]] | None = None


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


def _fits(family: str, obj: Any) -> bool:
    """Whether a registered object can stand for a name of ``family``: a class
    deriving from the family's base, or a function where the family has functions."""
    _, base_path, fn_rule = _FAMILIES[family]
    if inspect.isclass(obj):
        if base_path is None:
            return False
        mod, attr = base_path.split(":")
        return issubclass(obj, getattr(importlib.import_module(mod), attr))
    return fn_rule is not None and callable(obj)


def family_of(obj: Any) -> str | None:
    """The family of a built-in class or function (of an instance's class), or None."""
    target = obj if (inspect.isclass(obj) or inspect.isfunction(obj)) else type(obj)
    for fam, table in _tables().items():
        if target in table["classes"].values() or target in table["functions"].values():
            return fam
    return None
