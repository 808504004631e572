"""`learning_curve`: training and dev error as the training set grows, over several seeds.

Train fresh models on growing subsets of the training set (10%, 25%, 50%,
100%: stratified for classification, each subset inside the next), several
seeds per size, and measure each model's error on its subset and on the whole
dev set. The slope of the dev error, with its interval, answers a costly
question before anyone collects data: would more data help?

Example:
    >>> curve = learning_curve(build, train=(x_train, y_train), dev=(x_dev, y_dev),
    ...                        fit_kwargs={"epochs": 20})  # doctest: +SKIP
    >>> print(curve.reading())  # doctest: +SKIP
    >>> curve.plot("learning_curve.png")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lamina.data.splits import label_vector, num_samples, take
from lamina.data.tasks import resolve_task
from lamina.utils import validation
from lamina.workflow.inputs import split_pairs
from lamina.workflow.learning_curves.curve import LearningCurve
from lamina.workflow.learning_curves.intervals import point_interval
from lamina.workflow.learning_curves.subsets import check_fractions, check_seeds, nested_order
from lamina.workflow.predictions import Predictions, loss_of

__all__ = ["learning_curve"]

_OWNER = "learning_curve"


def _pairs(
    x_train: Any, y_train: Any, x_dev: Any, y_dev: Any, splits: Any, train: Any, dev: Any
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """The training and dev ``(x, y)`` pairs from any of the accepted call forms."""
    positional = [v is not None for v in (x_train, y_train, x_dev, y_dev)]
    looks_like_splits = isinstance(x_train, Mapping) or hasattr(x_train, "train")
    if splits is None and positional == [True, False, False, False] and looks_like_splits:
        splits, x_train = x_train, None  # learning_curve(build, splits)
    elif any(positional):
        if not all(positional):
            raise ValueError(
                f"`{_OWNER}` expects the four arrays `x_train, y_train, x_dev, y_dev`, or "
                "`train=(x, y), dev=(x, y)`, or a `Splits`. Received only some of the four arrays."
            )
        if splits is not None or train is not None or dev is not None:
            raise ValueError(
                f"`{_OWNER}` expects the data once: positional arrays, `train=`/`dev=` pairs or "
                "`splits`. Received more than one of them."
            )
        train, dev = (x_train, y_train), (x_dev, y_dev)
    pairs = split_pairs(_OWNER, splits, train=train, dev=dev)
    for name in ("train", "dev"):
        if pairs[name] is None:
            raise ValueError(
                f"`{_OWNER}` needs a training set and a dev set. Received no `{name}` set. Pass "
                f"`{name}=(x, y)` or a `Splits` with one."
            )
    return pairs["train"], pairs["dev"]


def _check_model(model: Any) -> Any:
    if not callable(getattr(model, "fit", None)) or not callable(getattr(model, "predict", None)):
        raise TypeError(
            f"`{_OWNER}` expects `build_fn()` to return a compiled Lamina model. "
            f"Received: {type(model).__name__}."
        )
    return model


def _sampling(preds: list[Predictions], metric: str, seed: int) -> tuple[float, float] | None:
    """Sampling half-widths of a regression metric: each seed's bootstrap, averaged."""
    if metric == "error":
        return None
    below, above = [], []
    for p in preds:
        iv = p.error_interval(metric, seed=seed)
        below.append(iv.estimate - iv.low)
        above.append(iv.high - iv.estimate)
    return float(np.mean(below)), float(np.mean(above))


