"""F-scores per class, optionally averaged: :class:`F1Score` and :class:`FBetaScore`."""

from __future__ import annotations

from typing import Any

import torch

from lamina.metrics.base import Metric
from lamina.metrics.utils import _broadcast_weights, _divide_no_nan, _labels_like, _one_hot
from lamina.utils import validation


class F1Score(Metric):
    """F1 score per class, ``2 tp / (2 tp + fp + fn)``, optionally averaged.

    ``y_pred`` has shape ``(batch, num_classes)`` (or ``(batch,)`` / ``(batch, 1)``
    for a binary output). Targets are one-hot (or 0/1 multi-label) rows, or
    integer labels, which are one-hot encoded. A row's predicted classes are
    ``y_pred > threshold``; with ``threshold=None`` it is the top class, except
    for a single column, where 0.5 is used (Keras would predict every row positive).

    Args:
        average: `None` (one score per class), ``"micro"`` (pool the counts),
            ``"macro"`` (mean of the class scores) or ``"weighted"`` (mean
            weighted by class support). Defaults to `None`.
        threshold: Decision threshold, or `None` for the top class. Use `0.0`
            for logits. Defaults to `None`.
        name: Defaults to `"f1_score"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ):
        validation.one_of("F1Score", "average", average, (None, "micro", "macro", "weighted"))
        validation.number("F1Score", "threshold", threshold, allow_none=True)
        super().__init__(name=name, dtype=dtype)
        self.average = average
        self.threshold = threshold
        self._num_classes: int | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        if y_pred.ndim <= 1:
            y_pred = y_pred.reshape(-1, 1)
        y_true, y_pred = _labels_like(self.name, y_true, y_pred)
        num_classes = y_pred.shape[-1]
        if self._num_classes is None:
            self._num_classes = num_classes
            for state in ("true_positives", "false_positives", "false_negatives"):
                self.add_state(state, (num_classes,), device=y_pred.device)
        elif num_classes != self._num_classes:
            raise ValueError(
                f"`{self.name}` was first updated with {self._num_classes} classes, now with "
                f"{num_classes}. Received: y_pred.shape={tuple(y_pred.shape)}."
            )
        dtype = self._state_dtype
        threshold = self.threshold if self.threshold is not None or num_classes > 1 else 0.5
        scores = y_pred.reshape(-1, num_classes)
        if threshold is None:
            predicted = _one_hot(scores.argmax(-1), num_classes, dtype)
        else:
            predicted = (scores > threshold).to(dtype)
        truth = y_true.reshape(-1, num_classes).to(dtype)
        if sample_weight is not None:
            w = _broadcast_weights(self.name, sample_weight, y_pred[..., 0].to(dtype))
            w = w.reshape(-1, 1)
            truth_w, predicted_w = truth * w, predicted * w
        else:
            truth_w, predicted_w = truth, predicted
        self.true_positives += (predicted_w * truth).sum(0)
        self.false_positives += (predicted_w * (1 - truth)).sum(0)
        self.false_negatives += ((1 - predicted) * truth_w).sum(0)

    def result(self) -> torch.Tensor:
        if self._num_classes is None:
            return torch.zeros((), dtype=self._state_dtype)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        f1 = _divide_no_nan(2 * tp, 2 * tp + fp + fn)
        if self.average == "macro":
            return f1.mean()
        if self.average == "weighted":
            support = tp + fn
            return _divide_no_nan((f1 * support).sum(), support.sum())
        return f1

    def get_config(self) -> dict[str, Any]:
        return {"average": self.average, "threshold": self.threshold, **super().get_config()}


class FBetaScore(F1Score):
    """F-beta score per class, ``(1 + b²) tp / ((1 + b²) tp + b² fn + fp)``, optionally averaged.

    ``beta > 1`` favours recall, ``beta < 1`` precision; ``beta = 1`` is the
    F1 score. Inputs, thresholds and averaging are those of :class:`F1Score`.

    Args:
        average: `None`, ``"micro"``, ``"macro"`` or ``"weighted"``. Defaults to `None`.
        beta: The weight of recall, > 0. Defaults to `1.0`.
        threshold: Decision threshold, or `None` for the top class. Defaults to `None`.
        name: Defaults to `"fbeta_score"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.

    Example:

    >>> import torch
    >>> m = FBetaScore(beta=2.0, threshold=0.5, average="micro")
    >>> m.update_state(torch.tensor([[1.0], [1.0], [0.0]]), torch.tensor([[0.9], [0.1], [0.8]]))
    >>> m.result()  # tp=1, fn=1, fp=1: 5 / (5 + 4 + 1)
    tensor(0.5000)
    """

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ):
        validation.number("FBetaScore", "beta", beta, low=0.0, low_inclusive=False)
        super().__init__(average=average, threshold=threshold, name=name, dtype=dtype)
        self.beta = beta

    def result(self) -> torch.Tensor:
        if self._num_classes is None:
            return torch.zeros((), dtype=self._state_dtype)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        b2 = float(self.beta) ** 2
        score = _divide_no_nan((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)
        if self.average == "macro":
            return score.mean()
        if self.average == "weighted":
            support = tp + fn
            return _divide_no_nan((score * support).sum(), support.sum())
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta": self.beta}
