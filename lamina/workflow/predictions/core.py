"""The `Predictions` class (see the package docstring)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.data.tasks import infer_task, task_from_loss
from lamina.utils import validation
from lamina.workflow import uncertainty
from lamina.workflow.predictions.decode import Decoder, _numpy, loss_of
from lamina.workflow.uncertainty import Interval, McNemarResult

__all__ = ["Predictions", "METRICS", "loss_of"]

#: Error measures: ``"error"`` (1 − accuracy) for classification, ``"mae"`` / ``"rmse"`` for regression.
METRICS = ("error", "mae", "rmse")
_CONFIDENCE = 0.95


class Predictions(Decoder):
    """A model's predictions on one set of examples, decoded for its task.

    Build one from arrays, or with `Predictions.from_model(model, x, y)`.
    Classification outputs may be class scores ``(n, classes)`` (probabilities or
    logits), one score per example for a binary task, or predicted labels;
    regression outputs are values with as many columns as the targets.

    Args:
        y_true: The targets: labels (integers, strings, one-hot rows) or values.
        y_pred: The model's outputs for the same examples.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (decided by
            `lamina.data.infer_task` from the targets, the outputs and the loss).
            Defaults to ``"auto"``.
        loss: The compiled loss (a `Loss` or its name): whether scores are
            logits, and which task. Defaults to `None`.
        name: The set's name, for display (``"dev"``). Defaults to `None`.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        y_true: Labels (1-D) or target values ``(n,)`` / ``(n, k)``.
        y_pred: Predicted labels, or predicted values shaped like `y_true`.
        raw: The model's outputs as given.
        confidence: Probability of the predicted class (scores only), else None.
        n_outputs: Columns of the model's output.
        multi_label: True for several sigmoid outputs with 0/1 targets (each
            example's error is then the share of its labels that are wrong).
        name: The set's name or None.
    """

    def __init__(
        self,
        y_true: Any,
        y_pred: Any,
        *,
        task: str = "auto",
        loss: Any = None,
        name: str | None = None,
    ) -> None:
        owner = "Predictions"
        validation.one_of(owner, "task", task, ("auto", "classification", "regression"))
        y = _numpy(y_true, owner, "y_true")
        raw = _numpy(y_pred, owner, "y_pred")
        if y.ndim == 0 or raw.ndim == 0:
            raise ValueError(
                f"`{owner}` expects one target and one prediction per example (arrays with a first "
                f"axis). Received: y_true of shape {y.shape}, y_pred of shape {raw.shape}."
            )
        if len(y) != len(raw):
            raise ValueError(
                f"`{owner}` expects one prediction per target. Received: {len(raw)} predictions and "
                f"{len(y)} targets{'' if name is None else f' in the {name} set'}."
            )
        if len(y) == 0:
            raise ValueError(f"`{owner}` needs at least one example. Received empty arrays.")
        self.name = name
        self._y_given = y
        self.raw = raw
        self.loss = loss
        self.n_outputs = int(raw.shape[1]) if raw.ndim == 2 else 1
        self.task = infer_task(y, raw, loss) if task == "auto" else task
        self.multi_label = False
        self.confidence: np.ndarray | None = None
        if self.task == "regression":
            self._decode_regression(y, raw, owner)
        else:
            self._decode_classification(y, raw, owner)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_model(
        cls,
        model: Any,
        x: Any,
        y: Any,
        *,
        task: str = "auto",
        batch_size: int = 256,
        name: str | None = None,
        owner: str = "Predictions.from_model",
    ) -> Predictions:
        """Runs ``model.predict(x)`` once and decodes the outputs against ``y``.

        Args:
            model: A trained model with `predict` (one output).
            x: The inputs.
            y: The targets.
            task: ``"classification"``, ``"regression"`` or ``"auto"``. Defaults to ``"auto"``.
            batch_size: Batch size for `predict`. Defaults to 256.
            name: The set's name. Defaults to `None`.
            owner: The function named in error messages. Defaults to ``"Predictions.from_model"``.
        """
        if not callable(getattr(model, "predict", None)):
            raise TypeError(
                f"`{owner}` expects a trained model with `predict`. Received: model of type "
                f"{type(model).__name__}."
            )
        validation.positive_int(owner, "batch_size", batch_size)
        y_pred = model.predict(x, batch_size=batch_size, verbose=0)
        if isinstance(y_pred, (list, tuple, dict)):
            raise ValueError(
                f"`{owner}` supports models with one output. Received a model with {len(y_pred)} "
                "outputs. Build `Predictions(y, y_pred)` for each output instead."
            )
        return cls(y, y_pred, task=task, loss=loss_of(model), name=name)

    @classmethod
    def of(
        cls,
        model_or_predictions: Any,
        x: Any,
        y: Any,
        *,
        task: str = "auto",
        batch_size: int = 256,
        name: str | None = None,
        owner: str = "Predictions",
    ) -> Predictions:
        """A `Predictions` from whatever a workflow function was given: a `Predictions`
        (returned as is, re-decoded when ``task`` differs), a model (run on ``x``) or
        an array of outputs."""
        if isinstance(model_or_predictions, Predictions):
            p = model_or_predictions
            if task not in ("auto", p.task):
                return cls(
                    p._targets_for_redecode(), p.raw, task=task, loss=p.loss, name=p.name or name
                )
            return p
        if model_or_predictions is None:
            raise TypeError(
                f"`{owner}` expects a trained model or its predictions. Received: None."
            )
        if callable(getattr(model_or_predictions, "predict", None)):
            if x is None:
                raise ValueError(
                    f"`{owner}` needs the inputs `x` to run the model. Received: x=None. Pass the "
                    "inputs, or pass the predictions instead of the model."
                )
            return cls.from_model(
                model_or_predictions, x, y, task=task, batch_size=batch_size, name=name, owner=owner
            )
        if y is None:
            raise ValueError(f"`{owner}` needs the targets `y`. Received: y=None.")
        return cls(y, model_or_predictions, task=task, name=name)

    def _targets_for_redecode(self) -> np.ndarray:
        return self._y_given

    # ------------------------------------------------------------------ per-example errors
    def __len__(self) -> int:
        return len(self.y_true)

    @property
    def n(self) -> int:
        """Number of examples."""
        return len(self.y_true)

    @property
    def correct(self) -> np.ndarray:
        """Per-example correctness (classification; multi-label: all labels right)."""
        self._need("classification", "correct")
        if self.multi_label:
            return np.all(self.y_true == self.y_pred, axis=1)
        return np.asarray(self.y_true == self.y_pred, dtype=bool).reshape(self.n)

    @property
    def errors(self) -> np.ndarray:
        """The error of each example: 0/1 for classification (multi-label: the share
        of wrong labels), the absolute error for regression (averaged over outputs)."""
        if self.task == "classification":
            if self.multi_label:
                return np.mean(self.y_true != self.y_pred, axis=1).astype(np.float64)
            return (~self.correct).astype(np.float64)
        diff = np.abs(np.asarray(self.y_pred) - np.asarray(self.y_true))
        return diff.reshape(self.n, -1).mean(axis=1)

    @property
    def squared_errors(self) -> np.ndarray:
        """The squared error of each example, averaged over outputs (regression)."""
        self._need("regression", "squared_errors")
        diff = np.asarray(self.y_pred) - np.asarray(self.y_true)
        return (diff**2).reshape(self.n, -1).mean(axis=1)

    def _need(self, task: str, what: str) -> None:
        if self.task != task:
            raise ValueError(
                f"`Predictions.{what}` is for {task}. Received: predictions of a {self.task} task. "
                f"Build the predictions with task='{task}' if that is what they are."
            )

    # ------------------------------------------------------------------ errors with intervals
    def default_metric(self) -> str:
        """``"error"`` for classification, ``"mae"`` for regression."""
        return "error" if self.task == "classification" else "mae"

    def _metric(self, metric: str, owner: str) -> str:
        validation.one_of(owner, "metric", metric, ("auto",) + METRICS)
        metric = self.default_metric() if metric == "auto" else metric
        if (metric == "error") != (self.task == "classification"):
            allowed = "'error'" if self.task == "classification" else "'mae' or 'rmse'"
            raise ValueError(
                f"`{owner}` expects metric {allowed} for {self.task}. Received: metric={metric!r}."
            )
        return metric

    def _values(self, metric: str) -> tuple[np.ndarray, str]:
        if metric == "rmse":
            return self.squared_errors, "root_mean"
        return self.errors, "mean"

    def error(self, metric: str = "auto") -> float:
        """The error on this set: 1 − accuracy, the MAE or the RMSE."""
        metric = self._metric(metric, "Predictions.error")
        values, stat = self._values(metric)
        mean = float(values.mean())
        return float(np.sqrt(mean)) if stat == "root_mean" else mean

    def error_interval(
        self,
        metric: str = "auto",
        *,
        confidence: float = _CONFIDENCE,
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> Interval:
        """The error with its interval: Wilson score for an error rate, a seeded
        percentile bootstrap for the MAE / RMSE (and multi-label error rates)."""
        metric = self._metric(metric, "Predictions.error_interval")
        if metric == "error" and not self.multi_label:
            return uncertainty.wilson_interval(int((~self.correct).sum()), self.n, confidence)
        values, stat = self._values(metric)
        return uncertainty.bootstrap_mean_interval(
            values, statistic=stat, n_resamples=n_resamples, confidence=confidence, seed=seed
        )

    def gap(
        self,
        other: Predictions,
        metric: str = "auto",
        *,
        confidence: float = _CONFIDENCE,
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> Interval:
        """``other``'s error minus this set's error, as an interval, for two
        independent sets (the gaps of a diagnosis: dev − train-dev, ...): Newcombe's
        interval for error rates, an independent bootstrap otherwise."""
        if not isinstance(other, Predictions) or other.task != self.task:
            raise TypeError(
                "`Predictions.gap` expects the `Predictions` of another set of the same task. Received: "
                f"{type(other).__name__}"
                + (f" of a {other.task} task" if isinstance(other, Predictions) else "")
                + "."
            )
        metric = self._metric(metric, "Predictions.gap")
        if metric == "error" and not (self.multi_label or other.multi_label):
            e_other, e_self = int((~other.correct).sum()), int((~self.correct).sum())
            return uncertainty.difference_interval(e_other, other.n, e_self, self.n, confidence)
        a, stat = other._values(metric)
        b, _ = self._values(metric)
        return uncertainty.bootstrap_mean_difference(
            a, b, statistic=stat, n_resamples=n_resamples, confidence=confidence, seed=seed
        )

    def compare(
        self,
        other: Predictions,
        metric: str = "auto",
        *,
        confidence: float = _CONFIDENCE,
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> Interval | McNemarResult:
        """This model against ``other`` on the same examples (paired).

        Classification (single label): McNemar's exact test, whose ``difference``
        is ``other``'s error minus this one's (positive: this model is better).
        Regression and multi-label: a paired bootstrap interval of the same difference.
        """
        if not isinstance(other, Predictions) or other.task != self.task or other.n != self.n:
            raise ValueError(
                "`Predictions.compare` expects the `Predictions` of another model on the same examples "
                f"(same task, same number of examples). Received: {type(other).__name__}"
                + (
                    f" ({other.task}, n={other.n}) for ({self.task}, n={self.n})"
                    if isinstance(other, Predictions)
                    else ""
                )
                + "."
            )
        if not np.array_equal(np.asarray(self.y_true), np.asarray(other.y_true)):
            raise ValueError(
                "`Predictions.compare` compares two models on the same examples, but the targets differ. "
                "Predict both models on one set, in the same order."
            )
        metric = self._metric(metric, "Predictions.compare")
        if metric == "error" and not (self.multi_label or other.multi_label):
            return uncertainty.mcnemar_test(self.correct, other.correct, confidence)
        a, stat = other._values(metric)
        b, _ = self._values(metric)
        return uncertainty.bootstrap_mean_difference(
            a,
            b,
            paired=True,
            statistic=stat,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )

    def subset(self, index: Any, name: str | None = None) -> Predictions:
        """The predictions of the examples selected by ``index`` (a boolean mask or indices)."""
        idx = np.asarray(index)
        if idx.dtype == bool and idx.shape != (self.n,):
            raise ValueError(
                f"`Predictions.subset` expects a mask of {self.n} booleans. Received shape {idx.shape}."
            )
        sub = object.__new__(Predictions)
        sub.__dict__.update(self.__dict__)
        sub.name = self.name if name is None else name
        sub.raw = self.raw[idx]
        sub._y_given = self._y_given[idx]
        sub.y_true = np.asarray(self.y_true)[idx]
        sub.y_pred = np.asarray(self.y_pred)[idx]
        sub.confidence = None if self.confidence is None else self.confidence[idx]
        if sub.y_true.shape[0] == 0:
            raise ValueError("`Predictions.subset` selected no example. Select at least one.")
        return sub

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary: the task, the set size and the error with its interval."""
        return {
            "name": self.name,
            "task": self.task,
            "n": self.n,
            "metric": self.default_metric(),
            "multi_label": self.multi_label,
            "error": self.error_interval().to_dict(),
        }

    def __str__(self) -> str:
        label = f"{self.name} set" if self.name else "predictions"
        return f"{label} ({self.task}): {self.default_metric()} {self.error_interval()}"

    def __repr__(self) -> str:
        return f"<Predictions {self.name or ''} task={self.task} n={self.n}>"


def task_of(model: Any) -> str | None:
    """The task the model's compiled loss implies, or None."""
    return task_from_loss(loss_of(model))
