"""Confusion-count metrics: :class:`Precision` and :class:`Recall` at one or more
thresholds, and the weighted counts :class:`TruePositives`,
:class:`FalsePositives`, :class:`TrueNegatives` and :class:`FalseNegatives`.

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

from lamina.metrics.base import Metric
from lamina.metrics.utils import _broadcast_weights, _divide_no_nan, _labels_like
from lamina.utils import validation


def _check_thresholds(owner: str, thresholds: Any) -> list[float]:
    if thresholds is None:
        return [0.5]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    if not values:
        raise ValueError(
            f"`{owner}` expects `thresholds` to be a number or a non-empty list of numbers. "
            f"Received: thresholds={thresholds!r}."
        )
    for value in values:
        validation.number(owner, "thresholds", value)
    return [float(v) for v in values]


class _ConfusionMetric(Metric):
    """Shared state of :class:`Precision` and :class:`Recall`: counts per threshold."""

    def __init__(
        self,
        thresholds: Any = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        owner = type(self).__name__
        values = _check_thresholds(owner, thresholds)
        if class_id is not None:
            validation.non_negative_int(owner, "class_id", class_id)
        super().__init__(name=name, dtype=dtype)
        self.thresholds = thresholds
        self.class_id = class_id
        self._threshold_values = torch.tensor(values, dtype=torch.float32)
        self._constants.append("_threshold_values")
        for state in ("true_positives", "false_positives", "false_negatives"):
            self.add_state(state, (len(values),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch; entries with ``y_true != 0`` are positives, ``y_pred > t`` predicted ones.

        Integer labels against multi-column scores are one-hot encoded first.
        """
        y_true, y_pred = self._inputs(y_true, y_pred)
        y_true, y_pred = _labels_like(self.name, y_true, y_pred)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        dtype = self._state_dtype
        if sample_weight is None:
            w = torch.ones(y_pred.shape, dtype=dtype, device=y_pred.device)
        else:
            w = _broadcast_weights(self.name, sample_weight, y_pred.to(dtype))
        w = w.reshape(-1).to(dtype)
        positive = (y_true.reshape(-1) != 0).to(dtype)
        predicted = (y_pred.reshape(1, -1) > self._threshold_values.view(-1, 1)).to(dtype)
        self.true_positives += predicted @ (w * positive)
        self.false_positives += predicted @ (w * (1 - positive))
        self.false_negatives += (1 - predicted) @ (w * positive)

    def _maybe_scalar(self, values: torch.Tensor) -> torch.Tensor:
        return values if isinstance(self.thresholds, (list, tuple)) else values[0]

    def get_config(self) -> dict[str, Any]:
        thresholds = (
            list(self.thresholds) if isinstance(self.thresholds, tuple) else self.thresholds
        )
        return {"thresholds": thresholds, "class_id": self.class_id, **super().get_config()}


class Precision(_ConfusionMetric):
    """Precision, ``tp / (tp + fp)``, over all entries (or one class).

    Every entry of ``y_pred`` is a prediction (Keras semantics): for one-hot
    or multi-label outputs the entries are flattened unless ``class_id`` picks
    a column. Integer labels against multi-column scores are one-hot encoded.

    Args:
        thresholds: A threshold, or a list of them (then ``result()`` has one
            value per threshold); ``y_pred > threshold`` is a positive
            prediction. Use `0.0` for logits. Defaults to `None` (0.5).
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `"precision"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self,
        thresholds: Any = None,
        class_id: int | None = None,
        name: str = "precision",
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        return self._maybe_scalar(_divide_no_nan(tp, tp + self.false_positives))


class Recall(_ConfusionMetric):
    """Recall, ``tp / (tp + fn)``, over all entries (or one class).

    Args:
        thresholds: A threshold, or a list of them (then ``result()`` has one
            value per threshold); ``y_pred > threshold`` is a positive
            prediction. Use `0.0` for logits. Defaults to `None` (0.5).
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `"recall"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self,
        thresholds: Any = None,
        class_id: int | None = None,
        name: str = "recall",
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        return self._maybe_scalar(_divide_no_nan(tp, tp + self.false_negatives))


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
