"""String preprocessing, split off an export.

ONNX and `torch.export` carry tensors, not text, so `TextVectorization`,
`StringLookup` and `Hashing` on strings cannot be exported. `split` cuts a
model whose leading layers consume strings at its first numeric layer: the
numeric part is exported (and checked) with the preprocessing outputs as its
inputs, and the preprocessing state (each layer's class and config, vocabulary
included) is saved as JSON beside the exported file (``m.onnx`` ->
``m.preprocessing.json``) and in the file's metadata. `load_preprocessing`
rebuilds the layers from that JSON.

The JSON (``"format": "lamina.preprocessing"``, ``"version": 1``)::

    {"inputs":  [{"name": "text", "shape": [null, 1], "dtype": "string"}, ...],
     "steps":   [{"input": "text", "output": "text_vectorization",
                  "dtype": "int64", "layers": [{"class_name": ..., "config": ...}]}],
     "outputs": ["text_vectorization", ...]}

``inputs`` are the raw inputs, ``outputs`` the exported model's input names in
order; an output that is not made by a step is a raw numeric input passed
through.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lamina.saving.export.errors import ExportError

FORMAT = "lamina.preprocessing"


@dataclasses.dataclass
class Split:
    """The numeric part of a model, and the preprocessing state split off it."""

    model: nn.Module
    state: dict[str, Any]
    layer_names: list[str]


def _string_layers() -> tuple[type, ...]:
    from lamina.layers.preprocessing.hashing import Hashing
    from lamina.layers.preprocessing.index_lookup import StringLookup
    from lamina.layers.preprocessing.text_vectorization import TextVectorization

    return (TextVectorization, StringLookup, Hashing)


def _is_string(dtype: Any) -> bool:
    from lamina.layers.symbolic import STRING

    return dtype is STRING


def _layer_state(layer: nn.Module) -> dict[str, Any]:
    from lamina.saving import serialize_keras_object

    return json.loads(json.dumps(serialize_keras_object(layer)))


def _spec(name: str, tensor: Any) -> dict[str, Any]:
    from lamina.layers.symbolic import dtype_name

    return {"name": name, "shape": list(tensor.shape), "dtype": "string" if _is_string(tensor.dtype) else dtype_name(tensor.dtype)}


def split(model: nn.Module) -> Split | None:
    """The model cut at its first numeric layer, or None when no input is a string."""
    from lamina.models.sequential import Sequential

    if isinstance(model, Sequential):
        return _split_sequential(model)
    if getattr(model, "_inputs_struct", None) is not None and hasattr(model, "_nodes"):
        return _split_functional(model)
    return None


def _not_splittable(model: nn.Module, layer: Any) -> ExportError:
    return ExportError(
        f"The model '{model.name}' takes strings, but its layer '{getattr(layer, 'name', layer)}' "
        f"({type(layer).__name__}) uses them directly. Export can only split off string "
        "preprocessing at the start of the model (TextVectorization, StringLookup, Hashing): "
        "apply the other string handling before the model."
    )


def _split_sequential(model: nn.Module) -> Split | None:
    from lamina.layers.input_layer import Input
    from lamina.models.sequential import Sequential

    declared = model._declared_input()
    if declared is None or not _is_string(declared[1]):
        return None
    lead: list[nn.Module] = []
    for layer in model._stack:
        if not isinstance(layer, _string_layers()):
            break
        lead.append(layer)
    if not lead:
        raise _not_splittable(model, model._stack[0] if model._stack else None)
    if len(lead) == len(model._stack):
        raise ExportError(f"The model '{model.name}' is only string preprocessing; there is nothing numeric to export.")
    raw = model.input
    x = raw
    for layer in lead:
        x = layer(x)
    name = lead[-1].name
    numeric = Sequential([Input(shape=tuple(x.shape)[1:], dtype=x.dtype, name=name), *model._stack[len(lead):]], name=model.name)
    raw_name = model._input_layer.name if model._input_layer is not None else "input"
    state = _state(
        [_spec(raw_name, raw)],
        [{"input": raw_name, "output": name, "dtype": _spec(name, x)["dtype"], "layers": [_layer_state(la) for la in lead]}],
        [name],
    )
    return Split(numeric, state, [la.name for la in lead])


def _split_functional(model: nn.Module) -> Split | None:
    from lamina.layers.input_layer import Input
    from lamina.models.model import Model
    from lamina.utils.tree import flatten

    string_inputs = {id(t) for t in model.inputs if _is_string(t.dtype)}
    if not string_inputs:
        return None
    mapping: dict[int, Any] = {id(t): t for t in model.inputs if id(t) not in string_inputs}
    steps, new_inputs, names = [], [], []
    for node in model._nodes:
        parents = node.parents
        if any(id(p) in string_inputs for p in parents):
            if not isinstance(node.layer, _string_layers()) or len(parents) != 1:
                raise _not_splittable(model, node.layer)
            out = flatten(node.outputs)[0]
            new = Input(shape=tuple(out.shape)[1:], dtype=out.dtype, name=node.layer.name)
            mapping[id(out)] = new
            raw_name = model.input_names[[id(t) for t in model.inputs].index(id(parents[0]))]
            steps.append({"input": raw_name, "output": node.layer.name, "dtype": _spec("", out)["dtype"],
                          "layers": [_layer_state(node.layer)]})
            new_inputs.append(new)
            continue
        args = _replace(node.inputs, mapping)
        kwargs = _replace(node.kwargs, mapping)
        result = node.layer(args, **kwargs)
        for old, fresh in zip(flatten(node.outputs), flatten(result)):
            mapping[id(old)] = fresh
    for t in model.inputs:
        if id(t) not in string_inputs:
            new_inputs.append(t)
    names = [getattr(t, "name", None) for t in new_inputs]
    outputs = _replace(model._outputs_struct, mapping)
    numeric = Model(new_inputs, outputs, name=model.name)
    raw = [_spec(n, t) for n, t in zip(model.input_names, model.inputs)]
    state = _state(raw, steps, list(numeric.input_names))
    del names
    return Split(numeric, state, [s["output"] for s in steps])


def _replace(struct: Any, mapping: dict[int, Any]) -> Any:
    from lamina.layers.symbolic import SymbolicTensor

    if isinstance(struct, SymbolicTensor):
        return mapping[id(struct)]
    if isinstance(struct, dict):
        return {k: _replace(v, mapping) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_replace(v, mapping) for v in struct)
    return struct


def _state(inputs: list[dict[str, Any]], steps: list[dict[str, Any]], outputs: list[str]) -> dict[str, Any]:
    return {"format": FORMAT, "version": 1, "inputs": inputs, "steps": steps, "outputs": outputs}


def path_for(exported: str | os.PathLike) -> Path:
    """``m.onnx`` -> ``m.preprocessing.json``."""
    exported = Path(exported)
    return exported.with_name(f"{exported.stem}.preprocessing.json")


def write(state: dict[str, Any], exported: str | os.PathLike) -> Path:
    """Writes the preprocessing JSON beside the exported file (atomically)."""
    target = path_for(exported)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def load_preprocessing(path: str | os.PathLike) -> Callable[[Any], dict[str, np.ndarray]]:
    """Rebuilds the string preprocessing saved by an export.

    Args:
        path: The ``.preprocessing.json`` file (or the exported file beside it).

    Returns:
        A function taking the raw inputs (a NumPy array of `str` for one input, or a
        dict by input name) and returning a dict from the exported model's input
        names to NumPy arrays, ready for ``onnxruntime.InferenceSession.run``.

    Example:

    >>> pre = load_preprocessing("m.preprocessing.json")  # doctest: +SKIP
    >>> session.run(None, pre(np.array([["a fine film"]])))  # doctest: +SKIP
    """
    from lamina.saving import deserialize_keras_object

    path = Path(path)
    if path.suffix != ".json":
        path = path_for(path)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ExportError(f"Could not read the preprocessing file {str(path)!r}: {e}") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ExportError(f"{str(path)!r} is not a Lamina preprocessing file (expected \"format\": {FORMAT!r}).")
    steps = [(s, [deserialize_keras_object(la) for la in s["layers"]]) for s in state["steps"]]
    raw_names = [s["name"] for s in state["inputs"]]

    def apply(inputs: Any) -> dict[str, np.ndarray]:
        if not isinstance(inputs, dict):
            if len(raw_names) != 1:
                raise ExportError(f"This preprocessing takes a dict of inputs {raw_names}. Received: {type(inputs).__name__}.")
            inputs = {raw_names[0]: inputs}
        missing = [n for n in raw_names if n not in inputs]
        if missing:
            raise ExportError(f"The preprocessing needs inputs {raw_names}. Missing: {missing}.")
        out: dict[str, np.ndarray] = {}
        for step, layers in steps:
            x: Any = np.asarray(inputs[step["input"]]).astype(str)
            for layer in layers:
                x = layer(x)
            array = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            out[step["output"]] = array.astype(step["dtype"])
        for name in state["outputs"]:
            if name not in out:
                out[name] = np.asarray(inputs[name])
        return {name: out[name] for name in state["outputs"]}

    return apply
