"""Baselines to beat: common-sense predictors and classical scikit-learn models.

A network's score means little on its own. `run_baselines` scores, on the same
split and with the same metric, the common-sense baseline (the majority class,
the training mean, or the last value of a series) and a few classical models
(logistic / ridge regression, random forest, gradient boosting, an RBF SVM).
Add the network with `table.add_model(name, score)` and read `table.verdict(name)`.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lamina.data.splits import Splits, _is_multi, infer_task, label_vector, to_numpy
from lamina.utils import validation

#: An RBF SVM is fitted only when n_train * n_features is at most this.
SVM_MAX_SIZE = 1_000_000

_COMMON_SENSE = {
    "classification": ("majority_class",),
    "regression": ("mean", "last_value"),
}
_CLASSICAL = {
    "classification": ("logistic_regression", "random_forest", "gradient_boosting", "svm_rbf"),
    "regression": ("ridge", "random_forest", "gradient_boosting", "svm_rbf"),
}
_PRIMARY = {"classification": "accuracy", "regression": "mae"}
_ALIASES = {
    "accuracy": ("accuracy",),
    "mae": ("mae", "mean_absolute_error"),
    "rmse": ("rmse", "root_mean_squared_error"),
}


@dataclass
class BaselineRow:
    """One line of a `BaselineTable`.

    Attributes:
        name: The model's name (`"majority_class"`, `"random_forest"`, your network's).
        kind: `"common-sense"`, `"classical"` or `"network"`.
        scores: `accuracy` and `error_rate` (classification) or `mae` and `rmse`
            (regression) on the evaluation set; a network may lack the second one.
        fit_seconds: Time to fit and predict, or None (networks, skipped rows).
        skipped: Why the model was not run, or None.
    """

    name: str
    kind: str
    scores: dict[str, float | None] = field(default_factory=dict)
    fit_seconds: float | None = None
    skipped: str | None = None


class BaselineTable:
    """Baseline scores on one evaluation set, to rank a network against.

    Made by `run_baselines`. The primary metric is `accuracy` (higher is better)
    for classification and `mae` (lower is better) for regression.

    Attributes:
        task: `"classification"` or `"regression"`.
        rows: The `BaselineRow`s, in the order they were added.
        eval_set: Name of the evaluation set (e.g. `"dev"`).
        n_train: Training samples the baselines were fitted on.
        n_eval: Samples they were scored on.

    Example:
        >>> table = run_baselines(splits)  # doctest: +SKIP
        >>> table.add_model("mlp", model.evaluate(*splits.dev, return_dict=True))  # doctest: +SKIP
        >>> print(table.verdict("mlp"))  # doctest: +SKIP
    """

    def __init__(self, task: str, eval_set: str, n_train: int, n_eval: int) -> None:
        self.task = task
        self.eval_set = eval_set
        self.n_train = n_train
        self.n_eval = n_eval
        self.rows: list[BaselineRow] = []

    # ------------------------------------------------------------------ properties
    @property
    def metric(self) -> str:
        """The primary metric: `"accuracy"` or `"mae"`."""
        return _PRIMARY[self.task]

    @property
    def higher_is_better(self) -> bool:
        return self.task == "classification"

    @property
    def skipped(self) -> dict[str, str]:
        """Reason per model that was not run, by name."""
        return {r.name: r.skipped for r in self.rows if r.skipped is not None}

    def _score(self, row: BaselineRow) -> float:
        return float(row.scores[self.metric])

    def _ran(self, kinds: Sequence[str] = ("common-sense", "classical", "network")) -> list[BaselineRow]:
        return [r for r in self.rows if r.skipped is None and r.kind in kinds]

    def _best(self, rows: list[BaselineRow]) -> BaselineRow | None:
        if not rows:
            return None
        pick = max if self.higher_is_better else min
        return pick(rows, key=self._score)

    def _row(self, name: str) -> BaselineRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(
            f"`BaselineTable` has no model named {name!r}. Received: name={name!r}. "
            f"The models are: {', '.join(r.name for r in self.rows)}."
        )

    # ------------------------------------------------------------------ public API
    def add_model(self, name: str, score: Any) -> BaselineTable:
        """Adds a network's score so it is ranked with the baselines.

        Score it on the same evaluation set as the baselines (`table.eval_set`).

        Args:
            name: A name not already in the table.
            score: The primary metric as a number (accuracy for classification,
                MAE for regression), or the dict of `model.evaluate(...,
                return_dict=True)` holding an `accuracy` (or `*_accuracy`) entry, or
                `mae` / `mean_absolute_error` (and optionally `rmse`).

        Returns:
            The table, so calls can be chained.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"`add_model` expects `name` to be a non-empty string. Received: name={name!r}.")
        if any(r.name == name for r in self.rows):
            raise ValueError(
                f"`add_model` expects a new name; {name!r} is already in the table. "
                f"Received: name={name!r}. Pick another name."
            )
        scores = self._scores_from(name, score)
        self.rows.append(BaselineRow(name=name, kind="network", scores=scores))
        return self

    def _scores_from(self, name: str, score: Any) -> dict[str, float | None]:
        if isinstance(score, Mapping):
            primary = self._find(score, self.metric)
            if primary is None:
                raise ValueError(
                    f"`add_model` could not find the {self.metric!r} score for {name!r}. Received: "
                    f"a dict with keys {sorted(score)}. Compile the model with "
                    f"metrics=[{self.metric!r}] or pass the {self.metric} as a number."
                )
            second = None if self.task == "classification" else self._find(score, "rmse")
        else:
            primary, second = score, None
        if isinstance(primary, bool) or not isinstance(primary, (int, float, np.floating, np.integer)):
            try:
                primary = float(primary)  # e.g. a 0-d tensor
            except (TypeError, ValueError):
                raise TypeError(
                    f"`add_model` expects `score` to be a number or a dict of scores. "
                    f"Received: score={score!r}."
                ) from None
        primary = float(primary)
        if self.task == "classification":
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

    @staticmethod
    def _find(scores: Mapping[str, Any], metric: str) -> Any:
        for key in _ALIASES[metric]:
            if key in scores:
                return scores[key]
        if metric == "accuracy":
            for key, value in scores.items():
                if key.endswith("accuracy"):
                    return value
        return None

    def ranking(self) -> list[tuple[str, float]]:
        """`(name, primary score)` of every model that ran, best first."""
        rows = sorted(self._ran(), key=self._score, reverse=self.higher_is_better)
        return [(r.name, self._score(r)) for r in rows]

    def best_baseline(self) -> tuple[str, float]:
        """`(name, primary score)` of the best common-sense or classical baseline."""
        best = self._best(self._ran(("common-sense", "classical")))
        if best is None:
            raise ValueError("`best_baseline` found no baseline that ran. Received: an empty table.")
        return best.name, self._score(best)

    def common_sense(self) -> tuple[str, float]:
        """`(name, primary score)` of the best common-sense baseline."""
        best = self._best(self._ran(("common-sense",)))
        if best is None:
            raise ValueError("`common_sense` found no common-sense baseline in the table.")
        return best.name, self._score(best)

    def verdict(self, network_name: str) -> str:
        """Says whether the network beats the best baseline, by how much (absolute and
        relative), and whether it beats the common-sense baseline at all.

        Args:
            network_name: The name given to `add_model`.

        Returns:
            One or two sentences.
        """
        net = self._row(network_name)
        if net.skipped is not None:
            raise ValueError(f"`verdict` cannot judge {network_name!r}: it was skipped ({net.skipped}).")
        others = [r for r in self._ran(("common-sense", "classical")) if r.name != network_name]
        best = self._best(others)
        if best is None:
            raise ValueError("`verdict` needs at least one baseline that ran. Received: none.")
        m = self.metric
        score, ref = self._score(net), self._score(best)
        gain = (score - ref) if self.higher_is_better else (ref - score)
        fmt = _fmt(m)
        if abs(gain) <= 1e-12:
            head = f"{network_name} matches the best baseline, {best.name} ({m} {fmt(score)})."
        else:
            verb, side = ("beats", "better") if gain > 0 else ("does not beat", "worse")
            detail = f"{side} by {fmt(abs(gain))} absolute"
            if ref != 0:
                detail += f", {abs(gain) / abs(ref):.1%} relative"
            if self.task == "classification" and gain > 0 and ref < 1.0:
                detail += f"; error rate {1 - score:.1%} vs {1 - ref:.1%}, {gain / (1.0 - ref):.0%} fewer errors"
            head = (
                f"{network_name} {verb} the best baseline, {best.name}: {m} {fmt(score)} vs "
                f"{fmt(ref)} ({detail})."
            )
        cs = self._best([r for r in self._ran(("common-sense",)) if r.name != network_name])
        if cs is None:
            return head
        cs_score = self._score(cs)
        cs_gain = (score - cs_score) if self.higher_is_better else (cs_score - score)
        if cs_gain > 0:
            if best.kind == "common-sense":
                return head
            tail = f" It beats the common-sense baseline ({cs.name}, {m} {fmt(cs_score)})."
            if gain <= 0:
                tail += (
                    " A classical model does better on this data: tune or regularise the network, "
                    "or prefer the simpler model."
                )
            return head + tail
        return head + (
            f" It does not even beat the common-sense baseline ({cs.name}, {m} {fmt(cs_score)}): "
            "the network has not learned anything useful. Check the labels, the loss, the "
            "learning rate and the input scaling, and try to overfit a small batch first."
        )

    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-able values."""
        return {
            "task": self.task,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "eval_set": self.eval_set,
            "n_train": self.n_train,
            "n_eval": self.n_eval,
            "rows": [asdict(r) for r in self.rows],
        }

    def __str__(self) -> str:
        from rich.console import Console
        from rich.table import Table

        extra = "error_rate" if self.task == "classification" else "rmse"
        table = Table(
            title=f"Baselines on {self.eval_set} ({self.task}: {self.n_train:,} train / "
            f"{self.n_eval:,} eval samples)"
        )
        for col, justify in (("Rank", "right"), ("Model", "left"), ("Kind", "left"),
                             (self.metric, "right"), (extra, "right"), ("Time (s)", "right"),
                             ("Note", "left")):
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        fmt = _fmt(self.metric)
        for rank, (name, _) in enumerate(self.ranking(), start=1):
            r = self._row(name)
            second = r.scores.get(extra)
            table.add_row(
                str(rank), name, r.kind, fmt(self._score(r)),
                "-" if second is None else _fmt(extra)(second),
                "-" if r.fit_seconds is None else f"{r.fit_seconds:.2f}", "",
            )
        for r in self.rows:
            if r.skipped is not None:
                table.add_row("-", r.name, r.kind, "-", "-", "-", f"skipped: {r.skipped}")
        buffer = io.StringIO()
        Console(file=buffer, width=120, color_system=None, force_terminal=False, no_color=True).print(table)
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"BaselineTable(task={self.task!r}, eval_set={self.eval_set!r}, models={[r.name for r in self.rows]})"


def _fmt(metric: str) -> Callable[[float], str]:
    if metric in ("accuracy", "error_rate"):
        return lambda v: f"{v:.4f}"
    return lambda v: f"{v:.4g}"


# ---------------------------------------------------------------------- metrics
def _classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    acc = float(np.mean(y_true == y_pred))
    return {"accuracy": acc, "error_rate": 1.0 - acc}


def _regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    err = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape) - y_true
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(math.sqrt(np.mean(err**2)))}


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
    return {k: float(v) for k, v in _regression_scores(series[horizon:], series[:-horizon]).items()}


# ---------------------------------------------------------------------- models
def _classical_model(name: str, task: str, seed: int, multi_output: bool) -> Any:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    if name == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    if name == "ridge":
        return make_pipeline(StandardScaler(), Ridge())
    if name == "random_forest":
        cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
        return cls(n_estimators=100, random_state=seed)
    if name == "gradient_boosting":
        if task == "classification":
            return HistGradientBoostingClassifier(random_state=seed)
        model = HistGradientBoostingRegressor(random_state=seed)
        return MultiOutputRegressor(model) if multi_output else model
    if name == "svm_rbf":
        if task == "classification":
            return make_pipeline(StandardScaler(), SVC(kernel="rbf"))
        model = make_pipeline(StandardScaler(), SVR(kernel="rbf"))
        return MultiOutputRegressor(model) if multi_output else model
    raise AssertionError(name)  # pragma: no cover - names are validated


def _features(x: Any, what: str) -> np.ndarray:
    """Inputs as a 2-D float matrix: images and sequences are flattened, several
    inputs concatenated."""
    if _is_multi(x):
        values = list(x.values()) if isinstance(x, dict) else list(x)
        return np.concatenate([_features(v, what) for v in values], axis=1)
    arr = to_numpy(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"`run_baselines` expects numeric inputs. Received: {what} of dtype {arr.dtype}. "
            "Encode text or categories first."
        )
    arr = arr.reshape(len(arr), -1).astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"`run_baselines` found NaN or infinite values in {what}. Received: "
            f"{int((~np.isfinite(arr)).sum())} such value(s). Impute or drop them first."
        )
    return arr


def _unpack(data: Any, eval_set: str) -> tuple[Any, Any, Any, Any]:
    validation.one_of("run_baselines", "eval_set", eval_set, ("dev", "test", "train_dev"))
    if isinstance(data, Splits):
        held = getattr(data, eval_set)
        if held is None:
            raise ValueError(
                f"`run_baselines` was asked to score on the {eval_set} set, which this split does "
                f"not have. Received: eval_set={eval_set!r}, sets {list(data.sets())}."
            )
        return (*data.train, *held)
    if isinstance(data, (tuple, list)) and len(data) == 4:
        if eval_set != "dev":
            raise ValueError(
                "`run_baselines` picks `eval_set` from a `Splits`; with a tuple it always scores "
                f"on x_eval, y_eval. Received: eval_set={eval_set!r}. Drop `eval_set`, or pass "
                "the set you want as x_eval, y_eval."
            )
        return tuple(data)  # type: ignore[return-value]
    raise TypeError(
        "`run_baselines` expects a `Splits` (from `lamina.data.split`) or a tuple "
        f"(x_train, y_train, x_eval, y_eval). Received: data of type {type(data).__name__}"
        + (f" with {len(data)} items." if isinstance(data, (tuple, list)) else ".")
    )


def _last_values(x: Any, series_feature: int | None) -> np.ndarray:
    arr = to_numpy(x)
    if arr.ndim == 2:
        return arr[:, -1].astype(np.float64)
    if arr.ndim == 3:
        if series_feature is None:
            if arr.shape[2] != 1:
                raise ValueError(
                    "`run_baselines(series=True)` needs `series_feature`: the inputs have "
                    f"{arr.shape[2]} features per time step. Received: series_feature=None. Pass "
                    "the index of the feature that is being forecast."
                )
            series_feature = 0
        return arr[:, -1, series_feature].astype(np.float64)
    raise ValueError(
        "`run_baselines(series=True)` expects windows of shape (samples, time) or "
        f"(samples, time, features). Received: inputs of shape {arr.shape}."
    )


def run_baselines(
    data: Any,
    task: str = "auto",
    include: Sequence[str] | None = None,
    time_budget: float | None = None,
    seed: int = 0,
    eval_set: str = "dev",
    series: bool = False,
    series_feature: int | None = None,
    svm_max_size: int = SVM_MAX_SIZE,
) -> BaselineTable:
    """Scores common-sense and classical baselines on one split, with one metric.

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
    Each row records its fit-and-predict time. On a busy machine with few cores,
    gradient boosting's OpenMP threads can slow each other down badly; run under
    `threadpoolctl.threadpool_limits(1)` there.

    Args:
        data: A `Splits` from `lamina.data.split`, or `(x_train, y_train, x_eval, y_eval)`.
        task: `"classification"`, `"regression"` or `"auto"` (see
            `lamina.data.infer_task`). Defaults to `"auto"`.
        include: Names of the baselines to run, e.g. `["majority_class",
            "logistic_regression"]`. Defaults to `None` (all for the task).
        time_budget: Seconds after which the remaining classical models are
            skipped (checked between models; a running fit is not interrupted).
            Defaults to `None` (no limit).
        seed: Seed of the random forest, gradient boosting and logistic regression.
            Defaults to `0`.
        eval_set: Which set of a `Splits` to score on: `"dev"`, `"train_dev"` or
            `"test"`. Defaults to `"dev"`.
        series: Whether the inputs are windows of a time series whose target is
            a later value of it; adds the `last_value` baseline. Defaults to `False`.
        series_feature: With `series=True` and several features per time step,
            the index of the forecast feature. Defaults to `None`.
        svm_max_size: Largest `n_train * n_features` for which the SVM runs.
            Defaults to `1_000_000`.

    Returns:
        A `BaselineTable`.

    Example:
        >>> from lamina.data import load_wine, split
        >>> from lamina.workflow import run_baselines
        >>> x, y = load_wine()
        >>> table = run_baselines(split(x, y), include=["majority_class", "logistic_regression"])
        >>> [name for name, _ in table.add_model("mlp", 0.5).ranking()]
        ['logistic_regression', 'mlp', 'majority_class']
    """
    validation.one_of("run_baselines", "task", task, ("auto", "classification", "regression"))
    validation.number("run_baselines", "time_budget", time_budget, low=0.0, low_inclusive=False, allow_none=True)
    validation.non_negative_int("run_baselines", "seed", seed)
    validation.boolean("run_baselines", "series", series)
    validation.positive_int("run_baselines", "svm_max_size", svm_max_size)
    x_train, y_train, x_eval, y_eval = _unpack(data, eval_set)
    if task == "auto":
        task = infer_task(y_train)
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
    names = [n for n in _COMMON_SENSE[task] if series or n != "last_value"] + list(_CLASSICAL[task])
    if include is None:
        chosen = names
    else:
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
        chosen = [n for n in names if n in include]

    xt, xe = _features(x_train, "x_train"), _features(x_eval, "x_eval")
    if xt.shape[1] != xe.shape[1]:
        raise ValueError(
            "`run_baselines` expects training and evaluation inputs with the same features. "
            f"Received: {xt.shape[1]} training features, {xe.shape[1]} evaluation features."
        )
    if task == "classification":
        yt, ye = label_vector(y_train), label_vector(y_eval)
        scorer = _classification_scores
    else:
        yt, ye = to_numpy(y_train).astype(np.float64), to_numpy(y_eval).astype(np.float64)
        if yt.ndim == 2 and yt.shape[1] == 1:
            yt, ye = yt[:, 0], ye[:, 0]
        scorer = _regression_scores
    for what, xa, ya in (("train", xt, yt), ("eval", xe, ye)):
        if len(xa) != len(ya):
            raise ValueError(
                f"`run_baselines` expects as many {what} targets as {what} inputs. "
                f"Received: {len(xa)} inputs, {len(ya)} targets."
            )

    table = BaselineTable(task, eval_set if isinstance(data, Splits) else "eval", len(xt), len(xe))
    start = time.perf_counter()
    for name in chosen:
        t0 = time.perf_counter()
        if name == "majority_class":
            classes, counts = np.unique(yt, return_counts=True)
            pred = np.full(len(ye), classes[np.argmax(counts)])
        elif name == "mean":
            pred = np.broadcast_to(yt.mean(axis=0), ye.shape)
        elif name == "last_value":
            if ye.ndim != 1:
                raise ValueError(
                    "`run_baselines(series=True)` expects one target value per window. "
                    f"Received: targets of shape {ye.shape}."
                )
            pred = _last_values(x_eval, series_feature)
        else:
            elapsed = time.perf_counter() - start
            if time_budget is not None and elapsed > time_budget:
                reason = f"time budget of {time_budget:g}s spent ({elapsed:.1f}s elapsed)"
                table.rows.append(BaselineRow(name, "classical", skipped=reason))
                continue
            cells = xt.shape[0] * xt.shape[1]
            if name == "svm_rbf" and cells > svm_max_size:
                reason = (
                    f"{xt.shape[0]:,} samples x {xt.shape[1]:,} features = {cells:,} > "
                    f"svm_max_size={svm_max_size:,} (an RBF SVM's cost grows at least "
                    "quadratically with the samples)"
                )
                table.rows.append(BaselineRow(name, "classical", skipped=reason))
                continue
            model = _classical_model(name, task, seed, multi_output=yt.ndim == 2)
            model.fit(xt, yt)
            pred = model.predict(xe)
        kind = "common-sense" if name in _COMMON_SENSE[task] else "classical"
        table.rows.append(BaselineRow(name, kind, scorer(ye, pred), time.perf_counter() - t0))
    return table
