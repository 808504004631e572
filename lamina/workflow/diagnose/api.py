"""`diagnose(model, ...)`: predict each split once, then `Diagnosis.from_predictions`."""

from __future__ import annotations

from typing import Any

from lamina.utils import validation
from lamina.workflow.diagnose.checks import check_metric
from lamina.workflow.diagnose.result import Diagnosis
from lamina.workflow.diagnose.wording import TASKS
from lamina.workflow.inputs import split_pairs
from lamina.workflow.predictions import Predictions


def _check_lengths(owner: str, name: str, x: Any, y: Any) -> None:
    """Inputs and labels of different lengths, caught before predicting."""
    if hasattr(x, "shape") and len(getattr(x, "shape", ())) and hasattr(y, "__len__"):
        if int(x.shape[0]) != len(y):
            raise ValueError(
                f"`{owner}` expects as many labels as inputs in `{name}`. "
                f"Received: {int(x.shape[0])} inputs and {len(y)} labels."
            )


def diagnose(
    model: Any,
    splits: Any = None,
    *,
    train: Any = None,
    train_dev: Any = None,
    dev: Any = None,
    test: Any = None,
    human_error: float | None = None,
    baseline_error: float | None = None,
    common_sense_error: float | None = None,
    metric: str = "auto",
    task: str = "auto",
    tolerance: float | None = None,
    batch_size: int = 256,
    confidence: float = 0.95,
    seed: int = 0,
) -> Diagnosis:
    """Diagnoses a trained model from its errors on the data splits, with intervals.

    Predicts each split once (`Predictions.from_model`), then computes the error
    on each split with its interval, the gaps between them (avoidable bias,
    variance, data mismatch, dev-set overfitting) with theirs, names the largest
    *established* gap as the primary problem, and lists remedies in priority
    order. When the sets are too small to tell a gap from noise, the verdict is
    ``"inconclusive"`` and the first recommendation says how many examples each
    set needs.

    Args:
        model: A trained Lamina model (single output).
        splits: A `Splits` (the result of `lamina.data.split`) or dict with
            `train`, `dev`, `test` and `train_dev`, each an `(x, y)` pair or None.
            Give either `splits` or the keyword pairs. Defaults to `None`.
        train: `(x, y)` the model was trained on (required).
        train_dev: `(x, y)` from the training distribution, kept out of training.
        dev: `(x, y)` dev (validation) set.
        test: `(x, y)` test set.
        human_error: Human-level error (proxy for the best achievable error), in
            the units of `metric`. Defaults to `None`.
        baseline_error: Error of the best baseline model, used as the reference
            when `human_error` is not given. Defaults to `None`.
        common_sense_error: Error of the common-sense baseline (majority class,
            mean prediction); a model that does not beat it is flagged. Defaults to `None`.
        metric: ``"error"`` (1 − accuracy), ``"mae"`` or ``"rmse"``; ``"auto"`` picks
            ``"error"`` for classification and ``"mae"`` for regression. Defaults to `"auto"`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (decided once, on
            the training split, by `lamina.data.infer_task` from the labels, the
            outputs and the compiled loss). Defaults to `"auto"`.
        tolerance: Gaps at or below this count as no gap; see
            `Diagnosis.from_errors`. Defaults to `None`.
        batch_size: Batch size for `predict`. Defaults to `256`.
        confidence: Confidence level of the intervals. Defaults to 0.95.
        seed: Seed of the bootstraps. Defaults to 0.

    Returns:
        A `Diagnosis`: print it for a table, the verdict and what to try next.

    Example:
        >>> d = diagnose(model, train=(x_tr, y_tr), dev=(x_dev, y_dev), human_error=0.01)  # doctest: +SKIP
        >>> print(d)  # doctest: +SKIP
    """
    owner = "diagnose"
    validation.one_of(owner, "task", task, TASKS)
    validation.one_of(owner, "metric", metric, ("auto", "error", "mae", "rmse"))
    validation.positive_int(owner, "batch_size", batch_size)
    pairs = split_pairs(owner, splits, train=train, train_dev=train_dev, dev=dev, test=test)
    if pairs["train"] is None:
        raise ValueError(
            "`diagnose` needs the training data to measure the training error. Received: "
            "train=None. Pass `train=(x_train, y_train)` or a `splits` object with `train`."
        )
    if not callable(getattr(model, "predict", None)):
        raise TypeError(
            "`diagnose` expects a Lamina model with `predict`. Received: model of type "
            f"{type(model).__name__}."
        )
    for name, pair in pairs.items():
        if pair is not None:
            _check_lengths(owner, name, *pair)
    predictions: dict[str, Predictions | None] = dict.fromkeys(pairs)
    x, y = pairs["train"]
    first = Predictions.from_model(
        model, x, y, task=task, batch_size=batch_size, name="train", owner=owner
    )
    check_metric(owner, first.task, metric)
    predictions["train"] = first
    for name, pair in pairs.items():
        if pair is not None and name != "train":
            predictions[name] = Predictions.from_model(
                model, *pair, task=first.task, batch_size=batch_size, name=name, owner=owner
            )
    return Diagnosis.from_predictions(
        train=first,
        train_dev=predictions["train_dev"],
        dev=predictions["dev"],
        test=predictions["test"],
        human=human_error,
        baseline=baseline_error,
        common_sense=common_sense_error,
        metric=metric,
        tolerance=tolerance,
        confidence=confidence,
        seed=seed,
    )
