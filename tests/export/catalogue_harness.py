"""The checks behind the export catalogue: inputs drawn from an entry's spec and
the comparison of an exported file with `model.predict`.

`compare` checks an exported file independently of `export_model`'s own parity
gate: ONNX Runtime (or `torch.export.load`) runs it on fresh inputs at batch
sizes 1, 2, 7 and 64 and two sequence lengths where the time axis is free, and
each output must equal `model.predict` within the entry's tolerance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

BATCHES = (1, 2, 7, 64)
FIXED_STEPS = 8  # the length drawn when there is no free time axis (unused then)
STEPS = (5, 11)  # the two lengths of a free time axis


@dataclasses.dataclass(frozen=True)
class In:
    """One model input: its shape without the batch axis (``None`` marks the free
    time axis) and how to draw values.

    ``kind``: ``"float"`` (standard normal), ``"image"`` (uniform in [0, 255)),
    ``"tokens"`` (ids in [1, ``high``) right-padded with 0 to a length per row),
    ``"padded"`` (normal features, rows right-padded with all-zero steps),
    ``"ints"`` (ids in [0, ``high``), no padding).
    """

    shape: tuple[int | None, ...]
    kind: str = "float"
    high: int = 0
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    """A catalogue model: ``family`` is the README row it belongs to."""

    name: str
    family: str
    build: Callable[[], Any]
    inputs: tuple[In, ...]
    recurrent: bool = False
    pt2: bool = False

    @property
    def atol(self) -> float:
        return 1e-4 if self.recurrent else 1e-5

    @property
    def free_time(self) -> bool:
        return any(None in spec.shape for spec in self.inputs)


def draw(spec: In, batch: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Values for one input at a given batch size and time length."""
    shape = (batch, *(steps if d is None else d for d in spec.shape))
    if spec.kind == "float":
        return rng.standard_normal(shape).astype("float32")
    if spec.kind == "image":
        return rng.uniform(0, 255, shape).astype("float32")
    if spec.kind == "ints":
        return rng.integers(0, spec.high, shape).astype("int64")
    length = shape[1]
    lengths = rng.integers(1, length + 1, batch)
    lengths[0] = length  # one full row, and the others differ
    keep = np.arange(length)[None, :] < lengths[:, None]
    if spec.kind == "tokens":
        return np.where(keep, rng.integers(1, spec.high, shape), 0).astype("int64")
    if spec.kind == "padded":
        values = rng.standard_normal(shape).astype("float32")
        return values * keep.reshape(*keep.shape, *([1] * (len(shape) - 2))).astype("float32")
    raise ValueError(f"Unknown input kind {spec.kind!r}.")


def draw_all(entry: Entry, batch: int, steps: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [draw(spec, batch, steps, rng) for spec in entry.inputs]


def as_list(out: Any) -> list[np.ndarray]:
    """A model's outputs (one array, a list, a dict) as a list of arrays in order."""
    if isinstance(out, dict):
        out = list(out.values())
    if not isinstance(out, (list, tuple)):
        out = [out]
    return [o.detach().cpu().numpy() if isinstance(o, torch.Tensor) else np.asarray(o) for o in out]


def predict(model: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
    x = arrays[0] if len(arrays) == 1 else list(arrays)
    return as_list(model.predict(x, batch_size=len(arrays[0]), verbose=0))


def compare(
    entry: Entry, model: Any, path: Path, fmt: str, batches: tuple[int, ...] = BATCHES, seed: int = 7
) -> list[str]:
    """Runs the exported file on fresh inputs at ``batches`` (and both lengths of a free
    time axis); returns the mismatches (empty when all agree)."""
    session = None
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    program = None
    if fmt == "torch":
        program = torch.export.load(str(path)).module()
    problems = []
    for steps in STEPS if entry.free_time else (FIXED_STEPS,):
        for batch in batches:
            arrays = draw_all(entry, batch, steps, seed=seed + batch + 1000 * steps)
            expected = predict(model, arrays)
            if fmt == "onnx":
                names = [i.name for i in session.get_inputs()]
                got = session.run(None, dict(zip(names, arrays)))
            else:
                got = as_list(program(*(torch.as_tensor(a) for a in arrays)))
            if len(got) != len(expected):
                problems.append(f"batch={batch} steps={steps}: {len(got)} outputs, expected {len(expected)}")
                continue
            for i, (g, e) in enumerate(zip(got, expected)):
                if g.shape != e.shape:
                    problems.append(f"batch={batch} steps={steps} output {i}: shape {g.shape} != {e.shape}")
                    continue
                diff = float(np.max(np.abs(g.astype("float64") - e.astype("float64")))) if g.size else 0.0
                if not diff <= entry.atol:
                    problems.append(f"batch={batch} steps={steps} output {i}: max |diff| {diff:.3g}")
    return problems
