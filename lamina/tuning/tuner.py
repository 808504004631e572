"""`Tuner`: a hyper-parameter search over `build_model(hp)` on an Optuna study."""

from __future__ import annotations

import contextlib
import hashlib
import numbers
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lamina.extras import require
from lamina.tuning import storage as _storage
from lamina.tuning.objective import (
    check_fit_kwargs,
    plan_data,
    resolve_objective,
)
from lamina.tuning.pruning import (
    check_pruner,
    check_sampler,
    make_pruner,
    make_sampler,
)
from lamina.tuning.results import (
    TrialRecord,
    TuningResults,
    is_saved,
    load_trial_model,
    record_from_trial,
)
from lamina.tuning.trials import derive_seed, optimize, run_trial

_OWNER = "Tuner"


class Tuner:
    """Searches the hyper-parameters of ``build_model(hp)`` with Optuna.

    Each trial calls ``build_model(HyperParameters(trial))``, trains the compiled model
    it returns, and reports the objective after each epoch so that the pruner can stop
    a bad trial early (a PRUNED trial). The trial's value is the objective at its best
    epoch; the model is saved with that epoch's weights (kept in memory during `fit`
    and put back at its end), so `best_model()` evaluated on the dev set gives back the
    best value. Trials that raise are FAIL, with the exception recorded, and the
    search goes on.

    The study lives in ``storage``: by default a SQLite file
    ``<directory>/<study_name>.db``, so a search killed mid-way continues where it
    stopped when `search` is called again (the interrupted trial is failed and retried
    with the same parameters); several processes may search one study at once, and
    ``search(..., n_jobs=k)`` runs its trials in ``k`` processes on it (parallel trials
    are always processes, never threads; `cross_validate` has no parallel mode).

    Each trial's seed is ``derive_seed(seed, trial.number)``: `lamina.set_seed` is
    called with it before `build_model`, so a trial is reproducible on its own from
    its parameters and seed (``results().trials[i].seed``). The sampler is seeded from
    ``seed`` and the worker (host and process), so parallel processes do not draw the
    same parameters; the sequence of sampled parameters therefore differs from run to
    run, while each trial stays reproducible.

    Args:
        build_model: ``build_model(hp) -> compiled Model``.
        objective: The logged quantity to optimise: a name (``"val_accuracy"``,
            ``"val_loss"``: direction read from the name), a ``(name, "max"|"min")``
            pair or an `Objective`. Defaults to ``"val_loss"``.
        max_trials: The search ends when the study holds this many finished (complete
            or pruned) trials; failed trials do not count, but a call stops after
            `max_trials` failures. With several workers on one study, the trials already
            running when the count is reached still finish. Defaults to `20`.
        time_budget: Seconds a `search` call may take: no trial starts after it, and a
            trial running at that time stops at the end of its epoch and completes with
            the epochs run (its ``epochs`` in the table; with `cv`, the mean over the
            folds run). Defaults to `None` (no limit).
        sampler: ``"tpe"``, ``"random"``, ``"grid"`` or an Optuna sampler. The grid
            sampler needs ``search_space={name: [values, ...]}`` covering every
            parameter `build_model` asks for. Defaults to ``"tpe"``.
        pruner: ``"asha"`` (successive halving, budget in epochs: at 1, 3, 9...
            epochs a trial goes on only when in the best third of the trials that got
            there, so it prunes from the second trial on), ``"hyperband"`` (min 1, max
            `epochs`, reduction factor 3: several successive-halving brackets, the
            first trial of each and every trial of the last one run all their
            epochs), ``"median"``, `None` (no pruning) or an Optuna pruner. A trial
            that has trained all its epochs completes (it is not pruned at its last
            epoch). Defaults to ``"asha"``.
        storage: `None` (a SQLite file in ``directory``), an RDB URL
            (``"sqlite:///study.db"``, ``"postgresql://..."``) or an Optuna storage.
        study_name: Defaults to ``build_model.__name__``.
        seed: The study seed. Defaults to `0`.
        directory: The project folder: the default storage file and the trial models
            (``<directory>/<study_name>/trial_<n>.lamina``). Defaults to ``"lamina_tuning"``.
        keep_models: Save each complete trial's model. Defaults to `True`.
        search_space: Only with ``sampler="grid"``: the values of each parameter.

    Raises:
        ValueError, TypeError: A bad argument (named in the message); a storage that
            cannot be opened.

    Example:
        >>> tuner = Tuner(build_model, "val_accuracy", max_trials=10)  # doctest: +SKIP
        >>> tuner.search(x, y, validation_data=(x_dev, y_dev), epochs=5)  # doctest: +SKIP
        >>> model = tuner.best_model()  # doctest: +SKIP
    """

    def __init__(
        self,
        build_model: Any,
        objective: Any = "val_loss",
        *,
        max_trials: int = 20,
        time_budget: float | None = None,
        sampler: Any = "tpe",
        pruner: Any = "asha",
        storage: Any = None,
        study_name: str | None = None,
        seed: int = 0,
        directory: str | os.PathLike = _storage.DEFAULT_DIRECTORY,
        keep_models: bool = True,
        search_space: dict | None = None,
    ) -> None:
        optuna = require("tune", "`lamina.tuning.Tuner`")[0]
        if not callable(build_model):
            raise TypeError(
                f"`{_OWNER}` expects `build_model` to be a function `build_model(hp)` returning a "
                f"compiled model. Received: {build_model!r}."
            )
        self.build_model = build_model
        self.objective = resolve_objective(objective)
        self.max_trials = _positive_int("max_trials", max_trials)
        if time_budget is not None and (
            isinstance(time_budget, bool)
            or not isinstance(time_budget, numbers.Real)
            or not time_budget > 0
        ):
            raise ValueError(
                f"`{_OWNER}` expects `time_budget` to be a positive number of seconds or None. "
                f"Received: time_budget={time_budget!r}."
            )
        self.time_budget = None if time_budget is None else float(time_budget)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(
                f"`{_OWNER}` expects `seed` to be a non-negative integer. Received: seed={seed!r}."
            )
        self.seed = int(seed)
        self.keep_models = bool(keep_models)
        self.directory = Path(directory)
        self.study_name = study_name or _default_study_name(build_model)
        self._sampler_arg = check_sampler(sampler, search_space)
        self._pruner_arg = check_pruner(pruner)
        self.search_space = search_space
        self._dev: tuple[Any, Any] | None = None
        self._comparison: tuple[Any, Any] | None = None
        url = _storage.resolve_storage(storage, self.directory, self.study_name)
        self._storage_arg = url  # what worker processes open (`n_jobs` > 1)
        self.storage_url = _storage.mask_password(url) if isinstance(url, str) else repr(url)
        self._storage = _storage.open_storage(url)
        with _quiet(optuna):  # no "A new study created" line on every Tuner
            self.study = _storage.open_study(
                self._storage,
                self.study_name,
                self.objective.direction,
                make_sampler(self._sampler_arg, search_space, self._worker_seed()),
                make_pruner(self._pruner_arg, max_resource=10),
            )

    # ------------------------------------------------------------------ search
    def search(
        self,
        x: Any = None,
        y: Any = None,
        *,
        validation_data: Any = None,
        validation_split: float | None = None,
        cv: int | None = None,
        epochs: int = 10,
        batch_size: int | None = None,
        callbacks: list | None = None,
        n_jobs: int = 1,
        verbose: int = 1,
        **fit_kwargs: Any,
    ) -> TuningResults:
        """Runs trials until the study holds ``max_trials`` finished trials (or the
        time budget is spent), and returns `results()`.

        Only ``x``/``y`` and the validation data are used: the test set is never seen.

        Args:
            x: Training inputs (arrays for ``validation_split`` and ``cv``).
            y: Training targets.
            validation_data: ``(x_dev, y_dev)``: the dev set the objective is measured on.
            validation_split: The fraction of ``x``/``y`` (the last rows, as in Keras)
                kept out as the dev set.
            cv: ``k`` >= 2: the objective is the mean over ``k`` folds of each fold's
                best validation objective (stratified for class labels). Pruning sees
                the running mean of the fold bests.
            epochs: Epochs per trial (per fold with ``cv``); the pruner's budget.
                Defaults to `10`.
            batch_size: Passed to `fit`.
            callbacks: More callbacks for `fit`. The same instances go to every
                trial's `fit`, as in a loop of fits (a callback may count epochs across
                trials); with ``n_jobs`` > 1 each worker process has its own copies.
            n_jobs: Trials run at once, each in its own process (never threads: no
                GIL, and each trial stays reproducible from its seed). With ``k`` > 1
                this process is one worker and starts ``k - 1`` others with
                multiprocessing's ``'spawn'`` (see `lamina.tuning.workers`): each opens
                the same study in `storage` (not an in-memory one) and runs trials until
                the study holds `max_trials` finished trials or the time budget ends,
                with torch's threads set to ``max(1, cpus // k)``. `build_model`, the
                data and the callbacks are pickled to the workers: `build_model` must be
                a module-level function (in a script, call `search` under
                ``if __name__ == "__main__":``); a lambda or closure is a TypeError
                raised before any worker starts. A worker that dies (killed, crashed)
                is reported with its exit code in a `RuntimeWarning` and its trial is
                failed and retried with the same parameters. Defaults to `1`.
            verbose: 0 silent, 1 one line per trial, 2 also `fit`'s epoch lines.
            **fit_kwargs: Other arguments of `fit` (``class_weight``, ``shuffle``...).

        Returns:
            The `TuningResults`.

        Raises:
            ValueError: Bad arguments; an objective that `fit` does not log (raised
                at the first epoch, listing what is logged); ``n_jobs`` > 1 with an
                in-memory storage.
            TypeError: ``n_jobs`` > 1 and `build_model`, the data or a callback cannot
                be pickled (the message names it).
        """
        epochs = _positive_int("epochs", epochs)
        n_jobs = _positive_int("n_jobs", n_jobs)
        check_fit_kwargs(fit_kwargs)
        plan = plan_data(self.objective, x, y, validation_data, validation_split, cv)
        self._dev = plan.dev
        deadline = None if self.time_budget is None else time.monotonic() + self.time_budget
        run = dict(epochs=epochs, batch_size=batch_size, callbacks=list(callbacks or []))
        run.update(verbose=verbose, fit_kwargs=fit_kwargs, deadline=deadline)
        if n_jobs == 1:
            failures = self._search_here(plan, run)
        else:
            from lamina.tuning.workers import search_in_processes

            data = dict(x=x, y=y, validation_data=validation_data)
            data.update(validation_split=validation_split, cv=cv)
            failures = search_in_processes(self, plan, data, run, n_jobs)
        if failures >= self.max_trials and verbose:
            print(f"Stopped after {failures} failed trials; see `results().failures`.")
        return self.results()

    def _search_here(self, plan: Any, run: dict) -> int:
        """This process's trials of a search (the whole search with ``n_jobs=1``, one
        worker's share otherwise); returns the failures counted."""
        optuna = require("tune", "`Tuner.search`")[0]
        self.study.pruner = make_pruner(self._pruner_arg, max_resource=run["epochs"] * plan.n_folds)

        def objective(trial: Any) -> float:
            return run_trial(self, trial, plan, **run)

        verbose = run["verbose"]
        dead = _storage.fail_dead_trials(self.study)
        if dead and verbose:
            print(f"Trials {dead} of a process that ended mid-trial are failed and re-queued.")
        with _quiet(optuna, optuna.logging.WARNING if verbose >= 2 else optuna.logging.ERROR):
            return optimize(self, objective, 1, verbose, run["deadline"])

    # ------------------------------------------------------------------ results
    def results(self) -> TuningResults:
        """The study's trials as `TuningResults` (with the best vs runner-up comparison
        on the dev set of the last search, when both models were saved)."""
        records = [record_from_trial(t) for t in self.study.get_trials(deepcopy=False)]
        results = TuningResults(
            records,
            self.objective,
            study_name=self.study_name,
            storage=self.storage_url,
            study=self.study,
        )
        if self._dev is not None and is_saved(results.best) and is_saved(results.runner_up):
            try:
                results.comparison = self.compare_best()
                results.dev_size = _num_rows(self._dev[1])
            except (ValueError, TypeError):
                results.comparison = None  # e.g. several outputs: compare_best() says why
        return results

    @property
    def best_trial(self) -> TrialRecord:
        """The best complete trial. Raises ValueError when none completed."""
        best = self.results().best
        if best is None:
            raise ValueError(
                f"Study {self.study_name!r} has no complete trial yet. Run `search` first (or "
                "see `results().failures` for why trials failed)."
            )
        return best

    @property
    def best_params(self) -> dict:
        """The best trial's hyper-parameters."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """The best trial's objective value."""
        return float(self.best_trial.value)

    def best_model(self) -> Any:
        """The best trial's trained model, loaded from its saved file (its best epoch's
        weights: evaluated on the dev set it gives `best_value`).

        Raises:
            ValueError: No complete trial, or its model was not saved (``keep_models=False``,
                ``cv=``) or its file is gone.
        """
        return load_trial_model(self.best_trial)

    def compare_best(self, x: Any = None, y: Any = None) -> Any:
        """The best trial's model against the runner-up's on the dev set, paired
        (`Predictions.compare`): for classification a `McNemarResult` (its
        ``difference``: best accuracy minus runner-up's), otherwise a paired bootstrap
        `Interval` of the runner-up's MAE minus the best's (positive: the best model is
        better). With a dev set of a few hundred examples the two are often not
        distinguishable: the interval says so.

        Args:
            x: Dev inputs. Defaults to the validation data of the last search.
            y: Dev targets.

        Returns:
            The comparison, or None when fewer than two complete trials have saved models.
        """
        from lamina.workflow import Predictions

        results = TuningResults(
            [record_from_trial(t) for t in self.study.get_trials(deepcopy=False)], self.objective
        )
        best, runner = results.best, results.runner_up
        if not (is_saved(best) and is_saved(runner)):
            return None
        if x is None and y is None:
            if self._dev is None:
                raise ValueError(
                    "`Tuner.compare_best` needs the dev set: pass `x` and `y` (the last search "
                    "had no validation data, e.g. with `cv=`)."
                )
            x, y = self._dev
        key = (best.number, runner.number, id(x), id(y))
        if self._comparison is not None and self._comparison[0] == key:
            return self._comparison[1]
        a = Predictions.from_model(load_trial_model(best), x, y, name="dev")
        b = Predictions.from_model(load_trial_model(runner), x, y, name="dev")
        comparison = a.compare(b)
        self._comparison = (key, comparison)
        return comparison

    def plot(self, kind: str = "history", path: Any = None) -> Any:
        """Optuna's matplotlib plot of the study: ``"history"``, ``"importance"`` or
        ``"parallel"``; written to ``path`` when given. See `TuningResults.plot`."""
        return self.results().plot(kind, path)

    # ------------------------------------------------------------------ helpers
    def _worker_seed(self) -> int:
        worker = hashlib.sha256(f"{socket.gethostname()}:{os.getpid()}".encode()).digest()[:4]
        return derive_seed(self.seed, int.from_bytes(worker, "big"))


# ---------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _quiet(optuna: Any, level: int | None = None) -> Iterator[None]:
    """Optuna's INFO lines off (the Tuner prints its own progress); with ``level=ERROR``
    also its failed-trial warnings (the Tuner records and prints the error)."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING if level is None else level)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"`{_OWNER}` expects `{name}` to be a positive integer. Received: {name}={value!r}."
        )
    return int(value)


def _default_study_name(build_model: Any) -> str:
    name = getattr(build_model, "__name__", "")
    return name if name.isidentifier() else "build_model"


def _num_rows(y: Any) -> int | None:
    try:
        return len(y)
    except TypeError:
        return None
