"""Capturing the model with `torch.export` (shared by both formats), and the
`.pt2` file.

The model is wrapped in `Entry`, a module that takes the inputs as flat
tensors and returns a flat tuple of outputs, so both exporters see plain
tensors. The capture is non-strict `torch.export.export` with the batch axis
and the free axes declared dynamic; recurrent layers use PyTorch's while-loop
decompositions so their time axis stays dynamic. A failure is translated into
an error naming the layer; nothing is retried with another exporter.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from lamina.saving.export import shapes
from lamina.saving.export.errors import ExportError, UnsupportedLayerError
from lamina.saving.export.signature import Signature


class Entry(nn.Module):
    """The model with flat tensor inputs and a flat tuple of outputs."""

    def __init__(self, model: nn.Module, signature: Signature) -> None:
        super().__init__()
        self.model = model
        self.signature = signature

    def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(flatten_outputs(self.model(self.signature.pack(tensors))))


def flatten_outputs(out: Any) -> list[torch.Tensor]:
    """The output tensors in order (a dict in insertion order)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for v in out.values() for t in flatten_outputs(v)]
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in flatten_outputs(v)]
    raise ExportError(f"The model returned a {type(out).__name__}; export needs tensors (or lists or dicts of them).")


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Silences the exporters' prints, warnings and log lines; yields what they printed."""
    buffer = io.StringIO()
    loggers = [logging.getLogger(n) for n in ("torch", "torch.onnx", "torch.export", "onnxscript", "torch._dynamo")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield buffer
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def layer_paths(entry: nn.Module) -> dict[int, str]:
    """Module id -> its path in the model (``dense``, ``block.conv``)."""
    return {id(m): name.removeprefix("model.") for name, m in entry.named_modules() if name.startswith("model.")}


def _failing_layer(error: BaseException, paths: dict[int, str]) -> tuple[str, nn.Module] | None:
    """The innermost model layer on the stack of ``error`` (or of its causes)."""
    seen: set[int] = set()
    found: tuple[str, nn.Module] | None = None
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get("self")
            if isinstance(owner, nn.Module) and id(owner) in paths:
                found = (paths[id(owner)], owner)
            tb = tb.tb_next
        if found is not None:
            return found
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return None


def _first_line(error: BaseException) -> str:
    """The gist of an exporter error: its first line, or for the ONNX exporter the
    innermost cause of its exception summary (``DispatchError: No ONNX function ...``)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    if "## Exception summary" in text:
        for line in text.split("## Exception summary", 1)[1].splitlines():
            found = re.match(r"<class '(?:[\w.]+\.)?(\w+)'>: (.*)", line.strip())
            if found:
                return f"{found.group(1)}: {found.group(2)}"
    lines = text.splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _fixed_size(error: BaseException, exporter: str, layer: tuple[str, nn.Module] | None) -> ExportError:
    """The error for a capture that fixed the batch or a free axis to one size."""
    fix = (
        "Pass `input_signature` with fixed sizes for the free axes (the batch axis stays dynamic), "
        "or make the layer that fixes the size shape-agnostic."
    )
    detail = re.search(r"^\s*- (.+?\.)(?: |$)", str(error), re.MULTILINE)
    gist = detail.group(1) if detail else _sentence(_first_line(error))
    if layer is None:
        return ExportError(
            f"The model cannot be exported with a dynamic batch or free axis: {exporter} tracing fixed "
            f"its size. {gist} {fix}"
        )
    path, module = layer
    cls = type(module).__name__
    return UnsupportedLayerError(
        f"The model cannot be exported with a dynamic batch or free axis: {exporter} tracing fixed "
        f"its size in layer '{path}' ({cls}). {gist} {fix}",
        layer_name=path,
        layer_class=cls,
    )


def unsupported(error: BaseException, entry: nn.Module, exporter: str, layer: tuple[str, nn.Module] | None = None) -> ExportError:
    """The error for a capture or translation failure, naming the layer when it is known."""
    alternative = "export with format='torch'" if exporter == "ONNX" else "export with format='onnx'"
    if shapes.fixes_a_size(error):
        return _fixed_size(error, exporter, layer)
    layer = layer or _failing_layer(error, layer_paths(entry))
    if layer is None:
        return ExportError(
            f"The {exporter} exporter could not handle the model ({_first_line(error)}). No single layer "
            f"could be blamed; {alternative}, or simplify the model."
        )
    path, module = layer
    cls = type(module).__name__
    fix = (
        f"Replace the layer with one built from standard operations, or {alternative}."
        if exporter == "ONNX"
        else "Both formats capture the model with torch.export, so the layer must be traceable: no "
        "Python branches on tensor values, no `.item()`, `.tolist()` or NumPy inside `call`. "
        "Rewrite it with tensor operations (`torch.where` for a branch), or replace it."
    )
    return UnsupportedLayerError(
        f"The {exporter} exporter cannot handle layer '{path}' ({cls}): {_sentence(_first_line(error))} {fix}",
        layer_name=path,
        layer_class=cls,
    )


def _rnn_ops() -> tuple[Any, ...]:
    return (torch.ops.aten.lstm.input, torch.ops.aten.gru.input)


def _forget_dispatch(ops: tuple[Any, ...]) -> None:
    """Drops the cached kernel choice of ``ops``: an operator remembers the kernel it
    dispatched to the first time it ran under a key, so a kernel registered later
    (or removed) is ignored until the cache is cleared."""
    for op in ops:
        op._dispatch_cache.clear()


def _forget_loop_bodies() -> None:
    """Drops Dynamo's compiled versions of the decompositions' loop functions (the
    code of `torch._higher_order_ops` and `torch.export._patches` Dynamo has seen).

    `torch.while_loop` compiles its ``cond_fn`` and ``body_fn`` with Dynamo, which
    caches them by code object with guards on the values they close over. After a
    capture at a fixed length (a model with a fixed time axis), a later capture
    traced at the same length would reuse that graph, in which the length is a
    constant, and the free time axis would be fixed."""
    from torch._dynamo import convert_frame, reset_code

    with convert_frame.compile_lock:
        for weak in convert_frame.input_codes.seen + convert_frame.output_codes.seen:
            code = weak()
            if code is not None and re.search(r"torch[/\\](_higher_order_ops|export[/\\]_patches)", code.co_filename):
                reset_code(code)


@contextlib.contextmanager
def while_loop_rnns() -> Iterator[None]:
    """Registers PyTorch's while-loop decompositions of LSTM and GRU while tracing,
    so their time axis stays dynamic (the default decomposition unrolls it).

    `torch.export._patches` swaps the operators' Python kernels but not their
    dispatch caches; whichever kernel ran first (an LSTM traced before, the patch
    of an earlier export) would stay in use and the time axis would be fixed.
    The caches are cleared on entry and on exit, so every capture gets the
    while-loop kernels and eager execution gets its own back; the loop bodies
    Dynamo compiled for an earlier capture are dropped too. The ONNX
    translation decomposes the program again, so it runs inside this too."""
    from torch.export._patches import (
        register_gru_while_loop_decomposition,
        register_lstm_while_loop_decomposition,
    )

    ops = _rnn_ops()
    _forget_dispatch(ops)
    _forget_loop_bodies()
    try:
        with register_lstm_while_loop_decomposition(), register_gru_while_loop_decomposition():
            _forget_dispatch(ops)
            yield
    finally:
        _forget_dispatch(ops)


def capture(
    entry: Entry, example: list[torch.Tensor], signature: Signature
) -> tuple[torch.export.ExportedProgram, shapes.Ranges]:
    """`torch.export.export` of ``entry`` on ``example`` with dynamic batch and free
    axes; returns the program and the length ranges the free axes were given.

    When the capture needs a range for a free axis (``axis1 >= 5``), it is retried
    with that range; when it fixes an axis to one size, the error names the layer."""
    ranges: shapes.Ranges = {}

    def run() -> torch.export.ExportedProgram:
        with quiet(), while_loop_rnns():
            return torch.export.export(
                entry, tuple(example), dynamic_shapes=(signature.dynamic_shapes(ranges),), strict=False
            )

    for _ in range(5):
        try:
            return run(), ranges
        except Exception as e:  # noqa: BLE001 - retried with a range, or translated into an error naming the layer
            merged = shapes.narrowed(e, ranges)
            if merged is None or merged == ranges:
                layer = shapes.layer_fixing_a_size(entry, run) if shapes.fixes_a_size(e) else None
                raise unsupported(e, entry, "torch.export", layer) from e
            ranges = merged
    raise ExportError(f"torch.export kept asking for narrower ranges of the free axes ({ranges}); pass `input_signature` with fixed sizes.")


def save_program(
    program: torch.export.ExportedProgram, path: str | os.PathLike, extra_files: dict[str, str] | None = None
) -> None:
    """Saves ``program`` with `torch.export.save` (``extra_files`` go in the archive)."""
    with quiet():
        torch.export.save(program, path, extra_files=extra_files)


def load_runner(path: str | os.PathLike) -> Any:
    """A callable running the saved program: list of arrays -> list of arrays."""
    import numpy as np

    with quiet():
        module = torch.export.load(path).module()

    def run(arrays: list[np.ndarray]) -> list[np.ndarray]:
        with torch.inference_mode(), quiet():
            out = module(*[torch.from_numpy(a) for a in arrays])
        return [t.detach().numpy() for t in flatten_outputs(out)]

    run.module = module  # type: ignore[attr-defined]
    return run
