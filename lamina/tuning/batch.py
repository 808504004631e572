"""Writing several things of a running trial to its storage in one transaction.

Each `trial.set_user_attr` and `trial.report` of Optuna is its own storage transaction
(two queries, a write and a commit: about 2 ms on SQLite). A trial of a `Tuner` sets
its owner and seed at its start and its epochs, best epoch, model path and time at its
end, and, without a pruner, has nothing to report while it trains: `write` puts such a
group into one transaction on an `RDBStorage`, and falls back to Optuna's per-item
calls on any other storage.
"""

from __future__ import annotations

from typing import Any


def write(trial: Any, user_attrs: dict | None = None, intermediate: dict | None = None) -> None:
    """Sets ``user_attrs`` and reports ``intermediate`` (``{step: value}``) of the
    running ``trial`` in one storage transaction (one commit).

    Args:
        trial: A running `optuna.Trial`.
        user_attrs: User attributes to set (JSON-able values). Defaults to none.
        intermediate: Values to report by step; a step already reported is left as
            it is, as `trial.report` does. Defaults to none.

    Example:
        >>> import optuna
        >>> from lamina.tuning.batch import write
        >>> trial = optuna.create_study(storage="sqlite:///:memory:").ask()
        >>> write(trial, {"seed": 3}, {1: 0.5, 2: 0.7})
        >>> trial.user_attrs["seed"], trial.study.trials[0].intermediate_values
        (3, {1: 0.5, 2: 0.7})
    """
    attrs = dict(user_attrs or {})
    cached = trial._cached_frozen_trial
    steps = {
        int(step): float(value)
        for step, value in (intermediate or {}).items()
        if int(step) not in cached.intermediate_values
    }
    if not attrs and not steps:
        return
    backend = _rdb_backend(trial.storage)
    if backend is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        for step, value in steps.items():
            trial.report(value, step)
        return
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session, True) as session:
        if steps:
            _insert_steps(backend, session, trial._trial_id, steps)
        for key, value in attrs.items():
            backend._set_trial_attr_without_commit(
                session, models.TrialUserAttributeModel, trial._trial_id, key, value
            )
    cached.user_attrs.update(attrs)
    cached.intermediate_values.update(steps)


def _insert_steps(backend: Any, session: Any, trial_id: int, steps: dict) -> None:
    """Inserts the intermediate values ``steps`` of a running trial: one query for the
    trial's state and stored steps, one insert for all (Optuna's per-value path runs two
    queries per value). A step stored already keeps its value, as in `trial.report`."""
    from optuna.storages._rdb import models

    trial = models.TrialModel.find_or_raise_by_id(trial_id, session)
    backend.check_trial_is_updatable(trial_id, trial.state)
    table = models.TrialIntermediateValueModel
    stored = {row[0] for row in session.query(table.step).filter(table.trial_id == trial_id)}
    rows = []
    for step, value in steps.items():
        if step in stored:
            continue
        stored_value, value_type = table.intermediate_value_to_stored_repr(value)
        rows.append(
            table(
                trial_id=trial_id,
                step=step,
                intermediate_value=stored_value,
                intermediate_value_type=value_type,
            )
        )
    session.add_all(rows)


def _rdb_backend(storage: Any) -> Any:
    """The `RDBStorage` behind ``storage`` (Optuna wraps it in a cache), or None."""
    import optuna

    backend = getattr(storage, "_backend", storage)
    needed = ("scoped_session", "_set_trial_attr_without_commit")
    needed += ("check_trial_is_updatable",)
    if isinstance(backend, optuna.storages.RDBStorage) and all(
        hasattr(backend, name) for name in needed
    ):
        return backend
    return None
