"""`TrialPruning`: reports the objective to an Optuna trial after each epoch and stops
training when the trial's pruner says so; and the samplers and pruners `Tuner` takes by name."""

from __future__ import annotations

import math
import time
from typing import Any

from lamina.extras import require
from lamina.training.callbacks.base import Callback
from lamina.training.callbacks.early_stopping import snapshot_weights
from lamina.tuning.objective import Objective, missing_objective_error

SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("asha", "hyperband", "median", None)


class TrialPruning(Callback):
    """Reports the objective (``logs[monitor]``) to an Optuna trial after each epoch;
    stops `fit` when the trial should be pruned.

    What is reported at the end of epoch ``e`` (0-based) is the best value so far (the
    value the trial would get if it stopped there), at step ``e + 1``: the number of
    epochs trained, so a Hyperband budget is counted in epochs. The callback keeps the
    best epoch's value (and, with ``keep_best_weights=True``, a copy of its weights, put
    back when training ends), so the trial's value is the objective at the epoch whose
    weights are kept.

    A non-finite value (a diverged model) is not reported; training stops there, and the
    best finite value so far stands.

    With cross-validation, ``previous`` holds the best values of the folds already
    trained and ``step_offset`` their epochs: the value reported is the running mean
    of the fold bests, this fold's best so far included.

    After `fit`, a pruned trial has ``pruned == True``; the caller raises
    `optuna.TrialPruned` (raising inside `fit` would lose the epochs run).

    Args:
        trial: An `optuna.Trial`.
        monitor: The logged quantity, e.g. ``"val_accuracy"``.
        direction: ``"max"`` or ``"min"`` (or an `Objective`'s). Defaults to the
            direction read from ``monitor``'s name.
        keep_best_weights: Put back the best epoch's weights at the end of `fit`.
            Defaults to `False`.
        previous: Best values of the folds already trained. Defaults to none.
        step_offset: Epochs already reported for this trial. Defaults to `0`.
        deadline: A `time.monotonic()` time after which training stops at the end of
            the epoch (``out_of_time`` is then True). Defaults to `None`.
        last_step: The step of the trial's last epoch (epochs per fold times folds).
            At that step the value is reported but the pruner is not asked: the trial
            has trained all its epochs, stopping it saves nothing, and it completes
            with its value (a successive-halving rung at the last epoch would
            otherwise discard a fully trained trial). Defaults to `None` (always ask).
        defer_reports: Keep the values in memory and write the pending ones in one
            storage transaction only when the pruner is asked and at the end of `fit`,
            instead of one transaction per epoch. Defaults to `None`: deferred when
            the study's pruner is Optuna's `NopPruner` (``pruner=None``; never asked)
            or successive halving (``"asha"``, ``"hyperband"``: asked only at its rungs,
            ``min_resource * reduction_factor**k`` epochs, the only steps at which it
            can prune), so the stored curve is the same with a few writes per trial.
            Any other pruner is asked after every epoch, each value reported first.

    Raises:
        ValueError: At the first epoch whose logs lack ``monitor``; the message lists
            the logged keys.

    Example:
        >>> import optuna
        >>> from lamina.tuning import TrialPruning
        >>> study = optuna.create_study(direction="maximize")
        >>> cb = TrialPruning(study.ask(), "val_accuracy", "max")
    """

    def __init__(
        self,
        trial: Any,
        monitor: str,
        direction: str | None = None,
        *,
        keep_best_weights: bool = False,
        previous: list[float] | None = None,
        step_offset: int = 0,
        deadline: float | None = None,
        last_step: int | None = None,
        defer_reports: bool | None = None,
    ) -> None:
        super().__init__()
        if direction is None:
            from lamina.tuning.objective import resolve_objective

            self.objective = resolve_objective(monitor)
        else:
            self.objective = Objective(monitor, direction)
        self.trial = trial
        self.monitor = monitor
        self.keep_best_weights = bool(keep_best_weights)
        self.previous = list(previous or [])
        self.step_offset = int(step_offset)
        self.deadline = deadline
        self.last_step = last_step
        self.pruned = False
        self.diverged = False
        self.out_of_time = False
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.epochs = 0
        self._best_weights: dict | None = None
        pruner = getattr(getattr(trial, "study", None), "pruner", None)
        self._rungs = _rungs(pruner)  # None: ask every epoch; () never
        if defer_reports is None:
            defer_reports = self._rungs is not None
        self.defer_reports = bool(defer_reports)
        self.pending: dict[int, float] = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise missing_objective_error(self.monitor, logs)
        value = float(logs[self.monitor])
        self.epochs = epoch + 1
        if not math.isfinite(value):
            self.diverged = True
            self.model.stop_training = True
            return
        if self.objective.better(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.keep_best_weights:
                self._best_weights = snapshot_weights(self.model)
        values = [*self.previous, self.best]
        step = self.step_offset + epoch + 1
        if self.defer_reports:
            self.pending[step] = sum(values) / len(values)
        else:
            self.trial.report(sum(values) / len(values), step=step)
        final = self.last_step is not None and step >= self.last_step
        if not final and self._asks_at(step) and self._should_prune():
            self.pruned = True
            self.model.stop_training = True
        elif self.deadline is not None and time.monotonic() >= self.deadline:
            self.out_of_time = True
            self.model.stop_training = True

    def _asks_at(self, step: int) -> bool:
        """Whether the pruner is asked after the epoch of ``step``."""
        if not self.defer_reports or self._rungs is None:
            return True
        return step in self._rungs

    def _should_prune(self) -> bool:
        """Writes the pending values, then asks the pruner."""
        self._flush()
        return self.trial.should_prune()

    def _flush(self) -> None:
        """Writes the pending values in one storage transaction."""
        if self.pending:
            from lamina.tuning.batch import write

            write(self.trial, intermediate=self.pending)
            self.pending = {}

    def on_train_end(self, logs: dict | None = None) -> None:
        self._flush()
        if self.keep_best_weights and self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)


