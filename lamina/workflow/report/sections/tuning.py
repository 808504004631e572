"""The Tuning section: the study, one row per trial, Optuna's plots (optimisation
history, parameter importance, parallel coordinates), the chosen parameters and
whether the best trial can be told from the runner-up on the dev set."""

from __future__ import annotations

import math
import warnings
from typing import Any

from lamina.workflow.report.intervals import as_interval, interval_cell
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import INTERVAL_NOTE, _e, _Page, _short, _table

#: The plots of the section, in page order: (kind given to `TuningResults.plot`, alt text).
_PLOTS = (
    ("history", "optimisation history: the objective of every trial and the best so far"),
    ("importance", "parameter importance (fANOVA) over the complete trials"),
    ("parallel", "parallel coordinates: each trial's parameters and objective"),
)


def as_tuning_results(tuning: Any) -> Any:
    """The `TuningResults` of a `Tuner` (its `results()`) or the results themselves."""
    if hasattr(tuning, "trials") and hasattr(tuning, "objective"):
        return tuning
    results = getattr(tuning, "results", None)
    if callable(results):
        return results()
    raise TypeError(
        "`report(tuning=...)` expects a `lamina.tuning.Tuner` or the `TuningResults` of its "
        f"search. Received: tuning of type {type(tuning).__name__}. Pass the tuner after "
        "`tuner.search(...)`, or `tuner.results()`."
    )


def _comparison(tuning: Any, results: Any) -> Any:
    """The best-vs-runner-up comparison: the results' own, else the tuner's `compare_best()`."""
    found = getattr(results, "comparison", None)
    if found is not None:
        return found
    compare = getattr(tuning, "compare_best", None)
    if callable(compare) and tuning is not results:
        try:
            return compare()
        except (ValueError, TypeError, RuntimeError, OSError):
            return None  # no dev set to compare on (a tuner re-opened on a stored study)
    return None


def _comparison_data(comparison: Any, best: Any, runner_up: Any) -> dict[str, Any]:
    """The comparison as numbers and one sentence: its difference interval, p-value and outcome."""
    interval = as_interval(getattr(comparison, "difference", comparison))
    p_value = getattr(comparison, "p_value", None)
    if interval is None:
        return {}
    if p_value is not None:
        distinguishable = float(p_value) < 1.0 - interval.confidence
    else:
        distinguishable = interval.excludes(0.0)
    n = interval.n
    size = "" if n is None else f" of {n:,} examples"
    if distinguishable:
        outcome = "distinguishable"
        text = (
            f"Trial {best.number} is distinguishable from the runner-up (trial "
            f"{runner_up.number}) on the dev set{size}"
        )
    else:
        outcome = f"not distinguishable given the dev set{size}"
        text = (
            f"Trial {best.number} is not distinguishable from the runner-up (trial "
            f"{runner_up.number}) given the dev set{size}: the difference between them may be "
            "the noise of this dev sample, and another draw could rank them the other way"
        )
    p_text = "" if p_value is None else f", p = {float(p_value):.3g}"
    text += f" (difference {interval_cell(interval, percent=p_value is not None)}{p_text})."
    return {
        "best": best.number,
        "runner_up": runner_up.number,
        "difference": interval.to_dict(),
        "p_value": None if p_value is None else float(p_value),
        "n": n,
        "distinguishable": distinguishable,
        "outcome": outcome,
        "text": text,
        "method": "McNemar's exact test" if p_value is not None else "paired bootstrap",
    }


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def _trials_table(results: Any) -> str:
    trials = list(results.trials)
    names: list[str] = []
    for t in trials:
        names += [k for k in (t.params or {}) if k not in names]
    best = getattr(results.best, "number", None)
    objective = results.objective
    rows, classes = [], []
    for t in trials:
        params = [_short(t.params[k]) if k in (t.params or {}) else "-" for k in names]
        seconds = "-" if t.seconds is None else f"{float(t.seconds):.2f}"
        rows.append((str(t.number), t.state, *params, _value(t.value), t.epochs, seconds))
        classes.append("primary" if t.number == best else "")
    head = [
        "trial",
        "state",
        *names,
        f"{objective.name} ({objective.direction})",
        "epochs",
        "time (s)",
    ]
    return _table(head, rows, left=2 + len(names), row_classes=classes)


