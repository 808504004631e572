"""`run_baselines`: fit and score the baselines on one split, keeping their
predictions; `last_value_baseline` for a series."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lamina.data.splits import label_vector, to_numpy
from lamina.data.tasks import resolve_task
from lamina.utils import validation
from lamina.workflow.baselines import models
from lamina.workflow.baselines.models import CLASSICAL, COMMON_SENSE, SVM_MAX_SIZE
from lamina.workflow.baselines.scoring import classification_scores, regression_scores
from lamina.workflow.baselines.table import BaselineRow, BaselineTable
from lamina.workflow.inputs import split_pairs
from lamina.workflow.predictions import Predictions

_OWNER = "run_baselines"


def last_value_baseline(y_series: Any, horizon: int = 1) -> dict[str, float]:
    """Scores the naive forecast "the value ``horizon`` steps later equals the value now".

    For a series `s`, the prediction of `s[t]` is `s[t - horizon]`. This is the
    common-sense baseline of forecasting (Chollet's temperature example): a
    network that does not beat it has learned nothing about the dynamics.

    Args:
        y_series: The series in time order, shape `(time,)` or `(time, features)`.
        horizon: How many steps ahead the forecast looks. Defaults to `1`.

    Returns:
        `{"mae": ..., "rmse": ...}` over all forecastable steps.

    Example:
        >>> import numpy as np
        >>> from lamina.workflow import last_value_baseline
        >>> last_value_baseline(np.array([1.0, 2.0, 4.0, 7.0]))
        {'mae': 2.0, 'rmse': 2.160246899469287}
    """
    validation.positive_int("last_value_baseline", "horizon", horizon)
    series = to_numpy(y_series).astype(np.float64)
    if series.ndim not in (1, 2) or len(series) <= horizon:
        raise ValueError(
            "`last_value_baseline` expects a series of shape (time,) or (time, features) longer "
            f"than `horizon`. Received: shape {series.shape}, horizon={horizon}."
        )
    return {k: float(v) for k, v in regression_scores(series[horizon:], series[:-horizon]).items()}


def _read_data(splits: Any, eval_set: str, pairs: dict[str, Any]) -> tuple[Any, Any, Any, Any, str]:
    """``(x_train, y_train, x_eval, y_eval, eval_name)`` from a `Splits`, a dict,
    keyword pairs or a 4-tuple."""
    validation.one_of(_OWNER, "eval_set", eval_set, ("dev", "test", "train_dev"))
    given = [k for k, v in pairs.items() if v is not None]
    if isinstance(splits, (tuple, list)) and len(splits) == 4 and not given:
        if eval_set != "dev":
            raise ValueError(
                "`run_baselines` picks `eval_set` from a `Splits`; with a tuple it always scores "
                f"on x_eval, y_eval. Received: eval_set={eval_set!r}. Drop `eval_set`, or pass "
                "the set you want as x_eval, y_eval."
            )
        return (*splits, "eval")  # type: ignore[return-value]
    if (
        (splits is None and not given)
        or isinstance(splits, (tuple, list))
        or (splits is not None and not isinstance(splits, Mapping) and not hasattr(splits, "train"))
    ):
        raise TypeError(
            "`run_baselines` expects a `Splits` (from `lamina.data.split`), a dict of (x, y) pairs, "
            "keyword pairs `train=(x, y), dev=(x, y)` or a tuple (x_train, y_train, x_eval, y_eval). "
            f"Received: splits of type {type(splits).__name__}"
            + (f" with {len(splits)} items." if isinstance(splits, (tuple, list)) else ".")
        )
    sets = split_pairs(_OWNER, splits, **pairs)
    available = [k for k, v in sets.items() if v is not None]
    if sets["train"] is None:
        raise ValueError(
            f"`run_baselines` fits the baselines on a training set. Received: the sets {available}. "
            "Pass `train=(x, y)` or a `Splits` with a training set."
        )
    if sets[eval_set] is None:
        raise ValueError(
            f"`run_baselines` was asked to score on the {eval_set} set, which this split does not "
            f"have. Received: eval_set={eval_set!r}, sets {available}. Pass `eval_set=` one of "
            f"them, or `{eval_set}=(x, y)`."
        )
    return (*sets["train"], *sets[eval_set], eval_set)


def _chosen(task: str, include: Sequence[str] | None, series: bool) -> list[str]:
    names = [n for n in COMMON_SENSE[task] if series or n != "last_value"] + list(CLASSICAL[task])
    if include is None:
        return names
    if isinstance(include, str) or not all(isinstance(n, str) for n in include):
        raise TypeError(
            f"`run_baselines` expects `include` to be a list of names. Received: include={include!r}."
        )
    unknown = [n for n in include if n not in names]
    if unknown:
        raise ValueError(
            f"`run_baselines` has no {task} baseline named {', '.join(map(repr, unknown))}. "
            f"Received: include={list(include)!r}. Valid names are: {', '.join(names)}."
        )
    return [n for n in names if n in include]


def _targets(task: str, y_train: Any, y_eval: Any) -> tuple[np.ndarray, np.ndarray]:
    if task == "classification":
        return label_vector(y_train), label_vector(y_eval)
    yt, ye = to_numpy(y_train).astype(np.float64), to_numpy(y_eval).astype(np.float64)
    if yt.ndim == 2 and yt.shape[1] == 1:
        yt, ye = yt[:, 0], ye[:, 0]
    return yt, ye


def _skip_reason(
    name: str, xt: np.ndarray, elapsed: float, time_budget: float | None, svm_max_size: int
) -> str | None:
    if time_budget is not None and elapsed > time_budget:
        return f"time budget of {time_budget:g}s spent ({elapsed:.1f}s elapsed)"
    cells = xt.shape[0] * xt.shape[1]
    if name == "svm_rbf" and cells > svm_max_size:
        return (
            f"{xt.shape[0]:,} samples x {xt.shape[1]:,} features = {cells:,} > "
            f"svm_max_size={svm_max_size:,} (an RBF SVM's cost grows at least "
            "quadratically with the samples)"
        )
    return None


def _predict(
    name: str, task: str, data: dict[str, Any], seed: int, series_feature: int | None
) -> np.ndarray:
    xt, yt, xe, ye = data["xt"], data["yt"], data["xe"], data["ye"]
    if name == "majority_class":
        classes, counts = np.unique(yt, return_counts=True)
        return np.full(len(ye), classes[np.argmax(counts)])
    if name == "mean":
        return np.broadcast_to(yt.mean(axis=0), ye.shape)
    if name == "last_value":
        if ye.ndim != 1:
            raise ValueError(
                "`run_baselines(series=True)` expects one target value per window. "
                f"Received: targets of shape {ye.shape}."
            )
        return models.last_values(data["x_eval"], series_feature)
    model = models.classical_model(name, task, seed, multi_output=yt.ndim == 2)
    model.fit(xt, yt)
    return model.predict(xe)


def _check_arguments(task: str, series: bool, series_feature: int | None) -> None:
    if series and task != "regression":
        raise ValueError(
            "`run_baselines(series=True)` forecasts values, a regression task. "
            f"Received: task={task!r}. Pass task='regression' or drop `series=True`."
        )
    if series_feature is not None and not series:
        raise ValueError(
            "`run_baselines` uses `series_feature` only with `series=True`. "
            f"Received: series_feature={series_feature!r}, series=False."
        )


def run_baselines(
    splits: Any = None,
    task: str = "auto",
    include: Sequence[str] | None = None,
    time_budget: float | None = None,
    seed: int = 0,
    eval_set: str = "dev",
    series: bool = False,
    series_feature: int | None = None,
    svm_max_size: int = SVM_MAX_SIZE,
    *,
    train: Any = None,
    train_dev: Any = None,
    dev: Any = None,
    test: Any = None,
    confidence: float = 0.95,
) -> BaselineTable:
    """Scores common-sense and classical baselines on one split, with one metric and its interval.

    Every baseline is fitted on the training set and scored on the evaluation
    set (by default the dev set: keep the test set for the final report).

    * Common sense: the training set's majority class (classification); the
      training mean (regression); with ``series=True``, also the last value of
      each input window (forecasting).
    * Classical: logistic regression or ridge regression, a random forest,
      histogram gradient boosting and an RBF SVM. Linear models and the SVM see
      features standardised by a `StandardScaler` fitted on the training set
      inside a scikit-learn `Pipeline`. The SVM is skipped, with the reason
      recorded, when `n_train * n_features` exceeds ``svm_max_size`` (its cost
      grows at least quadratically with the samples). Images and sequences are
      flattened; several inputs are concatenated.

    Metrics: accuracy and error rate (classification), MAE and RMSE (regression).
    Each row keeps its `Predictions` on the evaluation set and the interval of the
    primary metric (accuracy: Wilson; MAE: seeded bootstrap), so a network added
    with `table.add_model(name, model)` is compared with the best baseline on the
    same examples (`table.compare(name)`). Each row records its fit-and-predict
    time. On a busy machine with few cores, gradient boosting's OpenMP threads can
    slow each other down badly; run under `threadpoolctl.threadpool_limits(1)` there.

    Args:
        splits: A `Splits` from `lamina.data.split`, a dict of ``(x, y)`` pairs by
            set name, or the tuple `(x_train, y_train, x_eval, y_eval)`. Defaults to
            `None` (pass the sets as keyword pairs).
        task: `"classification"`, `"regression"` or `"auto"` (decided from the
            training targets by `lamina.data.infer_task`). Defaults to `"auto"`.
        include: Names of the baselines to run, e.g. `["majority_class",
            "logistic_regression"]`. Defaults to `None` (all for the task).
        time_budget: Seconds after which the remaining classical models are
            skipped (checked between models; a running fit is not interrupted).
            Defaults to `None` (no limit).
        seed: Seed of the random forest, gradient boosting and logistic regression.
            Defaults to `0`.
        eval_set: Which set to score on: `"dev"`, `"train_dev"` or `"test"`.
            Defaults to `"dev"`.
        series: Whether the inputs are windows of a time series whose target is
            a later value of it; adds the `last_value` baseline. Defaults to `False`.
        series_feature: With `series=True` and several features per time step,
            the index of the forecast feature. Defaults to `None`.
        svm_max_size: Largest `n_train * n_features` for which the SVM runs.
            Defaults to `1_000_000`.
        train, train_dev, dev, test: The sets as ``(x, y)`` pairs, instead of
            ``splits``. Defaults to `None`.
        confidence: Confidence level of the intervals and comparisons. Defaults to 0.95.

    Returns:
        A `BaselineTable`.

    Example:
        >>> from lamina.data import load_wine, split
        >>> from lamina.workflow import run_baselines
        >>> x, y = load_wine()
        >>> table = run_baselines(split(x, y), include=["majority_class", "logistic_regression"])
        >>> [name for name, _ in table.add_model("mlp", 0.5).ranking()]
        ['logistic_regression', 'mlp', 'majority_class']
        >>> print(table.rows[0].interval)
        0.407 (95% CI 0.245 to 0.593, n=27)
    """
    validation.number(
        _OWNER, "time_budget", time_budget, low=0.0, low_inclusive=False, allow_none=True
    )
    validation.non_negative_int(_OWNER, "seed", seed)
    validation.boolean(_OWNER, "series", series)
    validation.positive_int(_OWNER, "svm_max_size", svm_max_size)
    validation.number(
        _OWNER,
        "confidence",
        confidence,
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    x_train, y_train, x_eval, y_eval, eval_name = _read_data(
        splits, eval_set, {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
    )
    task = resolve_task(_OWNER, task, y_train)
    _check_arguments(task, series, series_feature)
    chosen = _chosen(task, include, series)
    xt, xe = models.features(x_train, "x_train"), models.features(x_eval, "x_eval")
    if xt.shape[1] != xe.shape[1]:
        raise ValueError(
            "`run_baselines` expects training and evaluation inputs with the same features. "
            f"Received: {xt.shape[1]} training features, {xe.shape[1]} evaluation features."
        )
    yt, ye = _targets(task, y_train, y_eval)
    for what, xa, ya in (("train", xt, yt), ("eval", xe, ye)):
        if len(xa) != len(ya):
            raise ValueError(
                f"`run_baselines` expects as many {what} targets as {what} inputs. "
                f"Received: {len(xa)} inputs, {len(ya)} targets."
            )
    table = BaselineTable(
        task, eval_name, len(xt), len(xe), x_eval=x_eval, y_eval=y_eval, confidence=confidence
    )
    scorer = classification_scores if task == "classification" else regression_scores
    data = {"xt": xt, "yt": yt, "xe": xe, "ye": ye, "x_eval": x_eval}
    start = time.perf_counter()
    for name in chosen:
        kind = "common-sense" if name in COMMON_SENSE[task] else "classical"
        t0 = time.perf_counter()
        if kind == "classical":
            reason = _skip_reason(name, xt, t0 - start, time_budget, svm_max_size)
            if reason is not None:
                table.rows.append(BaselineRow(name, kind, skipped=reason))
                continue
        pred = _predict(name, task, data, seed, series_feature)
        predictions = Predictions(ye, pred, task=task, name=eval_name)
        table.add_baseline(name, kind, predictions, scorer(ye, pred), time.perf_counter() - t0)
    return table
