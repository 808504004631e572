"""A throwaway PostgreSQL server for the tuning storage tests (`postgres_url`).

The session fixture creates a cluster in a temporary folder with ``initdb``, starts it
on 127.0.0.1 on a free port (its unix socket in the same folder, trust authentication),
creates a database and yields its SQLAlchemy URL. At the end it stops the server and
removes the folder, whatever happened. As root, PostgreSQL refuses to run, so the
programs run as the ``postgres`` system user.

When PostgreSQL is missing or does not start, the tests that use the fixture fail with
a hint (``make test`` installs it via scripts/ensure_postgres.sh); LAMINA_SKIP_POSTGRES=1
skips them instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

HINT = (
    "Install the PostgreSQL server (as root on Debian: `bash scripts/ensure_postgres.sh`, "
    "which `make test` runs; it installs Debian's `postgresql`), or set "
    "LAMINA_SKIP_POSTGRES=1 to skip the PostgreSQL tests."
)
PREFIX = "lamina-pg-"
DATABASE = "lamina_tuning"


def _unavailable(reason: str) -> None:
    if os.environ.get("LAMINA_SKIP_POSTGRES") == "1":
        pytest.skip(f"LAMINA_SKIP_POSTGRES=1: {reason}")
    pytest.fail(f"{reason} {HINT}", pytrace=False)


def _find_bin() -> str | None:
    candidates = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(os.path.realpath(initdb)))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    versions.sort(key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    candidates += reversed(versions)
    for folder in candidates:
        if all(os.access(os.path.join(folder, p), os.X_OK) for p in ("initdb", "pg_ctl")):
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_pid(data: str) -> int | None:
    try:
        with open(os.path.join(data, "postmaster.pid")) as f:
            return int(f.readline().strip())
    except (OSError, ValueError):
        return None


def _kill_server(root: str) -> None:
    pid = _postmaster_pid(os.path.join(root, "data"))
    if pid is None or not _alive(pid):
        return
    os.kill(pid, signal.SIGQUIT)  # postgres' immediate shutdown; its children follow
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _remove_stray_clusters() -> None:
    """Stops and removes clusters left by a test session that died (its owner pid is gone)."""
    for root in glob.glob(os.path.join(tempfile.gettempdir(), PREFIX + "*")):
        try:
            with open(os.path.join(root, "owner.pid")) as f:
                owner = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not _alive(owner):
            _kill_server(root)
            shutil.rmtree(root, ignore_errors=True)


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            _as_server_user(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, -1, "", f"timed out after {timeout} s")


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of a database on a fresh PostgreSQL server on 127.0.0.1."""
    folder = _find_bin()
    if folder is None:
        _unavailable("PostgreSQL's initdb/pg_ctl were not found (PATH, /usr/lib/postgresql/*/bin).")
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable(
                "Running as root, PostgreSQL needs the `postgres` system user, which is missing."
            )
        if shutil.which("runuser") is None:
            _unavailable("Running as root, `runuser` is needed to start PostgreSQL as `postgres`.")
    _remove_stray_clusters()
    root = tempfile.mkdtemp(prefix=PREFIX)
    with open(os.path.join(root, "owner.pid"), "w") as f:
        f.write(str(os.getpid()))
    data, log = os.path.join(root, "data"), os.path.join(root, "server.log")
    if os.geteuid() == 0:
        os.chown(root, server_user.pw_uid, server_user.pw_gid)
    initdb, pg_ctl = os.path.join(folder, "initdb"), os.path.join(folder, "pg_ctl")
    try:
        made = _run(
            [initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"], 120
        )
        if made.returncode != 0:
            _unavailable(f"initdb failed ({made.returncode}): {made.stderr.strip()[-800:]}")
        url = None
        for _ in range(3):  # the free port may be taken between choosing and binding it
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
            )
            started = _run(
                [pg_ctl, "-D", data, "-l", log, "-w", "-t", "30", "-o", options, "start"], 60
            )
            if started.returncode == 0:
                url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
                break
        if url is None:
            with open(log) if os.path.exists(log) else open(os.devnull) as f:
                tail = f.read()[-800:]
            _unavailable(f"PostgreSQL did not start: {started.stderr.strip()[-400:]} {tail}")
        import psycopg2

        connection = psycopg2.connect(url.split("://", 1)[1].join(["postgresql://", "/postgres"]))
        try:
            connection.autocommit = True
            connection.cursor().execute(f"CREATE DATABASE {DATABASE}")
        finally:
            connection.close()
        yield f"{url}/{DATABASE}"
    finally:
        if _postmaster_pid(data) is not None:
            _run([pg_ctl, "-D", data, "-m", "immediate", "-w", "-t", "20", "stop"], 30)
            _kill_server(root)
        shutil.rmtree(root, ignore_errors=True)