def _plots(page: _Page, results: Any) -> list[str]:
    """Embeds each plot the results can draw; notes the ones they cannot, and why."""
    drawn = []
    complete = sum(1 for t in results.trials if t.state == "COMPLETE")
    for kind, alt in _PLOTS:
        if kind == "importance" and complete < 2:
            page.add(
                f'<p class="note">No parameter-importance plot: it needs at least 2 complete '
                f"trials (this study has {complete}).</p>"
            )
            continue
        try:
            with warnings.catch_warnings():  # Optuna's axes with one value warn about their limits
                warnings.simplefilter("ignore", UserWarning)
                fig = results.plot(kind)
        except (ValueError, RuntimeError, TypeError, ImportError) as e:
            page.add(f'<p class="note">No {_e(kind)} plot: {_e(e)}</p>')
            continue
        fig = getattr(fig, "figure", fig) if not hasattr(fig, "savefig") else fig
        page.figure(fig, alt)
        _close(fig)
        drawn.append(kind)
    return drawn


def _close(fig: Any) -> None:
    import sys

    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)  # Optuna draws with pyplot: free the figure


def tuning_section(page: _Page, tuning: Any) -> None:
    """The study of a `Tuner` (or its `TuningResults`): trials, plots, choice, comparison."""
    results = as_tuning_results(tuning)
    page.section("tuning", "Tuning")
    trials = list(results.trials)
    states: dict[str, int] = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
    objective = results.objective
    counts = ", ".join(f"{n} {s.lower()}" for s, n in states.items()) or "none"
    page.add(
        f"<p>Study <b>{_e(results.study_name)}</b> in <code>{_e(results.storage)}</code>: "
        f"{len(trials)} trial(s) ({_e(counts)}), objective <b>{_e(objective.name)}</b> "
        f"({'higher' if objective.direction == 'max' else 'lower'} is better), measured on the "
        "dev (validation) data only: the test set plays no part in the search.</p>"
    )
    page.add(_trials_table(results))
    failures = [t for t in trials if t.state == "FAIL"]
    if failures:
        page.add("<h3>Failed trials</h3>")
        page.add(_table(["trial", "error"], [(str(t.number), t.error or "-") for t in failures], 2))
    drawn = _plots(page, results)
    best, runner_up = results.best, results.runner_up
    data = to_jsonable(results.to_dict())
    data["plots"] = drawn
    if best is not None:
        page.add(f"<h3>Chosen parameters (trial {best.number})</h3>")
        page.add(
            _table(["parameter", "value"], [(k, _short(v)) for k, v in best.params.items()], 2)
        )
        data["best_params"] = to_jsonable(best.params)
    comparison = _comparison(tuning, results) if runner_up is not None else None
    compared = _comparison_data(comparison, best, runner_up) if comparison is not None else {}
    if compared:
        page.add("<h3>Best trial against the runner-up (same dev examples)</h3>")
        page.add(
            _table(
                ["best", "runner-up", "difference (best better > 0)", "p-value", "outcome"],
                [
                    (
                        f"trial {best.number}",
                        f"trial {runner_up.number}",
                        interval_cell(
                            compared["difference"], percent=compared["p_value"] is not None
                        ),
                        "-" if compared["p_value"] is None else f"{compared['p_value']:.3g}",
                        compared["outcome"],
                    )
                ],
                left=2,
            )
        )
        page.add(INTERVAL_NOTE)
        page.verdict(compared["text"])
    elif runner_up is not None:
        page.add(
            '<p class="note">No comparison of the best trial with the runner-up: their dev-set '
            "predictions are not available (keep the trials' models and pass the tuner, not "
            "only its results).</p>"
        )
    data["comparison"] = compared or None
    page.data["tuning"] = data
    page.end()
