"""The parity gate: the exported file must compute what the model computes.

`check` runs the exported file and the model (eval mode, `torch.inference_mode`)
on the same inputs drawn from the input spec, at several batch sizes (and two
lengths of the free axes), and compares every output. When an output differs
by more than the tolerance, the values each layer produced in both are compared
in execution order, and the first layer beyond tolerance is named: that is
where the divergence starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from lamina.saving.export.errors import ExportError, ExportParityError
from lamina.saving.export.signature import Signature

BATCH_SIZES = (1, 2, 7, 64)
Runner = Callable[[list[np.ndarray]], list[np.ndarray]]
LayerValues = Callable[[list[np.ndarray]], dict[str, list[np.ndarray]]]


def has_recurrent_layers(model: nn.Module) -> bool:
    recurrent = ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
    return any(isinstance(m, nn.RNNBase) or type(m).__name__ in recurrent for m in model.modules())


def reference(entry: nn.Module, tensors: list[torch.Tensor]) -> list[np.ndarray]:
    """The model's inference outputs, as arrays."""
    with torch.inference_mode():
        return [t.detach().cpu().numpy() for t in entry(*tensors)]


def max_difference(expected: np.ndarray, got: np.ndarray) -> float:
    """The largest absolute difference (inf for a shape mismatch or a NaN in one only)."""
    if expected.shape != got.shape:
        return float("inf")
    a, b = expected.astype(np.float64), got.astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(diff.max()) if diff.size else 0.0


def torch_layer_values(entry: nn.Module, tensors: list[torch.Tensor]) -> tuple[list[str], dict[str, list[np.ndarray]]]:
    """Each layer's outputs in the model, and the order the layers finished in."""
    order: list[str] = []
    values: dict[str, list[np.ndarray]] = {}
    handles = []

    def hook(path: str) -> Any:
        def record(module: nn.Module, args: Any, out: Any) -> None:
            flat = out if isinstance(out, (list, tuple)) else [out]
            values[path] = [t.detach().cpu().numpy() for t in flat if isinstance(t, torch.Tensor)]
            if path not in order:
                order.append(path)

        return record

    for name, module in entry.named_modules():
        if name.startswith("model."):
            handles.append(module.register_forward_hook(hook(name.removeprefix("model."))))
    try:
        with torch.inference_mode():
            entry(*tensors)
    finally:
        for h in handles:
            h.remove()
    return order, values


def first_divergence(
    order: list[str], expected: dict[str, list[np.ndarray]], got: dict[str, list[np.ndarray]], atol: float
) -> tuple[str, float] | None:
    """The first layer (in execution order) whose exported values differ beyond ``atol``.

    Each of the layer's outputs is matched with the exported values of the same
    shape; a layer with no matching exported value (fused away) is skipped.
    """
    for path in order:
        worst: float | None = None
        for e in expected.get(path, []):
            candidates = [max_difference(e, g) for g in got.get(path, []) if g.shape == e.shape]
            if candidates:
                best = min(candidates)
                worst = best if worst is None else max(worst, best)
        if worst is not None and worst > atol:
            return path, worst
    return None


def scope_path(parts: list[str]) -> str:
    """A layer path from module-path parts, without the wrapper and call suffixes (``@1``)."""
    parts = [re.sub(r"@\d+$", "", p) for p in parts if p]
    if parts and parts[0] == "model":
        parts = parts[1:]
    return ".".join(parts)


