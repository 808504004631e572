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

import inspect
from collections.abc import Callable
from typing import Any

from lamina.saving.registry.builtins import (
    ALIASES,
    FAMILIES,
    FAMILY_MODULES,
    NOT_BY_NAME,
    _check_family,
    _fits,
    builtin_classes,
    builtin_classes_by_family,
    builtin_functions,
    builtin_names,
    family_of,
    refresh,
    to_snake_case,
    valid_names,
)
from lamina.saving.registry.custom import (
    check_custom_objects,
    get_registered_name,
    pop_scope,
    push_scope,
    register,
    registered_objects,
    unregister,
)

__all__ = [
    "ALIASES",
    "FAMILIES",
    "FAMILY_MODULES",
    "NOT_BY_NAME",
    "builtin_classes",
    "builtin_classes_by_family",
    "builtin_functions",
    "builtin_names",
    "check_custom_objects",
    "family_of",
    "get_class",
    "get_function",
    "get_registered_name",
    "has_custom_get_config",
    "lookup",
    "pop_scope",
    "push_scope",
    "refresh",
    "register",
    "registered_objects",
    "to_snake_case",
    "unregister",
    "valid_names",
]


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
    custom = registered_objects().get(name)
    if custom is not None and _fits(family, custom):
        return custom
    classes = builtin_classes(family)
    if name in classes and name not in NOT_BY_NAME:
        return classes[name]
    key = name.lower() if isinstance(name, str) else name
    names = builtin_names(family)
    if key in names:
        return names[key]
    kind = kind or family
    raise ValueError(
        f"Unknown {kind} name: {name!r}. Valid names are: {', '.join(valid_names(family))}. "
        f"Received: {kind}={name!r}. For a custom {kind}, pass the object itself or register "
        "it with @lamina.saving.register_keras_serializable()."
    )


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


def has_custom_get_config(cls: type) -> bool:
    """Whether a `Model` subclass defines its own `get_config` (below `Model`)."""
    from lamina.models.model import Model

    for klass in cls.__mro__:
        if klass is Model:
            return False
        if "get_config" in vars(klass):
            return True
    return False
