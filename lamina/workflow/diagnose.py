"""`diagnose`: what is wrong with a trained model, and what to try next.

The error decomposition of Andrew Ng's *Machine Learning Yearning*: compare the
error on each data split and name the largest gap.

==================  ====================================  ===========================
gap                 computed as                           means
==================  ====================================  ===========================
avoidable bias      train − human-level (or baseline)     the model underfits
variance            train-dev − train (or dev − train)    it does not generalise
data mismatch       dev − train-dev                       dev data differs from train
dev overfitting     test − dev                            tuning overfit the dev set
==================  ====================================  ===========================

A model that does not beat the common-sense baseline (majority class, mean
prediction) is flagged first: then something is broken, and the gaps say little.

Errors are computed here from `model.predict` (so the compiled metrics do not
matter): ``1 − accuracy`` for classification, the MAE (or RMSE) for regression.
Users who computed their errors elsewhere build the same report with
`Diagnosis.from_errors`.

Example:
    >>> from lamina.workflow import Diagnosis
    >>> d = Diagnosis.from_errors(train=0.08, dev=0.10, human=0.01)
    >>> d.primary
    'avoidable_bias'
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from lamina import losses as losses_mod
from lamina.utils import validation

__all__ = ["Diagnosis", "diagnose", "classification_error", "regression_error"]

PROBLEMS = (
    "avoidable_bias",
    "variance",
    "data_mismatch",
    "dev_overfitting",
    "worse_than_baseline",
    "none",
)
TASKS = ("auto", "classification", "regression")
METRICS = ("auto", "error", "mae", "rmse")
_CLASSIFICATION_KINDS = (
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)

REMEDIES: dict[str, list[str]] = {
    "avoidable_bias": [
        "Train a bigger model (more units or layers).",
        "Train longer.",
        "Use a better optimizer (Adam) and tune its learning rate (lamina.workflow.lr_find).",
        "Try a better architecture for the data (convolutions for images, recurrence or attention for sequences).",
        "Reduce regularisation (lower dropout rates or L2 factors).",
    ],
    "variance": [
        "Get more training data.",
        "Use data augmentation.",
        "Add regularisation (dropout, L2 weight decay).",
        "Use early stopping (lamina.callbacks.EarlyStopping on the validation loss).",
        "Use a smaller model.",
    ],
    "data_mismatch": [
        "Make the training data more like the dev data (collect more of the dev distribution for training).",
        "Synthesize training data that looks like the dev data (e.g. add the dev set's noise or conditions).",
        "Do error analysis on the dev errors to find how the dev data differs from the training data.",
    ],
    "dev_overfitting": [
        "Get a bigger dev set.",
        "Re-shuffle or re-collect the dev and test sets so that they come from the same distribution.",
        "Tune fewer hyperparameters against one dev set (or use cross-validation).",
    ],
    "worse_than_baseline": [
        "Something is broken: run lamina.workflow.doctor(model, x, y) for sanity checks.",
        "Check that inputs and labels are aligned (not shuffled separately) and preprocessed the same way in every split.",
        "Check that the loss matches the labels and the output layer (softmax/sigmoid versus from_logits).",
        "Check the learning rate with lamina.workflow.lr_find.",
    ],
    "none": [
        "No gap stands out: do error analysis on the remaining dev errors to find what to fix next.",
        "Check that the human-level or baseline target is the right one; if it is, evaluate once on the test set.",
    ],
}

_GAP_ORDER = ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting")
_LABELS = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "dev_overfitting": "dev-set overfitting",
}


def _fmt(value: float | None, task: str) -> str:
    if value is None:
        return "-"
    if task == "classification":
        return f"{100 * value:.2f}%"
    return f"{value:.4g}"


@dataclass
class Diagnosis:
    """The errors on each split, the gaps between them, and what to do next.

    Build one with `diagnose(model, ...)`, or with `Diagnosis.from_errors(...)`
    from errors computed elsewhere. Errors are in the units of `metric`
    (``"error"`` = 1 − accuracy, ``"mae"``, ``"rmse"``); gaps are differences of
    errors and may be negative.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        metric: The error measure: ``"error"``, ``"mae"`` or ``"rmse"``.
        train_error, train_dev_error, dev_error, test_error: Errors per split
            (None when the split was not given).
        human_error, baseline_error, common_sense_error: The reference errors given.
        reference: What the avoidable bias is measured against: ``"human"``,
            ``"baseline"`` or ``"zero"`` (nothing given).
        avoidable_bias: ``train − reference`` (raw; negative when the training
            error is below the reference).
        variance: ``train_dev − train``, or ``dev − train`` without a train-dev set.
        variance_includes_mismatch: True when there was no train-dev set, so
            `variance` also contains any data mismatch.
        data_mismatch: ``dev − train_dev`` (None without both sets).
        dev_overfitting: ``test − dev`` (None without both sets).
        tolerance: Gaps at or below this count as no gap.
        primary: The main problem, one of ``"avoidable_bias"``, ``"variance"``,
            ``"data_mismatch"``, ``"dev_overfitting"``, ``"worse_than_baseline"``, ``"none"``.
        verdict: One sentence naming the primary problem with its numbers.
        recommendations: What to try, in priority order.
        notes: Explanations of edge cases (missing sets, beating human level, ...).
    """

    task: str
    metric: str
    train_error: float
    train_dev_error: float | None = None
    dev_error: float | None = None
    test_error: float | None = None
    human_error: float | None = None
    baseline_error: float | None = None
    common_sense_error: float | None = None
    reference: str = "zero"
    avoidable_bias: float | None = None
    variance: float | None = None
    variance_includes_mismatch: bool = False
    data_mismatch: float | None = None
    dev_overfitting: float | None = None
    tolerance: float = 0.0
    primary: str = "none"
    verdict: str = ""
    recommendations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_errors(
        cls,
        *,
        train: float,
        train_dev: float | None = None,
        dev: float | None = None,
        test: float | None = None,
        human: float | None = None,
        baseline: float | None = None,
        common_sense: float | None = None,
        task: str = "classification",
        metric: str | None = None,
        tolerance: float | None = None,
    ) -> Diagnosis:
        """Builds the diagnosis from error numbers computed elsewhere.

        Args:
            train: Training error.
            train_dev: Error on a train-dev set (held-out data from the training
                distribution). Defaults to `None`.
            dev: Dev (validation) error. Defaults to `None`.
            test: Test error. Defaults to `None`.
            human: Human-level error, the proxy for the best achievable (Bayes)
                error. Defaults to `None`.
            baseline: Error of the best baseline model (e.g. a classical model);
                used as the reference when `human` is not given. Defaults to `None`.
            common_sense: Error of the common-sense baseline (majority class, mean
                prediction); a model that does not beat it is flagged as broken.
                Defaults to `None`.
            task: ``"classification"`` (errors are 1 − accuracy, in [0, 1]) or
                ``"regression"``. Defaults to `"classification"`.
            metric: Name of the error measure, for display. Defaults to
                ``"error"`` for classification and ``"mae"`` for regression.
            tolerance: Gaps at or below this count as no gap. Defaults to 0.005
                (half a percentage point) for classification and 2% of the largest
                error for regression.

        Returns:
            A `Diagnosis`.

        Example:
            >>> d = Diagnosis.from_errors(train=0.01, train_dev=0.015, dev=0.10, human=0.005)
            >>> d.primary
            'data_mismatch'
        """
        owner = "Diagnosis.from_errors"
        validation.one_of(owner, "task", task, ("classification", "regression"))
        if metric is None:
            metric = "error" if task == "classification" else "mae"
        validation.one_of(owner, "metric", metric, METRICS[1:])
        high = 1.0 if task == "classification" else None
        values = {
            "train": train,
            "train_dev": train_dev,
            "dev": dev,
            "test": test,
            "human": human,
            "baseline": baseline,
            "common_sense": common_sense,
        }
        for name, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(
                    f"`{owner}` expects `{name}` to be a finite number. Received: {name}={value!r}. "
                    "Check the predictions for NaN (e.g. run lamina.workflow.doctor)."
                )
            validation.number(owner, name, value, low=0.0, high=high, allow_none=name != "train")
        validation.number(owner, "tolerance", tolerance, low=0.0, allow_none=True)
        floats = {k: None if v is None else float(v) for k, v in values.items()}
        return _analyse(task, metric, floats, tolerance)

    # ------------------------------------------------------------------ output
    def errors(self) -> dict[str, float | None]:
        """The error per split: ``{"train": ..., "train_dev": ..., "dev": ..., "test": ...}``."""
        return {
            "train": self.train_error,
            "train_dev": self.train_dev_error,
            "dev": self.dev_error,
            "test": self.test_error,
        }

    def gaps(self) -> dict[str, float | None]:
        """The gaps: ``{"avoidable_bias": ..., "variance": ..., "data_mismatch": ..., "dev_overfitting": ...}``."""
        return {name: getattr(self, name) for name in _GAP_ORDER}

    def to_dict(self) -> dict[str, Any]:
        """Returns every field as JSON-serialisable values (floats, strings, lists)."""
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """Returns `to_dict()` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def table(self, width: int = 100) -> str:
        """Returns the errors and gaps as a table rendered to plain text."""
        t = Table(title=f"Diagnosis ({self.task}, metric: {self.metric})", box=box.SIMPLE_HEAD)
        t.add_column("quantity")
        t.add_column("value", justify="right")
        t.add_column("how")
        rows = [
            ("human-level error", self.human_error, "given"),
            ("best baseline error", self.baseline_error, "given"),
            ("common-sense baseline error", self.common_sense_error, "given"),
            ("training error", self.train_error, "train split"),
            ("train-dev error", self.train_dev_error, "train-dev split"),
            ("dev error", self.dev_error, "dev split"),
            ("test error", self.test_error, "test split"),
        ]
        for name, value, how in rows:
            if value is not None:
                t.add_row(name, _fmt(value, self.task), how)
        t.add_section()
        ref = {
            "human": "train − human",
            "baseline": "train − baseline",
            "zero": "train − 0 (upper bound)",
        }
        how_gap = {
            "avoidable_bias": ref[self.reference],
            "variance": "dev − train (includes mismatch)"
            if self.variance_includes_mismatch
            else "train-dev − train",
            "data_mismatch": "dev − train-dev",
            "dev_overfitting": "test − dev",
        }
        for name in _GAP_ORDER:
            value = getattr(self, name)
            if value is not None:
                mark = "  <- primary" if name == self.primary else ""
                t.add_row(_LABELS[name], _fmt(value, self.task), how_gap[name] + mark)
        buffer = io.StringIO()
        console = Console(
            file=buffer, width=width, color_system=None, force_terminal=False, no_color=True
        )
        console.print(t)
        return buffer.getvalue()

    def __str__(self) -> str:
        lines = [self.table().rstrip(), "", f"Verdict: {self.verdict}", "", "Try next, in order:"]
        lines += [f"  {i}. {r}" for i, r in enumerate(self.recommendations, 1)]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- gap logic


