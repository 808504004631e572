"""The served model's input specification, and validation of `/v1/predict` bodies.

A request body is ``{"inputs": rows, "id": optional}`` where ``rows`` is a list
of rows for a single-input model, or ``{"input_name": rows, ...}`` for a model
with several inputs. Every mistake becomes a `ClientError` that names the field
(``inputs[3][2]``, ``inputs.age[0]``), what was expected and what was received;
the app turns it into a 4xx JSON answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_NUMERIC = {"float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8", "bool"}
_MAX_ID_CHARS = 200


class ClientError(Exception):
    """A request the server refuses: answered with ``status`` and a JSON error body.

    Args:
        status: HTTP status code (4xx).
        field: The offending field, e.g. ``"inputs[3][2]"``.
        expected: What the server expects there.
        received: What it got (short).
        message: One sentence with the fix.
    """

    def __init__(self, status: int, field: str, expected: str, received: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.expected, self.received, self.message = status, field, expected, received, message

    def body(self) -> dict[str, Any]:
        return {"error": {"field": self.field, "expected": self.expected, "received": self.received,
                          "message": self.message}}


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, the shape of one row (None for a free axis) and dtype name."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [None, *self.shape], "dtype": self.dtype}

    def example_row(self) -> Any:
        """A valid row of zeros (free axes of length 1), for the warm-up and the OpenAPI example."""
        value: Any = "" if self.dtype == "string" else (False if self.dtype == "bool" else 0)
        for d in reversed(self.shape):
            value = [value] * (d or 1)
        return value


def input_specs(model: Any) -> list[InputSpec]:
    """The model's inputs as `InputSpec`s, from its symbolic inputs (or its build shape)."""
    from lamina.layers.symbolic import dtype_name

    try:
        tensors = list(model.inputs)
    except (AttributeError, ValueError, TypeError):
        tensors = []
    if tensors and all(getattr(t, "shape", None) is not None for t in tensors):
        names = list(getattr(model, "input_names", None) or [])
        if len(names) != len(tensors):
            names = [getattr(t, "name", None) or f"input_{i}" for i, t in enumerate(tensors)]
        return [InputSpec(str(n), tuple(t.shape)[1:], dtype_name(t.dtype)) for n, t in zip(names, tensors)]
    shape = getattr(model, "_build_input_shape", None)
    dtype = dtype_name(model._input_dtype()) if hasattr(model, "_input_dtype") else "float32"
    if isinstance(shape, dict):
        return [InputSpec(str(k), tuple(v)[1:], dtype) for k, v in shape.items()]
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple)) for s in shape):
        return [InputSpec(f"input_{i}", tuple(s)[1:], dtype) for i, s in enumerate(shape)]
    if isinstance(shape, (list, tuple)):
        return [InputSpec("input", tuple(shape)[1:], dtype)]
    raise ValueError(
        f"`lamina serve` needs a model with a known input shape. Received: model '{getattr(model, 'name', model)}' "
        "that was never built. Give it an `Input(shape=...)`, or call it once on data before saving."
    )


def parse_request_id(value: Any) -> str | None:
    """The request's ``id`` as a string (None when absent), or a `ClientError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or len(str(value)) > _MAX_ID_CHARS:
        raise ClientError(422, "id", f"a string of at most {_MAX_ID_CHARS} characters", _describe(value),
                          "Pass `id` as a short string, or leave it out to get one generated.")
    return str(value)


def validate_inputs(inputs: Any, specs: list[InputSpec], body_has_bools: bool = True) -> tuple[dict[str, np.ndarray], int]:
    """Checks the body's ``inputs`` against ``specs``; returns the arrays by input name and the row count.

    Args:
        inputs: The decoded ``inputs`` value of the request body.
        specs: The model's input specs.
        body_has_bools: Whether the raw body may hold JSON booleans (then every
            value is checked one by one, since NumPy would turn them into numbers).
            Defaults to `True`.

    Raises:
        ClientError: Naming the first wrong field.
    """
    names = [s.name for s in specs]
    if isinstance(inputs, dict):
        missing = [n for n in names if n not in inputs]
        extra = [k for k in inputs if k not in names]
        if missing or extra:
            field = f"inputs.{missing[0]}" if missing else f"inputs.{extra[0]}"
            raise ClientError(422, field, f"the keys {names}", f"the keys {list(inputs)[:20]}",
                              f"Key the rows by the model's input names (missing {missing}, unexpected {extra[:20]}).")
        given = [(f"inputs.{s.name}", inputs[s.name], s) for s in specs]
    elif len(specs) == 1:
        given = [("inputs", inputs, specs[0])]
    else:
        raise ClientError(422, "inputs", f"an object keyed by the input names {names}", _describe(inputs),
                          f"This model has {len(specs)} inputs: send {{\"inputs\": {{\"{names[0]}\": [rows], ...}}}}.")
    arrays: dict[str, np.ndarray] = {}
    n_rows = None
    for field, rows, spec in given:
        arr = _to_array(rows, spec, field, body_has_bools)
        if n_rows is not None and len(arr) != n_rows:
            raise ClientError(422, field, f"{n_rows} rows, as the other inputs", f"{len(arr)} rows",
                              "Send the same number of rows for every input.")
        n_rows = len(arr)
        arrays[spec.name] = arr
    assert n_rows is not None
    return arrays, n_rows


def _to_array(rows: Any, spec: InputSpec, field: str, body_has_bools: bool) -> np.ndarray:
    if not isinstance(rows, list) or not rows:
        raise ClientError(422, field, "a non-empty list of rows", _describe(rows),
                          f"Send at least one row, e.g. {{\"inputs\": [{_short(spec.example_row())}]}}.")
    shape = spec.shape
    if len(shape) >= 1 and shape[-1] == 1 and not isinstance(rows[0], list):
        rows = [[r] for r in rows]  # one scalar per row for an input of shape (1,), as Keras accepts
    if not body_has_bools and spec.dtype != "string":  # NumPy would turn numbers into strings: walk those
        arr = _fast_array(rows, spec)
        if arr is not None:
            return arr
    _walk(rows, spec, field)  # raises naming the first wrong value
    arr = _fast_array(rows, spec)
    if arr is None:  # pragma: no cover - the walk accepts only what converts
        raise ClientError(422, field, _expected(spec), "values that do not form an array",
                          "Send rows of the expected shape.")
    return arr


def _fast_array(rows: list, spec: InputSpec) -> np.ndarray | None:
    """The rows as an array of the input's dtype, or None when anything is off."""
    try:
        arr = np.asarray(rows)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != len(spec.shape) + 1 or any(d is not None and d != s for d, s in zip(spec.shape, arr.shape[1:])):
        return None
    if spec.dtype == "string":
        return arr if arr.dtype.kind == "U" else None
    if spec.dtype == "bool":
        return arr if arr.dtype.kind == "b" else None
    if arr.dtype.kind not in "iuf":
        return None
    if spec.dtype.startswith(("int", "uint")):
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            return None
        info = np.iinfo(spec.dtype)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            return None
        return arr.astype(spec.dtype)
    target = "float32" if spec.dtype in ("float16", "bfloat16") else spec.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(target)
    return out if np.isfinite(out).all() else None


