"""The checks of `doctor` that compare the targets and the outputs with the loss:
``label_encoding``, ``output_activation`` and ``class_balance``."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.data.tasks import is_one_hot
from lamina.workflow.doctor.report import Check

__all__ = ["IMBALANCE_RATIO", "label_encoding", "output_activation", "class_balance"]

#: Largest over smallest class count from which `class_balance` warns.
IMBALANCE_RATIO = 5.0
CROSSENTROPIES = (
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
)
_NAME = "label_encoding"


def label_encoding(kind: str | None, y: np.ndarray, out: np.ndarray, task: str) -> Check:
    """``label_encoding``: the labels match the loss and do not look off by one.

    Args:
        kind: The loss's ``kind`` (``"sparse_categorical_crossentropy"``, ...,
            ``"regression"``, or None for a custom loss).
        y: The targets.
        out: The model's outputs on the same samples.
        task: ``"classification"`` or ``"regression"``.
    """
    if kind == "sparse_categorical_crossentropy":
        return _sparse_labels(y, out)
    if kind == "categorical_crossentropy":
        return _one_hot_labels(y, out)
    if kind == "binary_crossentropy":
        return _binary_labels(y, out)
    ev = {"y_mean": float(np.mean(y)), "y_std": float(np.std(y)), "task": task}
    if task == "classification" and kind == "regression":
        return Check(
            _NAME,
            "warn",
            "The targets are classes (task='classification') but the loss is a regression loss.",
            ev,
            "Use sparse_categorical_crossentropy (integer labels) or categorical_crossentropy "
            "(one-hot rows) with one output unit per class, or binary_crossentropy with one "
            "sigmoid unit for two classes; pass task='regression' if the targets are quantities.",
        )
    what = "Regression" if kind == "regression" else "Custom"
    return Check(_NAME, "pass", f"{what} loss ({kind}): no label encoding to check.", ev)


def _units(out: np.ndarray) -> int:
    return int(out.shape[-1]) if out.ndim >= 2 else 1


def _integral(y: np.ndarray) -> bool:
    return not np.issubdtype(y.dtype, np.floating) or bool(np.all(y == np.round(y)))


def _sparse_labels(y: np.ndarray, out: np.ndarray) -> Check:
    k = _units(out)
    if k == 1:
        return Check(
            _NAME,
            "fail",
            "The last layer has 1 unit, but sparse_categorical_crossentropy needs one "
            "unit per class.",
            {"output_units": k},
            "Give the last layer one unit per class (with softmax), or for two classes use "
            "Dense(1, activation='sigmoid') with binary_crossentropy.",
        )
    if y.ndim >= 2 and y.shape[-1] == k and y.shape == out.shape:
        return Check(
            _NAME,
            "fail",
            f"The labels look one-hot encoded (shape {y.shape}) but the loss is "
            "sparse_categorical_crossentropy, which expects integer class indices.",
            {"y_shape": list(y.shape), "output_units": k},
            "Use loss='categorical_crossentropy', or pass y.argmax(-1) as labels.",
        )
    if not _integral(y):
        return Check(
            _NAME,
            "fail",
            "sparse_categorical_crossentropy expects integer class indices, but the "
            "labels hold non-integer values.",
            {"y_dtype": str(y.dtype)},
            "Pass integer class indices 0..classes-1.",
        )
    lo, hi = int(np.min(y)), int(np.max(y))
    ev = {"min_label": lo, "max_label": hi, "output_units": k}
    if lo == 1 and hi == k:
        return Check(
            _NAME,
            "fail",
            f"The labels run from 1 to {k} but the model outputs {k} classes "
            f"(indices 0..{k - 1}): the labels look off by one.",
            ev,
            "Class indices start at 0: pass y - 1.",
        )
    if lo < 0 or hi >= k:
        return Check(
            _NAME,
            "fail",
            f"Labels must lie in [0, {k - 1}] for {k} output units. "
            f"Received labels with min={lo}, max={hi}.",
            ev,
            f"Fix the labels, or give the last layer {hi + 1} units if there are {hi + 1} classes.",
        )
    return Check(_NAME, "pass", f"Integer labels in [0, {k - 1}] for {k} output units.", ev)


def _one_hot_labels(y: np.ndarray, out: np.ndarray) -> Check:
    shapes = {"y_shape": list(y.shape), "output_shape": list(out.shape)}
    if y.shape != out.shape:
        if y.ndim == 1 or (y.ndim == 2 and y.shape[-1] == 1):
            return Check(
                _NAME,
                "fail",
                f"The labels are class indices (shape {y.shape}) but the loss is "
                "categorical_crossentropy, which expects one-hot rows.",
                shapes,
                "Use loss='sparse_categorical_crossentropy', or one-hot encode the labels.",
            )
        return Check(
            _NAME,
            "fail",
            f"The labels' shape {y.shape} does not match the outputs' {out.shape}.",
            shapes,
            "Give the last layer one unit per column of y.",
        )
    sums = y.reshape(len(y), -1).sum(-1)
    ev = {
        "min": float(np.min(y)),
        "max": float(np.max(y)),
        "row_sum_min": float(sums.min()),
        "row_sum_max": float(sums.max()),
    }
    if np.min(y) < 0 or np.max(y) > 1 or not np.allclose(sums, 1.0, atol=1e-3):
        return Check(
            _NAME,
            "fail",
            "categorical_crossentropy expects one-hot (or probability) rows "
            "summing to 1, but the labels do not.",
            ev,
            "One-hot encode the class indices (e.g. np.eye(classes)[y]).",
        )
    return Check(_NAME, "pass", f"One-hot rows over {_units(out)} classes.", ev)


def _binary_labels(y: np.ndarray, out: np.ndarray) -> Check:
    ev = {"min": float(np.min(y)), "max": float(np.max(y)), "output_units": _units(out)}
    if y.size != out.size:
        return Check(
            _NAME,
            "fail",
            f"binary_crossentropy needs one 0/1 target per output unit, but y has shape "
            f"{y.shape} and the outputs {out.shape}.",
            ev,
            "For several classes use softmax with sparse_categorical_crossentropy; for "
            "multi-label targets give y one column per output unit.",
        )
    if np.min(y) >= 0 and np.max(y) <= 1:
        return Check(_NAME, "pass", "Targets in [0, 1] for binary crossentropy.", ev)
    values = np.unique(y)
    fix = "binary_crossentropy expects targets in [0, 1]."
    if _integral(y) and len(values) == 2 and values[0] == 1 and values[1] == 2:
        fix += " The labels are 1 and 2: they look off by one; pass y - 1."
    elif _integral(y) and len(values) > 2:
        fix += (
            f" There are {len(values)} distinct labels: for several classes use Dense(classes, "
            "activation='softmax') with sparse_categorical_crossentropy."
        )
    else:
        fix += " Map the two classes to 0 and 1."
    return Check(
        _NAME,
        "fail",
        f"binary_crossentropy targets must lie in [0, 1]. Received targets in "
        f"[{ev['min']:g}, {ev['max']:g}].",
        ev,
        fix,
    )


def output_activation(loss: Any, out: np.ndarray) -> Check:
    """``output_activation``: outputs are probabilities exactly when the loss expects them."""
    name = "output_activation"
    kind, from_logits = getattr(loss, "kind", None), bool(getattr(loss, "from_logits", False))
    if kind not in CROSSENTROPIES:
        return Check(name, "pass", "Not a crossentropy loss: no output activation to check.", {})
    flat = out.reshape(len(out), -1).astype(np.float64)
    ev: dict[str, Any] = {
        "from_logits": from_logits,
        "output_min": float(flat.min()),
        "output_max": float(flat.max()),
    }
    if kind == "binary_crossentropy":
        probs = bool(flat.min() >= 0.0 and flat.max() <= 1.0)
        what = "sigmoid probabilities"
        remove, add = (
            "remove the sigmoid from the last layer",
            "add activation='sigmoid' to the last layer",
        )
    else:
        sums = flat.sum(-1)
        ev.update(row_sum_min=float(sums.min()), row_sum_max=float(sums.max()))
        probs = bool(flat.min() >= 0.0 and np.allclose(sums, 1.0, atol=1e-3))
        what = "softmax probabilities (non-negative, rows sum to 1)"
        remove, add = (
            "remove the softmax from the last layer",
            "add activation='softmax' to the last layer",
        )
    if from_logits and probs and len(flat) >= 8:
        return Check(
            name,
            "fail",
            f"The loss has from_logits=True but the outputs look like {what}.",
            ev,
            f"Either {remove} (recommended: logits are numerically safer) or pass from_logits=False.",
        )
    if not from_logits and not probs:
        return Check(
            name,
            "fail",
            f"The loss has from_logits=False (expects {what}) but the outputs are not.",
            ev,
            f"Either {add}, or pass from_logits=True to the loss.",
        )
    return Check(name, "pass", "Outputs are logits" if from_logits else f"Outputs are {what}.", ev)


def _class_ids(kind: str | None, y: np.ndarray, k: int, task: str) -> np.ndarray | None:
    """Class indices 0..classes-1 of single-label targets (None when not classification)."""
    if kind == "sparse_categorical_crossentropy":
        return y.reshape(-1).astype(np.int64)
    if kind == "categorical_crossentropy":
        return y.reshape(len(y), -1).argmax(-1)
    if kind == "binary_crossentropy" and k == 1:
        return (y.reshape(-1) >= 0.5).astype(np.int64)
    if task != "classification" or kind in CROSSENTROPIES:
        return None
    if is_one_hot(y):
        return y.argmax(-1)
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        return np.unique(y.reshape(-1), return_inverse=True)[1].astype(np.int64)
    return None


def class_balance(kind: str | None, y: np.ndarray, k: int, task: str) -> Check:
    """``class_balance``: the majority share and the smallest class of single-label targets."""
    name = "class_balance"
    ids = _class_ids(kind, y, k, task)
    if ids is None:
        what = "Regression" if task == "regression" else "Not single-label classification"
        return Check(name, "pass", f"{what}: class balance not checked.", {})
    classes = max(k if k > 1 else 2, int(ids.max()) + 1)
    counts = np.bincount(ids, minlength=classes)
    total = int(counts.sum())
    present = counts[counts > 0]
    ratio = float(present.max() / present.min())
    ev = {
        "counts": [int(c) for c in counts],
        "majority_share": float(counts.max() / total),
        "smallest_class": int(counts.argmin()),
        "smallest_count": int(counts.min()),
        "imbalance_ratio": ratio,
    }
    absent = [int(i) for i in np.flatnonzero(counts == 0)]
    weights = {int(i): round(total / (len(present) * int(c)), 3) for i, c in enumerate(counts) if c}
    fix = (
        f"Pass class_weight={weights} to fit (inverse class frequency), and judge the model with "
        "metrics beyond accuracy (precision, recall, F1, AUC) and a majority-class baseline."
    )
    if absent:
        return Check(
            name,
            "warn",
            f"Class(es) {absent} have no samples in y.",
            ev,
            "Check that the data covers every class the model outputs. " + fix,
        )
    if ratio >= IMBALANCE_RATIO:
        return Check(
            name,
            "warn",
            f"The classes are imbalanced: the majority class holds "
            f"{100 * ev['majority_share']:.1f}% of the samples; class {ev['smallest_class']} only "
            f"{ev['smallest_count']} (ratio {ratio:.1f}).",
            ev,
            fix,
        )
    return Check(
        name, "pass", f"Classes are reasonably balanced (largest/smallest = {ratio:.2f}).", ev
    )
