"""Parallel trials in processes: ``Tuner.search(..., n_jobs=k)`` with ``k`` > 1.

The calling process is one worker and starts ``k - 1`` others with multiprocessing's
``'spawn'`` start method (never ``fork``: torch has started threads by then). Each
worker opens the same study in the Tuner's storage (SQLite in WAL mode or an RDB
server, both safe for several processes), sets torch's threads to
``max(1, cpus // k)`` and runs trials until the study holds ``max_trials`` finished
trials, the time budget ends, or ``max_trials`` trials failed. Each worker seeds its
sampler from the study seed and its own process id (`Tuner` does it), so workers do
not repeat each other's draws; each trial's seed is still
``derive_seed(seed, trial.number)``.

What the workers need is pickled before any of them starts: `build_model`, the data,
the callbacks and the Tuner's settings. A module-level function pickles by name (a
worker imports its module; a function of a script's ``__main__`` makes each worker
re-import the script, so the script must call `search` under
``if __name__ == "__main__":``); a lambda, a nested function or an unpicklable callback
is a TypeError naming it, before any process starts.

The parent watches the workers while it runs its own trials: a worker that dies
(killed, crashed: no Python exception) has its running trial failed at once and
re-queued with the same parameters and seed (`lamina.tuning.dead_trials`), and is
reported with its exit code in a `RuntimeWarning` (it is not replaced: the other
workers, this process included, finish the search); a worker that stops on an exception
(a broken storage, an objective `fit` does not log) has that exception raised again
in the parent once the others are done.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import pickletools
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from typing import Any

_ERROR_BYTES = 32_000  # a worker's pickled exception larger than this is sent as text


def search_in_processes(tuner: Any, plan: Any, data: dict, run: dict, n_jobs: int) -> int:
    """Runs ``tuner``'s search in ``n_jobs`` processes (this one and ``n_jobs - 1``
    spawned); returns the failures this process counted.

    Args:
        tuner: The `Tuner`.
        plan: This process's `DataPlan` (the workers rebuild theirs from ``data``).
        data: ``x``, ``y``, ``validation_data``, ``validation_split``, ``cv`` as given.
        run: The trial settings of `Tuner.search` (epochs, callbacks, deadline...).
        n_jobs: The number of worker processes, >= 2.

    Raises:
        ValueError: The storage lives in this process only (in memory).
        TypeError: Something the workers need cannot be pickled (named in the message).
        RuntimeError: Called while a worker process imports the main script.
    """
    import torch

    _check_not_bootstrapping(n_jobs)
    _check_storage(tuner, n_jobs)
    payload = pickled_spec(tuner, data, run, n_jobs)
    threads = torch.get_num_threads()
    torch.set_num_threads(worker_threads(n_jobs))
    pool = _Pool(tuner, payload, n_jobs, run["verbose"])
    try:
        failures = tuner._search_here(plan, run)
        pool.wait()
        if pool.crashed() and failures < tuner.max_trials:
            # a worker died after this process's last trial: run its retried trial here
            failures += tuner._search_here(plan, run)
    except BaseException:
        pool.stop()
        raise
    finally:
        torch.set_num_threads(threads)
    pool.report()
    return failures


def worker_threads(n_jobs: int) -> int:
    """Torch threads per worker: the CPUs this process may use, shared by ``n_jobs``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // n_jobs)


def pickled_spec(tuner: Any, data: dict, run: dict, n_jobs: int) -> bytes:
    """What a worker needs (the Tuner's settings, the data, the trial settings), pickled.

    Raises:
        TypeError: A part cannot be pickled, or is defined in an interactive ``__main__``
            that the workers cannot import. The message names it and the fix.
    """
    deadline = run["deadline"]
    spec = {
        "tuner": dict(
            build_model=tuner.build_model,
            objective=tuner.objective,
            max_trials=tuner.max_trials,
            time_budget=tuner.time_budget,
            sampler=tuner._sampler_arg,
            pruner=tuner._pruner_arg,
            storage=tuner._storage_arg,
            study_name=tuner.study_name,
            seed=tuner.seed,
            directory=tuner.directory.resolve(),
            keep_models=tuner.keep_models,
            search_space=tuner.search_space,
        ),
        "data": data,
        "run": {**run, "deadline": None},
        # the time left, as a wall-clock time (a worker's monotonic clock has its own origin)
        "wall_deadline": None if deadline is None else time.time() + deadline - time.monotonic(),
        "n_jobs": n_jobs,
        "reseed": not isinstance(tuner._sampler_arg, str),
    }
    try:
        payload = pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001 - re-raised naming the part that failed
        raise _unpicklable(_parts(spec), n_jobs, e) from e
    if getattr(sys.modules.get("__main__"), "__file__", None) is None:
        name = _main_global(payload)
        if name is not None:
            raise TypeError(
                f"`Tuner.search(n_jobs={n_jobs})` runs trials in worker processes, which "
                f"cannot import `{name}`: it is defined in the `__main__` of an interactive "
                "session (no script file to re-import). Define it in a .py module and import "
                "it, or pass n_jobs=1 to run the trials in this process."
            )
    return payload


