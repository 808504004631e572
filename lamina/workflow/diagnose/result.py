"""`Diagnosis`: the errors on each split with their intervals, the gaps, and what to do next."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from lamina.utils import validation
from lamina.workflow.diagnose.checks import (
    check_confidence,
    check_error,
    check_metric,
    check_references,
    check_sizes,
)
from lamina.workflow.diagnose.evidence import SplitEvidence
from lamina.workflow.diagnose.gaps import Analysis, analyse
from lamina.workflow.diagnose.table import render_table
from lamina.workflow.diagnose.verdict import decide
from lamina.workflow.diagnose.wording import GAP_ORDER, METRICS, SPLITS
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

_INTERVAL_MAPS = ("error_intervals", "gap_intervals")


@dataclass
class Diagnosis:
    """The errors on each split, the gaps between them, how sure they are, and what to do next.

    Build one with `diagnose(model, ...)`, with `Diagnosis.from_predictions(...)`
    from `Predictions`, or with `Diagnosis.from_errors(...)` from error numbers.
    Errors are in the units of `metric` (``"error"`` = 1 − accuracy, ``"mae"``,
    ``"rmse"``); gaps are differences of errors and may be negative.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        metric: The error measure: ``"error"``, ``"mae"`` or ``"rmse"``.
        train_error, train_dev_error, dev_error, test_error: Point estimates of
            the error per split (None when the split was not given).
        human_error, baseline_error, common_sense_error: The reference errors given.
        reference: What the avoidable bias is measured against: ``"human"``,
            ``"baseline"`` or ``"zero"`` (nothing given).
        avoidable_bias: ``train − reference`` (negative when the training error is
            below the reference).
        variance: ``train_dev − train``, or ``dev − train`` without a train-dev set.
        variance_includes_mismatch: True when there was no train-dev set, so
            `variance` also contains any data mismatch.
        data_mismatch: ``dev − train_dev`` (None without both sets).
        dev_overfitting: ``test − dev`` (None without both sets).
        tolerance: Gaps at or below this count as no gap.
        primary: The main problem, one of ``"avoidable_bias"``, ``"variance"``,
            ``"data_mismatch"``, ``"dev_overfitting"``, ``"worse_than_baseline"``,
            ``"inconclusive"`` (the sets are too small to say), ``"none"``.
        verdict: The primary problem in words, with its numbers.
        recommendations: What to try, in priority order.
        notes: Explanations of edge cases (missing sets, beating human level, ...).
        sizes: Number of examples per split (``"train"``, ``"train_dev"``, ``"dev"``,
            ``"test"``; None when unknown).
        error_intervals: The interval of each split's error (Wilson for error
            rates, bootstrap for the MAE / RMSE), None without one.
        gap_intervals: The interval of each gap (difference of two errors on
            independent sets; the avoidable bias is the training error's
            interval minus the reference), None without one.
        established: Per gap, True when its estimate is positive and its whole
            interval lies above the tolerance (False without an interval).
        confidence: The confidence level of the intervals.
        samples_needed: For an ``"inconclusive"`` verdict, the examples each set
            needs to settle it at 80 % power: ``{"gap", "versus", "difference",
            "per_set", "sets", "current", "power", "against"}`` (``versus``: the
            other gap when two established gaps cannot be told apart; ``against``:
            ``"zero"``, or ``"tolerance"`` when the gap is known to be positive but
            not to exceed the tolerance); else None.
        separation: The interval of the largest established gap minus the second
            largest (None with fewer than two established gaps).
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
    sizes: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(SPLITS))
    error_intervals: dict[str, Interval | None] = field(
        default_factory=lambda: dict.fromkeys(SPLITS)
    )
    gap_intervals: dict[str, Interval | None] = field(
        default_factory=lambda: dict.fromkeys(GAP_ORDER)
    )
    established: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(GAP_ORDER, False))
    confidence: float = 0.95
    samples_needed: dict[str, Any] | None = None
    separation: Interval | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_predictions(
        cls,
        *,
        train: Predictions,
        train_dev: Predictions | None = None,
        dev: Predictions | None = None,
        test: Predictions | None = None,
        human: float | None = None,
        baseline: float | None = None,
        common_sense: float | None = None,
        metric: str = "auto",
        tolerance: float | None = None,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> Diagnosis:
        """Builds the diagnosis, with intervals, from the predictions on each split.

        Args:
            train: `Predictions` on the training data.
            train_dev: `Predictions` on a train-dev set (held-out data from the
                training distribution). Defaults to `None`.
            dev: `Predictions` on the dev set. Defaults to `None`.
            test: `Predictions` on the test set. Defaults to `None`.
            human: Human-level error (proxy for the best achievable error). Defaults to `None`.
            baseline: Error of the best baseline model. Defaults to `None`.
            common_sense: Error of the common-sense baseline. Defaults to `None`.
            metric: ``"error"``, ``"mae"``, ``"rmse"`` or ``"auto"`` (``"error"`` for
                classification, ``"mae"`` for regression). Defaults to `"auto"`.
            tolerance: Gaps at or below this count as no gap; see `from_errors`.
                Defaults to `None`.
            confidence: Confidence level of the intervals. Defaults to 0.95.
            seed: Seed of the bootstraps. Defaults to 0.

        Returns:
            A `Diagnosis`.

        Example:
            >>> import numpy as np
            >>> from lamina.workflow import Predictions
            >>> y = np.zeros(400, dtype=int)
            >>> train = Predictions(y, np.where(np.arange(400) < 4, 1, 0))
            >>> dev = Predictions(y, np.where(np.arange(400) < 60, 1, 0))
            >>> Diagnosis.from_predictions(train=train, dev=dev, human=0.0).primary
            'variance'
        """
        owner = "Diagnosis.from_predictions"
        given = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
        for name, p in given.items():
            if not (isinstance(p, Predictions) or (p is None and name != "train")):
                raise TypeError(
                    f"`{owner}` expects `{name}` to be a `Predictions`"
                    + ("" if name == "train" else " or None")
                    + f". Received: {name} of type {type(p).__name__}. Build one with "
                    "`Predictions.from_model(model, x, y)`."
                )
            if p is not None and p.task != train.task:
                raise ValueError(
                    f"`{owner}` expects every split to have the training split's task "
                    f"({train.task!r}). Received: {name} with task={p.task!r}. Build all the "
                    "predictions with the same `task=`."
                )
        metric = check_metric(owner, train.task, metric)
        refs = check_references(owner, train.task, human, baseline, common_sense)
        confidence, seed = check_confidence(owner, confidence, seed)
        validation.number(owner, "tolerance", tolerance, low=0.0, allow_none=True)
        evidence = {
            name: SplitEvidence.from_predictions(name, p, metric, confidence, seed)
            for name, p in given.items()
            if p is not None
        }
        errors = {k: (evidence[k].estimate if k in evidence else None) for k in SPLITS}
        sizes = {k: (evidence[k].n if k in evidence else None) for k in SPLITS}
        analysis = analyse(
            train.task,
            metric,
            errors,
            refs,
            tolerance=tolerance,
            evidence=evidence,
            sizes=sizes,
            confidence=confidence,
            seed=seed,
        )
        return _build(analysis)

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
        sizes: Mapping[str, int] | None = None,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> Diagnosis:
        """Builds the diagnosis from error numbers computed elsewhere.

        With the split `sizes` of a classification task, the intervals come from
        the error counts (``round(rate * n)``) and the verdict weighs them as
        `diagnose` does. Without sizes (or for regression, whose intervals need
        the per-example errors) there are no intervals: the verdict compares the
        point estimates, and a note says so.

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
            sizes: Number of examples per split, e.g. ``{"train": 400, "dev": 400}``.
                Defaults to `None`.
            confidence: Confidence level of the intervals. Defaults to 0.95.
            seed: Seed of the bootstrap that compares two gaps. Defaults to 0.

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
        values = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
        high = 1.0 if task == "classification" else None
        for name, value in values.items():
            check_error(owner, name, value, high, allow_none=name != "train")
        errors = {k: None if v is None else float(v) for k, v in values.items()}
        refs = check_references(owner, task, human, baseline, common_sense)
        validation.number(owner, "tolerance", tolerance, low=0.0, allow_none=True)
        confidence, seed = check_confidence(owner, confidence, seed)
        counts = check_sizes(owner, sizes, errors)
        evidence = {}
        if task == "classification" and metric == "error":
            evidence = {
                k: SplitEvidence.from_rate(k, errors[k], n, confidence) for k, n in counts.items()
            }
        analysis = analyse(
            task,
            metric,
            errors,
            refs,
            tolerance=tolerance,
            evidence=evidence,
            sizes=counts,
            confidence=confidence,
            seed=seed,
        )
        if counts and not evidence:
            analysis.notes.append(
                "Intervals of regression errors need the error of every example: the sizes alone "
                "do not give them. Use `diagnose(model, ...)` or `Diagnosis.from_predictions(...)`."
            )
        return _build(analysis)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnosis:
        """The `Diagnosis` written by `to_dict` (a report read back)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown or "task" not in data or "train_error" not in data:
            raise ValueError(
                "`Diagnosis.from_dict` expects the keys of `Diagnosis.to_dict()`. Received: "
                f"unknown keys {unknown}" + ("" if "task" in data else " and no 'task'") + "."
            )
        values = dict(data)
        for key in _INTERVAL_MAPS:
            if key in values:
                values[key] = {
                    k: None if v is None else Interval.from_dict(v) for k, v in values[key].items()
                }
        if values.get("separation") is not None:
            values["separation"] = Interval.from_dict(values["separation"])
        return cls(**values)

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
        return {name: getattr(self, name) for name in GAP_ORDER}

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-serialisable values (intervals as `Interval.to_dict()` dicts)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _INTERVAL_MAPS:
                value = {k: None if v is None else v.to_dict() for k, v in value.items()}
            elif isinstance(value, Interval):
                value = value.to_dict()
            elif isinstance(value, (dict, list)):
                value = json.loads(json.dumps(value))
            out[f.name] = value
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """Returns `to_dict()` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    def table(self, width: int = 120) -> str:
        """Returns the errors and gaps, with their intervals, as a table in plain text."""
        return render_table(self, width)

    def __str__(self) -> str:
        lines = [self.table().rstrip(), "", f"Verdict: {self.verdict}", "", "Try next, in order:"]
        lines += [f"  {i}. {r}" for i, r in enumerate(self.recommendations, 1)]
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _build(a: Analysis) -> Diagnosis:
    d = decide(a)
    return Diagnosis(
        task=a.task,
        metric=a.metric,
        train_error=a.errors["train"],  # type: ignore[arg-type]
        train_dev_error=a.errors["train_dev"],
        dev_error=a.errors["dev"],
        test_error=a.errors["test"],
        human_error=a.human,
        baseline_error=a.baseline,
        common_sense_error=a.common,
        reference=a.reference,
        avoidable_bias=a.gaps["avoidable_bias"],
        variance=a.gaps["variance"],
        variance_includes_mismatch=a.variance_includes_mismatch,
        data_mismatch=a.gaps["data_mismatch"],
        dev_overfitting=a.gaps["dev_overfitting"],
        tolerance=a.tolerance,
        primary=d.primary,
        verdict=d.verdict,
        recommendations=d.recommendations,
        notes=a.notes + d.notes,
        sizes=dict(a.sizes),
        error_intervals=dict(a.error_intervals),
        gap_intervals=dict(a.gap_intervals),
        established=dict(a.established),
        confidence=a.confidence,
        samples_needed=d.samples_needed,
        separation=d.separation,
    )
