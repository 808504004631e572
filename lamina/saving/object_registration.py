"""Keras's object-registration API on top of Lamina's one registry
(`lamina.saving.registry`): `register_keras_serializable`, `get_custom_objects`,
`get_registered_name`, `get_registered_object`, `CustomObjectScope`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from lamina.saving import registry
from lamina.saving.registry import custom

T = TypeVar("T")


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[T], T]:
    """Registers a class or function with the serialization framework, as Keras does.

    The object is registered under the key `"package>name"`, so saved files
    and configs can name it and `load_model` / `deserialize_keras_object` find
    it without `custom_objects`. Classes must implement `get_config()` (unless
    their constructor takes no argument); functions need nothing more.

    Args:
        package: The package the object belongs to, used in the key. Defaults
            to `"Custom"`.
        name: The name of the object in the key. Defaults to `None` (the
            object's `__name__`).

    Returns:
        A decorator that registers the object and returns it unchanged.

    Example:
        >>> import lamina, torch
        >>> @lamina.saving.register_keras_serializable(package="MyPackage")
        ... def scaled_tanh(x):
        ...     return 2 * torch.tanh(x)
        >>> lamina.saving.get_registered_name(scaled_tanh)
        'MyPackage>scaled_tanh'
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ValueError(
            "`register_keras_serializable` expects `package` to be a non-empty string without "
            f"'>'. Received: package={package!r}."
        )
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(
            "`register_keras_serializable` expects `name` to be a non-empty string or None. "
            f"Received: name={name!r}."
        )

    def decorate(obj: T) -> T:
        custom._check_registrable(obj, "register_keras_serializable")
        key = f"{package}>{name or obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register `{obj.__name__}`: a registered class must implement "
                f"`get_config()`. Received: a class without it. Add `get_config(self)` "
                "returning its constructor arguments."
            )
        custom._store(key, obj)
        return obj

    return decorate


def get_custom_objects() -> dict[str, Any]:
    """Returns the global dict of registered objects (mutable, as in Keras).

    Adding an entry makes a class or function loadable by that name; clearing
    it unregisters everything.

    Example:
        >>> import lamina
        >>> lamina.saving.get_custom_objects().clear()
        >>> class MyLayer(lamina.layers.Layer):
        ...     pass
        >>> lamina.saving.get_custom_objects()["MyLayer"] = MyLayer
        >>> lamina.saving.get_registered_object("MyLayer") is MyLayer
        True
    """
    return custom._REGISTERED


def get_registered_name(obj: Any) -> str:
    """The name under which ``obj`` is registered (`"package>name"`), else its
    built-in name, else `obj.__name__` (as Keras)."""
    name = registry.get_registered_name(obj)
    if name is not None:
        return name
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(
    name: str,
    custom_objects: dict[str, Any] | None = None,
    module_objects: dict[str, Any] | None = None,
) -> Any:
    """Returns the class or function registered under ``name``, or None.

    Looks in the scope in force, the registered objects, ``custom_objects``
    then ``module_objects``.

    Args:
        name: The registered name (`"package>name"` or a plain name).
        custom_objects: Extra objects by name. Defaults to `None`.
        module_objects: Further objects by name, looked up last. Defaults to `None`.
    """
    found = registry.registered_objects().get(name)
    if found is not None:
        return found
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


class CustomObjectScope:
    """Makes ``custom_objects`` resolvable by name inside a `with` block.

    Args:
        custom_objects: A dict `{name: class or function}`, or None.

    Example:
        >>> import lamina
        >>> class MyLayer(lamina.layers.Layer):
        ...     pass
        >>> with lamina.saving.custom_object_scope({"MyLayer": MyLayer}):
        ...     layer = lamina.layers.deserialize({"class_name": "MyLayer", "config": {}})
    """

    def __init__(self, custom_objects: dict[str, Any] | None = None) -> None:
        self.custom_objects = registry.check_custom_objects(custom_objects)
        self._tokens: list[Any] = []

    def __enter__(self) -> CustomObjectScope:
        self._tokens.append(registry.push_scope(self.custom_objects))
        return self

    def __exit__(self, *exc: Any) -> None:
        registry.pop_scope(self._tokens.pop())


custom_object_scope = CustomObjectScope