def _parts(spec: dict) -> list[tuple[str, str, Any]]:
    """(what, its name in the message's "Received:", value) of each part of ``spec``."""
    settings = spec["tuner"]
    parts = [("`build_model`", "build_model", settings["build_model"])]
    parts += [(f"`callbacks[{i}]`", f"callbacks[{i}]", c)
              for i, c in enumerate(spec["run"]["callbacks"])]  # fmt: skip
    parts += [(f"the `fit` argument `{k}`", k, v) for k, v in spec["run"]["fit_kwargs"].items()]
    parts += [(f"`{k}`", k, v) for k, v in spec["data"].items()]
    parts += [(f"`{k}`", k, settings[k]) for k in ("sampler", "pruner", "storage", "search_space")]
    return parts


def _unpicklable(parts: list[tuple[str, str, Any]], n_jobs: int, error: Exception) -> TypeError:
    what, key, value = "the search's settings", "settings", None
    for label, name, part in parts:
        try:
            pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - this part is the one to name
            what, key, value, error = label, name, part, e
            break
    shown = repr(value)
    shown = shown if len(shown) <= 100 else shown[:97] + "..."
    head = (
        f"`Tuner.search(n_jobs={n_jobs})` runs trials in {n_jobs} processes started with "
        f"'spawn', which receive {what} pickled, and it cannot be pickled. Received: "
        f"{key}={shown} ({type(error).__name__}: {error})."
    )
    if key == "build_model":
        return TypeError(
            f"{head} Define `build_model` with `def` at the top level of a module or script "
            "(not a lambda, a nested function or a closure; a script calls `search` under "
            '`if __name__ == "__main__":`), or pass n_jobs=1 to run the trials in this process.'
        )
    return TypeError(
        f"{head} Make it picklable (module-level classes and functions; no lambdas, open "
        "files or locks), or pass n_jobs=1 to run the trials in this process."
    )


def _main_global(payload: bytes) -> str | None:
    """The first ``__main__.<name>`` the pickle refers to, or None."""
    strings: list[Any] = []
    memo: list[Any] = []
    for opcode, arg, _ in pickletools.genops(payload):
        if opcode.name == "GLOBAL":
            module, _, name = str(arg).partition(" ")
            if module == "__main__":
                return name
        elif opcode.name == "STACK_GLOBAL":
            if len(strings) >= 2 and strings[-2] == "__main__":
                return str(strings[-1])
        elif opcode.name == "MEMOIZE":
            memo.append(strings[-1] if strings else None)
        elif opcode.name in ("BINGET", "LONG_BINGET", "GET"):
            strings.append(memo[int(arg)] if int(arg) < len(memo) else None)
        elif isinstance(arg, str):
            strings.append(arg)
        else:
            strings.append(None)
    return None


def _check_not_bootstrapping(n_jobs: int) -> None:
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError(
            f"`Tuner.search(n_jobs={n_jobs})` was called while a worker process of a search "
            "was importing the main script: the script calls `search` at its top level. Put "
            'the call under `if __name__ == "__main__":` (each worker imports the script to '
            "find `build_model`), or pass n_jobs=1."
        )


def _check_storage(tuner: Any, n_jobs: int) -> None:
    from lamina.extras import require

    optuna = require("tune", "`Tuner.search`")[0]
    storage = tuner._storage_arg
    url = storage if isinstance(storage, str) else getattr(storage, "url", None)
    in_memory = isinstance(storage, optuna.storages.InMemoryStorage)
    if isinstance(url, str) and url.startswith("sqlite"):
        database = url.split("://", 1)[1].lstrip("/")
        in_memory = in_memory or database in ("", ":memory:") or "mode=memory" in database
    if in_memory:
        raise ValueError(
            f"`Tuner.search(n_jobs={n_jobs})` runs trials in {n_jobs} processes that share the "
            "study through its storage, and this storage lives in this process's memory. "
            f"Received: storage={tuner.storage_url}. Pass storage=None (a SQLite file in "
            "`directory`), a 'sqlite:///path/study.db' or server URL, or n_jobs=1."
        )


def _worker(payload: bytes, conn: Any) -> None:
    """A spawned worker: opens the study and runs trials (`Tuner._search_here`)."""
    try:
        conn.send(("started", os.getpid()))
        spec = pickle.loads(payload)
        import torch

        from lamina.tuning.objective import plan_data
        from lamina.tuning.tuner import Tuner

        torch.set_num_threads(worker_threads(spec["n_jobs"]))
        tuner = Tuner(**spec["tuner"])
        if spec["reseed"]:  # a sampler instance arrives with the parent's random state
            tuner.study.sampler.reseed_rng()
        d = spec["data"]
        plan = plan_data(
            tuner.objective, d["x"], d["y"], d["validation_data"], d["validation_split"], d["cv"]
        )
        tuner._dev = plan.dev
        run, wall = dict(spec["run"]), spec["wall_deadline"]
        run["deadline"] = None if wall is None else time.monotonic() + wall - time.time()
        tuner._search_here(plan, run)
        conn.send(("done", None))
    except BaseException as e:  # noqa: BLE001 - sent to the parent, raised there
        conn.send(("error", _portable(e)))
        conn.close()
        sys.exit(1)