def _default_tolerance(task: str, errors: dict[str, float | None]) -> float:
    if task == "classification":
        return 0.005
    present = [v for v in errors.values() if v is not None]
    return 0.02 * max(present) if present else 0.0


def _analyse(
    task: str, metric: str, e: dict[str, float | None], tolerance: float | None
) -> Diagnosis:
    """The gap arithmetic and the verdict, shared by `diagnose` and `from_errors`."""
    train, train_dev, dev, test = e["train"], e["train_dev"], e["dev"], e["test"]
    human, baseline, common = e["human"], e["baseline"], e["common_sense"]
    assert train is not None
    fmt = lambda v: _fmt(v, task)  # noqa: E731
    tol = _default_tolerance(task, e) if tolerance is None else float(tolerance)
    notes: list[str] = []

    # Avoidable bias against the best estimate of the achievable error.
    if human is not None:
        reference, ref_value, ref_name = "human", human, "human-level error"
    elif baseline is not None:
        reference, ref_value, ref_name = "baseline", baseline, "best baseline error"
        notes.append(
            f"No human-level error given: the best baseline's error ({fmt(baseline)}) stands in for the "
            "achievable error. The achievable error is at most the baseline's, so the avoidable bias "
            "estimate (train − baseline) is a lower bound: the true bias may be larger."
        )
    else:
        reference, ref_value, ref_name = "zero", 0.0, "an achievable error of 0"
        notes.append(
            "No human-level or baseline error given: the achievable error is taken as 0, so the "
            "avoidable bias estimate (= training error) is an upper bound. Pass `human_error=` "
            "(or `baseline_error=`) for a sharper estimate."
        )
    bias = train - ref_value
    if reference == "human" and train < human:
        notes.append(
            f"The training error ({fmt(train)}) is below the human-level error ({fmt(human)}). "
            "Human-level error is only a proxy for the best achievable (Bayes) error: the figure may be "
            "too pessimistic (a team of experts may do better), or the model memorises the training "
            "set (see the variance). The avoidable bias is taken as ~0."
        )
    if reference == "baseline" and train < baseline:
        notes.append(
            f"The training error ({fmt(train)}) is already below the best baseline's ({fmt(baseline)}); "
            "the avoidable bias is taken as ~0."
        )

    # Variance, data mismatch, dev overfitting.
    variance_includes_mismatch = False
    mismatch = None
    if train_dev is not None:
        variance: float | None = train_dev - train
        if dev is not None:
            mismatch = dev - train_dev
            if mismatch < -tol:
                notes.append(
                    f"The dev error ({fmt(dev)}) is lower than the train-dev error ({fmt(train_dev)}): the "
                    "dev data looks easier than the training data."
                )
    elif dev is not None:
        variance = dev - train
        variance_includes_mismatch = True
        notes.append(
            "No train-dev set: the variance figure is dev − train, which mixes variance with data "
            "mismatch. Hold out part of the training data (same distribution) as a train-dev set to "
            "separate them."
        )
    else:
        variance = None
        notes.append("No dev or train-dev set: variance cannot be estimated.")
    dev_overfitting = None if (test is None or dev is None) else test - dev

    # The model compared with the human level on unseen data.
    seen_dev = dev if dev is not None else train_dev
    if human is not None and seen_dev is not None and seen_dev < human:
        notes.append(
            f"The model beats the human-level error on held-out data ({fmt(seen_dev)} < {fmt(human)}). "
            "Progress gets harder from here: human insight and human labels help less, the Bayes error "
            "is unknown, so rely on error analysis of the remaining errors."
        )

    gaps = {
        "avoidable_bias": bias,
        "variance": variance,
        "data_mismatch": mismatch,
        "dev_overfitting": dev_overfitting,
    }
    significant = {k: v for k, v in gaps.items() if v is not None and v > tol}

    # A model that does not beat common sense: everything else is secondary.
    model_error = next(v for v in (dev, train_dev, train) if v is not None)
    model_split = (
        "dev" if dev is not None else ("train-dev" if train_dev is not None else "training")
    )
    if common is not None and model_error >= common:
        primary = "worse_than_baseline"
        verdict = (
            f"The model's {model_split} error ({fmt(model_error)}) does not beat the common-sense baseline "
            f"({fmt(common)}): something is probably broken (data, labels, loss or training), so the "
            "other gaps mean little until it is fixed."
        )
    elif significant:
        primary = max(_GAP_ORDER, key=lambda k: significant.get(k, -math.inf))
        value = significant[primary]
        if primary == "avoidable_bias":
            verdict = (
                f"The largest gap is avoidable bias ({fmt(value)}): the training error ({fmt(train)}) is "
                f"far above {ref_name} ({fmt(ref_value)}), so the model underfits."
            )
        elif primary == "variance":
            other = (
                f"dev error ({fmt(dev)})"
                if variance_includes_mismatch
                else f"train-dev error ({fmt(train_dev)})"
            )
            verdict = (
                f"The largest gap is variance ({fmt(value)}): the {other} is far above the training "
                f"error ({fmt(train)}), so the model does not generalise beyond its training data."
            )
            if variance_includes_mismatch:
                verdict += " (Without a train-dev set this may include data mismatch.)"
        elif primary == "data_mismatch":
            verdict = (
                f"The largest gap is data mismatch ({fmt(value)}): the model does well on held-out "
                f"training-distribution data (train-dev {fmt(train_dev)}) but worse on the dev data "
                f"({fmt(dev)}), which comes from a different distribution."
            )
        else:
            verdict = (
                f"The largest gap is dev-set overfitting ({fmt(value)}): the test error ({fmt(test)}) is "
                f"above the dev error ({fmt(dev)}), so the choices made on the dev set overfit it."
            )
    else:
        primary = "none"
        verdict = (
            f"No gap stands out (none above the tolerance of {fmt(tol)}): the model is close to "
            f"{ref_name} ({fmt(ref_value)}) and generalises to the data it was given."
        )

    recommendations = list(REMEDIES[primary])
    others = sorted((k for k in significant if k != primary), key=lambda k: -significant[k])
    for k in others:
        recommendations += [r for r in REMEDIES[k] if r not in recommendations]
    return Diagnosis(
        task=task,
        metric=metric,
        train_error=train,
        train_dev_error=train_dev,
        dev_error=dev,
        test_error=test,
        human_error=human,
        baseline_error=baseline,
        common_sense_error=common,
        reference=reference,
        avoidable_bias=bias,
        variance=variance,
        variance_includes_mismatch=variance_includes_mismatch,
        data_mismatch=mismatch,
        dev_overfitting=dev_overfitting,
        tolerance=tol,
        primary=primary,
        verdict=verdict,
        recommendations=recommendations,
        notes=notes,
    )


