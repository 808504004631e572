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


def _to_config(value: Any) -> Any:
    """A JSON-able form of an op's constant arguments (symbolic inputs become slots)."""
    if isinstance(value, _Slot):
        return {"__input__": value.index}
    if isinstance(value, slice):
        return {"__slice__": [_to_config(value.start), _to_config(value.stop), _to_config(value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, tuple) and any(v is None or v is Ellipsis or isinstance(v, slice) for v in value):
        return {"__index__": [_to_config(v) for v in value]}  # an indexing key (`x[:, 0]`) stays a tuple
    if isinstance(value, (list, tuple)):
        return [_to_config(v) for v in value]
    if isinstance(value, dict):
        return {"__kwargs__": {k: _to_config(v) for k, v in value.items()}}
    if isinstance(value, torch.Tensor) or type(value).__module__ == "numpy":
        from lamina.ops.core import convert_to_numpy, dtype

        return {"__tensor__": convert_to_numpy(value).tolist(), "dtype": dtype(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        "A functional model can only hold ops whose constant arguments are numbers, strings, "
        f"lists or tensors. Received: an argument of type {type(value).__name__}. Wrap the op "
        "in a custom layer instead."
    )


def _from_config(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_config(v) for v in value]
    if isinstance(value, dict):
        if "__input__" in value:
            return _Slot(value["__input__"])
        if "__slice__" in value:
            return slice(*(_from_config(v) for v in value["__slice__"]))
        if "__ellipsis__" in value:
            return Ellipsis
        if "__index__" in value:
            return tuple(_from_config(v) for v in value["__index__"])
        if "__tensor__" in value:
            from lamina.ops.core import convert_to_tensor

            return convert_to_tensor(value["__tensor__"], dtype=value["dtype"])
        return {k: _from_config(v) for k, v in value["__kwargs__"].items()}
    return value


@functools.cache
def _op_layer_class() -> type:
    from lamina.layers.layer import Layer
    from lamina.saving import register_keras_serializable

    @register_keras_serializable(package="lamina", name="OpLayer")
    class OpLayer(Layer):
        """Runs one `lamina.ops` function inside a functional graph.

        Args:
            op: The op's name in `lamina.ops`, e.g. `"concatenate"`, or a dotted
                name read from `lamina` (`"ops.image.resize"`).
            arguments: The op's arguments as `[args, {"__kwargs__": kwargs}]`, with
                the symbolic inputs replaced by `{"__input__": i}`. Defaults to
                `None` (no arguments besides the inputs).
            **kwargs: Layer arguments (`name`, ...).
        """

        # Shape inference runs an op twice (batch 2, then 3): ops may drop or move the
        # batch axis (`ops.mean(x)`, `ops.stack`), see `lamina.layers.symbolic`.
        _probe_batch_axis = True

        def __init__(self, op: str, arguments: Any = None, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.op = op
            self.arguments = arguments if arguments is not None else [[], {"__kwargs__": {}}]
            self._template = tuple(_from_config(self.arguments))

        def call(self, inputs: Any) -> Any:
            tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
            args, kwargs = self._template
            args = _fill(args, tensors)
            kwargs = {k: _fill(v, tensors) for k, v in kwargs.items()}
            return _resolve(self.op)(*args, **kwargs)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "op": self.op, "arguments": self.arguments}

    return OpLayer


def _resolve(op: str) -> Callable[..., Any]:
    """The function an `OpLayer` runs: `"concatenate"` is `lamina.ops.concatenate`; a
    dotted name is read from `lamina` (`"ops.image.resize"`, `"activations.sigmoid"`)."""
    import lamina
    from lamina import ops

    fn: Any = ops if "." not in op else lamina
    for part in op.split("."):
        fn = getattr(fn, part)
    return getattr(fn, "__wrapped__", fn)


def _call_symbolic(name: str, cls: type, args: tuple, kwargs: dict[str, Any]) -> Any:
    from lamina.layers.layer import unique_name

    found: list[Any] = []
    arguments = _to_config(
        [_template(cls, args, found), {k: _template(cls, v, found) for k, v in kwargs.items()}]
    )
    layer = _op_layer_class()(name, arguments, name=unique_name(name.rsplit(".", 1)[-1]))
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