def owners(path: str) -> list[str]:
    """The path and each enclosing layer's path (``a.b.c`` -> ``a.b.c``, ``a.b``, ``a``)."""
    parts = path.split(".") if path else []
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def check(
    model: nn.Module,
    entry: nn.Module,
    signature: Signature,
    output_names: list[str],
    run: Runner,
    layer_values: LayerValues,
    atol: float,
    lengths: tuple[int, ...],
    label: str,
    seed: int = 0,
) -> dict[str, float]:
    """Runs the exported file against the model; returns the largest difference per
    case (``"batch=7"`` or ``"batch=7,length=11"``) or raises `ExportParityError`."""
    generator = torch.Generator().manual_seed(seed)
    cases = [(b, n) for n in (lengths if signature.has_free_axes else (None,)) for b in BATCH_SIZES]
    results: dict[str, float] = {}
    for batch, length in cases:
        tensors = signature.sample(batch, length, generator)
        expected = reference(entry, tensors)
        try:
            got = run([t.numpy() for t in tensors])
        except Exception as e:  # noqa: BLE001 - reported as a failed check, with its cause
            size = f"batch size {batch}" + (f", free-axis length {length}" if length is not None else "")
            gist = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ExportError(
                f"The {label} export of '{getattr(model, 'name', type(model).__name__)}' fails to run at "
                f"{size}: {type(e).__name__}: {gist} Nothing was written. The exporter probably fixed a size "
                "the model leaves free; pass `input_signature` with fixed sizes, or export with the other format."
            ) from e
        case = f"batch={batch}" + (f",length={length}" if length is not None else "")
        worst = 0.0
        for name, e, g in zip(output_names, expected, got):
            diff = max_difference(e, np.asarray(g))
            worst = max(worst, diff)
            if diff > atol:
                raise _parity_error(model, entry, tensors, name, e, np.asarray(g), diff, batch, length, atol, layer_values, label)
        results[case] = worst
    return results


def _parity_error(
    model: nn.Module, entry: nn.Module, tensors: list[torch.Tensor], name: str, expected: np.ndarray,
    got: np.ndarray, diff: float, batch: int, length: int | None, atol: float, layer_values: LayerValues, label: str,
) -> ExportParityError:
    order, torch_values = torch_layer_values(entry, tensors)
    try:
        exported = layer_values([t.numpy() for t in tensors])
        culprit = first_divergence(order, torch_values, exported, atol)
    except Exception as e:  # noqa: BLE001 - the report still names the output
        culprit, reason = None, f" (the layers could not be compared: {type(e).__name__}: {e})"
    else:
        reason = ""
    modules = dict(entry.named_modules())
    if culprit is not None:
        path, layer_diff = culprit
        cls = type(modules.get(f"model.{path}")).__name__
        where = (
            f"The divergence starts at layer '{path}' ({cls}), whose output differs by {layer_diff:.3g}; "
            "the layers before it match."
        )
    else:
        where = f"It could not be traced to one layer{reason or ' (the layers match; only the output differs)'}."
    size = f"batch size {batch}" + (f", free-axis length {length}" if length is not None else "")
    shape = f" (shapes: model {expected.shape}, {label} {got.shape})" if expected.shape != got.shape else ""
    message = (
        f"The {label} export of '{getattr(model, 'name', type(model).__name__)}' does not match the model: "
        f"output '{name}' differs by {diff:.3g} at {size}{shape} (tolerance {atol:g}). {where} "
        "Nothing was written. Replace that layer, export with the other format, or raise `atol=` "
        "if the difference is acceptable."
    )
    return ExportParityError(
        message, output=name, batch_size=batch, length=length, max_difference=diff,
        layer=culprit[0] if culprit else None,
    )


def program_layer_values(module: torch.fx.GraphModule) -> LayerValues:
    """Per-layer values of a `torch.export` program: the values each layer's nodes
    produce that nodes outside the layer (or the outputs) use."""

    def node_path(node: torch.fx.Node) -> str | None:
        stack = node.meta.get("nn_module_stack")
        if not stack:
            return None
        return scope_path(list(stack.values())[-1][0].split("."))

    def values(arrays: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
        env: dict[str, Any] = {}

        class Recorder(torch.fx.Interpreter):
            def run_node(self, n: torch.fx.Node) -> Any:
                result = super().run_node(n)
                env[n.name] = result
                return result

        with torch.inference_mode():
            Recorder(module).run(*[torch.from_numpy(a) for a in arrays])
        out: dict[str, list[np.ndarray]] = {}
        for n in module.graph.nodes:
            path = node_path(n)
            if path is None or not isinstance(env.get(n.name), torch.Tensor):
                continue
            for owner in owners(path):
                escapes = any(node_path(u) is None or not (node_path(u) + ".").startswith(owner + ".") for u in n.users)
                if escapes:
                    out.setdefault(owner, []).append(env[n.name].detach().numpy())
        return out

    return values
