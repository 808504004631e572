"""One rule for "is this classification or regression?", used by all of Lamina.

`split`, `cross_validate`, `run_baselines`, `diagnose`, `analyze_errors`,
`learning_curve` and the report all decide the task with `infer_task`, and all
take ``task=`` to override it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.utils import validation

__all__ = ["TASKS", "infer_task", "task_from_loss", "resolve_task"]

#: The two tasks the workflow knows.
TASKS = ("classification", "regression")
#: Integer labels with at most this many distinct values are always classes.
FEW_CLASSES = 20
#: Integer labels with more distinct values than this are treated as a quantity.
MAX_CLASSES = 1000
_CLASSIFICATION_LOSSES = (
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        return a.detach().cpu().numpy()
    if hasattr(a, "to_numpy"):
        return a.to_numpy()
    return np.asarray(a)


def is_one_hot(arr: np.ndarray) -> bool:
    """True for a 2-D array whose rows each hold a single 1 and zeros elsewhere."""
    if arr.ndim != 2 or arr.shape[1] < 2 or arr.dtype.kind not in "biuf":
        return False
    return bool(np.isin(arr, (0, 1)).all() and (arr.sum(axis=1) == 1).all())


def task_from_loss(loss: Any) -> str | None:
    """``"classification"`` or ``"regression"`` from a compiled loss (a `Loss`, its
    name, or None); None when the loss does not say (a custom function, several losses)."""
    if loss is None or isinstance(loss, (dict, list, tuple)):
        return None
    if isinstance(loss, str):
        from lamina import losses

        try:
            loss = losses.get(loss)
        except (ValueError, TypeError):
            return None
    kind = getattr(loss, "kind", None)
    if kind in _CLASSIFICATION_LOSSES:
        return "classification"
    if kind == "regression":
        return "regression"
    return None


def _task_of_targets(arr: np.ndarray) -> str:
    if arr.ndim == 2 and arr.shape[1] > 1:
        return "classification" if is_one_hot(arr) else "regression"
    arr = arr.reshape(len(arr), -1)[:, 0] if arr.ndim > 1 else arr
    kind = arr.dtype.kind
    if kind in "bUSO":
        return "classification"
    distinct = len(np.unique(arr))
    if kind in "iu":
        few = distinct <= FEW_CLASSES or (distinct <= MAX_CLASSES and distinct <= len(arr) // 2)
        return "classification" if few else "regression"
    if kind == "f" and distinct <= 2 and np.isin(arr, (0.0, 1.0)).all():
        return "classification"
    return "regression"


def _multi_label(y: np.ndarray, pred: np.ndarray) -> bool:
    """0/1 targets with several ones per row, and as many outputs in [0, 1] (sigmoids)."""
    if y.ndim != 2 or y.shape[1] < 2 or pred.shape != y.shape or y.dtype.kind not in "biuf":
        return False
    if pred.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        return False
    return bool(np.all((pred >= 0) & (pred <= 1)))


def _task_with_predictions(y: np.ndarray, pred: np.ndarray, by_targets: str) -> str:
    if pred.dtype.kind in "bUSO":
        return "classification"  # predicted labels
    if _multi_label(y, pred):
        return "classification"
    if by_targets == "regression":
        return "regression"
    columns = pred.shape[1] if pred.ndim == 2 else 1
    if columns > 1 or (y.ndim == 2 and y.shape[1] > 1):
        return "classification"  # one score per class
    if y.dtype.kind in "bUSO" or len(np.unique(y)) <= 2:
        return "classification"  # one score separates two classes
    flat = pred.reshape(-1).astype(np.float64)
    # One output column against more than two classes: whole numbers are
    # predicted labels, anything else is a quantity (ratings 0..5 predicted by MSE).
    if np.isfinite(flat).all() and np.all(flat == np.round(flat)):
        return "classification"
    return "regression"


def infer_task(y: Any, y_pred: Any = None, loss: Any = None) -> str:
    """Decides whether targets (and predictions) describe classification or regression.

    The rule, in order:

    1. the loss, when it says: a cross-entropy is classification, MSE / MAE /
       Huber / ... are regression;
    2. the targets: booleans, strings and other non-numeric labels, one-hot
       rows, integers with at most 20 distinct values (or at most 1000 and no
       more than half as many as samples) and floats that only take the values
       0.0 and 1.0 (labels for `BinaryCrossentropy`) are classes; anything else
       (other floats, many distinct integers) is a quantity;
    3. with predictions, targets that look like classes are checked against
       them: several output columns are class scores, one column separates two
       classes, and one column of non-whole numbers against more than two
       classes is a regression (ratings 0..5 predicted with MSE); 0/1 target
       rows with as many outputs in [0, 1] are multi-label classification.

    Without predictions the rule is rules 1 and 2. Every workflow function takes
    ``task="classification"`` or ``task="regression"`` to override it.

    Args:
        y: The targets (NumPy array, torch tensor, pandas Series or list).
        y_pred: The model's outputs for the same samples. Defaults to `None`.
        loss: The compiled loss (a `lamina.losses.Loss` or its name). Defaults to `None`.

    Returns:
        `"classification"` or `"regression"`.

    Example:
        >>> import numpy as np
        >>> from lamina.data import infer_task
        >>> infer_task(np.array([0, 1, 1, 2]))
        'classification'
        >>> infer_task(np.array([0.5, 1.7, 3.2]))
        'regression'
        >>> infer_task(np.array([0, 3, 5, 2]), y_pred=np.array([0.4, 2.9, 4.6, 2.2]))
        'regression'
    """
    from_loss = task_from_loss(loss)
    if from_loss is not None:
        return from_loss
    arr = _numpy(y)
    if arr.ndim == 0 or len(arr) == 0:
        raise ValueError(
            f"`infer_task` expects at least one target. Received: y of shape {arr.shape}. "
            "Pass the targets of the set, or pass `task=` explicitly."
        )
    by_targets = _task_of_targets(arr)
    if y_pred is None:
        return by_targets
    return _task_with_predictions(arr, _numpy(y_pred), by_targets)


def resolve_task(owner: str, task: str, y: Any, y_pred: Any = None, loss: Any = None) -> str:
    """``task`` when it is given, else `infer_task(y, y_pred, loss)`; checks the name."""
    validation.one_of(owner, "task", task, ("auto",) + TASKS)
    return infer_task(y, y_pred, loss) if task == "auto" else task
