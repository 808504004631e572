"""`Tuner.search(n_jobs=2)` runs trials in 2 processes on one study (the test's process
and one spawned worker): max_trials reached with no duplicated trial or parameters,
trials run in both processes, the results are what the storage holds; an unpicklable
`build_model` or callback and an in-memory storage are clear errors before any worker
starts; a worker killed mid-trial is reported with its exit code and its trial retried.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading

import numpy as np
import pytest
import torch

optuna = pytest.importorskip("optuna")

import parallel_builders  # noqa: E402 - tests/tuning is on sys.path (pytest's rootdir-less import)

from lamina.tuning import Tuner  # noqa: E402
from lamina.tuning import storage as st  # noqa: E402
from lamina.tuning.trials import derive_seed  # noqa: E402

State = optuna.trial.TrialState


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x[:64], y[:64], (x[64:], y[64:])


def _tuner(tmp_path, build_model=parallel_builders.build_model, **kwargs):
    return Tuner(build_model, "val_accuracy", pruner=None, sampler="random",
                 directory=tmp_path / "studies", **kwargs)  # fmt: skip


def _stored(tuner):
    study = optuna.load_study(study_name=tuner.study_name, storage=tuner._storage_arg)
    return study.get_trials()


def _meet(tmp_path, monkeypatch):
    folder = tmp_path / "meet"
    folder.mkdir()
    monkeypatch.setenv("LAMINA_TEST_MEET", str(folder))
    return folder


def test_two_processes_finish_the_search_without_duplicates(tmp_path, monkeypatch):
    meet = _meet(tmp_path, monkeypatch)
    threads = torch.get_num_threads()
    x, y, dev = _data()
    tuner = _tuner(tmp_path, max_trials=6)
    results = tuner.search(x, y, validation_data=dev, epochs=2, n_jobs=2, verbose=0)
    assert torch.get_num_threads() == threads  # restored after the search
    assert multiprocessing.active_children() == []  # the worker was waited for

    trials = _stored(tuner)
    # each worker stops once the study holds 6 finished trials; the other's running trial
    # then still finishes: at most n_jobs - 1 = 1 extra
    assert 6 <= len(trials) <= 7
    assert all(t.state == State.COMPLETE for t in trials)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    params = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(params)) == len(params)  # the two samplers do not repeat each other
    pids = {t.user_attrs[st.PID_ATTR] for t in trials}
    worker = {int(p) for p in os.listdir(meet)} - {os.getpid()}
    assert len(worker) == 1 and pids == {os.getpid(), *worker}
    assert all(t.user_attrs["seed"] == derive_seed(0, t.number) for t in trials)

    # the results are what the storage holds; the best model is the best trial's
    expected = [(t.number, t.state.name, t.params, t.value) for t in trials]
    assert [(r.number, r.state, r.params, r.value) for r in results.trials] == expected
    best = max(trials, key=lambda t: t.value)
    assert tuner.best_params == best.params
    logs = tuner.best_model().evaluate(*dev, verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(best.value, abs=1e-6)


def _closure():
    units = 4
    return lambda hp: units


class _Locked:  # a callback holding a lock cannot be pickled
    def __init__(self):
        self.lock = threading.Lock()


@pytest.mark.parametrize("build_model", [lambda hp: None, _closure()], ids=["lambda", "closure"])
def test_unpicklable_build_model_is_named_before_any_worker_starts(tmp_path, build_model):
    x, y, dev = _data()
    tuner = _tuner(tmp_path, build_model, max_trials=2, study_name="unpicklable")
    with pytest.raises(TypeError, match=r"(?s)receive `build_model` pickled, and it cannot be "
                       r"pickled\. Received: build_model=<function .*lambda.*top level of a "
                       r"module.*n_jobs=1"):  # fmt: skip
        tuner.search(x, y, validation_data=dev, epochs=1, n_jobs=2, verbose=0)
    assert multiprocessing.active_children() == []
    assert _stored(tuner) == []


def test_build_model_of_an_interactive_main_is_a_clear_error(tmp_path, monkeypatch):
    import sys

    main = sys.modules["__main__"]

    def interactive_build(hp):  # as if typed in a REPL or a notebook: no file to import
        return parallel_builders.build_model(hp)

    interactive_build.__module__, interactive_build.__qualname__ = "__main__", "interactive_build"
    monkeypatch.setattr(main, "interactive_build", interactive_build, raising=False)
    monkeypatch.delattr(main, "__file__", raising=False)
    x, y, dev = _data()
    tuner = _tuner(tmp_path, interactive_build, max_trials=2)
    with pytest.raises(TypeError, match=r"cannot import `interactive_build`: it is defined in "
                       r"the `__main__` of an interactive session.*n_jobs=1"):  # fmt: skip
        tuner.search(x, y, validation_data=dev, epochs=1, n_jobs=2, verbose=0)
    assert multiprocessing.active_children() == [] and _stored(tuner) == []


def test_unpicklable_callback_and_in_memory_storage_are_clear_errors(tmp_path):
    import lamina

    x, y, dev = _data()

    class Keep(lamina.callbacks.Callback, _Locked):
        def __init__(self):
            lamina.callbacks.Callback.__init__(self)
            _Locked.__init__(self)

    tuner = _tuner(tmp_path, max_trials=2)
    with pytest.raises(TypeError, match=r"receive `callbacks\[0\]` pickled.*Make it picklable"):
        tuner.search(x, y, validation_data=dev, epochs=1, callbacks=[Keep()], n_jobs=2)
    memory = _tuner(tmp_path, max_trials=2, storage=optuna.storages.InMemoryStorage())
    with pytest.raises(ValueError, match=r"lives in this process's memory.*storage=None"):
        memory.search(x, y, validation_data=dev, epochs=1, n_jobs=2)
    assert multiprocessing.active_children() == []


def test_a_killed_worker_is_reported_and_its_trial_retried(tmp_path, monkeypatch):
    meet = _meet(tmp_path, monkeypatch)
    crash = tmp_path / "crash"
    crash.mkdir()
    monkeypatch.setenv("LAMINA_TEST_CRASH", str(crash))
    x, y, dev = _data()
    tuner = _tuner(tmp_path, max_trials=5)
    with pytest.warns(RuntimeWarning, match=r"ended with exit code 3 \(killed or crashed\) "
                      r"while running trial\(s\) \[\d+\]: failed, and retried"):  # fmt: skip
        results = tuner.search(x, y, validation_data=dev, epochs=2, n_jobs=2, verbose=0)

    number = int((crash / "crashed").read_text())
    worker = {int(p) for p in os.listdir(meet)} - {os.getpid()}
    trials = {t.number: t for t in _stored(tuner)}
    killed = trials[number]
    assert killed.state == State.FAIL and {killed.user_attrs[st.PID_ATTR]} == worker
    assert "ended before the trial finished" in killed.user_attrs["error"]
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == number]
    assert len(retries) == 1 and retries[0].state == State.COMPLETE
    assert retries[0].params == killed.params
    assert retries[0].user_attrs["seed"] == killed.user_attrs["seed"] == derive_seed(0, number)
    assert retries[0].user_attrs[st.PID_ATTR] == os.getpid()  # the only worker left
    assert sum(t.state == State.COMPLETE for t in trials.values()) == 5
    assert [r.number for r in results.failures] == [number]


def test_an_error_that_stops_a_worker_is_raised_in_the_caller(tmp_path, monkeypatch):
    _meet(tmp_path, monkeypatch)
    monkeypatch.setenv("LAMINA_TEST_WORKER_ERROR", "1")
    x, y, dev = _data()
    tuner = _tuner(tmp_path, max_trials=3)
    with pytest.raises(optuna.exceptions.StorageInternalError, match="the worker's storage broke"
                       ) as raised:  # fmt: skip
        tuner.search(x, y, validation_data=dev, epochs=1, n_jobs=2, verbose=0)
    notes = getattr(raised.value, "__notes__", None)  # exception notes: Python >= 3.11
    assert notes is None or any("Raised in worker process" in note for note in notes)
    trials = _stored(tuner)  # this process finished the search before raising it
    assert sum(t.state == State.COMPLETE for t in trials) == 3
    assert multiprocessing.active_children() == []


def test_lamina_tune_n_jobs_runs_the_script_in_two_processes(tmp_path, monkeypatch, capsys):
    from lamina.cli import main

    meet = _meet(tmp_path, monkeypatch)
    script = tmp_path / "search.py"
    script.write_text(
        "import numpy as np\n"
        "import parallel_builders\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.normal(size=(96, 8)).astype('float32')\n"
        "y = (x[:, 0] > 0).astype('int64')\n"
        "validation_split = 0.25\n\n"
        "def build_model(hp):  # defined in the script: workers run the script again\n"
        "    return parallel_builders.build_model(hp)\n"
    )
    studies = tmp_path / "studies"
    code = main(["tune", str(script), "--n-jobs", "2", "--max-trials", "4", "--epochs", "1",
                 "--objective", "val_accuracy", "--sampler", "random", "--directory",
                 str(studies)])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err[-2000:]
    trials = optuna.load_study(study_name="build_model", storage=f"sqlite:///{studies}/"
                               "build_model.db").get_trials()  # fmt: skip
    assert 4 <= sum(t.state == State.COMPLETE for t in trials) <= 5
    pids = {t.user_attrs[st.PID_ATTR] for t in trials}
    assert pids == {int(p) for p in os.listdir(meet)} and len(pids) == 2
