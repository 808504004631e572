"""`TuningResults`: the trials of a study as a table, JSON and plots."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lamina.tuning.objective import Objective

_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
_PLOTS = ("history", "importance", "parallel")


@dataclass
class TrialRecord:
    """One trial of a study.

    Attributes:
        number: The trial's number in the study.
        state: ``"COMPLETE"``, ``"PRUNED"``, ``"FAIL"``, ``"RUNNING"`` or ``"WAITING"``.
        params: The sampled hyper-parameters.
        value: The objective (the best epoch's; the mean over folds with `cv`), or None.
        epochs: Epochs trained (all folds together with `cv`).
        seconds: Wall time of the trial, or None.
        error: ``"ExceptionType: message"`` for a failed trial, else None.
        seed: The seed the trial was built and trained with.
        model_path: The saved model of a complete trial, or None.
    """

    number: int
    state: str
    params: dict = field(default_factory=dict)
    value: float | None = None
    epochs: int = 0
    seconds: float | None = None
    error: str | None = None
    seed: int | None = None
    model_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["params"] = {k: _plain(v) for k, v in self.params.items()}
        out["value"] = _finite(self.value)
        out["seconds"] = _finite(self.seconds)
        return out


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _plain(value: Any) -> Any:
    """A JSON-able scalar (NumPy scalars to Python, non-finite floats to None)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return _finite(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


class TuningResults:
    """The trials of a search: a table (`str`), rows, strict JSON and Optuna's plots.

    Attributes:
        trials: Every trial as a `TrialRecord`, by number.
        objective: The `Objective` of the search.
        best: The best complete trial, or None.
        runner_up: The second-best complete trial, or None.
        study_name: The study's name.
        storage: The storage URL, password masked.
        comparison: Best against runner-up on the dev set (`McNemarResult` for
            classification, an `Interval` of the paired difference otherwise; positive
            means the best trial's model is better), or None.
        dev_size: Number of dev examples behind ``comparison``, or None.
        study: The `optuna.Study` (for `plot`), or None.

    Example:
        >>> results = tuner.results()  # doctest: +SKIP
        >>> print(results)  # doctest: +SKIP
        >>> results.plot("history", path="history.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        trials: list[TrialRecord],
        objective: Objective,
        *,
        study_name: str | None = None,
        storage: str | None = None,
        comparison: Any = None,
        dev_size: int | None = None,
        study: Any = None,
    ) -> None:
        self.trials = sorted(trials, key=lambda t: t.number)
        self.objective = objective
        self.study_name = study_name
        self.storage = storage
        self.comparison = comparison
        self.dev_size = dev_size
        self.study = study
        ranked = self.ranked()
        self.best = ranked[0] if ranked else None
        self.runner_up = ranked[1] if len(ranked) > 1 else None

    # ------------------------------------------------------------------ views
    def ranked(self) -> list[TrialRecord]:
        """Complete trials with a finite value, best first (ties: lower number first)."""
        done = [t for t in self.trials if t.state == "COMPLETE" and _finite(t.value) is not None]
        sign = -1.0 if self.objective.direction == "max" else 1.0
        return sorted(done, key=lambda t: (sign * t.value, t.number))

    @property
    def failures(self) -> list[TrialRecord]:
        """The failed trials, each with its ``error``."""
        return [t for t in self.trials if t.state == "FAIL"]

    def count(self, state: str) -> int:
        """Number of trials in ``state`` (``"COMPLETE"``, ``"PRUNED"``, ...)."""
        if state not in _STATES:
            raise ValueError(f"`state` must be one of {_STATES}. Received: state={state!r}.")
        return sum(t.state == state for t in self.trials)

    @property
    def best_params(self) -> dict:
        """The best trial's parameters ({} when no trial completed)."""
        return dict(self.best.params) if self.best else {}

    def param_names(self) -> list[str]:
        """Every parameter seen in any trial, in order of first appearance."""
        names: list[str] = []
        for t in self.trials:
            names += [k for k in t.params if k not in names]
        return names

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per trial: number, each parameter (None when not sampled),
        the objective under its name, epochs, state, seconds, error."""
        names = self.param_names()
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"number": t.number}
            row.update({k: _plain(t.params.get(k)) for k in names})
            row[self.objective.name] = _finite(t.value)
            row.update(epochs=t.epochs, state=t.state, seconds=_finite(t.seconds), error=t.error)
            rows.append(row)
        return rows

    def to_pandas(self) -> Any:
        """`to_rows()` as a pandas DataFrame indexed by trial number (needs pandas)."""
        from lamina.extras import require

        (pd,) = require("tune", "`TuningResults.to_pandas`", ("pandas",))
        return pd.DataFrame(self.to_rows()).set_index("number")

    def to_dict(self) -> dict[str, Any]:
        """Everything as strict JSON (no NaN or infinity: those become null)."""
        comparison = None
        if self.comparison is not None:
            comparison = _json_clean(self.comparison.to_dict())
            comparison["kind"] = type(self.comparison).__name__
        return {
            "study_name": self.study_name,
            "storage": self.storage,
            "objective": self.objective.to_dict(),
            "trials": [t.to_dict() for t in self.trials],
            "counts": {s.lower(): self.count(s) for s in _STATES},
            "best": self.best.to_dict() if self.best else None,
            "runner_up": self.runner_up.to_dict() if self.runner_up else None,
            "comparison": comparison,
            "dev_size": self.dev_size,
        }

    def __str__(self) -> str:
        names = self.param_names()
        header = ["trial", *names, self.objective.name, "epochs", "state", "time"]
        body = [
            [
                str(t.number),
                *(_fmt(t.params.get(k)) for k in names),
                _fmt(t.value),
                str(t.epochs),
                t.state,
                "-" if t.seconds is None else f"{t.seconds:.1f}s",
            ]
            for t in self.trials
        ]
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        lines = [
            f"Study {self.study_name!r} ({self.storage}): {len(self.trials)} trials, "
            f"{self.count('COMPLETE')} complete, {self.count('PRUNED')} pruned, "
            f"{self.count('FAIL')} failed; objective {self.objective.name} "
            f"({self.objective.direction})",
            "  ".join(h.ljust(w) for h, w in zip(header, widths)),
        ]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in body]
        if self.failures:
            lines.append("Failures:")
            lines += [f"  trial {t.number}: {t.error}" for t in self.failures]
        if self.best is not None:
            lines.append(
                f"Best: trial {self.best.number}, {self.objective.name}={self.best.value:.4g}, "
                f"params {self.best.params}"
            )
        else:
            lines.append("Best: no trial completed.")
        if self.comparison is not None:
            lines.append(f"Best vs runner-up on the dev set: {self._comparison_text()}")
        return "\n".join(lines)

    def _comparison_text(self) -> str:
        c = self.comparison
        n = f" of {self.dev_size} examples" if self.dev_size else ""
        if hasattr(c, "p_value"):
            verdict = "distinguishable" if c.p_value < 0.05 else "not distinguishable"
            return (
                f"accuracy difference (best - runner-up) {c.difference}, p={c.p_value:.3g}: "
                f"{verdict} given the dev set{n}"
            )
        verdict = "distinguishable" if c.excludes(0.0) else "not distinguishable"
        return f"error difference (runner-up - best) {c}: {verdict} given the dev set{n}"

    def __repr__(self) -> str:
        return (
            f"TuningResults(study_name={self.study_name!r}, trials={len(self.trials)}, "
            f"best={None if self.best is None else self.best.number})"
        )

    # ------------------------------------------------------------------ plots
    def plot(self, kind: str = "history", path: Any = None) -> Any:
        """One of Optuna's matplotlib plots of the study.

        Args:
            kind: ``"history"`` (objective per trial and best so far), ``"importance"``
                (fANOVA parameter importances; needs >= 2 complete trials) or
                ``"parallel"`` (parallel coordinates of the parameters).
            path: Where to write the figure (PNG by the extension). Defaults to `None`.

        Returns:
            The matplotlib `Figure`.

        Raises:
            ValueError: An unknown kind, or too few complete trials.
        """
        if kind not in _PLOTS:
            raise ValueError(
                f"`TuningResults.plot` expects kind to be one of {_PLOTS}. Received: kind={kind!r}."
            )
        if self.study is None:
            raise ValueError(
                "`TuningResults.plot` needs the Optuna study, and these results have none (read "
                "back from JSON?). Call `tuner.plot(...)` or `tuner.results().plot(...)`."
            )
        complete = self.count("COMPLETE")
        need = 2 if kind == "importance" else 1
        if complete < need:
            raise ValueError(
                f"The {kind!r} plot needs at least {need} complete trial(s); study "
                f"{self.study_name!r} has {complete}. Run more trials first."
            )
        ax = _optuna_plot(self.study, kind)
        fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        if path is not None:
            fig.savefig(str(path), bbox_inches="tight")
        return fig


def _optuna_plot(study: Any, kind: str) -> Any:
    from lamina.extras import require

    (optuna,) = require("tune", "Tuning plots")
    vis = optuna.visualization.matplotlib
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # a parameter with one value so far (few trials) gets a flat axis: matplotlib widens it
        warnings.filterwarnings("ignore", message="Attempting to set identical")
        if kind == "history":
            return vis.plot_optimization_history(study)
        if kind == "importance":
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            return vis.plot_param_importances(study, evaluator=evaluator)
        return vis.plot_parallel_coordinate(study)


def _json_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(v) for v in value]
    return _plain(value)


def record_from_trial(trial: Any) -> TrialRecord:
    """The `TrialRecord` of an Optuna (frozen) trial run by `Tuner` (its user attrs)."""
    attrs = trial.user_attrs
    seconds = attrs.get("seconds")
    if seconds is None and trial.datetime_start and trial.datetime_complete:
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    value = trial.value if trial.state.name == "COMPLETE" else None
    if trial.state.name == "PRUNED" and trial.intermediate_values:
        value = trial.intermediate_values[max(trial.intermediate_values)]
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        params=dict(trial.params),
        value=None if value is None or not math.isfinite(value) else float(value),
        epochs=int(attrs.get("epochs", 0)),
        seconds=seconds,
        error=attrs.get("error") if trial.state.name == "FAIL" else None,
        seed=attrs.get("seed"),
        model_path=attrs.get("model_path"),
    )


def is_saved(record: TrialRecord | None) -> bool:
    """Whether ``record`` has a saved model file that exists."""
    return record is not None and bool(record.model_path) and Path(record.model_path).exists()


def load_trial_model(record: TrialRecord) -> Any:
    """The saved model of a trial (`lamina.saving.load_model`).

    Raises:
        ValueError: The trial has no saved model file; the message says how to rebuild it.
    """
    from lamina.saving import load_model

    if not is_saved(record):
        raise ValueError(
            f"Trial {record.number}'s model was not saved (keep_models=False, cv=, or a "
            f"model that cannot be saved) or its file is gone. Received: model_path="
            f"{record.model_path!r}. Rebuild it with `build_model(HyperParameters("
            f"values={record.params!r}))` after `lamina.set_seed({record.seed})` and train it."
        )
    return load_model(record.model_path)


def progress_line(study: Any, frozen: Any, objective_name: str) -> str:
    """One line about a finished trial, for a search's progress (``verbose=1``)."""
    value = "-" if frozen.value is None else f"{frozen.value:.4g}"
    try:
        best = f"{study.best_value:.4g}"
    except ValueError:  # no complete trial yet
        best = "-"
    error = frozen.user_attrs.get("error")
    return (
        f"Trial {frozen.number} {frozen.state.name}: {objective_name}={value} "
        f"epochs={frozen.user_attrs.get('epochs', 0)} params={frozen.params} best={best}"
        + (f" error={error}" if error and frozen.state.name == "FAIL" else "")
    )
