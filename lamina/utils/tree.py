"""Helpers for nested structures of tensors: a tensor, a list/tuple, or a dict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def map_structure(fn: Callable[[Any], Any], struct: Any) -> Any:
    """Applies ``fn`` to every leaf of ``struct``, keeping its shape."""
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(map_structure(fn, v) for v in struct)
    return fn(struct)


def flatten(struct: Any) -> list[Any]:
    """Returns the leaves of ``struct`` in order (dicts in insertion order)."""
    if isinstance(struct, dict):
        return [leaf for v in struct.values() for leaf in flatten(v)]
    if isinstance(struct, (list, tuple)):
        return [leaf for v in struct for leaf in flatten(v)]
    return [struct]


def first_leaf(struct: Any) -> Any:
    while isinstance(struct, (dict, list, tuple)):
        struct = next(iter(struct.values())) if isinstance(struct, dict) else struct[0]
    return struct
