"""`model.summary()`: a table of a model's layers, output shapes and parameters.

The rows are the layers of a `Sequential` model, the layers of a functional
model (with a "Connected to" column naming each call's inputs as
`layer[node][tensor]`), or the direct sub-modules of a subclassed model.
Functional output shapes come from the graph's symbolic tensors; other models
are run once on a tiny batch of zeros, with hooks recording each layer's
output shape. Totals count every weight once: trainable parameters, and
non-trainable ones (frozen weights and float buffers such as
`BatchNormalization`'s moving statistics, as in Keras).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import torch
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text
from torch import nn

from lamina.layers import layer as layer_mod
from lamina.layers.input_layer import InputLayer
from lamina.layers.symbolic import _dummy
from lamina.utils import validation
from lamina.utils.tree import flatten

Row = tuple[str, str, int, str, str]  # name (type), output shape, params, connected to, trainable


def _name(module: nn.Module, fallback: str) -> str:
    name = getattr(module, "name", None)
    return name if isinstance(name, str) else fallback


def _weights(module: nn.Module) -> list[torch.Tensor]:
    """Parameters and float buffers of ``module``, each once."""
    seen: set[int] = set()
    out = []
    for w in list(module.parameters()) + [b for b in module.buffers() if b.is_floating_point()]:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def _count(module: nn.Module) -> int:
    return sum(w.numel() for w in _weights(module))


def _trainable_flag(module: nn.Module) -> str:
    params = list(module.parameters())
    if not params:
        return "-"
    return "Y" if any(p.requires_grad for p in params) else "N"


def _fmt_shape(shape: Any) -> str:
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k!r}: {_fmt_shape(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt_shape(s) for s in shape) + "]"
    return str(tuple(shape))


def _is_built(model: nn.Module) -> bool:
    from lamina.models.functional import Functional

    if isinstance(model, Functional):
        return True
    return bool(getattr(model, "built", False)) and getattr(model, "_build_input_shape", None) is not None


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from lamina.models.functional import model_layers

    layers = model_layers(model)
    keys = {id(m): k for k, m in model.named_children()}
    return [(keys.get(id(m), type(m).__name__.lower()), m) for m in layers]


# ---------------------------------------------------------------------- output shapes
def _dummy_inputs(shape: Any, dtype: torch.dtype, fill: int, device: torch.device) -> Any:
    if isinstance(shape, dict):
        return {k: _dummy_inputs(v, dtype, fill, device) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return [_dummy_inputs(s, dtype, fill, device) for s in shape]
    return _dummy(tuple(shape), dtype, fill).to(device)


def _has_free_axis(shape: Any) -> bool:
    if isinstance(shape, dict):
        return any(_has_free_axis(v) for v in shape.values())
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple, dict)):
        return any(_has_free_axis(s) for s in shape)
    return None in tuple(shape)[1:]


def _symbolic_sequential_shapes(model: nn.Module, modules: list[nn.Module]) -> dict[int, list[Any]] | None:
    """For a Sequential of Lamina layers with free input axes: shapes from the
    layers' own shape inference, so no layer runs on a made-up size."""
    from lamina.layers.layer import Layer
    from lamina.layers.symbolic import SymbolicTensor
    from lamina.models.sequential import Sequential

    if not isinstance(model, Sequential) or not _has_free_axis(model._build_input_shape):
        return None
    declared = model._declared_input()
    if declared is None or not all(isinstance(m, Layer) for m in model.layers):
        return None
    x: Any = SymbolicTensor(declared[0], declared[1], None)
    result: dict[int, list[Any]] = {id(m): [] for m in modules}
    for layer in model.layers:
        x = layer(x)
        if id(layer) in result:
            result[id(layer)].append(tuple(x.shape) if isinstance(x, SymbolicTensor) else "?")
    return result


