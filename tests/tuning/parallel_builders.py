"""Module-level `build_model` for tests/tuning/test_parallel_workers.py: the worker
processes that `Tuner.search(n_jobs=2)` spawns import it by name (pytest puts this
folder on `sys.path`; spawn hands the parent's `sys.path` to its children).

Environment switches (set by the tests, inherited by the workers):
- ``LAMINA_TEST_MEET=<folder>``: each process writes ``<folder>/<pid>`` at its first
  trial and waits (at most 60 s) until two processes have, so both run trials; with
  ``LAMINA_TEST_CRASH`` the test's process then waits until the worker has ended.
- ``LAMINA_TEST_CRASH=<folder>``: the first model a spawned worker builds (its parameters sampled) writes its
  number to ``<folder>/crashed`` and ends the worker with ``os._exit(3)``.
- ``LAMINA_TEST_WORKER_ERROR=1``: a spawned worker's trials raise an Optuna storage
  error (which stops a search instead of failing one trial).
"""

from __future__ import annotations

import multiprocessing
import os
import time

import lamina


def build_model(hp):
    _meet()
    model = lamina.Sequential(
        [
            lamina.Input(shape=(8,)),
            lamina.layers.Dense(hp.Int("units", 2, 64, log=True), activation="relu"),
            lamina.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-1, log=True)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    _crash_once(hp.trial.number)  # after the parameters are sampled
    if os.environ.get("LAMINA_TEST_WORKER_ERROR") and multiprocessing.parent_process():
        import optuna

        raise optuna.exceptions.StorageInternalError("the worker's storage broke")
    return model


def _meet() -> None:
    folder = os.environ.get("LAMINA_TEST_MEET")
    if not folder:
        return
    open(os.path.join(folder, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(folder)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    crash = os.environ.get("LAMINA_TEST_CRASH")
    if crash and multiprocessing.parent_process() is None:  # until the worker is gone
        others = [int(p) for p in os.listdir(folder) if int(p) != os.getpid()]
        while time.monotonic() < deadline and any(_alive(p) for p in others):
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _crash_once(number: int) -> None:
    folder = os.environ.get("LAMINA_TEST_CRASH")
    if not folder or multiprocessing.parent_process() is None:
        return
    marker = os.path.join(folder, "crashed")
    if os.path.exists(marker):
        return
    with open(marker, "w") as f:
        f.write(str(number))
    os._exit(3)
