"""The class registry: the only classes and functions a saved file can name.

Loading a `.lamina` file never imports a module named in the file and never
unpickles anything. A class name in a file is looked up here, in two tables:

* Lamina's built-in classes, collected lazily (on first use) from the public
  classes of `lamina.layers`, `lamina.models`, `lamina.losses`,
  `lamina.metrics`, `lamina.optimizers`, `lamina.schedules`,
  `lamina.initializers` and `lamina.regularizers`, one table per family (a
  loss and a metric may share a name, such as `MeanSquaredError`);
* the user's classes and functions, registered with `@lamina.register`.

A name found in neither is refused with a `ValueError`.

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

import contextlib
import contextvars
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

# Family name -> (module holding the public classes, base class attribute of that module).
_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("model", "lamina.models", "Model"),
    ("layer", "lamina.layers", "Layer"),
    ("loss", "lamina.losses", "Loss"),
    ("metric", "lamina.metrics", "Metric"),
    ("optimizer", "lamina.optimizers", "Optimizer"),
    ("schedule", "lamina.schedules", "LearningRateSchedule"),
    ("initializer", "lamina.initializers", "Initializer"),
    ("regularizer", "lamina.regularizers", "Regularizer"),
)
FAMILIES: tuple[str, ...] = tuple(f for f, _, _ in _FAMILIES)

_BUILTINS: dict[str, dict[str, type]] | None = None
_REGISTERED: dict[str, Any] = {}
_SCOPE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "lamina_custom_objects", default=None
)


def _family_modules() -> dict[str, Any]:
    """The modules of each family. Imports only Lamina's own, fixed modules."""
    from lamina import (
        initializers,
        layers,
        losses,
        metrics,
        models,
        optimizers,
        regularizers,
        schedules,
    )

    model_modules: list[Any] = [models]
    try:  # The functional graph, when this version of Lamina has it.
        from lamina.models import functional

        model_modules.append(functional)
    except ImportError:
        pass
    return {
        "model": model_modules,
        "layer": [layers],
        "loss": [losses],
        "metric": [metrics],
        "optimizer": [optimizers],
        "schedule": [schedules],
        "initializer": [initializers],
        "regularizer": [regularizers],
    }


def _public_classes(module: Any, base: type) -> dict[str, type]:
    names = getattr(module, "__all__", None)
    items = (
        [(n, vars(module).get(n)) for n in names]
        if names is not None
        else list(vars(module).items())
    )
    out: dict[str, type] = {}
    for name, obj in items:
        if name.startswith("_") or not inspect.isclass(obj) or not issubclass(obj, base):
            continue
        if not obj.__module__.startswith("lamina.") or obj.__name__.startswith("_"):
            continue
        out[obj.__name__] = obj
    return out


def builtin_classes(family: str | None = None) -> dict[str, type]:
    """Lamina's built-in classes by name.

    Args:
        family: One of `"model"`, `"layer"`, `"loss"`, `"metric"`, `"optimizer"`,
            `"schedule"`, `"initializer"`, `"regularizer"`; None merges all
            families (the earlier family in that order wins a shared name).
            Defaults to `None`.
    """
    global _BUILTINS
    if family is not None and family not in FAMILIES:
        raise ValueError(
            f"`builtin_classes` expects `family` to be one of {', '.join(map(repr, FAMILIES))}. "
            f"Received: family={family!r}."
        )
    if _BUILTINS is None:
        modules = _family_modules()
        tables: dict[str, dict[str, type]] = {}
        for fam, _, base_name in _FAMILIES:
            base = vars(modules[fam][0])[base_name]
            table: dict[str, type] = {}
            for module in modules[fam]:
                table.update(_public_classes(module, base))
            tables[fam] = table
        _BUILTINS = tables
    if family is not None:
        return dict(_BUILTINS[family])
    merged: dict[str, type] = {}
    for fam in reversed(FAMILIES):
        merged.update(_BUILTINS[fam])
    return merged