# --------------------------------------------------------------------------- errors from predictions


def _loss_of(model: Any) -> Any:
    """The model's compiled loss as a `Loss` (None when absent or per output)."""
    spec = getattr(model, "loss", None)
    if spec is None or isinstance(spec, (list, tuple, dict)):
        return None
    try:
        return losses_mod.get(spec)
    except (TypeError, ValueError):
        return None


def _as_numpy(value: Any, owner: str, name: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception as e:  # noqa: BLE001 - any conversion failure becomes one clear error
        raise TypeError(
            f"`{owner}` expects `{name}` to be array-like (NumPy, torch, pandas). "
            f"Received: {name} of type {type(value).__name__}."
        ) from e


def classification_error(y_true: Any, y_pred: Any, *, loss: Any = None) -> float:
    """1 − accuracy of predicted scores against labels.

    Multi-unit outputs are compared by argmax (labels may be integers or one-hot;
    with a binary-crossentropy `loss` each unit is a separate 0/1 label). A single
    unit is thresholded at 0.5, or at 0 when the loss has ``from_logits=True``
    (without a loss: 0.5 when every output lies in [0, 1], else 0).

    Args:
        y_true: Labels, shape ``(n,)``, ``(n, 1)`` or one-hot ``(n, classes)``.
        y_pred: Model outputs, shape ``(n, units)`` or ``(n,)``.
        loss: The compiled `Loss` (or None), for `from_logits` and its kind.
            Defaults to `None`.

    Returns:
        The error rate in [0, 1].
    """
    y_true = _as_numpy(y_true, "classification_error", "y_true")
    y_pred = _as_numpy(y_pred, "classification_error", "y_pred").astype(np.float64)
    kind = getattr(loss, "kind", None)
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:
        if kind == "binary_crossentropy":  # multi-label: one 0/1 decision per unit
            threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
            truth = y_true.reshape(y_pred.shape) >= 0.5
            return float(np.mean((y_pred > threshold) != truth))
        predicted = y_pred.argmax(-1)
        truth = (
            y_true.argmax(-1) if y_true.shape == y_pred.shape else y_true.reshape(predicted.shape)
        )
        return float(np.mean(predicted != truth))
    scores = y_pred.reshape(-1)
    if loss is not None and kind is not None:
        threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
    else:
        threshold = (
            0.5 if (scores.min(initial=0.0) >= 0.0 and scores.max(initial=0.0) <= 1.0) else 0.0
        )
    truth = y_true.reshape(-1).astype(np.float64) >= 0.5
    return float(np.mean((scores > threshold) != truth))


def regression_error(y_true: Any, y_pred: Any, metric: str = "mae") -> float:
    """The mean absolute error (``"mae"``) or root mean squared error (``"rmse"``).

    Args:
        y_true: Targets, shape ``(n, ...)``.
        y_pred: Predictions with as many values per sample.
        metric: ``"mae"`` or ``"rmse"``. Defaults to `"mae"`.
    """
    validation.one_of("regression_error", "metric", metric, ("mae", "rmse"))
    y_true = _as_numpy(y_true, "regression_error", "y_true").astype(np.float64)
    y_pred = _as_numpy(y_pred, "regression_error", "y_pred").astype(np.float64)
    n = y_pred.shape[0]
    if y_true.size != y_pred.size:
        raise ValueError(
            "`regression_error` expects as many targets as predictions per sample. "
            f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}."
        )
    diff = y_pred.reshape(n, -1) - y_true.reshape(n, -1)
    if metric == "mae":
        return float(np.mean(np.abs(diff)))
    return float(np.sqrt(np.mean(diff**2)))