class _Rungs:
    """The steps ``min_resource * factor**k`` (k >= 0) at which successive halving decides."""

    def __init__(self, min_resource: int, factor: int) -> None:
        self.min_resource, self.factor = min_resource, factor

    def __contains__(self, step: int) -> bool:
        if step < self.min_resource or step % self.min_resource:
            return False
        q = step // self.min_resource
        while q % self.factor == 0:
            q //= self.factor
        return q == 1


def _rungs(pruner: Any) -> Any:
    """The steps at which ``pruner`` can prune: ``()`` for `NopPruner`, `_Rungs` for
    successive halving and Hyperband with an integer ``min_resource``, else None (any)."""
    optuna = require("tune", "`TrialPruning`")[0]
    if isinstance(pruner, optuna.pruners.NopPruner):
        return ()
    halving = (optuna.pruners.SuccessiveHalvingPruner, optuna.pruners.HyperbandPruner)
    if type(pruner) in halving:  # subclasses may decide elsewhere
        low, factor = (
            getattr(pruner, "_min_resource", None),
            getattr(pruner, "_reduction_factor", None),
        )
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, factor)):
            if low >= 1 and factor >= 2:
                return _Rungs(low, factor)
    return None


# ---------------------------------------------------------------------- samplers and pruners by name
def check_sampler(sampler: Any, search_space: Any) -> Any:
    """Checks `Tuner`'s ``sampler=`` (and ``search_space=``, used only by the grid)."""
    optuna = require("tune", "`lamina.tuning.Tuner`")[0]
    if isinstance(sampler, optuna.samplers.BaseSampler):
        if search_space is not None:
            raise ValueError(
                "`search_space` is only used with sampler='grid'. Received a sampler instance "
                "and a search_space: build the sampler with its own space instead."
            )
        return sampler
    if sampler not in SAMPLERS:
        raise ValueError(
            f"`Tuner` expects `sampler` to be one of {SAMPLERS} or an Optuna sampler. "
            f"Received: sampler={sampler!r}."
        )
    if sampler == "grid":
        ok = isinstance(search_space, dict) and search_space
        if ok:
            ok = all(isinstance(v, (list, tuple)) and len(v) > 0 for v in search_space.values())
        if not ok:
            raise ValueError(
                "sampler='grid' needs the grid: pass `search_space={name: [values, ...]}` with a "
                "non-empty list for every parameter `build_model` asks for (e.g. "
                f"search_space={{'units': [16, 32], 'learning_rate': [1e-3, 1e-2]}}). Received: "
                f"search_space={search_space!r}."
            )
    elif search_space is not None:
        raise ValueError(
            f"`search_space` is only used with sampler='grid'. Received: sampler={sampler!r} and "
            "a search_space. Drop `search_space` (the space is what `build_model` asks `hp` for)."
        )
    return sampler


def check_pruner(pruner: Any) -> Any:
    """Checks `Tuner`'s ``pruner=``."""
    optuna = require("tune", "`lamina.tuning.Tuner`")[0]
    if isinstance(pruner, optuna.pruners.BasePruner) or pruner in PRUNERS:
        return pruner
    raise ValueError(
        f"`Tuner` expects `pruner` to be one of {PRUNERS} or an Optuna pruner. Received: "
        f"pruner={pruner!r}."
    )


def make_sampler(sampler: Any, search_space: dict | None, seed: int) -> Any:
    """The Optuna sampler for `Tuner`'s ``sampler=`` (a name, checked by `check_sampler`,
    or an instance returned as is), seeded with ``seed``."""
    optuna = require("tune", "`lamina.tuning.Tuner`")[0]
    if not isinstance(sampler, str):
        return sampler
    if sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if sampler == "grid":
        return optuna.samplers.GridSampler(search_space, seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(pruner: Any, max_resource: int) -> Any:
    """The Optuna pruner for `Tuner`'s ``pruner=``, with the budget in epochs.

    - ``"asha"``: successive halving (Optuna's asynchronous `SuccessiveHalvingPruner`),
      rungs at 1, 3, 9, 27... epochs: at each rung a trial goes on only when it is in the
      best third of the trials that reached that rung (the first trials: the best of
      them), so it prunes from the second trial on.
    - ``"hyperband"``: Optuna's `HyperbandPruner` (min 1, max ``max_resource``,
      reduction factor 3): ``floor(log3(max_resource)) + 1`` successive-halving
      brackets, trials assigned by a hash of their number; the first trial of each
      bracket runs all its epochs, and the last bracket never prunes.
    - ``"median"``: Optuna's `MedianPruner` (after 2 complete trials, from the second
      epoch); `None`: never prunes; an Optuna pruner: returned as is.
    """
    optuna = require("tune", "`lamina.tuning.Tuner`")[0]
    if pruner is None:
        return optuna.pruners.NopPruner()
    if not isinstance(pruner, str):
        return pruner
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.HyperbandPruner(
        min_resource=1, max_resource=max_resource, reduction_factor=3
    )
