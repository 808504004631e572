"""`FeedbackTracker`: late-arriving labels joined to past predictions by request id.

The server records each prediction under its request id; when the true label
arrives (``POST /v1/feedback``), the tracker scores that prediction and keeps a
running live accuracy (classifiers) or mean absolute error (regressors), with a
95 % confidence interval, next to the held-out score recorded at save time.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from scipy import stats

from lamina.monitoring import features as feats
from lamina.monitoring.reference import ReferenceProfile

ACCURACY_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy")
MAE_NAMES = ("mae", "mean_absolute_error")


class UnknownRequestError(KeyError):
    """A label arrived for a request id the tracker does not hold."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown request id"


class FeedbackTracker:
    """Live accuracy / mean absolute error from labels that arrive after the predictions.

    Args:
        profile: The model's `ReferenceProfile`, for the task and the held-out score
            (None: pass ``task``). Defaults to `None`.
        capacity: Predictions kept (the oldest are forgotten, with their label).
            Defaults to `100_000`.
        task: ``"classification"``, ``"binary"`` or ``"regression"``; taken from the
            profile when None. Defaults to `None`.

    Example:
        >>> import numpy as np
        >>> tracker = FeedbackTracker(task="classification")
        >>> tracker.record_prediction("r1", np.array([0.1, 0.9]))
        >>> tracker.record_label("r1", 1)
        >>> tracker.summary()["live"]
        1.0
    """

    def __init__(self, profile: ReferenceProfile | None = None, capacity: int = 100_000, task: str | None = None) -> None:
        if profile is not None and not isinstance(profile, ReferenceProfile):
            raise TypeError(f"`profile` must be a `ReferenceProfile` or None. Received: {type(profile).__name__}.")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"`capacity` must be a positive integer. Received: capacity={capacity!r}.")
        task = task or (profile.task if profile is not None else None)
        if task not in ("classification", "binary", "regression"):
            raise ValueError(
                "`FeedbackTracker` needs the task: 'classification', 'binary' or 'regression'. "
                f"Received: task={task!r} (and a profile without one). Pass `task=`."
            )
        self.profile = profile
        self.capacity = capacity
        self.task = task
        self.metric = "mae" if task == "regression" else "accuracy"
        self._transform = profile.prediction_transform if profile is not None else None
        self._predicted: OrderedDict[str, float] = OrderedDict()
        self._scores: dict[str, float] = {}
        self._sum = 0.0
        self._sum_sq = 0.0
        self._lock = threading.Lock()

    def record_prediction(self, request_id: str, prediction_row: Any) -> None:
        """Remembers the prediction made for ``request_id``: one row of model output
        (for a model with several outputs, a dict or list of rows: the first is used)."""
        row = feats.as_array(feats.first_output(prediction_row)).reshape(1, -1)
        values = feats.prediction_values(row, self.task, self._transform)
        value = float(values["value" if self.task == "regression" else "class"][0])
        with self._lock:
            if request_id in self._predicted:
                self._forget_score(request_id)
                self._predicted.move_to_end(request_id)
            self._predicted[request_id] = value
            while len(self._predicted) > self.capacity:
                old, _ = self._predicted.popitem(last=False)
                self._forget_score(old)

    def record_label(self, request_id: str, label: Any) -> None:
        """Scores the prediction of ``request_id`` against its true ``label`` (a class
        index, a one-hot row or a number). A second label for the same id replaces the first.

        Raises:
            UnknownRequestError: (a `KeyError`) if no prediction is held for the id.
            ValueError: if the label is not a number (or a one-hot / probability row).
        """
        truth = self._label_value(label)
        with self._lock:
            if request_id not in self._predicted:
                raise UnknownRequestError(
                    f"No prediction is held for request id {request_id!r}: it was never made, or it is "
                    f"older than the last {self.capacity} predictions. Send feedback with the id "
                    "returned by /v1/predict."
                )
            predicted = self._predicted[request_id]
            score = abs(predicted - truth) if self.metric == "mae" else float(predicted == truth)
            self._forget_score(request_id)
            self._scores[request_id] = score
            self._sum += score
            self._sum_sq += score * score

    def _label_value(self, label: Any) -> float:
        try:
            arr = np.asarray(label, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            arr = np.zeros(0)
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            raise ValueError(
                "A label must be a finite number (a class index, 0/1, or a target value) or a one-hot row. "
                f"Received: label={label!r}."
            )
        if self.metric == "accuracy" and arr.size > 1:
            return float(arr.argmax())
        return float(arr[0])

    def _forget_score(self, request_id: str) -> None:
        old = self._scores.pop(request_id, None)
        if old is not None:
            self._sum -= old
            self._sum_sq -= old * old

    def summary(self) -> dict[str, Any]:
        """``{"labelled", "metric", "live", "live_ci", "reference", "reference_name"}``:
        the live score over the labelled predictions held, its 95 % interval (Wilson
        for accuracy, Student's t for the MAE), and the held-out score at save time."""
        with self._lock:
            n, total, total_sq = len(self._scores), self._sum, self._sum_sq
        live = total / n if n else None
        ci = None
        if n and self.metric == "accuracy":
            ci = _wilson(live, n)
        elif n >= 2:
            var = max(total_sq - n * live * live, 0.0) / (n - 1)
            half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(var / n)
            ci = [max(live - half, 0.0), live + half]
        name, value = (None, None)
        if self.profile is not None:
            name, value = self.profile.held_out_score(MAE_NAMES if self.metric == "mae" else ACCURACY_NAMES)
        return {"labelled": n, "metric": self.metric, "live": live, "live_ci": ci,
                "reference": value, "reference_name": name}


def _wilson(p: float, n: int, z: float = 1.959963984540054) -> list[float]:
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [max(centre - half, 0.0), min(centre + half, 1.0)]
