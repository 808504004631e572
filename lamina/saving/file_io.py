"""Atomic writes and checked reads of Lamina's single-file archives.

Every write goes to a temporary file in the target's directory, is flushed and
`fsync`-ed, then renamed over the target with `os.replace`. A failure at any
point removes the temporary file and leaves an existing target untouched.

Reads open the archive with `zipfile` and turn every way a file can be broken
(not a zip, truncated, a member missing or corrupted, invalid JSON) into a
`ValueError` that names the file and the problem.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any


def _default_mode() -> int:
    """The permissions a plain `open(path, "w")` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Writes a file atomically: ``write(fileobj)`` fills a temporary file that then
    replaces ``path`` in one rename.

    Args:
        path: The destination.
        write: Called with a binary file object open for writing.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the directory {directory!r} does not exist. "
            "Create it first, e.g. with os.makedirs(directory, exist_ok=True)."
        )
    mode = os.stat(path).st_mode & 0o777 if os.path.exists(path) else _default_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with _ignore_missing():
            os.remove(tmp)
        raise
    _fsync_directory(directory)


@contextmanager
def _ignore_missing() -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        pass


def _fsync_directory(directory: str) -> None:
    """Makes the rename durable where the platform allows it (not on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Archive:
    """A read-only view of a zip archive with checked access to known members.

    Only members asked for by name are read; nothing else in the archive is
    ever opened.
    """

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path = os.fspath(path)
        self.what = what
        self.label = repr(os.path.basename(self.path))
        if not os.path.exists(self.path):
            raise FileNotFoundError(
                f"No such file: {self.path!r}. Check the path (relative paths start at the "
                f"current directory, {os.getcwd()!r})."
            )
        try:
            self._zip = zipfile.ZipFile(self.path, "r")
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            if isinstance(e, OSError) and not isinstance(e, zipfile.BadZipFile) and os.path.isdir(self.path):
                raise IsADirectoryError(f"{self.path!r} is a directory, not {self.what}.") from e
            raise self.error(
                "not a zip archive; the file is truncated, corrupted, or not a Lamina file",
                "Save it again with `model.save(path)`",
            ) from e

    def error(self, problem: str, fix: str = "Save the model again with `model.save(path)`") -> ValueError:
        return ValueError(f"{self.label} is not {self.what} ({problem}). {fix}.")

    def names(self) -> list[str]:
        return self._zip.namelist()

    def has(self, member: str) -> bool:
        return member in self._zip.NameToInfo

    def read(self, member: str) -> bytes:
        """The bytes of ``member``; a missing or corrupted member is a ValueError."""
        if not self.has(member):
            raise self.error(
                f"the archive has no {member!r}; it holds {sorted(self.names())}",
                "The file is incomplete or was not written by Lamina; save the model again",
            )
        try:
            return self._zip.read(member)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
            raise self.error(f"the member {member!r} is corrupted: {e}") from e

    def read_json(self, member: str) -> Any:
        data = self.read(member)
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise self.error(f"{member!r} is not valid JSON: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_zip(f: IO[bytes], members: dict[str, bytes]) -> None:
    """Writes ``members`` (name -> bytes) as a zip archive into ``f``.

    JSON members are deflated; tensor data is stored uncompressed (it barely
    compresses and is faster to read back).
    """
    with zipfile.ZipFile(f, "w") as zf:
        for name, data in members.items():
            method = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=method)


def dumps_json(value: Any, indent: int | None = 1) -> bytes:
    """UTF-8 JSON, indented for reading by default (NaN and infinities kept, as Python
    reads them)."""
    return json.dumps(value, indent=indent).encode("utf-8")