def _infer_task(loss: Any, y: np.ndarray, y_pred: np.ndarray) -> str:
    kind = getattr(loss, "kind", None)
    if kind in _CLASSIFICATION_KINDS:
        return "classification"
    if kind == "regression":
        return "regression"
    integral = (
        np.issubdtype(y.dtype, np.integer)
        or np.issubdtype(y.dtype, np.bool_)
        or (
            np.issubdtype(y.dtype, np.floating)
            and np.all(np.isfinite(y))
            and np.all(y == np.round(y))
        )
    )
    if not integral:
        return "regression"
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:
        return "classification"
    return "classification" if set(np.unique(y)) <= {0, 1} else "regression"


def _get_split(splits: Any, name: str) -> Any:
    if isinstance(splits, Mapping):
        return splits.get(name)
    return getattr(splits, name, None)


def _check_pair(pair: Any, name: str) -> tuple[Any, Any] | None:
    if pair is None:
        return None
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(
            f"`diagnose` expects `{name}` to be an `(x, y)` pair or None. "
            f"Received: {name} of type {type(pair).__name__}"
            + (f" with {len(pair)} entries" if isinstance(pair, (tuple, list)) else "")
            + ". Pass `(x, y)`."
        )
    return pair[0], pair[1]


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
) -> Diagnosis:
    """Diagnoses a trained model from its errors on the data splits.

    Computes the error on each split from `model.predict`, the gaps between them
    (avoidable bias, variance, data mismatch, dev-set overfitting), names the
    largest as the primary problem and lists remedies in priority order.

    Args:
        model: A trained Lamina model (single output).
        splits: An object (such as the result of `lamina.data.split`) or dict with
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
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (from the compiled
            loss, else from the labels). Defaults to `"auto"`.
        tolerance: Gaps at or below this count as no gap; see
            `Diagnosis.from_errors`. Defaults to `None`.
        batch_size: Batch size for `predict`. Defaults to `256`.

    Returns:
        A `Diagnosis`: print it for a table, the verdict and what to try next.

    Example:
        >>> d = diagnose(model, train=(x_tr, y_tr), dev=(x_dev, y_dev), human_error=0.01)  # doctest: +SKIP
        >>> print(d)  # doctest: +SKIP
    """
    owner = "diagnose"
    validation.one_of(owner, "task", task, TASKS)
    validation.one_of(owner, "metric", metric, METRICS)
    validation.positive_int(owner, "batch_size", batch_size)
    keywords = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
    if splits is not None:
        given = [k for k, v in keywords.items() if v is not None]
        if given:
            raise ValueError(
                "`diagnose` expects either `splits` or the keyword pairs, not both. "
                f"Received: splits={type(splits).__name__} and {', '.join(given)}=... "
                "Pass only `splits`, or only the pairs."
            )
        keywords = {k: _get_split(splits, k) for k in keywords}
    pairs = {k: _check_pair(v, k) for k, v in keywords.items()}
    if pairs["train"] is None:
        raise ValueError(
            "`diagnose` needs the training data to measure the training error. "
            "Received: train=None. Pass `train=(x_train, y_train)` or a `splits` object with `train`."
        )
    if getattr(model, "predict", None) is None:
        raise TypeError(
            f"`diagnose` expects a Lamina model with `predict`. Received: model of type {type(model).__name__}."
        )

    loss = _loss_of(model)
    predictions: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, pair in pairs.items():
        if pair is None:
            continue
        x, y = pair
        y_pred = model.predict(x, batch_size=batch_size, verbose=0)
        if isinstance(y_pred, (list, tuple, dict)):
            raise ValueError(
                "`diagnose` supports models with one output. Received a model with "
                f"{len(y_pred)} outputs. Diagnose each output with `Diagnosis.from_errors`."
            )
        y_true = _as_numpy(y, owner, f"{name}[1]")
        if len(y_true) != len(y_pred):
            raise ValueError(
                f"`diagnose` expects as many labels as inputs in `{name}`. "
                f"Received: {len(y_pred)} inputs and {len(y_true)} labels."
            )
        predictions[name] = (y_true, np.asarray(y_pred))

    if task == "auto":
        task = _infer_task(loss, *predictions["train"])
    if metric == "auto":
        metric = "error" if task == "classification" else "mae"
    if task == "classification" and metric != "error":
        raise ValueError(
            f"`diagnose` expects `metric='error'` (1 − accuracy) for classification. Received: "
            f"metric={metric!r}. Use 'error', or pass `task='regression'`."
        )
    if task == "regression" and metric == "error":
        raise ValueError(
            "`diagnose` expects `metric` to be 'mae' or 'rmse' for regression. Received: "
            "metric='error'. Use 'mae' or 'rmse', or pass `task='classification'`."
        )

    errors: dict[str, float | None] = {k: None for k in pairs}
    for name, (y_true, y_pred) in predictions.items():
        if task == "classification":
            errors[name] = classification_error(y_true, y_pred, loss=loss)
        else:
            errors[name] = regression_error(y_true, y_pred, metric)
    return Diagnosis.from_errors(
        train=errors["train"],
        train_dev=errors["train_dev"],
        dev=errors["dev"],
        test=errors["test"],
        human=human_error,
        baseline=baseline_error,
        common_sense=common_sense_error,
        task=task,
        metric=metric,
        tolerance=tolerance,
    )
