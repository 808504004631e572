"""String preprocessing, split off an export.

ONNX and `torch.export` carry tensors, not text, so `TextVectorization`,
`StringLookup`, `Hashing` and `WordPieceTokenizer` on strings cannot be
exported. `split` cuts a model whose leading layers consume strings at its
first numeric layer: the numeric part is exported (and checked) with the
preprocessing outputs as its inputs, and the preprocessing state (each layer's
class and config, vocabulary or whole `tokenizer.json` included) is saved as
JSON beside the exported file (``m.onnx`` -> ``m.preprocessing.json``) and in
the file's metadata. `load_preprocessing` rebuilds the layers from that JSON.

A string layer that returns a dict of tensors (`WordPieceTokenizer`:
``token_ids``, ``attention_mask``, ``token_type_ids``) gives the numeric part
one input per key, named after the key (``token_ids``), or
``<layer>_<key>`` when that name is already taken.

The JSON (``"format": "lamina.preprocessing"``, ``"version": 1``)::

    {"inputs":  [{"name": "text", "shape": [null, 1], "dtype": "string"}, ...],
     "steps":   [{"input": "text", "output": "text_vectorization",
                  "dtype": "int64", "layers": [{"class_name": ..., "config": ...}]},
                 {"input": "text", "output": {"token_ids": "token_ids", ...},
                  "dtype": {"token_ids": "int64", ...}, "layers": [...]}],
     "outputs": ["text_vectorization", "token_ids", ...]}

``inputs`` are the raw inputs, ``outputs`` the exported model's input names in
order; an output that is not made by a step is a raw numeric input passed
through. A step whose layers return a dict maps each key to an exported input
name (``output``) and a dtype (``dtype``).
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
    # Exported input name -> the bound of the ids the preprocessing makes there
    # (the parity check draws that input in [0, bound), as real text would give).
    id_bounds: dict[str, int] = dataclasses.field(default_factory=dict)


def _string_layers() -> tuple[type, ...]:
    from lamina.layers.preprocessing.hashing import Hashing
    from lamina.layers.preprocessing.index_lookup import StringLookup
    from lamina.layers.preprocessing.text_vectorization import TextVectorization
    from lamina.layers.preprocessing.wordpiece import WordPieceTokenizer

    return (TextVectorization, StringLookup, Hashing, WordPieceTokenizer)


def _id_bounds(layer: nn.Module) -> dict[str | None, int]:
    """The ranges of the ids ``layer`` outputs, by output key, where they are known:
    a `WordPieceTokenizer` makes token ids below its vocabulary size, a 0/1 mask and
    token types 0 (one segment per string)."""
    from lamina.layers.preprocessing.wordpiece import WordPieceTokenizer

    if isinstance(layer, WordPieceTokenizer):
        return {"token_ids": layer.vocabulary_size(), "attention_mask": 2, "token_type_ids": 1}
    return {}


def _is_string(dtype: Any) -> bool:
    from lamina.layers.symbolic import STRING

    return dtype is STRING


def _layer_state(layer: nn.Module) -> dict[str, Any]:
    from lamina.saving import serialize_keras_object

    return json.loads(json.dumps(serialize_keras_object(layer)))


def _spec(name: str, tensor: Any) -> dict[str, Any]:
    from lamina.layers.symbolic import dtype_name

    return {
        "name": name,
        "shape": list(tensor.shape),
        "dtype": "string" if _is_string(tensor.dtype) else dtype_name(tensor.dtype),
    }


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
        "preprocessing at the start of the model (TextVectorization, StringLookup, Hashing, "
        "WordPieceTokenizer): apply the other string handling before the model."
    )


def _numeric_inputs(
    layer: nn.Module, out: Any, taken: set[str]
) -> tuple[list[tuple[Any, Any]], Any, Any, dict[str, int]]:
    """The `Input`s that replace the output ``out`` of the string layer ``layer``.

    Returns ``(old tensor, new Input)`` pairs, the step's ``output`` and ``dtype``
    entries (a name and a dtype, or dicts by key when ``out`` is a dict), and the
    id bounds by input name. Names are added to ``taken``."""
    from lamina.layers.input_layer import Input
    from lamina.utils.tree import flatten

    bounds = _id_bounds(layer)
    keyed = out if isinstance(out, dict) else {None: flatten(out)[0]}
    pairs, names, dtypes, id_bounds = [], {}, {}, {}
    for key, tensor in keyed.items():
        name = layer.name if key is None else str(key)
        if key is not None and name in taken:
            name = f"{layer.name}_{key}"
        if name in taken:
            raise ExportError(
                f"The string layer '{layer.name}' ({type(layer).__name__}) would give the exported "
                f"model two inputs named {name!r}. Rename the layer or the model input that uses it."
            )
        taken.add(name)
        pairs.append((tensor, Input(shape=tuple(tensor.shape)[1:], dtype=tensor.dtype, name=name)))
        names[key], dtypes[key] = name, _spec("", tensor)["dtype"]
        if bounds.get(key) is not None:
            id_bounds[name] = bounds[key]
    if None in names:
        return pairs, names[None], dtypes[None], id_bounds
    return pairs, names, dtypes, id_bounds


def _split_sequential(model: nn.Module) -> Split | None:
    from lamina.layers.input_layer import Input
    from lamina.models.model import Model
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
        raise ExportError(
            f"The model '{model.name}' is only string preprocessing; there is nothing numeric to export."
        )
    raw = model.input
    x = raw
    for layer in lead:
        x = layer(x)
    raw_name = model._input_layer.name if model._input_layer is not None else "input"
    rest = model._stack[len(lead) :]
    if isinstance(x, dict):  # several tensors feed the numeric part: it becomes functional
        pairs, output, dtype, id_bounds = _numeric_inputs(lead[-1], x, {raw_name})
        inputs = [new for _, new in pairs]
        y: Any = dict(zip(x, inputs))
        for layer in rest:
            y = layer(y)
        numeric: nn.Module = Model(inputs, y, name=model.name)
        outputs = [new.name for new in inputs]
    else:
        output, dtype, id_bounds = lead[-1].name, _spec("", x)["dtype"], {}
        numeric = Sequential(
            [Input(shape=tuple(x.shape)[1:], dtype=x.dtype, name=output), *rest], name=model.name
        )
        outputs = [output]
    step = {
        "input": raw_name,
        "output": output,
        "dtype": dtype,
        "layers": [_layer_state(la) for la in lead],
    }
    state = _state([_spec(raw_name, raw)], [step], outputs)
    return Split(numeric, state, [la.name for la in lead], id_bounds)


def _split_functional(model: nn.Module) -> Split | None:
    from lamina.models.model import Model
    from lamina.utils.tree import flatten

    string_inputs = {id(t) for t in model.inputs if _is_string(t.dtype)}
    if not string_inputs:
        return None
    mapping: dict[int, Any] = {id(t): t for t in model.inputs if id(t) not in string_inputs}
    taken = {str(n) for n, t in zip(model.input_names, model.inputs) if id(t) not in string_inputs}
    taken |= {
        node.layer.name for node in model._nodes if not isinstance(node.layer, _string_layers())
    }
    steps, new_inputs, id_bounds, layer_names = [], [], {}, []
    for node in model._nodes:
        parents = node.parents
        if any(id(p) in string_inputs for p in parents):
            if not isinstance(node.layer, _string_layers()) or len(parents) != 1:
                raise _not_splittable(model, node.layer)
            pairs, output, dtype, bounds = _numeric_inputs(node.layer, node.outputs, taken)
            for old, new in pairs:
                mapping[id(old)] = new
                new_inputs.append(new)
            id_bounds.update(bounds)
            layer_names.append(node.layer.name)
            raw_name = model.input_names[[id(t) for t in model.inputs].index(id(parents[0]))]
            steps.append(
                {
                    "input": raw_name,
                    "output": output,
                    "dtype": dtype,
                    "layers": [_layer_state(node.layer)],
                }
            )
            continue
        args = _replace(node.inputs, mapping)
        kwargs = _replace(node.kwargs, mapping)
        result = node.layer(args, **kwargs)
        for old, fresh in zip(flatten(node.outputs), flatten(result)):
            mapping[id(old)] = fresh
    for t in model.inputs:
        if id(t) not in string_inputs:
            new_inputs.append(t)
    outputs = _replace(model._outputs_struct, mapping)
    numeric = Model(new_inputs, outputs, name=model.name)
    raw = [_spec(n, t) for n, t in zip(model.input_names, model.inputs)]
    state = _state(raw, steps, list(numeric.input_names))
    return Split(numeric, state, layer_names, id_bounds)


def _replace(struct: Any, mapping: dict[int, Any]) -> Any:
    from lamina.layers.symbolic import SymbolicTensor

    if isinstance(struct, SymbolicTensor):
        return mapping[id(struct)]
    if isinstance(struct, dict):
        return {k: _replace(v, mapping) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        return type(struct)(_replace(v, mapping) for v in struct)
    return struct


def _state(
    inputs: list[dict[str, Any]], steps: list[dict[str, Any]], outputs: list[str]
) -> dict[str, Any]:
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
    path = Path(path)
    if path.suffix != ".json":
        path = path_for(path)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ExportError(f"Could not read the preprocessing file {str(path)!r}: {e}") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ExportError(
            f'{str(path)!r} is not a Lamina preprocessing file (expected "format": {FORMAT!r}).'
        )
    steps = [(s, [_rebuild(la, path) for la in s["layers"]]) for s in state["steps"]]
    raw_names = [s["name"] for s in state["inputs"]]

    def apply(inputs: Any) -> dict[str, np.ndarray]:
        if not isinstance(inputs, dict):
            if len(raw_names) != 1:
                raise ExportError(
                    f"This preprocessing takes a dict of inputs {raw_names}. Received: {type(inputs).__name__}."
                )
            inputs = {raw_names[0]: inputs}
        missing = [n for n in raw_names if n not in inputs]
        if missing:
            raise ExportError(f"The preprocessing needs inputs {raw_names}. Missing: {missing}.")
        out: dict[str, np.ndarray] = {}
        for step, layers in steps:
            x: Any = np.asarray(inputs[step["input"]]).astype(str)
            for layer in layers:
                x = layer(x)
            if isinstance(step["output"], dict):  # one exported input per key of the layer's dict
                for key, name in step["output"].items():
                    out[name] = _array(x[key]).astype(step["dtype"][key])
            else:
                out[step["output"]] = _array(x).astype(step["dtype"])
        for name in state["outputs"]:
            if name not in out:
                out[name] = np.asarray(inputs[name])
        return {name: out[name] for name in state["outputs"]}

    return apply


def _array(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _rebuild(config: dict[str, Any], path: Path) -> nn.Module:
    """One preprocessing layer from its saved config; a package the layer needs that
    is missing (`tokenizers` for `WordPieceTokenizer`) is named with its install command."""
    from lamina.saving import deserialize_keras_object

    try:
        return deserialize_keras_object(config)
    except ImportError as e:
        layer = config.get("config", {}).get("name", "?")
        raise ImportError(
            f"The preprocessing saved in {str(path)!r} needs a package that is not installed, for its "
            f"layer '{layer}' ({config.get('class_name')}): {e}"
        ) from e