def _portable(error: BaseException) -> tuple[bytes | None, str]:
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        data = pickle.dumps(error)
        pickle.loads(data)
    except Exception:  # noqa: BLE001 - sent as text
        data = None
    return (data if data is not None and len(data) <= _ERROR_BYTES else None), text[-8000:]


@dataclass
class _Worker:
    process: Any
    conn: Any
    started: bool = False
    done: bool = False
    error: tuple | None = None
    retried: list[int] = field(default_factory=list)


class _Pool:
    """The spawned workers, and a thread that watches them end (`_ended`)."""

    def __init__(self, tuner: Any, payload: bytes, n_jobs: int, verbose: int) -> None:
        self.tuner, self.n_jobs, self.verbose = tuner, n_jobs, verbose
        context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []
        try:
            for i in range(n_jobs - 1):
                receive, send = context.Pipe(duplex=False)
                process = context.Process(
                    target=_worker, args=(payload, send), name=f"lamina-tuning-worker-{i + 1}"
                )
                process.start()
                send.close()
                self.workers.append(_Worker(process, receive))
        except BaseException:
            self.stop()
            raise
        self.thread = threading.Thread(target=self._watch, name="lamina-tuning-pool", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        waiting: dict[Any, _Worker] = {}
        for w in self.workers:
            waiting[w.conn] = waiting[w.process.sentinel] = w
        while waiting:
            for ready in wait_for(list(waiting)):
                w = waiting.pop(ready, None)
                if w is None:  # its connection, already drained when its process ended
                    continue
                if ready is w.conn:
                    if self._receive(w):
                        waiting[w.conn] = w
                    continue
                w.process.join()
                while self._receive(w):
                    pass
                waiting.pop(w.conn, None)
                self._ended(w)

    def _receive(self, w: _Worker) -> bool:
        try:
            if not w.conn.poll():
                return False
            kind, value = w.conn.recv()
        except (EOFError, OSError):
            return False
        w.started = w.started or kind == "started"
        w.done = w.done or kind == "done"
        if kind == "error":
            w.error = value
        return True

    def _ended(self, w: _Worker) -> None:
        if w.error is not None or (w.done and w.process.exitcode == 0):
            return
        from lamina.tuning.dead_trials import fail_dead_trials

        try:
            w.retried = fail_dead_trials(self.tuner.study)
        except Exception:  # noqa: BLE001 - the heartbeat fails the trial later
            w.retried = []
        if self.verbose:
            print(self._describe(w), flush=True)

    def wait(self) -> None:
        """Waits until every worker has ended."""
        self.thread.join()

    def crashed(self) -> bool:
        return any(w.error is None and not w.done for w in self.workers)

    def stop(self) -> None:
        """Ends the workers now (this process stops on an error or an interrupt)."""
        for w in self.workers:
            if w.process.is_alive():
                w.process.terminate()
        for w in self.workers:
            w.process.join(10)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
        if getattr(self, "thread", None) is not None:
            self.thread.join(30)

    def report(self) -> None:
        """Warns about each worker that died; raises the first worker's exception."""
        for w in self.workers:
            if w.error is None and not w.done:
                warnings.warn(self._describe(w), RuntimeWarning, stacklevel=4)
        for w in self.workers:
            if w.error is not None:
                data, text = w.error
                note = f"Raised in worker process {w.process.pid} of `Tuner.search(n_jobs=" + (
                    f"{self.n_jobs})`:\n{text}"
                )
                error = pickle.loads(data) if data is not None else RuntimeError(text)
                if hasattr(error, "add_note"):
                    error.add_note(note)
                raise error

    def _describe(self, w: _Worker) -> str:
        code = w.process.exitcode
        how = f"exit code {code}"
        if code is not None and code < 0:
            how += f" ({signal.Signals(-code).name})"
        head = f"Worker process {w.process.pid} of `Tuner.search(n_jobs={self.n_jobs})`"
        if not w.started:
            return (
                f"{head} ended before it could start ({how}; its error is printed above). If "
                'the calling script runs `search` outside `if __name__ == "__main__":`, each '
                "worker re-runs it when it imports the script: put the call under that guard."
            )
        if not w.retried:
            return f"{head} ended with {how} (killed or crashed); no trial of it was running."
        return (
            f"{head} ended with {how} (killed or crashed) while running trial(s) {w.retried}: "
            "failed, and retried with the same parameters and seed."
        )
