"""What a search optimises: a logged metric and whether higher or lower is better."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# Name fragments (after the `val_` prefix) whose direction is known. Checked in order,
# so "loss" wins over "accuracy" in e.g. "accuracy_loss".
_MIN_FRAGMENTS = (
    "loss",
    "error",
    "crossentropy",
    "hinge",
    "mse",
    "mae",
    "rmse",
    "msle",
    "mape",
    "divergence",
    "kld",
    "poisson",
    "cosh",
)
_MAX_FRAGMENTS = (
    "accuracy",
    "acc",
    "auc",
    "precision",
    "recall",
    "f1",
    "fbeta",
    "r2",
    "iou",
    "top_k",
)
_DIRECTIONS = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}


class ObjectiveNotLoggedError(ValueError):
    """The objective names no quantity that `fit` logs. Raised at once by a search
    (never recorded as one failed trial), since every trial would fail the same way."""


@dataclass(frozen=True)
class Objective:
    """A logged quantity of `fit` (``"val_accuracy"``, ``"val_loss"``) and its direction.

    Args:
        name: The key in `fit`'s epoch logs.
        direction: ``"max"`` or ``"min"`` (``"maximize"`` / ``"minimize"`` are accepted).

    Example:
        >>> from lamina.tuning.objective import Objective
        >>> Objective("val_f1", "max").optuna_direction
        'maximize'
    """

    name: str
    direction: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(
                "`Objective` expects `name` to be a non-empty string naming a logged metric. "
                f"Received: name={self.name!r}."
            )
        direction = _DIRECTIONS.get(str(self.direction).lower()) if self.direction else None
        if direction is None:
            raise ValueError(
                f"`Objective` expects `direction` to be 'max' or 'min'. Received: "
                f"direction={self.direction!r} for objective {self.name!r}."
            )
        object.__setattr__(self, "direction", direction)

    @property
    def optuna_direction(self) -> str:
        """``"maximize"`` or ``"minimize"``, as Optuna spells it."""
        return "maximize" if self.direction == "max" else "minimize"

    def better(self, a: float, b: float | None) -> bool:
        """Whether value ``a`` is strictly better than ``b`` (any value beats None)."""
        if b is None:
            return True
        return a > b if self.direction == "max" else a < b

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "direction": self.direction}


def infer_direction(name: str) -> str | None:
    """``"max"``, ``"min"`` or None (unknown) for a metric name such as ``"val_accuracy"``."""
    base = name.lower()
    for prefix in ("val_", "train_"):
        if base.startswith(prefix):
            base = base[len(prefix) :]
    for fragment in _MIN_FRAGMENTS:
        if fragment in base:
            return "min"
    for fragment in _MAX_FRAGMENTS:
        if fragment in base:
            return "max"
    return None


def resolve_objective(objective: Any) -> Objective:
    """An `Objective` from a metric name, a ``(name, direction)`` pair or an `Objective`.

    The direction of a name is read from it: accuracy, acc, auc, precision, recall,
    f1, r2, iou are maximised; loss, error, crossentropy, mse, mae, rmse, msle, mape,
    hinge are minimised.

    Args:
        objective: ``"val_accuracy"``, ``("val_my_score", "max")`` or an `Objective`.

    Returns:
        The `Objective`.

    Raises:
        ValueError: A name whose direction cannot be told, or a bad direction.
        TypeError: Anything else.

    Example:
        >>> from lamina.tuning.objective import resolve_objective
        >>> resolve_objective("val_accuracy").direction
        'max'
        >>> resolve_objective(("val_score", "min")).direction
        'min'
    """
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, (tuple, list)) and len(objective) == 2:
        return Objective(objective[0], objective[1])
    if isinstance(objective, str) and objective:
        direction = infer_direction(objective)
        if direction is None:
            raise ValueError(
                f"Cannot tell whether the objective {objective!r} should be maximised or minimised. "
                f"Pass it with its direction: objective=({objective!r}, 'max') or "
                f"objective=({objective!r}, 'min')."
            )
        return Objective(objective, direction)
    raise TypeError(
        "`objective` must be a logged metric name (e.g. 'val_accuracy'), a (name, direction) "
        f"pair such as ('val_f1', 'max'), or an `Objective`. Received: {objective!r}."
    )


def missing_objective_error(name: str, logs: dict | None) -> ObjectiveNotLoggedError:
    """The error for an objective absent from `fit`'s epoch logs, listing what is logged."""
    keys = sorted(logs or {})
    hint = ""
    if name.startswith("val_") and not any(k.startswith("val_") for k in keys):
        hint = " No `val_` key is logged: pass `validation_data=` or `validation_split=` to search."
    elif not name.startswith("val_") and f"val_{name}" in keys:
        hint = f" Did you mean 'val_{name}'?"
    return ObjectiveNotLoggedError(
        f"The objective {name!r} is not among the quantities `fit` logs after each epoch. "
        f"Logged: {', '.join(repr(k) for k in keys) or 'nothing'}.{hint} Pass one of them as "
        "`objective=`, or add the metric to `compile(metrics=[...])` in `build_model`."
    )


# ---------------------------------------------------------------------- the data a search sees
@dataclass
class DataPlan:
    """The training/validation sets of every trial: one fold, or ``k`` with `cv`.

    Attributes:
        folds: ``(x_train, y_train, validation_data or None)`` per fold.
        dev: ``(x_dev, y_dev)`` the objective is measured on (one fold), else None.
    """

    folds: list[tuple[Any, Any, Any]]
    dev: tuple[Any, Any] | None

    @property
    def n_folds(self) -> int:
        return len(self.folds)


