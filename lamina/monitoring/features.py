"""Which features a profile watches, and their values for a batch of inputs.

The rule, the same at fit time and at serving time:

* a 1-D input is one feature (named after the input: ``x`` for a single array);
* a 2-D input with at most 256 columns is one feature per column, named
  ``x[3]``, ``<input name>[3]``, or after the DataFrame column when known;
* a wider 2-D input and any higher-rank input (images, sequences) is two
  per-example summaries, ``<name>:mean`` and ``<name>:std`` over all its values,
  instead of thousands of per-position features;
* a dict or list of inputs is each input by the rules above;
* strings are categories, or their length (``<name>:length``) when most values
  differ (free text).

At most `MAX_FEATURES` features are watched (the first ones, in input order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_FEATURES = 256
MAX_COLUMNS = 256
SUMMARIES = ("mean", "std", "length")


@dataclass(frozen=True)
class FeatureSource:
    """Where one feature's values come from: an input (``None`` for the single
    input, a name for a dict, a position for a list), an optional column, and an
    optional per-example summary (``"mean"``, ``"std"`` or ``"length"``)."""

    name: str
    input: str | int | None
    column: int | None
    summary: str | None


def as_array(a: Any) -> np.ndarray:
    """A NumPy array from a NumPy array, a torch tensor (any device) or a list."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):
        a = a.detach().cpu().numpy()
    elif hasattr(a, "to_numpy"):
        a = a.to_numpy()
    return np.asarray(a)


def input_structure(x: Any, input_names: list[str] | None = None) -> dict[str, Any]:
    """``{"structure": "single" | "dict" | "list", "names": [...]}`` for ``x``."""
    if isinstance(x, dict):
        return {"structure": "dict", "names": [str(k) for k in x]}
    if isinstance(x, (list, tuple)):
        names = list(input_names) if input_names and len(input_names) == len(x) else [f"input_{i}" for i in range(len(x))]
        return {"structure": "list", "names": [str(n) for n in names]}
    name = input_names[0] if input_names and len(input_names) == 1 else None
    return {"structure": "single", "names": [name] if name else []}


def plan(x: Any, structure: dict[str, Any], column_names: list[str] | None = None) -> list[FeatureSource]:
    """The features watched for inputs shaped like ``x`` (see the module docstring)."""
    sources: list[FeatureSource] = []
    for key, label, a in _leaves(x, structure):
        arr = as_array(a)
        if arr.ndim <= 1:
            sources.append(_scalar_source(label, key, arr))
        elif arr.ndim == 2 and arr.shape[1] <= MAX_COLUMNS:
            names = column_names if key is None and column_names and len(column_names) == arr.shape[1] else None
            for j in range(arr.shape[1]):
                sources.append(FeatureSource(str(names[j]) if names else f"{label}[{j}]", key, j, None))
        else:
            sources += [FeatureSource(f"{label}:{s}", key, None, s) for s in ("mean", "std")]
        if len(sources) >= MAX_FEATURES:
            break
    return sources[:MAX_FEATURES]