def _builtin_name_of(obj: Any) -> str | None:
    for table in builtin_classes_by_family().values():
        for name, cls in table.items():
            if cls is obj:
                return name
    return None


def builtin_classes_by_family() -> dict[str, dict[str, type]]:
    """All built-in classes, as ``{family: {name: class}}``."""
    builtin_classes()
    assert _BUILTINS is not None
    return {fam: dict(table) for fam, table in _BUILTINS.items()}


def register(
    obj: T | None = None, *, name: str | None = None
) -> T | Callable[[T], T]:
    """Registers a custom class or function so saved files can name it.

    Use it as a decorator on custom layers, models, losses, metrics, optimizers,
    schedules, or on plain loss / metric functions. `load_model` can only
    rebuild classes that are built into Lamina or registered; register a class
    before calling `load_model` (for instance by importing the module that
    defines it). Registering a name again replaces the earlier entry (handy when
    a notebook cell is run twice).

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
        if not (inspect.isclass(target) or inspect.isfunction(target)):
            raise TypeError(
                "`register` expects a class or a function (use it as a decorator). "
                f"Received: {target!r} of type {type(target).__name__}."
            )
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
        for other_key, other in list(_REGISTERED.items()):
            # One name per object: re-registering under a new name drops the old one.
            if other is target and other_key != key:
                del _REGISTERED[other_key]
        _REGISTERED[key] = target
        return target

    if obj is None:
        return decorate
    return decorate(obj)


def unregister(name: str) -> None:
    """Removes a registered name (does nothing for an unknown name)."""
    _REGISTERED.pop(name, None)


def registered_objects() -> dict[str, Any]:
    """The user's registered classes and functions, plus the `custom_objects` of
    the `load_model` call in progress, by name (also by `__name__`)."""
    out: dict[str, Any] = {}
    for obj in _REGISTERED.values():
        out.setdefault(obj.__name__, obj)
    out.update(_REGISTERED)
    scope = _SCOPE.get()
    if scope:
        out.update(scope)
    return out


@contextlib.contextmanager
def custom_object_scope(custom_objects: dict[str, Any] | None) -> Iterator[None]:
    """Makes ``custom_objects`` (``{name: class or function}``) resolvable by name
    inside the ``with`` block, in addition to the registered ones."""
    if custom_objects is not None:
        if not isinstance(custom_objects, dict) or not all(
            isinstance(k, str) and (inspect.isclass(v) or callable(v))
            for k, v in custom_objects.items()
        ):
            raise TypeError(
                "`custom_objects` must be a dict mapping names to classes or functions, e.g. "
                f"custom_objects={{'MyLayer': MyLayer}}. Received: custom_objects={custom_objects!r}."
            )
    merged = {**(_SCOPE.get() or {}), **(custom_objects or {})}
    token = _SCOPE.set(merged)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _unknown(name: str) -> ValueError:
    return ValueError(
        f"Unknown class '{name}' in the saved file. Only Lamina's built-in classes and classes "
        "registered with @lamina.register can be loaded; register it before calling "
        f"load_model. (Or pass custom_objects={{'{name}': {name}}} to load_model.)"
    )


def get_class(name: str, family: str | None = None) -> type:
    """Returns the class saved under ``name``; never imports anything.

    Looks in the `custom_objects` of the `load_model` call in progress, then the
    classes registered with `@lamina.register`, then Lamina's built-in classes.

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


def get_registered_name(obj: Any) -> str | None:
    """The name under which ``obj`` (a class or function) is saved: its registered
    name, or its built-in name; None when it is neither."""
    for key, value in _REGISTERED.items():
        if value is obj:
            return key
    return _builtin_name_of(obj)


def has_custom_get_config(cls: type) -> bool:
    """Whether a `Model` subclass defines its own `get_config` (below `Model`)."""
    from lamina.models.model import Model

    for klass in cls.__mro__:
        if klass is Model:
            return False
        if "get_config" in vars(klass):
            return True
    return False