def _check_kwargs(fit_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    kwargs = dict(fit_kwargs or {})
    for reserved in ("x", "y", "validation_split"):
        if reserved in kwargs:
            raise ValueError(
                f"`{_OWNER}` passes the training subsets to `fit` itself. Received: "
                f"fit_kwargs with {reserved!r}. Remove it."
            )
    kwargs.setdefault("verbose", 0)
    return kwargs


def _resolve(task: str, metric: str, y_train: Any, model: Any) -> tuple[str, str]:
    task = resolve_task(_OWNER, task, y_train, None, loss_of(model))
    if metric == "auto":
        metric = "error" if task == "classification" else "mae"
    if (task == "classification") != (metric == "error"):
        raise ValueError(
            f"`{_OWNER}` measures classification with metric='error' and regression with 'mae' or "
            f"'rmse'. Received: task={task!r}, metric={metric!r}."
        )
    return task, metric


def learning_curve(
    build_fn: Callable[[], Any],
    x_train: Any = None,
    y_train: Any = None,
    x_dev: Any = None,
    y_dev: Any = None,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    fit_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    task: str = "auto",
    metric: str = "auto",
    verbose: int = 0,
    *,
    seeds: int | Sequence[int] = 3,
    splits: Any = None,
    train: Any = None,
    dev: Any = None,
) -> LearningCurve:
    """Trains fresh models on growing training subsets and measures train and dev error.

    For each fraction and each seed, `build_fn()` makes a new compiled model
    (after `lamina.set_seed(seed)`), `fit` trains it on the first ``fraction × n``
    samples of that seed's random order, and its error is measured on those
    samples and on the whole dev set through `lamina.workflow.Predictions`. For
    classification the order is stratified and nested: every subset keeps the
    class proportions and contains the smaller ones of the same seed.

    Seeds: each size is trained ``seeds`` times (3 by default), so the curve
    knows how much a size's error moves with the initialisation and the subset
    drawn; the cost is ``seeds × len(fractions)`` fits. When the budget does not
    allow it, pass ``seeds=1``: the intervals then hold the dev set's sampling
    noise only, and the reading is inconclusive more often.

    Args:
        build_fn: A function with no arguments that returns a new compiled model.
        x_train: Training inputs (array, tensor, pandas, or a dict / list of
            those), or a `Splits` (the result of `lamina.data.split`).
        y_train: Training targets.
        x_dev: Dev inputs.
        y_dev: Dev targets.
        fractions: Shares of the training set to train on, in (0, 1]. Defaults to
            `(0.1, 0.25, 0.5, 1.0)`.
        fit_kwargs: Keyword arguments of `fit` (`epochs`, `batch_size`,
            `callbacks`, ...); `verbose` defaults to 0. Defaults to `None`.
        seed: The first seed: of the subset order and of the model's
            initialisation. Defaults to `0`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (decided by
            `lamina.data.infer_task` from the training targets and the model's
            compiled loss, before training: the subsets depend on it). Defaults
            to `"auto"`.
        metric: ``"error"``, ``"mae"``, ``"rmse"`` or ``"auto"`` (error for
            classification, MAE for regression). Defaults to `"auto"`.
        verbose: 1 prints one line per size. Defaults to `0`.
        seeds: Models per size: a count (seeds ``seed, seed + 1, ...``) or a list
            of seeds. Defaults to `3`.
        splits: A `Splits` or dict with ``train`` and ``dev`` ``(x, y)`` pairs,
            instead of the arrays. Defaults to `None`.
        train: The training set as an ``(x, y)`` pair. Defaults to `None`.
        dev: The dev set as an ``(x, y)`` pair. Defaults to `None`.

    Returns:
        A `LearningCurve` with `reading()`, `plot()` and `to_dict()`.

    Example:
        >>> import lamina
        >>> from lamina import layers
        >>> from lamina.data import load_iris, split
        >>> from lamina.workflow import learning_curve
        >>> s = split(*load_iris(), dev=0.3, test=0.1)
        >>> def build():
        ...     m = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
        ...     m.compile(optimizer=lamina.optimizers.Adam(0.05),
        ...               loss="sparse_categorical_crossentropy")
        ...     return m
        >>> curve = learning_curve(build, s, fractions=(0.5, 1.0), seeds=2,
        ...                        fit_kwargs={"epochs": 5})
        >>> curve.sizes, curve.n_seeds
        ([45, 90], 2)
        >>> len(curve.dev_errors_per_seed[0])
        2
    """
    if not callable(build_fn):
        raise TypeError(
            f"`{_OWNER}` expects `build_fn` to be a function that returns a new compiled model. "
            f"Received: build_fn of type {type(build_fn).__name__}."
        )
    fracs = check_fractions(_OWNER, fractions)
    validation.non_negative_int(_OWNER, "seed", seed)
    seed_list = check_seeds(_OWNER, seeds, seed)
    validation.one_of(_OWNER, "task", task, ("auto", "classification", "regression"))
    validation.one_of(_OWNER, "metric", metric, ("auto", "error", "mae", "rmse"))
    validation.one_of(_OWNER, "verbose", verbose, (0, 1))
    kwargs = _check_kwargs(fit_kwargs)
    (x_tr, y_tr), (x_dv, y_dv) = _pairs(x_train, y_train, x_dev, y_dev, splits, train, dev)
    n = num_samples(x_tr, "x_train")
    if num_samples(y_tr, "y_train") != n:
        raise ValueError(
            f"`{_OWNER}` expects as many training targets as inputs. Received: {n} inputs, "
            f"{num_samples(y_tr, 'y_train')} targets."
        )
    return _run(
        build_fn, (x_tr, y_tr), (x_dv, y_dv), fracs, seed_list, kwargs, task, metric, verbose
    )


def _run(
    build_fn: Callable[[], Any],
    train: tuple[Any, Any],
    dev: tuple[Any, Any],
    fracs: list[float],
    seed_list: list[int],
    kwargs: dict[str, Any],
    task: str,
    metric: str,
    verbose: int,
) -> LearningCurve:
    """Fits every (size, seed) and gathers the curve; the arguments are checked."""
    import lamina

    (x_tr, y_tr), (x_dv, y_dv) = train, dev
    n = num_samples(x_tr, "x_train")
    lamina.set_seed(seed_list[0])
    first = _check_model(build_fn())
    task, metric = _resolve(task, metric, y_tr, first)
    sizes = [max(1, round(f * n)) for f in fracs]
    n_classes = len(np.unique(label_vector(y_tr))) if task == "classification" else 1
    if task == "classification" and sizes[0] < n_classes:
        raise ValueError(
            f"`{_OWNER}` needs at least one sample per class in the smallest subset. Received: "
            f"fractions={fracs!r} giving {sizes[0]} sample(s) for {n_classes} classes. Raise the "
            "smallest fraction."
        )
    orders = {s: nested_order(y_tr, task, s) for s in seed_list}
    rows: dict[str, list[Any]] = {k: [] for k in ("train", "dev", "train_iv", "dev_iv", "secs")}
    n_dev = num_samples(y_dv, "y_dev")
    for frac, size in zip(fracs, sizes):
        preds: dict[str, list[Predictions]] = {"train": [], "dev": []}
        t0 = time.perf_counter()
        for s in seed_list:
            if first is not None:  # the model built to resolve the task is the first fit's
                model, first = first, None
            else:
                lamina.set_seed(s)
                model = _check_model(build_fn())
            idx = np.sort(orders[s][:size])
            x_sub, y_sub = take(x_tr, idx), take(y_tr, idx)
            model.fit(x_sub, y_sub, **kwargs)
            for name, (x, y) in (("train", (x_sub, y_sub)), ("dev", (x_dv, y_dv))):
                p = Predictions.from_model(model, x, y, task=task, name=name, owner=_OWNER)
                preds[name].append(p)
        rows["secs"].append(time.perf_counter() - t0)
        for name, count in (("train", size), ("dev", n_dev)):
            errors = [p.error(metric) for p in preds[name]]
            rows[name].append(errors)
            sampling = _sampling(preds[name], metric, seed_list[0])
            rows[f"{name}_iv"].append(
                point_interval(errors, count, 0.95, rate=metric == "error", sampling=sampling)
            )
        if verbose:
            print(
                f"learning curve: {size:,} samples ({frac:.0%}), {len(seed_list)} seed(s): train "
                f"{np.mean(rows['train'][-1]):.4g}, dev {rows['dev_iv'][-1]} ({rows['secs'][-1]:.1f}s)"
            )
    return LearningCurve(
        sizes=sizes,
        fractions=fracs,
        train_errors=[],
        dev_errors=[],
        task=task,
        metric=metric,
        seconds=rows["secs"],
        n_dev=n_dev,
        seeds=seed_list,
        train_errors_per_seed=rows["train"],
        dev_errors_per_seed=rows["dev"],
        train_intervals=rows["train_iv"],
        dev_intervals=rows["dev_iv"],
    )