def _scalar_source(label: str, key: str | int | None, arr: np.ndarray) -> FeatureSource:
    strings = arr.dtype.kind in "US" or arr.dtype == object
    if strings and arr.size and len(set(arr.tolist())) > max(50, arr.size // 2):
        return FeatureSource(f"{label}:length", key, None, "length")
    return FeatureSource(label, key, None, None)


def _leaves(x: Any, structure: dict[str, Any]) -> list[tuple[str | int | None, str, Any]]:
    kind, names = structure["structure"], structure["names"]
    if kind == "dict":
        return [(k, k, pick(x, structure, k)) for k in names]
    if kind == "list":
        return [(i, names[i], pick(x, structure, i)) for i in range(len(names))]
    return [(None, names[0] if names else "x", x)]


def pick(x: Any, structure: dict[str, Any], key: str | int | None) -> Any:
    """The input ``key`` of ``x``; a dict is accepted for a list model (by name)
    and a list for a dict model (by position)."""
    if key is None:
        if isinstance(x, dict) and len(x) == 1:
            return next(iter(x.values()))
        if isinstance(x, (list, tuple)) and len(x) == 1:
            return x[0]
        return x
    names = structure["names"]
    if len(names) == 1 and not isinstance(x, (dict, list, tuple)):
        return x  # one named input, passed as a bare array
    if isinstance(x, dict):
        name = key if isinstance(key, str) else names[key]
        if name not in x:
            raise ValueError(
                f"The inputs lack the field {name!r} that the reference profile watches. "
                f"Received fields: {sorted(map(str, x))}. Pass every input the model takes."
            )
        return x[name]
    if isinstance(x, (list, tuple)):
        index = key if isinstance(key, int) else names.index(key)
        if index >= len(x):
            raise ValueError(
                f"The inputs have {len(x)} arrays; the reference profile watches {len(names)} "
                f"({names}). Received: {len(x)} inputs. Pass every input the model takes."
            )
        return x[index]
    raise ValueError(
        f"The model takes several inputs ({names}); pass them as a dict or a list. "
        f"Received: a {type(x).__name__}."
    )


def raw_values(x: Any, structure: dict[str, Any], source: FeatureSource) -> np.ndarray:
    """One value per row of ``x`` for the feature ``source`` (a 1-D array)."""
    arr = as_array(pick(x, structure, source.input))
    n = arr.shape[0] if arr.ndim else 1
    if source.summary == "length":
        return np.char.str_len(arr.reshape(n).astype(str)).astype(np.float64)
    if source.summary in ("mean", "std"):
        flat = arr.reshape(n, -1).astype(np.float64)
        return flat.mean(axis=1) if source.summary == "mean" else flat.std(axis=1)
    if source.column is not None:
        if arr.ndim != 2 or source.column >= arr.shape[1]:
            raise ValueError(
                f"The feature {source.name!r} is column {source.column} of a 2-D input; the input "
                f"received has shape {tuple(arr.shape)}. Pass inputs shaped as in training."
            )
        return arr[:, source.column]
    return arr.reshape(n) if arr.ndim <= 1 or arr.size == n else arr.reshape(n, -1)[:, 0]


def is_categorical(values: np.ndarray) -> bool:
    """Strings, booleans, integers with at most 50 distinct values and integral
    floats with at most 10 are categories; everything else is numeric."""
    kind = values.dtype.kind
    if kind in "USOb":
        return True
    if values.size == 0:
        return False
    distinct = np.unique(values)
    if kind in "iu":
        return len(distinct) <= 50
    finite = distinct[np.isfinite(distinct)]
    return len(finite) <= 10 and bool(np.all(finite == np.round(finite)))


def first_output(predictions: Any) -> Any:
    """The first output of a multi-output model's predictions (a dict, or a list of
    arrays); anything else unchanged."""
    if isinstance(predictions, dict):
        return next(iter(predictions.values()))
    if isinstance(predictions, (list, tuple)) and predictions and all(hasattr(p, "shape") for p in predictions):
        return predictions[0]
    return predictions


def prediction_values(predictions: Any, task: str, transform: str | None) -> dict[str, np.ndarray]:
    """The watched prediction values per row: ``{"class", "confidence"}`` for a
    classifier (argmax and top probability), ``{"value"}`` for regression (the
    first output column). A model with several outputs is watched on its first."""
    predictions = first_output(predictions)
    p = as_array(predictions).astype(np.float64)
    n = p.shape[0] if p.ndim else 1
    p = p.reshape(n, -1)
    if task == "regression":
        return {"value": p[:, 0]}
    if task == "binary":
        prob = p[:, 0]
        if transform == "sigmoid":
            prob = 1.0 / (1.0 + np.exp(-prob))
        return {"class": (prob >= 0.5).astype(np.int64), "confidence": np.maximum(prob, 1.0 - prob)}
    if transform == "softmax":
        z = np.exp(p - p.max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
    return {"class": p.argmax(axis=1).astype(np.int64), "confidence": p.max(axis=1)}


def task_from_outputs(predictions: Any) -> tuple[str, str | None]:
    """``(task, transform)`` guessed from prediction values alone, for monitoring
    a served model that has no targets and no loss: rows of probabilities summing
    to 1 are a classifier, one column in [0, 1] a binary classifier, anything else
    regression. With targets, the rule is `lamina.data.infer_task`."""
    p = prediction_values(predictions, "regression", None)["value"]
    full = as_array(first_output(predictions))
    full = full.reshape(full.shape[0] if full.ndim else 1, -1).astype(np.float64)
    in_unit = bool(np.all((full >= 0) & (full <= 1)))
    if full.shape[1] > 1 and in_unit and np.allclose(full.sum(axis=1), 1.0, atol=1e-3):
        return "classification", None
    if full.shape[1] == 1 and in_unit and len(np.unique(p)) > 2:
        return "binary", None
    return "regression", None
