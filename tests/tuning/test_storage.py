"""lamina.tuning.storage: URLs, SQLite shared by processes, dead-trial retry, bad URLs."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

optuna = pytest.importorskip("optuna")

from lamina.tuning import storage as st  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
# the tests drive trials by hand with study.ask(); Optuna warns that heartbeats expect optimize()
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
State = optuna.trial.TrialState


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _running_trial(study, x, *, host=None, pid=None):
    study.enqueue_trial({"x": x})
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    if host is not None:
        trial.set_user_attr(st.HOST_ATTR, host)
    if pid is not None:
        trial.set_user_attr(st.PID_ATTR, pid)
    return trial


@pytest.fixture
def study(tmp_path):
    url = st.resolve_storage(None, tmp_path / "proj", "study")
    return st.open_study(st.open_storage(url), "study", "max", None, None)


def test_resolve_storage_default_is_a_sqlite_file_in_the_project_folder(tmp_path):
    url = st.resolve_storage(None, tmp_path / "a" / "b", "digits")
    assert url == f"sqlite:///{tmp_path}/a/b/digits.db"
    assert (tmp_path / "a" / "b").is_dir()
    assert st.resolve_storage("postgresql://u:p@h/db", tmp_path, "x") == "postgresql://u:p@h/db"
    memory = optuna.storages.InMemoryStorage()
    assert st.resolve_storage(memory, tmp_path, "x") is memory
    assert st.open_storage(memory) is memory


def test_resolve_storage_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Received: storage='study.db'.*'sqlite:///study.db'"):
        st.resolve_storage("study.db", tmp_path, "s")
    with pytest.raises(TypeError, match="Received: storage of type int"):
        st.resolve_storage(3, tmp_path, "s")
    with pytest.raises(ValueError, match=r"Received: study_name='a/b'"):
        st.resolve_storage(None, tmp_path, "a/b")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"tuning folder .*file/sub.* cannot be created"):
        st.resolve_storage(None, tmp_path / "file" / "sub", "s")


def test_mask_password():
    assert st.mask_password("postgresql://me:s3cr:et@db:5432/x") == "postgresql://me:***@db:5432/x"
    assert st.mask_password("postgresql://me@db/x") == "postgresql://me@db/x"
    assert st.mask_password("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


def test_open_storage_bad_scheme_and_missing_driver(monkeypatch):
    with pytest.raises(ValueError, match=r"'foo://me:\*\*\*@h/db' has an unknown scheme 'foo'"):
        st.open_storage("foo://me:pw@h/db")
    with pytest.raises(ValueError, match="is not a database URL"):
        st.open_storage("not a url://")
    monkeypatch.setitem(sys.modules, "pymysql", None)  # the driver is not importable
    with pytest.raises(
        ValueError,
        match=r"'mysql\+pymysql://me:\*\*\*@h/db' needs the database driver.*pip install pymysql",
    ):
        st.open_storage("mysql+pymysql://me:secret@h/db")
    monkeypatch.setitem(sys.modules, "psycopg", None)  # SQLAlchemy 2.1's default postgres driver
    with pytest.raises(
        ValueError, match=r"psycopg2 is installed: .*'postgresql\+psycopg2://me:\*\*\*@h/db'"
    ):
        st.open_storage("postgresql://me:secret@h/db")


def test_open_storage_unreachable_server_fails_fast():
    url = f"postgresql+psycopg2://me:secret@127.0.0.1:{_closed_port()}/db"
    start = time.monotonic()
    with pytest.raises(
        ConnectionError, match=r"me:\*\*\*@127.0.0.1.*(refused|failed).*running and reachable"
    ) as info:
        st.open_storage(url)
    assert "secret" not in str(info.value)
    assert time.monotonic() - start < st.CONNECT_TIMEOUT + 2


def test_open_storage_sqlite_folder_missing_or_not_writable(tmp_path):
    with pytest.raises(ValueError, match=r"its folder .*nope' does not exist. Create the folder"):
        st.open_storage(f"sqlite:///{tmp_path}/nope/s.db")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"its folder .*f' is not a folder"):
        st.open_storage(f"sqlite:///{tmp_path}/f/s.db")
    # /proc refuses new files even to root (a chmod'ed folder would not stop root)
    with pytest.raises(
        ValueError, match=r"'sqlite:////proc/lamina.db' cannot be written.*not writable"
    ):
        st.open_storage("sqlite:////proc/lamina.db")
    (tmp_path / "junk.db").write_text("not a database " * 100)
    with pytest.raises(ValueError, match=r"junk.db' cannot be opened: .* is not a SQLite database"):
        st.open_storage(f"sqlite:///{tmp_path}/junk.db")


def test_sqlite_connections_commit_without_an_fsync_each(tmp_path):
    # synchronous=NORMAL (1) in WAL mode: the per-epoch reports cost no fsync each
    from sqlalchemy import text

    storage = st.open_storage(f"sqlite:///{tmp_path / 's.db'}")
    with storage.engine.connect() as connection:
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    study = optuna.create_study(storage=storage, study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    # a fresh connection (another process) reads both trials back
    reread = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    assert [t.params["x"] for t in reread.trials] == [t.params["x"] for t in study.trials]


def test_sqlite_is_wal_and_waits_for_another_writer(tmp_path):
    path = tmp_path / "s.db"
    storage = st.open_storage(f"sqlite:///{path}")
    assert storage.heartbeat_interval == 10 and storage.grace_period == 30
    study = st.open_study(storage, "s", "min", None, None)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    assert blocker.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # another process holds the write lock: a plain Optuna storage with a short busy timeout
    # fails with "database is locked"; ours waits until the lock is released (after 1.5 s)
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.5, lambda: blocker.execute("COMMIT"))
    try:
        plain = optuna.load_study(
            study_name="s",
            storage=optuna.storages.RDBStorage(
                f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 0.1}}
            ),
        )
        with pytest.raises(optuna.exceptions.StorageInternalError) as locked:
            plain.set_user_attr("writer", "plain")
        assert "database is locked" in str(locked.value.__cause__)
        release.start()
        start = time.monotonic()
        study.set_user_attr("writer", "lamina")
        waited = time.monotonic() - start
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    finally:
        if release.is_alive():
            release.join()
        blocker.close()
    assert study.user_attrs == {"writer": "lamina"}
    assert [t.state for t in study.get_trials()][-1] == State.COMPLETE
    assert 1.0 < waited < st.SQLITE_BUSY_TIMEOUT


WORKER = textwrap.dedent(
    """
    import importlib.util, sys, types
    import optuna
    # only the storage layer: an empty `lamina` package skips lamina/__init__ (and torch)
    lamina = types.ModuleType("lamina")
    lamina.__path__ = list(importlib.util.find_spec("lamina").submodule_search_locations)
    sys.modules["lamina"] = lamina
    from lamina.tuning import storage as st
    assert "torch" not in sys.modules
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sampler = optuna.samplers.RandomSampler(seed=seed)
    study = st.open_study(st.open_storage(url), "shared", "max", sampler, None)
    def objective(trial):
        st.mark_trial_owner(trial)
        for step in range(3):
            trial.report(step / 10, step)
        return trial.suggest_float("x", 0.0, 1.0)
    study.optimize(objective, n_trials=n)
    """
)


def test_switching_a_new_file_to_wal_waits_for_another_processs_write_lock(tmp_path):
    # SQLite refuses `PRAGMA journal_mode=WAL` at once ("database is locked", no busy
    # wait) while another connection holds a write lock: what a second worker met when
    # both prepared the same new study file. Preparing now waits for the lock.
    path = tmp_path / "new.db"
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("CREATE TABLE other (x)")
    assert blocker.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("INSERT INTO other VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        sqlite3.connect(path, timeout=5, isolation_level=None).execute("PRAGMA journal_mode=WAL")
    release = threading.Timer(0.5, lambda: blocker.execute("COMMIT"))
    release.start()
    try:
        start = time.monotonic()
        st.open_storage(f"sqlite:///{path}")
        waited = time.monotonic() - start
    finally:
        release.join()
        blocker.close()
    assert waited >= 0.4
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert check.execute("SELECT x FROM other").fetchall() == [(1,)]  # nothing lost
    check.close()


def test_two_processes_write_one_sqlite_study_at_once(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(seed), "15"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in (1, 2)
    ]
    try:
        outputs = [w.communicate(timeout=60) for w in workers]
    finally:
        for w in workers:
            w.kill()
    for w, (_, err) in zip(workers, outputs):
        assert w.returncode == 0, err
        assert "locked" not in err
    study = optuna.load_study(study_name="shared", storage=url)
    trials = study.get_trials()
    assert [t.state for t in trials] == [State.COMPLETE] * 30
    assert sorted(t.number for t in trials) == list(range(30))
    assert len({t.user_attrs[st.PID_ATTR] for t in trials}) == 2
    assert len({t.params["x"] for t in trials}) == 30


def test_fail_dead_trials_requeues_the_same_params(study):
    host = socket.gethostname()
    dead = _running_trial(study, 0.25, host=host, pid=_dead_pid())
    alive = _running_trial(study, 0.5, host=host, pid=os.getpid())
    elsewhere = _running_trial(study, 0.75, host=host + "-other", pid=_dead_pid())
    unmarked = _running_trial(study, 0.9)

    assert st.fail_dead_trials(study) == [dead.number]
    trials = study.get_trials()
    assert trials[dead.number].state == State.FAIL
    assert "ended before the trial finished" in trials[dead.number].user_attrs[st.ERROR_ATTR]
    for t in (alive, elsewhere, unmarked):
        assert trials[t.number].state == State.RUNNING
    retry = trials[-1]
    assert retry.state == State.WAITING and retry.params == {"x": 0.25}
    assert retry.system_attrs["failed_trial"] == dead.number
    assert retry.user_attrs == {}  # not owned by the dead process, not failed
    assert st.fail_dead_trials(study) == []

    # the next trial the study runs is the retry, with the same parameters
    seen = []
    study.optimize(lambda t: seen.append(t.suggest_float("x", 0, 1)) or 1.0, n_trials=1)
    assert seen == [0.25] and study.get_trials()[retry.number].state == State.COMPLETE


def test_fail_dead_trials_zombie_counts_as_dead_and_retries_stop_after_two(study):
    # a child killed and not yet reaped by its parent is a zombie: os.kill(pid, 0) still works
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        child.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{child.pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.02)
        first = _running_trial(study, 0.4, host=socket.gethostname(), pid=child.pid)
        assert st.fail_dead_trials(study) == [first.number]
    finally:
        child.kill()
        child.wait(timeout=30)
    numbers = [first.number]
    for _ in range(3):  # run the retry and let it die again, three times
        waiting = [t for t in study.get_trials() if t.state == State.WAITING]
        if not waiting:
            break
        trial = study.ask()
        assert trial.params == {"x": 0.4}
        trial.set_user_attr(st.HOST_ATTR, socket.gethostname())
        trial.set_user_attr(st.PID_ATTR, _dead_pid())
        numbers += st.fail_dead_trials(study)
    assert len(numbers) == 1 + st.MAX_RETRY  # the original and two retries, then no more
    assert not [t for t in study.get_trials() if t.state == State.WAITING]


def test_heartbeat_fails_a_silent_trial_after_the_grace_period(tmp_path):
    url = f"sqlite:///{tmp_path}/hb.db"
    study = st.open_study(
        st.open_storage(url, heartbeat_interval=1, grace_period=1), "hb", "max", None, None
    )
    stale = _running_trial(study, 0.3, host="some-other-machine", pid=1)
    study._storage.record_heartbeat(stale._trial_id)
    time.sleep(2.2)
    seen = []
    study.optimize(lambda t: seen.append(t.suggest_float("x", 0, 1)) or 1.0, n_trials=1)
    trials = study.get_trials()
    assert trials[stale.number].state == State.FAIL
    assert seen == [0.3] and trials[-1].system_attrs["failed_trial"] == stale.number


def test_open_study_loads_the_same_study_and_checks_its_direction(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    first = st.open_study(url, "d", "maximize", None, None)
    first.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    again = st.open_study(st.open_storage(url), "d", "max", None, None)
    assert len(again.trials) == 2 and again._study_id == first._study_id
    with pytest.raises(ValueError, match=r"created to maximize .*Received: direction='min'"):
        st.open_study(url, "d", "min", None, None)
    with pytest.raises(ValueError, match=r"Received: direction='up'"):
        st.open_study(url, "d", "up", None, None)
