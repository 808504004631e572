"""Running a `Tuner`'s trials: the search loop over Optuna's `study.optimize`, and one
trial (its seed, `build_model`, `fit` with the pruning callback, the saved model)."""

from __future__ import annotations

import functools
import hashlib
import numbers
import time
import warnings
from typing import Any

from lamina.extras import require
from lamina.tuning.batch import write
from lamina.tuning.dead_trials import owner_attrs
from lamina.tuning.objective import DataPlan, ObjectiveNotLoggedError, check_model
from lamina.tuning.pruning import TrialPruning
from lamina.tuning.results import progress_line

MODEL_EXT = ".lamina"


class TrialFailed(Exception):
    """A trial's `build_model` or `fit` raised: the trial is FAIL, the search goes on."""


def derive_seed(study_seed: int, trial_number: int) -> int:
    """The seed of trial ``trial_number`` of a study seeded ``study_seed``.

    Deterministic (a hash of both numbers, not their sum, so studies with nearby
    seeds do not share trial seeds) and in ``[0, 2**31)``.

    Example:
        >>> from lamina.tuning.tuner import derive_seed
        >>> derive_seed(0, 3) == derive_seed(0, 3) != derive_seed(1, 3)
        True
    """
    for name, value in (("study_seed", study_seed), ("trial_number", trial_number)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(
                f"`derive_seed` expects `{name}` to be a non-negative integer. Received: "
                f"{name}={value!r}."
            )
    digest = hashlib.sha256(f"lamina-tuning:{int(study_seed)}:{int(trial_number)}".encode())
    return int.from_bytes(digest.digest()[:8], "big") % (2**31)


def optimize(tuner: Any, objective: Any, n_jobs: int, verbose: int, deadline: float | None) -> int:
    """Runs `study.optimize` until the study holds `max_trials` finished trials, the
    deadline, `max_trials` failures in this call, or `study.stop()`. Returns the failures."""
    optuna = require("tune", "`Tuner.search`")[0]
    failures = 0
    while True:
        remaining = tuner.max_trials - finished(tuner.study, optuna)
        left = None if deadline is None else deadline - time.monotonic()
        if remaining <= 0 or failures >= tuner.max_trials or (left is not None and left <= 0):
            break
        if grid_exhausted(tuner.study, optuna):
            break
        before = count(tuner.study, optuna, "FAIL")
        ran: list[int] = []
        done = functools.partial(_done, tuner, ran, verbose)
        tuner.study.optimize(
            objective,
            n_trials=remaining,
            timeout=left,
            n_jobs=n_jobs,
            catch=(TrialFailed,),
            callbacks=[done],
        )
        failures += count(tuner.study, optuna, "FAIL") - before
        if left is not None and time.monotonic() >= deadline:
            break
        if len(ran) < remaining:
            break  # `study.stop()` was called (by a callback, or an exhausted grid)
    return failures


def run_trial(tuner: Any, trial: Any, plan: DataPlan, **run: Any) -> float:
    """One trial of ``tuner``'s search (the objective `study.optimize` calls): records its
    owner and seed, trains it (`train_trial`) and returns its value; a trial that raises
    is FAIL with the exception recorded (`TrialFailed`), except the errors that would
    fail every trial (the objective is not logged, the storage is broken)."""
    optuna = require("tune", "`Tuner.search`")[0]
    # the owner (for the dead-trial check) and the seed, in one storage transaction
    attrs = owner_attrs()
    seed = trial.user_attrs.get("seed")  # a retried trial keeps its seed
    if not isinstance(seed, int):
        seed = attrs["seed"] = derive_seed(tuner.seed, trial.number)
    write(trial, attrs)
    attrs = {}  # what the trial records at its end, again in one transaction
    start = time.perf_counter()
    try:
        return train_trial(tuner, trial, seed, plan, attrs, **run)
    except optuna.TrialPruned:
        raise
    except ObjectiveNotLoggedError as e:  # the same in every trial: stop the search
        attrs["error"] = f"{type(e).__name__}: {e}"
        raise
    except Exception as e:  # noqa: BLE001 - the trial fails, the search goes on
        if type(e).__module__.split(".")[0] in ("optuna", "sqlalchemy"):
            raise  # the storage is broken: every trial would fail
        if isinstance(e, ValueError) and "not found in the given grid" in str(e):
            raise ValueError(
                f"`build_model` asks for a parameter that `search_space` does not list "
                f"({e}). With sampler='grid', give values for every parameter. Received: "
                f"search_space keys {sorted(tuner.search_space or {})}."
            ) from e
        attrs["error"] = f"{type(e).__name__}: {e}"
        raise TrialFailed(str(e)) from e
    finally:
        attrs["seconds"] = time.perf_counter() - start
        write(trial, attrs)


def train_trial(
    tuner: Any, trial: Any, seed: int, plan: DataPlan, attrs: dict, **run: Any
) -> float:
    """Builds and fits the trial's model on each fold of ``plan`` with `TrialPruning`;
    returns the mean of the folds' best values. Raises `optuna.TrialPruned` when pruned.
    The user attrs to record (epochs, best epoch, model path) are put in ``attrs``."""
    import lamina
    from lamina.tuning.hp import HyperParameters

    optuna = require("tune", "`Tuner.search`")[0]
    bests: list[float] = []
    total_epochs = 0
    model = None
    for fold, (x_train, y_train, val) in enumerate(plan.folds):
        lamina.set_seed(seed)
        model = tuner.build_model(HyperParameters(trial))
        check_model(model)
        pruning = TrialPruning(
            trial,
            tuner.objective.name,
            tuner.objective.direction,
            keep_best_weights=True,
            previous=bests,
            step_offset=fold * run["epochs"],  # fold k reports at steps k*epochs + 1...
            deadline=run["deadline"],
            last_step=run["epochs"] * plan.n_folds,
        )
        model.fit(
            x_train,
            y_train,
            validation_data=val,
            epochs=run["epochs"],
            batch_size=run["batch_size"],
            callbacks=[*run["callbacks"], pruning],
            verbose=2 if run["verbose"] >= 2 else 0,
            **run["fit_kwargs"],
        )
        total_epochs += pruning.epochs
        attrs["epochs"] = total_epochs
        if pruning.pruned:
            raise optuna.TrialPruned(f"pruned after {total_epochs} epochs")
        if pruning.best is None:
            raise FloatingPointError(
                f"The objective {tuner.objective.name!r} was not finite at any epoch (the "
                "model diverged). Lower the learning rate range in `build_model`."
            )
        bests.append(pruning.best)
        attrs["best_epoch"] = pruning.best_epoch + 1
        if pruning.out_of_time:
            attrs["stopped"] = "time_budget"
            break
    if tuner.keep_models and plan.n_folds == 1:
        attrs["model_path"] = save_model(tuner, model, trial.number)
    return sum(bests) / len(bests)


def save_model(tuner: Any, model: Any, number: int) -> str | None:
    """Saves trial ``number``'s model under the tuner's directory; its path, or None
    (with a warning) when it cannot be written."""
    path = tuner.directory / tuner.study_name / f"trial_{number}{MODEL_EXT}"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        model.save(path)
    except Exception as e:  # noqa: BLE001 - the trial stands; best_model() names this
        warnings.warn(f"Trial {number}'s model could not be saved to {path}: {e}", stacklevel=2)
        return None
    return str(path.resolve())


def _done(tuner: Any, ran: list[int], verbose: int, study: Any, frozen: Any) -> None:
    """Optuna's per-trial callback: counts the trials this call ran, prints progress."""
    ran.append(frozen.number)
    if verbose:
        print(progress_line(study, frozen, tuner.objective.name))
    optuna = require("tune", "`Tuner.search`")[0]
    if finished(tuner.study, optuna) >= tuner.max_trials:
        study.stop()  # other workers on the study finished trials too


def finished(study: Any, optuna: Any) -> int:
    """Complete and pruned trials of ``study`` (one storage query)."""
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def count(study: Any, optuna: Any, state: str) -> int:
    """Trials of ``study`` in ``state`` (a `TrialState` name)."""
    states = (getattr(optuna.trial.TrialState, state),)
    return len(study.get_trials(deepcopy=False, states=states))


def grid_exhausted(study: Any, optuna: Any) -> bool:
    """Whether ``study``'s grid sampler has run every point of its grid."""
    sampler = study.sampler
    return isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study)