def plan_data(
    objective: Objective,
    x: Any,
    y: Any,
    validation_data: Any,
    validation_split: Any,
    cv: Any,
) -> DataPlan:
    """Checks the data arguments of `Tuner.search` and splits the data once for all trials.

    Raises:
        ValueError: Two validation sources, none for a ``val_`` objective, a bad
            ``validation_split`` or ``cv``.
    """
    given = [
        name
        for name, value in (
            ("validation_data", validation_data),
            ("validation_split", validation_split),
            ("cv", cv),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError(
            "`Tuner.search` takes one source of validation data. Received: "
            f"{' and '.join(given)}. Pass only one of validation_data=, validation_split=, cv=."
        )
    if not given and objective.name.startswith("val_"):
        raise ValueError(
            f"The objective {objective.name!r} is measured on validation data, and `Tuner.search` "
            "received none. Pass validation_data=(x_dev, y_dev), validation_split=0.2 or cv=5."
        )
    if x is None:
        raise ValueError("`Tuner.search` needs the training data. Received: x=None.")
    _same_length(x, y, "x", "y")
    if cv is not None:
        return DataPlan(_cv_folds(x, y, cv), None)
    if validation_split is not None:
        return _split(x, y, validation_split)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "`Tuner.search` expects `validation_data=(x_dev, y_dev)` (or with sample weights). "
                f"Received: an object of type {type(validation_data).__name__}."
            )
        dev = (validation_data[0], validation_data[1])
        _same_length(dev[0], dev[1], "validation_data[0]", "validation_data[1]")
        return DataPlan([(x, y, tuple(validation_data))], dev)
    return DataPlan([(x, y, None)], None)


def _same_length(x: Any, y: Any, x_name: str, y_name: str) -> None:
    """Arrays of inputs and targets of different lengths fail every trial: raise now."""
    from lamina.data.splits import _is_array, _is_multi, num_samples

    if y is None or not all(_is_array(a) or _is_multi(a) for a in (x, y)):
        return  # datasets and generators: `fit` checks them
    nx, ny = num_samples(x, x_name), num_samples(y, y_name)
    if nx != ny:
        raise ValueError(
            f"`Tuner.search` expects `{x_name}` and `{y_name}` to hold the same number of "
            f"samples. Received: {nx} and {ny}."
        )


def _split(x: Any, y: Any, validation_split: Any) -> DataPlan:
    from lamina.data.splits import num_samples, take

    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, (int, float))
        or not (0.0 < validation_split < 1.0)
    ):
        raise ValueError(
            "`Tuner.search` expects `validation_split` to be a fraction strictly between 0 and 1. "
            f"Received: validation_split={validation_split!r}."
        )
    n = num_samples(x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at < 1 or split_at >= n:
        raise ValueError(
            f"validation_split={validation_split!r} of {n} samples leaves an empty training or "
            "validation set. Pass a fraction that keeps both non-empty."
        )
    train, dev = np.arange(split_at), np.arange(split_at, n)
    x_dev, y_dev = take(x, dev), take(y, dev)
    return DataPlan([(take(x, train), take(y, train), (x_dev, y_dev))], (x_dev, y_dev))


def _cv_folds(x: Any, y: Any, cv: Any) -> list[tuple[Any, Any, Any]]:
    from lamina.data.cross_validation.run import _fold_iterators
    from lamina.data.splits import label_vector, num_samples, take
    from lamina.data.tasks import infer_task

    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise ValueError(
            f"`Tuner.search` expects `cv` to be a number of folds >= 2. Received: cv={cv!r}."
        )
    if y is None:
        raise ValueError("`Tuner.search(cv=...)` needs the targets `y`. Received: y=None.")
    n = num_samples(x)
    labels = None
    if infer_task(y) == "classification":
        labels = label_vector(y)
        if np.unique(labels, return_counts=True)[1].min() < cv:
            labels = None  # a class too rare to stratify: plain shuffled folds
    folds = _fold_iterators(n, labels, cv, 1, True, 0)
    return [(take(x, tr), take(y, tr), (take(x, va), take(y, va))) for tr, va in folds]


_RESERVED = ("x", "y", "epochs", "callbacks", "verbose", "validation_data", "validation_split")
# The objective is read after every epoch and the budget counts epochs from 0.
_FIXED = ("validation_freq", "initial_epoch")


def check_fit_kwargs(fit_kwargs: dict) -> None:
    """Refuses `fit` arguments that `fit` does not take, or that a search fixes."""
    from lamina.training.trainer import Trainer

    fixed = sorted(set(fit_kwargs) & set(_FIXED))
    if fixed:
        raise ValueError(
            f"`Tuner.search` fixes {fixed} of `fit`: the objective is read after every epoch and "
            "the pruning budget counts epochs from the first. Received: "
            f"{', '.join(f'{k}={fit_kwargs[k]!r}' for k in fixed)}. Drop them."
        )
    accepted = set(inspect.signature(Trainer.fit).parameters) - {"self", *_RESERVED, *_FIXED}
    unknown = sorted(set(fit_kwargs) - accepted)
    if unknown:
        raise TypeError(
            f"`Tuner.search` passes extra keyword arguments to `fit`, which does not take "
            f"{unknown}. Accepted: {sorted(accepted)}."
        )


def check_model(model: Any) -> None:
    if not (hasattr(model, "fit") and hasattr(model, "compiled")):
        raise TypeError(
            "`build_model(hp)` must return a compiled Lamina model. Received: an object of type "
            f"{type(model).__name__}. Build the model, call `model.compile(...)` and return it."
        )
    if not model.compiled:
        raise ValueError(
            "`build_model(hp)` returned an uncompiled model. Call `model.compile(optimizer=..., "
            "loss=..., metrics=[...])` inside `build_model` before returning it."
        )
