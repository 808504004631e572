"""Confusion-count metrics, as in Keras: :class:`TruePositives`,
:class:`FalsePositives`, :class:`TrueNegatives`, :class:`FalseNegatives`,
:class:`FBetaScore`, and the operating-point metrics
:class:`SensitivityAtSpecificity`, :class:`SpecificityAtSensitivity`,
:class:`PrecisionAtRecall` and :class:`RecallAtPrecision`. Also available as
``lamina.metrics.<name>``.

As everywhere in :mod:`lamina.metrics`, counts accumulate on the device and no
value is read on the host during an update.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.TruePositives()
>>> m.update_state(torch.tensor([0, 1, 1, 1]), torch.tensor([1.0, 0.0, 1.0, 1.0]))
>>> m.result()
tensor(2.)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.metrics import (
    AUC,
    F1Score,
    Metric,
    _broadcast_weights,
    _check_thresholds,
    _divide_no_nan,
)
from lamina.utils import validation

__all__ = [
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "FBetaScore",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "PrecisionAtRecall",
    "RecallAtPrecision",
]


class _ConditionCount(Metric):
    """Weighted count of one confusion-matrix cell, at one or more thresholds."""

    _predicted_positive: bool
    _actual_positive: bool

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None):
        values = _check_thresholds(type(self).__name__, thresholds)
        super().__init__(name=name, dtype=dtype)
        self.thresholds = thresholds
        self._threshold_values = torch.tensor(values, dtype=torch.float32)
        self._constants.append("_threshold_values")
        self.add_state("accumulator", (len(values),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch: entries with ``y_true != 0`` are positives, and
        ``y_pred > threshold`` are positive predictions (every entry counts)."""
        y_true, y_pred = self._inputs(y_true, y_pred)
        dtype = self._state_dtype
        scores = y_pred.to(torch.float32)
        if sample_weight is None:
            w = torch.ones(scores.numel(), dtype=dtype, device=scores.device)
        else:
            w = _broadcast_weights(self.name, sample_weight, scores.to(dtype)).reshape(-1)
        actual = (y_true.reshape(-1) != 0).to(dtype)
        if y_true.numel() != scores.numel():
            raise ValueError(
                f"`{self.name}` expects `y_true` and `y_pred` with the same number of entries. "
                f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
            )
        predicted = (scores.reshape(1, -1) > self._threshold_values.view(-1, 1)).to(dtype)
        if not self._predicted_positive:
            predicted = 1.0 - predicted
        if not self._actual_positive:
            actual = 1.0 - actual
        self.accumulator += predicted @ (w * actual)

    def result(self) -> torch.Tensor:
        if isinstance(self.thresholds, (list, tuple)):
            return self.accumulator.clone()
        return self.accumulator[0].clone()

    def get_config(self) -> dict[str, Any]:
        thresholds = (
            list(self.thresholds) if isinstance(self.thresholds, tuple) else self.thresholds
        )
        return {"thresholds": thresholds, **super().get_config()}