def _traced_shapes(model: nn.Module, modules: list[nn.Module]) -> dict[int, list[Any]]:
    """Output shapes of ``modules`` (by id, one per call) when ``model`` runs on zeros."""
    shape = model._build_input_shape
    symbolic = _symbolic_sequential_shapes(model, modules)
    if symbolic is not None:
        return symbolic
    dtype = model._input_dtype() if hasattr(model, "_input_dtype") else torch.float32
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    runs: list[dict[int, list[Any]]] = []
    fills = (3, 4) if _has_free_axis(shape) else (3,)
    was_training = model.training
    # The dummy runs must not replace the terms of the model's latest real call.
    saved_losses = {id(o): (o, list(o._losses)) for o in layer_mod._LOSS_OWNERS.values()}
    model.eval()
    try:
        for fill in fills:
            record: dict[int, list[Any]] = {id(m): [] for m in modules}

            def hook(module: nn.Module, args: Any, output: Any, record: dict[int, list[Any]] = record) -> None:
                record[id(module)].append(output)

            handles = [m.register_forward_hook(hook) for m in modules]
            try:
                with torch.no_grad():
                    model(_dummy_inputs(shape, dtype, fill, device))
            finally:
                for h in handles:
                    h.remove()
            runs.append(record)
    finally:
        model.train(was_training)
        layer_mod.clear_losses(model)
        for key, (owner, terms) in saved_losses.items():
            owner._losses[:] = terms
            layer_mod._LOSS_OWNERS[key] = owner

    def shape_of(out: Any, other: Any) -> Any:
        if isinstance(out, dict):
            return {k: shape_of(v, None if other is None else other[k]) for k, v in out.items()}
        if isinstance(out, (list, tuple)):
            return [shape_of(v, None if other is None else other[i]) for i, v in enumerate(out)]
        if not isinstance(out, torch.Tensor):
            return "?"
        dims: list[int | None] = [None, *out.shape[1:]]
        if other is not None:
            dims = [None if i and d != other.shape[i] else d for i, d in enumerate(dims)]
        return tuple(dims)

    result: dict[int, list[Any]] = {}
    for key, outs in runs[0].items():
        others = runs[1][key] if len(runs) > 1 else [None] * len(outs)
        result[key] = [shape_of(o, p) for o, p in zip(outs, others)]
    return result


# ---------------------------------------------------------------------- rows
def _functional_rows(model: Any, expand_nested: bool, depth: int) -> list[tuple[Row, int]]:
    rows: list[tuple[Row, int]] = []
    for layer in model.layers:
        name = _name(layer, type(layer).__name__.lower())
        nodes = model._layer_nodes[name]
        shapes = [[t.shape for t in flatten(node.outputs)] for node in nodes]
        shape_text = ", ".join(_fmt_shape(s[0] if len(s) == 1 else s) for s in shapes)
        connected = []
        for node in nodes:
            if isinstance(layer, InputLayer):
                continue
            for parent in node.parents:
                connected.append(f"{_name(parent.node.layer, '?')}[{model.node_index(parent.node)}][{parent.index}]")
        row = (f"{name} ({type(layer).__name__})", shape_text, _count(layer), ", ".join(connected) or "-",
               _trainable_flag(layer))
        rows.append((row, depth))
        rows += _nested_rows(layer, expand_nested, depth)
    return rows


def _traced_rows(model: nn.Module, expand_nested: bool, depth: int) -> list[tuple[Row, int]]:
    children = _children(model)
    shapes = _traced_shapes(model, [m for _, m in children])
    rows: list[tuple[Row, int]] = []
    for key, module in children:
        seen = []
        for s in shapes[id(module)]:
            if s not in seen:
                seen.append(s)
        shape_text = ", ".join(_fmt_shape(s) for s in seen) or "?"
        name = _name(module, key)
        rows.append(((f"{name} ({type(module).__name__})", shape_text, _count(module), "", _trainable_flag(module)), depth))
        rows += _nested_rows(module, expand_nested, depth)
    return rows


def _nested_rows(module: nn.Module, expand_nested: bool, depth: int) -> list[tuple[Row, int]]:
    from lamina.models.model import Model

    if expand_nested and isinstance(module, Model) and _is_built(module):
        return _rows(module, expand_nested, depth + 1)
    return []


def _rows(model: nn.Module, expand_nested: bool, depth: int = 0) -> list[tuple[Row, int]]:
    from lamina.models.functional import Functional

    if isinstance(model, Functional):
        return _functional_rows(model, expand_nested, depth)
    return _traced_rows(model, expand_nested, depth)


