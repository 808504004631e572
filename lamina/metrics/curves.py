"""Metrics read from counts at many thresholds: :class:`AUC` (area under the ROC
or precision-recall curve) and the operating points :class:`SensitivityAtSpecificity`,
:class:`SpecificityAtSensitivity`, :class:`PrecisionAtRecall` and
:class:`RecallAtPrecision`.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.AUC()
>>> m.update_state(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.4, 0.35, 0.8]))
>>> m.result()
tensor(0.7500)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import losses
from lamina.metrics.base import Metric
from lamina.metrics.utils import _broadcast_weights, _divide_no_nan, _labels_like
from lamina.utils import validation


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at fixed thresholds.

    As in Keras, predictions are bucketed against ``num_thresholds`` evenly
    spaced thresholds in ``[0, 1]``; true/false positive/negative counts per
    threshold accumulate on the device, and the area is a Riemann sum over
    them (``"interpolation"``: trapezoids for ROC and the Davis & Goadrich
    interpolation for PR). All entries are pooled (micro-average); integer
    labels against multi-column scores are one-hot encoded.

    Args:
        num_thresholds: Number of thresholds, > 1; more is closer to the exact
            area. Defaults to `200`.
        curve: ``"ROC"`` or ``"PR"``. Defaults to `"ROC"`.
        summation_method: ``"interpolation"``, ``"minoring"`` (lower sum) or
            ``"majoring"`` (upper sum). Defaults to `"interpolation"`.
        name: Defaults to `"auc"`.
        dtype: See :class:`Metric`. Defaults to `None`.
        from_logits: Whether ``y_pred`` holds logits (a sigmoid is applied).
            Defaults to `False`.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str = "auc",
        dtype: Any = None,
        from_logits: bool = False,
    ):
        validation.positive_int("AUC", "num_thresholds", num_thresholds)
        validation.number("AUC", "num_thresholds", num_thresholds, low=1, low_inclusive=False)
        validation.one_of("AUC", "curve", curve, ("ROC", "PR"))
        validation.one_of(
            "AUC", "summation_method", summation_method, ("interpolation", "minoring", "majoring")
        )
        validation.boolean("AUC", "from_logits", from_logits)
        super().__init__(name=name, dtype=dtype)
        self.num_thresholds = num_thresholds
        self.curve = curve
        self.summation_method = summation_method
        self.from_logits = from_logits
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._threshold_values = torch.tensor([-losses.EPSILON, *inner, 1.0 + losses.EPSILON])
        self._constants.append("_threshold_values")
        for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_state(state, (num_thresholds,))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        y_true, y_pred = _labels_like(self.name, y_true, y_pred)
        dtype = self._state_dtype
        scores = y_pred.float()
        if self.from_logits:
            scores = torch.sigmoid(scores)
        truth = y_true.reshape(-1).to(dtype)
        if sample_weight is None:
            w = torch.ones_like(truth)
        else:
            w = _broadcast_weights(self.name, sample_weight, scores.to(dtype)).reshape(-1)
        # bucket b = number of thresholds strictly below the score; the score is a
        # positive prediction at threshold j exactly when j < b.
        buckets = torch.bucketize(scores.reshape(-1), self._threshold_values.to(scores.dtype))
        n = self.num_thresholds
        pos = torch.zeros(n + 1, dtype=dtype, device=truth.device).scatter_add_(
            0, buckets, truth * w
        )
        neg = torch.zeros(n + 1, dtype=dtype, device=truth.device).scatter_add_(
            0, buckets, (1 - truth) * w
        )
        pos_above = pos.flip(0).cumsum(0).flip(0)  # [k] = weight of positives in buckets >= k
        neg_above = neg.flip(0).cumsum(0).flip(0)
        self.true_positives += pos_above[1:]
        self.false_positives += neg_above[1:]
        self.false_negatives += pos_above[0] - pos_above[1:]
        self.true_negatives += neg_above[0] - neg_above[1:]

    def _interpolate_pr_auc(self) -> torch.Tensor:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, dp.clamp_min(0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(
            both_positive, _divide_no_nan(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:])
        )
        increment = _divide_no_nan(
            slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0)
        )
        return increment.sum()

    def result(self) -> torch.Tensor:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), _divide_no_nan(tp, tp + fn)
        else:
            x, y = _divide_no_nan(tp, tp + fn), _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum()

    def get_config(self) -> dict[str, Any]:
        return {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "from_logits": self.from_logits,
            **super().get_config(),
        }


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
