"""Ops on symbolic tensors: `ops.relu(lamina.Input(...))` records a graph node, as in Keras.

In Keras 3 every op accepts a `KerasTensor` and returns one, so a functional
model can use ops between layers (`x = ops.concatenate([a, b])`). Lamina does
the same: an op that receives a symbolic tensor wraps itself in an `OpLayer`
(one per call), whose `call` runs the op on the real tensors when the model runs.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import torch

_SYMBOLIC_MODULE = "lamina.layers.symbolic"
_TENSOR = torch.Tensor


class _Slot:
    """Marks where the i-th symbolic tensor goes in an op's arguments."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"<input {self.index}>"


def _symbolic_class() -> type | None:
    module = sys.modules.get(_SYMBOLIC_MODULE)
    return None if module is None else module.SymbolicTensor


def _any_symbolic(cls: type, args: tuple, kwargs: dict[str, Any]) -> bool:
    for value in (*args, *kwargs.values()):
        if isinstance(value, cls):
            return True
        if isinstance(value, (list, tuple)) and any(isinstance(v, cls) for v in value):
            return True
    return False


def _template(cls: type, value: Any, found: list[Any]) -> Any:
    if isinstance(value, cls):
        found.append(value)
        return _Slot(len(found) - 1)
    if isinstance(value, (list, tuple)):
        return type(value)(_template(cls, v, found) for v in value)
    return value


def _fill(value: Any, tensors: list[Any]) -> Any:
    if isinstance(value, _Slot):
        return tensors[value.index]
    if isinstance(value, (list, tuple)):
        return type(value)(_fill(v, tensors) for v in value)
    return value


@functools.cache
def _op_layer_class() -> type:
    from lamina.layers.layer import Layer

    class OpLayer(Layer):
        """Runs one `lamina.ops` function inside a functional graph.

        Args:
            op: The op's name in `lamina.ops`, e.g. `"concatenate"`.
            **kwargs: Layer arguments (`name`, ...).
        """

        def __init__(self, op: str, template: Any = None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.op = op
            self._template = template if template is not None else ((), {})

        def call(self, inputs: Any) -> Any:
            from lamina import ops

            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            args, kwargs = self._template
            args = _fill(args, tensors)
            kwargs = {k: _fill(v, tensors) for k, v in kwargs.items()}
            return getattr(ops, self.op).__wrapped__(*args, **kwargs)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "op": self.op}

    return OpLayer


def _call_symbolic(name: str, cls: type, args: tuple, kwargs: dict[str, Any]) -> Any:
    from lamina.layers.layer import unique_name

    found: list[Any] = []
    template = (_template(cls, args, found), {k: _template(cls, v, found) for k, v in kwargs.items()})
    layer = _op_layer_class()(name, template, name=unique_name(name))
    return layer(found if len(found) > 1 else found[0])


def symbolic_aware(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps op `fn` so that symbolic inputs build a graph node instead of computing."""

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if not kwargs:  # fast path: plain tensors only
            for value in args:
                if value.__class__ is not _TENSOR:
                    break
            else:
                return fn(*args)
        cls = _symbolic_class()
        if cls is not None and _any_symbolic(cls, args, kwargs):
            return _call_symbolic(name, cls, args, kwargs)
        return fn(*args, **kwargs)

    return op