# ---------------------------------------------------------------------- totals and table
def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def param_totals(model: nn.Module) -> dict[str, tuple[int, int]]:
    """`{"total" | "trainable" | "non_trainable": (count, bytes)}`, each weight counted once."""
    weights = _weights(model)
    trainable = [w for w in weights if isinstance(w, nn.Parameter) and w.requires_grad]
    ids = {id(w) for w in trainable}
    frozen = [w for w in weights if id(w) not in ids]

    def tally(ws: list[torch.Tensor]) -> tuple[int, int]:
        return sum(w.numel() for w in ws), sum(w.numel() * w.element_size() for w in ws)

    return {"total": tally(weights), "trainable": tally(trainable), "non_trainable": tally(frozen)}


def summary_renderable(
    model: nn.Module, expand_nested: bool = False, show_trainable: bool = False
) -> Group:
    """The summary as a rich renderable: title, table, totals."""
    from lamina.models.functional import Functional

    name = getattr(model, "name", type(model).__name__)
    if not _is_built(model):
        raise ValueError(
            f"Model '{name}' is not built yet, so its layers have no weights or output shapes to "
            "show. Received: a model that has not seen any data. Start it with "
            "`lamina.Input(shape=...)`, or call `model.build(input_shape)` or `fit` first."
        )
    functional = isinstance(model, Functional)
    table = Table(box=box.HEAVY_HEAD, show_lines=False)
    table.add_column("Layer (type)", overflow="fold")
    table.add_column("Output Shape", overflow="fold")
    table.add_column("Param #", justify="right")
    if functional:
        table.add_column("Connected to", overflow="fold")
    if show_trainable:
        table.add_column("Trainable", justify="center")
    for (label, shape, params, connected, flag), depth in _rows(model, expand_nested):
        cells = [("  " * (depth - 1) + "└ " if depth else "") + label, shape, f"{params:,}"]
        if functional:
            cells.append(connected)
        if show_trainable:
            cells.append(flag)
        table.add_row(*cells)
    totals = param_totals(model)
    lines = [
        f" Total params: {totals['total'][0]:,} ({_size(totals['total'][1])})",
        f" Trainable params: {totals['trainable'][0]:,} ({_size(totals['trainable'][1])})",
        f" Non-trainable params: {totals['non_trainable'][0]:,} ({_size(totals['non_trainable'][1])})",
    ]
    return Group(Text(f'Model: "{name}"', style="bold"), table, Text("\n".join(lines)))


def summary_text(
    model: nn.Module, line_length: int | None = None, expand_nested: bool = False, show_trainable: bool = False
) -> str:
    """The summary as plain text, ``line_length`` characters wide (default 100,
    120 with the "Connected to" column)."""
    from lamina.models.functional import Functional

    width = line_length or (120 if isinstance(model, Functional) else 100)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, no_color=True)
    console.print(summary_renderable(model, expand_nested, show_trainable))
    return buffer.getvalue()


def print_summary(
    model: nn.Module,
    line_length: int | None = None,
    print_fn: Callable[[str], Any] | None = None,
    expand_nested: bool = False,
    show_trainable: bool = False,
) -> None:
    """Prints the summary of ``model``.

    Args:
        model: A built model (an `Input` given, or after `build()` or `fit`).
        line_length: Width of the table in characters. Defaults to the terminal's
            width when printing, else 100 (120 for functional models).
        print_fn: Called once with the whole summary as plain text instead of
            printing it (e.g. `print_fn=lines.append` or a logger). Defaults to
            printing to the console with rich.
        expand_nested: Whether to list the layers of nested models, indented
            under them. Defaults to `False`.
        show_trainable: Whether to add a "Trainable" column (Y, N, or - for a
            layer without weights). Defaults to `False`.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        >>> lines = []
        >>> model.summary(print_fn=lines.append)
        >>> "Total params: 10" in lines[0]
        True
    """
    validation.positive_int("summary", "line_length", line_length, allow_none=True)
    validation.boolean("summary", "expand_nested", expand_nested)
    validation.boolean("summary", "show_trainable", show_trainable)
    if print_fn is not None:
        if not callable(print_fn):
            raise TypeError(
                "`summary` expects `print_fn` to be a function that takes a string. "
                f"Received: print_fn={print_fn!r}."
            )
        print_fn(summary_text(model, line_length, expand_nested, show_trainable))
        return
    Console(width=line_length).print(summary_renderable(model, expand_nested, show_trainable))
