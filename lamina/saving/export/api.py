"""`export_model`: capture, translate, verify, then write atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lamina.mixed_precision import float32_path
from lamina.saving.export import parity, shapes
from lamina.saving.export import signature as signatures
from lamina.saving.export.errors import ExportError
from lamina.saving.export.torch_export import Entry, capture, while_loop_rnns

_FORMATS = {".onnx": "onnx", ".pt2": "torch"}


@dataclasses.dataclass
class ExportResult:
    """What `export_model` wrote and how closely it matches the model.

    Attributes:
        path: The exported file.
        format: ``"onnx"`` or ``"torch"``.
        max_differences: The largest absolute output difference per checked case
            (``"batch=7"``, or ``"batch=7,length=11"`` with a free axis).
        atol: The tolerance the file was checked with.
        inputs: Name, shape (None for dynamic axes) and dtype of each input.
        outputs: The same for each output.
        preprocessing_path: The JSON file with the string preprocessing the export
            split off (see `load_preprocessing`), or None.
        axis_ranges: The lengths the free axes accept where the capture needs a
            range (``{"axis1": {"min": 5, "max": None}}`` for a `valid` convolution);
            empty when every length is accepted.
    """

    path: str
    format: str
    max_differences: dict[str, float]
    atol: float
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    preprocessing_path: str | None = None
    axis_ranges: dict[str, dict[str, int | None]] = dataclasses.field(default_factory=dict)

    @property
    def max_difference(self) -> float:
        return max(self.max_differences.values(), default=0.0)


def _format_for(path: Path, format: str | None) -> str:
    by_suffix = _FORMATS.get(path.suffix.lower())
    if format is None:
        return by_suffix or "onnx"
    if format not in ("onnx", "torch"):
        raise ExportError(f"`format` must be 'onnx' or 'torch'. Received: format={format!r}.")
    if by_suffix is not None and by_suffix != format:
        raise ExportError(
            f"The file name {path.name!r} asks for format={by_suffix!r} but format={format!r} was given. "
            f"Name the file '{path.stem}{'.onnx' if format == 'onnx' else '.pt2'}' or pass format={by_suffix!r}."
        )
    return format


def _output_specs(entry: nn.Module, sig: signatures.Signature, names: list[str], lengths: tuple[int, ...]) -> list[dict[str, Any]]:
    """Output shapes with None where they follow the batch or a free axis."""
    from lamina.layers.symbolic import dtype_name

    generator = torch.Generator().manual_seed(1)
    free = sig.has_free_axes
    a = parity.reference(entry, sig.sample(2, lengths[0] if free else None, generator))
    b = parity.reference(entry, sig.sample(3, lengths[1] if free else None, generator))
    specs = []
    for name, x, y in zip(names, a, b):
        shape = [None if i == 0 or x.shape[i] != y.shape[i] else int(x.shape[i]) for i in range(x.ndim)]
        specs.append({"name": name, "shape": shape, "dtype": dtype_name(torch.from_numpy(x[:0].copy()).dtype)})
    return specs


def _lengths_within(ranges: shapes.Ranges, lengths: tuple[int, ...], explicit: bool) -> tuple[int, ...]:
    """The checked lengths of the free axes, inside the range the capture needs:
    default lengths are moved into it; lengths the caller chose must lie in it."""
    low, high = shapes.length_bounds(ranges)
    if low is None and high is None:
        return lengths
    inside = [n for n in lengths if (low is None or n >= low) and (high is None or n <= high)]
    if explicit and len(inside) < len(lengths):
        bounds = f"from {low if low is not None else 1} to {high if high is not None else 'any length'}"
        raise ExportError(
            f"The exported model accepts free-axis lengths {bounds} (a layer needs them), so it cannot be "
            f"checked at lengths={tuple(lengths)}. Pass `lengths` inside that range."
        )
    clamp = [max(n, low or 1) if high is None else min(max(n, low or 1), high) for n in lengths]
    first, second = clamp[0], clamp[-1]
    if first == second:
        second = first + 1 if high is None or first + 1 <= high else max(first - 1, low or 1)
    return (first, second)


def _class_names(model: nn.Module, class_names: Any) -> list[str] | None:
    names = class_names if class_names is not None else getattr(model, "class_names", None)
    return None if names is None else [str(n) for n in names]


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@float32_path()  # a mixed-precision model exports (and is checked) as its float32 graph
def export_model(
    model: nn.Module,
    filepath: str | os.PathLike,
    format: str | None = None,
    verbose: bool = True,
    input_signature: Any = None,
    *,
    atol: float | None = None,
    class_names: Any = None,
    lengths: tuple[int, int] | None = None,
    optimize: bool = False,
    seed: int = 0,
) -> ExportResult:
    """Exports ``model`` for inference and checks the file against it before returning.

    ``format="onnx"`` writes one self-contained ONNX file through PyTorch's own
    exporter; ``format="torch"`` writes a `torch.export` program (``.pt2``). The
    format defaults from the file suffix. The batch axis (and any free axis of the
    input spec) stays dynamic. The file is then run (ONNX Runtime on CPU, or
    `torch.export.load`) at batch sizes 1, 2, 7 and 64 (and two lengths of the free
    axes) and must match the model within ``atol``; otherwise `ExportParityError`
    names the output, the batch size, the difference and the layer where the
    divergence starts, and nothing is written. String preprocessing at the start
    of the model is split off into ``<name>.preprocessing.json``. A mixed-precision
    model (`"mixed_bfloat16"`, `"mixed_float16"`: float32 variables) is exported
    and checked as its float32 computation (`lamina.mixed_precision.float32_path`),
    so the file runs on any ONNX Runtime.

    Args:
        model: A Lamina model (built, or with `Input`s).
        filepath: The output file, ``.onnx`` or ``.pt2``.
        format: ``"onnx"`` or ``"torch"``. Defaults to the one the suffix names.
        verbose: Whether to print a one-line summary. Defaults to `True`.
        input_signature: Overrides the model's input spec: a shape with the batch axis
            first (``(None, 8)``), an object with ``shape`` and ``dtype`` (such as
            ``lamina.Input(...)``), or a list or dict of them. Defaults to `None`.
        atol: The absolute tolerance. Defaults to `1e-5` (`1e-4` with recurrent layers).
        class_names: Class names stored in the metadata. Defaults to the model's
            ``class_names`` attribute, if set.
        lengths: The two lengths of the free axes checked. Defaults to `(3, 11)` for
            sequences and `(16, 24)` for images.
        optimize: Whether to run onnxscript's graph optimizer. Defaults to `False`.
        seed: Seed of the checked inputs. Defaults to `0`.

    Returns:
        An `ExportResult`.

    Example:

    >>> import os, tempfile, lamina
    >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2, name="scores")])
    >>> path = os.path.join(tempfile.mkdtemp(), "m.pt2")  # or "m.onnx"
    >>> result = export_model(model, path, verbose=False)
    >>> result.format, result.outputs, result.max_difference <= 1e-5
    ('torch', [{'name': 'scores', 'shape': [None, 2], 'dtype': 'float32'}], True)
    """
    from lamina.saving.export import preprocessing

    started = time.perf_counter()
    if atol is not None and not (isinstance(atol, (int, float)) and atol >= 0):
        raise ExportError(f"`atol` must be a number >= 0. Received: atol={atol!r}.")
    if lengths is not None and not (
        isinstance(lengths, (tuple, list)) and len(lengths) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in lengths)
    ):
        raise ExportError(f"`lengths` must be two positive integers, such as (3, 11). Received: lengths={lengths!r}.")
    path = Path(filepath)
    fmt = _format_for(path, format)
    if fmt == "onnx":
        from lamina.extras import require

        require("export", "ONNX export")
    if not path.parent.exists():
        raise ExportError(f"The folder of {str(path)!r} does not exist. Create it first.")
    split = preprocessing.split(model)
    numeric = split.model if split is not None else model
    sig = signatures.resolve(numeric, input_signature if split is None else None)
    if split is not None and split.id_bounds:  # ids drawn as the split-off preprocessing makes them
        bounds = split.id_bounds
        sig.specs = [dataclasses.replace(s, high=bounds.get(s.name, s.high)) for s in sig.specs]
    rank = max(len(s.shape) for s in sig.specs)
    explicit_lengths = lengths is not None
    lengths = tuple(lengths) if lengths is not None else ((3, 11) if rank <= 3 else (16, 24))
    tolerance = atol if atol is not None else (1e-4 if parity.has_recurrent_layers(numeric) else 1e-5)
    was_training = model.training
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()
    if device.type != "cpu":
        model.to("cpu")  # the exported file runs on CPU (ONNX Runtime's CPU provider, a CPU .pt2)
    decompositions = contextlib.ExitStack()
    try:
        # The program is decomposed again when it is translated to ONNX: the while-loop
        # RNN decompositions must stay registered until the file is written.
        decompositions.enter_context(while_loop_rnns())
        entry = Entry(numeric, sig)
        generator = torch.Generator().manual_seed(seed)
        trace_length = (lengths[0] + lengths[1]) // 2 if sig.has_free_axes else None
        example = sig.sample(3, trace_length, generator)
        parity.reference(entry, example)  # a plain error if the model cannot run on its own spec
        output_names = signatures.output_names(numeric, len(parity.reference(entry, example)))
        program, ranges = capture(entry, example, sig)
        lengths = _lengths_within(ranges, lengths, explicit=explicit_lengths)
        outputs = _output_specs(entry, sig, output_names, lengths)
        metadata = {
            "lamina_version": _lamina_version(),
            "torch_version": torch.__version__,
            "model_name": str(getattr(model, "name", type(model).__name__)),
            "inputs": [s.to_json() for s in sig.specs],
            "outputs": outputs,
        }
        names = _class_names(model, class_names)
        if names is not None:
            metadata["class_names"] = names
        if split is not None:
            metadata["preprocessing"] = split.state
        if ranges:
            metadata["axis_ranges"] = shapes.to_json(ranges)
        writer = _write_onnx if fmt == "onnx" else _write_torch
        diffs = writer(path, numeric, entry, program, example, sig, output_names, metadata, tolerance, lengths, optimize, seed)
    finally:
        decompositions.close()
        model.train(was_training)
        if device.type != "cpu":
            model.to(device)
    pre_path = None
    if split is not None:
        pre_path = str(preprocessing.write(split.state, path))
    result = ExportResult(
        str(path), fmt, diffs, tolerance, metadata["inputs"], outputs, pre_path, metadata.get("axis_ranges", {})
    )
    if verbose:
        _report(result, time.perf_counter() - started, split)
    return result


def _lamina_version() -> str:
    import lamina

    return lamina.__version__


def _write_onnx(path: Path, model: nn.Module, entry: Entry, program: Any, example: list[torch.Tensor],
                sig: signatures.Signature, output_names: list[str], metadata: dict[str, Any], atol: float,
                lengths: tuple[int, ...], optimize: bool, seed: int) -> dict[str, float]:
    from lamina.saving.export import onnx_export

    proto = onnx_export.translate(program, example, sig.names, output_names, entry, optimize)
    onnx_export.add_metadata(proto, metadata)
    data = onnx_export.serialize(proto)
    tmp = _temporary(path)
    try:
        tmp.write_bytes(data)
        run = onnx_export.runner(str(tmp))
        diffs = parity.check(model, entry, sig, output_names, run, onnx_export.layer_values(proto), atol, lengths, "ONNX", seed)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return diffs


def _write_torch(path: Path, model: nn.Module, entry: Entry, program: Any, example: list[torch.Tensor],
                 sig: signatures.Signature, output_names: list[str], metadata: dict[str, Any], atol: float,
                 lengths: tuple[int, ...], optimize: bool, seed: int) -> dict[str, float]:
    from lamina.saving.export import torch_export

    tmp = _temporary(path)
    try:
        torch_export.save_program(program, tmp, {"lamina_metadata.json": json.dumps(metadata)})
        run = torch_export.load_runner(tmp)
        values = parity.program_layer_values(run.module)
        diffs = parity.check(model, entry, sig, output_names, run, values, atol, lengths, "torch.export", seed)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return diffs


def _report(result: ExportResult, seconds: float, split: Any) -> None:
    size = Path(result.path).stat().st_size
    cases = ", ".join(result.max_differences)
    print(
        f"Exported to {result.path} ({'ONNX' if result.format == 'onnx' else 'torch.export'}, "
        f"{size / 1024:.1f} kB, {seconds:.1f} s): matches the model within {result.atol:g} "
        f"(largest difference {result.max_difference:.2g}; checked {cases})."
    )
    for name, bounds in result.axis_ranges.items():
        low, high = bounds["min"], bounds["max"]
        span = f"{low} to {high}" if low is not None and high is not None else f">= {low}" if low is not None else f"<= {high}"
        print(f"The free axis {name.removeprefix('axis')} accepts lengths {span} (the layers need it); the file records this range.")
    if split is not None:
        print(
            f"String preprocessing ({', '.join(split.layer_names)}) cannot be expressed in "
            f"{'ONNX' if result.format == 'onnx' else 'torch.export'}: it was saved to "
            f"{result.preprocessing_path}; apply it with lamina.saving.export.load_preprocessing."
        )
