"""Symbolic tensors: what layers return when called on `lamina.Input(...)`.

Calling a layer on a `SymbolicTensor` builds the layer for that shape, works out
the output shape (so shape errors surface while the graph is written, before any
data is seen) and records a `Node` that the functional `Model` later replays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class StringDType:
    """Stands in for a torch dtype on `Input(dtype="string")`.

    Torch tensors cannot hold text, so a string input carries Python strings (a
    NumPy array of `str`) and its symbolic tensor carries this sentinel, `STRING`,
    as its dtype. Layers that take text (`TextVectorization`, `StringLookup`,
    `Hashing`) define `compute_output_spec`, so the graph is written without a run.
    """

    is_floating_point = False
    is_complex = False

    def __repr__(self) -> str:
        return "string"


STRING = StringDType()


class _TextPlaceholder(np.ndarray):
    """The zero batch of a string input (empty strings). Text stays on the host, so
    `.to(device)` returns it unchanged."""

    def to(self, *args: Any, **kwargs: Any) -> _TextPlaceholder:
        return self

_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "uint8": torch.uint8,
    "string": STRING,
}


def to_torch_dtype(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(
        f"Unknown dtype: {dtype!r}. Valid names are: {', '.join(_DTYPES)}. Received: dtype={dtype!r}."
    )


def dtype_name(dtype: torch.dtype) -> str:
    for k, v in _DTYPES.items():
        if v == dtype:
            return k
    return str(dtype).replace("torch.", "")


class Node:
    """One call of a layer in a functional graph: the layer, its symbolic inputs,
    the keyword arguments of the call and the symbolic outputs."""

    def __init__(self, layer: Any, inputs: Any, kwargs: dict[str, Any]) -> None:
        self.layer = layer
        self.inputs = inputs
        self.kwargs = kwargs
        self.outputs: Any = None

    @property
    def parents(self) -> list[SymbolicTensor]:
        from lamina.utils.tree import flatten

        return [t for t in flatten(self.inputs) if isinstance(t, SymbolicTensor)]


class SymbolicTensor:
    """A placeholder with a shape (batch axis None) and a dtype, and the node that made it."""

    def __init__(
        self, shape: tuple[int | None, ...], dtype: torch.dtype, node: Node | None, index: int = 0,
        name: str | None = None,
    ) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name
        self.has_mask = False  # whether the layer's output carries a padding mask

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        src = self.node.layer.name if self.node is not None else "?"
        return f"<SymbolicTensor shape={self.shape} dtype={dtype_name(self.dtype)} from '{src}'>"

    def __len__(self) -> int:
        raise TypeError(
            "A symbolic tensor has no length: it stands for data that arrives later. "
            f"Its shape is {self.shape}."
        )


def _operator(op: str, reflected: bool = False) -> Any:
    """A Python operator of `SymbolicTensor` that records `lamina.ops.<op>` (as Keras's
    `KerasTensor` operators do), e.g. `x * 5` in a functional graph."""

    def method(self: SymbolicTensor, other: Any) -> Any:
        from lamina import ops

        fn = getattr(ops, op)
        return fn(other, self) if reflected else fn(self, other)

    method.__name__ = f"__{'r' if reflected else ''}{op}__"
    return method


def _unary_operator(op: str) -> Any:
    def method(self: SymbolicTensor) -> Any:
        from lamina import ops

        return getattr(ops, op)(self)

    return method


for _dunder, _op in (
    ("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "true_divide"),
    ("floordiv", "floor_divide"), ("mod", "mod"), ("pow", "power"), ("matmul", "matmul"),
    ("and", "logical_and"), ("or", "logical_or"), ("xor", "logical_xor"),
):
    setattr(SymbolicTensor, f"__{_dunder}__", _operator(_op))
    setattr(SymbolicTensor, f"__r{_dunder}__", _operator(_op, reflected=True))
for _dunder, _op in (("lt", "less"), ("le", "less_equal"), ("gt", "greater"), ("ge", "greater_equal")):
    setattr(SymbolicTensor, f"__{_dunder}__", _operator(_op))
for _dunder, _op in (("neg", "negative"), ("pos", "copy"), ("abs", "absolute"), ("invert", "logical_not")):
    setattr(SymbolicTensor, f"__{_dunder}__", _unary_operator(_op))
SymbolicTensor.__getitem__ = lambda self, key: __import__("lamina").ops.get_item(self, key)  # type: ignore[method-assign]
del _dunder, _op


def _dummy(shape: tuple[int | None, ...], dtype: torch.dtype, fill: int, batch: int = 2) -> torch.Tensor:
    concrete = [batch if i == 0 and d is None else (fill if d is None else d) for i, d in enumerate(shape)]
    if dtype is STRING:
        return np.full(concrete, "", dtype=str).view(_TextPlaceholder)
    t = torch.zeros(concrete, dtype=dtype)
    # Marks a shape-inference batch, so a layer whose state is not ready yet (an
    # un-adapted `Normalization`) can let it pass instead of raising.
    t._lamina_placeholder = True
    return t


def _map(fn: Any, struct: Any) -> Any:
    if isinstance(struct, dict):
        return {k: _map(fn, v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map(fn, v) for v in struct)
    return fn(struct)


def _has_free_axis(struct: Any) -> bool:
    found = []
    _map(lambda t: found.append(isinstance(t, SymbolicTensor) and None in t.shape[1:]), struct)
    return any(found)


def _dummy_for(t: SymbolicTensor, fill: int, batch: int = 2) -> Any:
    x = _dummy(t.shape, t.dtype, fill, batch)
    if getattr(t, "has_mask", False) and isinstance(x, torch.Tensor) and x.ndim >= 2:
        # A masked symbolic tensor (after `Embedding(mask_zero=True)`, ...) runs with an
        # all-True mask, so a layer whose `call` takes `mask=` sees one, as in Keras.
        x._keras_mask = x._lamina_mask = torch.ones(x.shape[:2], dtype=torch.bool)
    return x


def _run(layer: Any, inputs: Any, kwargs: dict[str, Any], fill: int, batch: int = 2) -> Any:
    dummies = _map(lambda t: _dummy_for(t, fill, batch) if isinstance(t, SymbolicTensor) else t, inputs)
    was_training = layer.training
    layer.eval()
    try:
        with torch.no_grad():
            return torch.nn.Module.__call__(layer, dummies, **kwargs)
    finally:
        layer.train(was_training)
        # As Keras's symbolic calls: the dummy run's `add_loss` terms are not kept.
        from lamina.layers.layer import clear_losses

        clear_losses(layer)


def _shapes(out: Any, other: Any | None) -> Any:
    if isinstance(out, dict):
        return {k: _shapes(v, None if other is None else other[k]) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [_shapes(v, None if other is None else other[i]) for i, v in enumerate(out)]
    if out.ndim == 0:  # a reduction over every axis (`ops.mean(x)`): a scalar, as in Keras
        return ((), out.dtype)
    shape: list[int | None] = [None, *out.shape[1:]]
    if other is not None:
        if other.ndim == out.ndim and other.shape[0] == out.shape[0]:
            shape[0] = int(out.shape[0])  # axis 0 did not follow the batch size
        for i in range(1, len(shape)):
            if i < other.ndim and other.shape[i] != shape[i]:
                shape[i] = None
    return (tuple(shape), out.dtype)


def _needs_second_run(layer: Any, inputs: Any, out: Any) -> bool:
    """Whether to run again with other sizes (batch 3, free axes 4) to tell which output
    axes follow the unknown ones: inputs with free axes, an op (`ops.sum(x, axis=0)`,
    `ops.stack`, `ops.reshape(x, (-1, n))` may move or drop the batch axis), or an
    output whose first axis is not the batch of 2 the first run used."""
    if _has_free_axis(inputs) or getattr(layer, "_probe_batch_axis", False):
        return True
    leaves: list[Any] = []
    _map(leaves.append, out)
    return any(getattr(o, "ndim", 1) == 0 or (getattr(o, "ndim", 0) and o.shape[0] != 2) for o in leaves)


def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _to_symbolic(shape: Any, dtype: torch.dtype) -> Any:
    if _is_shape(shape):
        return SymbolicTensor(tuple(shape), dtype, None)
    if isinstance(shape, dict):
        return {k: _to_symbolic(v, dtype) for k, v in shape.items()}
    return [_to_symbolic(v, dtype) for v in shape]


def _strip_dtypes(struct: Any) -> Any:
    if isinstance(struct, tuple) and len(struct) == 2 and isinstance(struct[1], torch.dtype):
        return struct[0]
    if isinstance(struct, dict):
        return {k: _strip_dtypes(v) for k, v in struct.items()}
    return [_strip_dtypes(v) for v in struct]


def infer_output_shape(layer: Any, input_shape: Any, dtype: torch.dtype = torch.float32) -> Any:
    """Output shape of ``layer`` for ``input_shape`` found by a tiny zero-batch run."""
    sym = _to_symbolic(input_shape, dtype)
    out = _run(layer, sym, {}, 3)
    other = _run(layer, sym, {}, 4, batch=3) if _needs_second_run(layer, sym, out) else None
    return _strip_dtypes(_shapes(out, other))


def _keyword_tensors_to_positions(layer: Any, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """``args`` extended by the symbolic keyword arguments that name the positional
    parameters of a custom layer's `call` right after the given inputs (in `call`'s
    order); the others stay keywords (and are refused by the caller)."""
    from lamina.layers.layer import Layer

    if not isinstance(layer, Layer) or type(layer).forward is not Layer.forward:
        return args, kwargs
    names = layer._lamina_call_spec.tensor_args
    symbolic = [k for k, v in kwargs.items() if isinstance(v, SymbolicTensor)]
    start = 1 + len(args)
    wanted = names[start:start + len(symbolic)]
    if sorted(wanted) != sorted(symbolic):
        return args, kwargs
    kwargs = dict(kwargs)
    return (*args, *(kwargs.pop(k) for k in wanted)), kwargs


def call_symbolic(layer: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
    """Calls ``layer`` on symbolic inputs: builds it, infers output shapes, records a node.

    Extra positional arguments, as in `MultiHeadAttention(...)(query, value)`, are
    folded into the inputs as one list `[inputs, *args]`: the node records all of
    them as its parents and replays the layer as `layer([query, value], **kwargs)`.
    A layer whose `forward` is `Layer.forward` (a custom layer with
    `call(self, a, b)`) remembers how many it was given, and `Layer.forward`
    unpacks such a list back into positional arguments; Lamina's layers that take
    several tensors (attention, recurrent layers) accept the list themselves.
    Tensors passed by keyword to such a custom layer (`layer(logits, targets=t)`,
    as Keras allows) join the positional inputs when `call` takes them as its next
    positional parameters.
    """
    if kwargs and any(isinstance(v, SymbolicTensor) for v in kwargs.values()):
        args, kwargs = _keyword_tensors_to_positions(layer, args, kwargs)
    if args:
        inputs = [inputs, *args]
        from lamina.layers.layer import Layer

        if isinstance(layer, Layer) and type(layer).forward is Layer.forward:
            layer._positional_arity = len(inputs)
    for key, value in kwargs.items():
        if isinstance(value, SymbolicTensor):
            raise TypeError(
                f"Layer '{getattr(layer, 'name', type(layer).__name__)}' received a symbolic tensor "
                f"as the keyword argument `{key}`; in a functional graph tensors are passed "
                f"positionally. Received: {key}={value!r}. Pass it as a positional argument "
                "(e.g. `layer(query, value, key)`)."
            )
    node = Node(layer, inputs, kwargs)
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)  # for `layer.input` / `.output`
    masked: list[bool] = []
    if hasattr(layer, "compute_output_spec"):
        specs = layer.compute_output_spec(inputs, **kwargs)
    else:
        out = _run(layer, inputs, kwargs, 3)
        from lamina.utils.tree import flatten

        masked = [getattr(o, "_keras_mask", None) is not None for o in flatten(out)]
        other = _run(layer, inputs, kwargs, 4, batch=3) if _needs_second_run(layer, inputs, out) else None
        specs = _shapes(out, other)
    counter = [0]

    def make(spec: Any) -> Any:
        if isinstance(spec, tuple) and len(spec) == 2 and (isinstance(spec[1], torch.dtype) or spec[1] is STRING):
            t = SymbolicTensor(spec[0], spec[1], node, counter[0])
            t.has_mask = counter[0] < len(masked) and masked[counter[0]]
            counter[0] += 1
            return t
        if isinstance(spec, dict):
            return {k: make(v) for k, v in spec.items()}
        return [make(v) for v in spec]

    node.outputs = make(specs)
    return node.outputs
