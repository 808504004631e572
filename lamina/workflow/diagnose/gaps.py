"""The gap arithmetic of a diagnosis: the gaps, their intervals, which are established.

==================  ====================================  ===========================
gap                 computed as                           means
==================  ====================================  ===========================
avoidable bias      train − human-level (or baseline)     the model underfits
variance            train-dev − train (or dev − train)    it does not generalise
data mismatch       dev − train-dev                       dev data differs from train
dev overfitting     test − dev                            tuning overfit the dev set
==================  ====================================  ===========================

A gap between two sets gets the interval of the difference of two errors on
independent sets (`Predictions.gap`: Newcombe for error rates, bootstrap
otherwise); the avoidable bias against a given number is the training error's
interval shifted by that number. A gap is *established* when its interval lies
above the tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lamina.workflow.diagnose.evidence import SplitEvidence, gap_interval, shifted
from lamina.workflow.diagnose.wording import GAP_ORDER, SPLITS, fmt
from lamina.workflow.uncertainty import Interval


@dataclass
class Analysis:
    """The numbers a verdict is drawn from (internal to the diagnosis)."""

    task: str
    metric: str
    errors: dict[str, float | None]
    human: float | None
    baseline: float | None
    common: float | None
    reference: str
    ref_value: float
    ref_name: str
    gaps: dict[str, float | None]
    variance_includes_mismatch: bool
    tolerance: float
    confidence: float
    seed: int
    sizes: dict[str, int | None]
    evidence: dict[str, SplitEvidence] = field(default_factory=dict)
    error_intervals: dict[str, Interval | None] = field(default_factory=dict)
    gap_intervals: dict[str, Interval | None] = field(default_factory=dict)
    established: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def has_intervals(self) -> bool:
        """True when every gap that was measured has an interval."""
        present = [k for k, v in self.gaps.items() if v is not None]
        return bool(self.evidence) and all(self.gap_intervals.get(k) is not None for k in present)

    def coefficients(self, gap: str) -> dict[str, float]:
        """The gap as a combination of set errors (the reference is a constant)."""
        if gap == "avoidable_bias":
            return {"train": 1.0}
        if gap == "variance":
            other = "dev" if self.variance_includes_mismatch else "train_dev"
            return {other: 1.0, "train": -1.0}
        if gap == "data_mismatch":
            return {"dev": 1.0, "train_dev": -1.0}
        return {"test": 1.0, "dev": -1.0}

    def sets(self, gap: str) -> list[str]:
        """The sets a gap is measured on, the subtracted one first."""
        return sorted(self.coefficients(gap), key=lambda k: self.coefficients(gap)[k])


def default_tolerance(task: str, errors: dict[str, float | None]) -> float:
    """Half a percentage point for error rates; 2 % of the largest error otherwise."""
    if task == "classification":
        return 0.005
    present = [v for v in errors.values() if v is not None]
    return 0.02 * max(present) if present else 0.0


def _reference(a: Analysis) -> None:
    fmt_ = lambda v: fmt(v, a.task)  # noqa: E731
    train = a.errors["train"]
    assert train is not None
    if a.reference == "baseline":
        a.notes.append(
            f"No human-level error given: the best baseline's error ({fmt_(a.baseline)}) stands in "
            "for the achievable error. The achievable error is at most the baseline's, so the "
            "avoidable bias estimate (train − baseline) is a lower bound: the true bias may be larger."
        )
    elif a.reference == "zero":
        a.notes.append(
            "No human-level or baseline error given: the achievable error is taken as 0, so the "
            "avoidable bias estimate (= training error) is an upper bound. Pass `human_error=` "
            "(or `baseline_error=`) for a sharper estimate."
        )
    if a.reference == "human" and a.human is not None and train < a.human:
        a.notes.append(
            f"The training error ({fmt_(train)}) is below the human-level error ({fmt_(a.human)}). "
            "Human-level error is only a proxy for the best achievable (Bayes) error: the figure may "
            "be too pessimistic (a team of experts may do better), or the model memorises the "
            "training set (see the variance). The avoidable bias is taken as ~0."
        )
    if a.reference == "baseline" and a.baseline is not None and train < a.baseline:
        a.notes.append(
            f"The training error ({fmt_(train)}) is already below the best baseline's "
            f"({fmt_(a.baseline)}); the avoidable bias is taken as ~0."
        )


def _gaps(a: Analysis) -> None:
    e, fmt_ = a.errors, (lambda v: fmt(v, a.task))  # noqa: E731
    train, train_dev, dev, test = e["train"], e["train_dev"], e["dev"], e["test"]
    assert train is not None
    a.gaps["avoidable_bias"] = train - a.ref_value
    if train_dev is not None:
        a.gaps["variance"] = train_dev - train
        if dev is not None:
            a.gaps["data_mismatch"] = dev - train_dev
    elif dev is not None:
        a.gaps["variance"] = dev - train
        a.variance_includes_mismatch = True
        a.notes.append(
            "No train-dev set: the variance figure is dev − train, which mixes variance with data "
            "mismatch. Hold out part of the training data (same distribution) as a train-dev set "
            "to separate them."
        )
    else:
        a.notes.append("No dev or train-dev set: variance cannot be estimated.")
    if test is not None and dev is not None:
        a.gaps["dev_overfitting"] = test - dev
    seen = dev if dev is not None else train_dev
    if a.human is not None and seen is not None and seen < a.human:
        a.notes.append(
            f"The model beats the human-level error on held-out data ({fmt_(seen)} < "
            f"{fmt_(a.human)}). Progress gets harder from here: human insight and human labels help "
            "less, the Bayes error is unknown, so rely on error analysis of the remaining errors."
        )


def _intervals(a: Analysis) -> None:
    for name in SPLITS:
        ev = a.evidence.get(name)
        a.error_intervals[name] = None if ev is None else ev.interval
    for gap in GAP_ORDER:
        value, interval = a.gaps.get(gap), None
        sets = a.sets(gap) if value is not None else []
        if value is not None and all(s in a.evidence for s in sets):
            if gap == "avoidable_bias":
                interval = shifted(a.evidence["train"].interval, a.ref_value)
            else:
                first, second = sets
                interval = gap_interval(
                    a.evidence[first], a.evidence[second], a.metric, a.confidence, a.seed
                )
        a.gap_intervals[gap] = interval
        a.established[gap] = bool(
            value is not None
            and interval is not None
            and value > 0
            and interval.excludes(0.0, a.tolerance)
        )


def analyse(
    task: str,
    metric: str,
    errors: dict[str, float | None],
    refs: dict[str, float | None],
    *,
    tolerance: float | None,
    evidence: dict[str, SplitEvidence],
    sizes: dict[str, int | None],
    confidence: float,
    seed: int,
) -> Analysis:
    """The gaps with their intervals, and the notes on edge cases."""
    human, baseline = refs["human"], refs["baseline"]
    if human is not None:
        reference, ref_value, ref_name = "human", human, "human-level error"
    elif baseline is not None:
        reference, ref_value, ref_name = "baseline", baseline, "best baseline error"
    else:
        reference, ref_value, ref_name = "zero", 0.0, "an achievable error of 0"
    a = Analysis(
        task=task,
        metric=metric,
        errors=dict(errors),
        human=human,
        baseline=baseline,
        common=refs["common_sense"],
        reference=reference,
        ref_value=ref_value,
        ref_name=ref_name,
        gaps={k: None for k in GAP_ORDER},
        variance_includes_mismatch=False,
        tolerance=default_tolerance(task, {**errors, **refs})
        if tolerance is None
        else float(tolerance),
        confidence=confidence,
        seed=seed,
        sizes={k: sizes.get(k) for k in SPLITS},
        evidence=evidence,
    )
    _reference(a)
    _gaps(a)
    _intervals(a)
    _easier_dev(a)
    return a


def _easier_dev(a: Analysis) -> None:
    """A note when the dev data looks easier than the training data (with an interval:
    only when its interval lies below minus the tolerance)."""
    mismatch, interval = a.gaps["data_mismatch"], a.gap_intervals.get("data_mismatch")
    if mismatch is None or mismatch >= -a.tolerance:
        return
    if interval is not None and interval.high >= -a.tolerance:
        return
    a.notes.append(
        f"The dev error ({fmt(a.errors['dev'], a.task)}) is lower than the train-dev error "
        f"({fmt(a.errors['train_dev'], a.task)}): the dev data looks easier than the training data."
    )
