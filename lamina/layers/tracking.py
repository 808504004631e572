"""Layers held in Python lists, tuples and dicts are tracked, as Keras tracks them.

`self.blocks = []` followed by `self.blocks.append(layers.Dense(4))` in a layer's
constructor is common Keras code; PyTorch only registers modules assigned to an
attribute directly (or held in `nn.ModuleList`). `Layer.__setattr__` wraps a list,
tuple or dict value in a `TrackedList` / `TrackedDict` that keeps a hidden
container module in sync, registered under the attribute's name, so the layers in
it count in `weights`, `parameters()`, `state_dict()` (as `blocks.0.kernel`, ...),
device moves and `summary()`. The attribute itself stays a plain list or dict.
"""

from __future__ import annotations

from typing import Any

import torch


class _Container(torch.nn.Module):
    """The registered module holding the layers of one tracked list or dict."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
        raise TypeError("A tracked list or dict of layers is not callable.")


def _modules_of(items: list[tuple[str, Any]]) -> list[tuple[str, torch.nn.Module]]:
    found = []
    for key, value in items:
        if isinstance(value, torch.nn.Module):
            found.append((key, value))
        elif isinstance(value, (TrackedList, TrackedDict)) and value._container is not None:
            found.append((key, value._container))
    return found


class _Tracked:
    _owner: Any = None
    _name: str = ""
    _container: _Container | None = None

    def _items(self) -> list[tuple[str, Any]]:
        raise NotImplementedError

    def _sync(self) -> None:
        modules = _modules_of(self._items())
        owner = self._owner
        if not modules and self._container is None:
            return
        if self._container is None:
            self._container = _Container()
        self._container._modules.clear()
        for key, module in modules:
            self._container._modules[key.replace(".", "_")] = module
        if owner is not None and "_modules" in owner.__dict__:  # (not mid-deepcopy of the owner)
            owner._modules[self._name] = self._container


def _holds_layers(values: Any) -> bool:
    return any(isinstance(v, (torch.nn.Module, TrackedList, TrackedDict)) for v in values)


# For the methods that add values: where the new values are in the arguments (so a
# list of plain numbers is not rescanned on every append).
_NEW_VALUES = {
    "append": lambda args, kwargs: [args[0]],
    "insert": lambda args, kwargs: [args[1]],
    "extend": lambda args, kwargs: args[0],
    "__iadd__": lambda args, kwargs: args[0],
    "__setitem__": lambda args, kwargs: args[1] if isinstance(args[0], slice) else [args[1]],
    "update": lambda args, kwargs: [*dict(*args).values(), *kwargs.values()],
    "setdefault": lambda args, kwargs: args[1:2],
}


def _mutating(method_name: str, base: type) -> Any:
    original = getattr(base, method_name)
    new_values = _NEW_VALUES.get(method_name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if new_values is not None and method_name in ("extend", "__iadd__") or (
            method_name == "__setitem__" and isinstance(args[0], slice)
        ):
            args = (*args[:-1], list(args[-1]))  # an iterator is read once, here
        result = original(self, *args, **kwargs)
        if self._container is not None or (
            new_values is not None and _holds_layers(new_values(args, kwargs))
        ):
            self._sync()
        return self if method_name in ("__iadd__", "__imul__") else result

    method.__name__ = method_name
    return method


class TrackedList(_Tracked, list):
    """A list whose layers are registered on the layer that holds it."""

    def __init__(self, owner: Any, name: str, values: Any = ()) -> None:
        list.__init__(self, values)
        self._owner, self._name, self._container = owner, name, None
        self._sync()

    def _items(self) -> list[tuple[str, Any]]:
        return [(str(i), v) for i, v in enumerate(self)]


for _m in ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
           "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(TrackedList, _m, _mutating(_m, list))


class TrackedDict(_Tracked, dict):
    """A dict whose layers are registered on the layer that holds it."""

    def __init__(self, owner: Any, name: str, values: Any = ()) -> None:
        dict.__init__(self, values)
        self._owner, self._name, self._container = owner, name, None
        self._sync()

    def _items(self) -> list[tuple[str, Any]]:
        return [(str(k), v) for k, v in self.items()]


for _m in ("update", "pop", "popitem", "clear", "setdefault", "__setitem__", "__delitem__"):
    setattr(TrackedDict, _m, _mutating(_m, dict))
del _m


def track(owner: Any, name: str, value: Any) -> Any:
    """The value to store for ``owner.name = value``: lists and dicts become tracked
    (tuples stay tuples; their layers are registered once)."""
    if isinstance(value, (TrackedList, TrackedDict)) and value._owner is owner and value._name == name:
        return value
    if type(value) is list:
        return TrackedList(owner, name, value)
    if type(value) is dict:
        return TrackedDict(owner, name, value)
    if type(value) is tuple:
        modules = _modules_of([(str(i), v) for i, v in enumerate(value)])
        if modules:
            container = _Container()
            for key, module in modules:
                container._modules[key] = module
            owner._modules[name] = container
    return value


TRACKED = (TrackedList, TrackedDict)
