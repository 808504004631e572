"""A search survives its process: kill -9 mid-search and resume; 2 processes on one SQLite study.

Each search runs in a child Python process (bounded by timeouts, killed in `finally`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

optuna = pytest.importorskip("optuna")

from lamina.tuning import storage as st  # noqa: E402

State = optuna.trial.TrialState

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    import lamina
    from lamina.tuning import Tuner
    from sklearn.datasets import load_digits


    def run(url, study, max_trials, starts, marker="-", sleep=0.0):
        d = load_digits()
        x = (d.data / 16.0).astype("float32")[:160]
        y = d.target[:160]

        def build_model(hp):
            model = lamina.Sequential([
                lamina.Input(shape=(64,)),
                lamina.layers.Dense(hp.Int("units", 8, 32, log=True), activation="relu"),
                lamina.layers.Dense(10, activation="softmax"),
            ])
            model.compile(
                optimizer=lamina.optimizers.Adam(hp.Float("learning_rate", 1e-3, 3e-2, log=True)),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            with open(starts, "a") as f:  # one line per trial start
                f.write(json.dumps({"pid": os.getpid(), "params": hp.values}) + "\\n")
            with open(starts) as f:
                if marker != "-" and len(f.readlines()) == 3:  # the third trial (number 2):
                    hang.append(True)  # it trains until the test kills the process
                    open(marker, "w").close()
            return model

        hang = []

        class Slow(lamina.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                time.sleep(60 if hang else sleep)

        tuner = Tuner(build_model, "val_accuracy", max_trials=max_trials, pruner=None,
                      storage=url, study_name=study, directory=os.path.dirname(starts))
        if os.environ.get("BARRIER"):  # start searching together with the other workers
            folder, n = os.environ["BARRIER"].rsplit(":", 1)
            open(os.path.join(folder, f"ready_{os.getpid()}"), "w").close()
            deadline = time.monotonic() + 60
            while len(os.listdir(folder)) < int(n) and time.monotonic() < deadline:
                time.sleep(0.02)
        tuner.search(x[:120], y[:120], validation_data=(x[120:], y[120:]), epochs=2,
                     callbacks=[Slow()], verbose=0)


    if __name__ == "__main__":
        url, study, max_trials, starts, marker, sleep = sys.argv[1:7]
        run(url, study, int(max_trials), starts, marker, float(sleep))
        print("done", os.getpid())
    """
)


def _script(tmp_path):
    script = tmp_path / "tuning_child.py"
    if not script.exists():
        script.write_text(CHILD)
    return script


def _child(tmp_path, url, study, max_trials, *, marker="-", sleep=0.0, barrier=""):
    args = [url, study, str(max_trials), str(tmp_path / "starts.jsonl"), marker, str(sleep)]
    return subprocess.Popen(
        [sys.executable, str(_script(tmp_path)), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd(), "BARRIER": barrier},
    )


def _in_process(tmp_path, url, study, max_trials):
    spec = importlib.util.spec_from_file_location("tuning_child", _script(tmp_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.run(url, study, max_trials, str(tmp_path / "starts.jsonl"))


def _starts(tmp_path):
    with open(tmp_path / "starts.jsonl") as f:
        return [json.loads(line) for line in f]


def _record(trial):
    return (trial.number, trial.params, trial.value, trial.user_attrs.get("seed"))


def test_kill_9_mid_search_then_search_again_continues_the_study(tmp_path):
    url = f"sqlite:///{tmp_path}/killed.db"
    marker = tmp_path / "third_trial_running"
    child = _child(tmp_path, url, "killed", 6, marker=str(marker))
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), child.communicate(timeout=10)[1][-2000:]
        time.sleep(0.2)  # inside fit
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    study = optuna.load_study(study_name="killed", storage=url)
    before = study.get_trials()
    assert [t.state for t in before] == [State.COMPLETE, State.COMPLETE, State.RUNNING]
    assert before[2].user_attrs[st.PID_ATTR] == child.pid  # owned by the dead process
    finished_before = [_record(t) for t in before[:2]]

    # search again (here in the test's process) with the same storage and study: it continues
    _in_process(tmp_path, url, "killed", 6)

    trials = optuna.load_study(study_name="killed", storage=url).get_trials()
    complete = [t for t in trials if t.state == State.COMPLETE]
    assert len(complete) == 6 and len(trials) == 7
    assert [_record(t) for t in trials[:2]] == finished_before  # kept, unchanged
    interrupted = trials[2]
    assert interrupted.state == State.FAIL
    assert "ended before the trial finished" in interrupted.user_attrs["error"]
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == 2]
    assert len(retries) == 1 and retries[0].state == State.COMPLETE
    assert retries[0].params == interrupted.params
    assert retries[0].number == 3  # retried first, before any new trial
    assert retries[0].user_attrs["seed"] == interrupted.user_attrs["seed"]

    # trial starts: the 2 finished trials ran once; the interrupted one ran twice (killed, retried)
    starts = _starts(tmp_path)
    assert len(starts) == 7
    by_params = {}
    for s in starts:
        key = json.dumps(s["params"], sort_keys=True)
        by_params.setdefault(key, []).append(s["pid"])
    assert [s["pid"] for s in starts] == [child.pid] * 3 + [os.getpid()] * 4
    for t in trials[:2]:
        assert by_params[json.dumps(t.params, sort_keys=True)] == [child.pid]
    assert by_params[json.dumps(interrupted.params, sort_keys=True)] == [child.pid, os.getpid()]


def test_two_processes_search_one_sqlite_study_at_once(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    st.open_study(st.open_storage(url), "shared", "max", None, None)  # created first
    (tmp_path / "barrier").mkdir()
    barrier = f"{tmp_path / 'barrier'}:2"
    workers = [_child(tmp_path, url, "shared", 8, sleep=0.1, barrier=barrier) for _ in range(2)]
    try:
        outputs = [w.communicate(timeout=120) for w in workers]
    finally:
        for w in workers:
            w.kill()
            w.communicate()
    for w, (out, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-2000:]
        assert "locked" not in err.lower() and f"done {w.pid}" in out

    trials = optuna.load_study(study_name="shared", storage=url).get_trials()
    finished = [t for t in trials if t.state in (State.COMPLETE, State.PRUNED)]
    # each worker stops once the study holds 8 finished trials; a trial the other worker had
    # already started then still finishes: at most n_workers - 1 = 1 extra
    assert 8 <= len(finished) <= 9
    assert len(trials) == len(finished)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert {t.user_attrs[st.PID_ATTR] for t in trials} == {w.pid for w in workers}
    params = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(params)) == len(params)
