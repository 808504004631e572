"""Decoding a model's outputs for its task: class scores (probabilities or
logits), one score per example, predicted labels, multi-label sigmoids, or
regression values; each refused with a clear message when it cannot be read."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.data.tasks import is_one_hot

__all__ = ["Decoder", "loss_of"]


def loss_of(model: Any) -> Any:
    """The model's compiled loss as a `Loss` (None when absent, unknown or one per output)."""
    from lamina import losses as losses_mod

    spec = getattr(model, "loss", None)
    if spec is None or isinstance(spec, (list, tuple, dict)):
        return None
    try:
        return losses_mod.get(spec)
    except (TypeError, ValueError):
        return None


def _numpy(value: Any, owner: str, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy"):
        value = value.to_numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - any conversion failure becomes one clear error
        raise TypeError(
            f"`{owner}` expects `{name}` to be array-like (NumPy, torch, pandas). "
            f"Received: {name} of type {type(value).__name__}."
        ) from e


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _labels(y: np.ndarray) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if is_one_hot(y):
        return y.argmax(axis=1)
    return y.reshape(len(y)) if y.ndim > 1 and y[0].size == 1 else y


class Decoder:
    """The decoding steps of `Predictions` (sets ``y_true``, ``y_pred``,
    ``confidence``, ``n_outputs`` and ``multi_label`` on the instance)."""

    loss: Any
    n_outputs: int
    multi_label: bool
    confidence: np.ndarray | None
    y_true: np.ndarray
    y_pred: np.ndarray

    # ------------------------------------------------------------------ decoding
    def _decode_regression(self, y: np.ndarray, raw: np.ndarray, owner: str) -> None:
        if y.dtype.kind not in "biuf" or raw.dtype.kind not in "biuf":
            raise ValueError(
                f"`{owner}` with task='regression' expects numeric targets and predictions. Received: "
                f"targets of dtype {y.dtype}, predictions of dtype {raw.dtype}. Pass "
                "task='classification' for labels."
            )
        t = y.astype(np.float64).reshape(len(y), -1)
        v = raw.astype(np.float64).reshape(len(raw), -1)
        if t.shape != v.shape:
            raise ValueError(
                f"`{owner}` expects as many predicted values as targets per example. Received: "
                f"predictions of shape {raw.shape}, targets of shape {y.shape}."
            )
        for what, arr in (("targets", t), ("predictions", v)):
            if not np.isfinite(arr).all():
                raise ValueError(
                    f"`{owner}` found {int((~np.isfinite(arr)).sum())} NaN or infinite {what}. "
                    "Check the data and the model (lamina.workflow.doctor) before measuring errors."
                )
        self.y_true, self.y_pred = (t[:, 0], v[:, 0]) if t.shape[1] == 1 else (t, v)

    def _decode_classification(self, y: np.ndarray, raw: np.ndarray, owner: str) -> None:
        from_logits = bool(getattr(self.loss, "from_logits", False))
        kind = getattr(self.loss, "kind", None)
        if raw.ndim == 2 and self.n_outputs > 1 and raw.dtype.kind in "biuf":
            if kind == "binary_crossentropy" or (
                y.shape == raw.shape and not is_one_hot(y) and np.isin(y, (0, 1)).all()
            ):
                self._decode_multi_label(y, raw, from_logits, owner)
                return
            self._decode_scores(_labels(y), raw.astype(np.float64), from_logits, owner)
            return
        truth = _labels(y)
        flat = raw.reshape(len(raw))
        if flat.dtype.kind in "biuUSO" or (
            flat.dtype.kind == "f"
            and np.isfinite(flat).all()
            and np.all(flat == np.round(flat))
            and flat.size
            and (flat.max() > 1 or len(np.unique(truth)) > 2)
        ):
            self.y_true, self.y_pred = truth, flat  # predicted labels
            return
        self._decode_binary(truth, flat.astype(np.float64), from_logits, owner)

    def _decode_scores(
        self, truth: np.ndarray, scores: np.ndarray, from_logits: bool, owner: str
    ) -> None:
        if not np.isfinite(scores).all():
            raise ValueError(
                f"`{owner}` found NaN or infinite class scores. Check the model (lamina.workflow.doctor)."
            )
        looks_like_probs = scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
        probs = _softmax(scores) if from_logits or not looks_like_probs else scores
        if truth.dtype.kind in "iub" and (truth.min() < 0 or truth.max() >= self.n_outputs):
            raise ValueError(
                f"`{owner}` expects labels in 0..{self.n_outputs - 1} for a model with "
                f"{self.n_outputs} outputs. Received: labels from {truth.min()} to {truth.max()}."
            )
        if truth.dtype.kind == "f":
            truth = truth.astype(np.int64)
        self.y_true, self.y_pred = truth, probs.argmax(axis=1)
        self.confidence = probs.max(axis=1)

    def _decode_binary(
        self, truth: np.ndarray, scores: np.ndarray, from_logits: bool, owner: str
    ) -> None:
        if not np.isfinite(scores).all():
            raise ValueError(
                f"`{owner}` found NaN or infinite scores. Check the model (lamina.workflow.doctor)."
            )
        if from_logits or scores.min(initial=0.0) < 0.0 or scores.max(initial=0.0) > 1.0:
            scores = 1.0 / (1.0 + np.exp(-scores))
        pred = (scores > 0.5).astype(np.int64)
        if truth.dtype.kind in "biuf" and not np.isin(truth, (0, 1)).all():
            raise ValueError(
                f"`{owner}` expects 0/1 labels for a model with one score per example. Received "
                f"labels {np.unique(truth)[:10].tolist()}. Use one output per class (softmax), or "
                "pass task='regression' for a quantity."
            )
        self.y_true = truth.astype(np.int64) if truth.dtype.kind in "bf" else truth
        self.y_pred = pred
        self.confidence = np.where(pred == 1, scores, 1.0 - scores)
        self.n_outputs = 2

    def _decode_multi_label(
        self, y: np.ndarray, raw: np.ndarray, from_logits: bool, owner: str
    ) -> None:
        scores = raw.astype(np.float64)
        if y.shape != raw.shape:
            raise ValueError(
                f"`{owner}` expects one 0/1 target per output for a multi-label model. Received: "
                f"targets of shape {y.shape}, predictions of shape {raw.shape}."
            )
        threshold = 0.0 if from_logits else 0.5
        self.multi_label = True
        self.y_true = (y.astype(np.float64) >= 0.5).astype(np.int64)
        self.y_pred = (scores > threshold).astype(np.int64)
