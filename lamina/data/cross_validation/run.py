"""`cross_validate`: train a fresh model per fold and score it on the held-out fold."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lamina.data.cross_validation.result import CVResult
from lamina.data.splits import label_vector, num_samples, take, to_numpy
from lamina.data.tasks import resolve_task
from lamina.utils import validation

_RESERVED_FIT_KWARGS = ("x", "y")


def _fold_iterators(
    x_len: int, labels: np.ndarray | None, folds: int, repeats: int, shuffle: bool, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    out = []
    for r in range(repeats):
        random_state = seed + r if shuffle else None
        if labels is not None:
            splitter = StratifiedKFold(n_splits=folds, shuffle=shuffle, random_state=random_state)
            out += list(splitter.split(np.zeros(x_len), labels))
        else:
            splitter = KFold(n_splits=folds, shuffle=shuffle, random_state=random_state)
            out += list(splitter.split(np.zeros(x_len)))
    return out


def _resolve_metrics(metrics: Any) -> dict[str, Callable[[Any, Any], float]]:
    if metrics is None:
        return {}
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    elif isinstance(metrics, (list, tuple)):
        items = [(getattr(fn, "__name__", f"metric_{i}"), fn) for i, fn in enumerate(metrics)]
    else:
        items = [(getattr(metrics, "__name__", "metric"), metrics)]
    for name, fn in items:
        if not callable(fn):
            raise TypeError(
                "`cross_validate` expects `metrics` to be functions `fn(y_true, y_pred) -> float` "
                f"(a list, or a dict by name). Received: {name}={fn!r}."
            )
    return dict(items)


def _check_model(model: Any, run: int) -> None:
    if not (hasattr(model, "fit") and hasattr(model, "evaluate")):
        raise TypeError(
            "`cross_validate` expects `build_fn()` to return a compiled Lamina model. "
            f"Received: an object of type {type(model).__name__} (call {run + 1}). Build and "
            "compile the model inside `build_fn` and return it."
        )
    if not getattr(model, "compiled", False):
        raise RuntimeError(
            "`cross_validate` expects `build_fn()` to return a *compiled* model, so each fold "
            f"trains with the same loss and metrics. Received: an uncompiled {type(model).__name__}. "
            "Call `model.compile(...)` inside `build_fn` before returning it."
        )


def cross_validate(
    build_fn: Callable[[], Any],
    x: Any,
    y: Any,
    folds: int = 5,
    repeats: int = 1,
    shuffle: bool = True,
    stratify: bool | None = None,
    seed: int = 0,
    fit_kwargs: dict[str, Any] | None = None,
    metrics: Any = None,
    verbose: int = 1,
    task: str = "auto",
) -> CVResult:
    """K-fold (and iterated K-fold) cross-validation of a Lamina model.

    For each repeat the samples are shuffled (seed ``seed + repeat``) and cut
    into ``folds`` folds; for each fold a fresh model from ``build_fn()`` is
    trained on the other folds (`model.fit(x_train, y_train, **fit_kwargs)`) and
    scored on the held-out fold (`model.evaluate(..., return_dict=True)`). Every
    sample is held out exactly once per repeat. Before each `build_fn()` call
    the global seed is set (`lamina.set_seed(seed + fit_number)`), so a
    cross-validation run repeats exactly.

    Use it on the training data only; keep the test set for the final report.

    Args:
        build_fn: A function with no arguments returning a new compiled model.
            Called ``folds * repeats`` times; never reuse a model across folds.
        x: Inputs (array, tensor, pandas, or a dict / list of those).
        y: Targets, one per sample.
        folds: Number of folds K (at least 2). Defaults to `5`.
        repeats: Number of times the whole K-fold runs, each with a new shuffle
            (iterated K-fold). Needs `shuffle=True` when above 1. Defaults to `1`.
        shuffle: Whether to shuffle before cutting the folds. Defaults to `True`.
        stratify: Whether folds keep the class proportions. None decides from the
            task: stratified for classification, plain for regression. Defaults to `None`.
        seed: Seed of the shuffles and of the models. Defaults to `0`.
        fit_kwargs: Keyword arguments of `model.fit` (`epochs`, `batch_size`,
            `callbacks`, ...). `verbose` defaults to 0 inside. Defaults to `None`.
        metrics: Extra scores computed from `model.predict` on each held-out fold:
            functions `fn(y_true, y_pred) -> float` as a list (named by
            `__name__`) or a dict by name, e.g. `{"auc": sklearn.metrics.roc_auc_score}`.
            Defaults to `None`.
        verbose: 0 silent; 1 one line per fold with its scores, then the mean,
            standard deviation and corrected 95% interval. Defaults to `1`.
        task: `"classification"`, `"regression"` or `"auto"` (decided by
            `lamina.data.infer_task` from `y` and the first model's compiled loss).
            Defaults to `"auto"`.

    Returns:
        A `CVResult`: per-fold `scores`, `fold_indices` and `fold_sizes`, `mean`,
        `std`, `interval(metric)` (Nadeau and Bengio's corrected interval),
        `compare(other, metric)`, `summary()` and `to_dict()`.

    Example:
        >>> import lamina
        >>> from sklearn.datasets import load_iris
        >>> x, y = load_iris(return_X_y=True)
        >>> def build():
        ...     model = lamina.Sequential([lamina.Input(shape=(4,)),
        ...                                lamina.layers.Dense(3, activation="softmax")])
        ...     model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        ...     return model
        >>> result = lamina.data.cross_validate(build, x.astype("float32"), y, folds=3,
        ...                                     fit_kwargs={"epochs": 2}, verbose=0)
        >>> len(result.scores)
        3
    """
    if not callable(build_fn):
        raise TypeError(
            "`cross_validate` expects `build_fn` to be a function returning a compiled model. "
            f"Received: build_fn={build_fn!r}."
        )
    n = _check_arguments(x, y, folds, repeats, shuffle, stratify, seed, verbose)
    fit_kwargs = _fit_kwargs(fit_kwargs)
    extra = _resolve_metrics(metrics)
    validation.one_of("cross_validate", "task", task, ("auto", "classification", "regression"))

    from lamina.runtime import set_seed

    # The first model is built before the folds are cut: its loss tells the task.
    set_seed(seed)
    first = build_fn()
    _check_model(first, 0)
    task = resolve_task("cross_validate", task, y, loss=getattr(first, "loss", None))
    stratify = _stratify(task, stratify, y, folds)
    splits = _fold_iterators(
        n, label_vector(y) if stratify else None, folds, repeats, shuffle, seed
    )

    console = None
    if verbose:
        from rich.console import Console

        console = Console(highlight=False)
    scores: list[dict[str, float]] = []
    histories: list[Any] = []
    for run, (train_idx, held_idx) in enumerate(splits):
        t0 = time.perf_counter()
        if run == 0:
            model = first
        else:
            set_seed(seed + run)
            model = build_fn()
            _check_model(model, run)
        score, history = _fit_and_score(model, x, y, train_idx, held_idx, fit_kwargs, extra)
        scores.append(score)
        histories.append(history)
        if console is not None:
            _print_fold(console, run, folds, repeats, time.perf_counter() - t0, score)
    cv = CVResult(
        scores=scores, fold_indices=splits, folds=folds, repeats=repeats, histories=histories,
        task=task, seed=seed, shuffle=shuffle, stratified=bool(stratify),
    )  # fmt: skip
    if console is not None:
        _print_total(console, cv)
    return cv


def _check_arguments(
    x: Any, y: Any, folds: Any, repeats: Any, shuffle: Any, stratify: Any, seed: Any, verbose: Any
) -> int:
    validation.positive_int("cross_validate", "repeats", repeats)
    validation.boolean("cross_validate", "shuffle", shuffle)
    validation.non_negative_int("cross_validate", "seed", seed)
    validation.one_of("cross_validate", "verbose", verbose, (0, 1))
    if stratify is not None:
        validation.boolean("cross_validate", "stratify", stratify)
    n = num_samples(x)
    n_y = num_samples(y, "y")
    if n != n_y:
        raise ValueError(
            "`cross_validate` expects `x` and `y` to have the same number of samples. "
            f"Received: x with {n} samples, y with {n_y}."
        )
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= n:
        raise ValueError(
            f"`cross_validate` expects `folds` to be an integer between 2 and the number of "
            f"samples ({n}). Received: folds={folds!r}."
        )
    if repeats > 1 and not shuffle:
        raise ValueError(
            "`cross_validate` repeats K-fold with a new shuffle each time, so `repeats` > 1 "
            f"needs `shuffle=True`. Received: repeats={repeats}, shuffle=False."
        )
    return n


def _fit_kwargs(fit_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    fit_kwargs = dict(fit_kwargs or {})
    reserved = [k for k in _RESERVED_FIT_KWARGS if k in fit_kwargs]
    if reserved:
        raise ValueError(
            "`cross_validate` passes each fold's data to `fit` itself, so `fit_kwargs` must not "
            f"hold {', '.join(reserved)}. Received: fit_kwargs keys {sorted(fit_kwargs)}."
        )
    fit_kwargs.setdefault("verbose", 0)
    return fit_kwargs


def _stratify(task: str, stratify: bool | None, y: Any, folds: int) -> bool:
    if stratify is None:
        stratify = task == "classification"
    elif stratify and task == "regression":
        raise ValueError(
            "`cross_validate` can only stratify class labels, and `y` looks like a regression "
            "target (see `lamina.data.infer_task`). Received: stratify=True. Pass "
            "`stratify=False` or `stratify=None`, or task='classification' if `y` holds classes."
        )
    if stratify:
        classes, counts = np.unique(label_vector(y), return_counts=True)
        if counts.min() < folds:
            worst = int(np.argmin(counts))
            raise ValueError(
                f"`cross_validate` cannot stratify {folds} folds: class {classes[worst].item()!r} "
                f"has only {int(counts[worst])} sample(s), so some folds would hold none of it. "
                f"Received: folds={folds}. Lower `folds`, or pass `stratify=False`."
            )
    return stratify


def _fit_and_score(
    model: Any,
    x: Any,
    y: Any,
    train_idx: np.ndarray,
    held_idx: np.ndarray,
    fit_kwargs: dict[str, Any],
    extra: dict[str, Callable[[Any, Any], float]],
) -> tuple[dict[str, float], Any]:
    x_train, y_train = take(x, train_idx), take(y, train_idx)
    x_held, y_held = take(x, held_idx), take(y, held_idx)
    history = model.fit(x_train, y_train, **fit_kwargs)
    result = model.evaluate(x_held, y_held, verbose=0, return_dict=True)
    score = {k: float(v) for k, v in result.items()}
    if extra:
        y_pred = model.predict(x_held, verbose=0)
        y_true = to_numpy(y_held)
        for name, fn in extra.items():
            score[name] = float(fn(y_true, y_pred))
    return score, history


def _print_fold(
    console: Any, run: int, folds: int, repeats: int, seconds: float, score: dict[str, float]
) -> None:
    from lamina.training.callbacks.progress import format_logs

    repeat, fold = divmod(run, folds)
    where = f"Fold {fold + 1}/{folds}" + (
        f" (repeat {repeat + 1}/{repeats})" if repeats > 1 else ""
    )
    console.print(
        f"{where} [{run + 1}/{folds * repeats}] - {seconds:.1f}s - {format_logs(score)}",
        soft_wrap=True,
    )


def _print_total(console: Any, cv: CVResult) -> None:
    mean, std, intervals = cv.mean, cv.std, cv._intervals()
    parts = []
    for k in mean:
        iv = intervals[k]
        ci = "" if iv is None else f" (95% CI {iv.low:.4f} to {iv.high:.4f})"
        parts.append(f"{k}: {mean[k]:.4f} ± {std[k]:.4f}{ci}")
    console.print(f"Mean over {len(cv.scores)} fits - " + " - ".join(parts), soft_wrap=True)
