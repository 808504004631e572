"""ONNX through PyTorch's own exporter, the file's metadata, and running the file
with ONNX Runtime (for the parity gate and for locating a divergence).

The program captured by `torch.export` is translated with `torch.onnx.export`
(the dynamo exporter, which has no fallback to the TorchScript exporter when it
is given an `ExportedProgram`), into one self-contained file: the weights are
inside (no `.onnx.data` beside it), so models must stay under ONNX's 2 GB limit.
The onnxscript graph optimizer is off by default: in this stack it folds the
free time axis of recurrent layers into a constant; ONNX Runtime optimizes the
graph itself when it loads it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.saving.export.errors import ExportError
from lamina.saving.export.parity import LayerValues, owners, scope_path
from lamina.saving.export.torch_export import quiet, unsupported

_TWO_GB = 2**31


def _layer_of_failure(error: BaseException, program: torch.export.ExportedProgram, entry: torch.nn.Module) -> Any:
    """The layer whose FX node the ONNX translation failed on, from the error text."""
    text = str(error)
    modules = dict(entry.named_modules())
    for node in program.graph.nodes:
        stack = node.meta.get("nn_module_stack")
        if node.op == "call_function" and stack and (
            f"%{node.name}" in text or f"'{node.name}'" in text or str(node.target) in text
        ):
            full = list(stack.values())[-1][0]
            path = scope_path(full.split("."))
            module = modules.get(f"model.{path}")
            if module is not None:
                return path, module
    return None


def translate(
    program: torch.export.ExportedProgram,
    example: list[torch.Tensor],
    input_names: list[str],
    output_names: list[str],
    entry: torch.nn.Module,
    optimize: bool = False,
) -> Any:
    """The ONNX model (`onnx.ModelProto`) of ``program``."""
    try:
        with quiet():
            onnx_program = torch.onnx.export(
                program,
                tuple(example),
                dynamo=True,
                external_data=False,
                optimize=optimize,
                verbose=False,
            )
    except Exception as e:  # noqa: BLE001 - translated into an error naming the layer
        error = unsupported(e, entry, "ONNX", _layer_of_failure(e, program, entry))
        raise error from e
    proto = onnx_program.model_proto
    name_inputs_and_outputs(proto, input_names, output_names)
    return proto


def _graphs(graph: Any) -> Iterator[Any]:
    """``graph`` and the graphs nested in its nodes' attributes (loop bodies, branches)."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _rename(proto: Any, mapping: dict[str, str]) -> None:
    """Renames values everywhere they are defined or used, nested graphs included."""
    for graph in _graphs(proto.graph):
        for node in graph.node:
            node.input[:] = [mapping.get(n, n) for n in node.input]
            node.output[:] = [mapping.get(n, n) for n in node.output]
        for value in [*graph.input, *graph.output, *graph.value_info, *graph.initializer]:
            value.name = mapping.get(value.name, value.name)
        for sparse in graph.sparse_initializer:
            sparse.values.name = mapping.get(sparse.values.name, sparse.values.name)


def name_inputs_and_outputs(proto: Any, input_names: list[str], output_names: list[str]) -> None:
    """Gives the graph's inputs and outputs the model's names.

    The exporter names inner values after the FX nodes (``conv1d_1``), so a model
    output named after its layer can clash with an inner value; a file with two
    definitions of one name is invalid. Inner values with a wanted name are
    renamed first, then the inputs and outputs (an output that is an input or
    repeats another output gets an ``Identity`` node)."""
    import onnx

    graph = proto.graph
    wanted = set(input_names) | set(output_names)
    used = {n for g in _graphs(graph) for node in g.node for n in (*node.input, *node.output)}
    used |= {v.name for g in _graphs(graph) for v in (*g.input, *g.output, *g.initializer, *g.value_info)}
    taken = used | wanted
    clashes: dict[str, str] = {}
    for name in sorted(used & wanted):
        fresh, i = f"{name}__inner", 0
        while fresh in taken:
            i += 1
            fresh = f"{name}__inner{i}"
        clashes[name] = fresh
        taken.add(fresh)
    _rename(proto, clashes)
    _rename(proto, {v.name: n for v, n in zip(graph.input, input_names)})
    inputs = {v.name for v in graph.input}
    produced_by_node = {n for node in graph.node for n in node.output}
    seen: set[str] = set()
    for output, name in zip(graph.output, output_names):
        current = output.name
        if current in inputs or current in seen or current not in produced_by_node:
            graph.node.append(onnx.helper.make_node("Identity", [current], [name]))
            output.name = name
        else:
            _rename(proto, {current: name})
        seen.add(name)


def add_metadata(proto: Any, metadata: dict[str, Any]) -> None:
    """Sets ``metadata_props`` (JSON for non-string values)."""
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)


def serialize(proto: Any) -> bytes:
    if proto.ByteSize() >= _TWO_GB:
        raise ExportError(
            f"The model is {proto.ByteSize() / 2**30:.1f} GB, over ONNX's 2 GB limit for one "
            "self-contained file. Export with format='torch' (a .pt2 file has no such limit)."
        )
    return proto.SerializeToString()


def _session(model: bytes | str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def runner(path: str) -> Any:
    """A callable running the ONNX file: list of arrays -> list of arrays."""
    session = _session(path)
    names = [i.name for i in session.get_inputs()]

    def run(arrays: list[np.ndarray]) -> list[np.ndarray]:
        return session.run(None, dict(zip(names, arrays)))

    return run


def _node_path(node: Any) -> str | None:
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return None
            # Each scope is a full module path ('', 'model', 'model.dense', then the op).
            return scope_path(str(scopes[-2]).split(".")) if len(scopes) >= 3 else ""
    return None


def layer_values(proto: Any) -> LayerValues:
    """Per-layer values of the ONNX graph: the values each layer's nodes produce
    that nodes outside the layer (or the graph outputs) use, exposed as extra
    graph outputs and computed with ONNX Runtime."""
    import onnx

    def values(arrays: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
        model = onnx.ModelProto()
        model.CopyFrom(proto)
        graph = model.graph
        try:
            typed = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
        except Exception:  # noqa: BLE001 - fall back to the exporter's own value_info
            typed = {}
        typed.update({v.name: v for v in graph.value_info})
        paths = [_node_path(n) for n in graph.node]
        consumers: dict[str, list[str | None]] = {}
        for node, path in zip(graph.node, paths):
            for name in node.input:
                consumers.setdefault(name, []).append(path)
        outputs = {o.name for o in graph.output}
        wanted: dict[str, list[str]] = {}
        for node, path in zip(graph.node, paths):
            if path is None:
                continue
            for value in node.output:
                if not value or value not in typed and value not in outputs:
                    continue
                for owner in owners(path):
                    users = consumers.get(value, [])
                    inside = [u is not None and (u + ".").startswith(owner + ".") for u in users]
                    if value in outputs or not all(inside):
                        wanted.setdefault(value, []).append(owner)
        extra = [v for v in wanted if v not in outputs]
        for name in extra:
            graph.output.append(typed[name])
        session = _session(model.SerializeToString())
        names = [o.name for o in session.get_outputs()]
        feed = dict(zip([i.name for i in session.get_inputs()], arrays))
        results = dict(zip(names, session.run(None, feed)))
        out: dict[str, list[np.ndarray]] = {}
        for value, owner_paths in wanted.items():
            for owner in owner_paths:
                out.setdefault(owner, []).append(np.asarray(results[value]))
        return out

    return values