class TruePositives(_ConditionCount):
    """Weighted number of true positives: ``y_true != 0`` and ``y_pred > threshold``.

    Args:
        thresholds: A threshold, or a list (then the result has one count per
            threshold). Defaults to `None` (0.5).
        name: Defaults to `None` (``"true_positives"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _predicted_positive, _actual_positive = True, True


class FalsePositives(_ConditionCount):
    """Weighted number of false positives: ``y_true == 0`` and ``y_pred > threshold``.

    Args:
        thresholds: A threshold, or a list. Defaults to `None` (0.5).
        name: Defaults to `None` (``"false_positives"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _predicted_positive, _actual_positive = True, False


class TrueNegatives(_ConditionCount):
    """Weighted number of true negatives: ``y_true == 0`` and ``y_pred <= threshold``.

    Args:
        thresholds: A threshold, or a list. Defaults to `None` (0.5).
        name: Defaults to `None` (``"true_negatives"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _predicted_positive, _actual_positive = False, False


class FalseNegatives(_ConditionCount):
    """Weighted number of false negatives: ``y_true != 0`` and ``y_pred <= threshold``.

    Args:
        thresholds: A threshold, or a list. Defaults to `None` (0.5).
        name: Defaults to `None` (``"false_negatives"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _predicted_positive, _actual_positive = False, True


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


class _AtOperatingPoint(Metric):
    """Counts at ``num_thresholds`` thresholds (those of :class:`AUC`), and the best
    ``dependent`` rate among thresholds whose ``constrained`` rate reaches ``value``."""

    _value_name: str

    def __init__(
        self,
        value: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        owner = type(self).__name__
        validation.number(owner, self._value_name, value, low=0.0, high=1.0)
        validation.positive_int(owner, "num_thresholds", num_thresholds)
        validation.number(owner, "num_thresholds", num_thresholds, low=1, low_inclusive=False)
        if class_id is not None:
            validation.non_negative_int(owner, "class_id", class_id)
        super().__init__(name=name, dtype=dtype)
        self.value = value
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        self._counts = AUC(num_thresholds=num_thresholds, dtype=dtype, name=f"{self.name}_counts")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        if self.class_id is not None:
            if y_true.shape != y_pred.shape and y_true.shape in (
                y_pred.shape[:-1],
                (*y_pred.shape[:-1], 1),
            ):
                y_true = (y_true.reshape(y_pred.shape[:-1]) == self.class_id).to(y_pred.dtype)
            else:
                y_true = y_true[..., self.class_id]
            y_pred = y_pred[..., self.class_id].contiguous()
        self._counts.update_state(y_true, y_pred, sample_weight)

    def reset_state(self) -> None:
        self._counts.reset_state()

    @property
    def variables(self) -> list[torch.Tensor]:
        return self._counts.variables

    def _rates(self) -> dict[str, torch.Tensor]:
        c = self._counts
        tp, fp, tn, fn = c.true_positives, c.false_positives, c.true_negatives, c.false_negatives
        return {
            "sensitivity": _divide_no_nan(tp, tp + fn),
            "specificity": _divide_no_nan(tn, tn + fp),
            "precision": _divide_no_nan(tp, tp + fp),
            "recall": _divide_no_nan(tp, tp + fn),
        }

    def _max_under_constraint(
        self, constrained: torch.Tensor, dependent: torch.Tensor
    ) -> torch.Tensor:
        feasible = constrained >= self.value
        return torch.where(feasible, dependent, torch.zeros_like(dependent)).max().clamp_min(0.0)

    def get_config(self) -> dict[str, Any]:
        return {
            self._value_name: self.value,
            "num_thresholds": self.num_thresholds,
            "class_id": self.class_id,
            **super().get_config(),
        }


class SensitivityAtSpecificity(_AtOperatingPoint):
    """Best sensitivity (recall) among thresholds whose specificity is >= ``specificity``.

    Args:
        specificity: The required specificity, in ``[0, 1]``.
        num_thresholds: Thresholds evenly spaced in ``[0, 1]``, > 1. Defaults to `200`.
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `None` (``"sensitivity_at_specificity"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _value_name = "specificity"

    def __init__(
        self,
        specificity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self) -> torch.Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["specificity"], rates["sensitivity"])


class SpecificityAtSensitivity(_AtOperatingPoint):
    """Best specificity among thresholds whose sensitivity is >= ``sensitivity``.

    Args:
        sensitivity: The required sensitivity, in ``[0, 1]``.
        num_thresholds: Thresholds evenly spaced in ``[0, 1]``, > 1. Defaults to `200`.
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `None` (``"specificity_at_sensitivity"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _value_name = "sensitivity"

    def __init__(
        self,
        sensitivity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self) -> torch.Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["sensitivity"], rates["specificity"])


class PrecisionAtRecall(_AtOperatingPoint):
    """Best precision among thresholds whose recall is >= ``recall``.

    Args:
        recall: The required recall, in ``[0, 1]``.
        num_thresholds: Thresholds evenly spaced in ``[0, 1]``, > 1. Defaults to `200`.
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `None` (``"precision_at_recall"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _value_name = "recall"

    def __init__(
        self,
        recall: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self) -> torch.Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["recall"], rates["precision"])


class RecallAtPrecision(_AtOperatingPoint):
    """Best recall among thresholds whose precision is >= ``precision``.

    Args:
        precision: The required precision, in ``[0, 1]``.
        num_thresholds: Thresholds evenly spaced in ``[0, 1]``, > 1. Defaults to `200`.
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `None` (``"recall_at_precision"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    _value_name = "precision"

    def __init__(
        self,
        precision: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self) -> torch.Tensor:
        rates = self._rates()
        return self._max_under_constraint(rates["precision"], rates["recall"])
