"""What the served model predicts: its task, its class names, and answers as JSON.

A model counts as a classifier when its loss is a cross-entropy (or, uncompiled,
when its last layer ends in softmax / sigmoid) and it has one output. Then an
answer carries, per row, the top class (its name when the model knows
``class_names``, else its index) and the class probabilities (softmax or sigmoid
of the outputs when the loss takes logits; a single sigmoid unit gives ``[1 - p, p]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class OutputInfo:
    """The served model's outputs: names, task and how to read class probabilities."""

    names: list[str]
    shapes: list[list[int | None]]
    dtypes: list[str]
    task: str | None = None
    from_logits: bool = False
    class_names: list[str] | None = None

    def to_json(self) -> list[dict[str, Any]]:
        return [{"name": n, "shape": s, "dtype": d} for n, s, d in zip(self.names, self.shapes, self.dtypes)]

    def answer(self, outputs: list[np.ndarray]) -> dict[str, Any]:
        """``predictions`` (and ``classes`` / ``probabilities`` for a classifier) for one request."""
        if len(outputs) == 1:
            out: dict[str, Any] = {"predictions": to_json_list(outputs[0])}
        else:
            out = {"predictions": {n: to_json_list(o) for n, o in zip(self.names, outputs)}}
        if self.task == "classification" and len(outputs) == 1:
            probs = self.probabilities(outputs[0])
            if probs is not None:
                top = probs.argmax(axis=1)
                names = self.class_names
                out["classes"] = [names[i] if names else int(i) for i in top]
                out["probabilities"] = to_json_list(probs)
        return out

    def probabilities(self, y: np.ndarray) -> np.ndarray | None:
        """Class probabilities, shape ``(rows, classes)``, or None when ``y`` is not ``(rows, k)``."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 2:
            return None
        if y.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-y[:, 0])) if self.from_logits else y[:, 0]
            return np.stack([1.0 - p, p], axis=1)
        if self.from_logits:
            z = np.exp(y - y.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        return y


def describe_outputs(model: Any, names: list[str], outputs: list[np.ndarray], profile: Any = None) -> OutputInfo:
    """The `OutputInfo` of ``model``, from one warm-up run's ``outputs``."""
    info = OutputInfo(list(names), [[None, *o.shape[1:]] for o in outputs], [str(o.dtype) for o in outputs])
    task, from_logits = _task_from_loss(getattr(model, "loss", None))
    if task is None:
        task = getattr(profile, "task", None) if profile is not None else None
        if isinstance(profile, dict):
            task = profile.get("task")
    if task == "binary":
        task = "classification"
    if task is None and _ends_in_probabilities(model):
        task = "classification"
    info.task, info.from_logits = task, from_logits
    k = outputs[0].shape[1] if len(outputs) == 1 and outputs[0].ndim == 2 else None
    names_attr = getattr(model, "class_names", None)
    if names_attr is None and profile is not None:
        names_attr = getattr(profile, "class_names", None)
    if names_attr is not None and k is not None and len(list(names_attr)) == max(k, 2):
        info.class_names = [str(c) for c in names_attr]
    return info


def _task_from_loss(loss: Any) -> tuple[str | None, bool]:
    """``(task, from_logits)``: binary and multi-class losses are both "classification" here."""
    from lamina.monitoring.recording import task_from_loss

    task, transform = task_from_loss(loss)
    return ("classification" if task == "binary" else task), transform is not None


def _ends_in_probabilities(model: Any) -> bool:
    layers = getattr(model, "layers", None) or []
    last = layers[-1] if layers else None
    act = getattr(last, "activation", None)
    name = getattr(act, "__name__", None) or (act if isinstance(act, str) else None)
    return name in ("softmax", "sigmoid")


def to_json_list(a: np.ndarray) -> Any:
    """``a.tolist()`` with NaN / infinity as null (JSON has neither)."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        return _nulls(a.tolist())
    return a.tolist()


def _nulls(v: Any) -> Any:
    if isinstance(v, list):
        return [_nulls(x) for x in v]
    return None if isinstance(v, float) and not math.isfinite(v) else v
