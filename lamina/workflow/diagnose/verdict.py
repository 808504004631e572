"""The verdict of a diagnosis: the primary problem, in words, and what to try next.

With intervals, the primary problem is the largest *established* gap. The
verdict is ``"inconclusive"`` when no gap is established although one is above
the tolerance, or when the two largest established gaps cannot be told apart
(the bootstrap interval of their difference contains 0); its first
recommendation is then the number of examples each set needs to settle the
question at 80 % power. Without intervals (`Diagnosis.from_errors` without
sizes) the largest gap above the tolerance is named, and a note says that the
verdict ignores sampling noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamina.workflow import uncertainty
from lamina.workflow.diagnose import sizes as sizes_mod
from lamina.workflow.diagnose.evidence import bootstrap_errors, contrast_interval, gap_interval
from lamina.workflow.diagnose.gaps import Analysis
from lamina.workflow.diagnose.wording import (
    GAP_ORDER,
    LABELS,
    POWER,
    REMEDIES,
    SET_LABELS,
    SPLITS,
    ci,
    fmt,
    join,
    points,
    set_phrase,
    with_ci,
)
from lamina.workflow.uncertainty import Interval

NOISE_NOTE = (
    "This verdict compares point estimates and ignores sampling noise: a gap of a few points on "
    "a small set can be chance. For intervals, pass the set sizes "
    "(`Diagnosis.from_errors(..., sizes={'train': 400, 'dev': 400})`, classification) or the "
    "predictions (`diagnose(model, ...)` or `Diagnosis.from_predictions(...)`)."
)


@dataclass
class Decision:
    """The primary problem and the text that explains it."""

    primary: str
    verdict: str
    recommendations: list[str]
    notes: list[str] = field(default_factory=list)
    samples_needed: dict[str, Any] | None = None
    separation: Interval | None = None


def _then(recommendations: list[str], gaps: list[str]) -> list[str]:
    out = list(recommendations)
    for gap in gaps:
        out += [r for r in REMEDIES[gap] if r not in out]
    return out


def decide(a: Analysis) -> Decision:
    """The primary problem, the verdict and the recommendations for an `Analysis`."""
    notes = _baseline_notes(a)
    decision = _worse_than_baseline(a)
    if decision is None:
        decision = _with_intervals(a) if a.has_intervals else _point_estimates(a)
    decision.notes = notes + decision.notes
    return decision


# ----------------------------------------------------------------------------- common sense
def _model_split(a: Analysis) -> str:
    return next(k for k in ("dev", "train_dev", "train") if a.errors[k] is not None)


def _baseline_notes(a: Analysis) -> list[str]:
    split = _model_split(a)
    interval, error = a.error_intervals.get(split), a.errors[split]
    if a.common is None or interval is None or error is None:
        return []
    if not interval.low <= a.common <= interval.high:
        return []
    shown = with_ci(error, interval, a.task)
    if error >= a.common:
        return [
            f"The {SET_LABELS[split]} error ({shown}) is not distinguishable from the common-sense "
            f"baseline's ({fmt(a.common, a.task)}): the model does not beat it, and may be no worse."
        ]
    return [
        f"The {SET_LABELS[split]} error ({shown}) is below the common-sense baseline's "
        f"({fmt(a.common, a.task)}), but its interval contains it: the model is not yet shown to "
        f"beat common sense. A larger {SET_LABELS[split]} set would tell."
    ]


def _worse_than_baseline(a: Analysis) -> Decision | None:
    split = _model_split(a)
    error = a.errors[split]
    if a.common is None or error is None or error < a.common:
        return None
    verdict = (
        f"The model's {SET_LABELS[split]} error ({fmt(error, a.task)}) does not beat the "
        f"common-sense baseline ({fmt(a.common, a.task)}): something is probably broken (data, "
        "labels, loss or training), so the other gaps mean little until it is fixed."
    )
    others = [k for k in GAP_ORDER if a.gaps[k] is not None and a.gaps[k] > a.tolerance]
    if a.has_intervals:
        others = [k for k in others if a.established[k]]
    others.sort(key=lambda k: -(a.gaps[k] or 0.0))
    notes = [] if a.has_intervals else [NOISE_NOTE]
    return Decision(
        "worse_than_baseline", verdict, _then(REMEDIES["worse_than_baseline"], others), notes
    )


# ----------------------------------------------------------------------------- gap sentences
def _describe(a: Analysis, gap: str, amount: str, lead: str) -> str:
    e, f = a.errors, (lambda v: fmt(v, a.task))  # noqa: E731
    if gap == "avoidable_bias":
        return (
            f"{lead} avoidable bias ({amount}): the training error ({f(e['train'])}) is above "
            f"{a.ref_name} ({f(a.ref_value)}), so the model underfits."
        )
    if gap == "variance":
        if a.variance_includes_mismatch:
            other = f"dev error ({f(e['dev'])})"
        else:
            other = f"train-dev error ({f(e['train_dev'])})"
        text = (
            f"{lead} variance ({amount}): the {other} is above the training error "
            f"({f(e['train'])}), so the model does not generalise beyond its training data."
        )
        if a.variance_includes_mismatch:
            text += " (Without a train-dev set this may include data mismatch.)"
        return text
    if gap == "data_mismatch":
        return (
            f"{lead} data mismatch ({amount}): the model does well on held-out "
            f"training-distribution data (train-dev {f(e['train_dev'])}) but worse on the dev data "
            f"({f(e['dev'])}), which comes from a different distribution."
        )
    return (
        f"{lead} dev-set overfitting ({amount}): the test error ({f(e['test'])}) is above the dev "
        f"error ({f(e['dev'])}), so the choices made on the dev set overfit it."
    )


def _none_verdict(a: Analysis) -> str:
    return (
        f"No gap stands out (none above the tolerance of {fmt(a.tolerance, a.task)}): the model is "
        f"close to {a.ref_name} ({fmt(a.ref_value, a.task)}) and generalises to the data it was given."
    )


def _point_estimates(a: Analysis) -> Decision:
    above = {k: v for k, v in a.gaps.items() if v is not None and v > a.tolerance}
    notes = [NOISE_NOTE]
    missing = [k for k in SPLITS if a.errors[k] is not None and k not in a.evidence]
    if a.evidence and missing:
        notes.append(
            f"No size was given for {', '.join(missing)}: no interval for the gaps it enters."
        )
    if not above:
        return Decision("none", _none_verdict(a), list(REMEDIES["none"]), notes)
    primary = max(above, key=lambda k: above[k])
    verdict = _describe(a, primary, fmt(above[primary], a.task), "The largest gap is")
    others = sorted((k for k in above if k != primary), key=lambda k: -above[k])
    return Decision(primary, verdict, _then(REMEDIES[primary], others), notes)


# ----------------------------------------------------------------------------- with intervals
def _gap_text(a: Analysis, gap: str) -> str:
    return _amount(a.gaps[gap] or 0.0, a.gap_intervals[gap], a.task)


def _amount(value: float, interval: Interval | None, task: str) -> str:
    """A gap for a sentence: ``"4.5 points, 95% CI -2.1 to 8.9"``."""
    return (
        points(value, task) if interval is None else f"{points(value, task)}, {ci(interval, task)}"
    )


def _with_intervals(a: Analysis) -> Decision:
    above = {k: v for k, v in a.gaps.items() if v is not None and v > a.tolerance}
    established = sorted(
        (k for k in GAP_ORDER if a.established[k]), key=lambda k: -(a.gaps[k] or 0)
    )
    if established:
        separation = None
        if len(established) >= 2:
            separation = _separation(a, established[0], established[1])
            if not separation.excludes(0.0):
                return _indistinguishable(a, established[0], established[1], separation)
        return _established(a, established, above, separation)
    if above:
        return _unestablished(a, max(above, key=lambda k: above[k]))
    return Decision("none", _none_verdict(a), list(REMEDIES["none"]), _wide_notes(a))


def _separation(a: Analysis, first: str, second: str) -> Interval:
    coefficients: dict[str, float] = {}
    for gap, sign in ((first, 1.0), (second, -1.0)):
        for name, c in a.coefficients(gap).items():
            coefficients[name] = coefficients.get(name, 0.0) + sign * c
    offset = (-a.ref_value if first == "avoidable_bias" else 0.0) - (
        -a.ref_value if second == "avoidable_bias" else 0.0
    )
    estimate = (a.gaps[first] or 0.0) - (a.gaps[second] or 0.0)
    samples = bootstrap_errors(a.evidence, a.seed)
    return contrast_interval(coefficients, estimate, samples, a.sizes, a.confidence, offset)


def _established(
    a: Analysis, established: list[str], above: dict[str, float], separation: Interval | None
) -> Decision:
    primary = established[0]
    largest = max(above, key=lambda k: above[k])
    lead = "The largest gap is" if largest == primary else "The largest established gap is"
    verdict = _describe(a, primary, _gap_text(a, primary), lead)
    notes = []
    if separation is not None:
        notes.append(
            f"{LABELS[primary].capitalize()} is established as larger than {LABELS[established[1]]} "
            f"(difference {points(separation.estimate, a.task)}, {ci(separation, a.task)})."
        )
    if largest != primary:
        notes.append(
            f"{LABELS[largest].capitalize()} has a larger estimate ({_gap_text(a, largest)}) but is "
            f"not established: {set_phrase(a.sets(largest), a.sizes)} cannot tell it from noise."
        )
    recommendations = _then(REMEDIES[primary], established[1:])
    return Decision(primary, verdict, recommendations, notes, separation=separation)


def _indistinguishable(a: Analysis, first: str, second: str, separation: Interval) -> Decision:
    sets = [s for s in SPLITS if s in {*a.sets(first), *a.sets(second)}]
    verdict = (
        f"Inconclusive: {LABELS[first]} ({_gap_text(a, first)}) and {LABELS[second]} "
        f"({_gap_text(a, second)}) are both established, but {set_phrase(sets, a.sizes)} cannot "
        f"tell which is larger (difference {points(separation.estimate, a.task)}, "
        f"{ci(separation, a.task)})."
    )
    need = _samples_for_difference(a, first, second, sets)
    recommendations = [] if need is None else [_collect(a, need)]
    recommendations.append(
        f"Both gaps are real: work on both ({LABELS[first]} first, then {LABELS[second]})."
    )
    return Decision(
        "inconclusive",
        verdict,
        _then(recommendations, [first, second]),
        samples_needed=need,
        separation=separation,
    )


def _unestablished(a: Analysis, gap: str) -> Decision:
    sets = a.sets(gap)
    interval = a.gap_intervals[gap]
    if interval is not None and interval.excludes(0.0):
        verdict = (
            f"Inconclusive: no gap is established. The largest, {LABELS[gap]} "
            f"({_gap_text(a, gap)}), is above zero but may be below the tolerance of "
            f"{points(a.tolerance, a.task)}: {set_phrase(sets, a.sizes)} cannot tell."
        )
    else:
        verdict = (
            f"Inconclusive: no gap is established. The largest, {LABELS[gap]} "
            f"({_gap_text(a, gap)}), could be sampling noise: {set_phrase(sets, a.sizes)} "
            "cannot tell it from zero."
        )
    candidates = [gap]
    if gap in ("variance", "data_mismatch") and a.gaps["data_mismatch"] is not None:
        split_verdict = _variance_or_mismatch(a, gap)
        if split_verdict is not None:
            verdict = split_verdict
            candidates = ["variance", "data_mismatch"]
    need = _samples_for_gap(a, gap)
    recommendations = [_collect(a, need)] + REMEDIES["inconclusive"]
    return Decision(
        "inconclusive", verdict, _then(recommendations, candidates), samples_needed=need
    )


def _variance_or_mismatch(a: Analysis, gap: str) -> str | None:
    """The verdict when dev − train is established but train-dev cannot say where it lies."""
    ev = a.evidence
    total = gap_interval(ev["train"], ev["dev"], a.metric, a.confidence, a.seed)
    estimate = (a.errors["dev"] or 0.0) - (a.errors["train"] or 0.0)
    if not (estimate > 0 and total.excludes(0.0, a.tolerance)):
        return None
    other = "data_mismatch" if gap == "variance" else "variance"
    phrase = set_phrase(["train", "train_dev", "dev"], a.sizes)
    return (
        f"Inconclusive: {phrase} cannot separate variance from data mismatch ({LABELS[gap]} "
        f"{_gap_text(a, gap)}; {LABELS[other]} {_gap_text(a, other)}). The dev error is above the "
        f"training error (dev − train {_amount(estimate, total, a.task)}), but these "
        "sets cannot tell whether the model fails to generalise (variance) or the dev data "
        "differs from the training data (data mismatch)."
    )


def _wide_notes(a: Analysis) -> list[str]:
    wide = [
        k
        for k in GAP_ORDER
        if a.gap_intervals.get(k) is not None and a.gap_intervals[k].high > a.tolerance
    ]
    if not wide:
        return []
    gap = max(wide, key=lambda k: a.gap_intervals[k].high)
    interval = a.gap_intervals[gap]
    return [
        f"No gap is above the tolerance, but the intervals are wide: {LABELS[gap]} "
        f"({_gap_text(a, gap)}) could be as large as {points(interval.high, a.task)} with "
        f"{set_phrase(a.sets(gap), a.sizes)}. Larger sets would narrow it."
    ]


# ----------------------------------------------------------------------------- sample sizes
def _samples_for_gap(a: Analysis, gap: str) -> dict[str, Any]:
    """Examples per set to tell the gap from zero, or from the tolerance when its
    interval already excludes zero."""
    sets = a.sets(gap)
    delta = a.gaps[gap] or 0.0
    interval = a.gap_intervals[gap]
    margin = a.tolerance if interval is not None and interval.excludes(0.0) else 0.0
    ev = [a.evidence[s] for s in sets]
    if gap == "avoidable_bias":
        n = sizes_mod.samples_needed_contrast([1.0], [ev[0].unit_variance], delta - margin, POWER)
    elif a.metric == "error" and ev[0].count is not None and ev[1].count is not None:
        n = uncertainty.samples_needed(min(ev[0].estimate + margin, 1.0), ev[1].estimate, POWER)
    else:
        shift = float(ev[1].values.mean() - ev[0].values.mean())  # MAE, or MSE behind an RMSE
        if ev[1].statistic == "root_mean":
            margin *= 2.0 * ev[1].estimate  # the tolerance on the RMSE, moved to the MSE
        sd = sizes_mod.pooled_sd(ev[0].values, ev[1].values)
        n = 2 if sd == 0 else sizes_mod.samples_needed_means(shift - margin, sd, POWER)
    need = _need(a, gap, None, delta, n, sets)
    need["against"] = "tolerance" if margin else "zero"
    return need


def _samples_for_difference(
    a: Analysis, first: str, second: str, sets: list[str]
) -> dict[str, Any] | None:
    delta = (a.gaps[first] or 0.0) - (a.gaps[second] or 0.0)
    if delta == 0.0:
        return None
    coefficients = {s: 0.0 for s in sets}
    for gap, sign in ((first, 1.0), (second, -1.0)):
        for name, c in a.coefficients(gap).items():
            coefficients[name] += sign * c
    variances = [a.evidence[s].unit_variance for s in sets]
    n = sizes_mod.samples_needed_contrast([coefficients[s] for s in sets], variances, delta, POWER)
    return _need(a, first, second, delta, n, sets)


def _need(
    a: Analysis, gap: str, versus: str | None, delta: float, n: int, sets: list[str]
) -> dict[str, Any]:
    return {
        "gap": gap,
        "versus": versus,
        "difference": float(delta),
        "per_set": int(n),
        "sets": list(sets),
        "current": {s: a.sizes[s] for s in sets},
        "power": POWER,
        "against": "zero",
    }


def _collect(a: Analysis, need: dict[str, Any]) -> str:
    sets, n, current = need["sets"], need["per_set"], need["current"]
    labels = [SET_LABELS[s] for s in sets]
    if len(labels) == 1:
        where = f"the {labels[0]} set"
    else:
        where = "each of the " + ", ".join(labels[:-1]) + f" and {labels[-1]} sets"
    now = join([str(current[s]) for s in sets])
    amount = points(abs(need["difference"]), a.task)
    if need["versus"] is None:
        what = f"a gap of {amount}"
        if need["against"] == "tolerance":
            what += f" from the tolerance of {points(a.tolerance, a.task)}"
    else:
        what = f"{LABELS[need['gap']]} from {LABELS[need['versus']]} (a difference of {amount})"
    noise = "" if need["against"] == "tolerance" else " from noise"
    if all((current[s] or 0) >= n for s in sets):
        return (
            f"{where[0].upper() + where[1:]} already holds at least {n} examples (now {now}), the "
            f"number that tells {what}{noise} with {POWER:.0%} power: the true gap is probably "
            "smaller than measured. Collect more examples before acting on it."
        )
    return (
        f"Collect at least {n} examples in {where} (now {now}) to tell {what}{noise} with "
        f"{POWER:.0%} power."
    )
