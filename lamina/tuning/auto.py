"""`automl`: quick, honest architecture search on one dataset, within a time budget.

The family of models is picked from the data's shape, the workflow's baselines
run first, a TPE search with Hyperband pruning explores the family's space on
the train / dev split, the best configuration is retrained on train + dev and
scored on the test set once, with its interval, and everything goes into the
workflow's report. Small and honest, on CPU: Lamina's row for "AutoML /
NASNet-style architecture search".
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lamina.data.splits import take
from lamina.tuning.families import (
    FAMILIES,
    baseline_features,
    builder,
    infer_family,
    inputs_for,
    targets_for,
)
from lamina.utils import validation

__all__ = ["FAMILIES", "AutoMLResult", "automl", "infer_family"]

_OWNER = "automl"
#: Share of the time left after the baselines that the search may use; the rest
#: is kept for retraining the best configuration on train + dev.
_SEARCH_SHARE = 0.75


def _best_epochs(tuner: Any, results: Any) -> int:
    """Epochs to retrain for: the best trial's best epoch (where its dev objective peaked),
    else the epochs it ran."""
    best = results.best
    trial = next(t for t in tuner.study.get_trials(deepcopy=False) if t.number == best.number)
    best_epoch = trial.user_attrs.get("best_epoch")
    if isinstance(best_epoch, int) and best_epoch >= 1:
        return best_epoch
    return max(1, int(best.epochs or 1))


@dataclass(eq=False)
class AutoMLResult:
    """What `automl` found, and how well it does on the test set.

    Attributes:
        family: The model family searched (`"mlp"`, `"convnet"`, `"recurrent"`, `"text"`).
        task: `"classification"` or `"regression"`.
        baselines: The `BaselineTable`, fitted on train + dev and scored on the
            test set, with the retrained model added as `"automl"`.
        tuner: The `Tuner` of the search (its study stays in `directory`).
        results: The `TuningResults` of the search.
        best_params: The chosen parameters.
        model: The best configuration retrained on train + dev.
        epochs: Epochs of that retraining.
        test_score: The test error with its interval (`Interval`): the error
            rate (Wilson) for classification, the MAE (bootstrap) for regression.
        test_metric: `"error"` or `"mae"`.
        predictions: The model's `Predictions` on the test set.
        classes: The class labels, in the order of the model's outputs (classification).
        report_path: The HTML report, or None.
        seconds: Wall-clock time of the whole run.
        stages: Seconds spent per stage (baselines, search, retrain, test, report).
    """

    family: str
    task: str
    baselines: Any
    tuner: Any
    results: Any
    best_params: dict[str, Any]
    model: Any
    epochs: int
    test_score: Any
    test_metric: str
    predictions: Any
    classes: list[Any] | None = None
    report_path: Path | None = None
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)

    def verdict(self) -> str:
        """Whether the model beats the best baseline on the test set (paired comparison)."""
        return self.baselines.verdict("automl")

    def to_dict(self) -> dict[str, Any]:
        """Every number as JSON-able values (intervals as `Interval.to_dict()`)."""
        from lamina.workflow.report.jsonable import to_jsonable

        return to_jsonable(
            {
                "family": self.family,
                "task": self.task,
                "best_params": self.best_params,
                "epochs": self.epochs,
                "test_metric": self.test_metric,
                "test_score": self.test_score,
                "baselines": self.baselines,
                "tuning": self.results,
                "verdict": self.verdict(),
                "report_path": self.report_path,
                "seconds": self.seconds,
                "stages": self.stages,
            }
        )

    def __str__(self) -> str:
        trials = self.results.trials
        done = sum(1 for t in trials if t.state in ("COMPLETE", "PRUNED"))
        pruned = sum(1 for t in trials if t.state == "PRUNED")
        params = ", ".join(f"{k}={v!r}" for k, v in self.best_params.items())
        lines = [
            f"AutoML ({self.family}, {self.task}) in {self.seconds:.1f}s: {done} trials "
            f"({pruned} pruned), best dev {self.results.objective.name} = "
            f"{self.results.best.value:.4g}",
            f"  chosen: {params}",
            f"  retrained on train + dev for {self.epochs} epoch(s)",
            f"  test {self.test_metric}: {self.test_score}",
            f"  {self.verdict()}",
        ]
        if self.report_path is not None:
            lines.append(f"  report: {self.report_path}")
        return "\n".join(lines)


def _check(time_budget: Any, max_epochs: Any, max_trials: Any, seed: Any) -> None:
    validation.number(_OWNER, "time_budget", time_budget, low=0.0, low_inclusive=False)
    validation.positive_int(_OWNER, "max_epochs", max_epochs)
    validation.positive_int(_OWNER, "max_trials", max_trials)
    validation.non_negative_int(_OWNER, "seed", seed)


def automl(
    x: Any,
    y: Any,
    *,
    task: str = "auto",
    family: str = "auto",
    time_budget: float = 300,
    max_epochs: int = 20,
    max_trials: int = 100,
    test_size: float = 0.2,
    dev_size: float = 0.2,
    seed: int = 0,
    directory: str | os.PathLike = "lamina_tuning",
    report: str | os.PathLike | None = "automl_report.html",
    verbose: int = 1,
) -> AutoMLResult:
    """Searches an architecture for ``(x, y)`` within a time budget, and scores it honestly.

    1. Picks the family from the inputs (`infer_family`): tabular -> MLP, images
       -> convnet, sequences -> recurrent, texts -> TF-IDF / multi-hot + MLP head
       (the spaces of `lamina.tuning.spaces`). Tabular inputs are standardised
       and regression outputs rescaled to the targets inside the model (frozen
       `Normalization` layers with the statistics of the data it is trained on),
       so the model takes raw inputs and predicts on the targets' scale.
    2. Splits once (`lamina.data.split`, stratified for classification) into
       train, dev and test.
    3. Runs the workflow's baselines (`run_baselines`; texts as TF-IDF), fitted on
       train + dev like the final model, to be scored on the test set.
    4. Searches with TPE and Hyperband pruning (budget in epochs, up to
       ``max_epochs`` per trial), trained on train, judged on dev only, for at
       most ``max_trials`` trials or about 3/4 of the time left (a running trial
       finishes; the rest is kept for step 5). The study is stored in ``directory``.
    5. Retrains the best configuration on train + dev, with its trial's seed, for
       the epochs at which that trial reached its best dev score.
    6. Scores it on the test set once: the error with its interval, and a
       paired comparison with the best baseline.
    7. Writes the report (baselines, tuning, scores, model) when ``report`` is a path.

    Args:
        x: Inputs: a numeric array of rank 2, 3 or 4, or one string per sample.
        y: Targets: class labels (any type) or values.
        task: `"classification"`, `"regression"` or `"auto"` (`lamina.data.infer_task`).
            Defaults to `"auto"`.
        family: `"auto"` or one of `"mlp"`, `"convnet"`, `"recurrent"`, `"text"`.
            Grey images `(n, h, w)` need `"convnet"`. Defaults to `"auto"`.
        time_budget: Seconds for the whole run (approximate: a trial or a fit
            that has started finishes). Defaults to 300.
        max_epochs: Most epochs per trial (Hyperband's maximum resource). Defaults to 20.
        max_trials: Most finished trials. Defaults to 100.
        test_size: Share of the data for the test set. Defaults to 0.2.
        dev_size: Share of the data for the dev set. Defaults to 0.2.
        seed: Seed of the split, the study and the baselines. Defaults to 0.
        directory: Folder of the study's storage and the trials' models. Defaults
            to `"lamina_tuning"`.
        report: The HTML report to write (and its `.json` twin), or None. Defaults
            to `"automl_report.html"`.
        verbose: 0 for silence, 1 for one line per stage, 2 to also show the search's progress.

    Returns:
        An `AutoMLResult`.

    Raises:
        ValueError / TypeError: For unsupported inputs (see `infer_family`), an
            unknown family or task, or bad budgets.
        RuntimeError: When no trial completed within the budget.

    Example:
        >>> from lamina.data import load_digits
        >>> from lamina.tuning import automl
        >>> x, y = load_digits()
        >>> result = automl(x / 16.0, y, time_budget=60, report="out/automl.html")  # doctest: +SKIP
        >>> print(result.test_score)  # doctest: +SKIP
        0.0223 (95% CI 0.0113 to 0.0433, n=359)
    """
    from lamina.data.splits import split
    from lamina.data.tasks import resolve_task

    start = time.perf_counter()
    _check(time_budget, max_epochs, max_trials, seed)
    validation.one_of(_OWNER, "family", family, ("auto",) + tuple(FAMILIES))
    family = infer_family(x) if family == "auto" else family
    inputs = inputs_for(family, x)
    task = resolve_task(_OWNER, task, y)
    targets, classes = targets_for(y, task)
    if len(targets) != len(inputs):
        raise ValueError(
            f"`automl` expects one target per sample. Received: {len(inputs)} samples in x and "
            f"{len(targets)} targets in y."
        )
    splits = split(inputs, targets, dev=dev_size, test=test_size, seed=seed, task=task)
    say = print if verbose else (lambda *a, **k: None)
    say(f"automl: {family} on {task}; splits {splits.sizes}")
    stages: dict[str, float] = {}
    ctx = {"family": family, "task": task, "classes": classes, "seed": seed, "say": say}
    table = _stage(stages, "baselines", _baselines, splits, ctx, 0.2 * time_budget)
    left = time_budget - (time.perf_counter() - start)
    tuner = _stage(stages, "search", _search, splits, ctx, max(1.0, _SEARCH_SHARE * left),
                   max_epochs, max_trials, directory, verbose)  # fmt: skip
    results = tuner.results()
    model, epochs = _stage(stages, "retrain", _retrain, splits, ctx, tuner, results)
    from lamina.workflow import Predictions

    x_test, y_test = splits.test
    t0 = time.perf_counter()
    predictions = Predictions.from_model(model, x_test, y_test, task=task, name="test")
    table.add_model("automl", predictions)
    stages["test"] = time.perf_counter() - t0
    result = AutoMLResult(
        family, task, table, tuner, results, dict(results.best.params), model, epochs,
        predictions.error_interval(), predictions.default_metric(), predictions, classes,
    )  # fmt: skip
    say(f"automl: test {result.test_metric} {result.test_score}")
    if report is not None:
        result.report_path = _stage(stages, "report", _write_report, report, splits, result)
        say(f"automl: report written to {result.report_path}")
    result.stages = stages
    result.seconds = time.perf_counter() - start
    return result


def _stage(stages: dict[str, float], name: str, fn: Callable[..., Any], *args: Any) -> Any:
    t0 = time.perf_counter()
    out = fn(*args)
    stages[name] = time.perf_counter() - t0
    return out


def _baselines(splits: Any, ctx: dict[str, Any], budget: float) -> Any:
    from lamina.workflow import run_baselines

    fit_x, fit_y = _train_dev(splits)
    x_test, y_test = splits.test
    fx, tx = baseline_features(ctx["family"], fit_x, x_test)
    table = run_baselines(
        train=(fx, fit_y), test=(tx, y_test), eval_set="test", task=ctx["task"],
        time_budget=max(budget, 1e-3), seed=ctx["seed"],
    )  # fmt: skip
    # keep the model's own test inputs for `add_model` (texts are TF-IDF for the baselines only)
    table.x_eval = x_test
    name, score = table.best_baseline()
    ctx["say"](f"automl: best baseline {name} ({table.metric} {score:.4g}), fitted on train + dev")
    return table


def _search(
    splits: Any, ctx: dict[str, Any], budget: float, max_epochs: int, max_trials: int,
    directory: Any, verbose: int,
) -> Any:  # fmt: skip
    from lamina.extras import require
    from lamina.tuning.tuner import Tuner

    (x_train, y_train), dev = splits.train, splits.dev
    num_outputs = len(ctx["classes"]) if ctx["task"] == "classification" else y_train.shape[1]
    ctx["num_outputs"] = num_outputs
    build_model = builder(ctx["family"], x_train, y_train, num_outputs, ctx["task"])
    (optuna,) = require("tune", "`automl`")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    level = optuna.logging.get_verbosity()
    if verbose < 2:
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created"
    try:
        tuner = Tuner(
            build_model,
            objective="val_accuracy" if ctx["task"] == "classification" else "val_loss",
            max_trials=max_trials,
            time_budget=budget,
            sampler="tpe",
            pruner="hyperband",
            study_name=f"automl-{ctx['family']}-{stamp}-{os.getpid()}",
            seed=ctx["seed"],
            directory=directory,
        )
    finally:
        optuna.logging.set_verbosity(level)
    ctx["say"](f"automl: searching for up to {budget:.0f}s in {tuner.storage_url}")
    tuner.search(x_train, y_train, validation_data=dev, epochs=max_epochs,
                 verbose=max(0, verbose - 1))  # fmt: skip
    return tuner


def _train_dev(splits: Any) -> tuple[Any, Any]:
    index = np.concatenate([splits.indices["train"], splits.indices["dev"]])
    order = np.argsort(index, kind="stable")  # the original row order
    (xt, yt), (xd, yd) = splits.train, splits.dev
    return (
        take(np.concatenate([xt, xd]), order),
        take(np.concatenate([yt, yd]), order),
    )


def _retrain(splits: Any, ctx: dict[str, Any], tuner: Any, results: Any) -> tuple[Any, int]:
    import lamina
    from lamina.tuning.hp import HyperParameters
    from lamina.tuning.tuner import derive_seed

    best = results.best
    if best is None:
        failures = "; ".join(f"trial {t.number}: {t.error}" for t in results.failures)
        raise RuntimeError(
            "`automl` found no complete trial within the budget, so it has no configuration to "
            f"retrain. Received: {len(results.trials)} trial(s)"
            + (f", failures: {failures}" if failures else "")
            + ". Raise `time_budget`, or lower `max_epochs`."
        )
    epochs = _best_epochs(tuner, results)
    x_fit, y_fit = _train_dev(splits)
    build_model = builder(ctx["family"], x_fit, y_fit, ctx["num_outputs"], ctx["task"])
    lamina.set_seed(best.seed if best.seed is not None else derive_seed(ctx["seed"], best.number))
    model = build_model(HyperParameters(values=dict(best.params)))
    model.fit(x_fit, y_fit, epochs=epochs, verbose=0)
    ctx["say"](f"automl: retrained trial {best.number}'s configuration for {epochs} epoch(s)")
    return model, epochs


def _write_report(path: Any, splits: Any, result: AutoMLResult) -> Path:
    from lamina.workflow import report

    best = result.results.best
    objective = result.results.objective
    scores = {
        f"automl ({result.family})": {
            f"dev {objective.name} (best trial)": best.value,
            f"test {result.test_metric}": result.test_score,
        }
    }
    files = report(
        path,
        model=result.model,
        splits=splits,
        baselines=result.baselines,
        tuning=result.tuner,
        scores=scores,
        title=f"Lamina AutoML report ({result.family}, {result.task})",
    )
    return files.html
