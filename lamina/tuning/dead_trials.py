"""Trials of a process that died: who runs a trial, failing it when its process is
gone, and retrying it with the same parameters.

A process killed mid-trial (``kill -9``, out of memory) leaves its trial RUNNING in the
study's storage. `mark_trial_owner` records the host and process of each trial;
`fail_dead_trials` fails at once the running trials of this host whose process is gone
(the heartbeat of `lamina.tuning.storage.open_storage` does it for other hosts after its
grace period), and `RetryDeadTrial` (the storage's callback) queues a WAITING copy with
the same parameters, at most `MAX_RETRY` times.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import os
import socket
from typing import TYPE_CHECKING, Any

from lamina.extras import require

if TYPE_CHECKING:
    import optuna

# user attrs the Tuner sets on each trial (mark_trial_owner; the error when it fails) and
# that a retried copy does not inherit
HOST_ATTR = "lamina_host"
PID_ATTR = "lamina_pid"
ERROR_ATTR = "error"
MAX_RETRY = 2  # times a trial whose process died is retried with the same parameters


def mark_trial_owner(trial: Any) -> None:
    """Records on `trial` the host and process that run it (user attrs ``lamina_host``
    and ``lamina_pid``), so `fail_dead_trials` can tell when that process is gone.

    Args:
        trial: The running `optuna.Trial`.
    """
    from lamina.tuning.batch import write

    write(trial, owner_attrs())


def owner_attrs() -> dict[str, Any]:
    """The user attrs `mark_trial_owner` sets: this host and process id."""
    return {HOST_ATTR: socket.gethostname(), PID_ATTR: os.getpid()}


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Fails now the RUNNING trials whose process on this host no longer exists.

    A process killed mid-trial (``kill -9``, out of memory, a closed terminal) leaves
    its trial RUNNING. The heartbeat fails such a trial after the grace period; this
    function does not wait: a trial marked by `mark_trial_owner` on this host whose
    process is gone (or a zombie) is set to FAIL with an ``error`` user attr, and the
    storage's retry callback queues a WAITING copy with the same parameters (at most
    twice per original trial), which the next `study.optimize`/`study.ask` runs first.
    Trials of other hosts are left to the heartbeat. A process id reused by a new
    process makes its trial look alive: the heartbeat then fails it.

    Args:
        study: The study to check.

    Returns:
        The numbers of the trials set to FAIL.
    """
    optuna = require("tune", "Tuning storage")[0]
    TrialState = optuna.trial.TrialState
    host = socket.gethostname()
    storage = study._storage
    failed = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(PID_ATTR)
        if trial.user_attrs.get(HOST_ATTR) != host or not isinstance(pid, int):
            continue
        if _process_alive(pid):
            continue
        try:
            storage.set_trial_user_attr(
                trial._trial_id,
                ERROR_ATTR,
                f"The process {pid} running this trial on {host} ended before the trial "
                "finished (killed or crashed); the trial is retried with the same parameters.",
            )
            if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another process failed or finished it first
        failed.append(trial._trial_id)
    callback = None
    if hasattr(storage, "get_heartbeat_stale_trial_callback"):
        callback = storage.get_heartbeat_stale_trial_callback()
    elif hasattr(storage, "get_failed_trial_callback"):  # Optuna < 4.9
        callback = storage.get_failed_trial_callback()
    numbers = []
    for trial_id in failed:
        frozen = storage.get_trial(trial_id)
        numbers.append(frozen.number)
        if callback is not None:
            callback(study, frozen)
    return numbers


class RetryDeadTrial:
    """Optuna's retry callback, minus the dead run's Lamina attrs (owner and error), so the
    WAITING copy does not look owned by the dead process or failed."""

    def __init__(self, max_retry: int) -> None:
        self._max_retry = max_retry
        optuna = require("tune", "Tuning storage")[0]
        retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
        retry = retry or optuna.storages.RetryFailedTrialCallback  # its name before Optuna 4.9
        self._inner = retry(max_retry=max_retry)

    def __call__(self, study: Any, trial: Any) -> None:
        clean = copy.deepcopy(trial)
        for key in (HOST_ATTR, PID_ATTR, ERROR_ATTR):
            clean.user_attrs.pop(key, None)
        self._inner(study, clean)


def callback_argument(optuna: Any) -> str:
    """RDBStorage's argument for the dead-trial callback (renamed in Optuna 4.9)."""
    parameters = inspect.signature(optuna.storages.RDBStorage).parameters
    if "heartbeat_stale_trial_callback" in parameters:
        return "heartbeat_stale_trial_callback"
    return "failed_trial_callback"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    with contextlib.suppress(OSError, IndexError):
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")  # a zombie has ended; only its parent has not reaped it
    return True
