"""Where a study lives: a SQLite file in a project folder, or an RDB server.

A search survives its process because every trial is written to the study's
storage as it starts and ends. This module resolves the `storage=` argument of
`Tuner` to a URL, opens it as an Optuna storage that several processes can
share, and fails the trials of a process that died so they are retried.

* `resolve_storage(None, directory, study_name)` -> ``sqlite:///<directory>/<study_name>.db``.
* `open_storage(url)` -> an `optuna.storages.RDBStorage` with a heartbeat (a trial
  whose process stops beating for `grace_period` seconds is failed and retried
  with the same parameters, at most twice). SQLite is opened in WAL mode with
  ``synchronous=NORMAL`` (no fsync per commit; a killed process loses nothing),
  ``BEGIN IMMEDIATE`` write transactions and a 60 s busy timeout, so processes
  that write at once wait for each other instead of failing with
  "database is locked".
* `fail_dead_trials(study)` (from `lamina.tuning.dead_trials`) fails at once (without waiting for the grace period)
  the running trials whose process on this host is gone, e.g. after ``kill -9``.

Example:

    >>> import tempfile
    >>> from lamina.tuning import storage
    >>> url = storage.resolve_storage(None, tempfile.mkdtemp(), "digits")
    >>> study = storage.open_study(storage.open_storage(url), "digits", "max", None, None)
    >>> study.study_name
    'digits'
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import sqlite3
import time
import warnings
from typing import TYPE_CHECKING, Any

from lamina.extras import require
from lamina.tuning.dead_trials import (  # noqa: F401 - re-exported: storage.fail_dead_trials...
    ERROR_ATTR,
    HOST_ATTR,
    MAX_RETRY,
    PID_ATTR,
    RetryDeadTrial,
    callback_argument,
    fail_dead_trials,
    mark_trial_owner,
)

if TYPE_CHECKING:
    import optuna

DEFAULT_DIRECTORY = "lamina_tuning"

SQLITE_BUSY_TIMEOUT = 60.0  # seconds a SQLite writer waits for another process's write
CONNECT_TIMEOUT = 5  # seconds to reach an RDB server before the URL is reported unreachable

_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][\w+.-]*://[^:/@]*):(?P<password>[^@]*)@")
_RACE = re.compile(r"already exists|duplicate|unique constraint|database is locked", re.I)
_OPEN_ATTEMPTS = 5
_DIRECTIONS = {"max": "maximize", "maximize": "maximize", "min": "minimize", "minimize": "minimize"}


def mask_password(url: Any) -> str:
    """Returns ``url`` with its password replaced by ``***``, for messages and results.

    Args:
        url: A storage URL such as ``"postgresql://user:secret@host/db"``. Anything
            else (e.g. an Optuna storage object) is returned as its ``repr``.

    Returns:
        The URL, e.g. ``"postgresql://user:***@host/db"``.

    Example:
        >>> mask_password("postgresql+psycopg2://tuner:s3cret@db.lan:5432/studies")
        'postgresql+psycopg2://tuner:***@db.lan:5432/studies'
    """
    if not isinstance(url, str):
        return repr(url)
    return _PASSWORD.sub(lambda m: m.group("head") + ":***@", url, count=1)


def resolve_storage(storage: Any, directory: str | os.PathLike | None, study_name: str) -> Any:
    """Turns the `storage=` argument of `Tuner` into a storage URL (or storage object).

    Args:
        storage: `None` for a SQLite file in `directory`; an RDB URL
            (``"sqlite:///study.db"``, ``"postgresql://user:pw@host/db"``, ...) passed
            through; or an `optuna.storages.BaseStorage`, returned as is.
        directory: The project folder of the default SQLite file. `None` means
            `DEFAULT_DIRECTORY` (``"lamina_tuning"``) in the working directory.
        study_name: The study's name; the default file is ``<directory>/<study_name>.db``.

    Returns:
        ``"sqlite:///<absolute directory>/<study_name>.db"`` (the folder is created),
        the URL given, or the storage object given.

    Raises:
        TypeError: `storage` is none of the above.
        ValueError: `storage` is a string that is not a URL, `study_name` cannot name a
            file, or the folder cannot be created.
    """
    optuna = require("tune", "Tuning storage")[0]
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, str):
        if "://" not in storage:
            raise ValueError(
                "`storage` expects None, an RDB URL or an Optuna storage. Received: "
                f"storage={storage!r}, which is not a URL. Pass a URL such as "
                f"'sqlite:///{storage}' for a SQLite file, or None to keep the study in "
                f"`directory`."
            )
        return storage
    if storage is not None:
        raise TypeError(
            "`storage` expects None, an RDB URL string or an optuna.storages.BaseStorage. "
            f"Received: storage of type {type(storage).__name__}. Pass e.g. "
            "'sqlite:///study.db' or 'postgresql://user:password@host/db'."
        )
    if (
        not isinstance(study_name, str)
        or not study_name.strip()
        or re.search(r"[/\\\0]", study_name)
    ):
        raise ValueError(
            "`study_name` must be a non-empty name without '/' or '\\' to name the study's "
            f"file. Received: study_name={study_name!r}. Pass e.g. study_name='digits_mlp'."
        )
    folder = os.path.abspath(os.fspath(directory if directory is not None else DEFAULT_DIRECTORY))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise ValueError(
            f"The tuning folder {folder!r} cannot be created ({e.strerror or e}). Pass "
            "`directory=` a folder you can write to, or `storage=` an RDB URL."
        ) from e
    return f"sqlite:///{os.path.join(folder, study_name)}.db"


def open_storage(
    url_or_storage: Any, *, heartbeat_interval: int = 10, grace_period: int = 30
) -> optuna.storages.BaseStorage:
    """Opens a study storage that several processes (and machines) can share.

    Args:
        url_or_storage: An RDB URL, or an `optuna.storages.BaseStorage` (returned as is).
        heartbeat_interval: Seconds between the heartbeats a running trial writes.
            Defaults to `10`.
        grace_period: Seconds without a heartbeat after which a running trial counts as
            dead: it is set to FAIL and retried with the same parameters (at most
            twice), by the next process that starts a trial. Defaults to `30`.

    Returns:
        An `optuna.storages.RDBStorage` (SQLite in WAL mode with ``BEGIN IMMEDIATE``
        transactions and a busy timeout; a server URL with a short connect timeout).

    Raises:
        ValueError: Unknown URL scheme, database driver not installed, or a SQLite file
            whose folder is missing or not writable. The message names the URL
            (password masked) and the fix.
        ConnectionError: The server of the URL cannot be reached or refuses the login.
    """
    optuna = require("tune", "Tuning storage")[0]
    if isinstance(url_or_storage, optuna.storages.BaseStorage):
        return url_or_storage
    if not isinstance(url_or_storage, str):
        raise TypeError(
            "`open_storage` expects an RDB URL or an optuna.storages.BaseStorage. Received: "
            f"{type(url_or_storage).__name__}. Pass e.g. 'sqlite:///study.db'."
        )
    url = url_or_storage
    parsed = _parse_url(url)
    engine_kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        _prepare_sqlite(url, parsed.database)
        engine_kwargs["connect_args"] = {
            "timeout": SQLITE_BUSY_TIMEOUT,
            "isolation_level": "IMMEDIATE",
            "check_same_thread": False,
        }
    else:
        engine_kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() in ("postgresql", "mysql", "mariadb"):
            engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    with warnings.catch_warnings():
        # heartbeat_interval is "experimental" in Optuna and the retry callback is renamed
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        callback = RetryDeadTrial(max_retry=MAX_RETRY)
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                storage = optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    **{callback_argument(optuna): callback},
                )
                if parsed.get_backend_name() == "sqlite":
                    _sync_normal(storage)
                return storage
            except Exception as e:  # noqa: BLE001 - re-raised with the URL and the fix
                # processes opening a new storage at once race to create its tables: the
                # loser sees "already exists"/"duplicate"; the next attempt finds them made
                if _RACE.search(str(e)) and attempt + 1 < _OPEN_ATTEMPTS:
                    time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
                    continue
                raise _open_error(url, e) from e
    raise AssertionError("unreachable")


def open_study(
    storage: Any, study_name: str, direction: str, sampler: Any, pruner: Any
) -> optuna.Study:
    """Creates the study `study_name` in `storage`, or loads it when it exists.

    Several processes may call this at once with the same name: all get the same study.

    Args:
        storage: A storage from `open_storage` (or a URL, opened with `open_storage`).
        study_name: The study's name.
        direction: ``"max"``/``"maximize"`` or ``"min"``/``"minimize"``.
        sampler: An Optuna sampler, or `None` for Optuna's default.
        pruner: An Optuna pruner, or `None` for Optuna's default.

    Returns:
        The `optuna.Study`.

    Raises:
        ValueError: `direction` is unknown, or the stored study was created with the
            other direction.
    """
    optuna = require("tune", "Tuning storage")[0]
    if direction not in _DIRECTIONS:
        raise ValueError(
            "`direction` must be one of 'max', 'min', 'maximize', 'minimize'. Received: "
            f"direction={direction!r}."
        )
    if not isinstance(storage, optuna.storages.BaseStorage):
        storage = open_storage(storage)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction=_DIRECTIONS[direction],
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    stored = study.direction.name.lower()
    if stored != _DIRECTIONS[direction]:
        raise ValueError(
            f"The study {study_name!r} in {_storage_name(storage)} was created to {stored} "
            f"its objective. Received: direction={direction!r}. Pass the study's direction "
            "(the same objective), or a new `study_name` for a new search."
        )
    return study


# --- helpers -------------------------------------------------------------------------------


def _parse_url(url: str) -> Any:
    import sqlalchemy
    from sqlalchemy.engine import make_url

    shown = mask_password(url)
    try:
        parsed = make_url(url)
    except sqlalchemy.exc.ArgumentError as e:
        raise ValueError(
            f"The storage URL {shown!r} is not a database URL. Pass a URL such as "
            "'sqlite:///path/study.db' or 'postgresql://user:password@host:5432/db'."
        ) from e
    try:
        dialect = parsed.get_dialect()
    except sqlalchemy.exc.NoSuchModuleError as e:
        raise ValueError(
            f"The storage URL {shown!r} has an unknown scheme {parsed.drivername!r}. Pass a "
            "SQLAlchemy database URL: 'sqlite:///...', 'postgresql://...', 'mysql+pymysql://...'."
        ) from e
    try:
        dialect.import_dbapi()
    except ImportError as e:
        fix = (
            "Install it (e.g. pip install psycopg2-binary for postgresql+psycopg2, "
            "pip install pymysql for mysql+pymysql)"
        )
        if parsed.get_backend_name() == "postgresql" and importlib.util.find_spec("psycopg2"):
            fix = (
                "psycopg2 is installed: name it in the URL, "
                f"{mask_password(url.replace(parsed.drivername, 'postgresql+psycopg2', 1))!r}"
            )
        raise ValueError(
            f"The storage URL {shown!r} needs the database driver of {parsed.drivername!r}, "
            f"which is not installed ({e}). {fix}."
        ) from e
    return parsed


def _sync_normal(storage: Any) -> None:
    """Sets ``PRAGMA synchronous=NORMAL`` on every connection of a SQLite storage.

    In WAL mode this skips the fsync of each commit (the cost of a trial's heartbeats
    and per-epoch reports) and stays safe when a process dies: only a power cut can
    lose the last commits, never corrupt the file.
    """
    from sqlalchemy import event

    def on_connect(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    event.listen(storage.engine, "connect", on_connect)
    storage.engine.dispose()  # connections opened while Optuna made its tables


def _probe_sqlite(path: str) -> None:
    """WAL mode on (it stays with the file), then a write that leaves nothing behind:
    fails on a read-only file or folder."""
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None)
    try:
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE lamina_write_probe (x)")
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _prepare_sqlite(url: str, database: str | None) -> None:
    """Creates the SQLite file in WAL mode, or explains why it cannot."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = os.path.abspath(database)
    folder = os.path.dirname(path)
    shown = mask_password(url)
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "does not exist"
        raise ValueError(
            f"The SQLite storage {shown!r} cannot be opened: its folder {folder!r} {what}. "
            "Create the folder, or pass a `storage=` URL in a folder you can write to "
            "(or storage=None to keep the study in `directory`)."
        )
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            _probe_sqlite(path)
            return
        except sqlite3.OperationalError as e:
            # Switching to WAL needs the file to itself, and SQLite answers "database is
            # locked" at once (no busy wait) while another process holds a write lock on
            # it, e.g. a second worker preparing the same new study file: wait and retry.
            if "locked" in str(e) and time.monotonic() < deadline:
                time.sleep(random.uniform(0.02, 0.1))
                continue
            raise ValueError(
                f"The SQLite storage {shown!r} cannot be written ({e}): the folder {folder!r} "
                "or the file is not writable. Pass a `storage=` URL (or `directory=`) in a "
                "folder you can write to, or fix its permissions."
            ) from e
        except sqlite3.DatabaseError as e:
            raise ValueError(
                f"The SQLite storage {shown!r} cannot be opened: {path!r} is not a SQLite "
                f"database ({e}). Pass a `storage=` URL naming a new file or an existing "
                "study database."
            ) from e


def _open_error(url: str, error: Exception) -> Exception:
    shown = mask_password(url)
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()
    detail = detail[0] if detail else type(error).__name__
    password = _PASSWORD.match(url)
    if password and password.group("password"):
        detail = detail.replace(password.group("password"), "***")
    if url.startswith("sqlite"):
        return ValueError(
            f"The SQLite storage {shown!r} cannot be opened ({detail}). Check that the file is "
            "an Optuna study database you can write to, or pass another `storage=` URL."
        )
    return ConnectionError(
        f"The storage {shown!r} cannot be opened: {detail}. Check that the database server is "
        "running and reachable from this machine (host and port), and that the user, password "
        "and database exist."
    )


def _storage_name(storage: Any) -> str:
    url = getattr(storage, "url", None) or getattr(getattr(storage, "_backend", None), "url", None)
    return repr(mask_password(url)) if url else type(storage).__name__
