"""The user's objects: the global custom-object dict (`@lamina.register`,
`register_keras_serializable`, `get_custom_objects`) and the scope of
`custom_object_scope` / `load_model(custom_objects=...)`."""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from lamina.saving.registry.builtins import builtin_classes, family_of

T = TypeVar("T")

_REGISTERED: dict[str, Any] = {}  # The global custom objects (see `get_custom_objects`).
_SCOPE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "lamina_custom_objects", default=None
)



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