def _walk(rows: list, spec: InputSpec, field: str) -> None:
    lengths: dict[int, int] = {}

    def visit(value: Any, depth: int, path: str) -> None:
        if depth < len(spec.shape):
            want = spec.shape[depth]
            if not isinstance(value, list):
                raise ClientError(422, path, f"a list of {want or 'any number of'} values", _describe(value),
                                  f"Each row must have the shape {list(spec.shape)} ({_expected(spec)}).")
            if want is not None and len(value) != want:
                raise ClientError(422, path, f"a list of {want} values", f"a list of {len(value)} values",
                                  f"Each row must have the shape {list(spec.shape)}.")
            if want is None:
                first = lengths.setdefault(depth, len(value))
                if len(value) != first or not value:
                    raise ClientError(422, path, f"a non-empty list of {first} values, as the other rows",
                                      f"a list of {len(value)} values",
                                      "Rows of one request must have equal lengths along a free axis; pad them.")
            for i, v in enumerate(value):
                visit(v, depth + 1, f"{path}[{i}]")
            return
        _check_leaf(value, spec, path)

    for i, row in enumerate(rows):
        visit(row, 0, f"{field}[{i}]")


def _check_leaf(value: Any, spec: InputSpec, path: str) -> None:
    dtype = spec.dtype
    if dtype == "string":
        if not isinstance(value, str):
            raise ClientError(422, path, "a string", _describe(value), "Send text as JSON strings.")
        return
    if dtype == "bool":
        if not isinstance(value, bool):
            raise ClientError(422, path, "true or false", _describe(value), "Send JSON booleans for this input.")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClientError(422, path, f"a number ({dtype})", _describe(value),
                          f"Send JSON numbers for this input ({_expected(spec)}).")
    if isinstance(value, float) and not math.isfinite(value):
        raise ClientError(422, path, "a finite number", _describe(value), "Replace NaN / infinity with a number.")
    if dtype.startswith(("int", "uint")):
        if isinstance(value, float) and value != round(value):
            raise ClientError(422, path, f"an integer ({dtype})", _describe(value),
                              "This input takes integers (e.g. token ids); send whole numbers.")
        info = np.iinfo(dtype)
        if not info.min <= value <= info.max:
            raise ClientError(422, path, f"an integer in [{info.min}, {info.max}]", _describe(value),
                              "Send a value in the range of the input's dtype.")
        return
    limit = float(np.finfo(np.float32 if dtype in ("float32", "float16", "bfloat16") else np.float64).max)
    try:
        magnitude = abs(float(value))
    except OverflowError:  # an integer beyond any float
        magnitude = math.inf
    if not magnitude <= limit:
        raise ClientError(422, path, f"a finite number in {dtype} range", _describe(value),
                          "Send a value within the input dtype's range.")


def _expected(spec: InputSpec) -> str:
    kind = {"string": "strings", "bool": "booleans"}.get(spec.dtype, f"{spec.dtype} numbers")
    return f"rows of shape {list(spec.shape)} holding {kind}"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, (int, float)):
        return f"the number {_short(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    if isinstance(value, dict):
        return f"an object with the keys {_short(list(value)[:10])}"
    return type(value).__name__


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
