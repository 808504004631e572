"""A model against a baseline on the same examples: McNemar's exact test for
classifiers, a paired bootstrap of the metric difference for regression.

Both models are scored on one evaluation set, so their errors are paired: the
examples one model finds hard the other usually finds hard too. A paired
comparison removes that shared difficulty and tells two models apart with far
fewer examples than two separate intervals would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval, McNemarResult

__all__ = ["BaselineComparison", "compare_predictions", "metric_interval", "format_difference"]


@dataclass(frozen=True)
class BaselineComparison:
    """A model compared with a baseline on the same evaluation examples.

    Attributes:
        name: The model's name.
        baseline: The baseline's name (by default the best one).
        metric: The metric the difference is on: ``"accuracy"`` (classification)
            or ``"mae"`` / ``"rmse"`` (regression).
        difference: The model's advantage in metric units, positive when the
            model is better: accuracy(model) - accuracy(baseline) as a fraction
            (0.015 is 1.5 points), or MAE(baseline) - MAE(model) in target units.
            Classification: Newcombe's interval for paired proportions (the one
            `uncertainty.mcnemar_test` gives); regression: a seeded paired
            percentile bootstrap.
        p_value: McNemar's exact two-sided p-value (classification), None for the
            bootstrap.
        distinguishable: True when the two models differ at the interval's level:
            the interval excludes 0 (and, for classifiers, McNemar's p < 1 - confidence).
        text: One sentence, e.g. ``"mlp beats the best baseline
            (logistic_regression) by 1.5 points (95% CI 0.4 to 2.6, n=400; McNemar
            exact p = 0.008)."``
        method: ``"mcnemar exact"`` or ``"paired bootstrap"``.
        only_model_correct: Examples only the model gets right (classification), else None.
        only_baseline_correct: Examples only the baseline gets right (classification), else None.
    """

    name: str
    baseline: str
    metric: str
    difference: Interval
    p_value: float | None
    distinguishable: bool
    text: str
    method: str
    only_model_correct: int | None = None
    only_baseline_correct: int | None = None

    @property
    def n(self) -> int | None:
        """Number of paired examples."""
        return self.difference.n

    @property
    def outcome(self) -> str:
        """``"better"``, ``"worse"`` or ``"not distinguishable"``."""
        if not self.distinguishable:
            return "not distinguishable"
        return "better" if self.difference.estimate > 0 else "worse"

    def to_dict(self) -> dict[str, Any]:
        """Every number as JSON-able values (the interval as `Interval.to_dict()`)."""
        return {
            "name": self.name,
            "baseline": self.baseline,
            "metric": self.metric,
            "method": self.method,
            "n": self.n,
            "difference": self.difference.to_dict(),
            "p_value": self.p_value,
            "distinguishable": self.distinguishable,
            "outcome": self.outcome,
            "only_model_correct": self.only_model_correct,
            "only_baseline_correct": self.only_baseline_correct,
            "text": self.text,
        }

    def __str__(self) -> str:
        return self.text


def metric_interval(predictions: Predictions, metric: str, confidence: float = 0.95) -> Interval:
    """The interval of ``metric`` on ``predictions``: the accuracy (1 - the Wilson
    interval of the error rate, bounds swapped), the MAE or the RMSE (bootstrap)."""
    if metric == "accuracy":
        err = predictions.error_interval("error", confidence=confidence)
        return Interval(
            1.0 - err.estimate, 1.0 - err.high, 1.0 - err.low, err.n, err.confidence, err.method
        )
    return predictions.error_interval(metric, confidence=confidence)


def format_difference(metric: str, value: float) -> str:
    """A difference in metric units for text: points of accuracy, or the metric's units."""
    if metric == "accuracy":
        return f"{100.0 * value:.1f}"
    return f"{value:.3g}"


def _sentence(
    name: str, baseline: str, label: str, metric: str, diff: Interval, outcome: str, p: float | None
) -> str:
    unit = " points" if metric == "accuracy" else f" in {metric.upper()}"
    lo, hi = format_difference(metric, diff.low), format_difference(metric, diff.high)
    ci = f"{diff.confidence * 100:g}% CI {lo} to {hi}, n={diff.n}"
    test = "" if p is None else f"; McNemar exact p = {p:.3g}"
    size = format_difference(metric, abs(diff.estimate))
    if outcome == "better":
        return f"{name} beats the {label} ({baseline}) by {size}{unit} ({ci}{test})."
    if outcome == "worse":
        return f"{name} is worse than the {label} ({baseline}) by {size}{unit} ({ci}{test})."
    return (
        f"{name} is not distinguishable from the {label} ({baseline}): difference "
        f"{format_difference(metric, diff.estimate)}{unit} ({ci}{test})."
    )


def compare_predictions(
    name: str,
    model: Predictions,
    baseline_name: str,
    baseline: Predictions,
    metric: str,
    *,
    label: str = "best baseline",
    confidence: float = 0.95,
    seed: int = 0,
) -> BaselineComparison:
    """Compares ``model`` with ``baseline`` on the same examples (see `BaselineComparison`).

    Args:
        name: The model's name.
        model: The model's predictions on the evaluation set.
        baseline_name: The baseline's name.
        baseline: The baseline's predictions on the same examples, in the same order.
        metric: ``"accuracy"``, ``"mae"`` or ``"rmse"``.
        label: How the baseline is called in the text. Defaults to ``"best baseline"``.
        confidence: Confidence level. Defaults to 0.95.
        seed: Seed of the bootstrap (regression). Defaults to 0.
    """
    if model.n != baseline.n:
        raise ValueError(
            f"`BaselineTable.compare` pairs the predictions of {name!r} and {baseline_name!r} on the "
            f"same evaluation examples. Received: {model.n} predictions for {name!r} and {baseline.n} "
            f"for {baseline_name!r}. Predict both on the table's evaluation set."
        )
    result = model.compare(
        baseline, "error" if metric == "accuracy" else metric, confidence=confidence, seed=seed
    )
    if isinstance(result, McNemarResult):
        diff, p = result.difference, result.p_value
        apart = result.p_value < 1.0 - confidence and diff.excludes(0.0)
        counts = (result.only_a_correct, result.only_b_correct)
        method = "mcnemar exact"
    else:
        diff, p, apart, counts = result, None, result.excludes(0.0), (None, None)
        method = "paired bootstrap"
    outcome = "not distinguishable" if not apart else ("better" if diff.estimate > 0 else "worse")
    text = _sentence(name, baseline_name, label, metric, diff, outcome, p)
    return BaselineComparison(name, baseline_name, metric, diff, p, apart, text, method, *counts)
