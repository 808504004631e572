"""Scores of the baseline table: metrics from predictions, scores given as numbers
or `evaluate` dicts, the networks' predictions and the metric intervals."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from lamina.workflow import uncertainty
from lamina.workflow.baselines.comparison import metric_interval
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

if TYPE_CHECKING:
    from lamina.workflow.baselines.table import BaselineTable

_ALIASES = {
    "accuracy": ("accuracy",),
    "mae": ("mae", "mean_absolute_error"),
    "rmse": ("rmse", "root_mean_squared_error"),
}
#: How far `(1 - accuracy) * n` may be from a whole number of errors (float32 scores).
_COUNT_TOLERANCE = 0.01


def fmt(metric: str) -> Callable[[float], str]:
    if metric in ("accuracy", "error_rate"):
        return lambda v: f"{v:.4f}"
    return lambda v: f"{v:.4g}"


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    acc = float(np.mean(y_true == y_pred))
    return {"accuracy": acc, "error_rate": 1.0 - acc}


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    err = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape) - y_true
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(math.sqrt(np.mean(err**2)))}


def scores_of(predictions: Predictions) -> dict[str, float | None]:
    """The table's scores of a network from its predictions."""
    if predictions.task == "classification":
        error = predictions.error("error")
        return {"accuracy": 1.0 - error, "error_rate": error}
    return {"mae": predictions.error("mae"), "rmse": predictions.error("rmse")}


def interval_of(predictions: Predictions, metric: str, confidence: float) -> Interval:
    """The interval of the table's primary metric on ``predictions``."""
    return metric_interval(predictions, metric, confidence)


def interval_from_score(
    task: str, scores: Mapping[str, Any], n_eval: int, confidence: float
) -> Interval | None:
    """The Wilson interval of an accuracy given as a number, when it is a whole
    number of errors on the ``n_eval`` evaluation examples; else None."""
    if task != "classification" or n_eval <= 0:
        return None
    errors = (1.0 - float(scores["accuracy"])) * n_eval
    k = round(errors)
    if abs(errors - k) > _COUNT_TOLERANCE:
        return None
    err = uncertainty.wilson_interval(int(k), int(n_eval), confidence)
    method = "wilson (errors counted from the accuracy)"
    return Interval(1.0 - err.estimate, 1.0 - err.high, 1.0 - err.low, err.n, confidence, method)


def _is_score(score: Any) -> bool:
    if isinstance(score, (Mapping, str, bool, int, float, np.number)) or score is None:
        return True
    return getattr(score, "ndim", None) == 0  # a 0-d tensor or array


def predictions_for(
    table: BaselineTable, name: str, given: Any, batch_size: int
) -> Predictions | None:
    """The network's `Predictions` on the table's evaluation set, or None for a score."""
    owner = "BaselineTable.add_model"
    if _is_score(given):
        return None
    if isinstance(given, Predictions):
        p = Predictions.of(given, None, None, task=table.task, owner=owner)
    elif callable(getattr(given, "predict", None)):
        if table.x_eval is None or table.y_eval is None:
            raise ValueError(
                f"`add_model` runs the model {name!r} on the table's evaluation inputs, but this table "
                "does not hold them. Received: a model. Build the table with `run_baselines`, or pass "
                "the model's predictions as a `Predictions`, or its score."
            )
        p = Predictions.from_model(
            given, table.x_eval, table.y_eval, task=table.task, batch_size=batch_size,
            name=table.eval_set, owner=owner,
        )  # fmt: skip
    else:
        if table.y_eval is None:
            raise ValueError(
                f"`add_model` decodes the outputs of {name!r} against the evaluation targets, but this "
                "table does not hold them. Received: an array of outputs. Build the table with "
                "`run_baselines`, or pass a `Predictions`."
            )
        p = Predictions(table.y_eval, given, task=table.task, name=table.eval_set)
    _check_same_examples(table, name, p)
    return p


def _check_same_examples(table: BaselineTable, name: str, p: Predictions) -> None:
    if p.n != table.n_eval:
        raise ValueError(
            f"`add_model` expects the predictions of {name!r} on the table's {table.eval_set} set of "
            f"{table.n_eval} examples. Received: {p.n} predictions. Predict on the same evaluation "
            "examples as the baselines, in the same order."
        )
    ref = next((r.predictions for r in table.rows if r.predictions is not None), None)
    if ref is not None and not np.array_equal(np.asarray(ref.y_true), np.asarray(p.y_true)):
        raise ValueError(
            f"`add_model` expects the predictions of {name!r} on the table's {table.eval_set} set, but "
            "their targets differ from the baselines'. Predict on the same evaluation examples as the "
            "baselines, in the same order."
        )


def scores_from(task: str, metric: str, name: str, score: Any) -> dict[str, float | None]:
    """The scores of a network given as a number or an `evaluate` dict."""
    if isinstance(score, Mapping):
        primary = find(score, metric)
        if primary is None:
            raise ValueError(
                f"`add_model` could not find the {metric!r} score for {name!r}. Received: "
                f"a dict with keys {sorted(score)}. Compile the model with "
                f"metrics=[{metric!r}] or pass the {metric} as a number."
            )
        second = None if task == "classification" else find(score, "rmse")
    else:
        primary, second = score, None
    if isinstance(primary, bool) or not isinstance(primary, (int, float, np.floating, np.integer)):
        try:
            primary = float(primary)  # e.g. a 0-d tensor
        except (TypeError, ValueError):
            raise TypeError(
                "`add_model` expects `score` to be a trained model, its predictions, a number or a "
                f"dict of scores. Received: score={score!r}."
            ) from None
    primary = float(primary)
    if task == "classification":
        if not 0.0 <= primary <= 1.0:
            raise ValueError(
                f"`add_model` expects an accuracy in [0, 1] for {name!r}. Received: "
                f"score={primary!r}. Pass the accuracy, not a loss or a percentage."
            )
        return {"accuracy": primary, "error_rate": 1.0 - primary}
    if not primary >= 0.0:
        raise ValueError(
            f"`add_model` expects a mean absolute error >= 0 for {name!r}. Received: score={primary!r}."
        )
    return {"mae": primary, "rmse": None if second is None else float(second)}


def find(scores: Mapping[str, Any], metric: str) -> Any:
    for key in _ALIASES[metric]:
        if key in scores:
            return scores[key]
    if metric == "accuracy":
        for key, value in scores.items():
            if key.endswith("accuracy"):
                return value
    return None
