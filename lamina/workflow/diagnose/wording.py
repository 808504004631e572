"""The vocabulary of a diagnosis: the problems, their remedies, and how numbers are written."""

from __future__ import annotations

from lamina.workflow.uncertainty import Interval

PROBLEMS = (
    "avoidable_bias",
    "variance",
    "data_mismatch",
    "dev_overfitting",
    "worse_than_baseline",
    "inconclusive",
    "none",
)
TASKS = ("auto", "classification", "regression")
METRICS = ("auto", "error", "mae", "rmse")
SPLITS = ("train", "train_dev", "dev", "test")
GAP_ORDER = ("avoidable_bias", "variance", "data_mismatch", "dev_overfitting")
LABELS = {
    "avoidable_bias": "avoidable bias",
    "variance": "variance",
    "data_mismatch": "data mismatch",
    "dev_overfitting": "dev-set overfitting",
}
SET_LABELS = {"train": "training", "train_dev": "train-dev", "dev": "dev", "test": "test"}
POWER = 0.8

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
    "inconclusive": [
        "Do not act on one gap yet: with these set sizes the gaps cannot be told from sampling noise. "
        "Enlarge the small sets and diagnose again.",
        "Meanwhile, do error analysis on the dev errors (lamina.workflow.analyze_errors) to see what "
        "they have in common.",
    ],
    "none": [
        "No gap stands out: do error analysis on the remaining dev errors to find what to fix next.",
        "Check that the human-level or baseline target is the right one; if it is, evaluate once on the test set.",
    ],
}


def fmt(value: float | None, task: str) -> str:
    """An error or a reference error: ``"8.25%"`` for classification, ``"40.5"`` otherwise."""
    if value is None:
        return "-"
    if task == "classification":
        return f"{100 * value:.2f}%"
    return f"{value:.4g}"


def points(value: float, task: str) -> str:
    """A gap: ``"4.5 points"`` (percentage points) for classification, ``"0.731"`` otherwise."""
    if task == "classification":
        return f"{100 * value:.1f} points"
    return f"{value:.3g}"


def ci(interval: Interval, task: str) -> str:
    """The bounds of an interval: ``"95% CI -2.1 to 8.9"`` (percent for classification)."""
    scale = 100.0 if task == "classification" else 1.0
    level = f"{100 * interval.confidence:g}%"
    if task == "classification":
        return f"{level} CI {scale * interval.low:.1f} to {scale * interval.high:.1f}"
    return f"{level} CI {interval.low:.3g} to {interval.high:.3g}"


def with_ci(value: float, interval: Interval | None, task: str, *, gap: bool = False) -> str:
    """A number with its interval and sample size: ``"8.25% (95% CI 5.9 to 11.4, n=400)"``."""
    text = points(value, task) if gap else fmt(value, task)
    if interval is None:
        return text
    size = "" if gap or interval.n is None else f", n={interval.n}"
    return f"{text} ({ci(interval, task)}{size})"


def set_phrase(names: list[str], sizes: dict[str, int | None]) -> str:
    """The smallest of ``names`` with its size, and any other within twice its size:
    ``"the train-dev set of 30 examples"``, ``"the train-dev and dev sets (30 and 45 examples)"``."""
    known = sorted((n for n in names if sizes.get(n)), key=lambda n: sizes[n] or 0)
    if not known:
        return "these sets"
    small = sizes[known[0]] or 0
    named = [n for n in known if (sizes[n] or 0) <= 2 * small]
    if len(named) == 1:
        return f"the {SET_LABELS[named[0]]} set of {small} examples"
    labels = join([SET_LABELS[n] for n in named])
    counts = join([str(sizes[n]) for n in named])
    return f"the {labels} sets ({counts} examples)"


def join(items: list[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"
