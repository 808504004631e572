"""Atomic writes and checked reads of Lamina's single-file archives.

Every write goes to a temporary file in the target's directory, is flushed and
`fsync`-ed, then renamed over the target with `os.replace`. A failure at any
point removes the temporary file and leaves an existing target untouched.

Reads accept only regular files (a FIFO or a device would block or never end),
check what an archive declares (member count, names, sizes, compression
ratios) against `lamina.saving.limits` before reading anything, stream members
with a cap, and turn every way a file can be broken (not a zip, truncated, a
member missing, corrupted or inflating past its size, invalid JSON or
safetensors) into an `InvalidFileError` that names the file, the member, the
problem and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import secrets
import stat
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

import torch

from lamina.saving import limits
from lamina.saving.errors import InvalidFileError, file_label
from lamina.saving.tensors import (
    HeaderProblem,
    TensorInfo,
    decode_safetensors,
    header_length,
    parse_header,
)


def _default_mode() -> int:
    """The permissions a plain `open(path, "w")` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


TEMP_SUFFIX = ".lamina-tmp"
"""How the temporary files of `atomic_write` end: ``.{basename}.{pid}.{random}.lamina-tmp``."""

STALE_AFTER_S = 24 * 3600
"""Age after which a temporary of `atomic_write` counts as abandoned even when its
process id is alive (it may belong to another host sharing the directory)."""

_DISK_FULL = {errno.ENOSPC, errno.EFBIG} | {getattr(errno, "EDQUOT", errno.ENOSPC)}
_NOT_ALLOWED = {errno.EACCES, errno.EPERM, errno.EROFS}


_TEMP_MIDDLE = re.compile(r"([0-9]{1,10})\.[A-Za-z0-9_-]{1,64}")


def _temp_name(base: str) -> str:
    return f".{base}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _temp_pid(name: str, base: str) -> int | None:
    """The process id in ``name`` when it is a temporary of `atomic_write` for the
    target ``base``, else None."""
    prefix = f".{base}."
    if not (name.startswith(prefix) and name.endswith(TEMP_SUFFIX)):
        return None
    match = _TEMP_MIDDLE.fullmatch(name[len(prefix) : -len(TEMP_SUFFIX)])
    return int(match.group(1)) if match else None


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing the same target
    if os.name == "nt":  # os.kill would terminate it; only the age tells
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or an id we cannot ask about)
    return True


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Removes the temporaries that earlier `atomic_write` calls for ``path`` left
    behind: those whose process is gone, or older than `STALE_AFTER_S`. Nothing else
    in the directory is touched; failures to remove are ignored.

    Returns:
        The paths removed.
    """
    path = os.path.abspath(os.fspath(path))
    directory, base = os.path.split(path)
    removed: list[str] = []
    now = time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        pid = _temp_pid(entry.name, base)
        if pid is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_S
            if old or not _process_alive(pid):
                os.remove(entry.path)
                removed.append(entry.path)
        except OSError:
            continue
    return removed


def _not_allowed(path: str, directory: str, e: OSError) -> PermissionError:
    return PermissionError(
        e.errno,
        f"Cannot save to {path!r}: the folder {directory!r} is not writable ({e.strerror or e}). "
        "Save to a folder you can write to, or make this one writable (e.g. `chmod u+w` on it).",
    )


def _disk_full(path: str, existed: bool, e: OSError) -> OSError:
    kept = "The previous file is intact" if existed else "Nothing was written"
    return OSError(
        e.errno,
        f"Cannot save to {path!r}: the disk is full, or a disk quota or file-size limit was "
        f"reached ({e.strerror or e}). {kept}. Free some space or save to another disk, then save again.",
    )


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Writes a file atomically: ``write(fileobj)`` fills a temporary file that then
    replaces ``path`` in one rename.

    The temporary, ``.{basename}.{pid}.{random}.lamina-tmp``, sits in the target's
    directory; temporaries for the same target left by processes that died are
    removed first. On any failure the temporary is removed and an existing
    target is left byte for byte as it was.

    Args:
        path: The destination.
        write: Called with a binary file object open for writing.

    Raises:
        FileNotFoundError: When the directory does not exist.
        IsADirectoryError: When ``path`` is a directory.
        PermissionError: When the directory is not writable, or ``path`` exists
            and is read-only (it is then not replaced).
        OSError: With the original errno (``ENOSPC``, ``EDQUOT``, ``EFBIG``) when
            the disk is full or a quota or file-size limit is reached.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Cannot save to {path!r}: the directory {directory!r} does not exist. "
            "Create it first, e.g. with os.makedirs(directory, exist_ok=True)."
        )
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"Cannot save to {path!r}: it is a directory. Pass a file name inside it, "
            f"e.g. {os.path.join(path, 'model.lamina')!r}."
        )
    existed = os.path.lexists(path)
    if existed and not os.access(path, os.W_OK):
        raise PermissionError(
            errno.EACCES,
            f"Cannot save to {path!r}: the file exists and is read-only, so it was not replaced. "
            "Make it writable (`chmod u+w`) or save under another name.",
        )
    mode = os.stat(path).st_mode & 0o777 if existed else _default_mode()
    remove_stale_temporaries(path)
    tmp = os.path.join(directory, _temp_name(os.path.basename(path)))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as e:
        if e.errno in _NOT_ALLOWED:
            raise _not_allowed(path, directory, e) from e
        if e.errno in _DISK_FULL:
            raise _disk_full(path, existed, e) from e
        raise
    step = "write"
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        step = "replace"
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno in _DISK_FULL:
            raise _disk_full(path, existed, e) from e
        if isinstance(e, OSError) and step == "replace" and e.errno in _NOT_ALLOWED:
            raise _not_allowed(path, directory, e) from e
        raise
    _fsync_directory(directory)


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


# --------------------------------------------------------------------------- regular files
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _check_mode(path: str, st: os.stat_result, what: str) -> None:
    if stat.S_ISREG(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(
            f"{path!r} is a directory, not {what}. Received: filepath={path!r}. Pass the path of the file itself."
        )
    raise InvalidFileError(
        f"{file_label(path)} is {_kind(st.st_mode)}, not {what}; Lamina reads only regular files "
        f"(reading it could block or never end). Received: filepath={path!r}. Pass the path of a "
        "saved file.",
        path=path,
    )


def check_regular_file(path: str | os.PathLike, what: str) -> os.stat_result:
    """Checks, without opening it, that ``path`` is an existing regular file.

    Args:
        path: The file.
        what: What it should be, e.g. ``"a Lamina model file"`` (for messages).

    Returns:
        Its `os.stat` result.

    Raises:
        FileNotFoundError: When it does not exist.
        IsADirectoryError: When it is a directory.
        InvalidFileError: When it is a FIFO, a socket or a device.
    """
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"No such file: {path!r}. Check the path (relative paths start at the "
            f"current directory, {os.getcwd()!r})."
        ) from None
    _check_mode(path, st, what)
    return st


def open_regular_file(path: str | os.PathLike, what: str) -> IO[bytes]:
    """Opens ``path`` for binary reading after `check_regular_file`; the open never
    blocks (``O_NONBLOCK``) and the opened file is checked again, so a file swapped
    for a FIFO in between is refused too."""
    path = os.fspath(path)
    check_regular_file(path, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        _check_mode(path, os.fstat(fd), what)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: str | os.PathLike, what: str, cap: int) -> bytes:
    """The bytes of the regular file ``path``, refused when larger than ``cap``.

    Raises:
        InvalidFileError: When the file is larger than ``cap`` bytes (or not a
            regular file).
    """
    path = os.fspath(path)
    with open_regular_file(path, what) as f:
        size = os.fstat(f.fileno()).st_size
        data = f.read(min(size, cap) + 1) if size <= cap else b""  # never allocate the cap up front
    if size > cap or len(data) > cap:
        size = max(size, len(data))
        raise InvalidFileError(
            f"{file_label(path)} is {size} bytes, more than the {cap} bytes Lamina reads as {what}. "
            f"Received: filepath={path!r}. Check that the path names {what}.",
            path=path,
        )
    return data


# --------------------------------------------------------------------------- archives
class _MemberReader(io.RawIOBase):
    """A zip member's stream whose read errors are `InvalidFileError`s naming it."""

    def __init__(self, raw: IO[bytes], archive: Archive, member: str) -> None:
        super().__init__()
        self._raw = raw
        self._archive = archive
        self._member = member

    def _guard(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except InvalidFileError:
            raise
        except Exception as e:  # noqa: BLE001 - BadZipFile (CRC), zlib.error, EOFError, ...
            raise self._archive._corrupted(self._member, e) from e

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def read(self, size: int = -1) -> bytes:
        return self._guard(lambda: self._raw.read(size))

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._guard(lambda: self._raw.seek(offset, whence))

    def tell(self) -> int:
        return self._guard(self._raw.tell)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


_CHUNK = 4 * 2**20
_SAVE_AGAIN = "Save the model again with `model.save(path)`"


def _unsafe_name(info: zipfile.ZipInfo) -> str | None:
    """Why a member name is unsafe to hold in a Lamina or Keras file, or None."""
    raw = info.orig_filename
    name = info.filename
    if "\x00" in raw:
        return "it holds a NUL character"
    if "\\" in raw:
        return "it holds a backslash"
    if name.startswith("/"):
        return "it is an absolute path"
    if len(name) >= 2 and name[1] == ":" and name[0].isalpha():
        return "it starts with a drive letter"
    if ".." in name.split("/"):
        return "it has a '..' component"
    return None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


class Archive:
    """A read-only view of a zip archive with checked access to known members.

    Opening checks that the path is a regular file and that the archive's
    directory is sane: at most `limits.MAX_MEMBERS` members, no name twice, no
    unsafe names (absolute, ``..``, backslashes, NUL, drive letters), every
    member's declared size consistent with its compressed size and within the
    limits. Only members asked for by name are read; nothing else in the
    archive is ever opened, and a member is streamed with a cap so one that
    inflates past what it declared is refused while reading.

    Args:
        path: The archive.
        what: What it should be, e.g. ``"a Lamina model file"`` (for messages).
        fix: The default last sentence of error messages. Defaults to "Save the
            model again with `model.save(path)`".
    """

    def __init__(self, path: str | os.PathLike, what: str, fix: str = _SAVE_AGAIN) -> None:
        self.path = os.fspath(path)
        self.what = what
        self.fix = fix
        self.label = file_label(self.path)
        self._file = open_regular_file(self.path, what)
        try:
            self._size = os.fstat(self._file.fileno()).st_size
            self._check_directory_size()
            try:
                self._zip = zipfile.ZipFile(self._file, "r")
            except Exception as e:  # noqa: BLE001 - BadZipFile, EOFError, struct.error, OverflowError, ...
                raise self.error(
                    "not a zip archive; the file is truncated, corrupted, or in another format",
                    fix if fix != _SAVE_AGAIN else "Save it again with `model.save(path)`",
                ) from e
            try:
                self._check_members()
            except BaseException:
                self._zip.close()
                raise
        except BaseException:
            self._file.close()
            raise

    def _check_directory_size(self) -> None:
        """Refuses, from the end record alone, an archive whose directory claims more
        members (or bytes) than `limits.MAX_MEMBERS` allows, before `zipfile` walks it."""
        end_record = getattr(zipfile, "_EndRecData", None)
        if end_record is None:  # pragma: no cover - private helper of CPython's zipfile
            return
        try:
            record = end_record(self._file)
        except Exception:  # noqa: BLE001 - zipfile itself will refuse the file below
            return
        finally:
            self._file.seek(0)
        if not record:
            return
        entries, directory_bytes = record[zipfile._ECD_ENTRIES_TOTAL], record[zipfile._ECD_SIZE]
        if entries > limits.MAX_MEMBERS or directory_bytes > limits.MAX_MEMBERS * 1024:
            raise self.error(
                f"its directory lists {entries} members in {directory_bytes} bytes; Lamina reads "
                f"archives of at most {limits.MAX_MEMBERS} members",
                "The file is damaged or hostile; use a file saved by Lamina or Keras",
            )

    def _check_members(self) -> None:
        infos = self._zip.infolist()
        if len(infos) > limits.MAX_MEMBERS:
            raise self.error(
                f"it holds {len(infos)} members; Lamina reads archives of at most {limits.MAX_MEMBERS}",
                "The file is damaged or hostile; use a file saved by Lamina or Keras",
            )
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            unsafe = _unsafe_name(info)
            if unsafe:
                raise self.error(
                    f"the member name {info.orig_filename[:200]!r} is unsafe: {unsafe}; "
                    "a Lamina or Keras file never holds such names",
                    "The file was made by hand or is hostile; do not use it",
                    member=name,
                )
            if name in seen:
                raise self.error(
                    f"the member {name!r} appears twice; a reader would see only one of the two",
                    "The file was made by hand or is damaged; save the model again",
                    member=name,
                )
            seen.add(name)
            if info.flag_bits & 0x1:
                raise self.error(
                    f"the member {name!r} is encrypted; Lamina and Keras never encrypt their files",
                    "Use the file as it was saved, not a password-protected copy",
                    member=name,
                )
            self._check_sizes(info)
            total += info.file_size
            if total > limits.MAX_ARCHIVE_BYTES:
                raise self.error(
                    f"its members declare more than {limits.MAX_ARCHIVE_BYTES} bytes in all",
                    "The file is damaged or hostile; use a file saved by Lamina or Keras",
                    member=name,
                )

    def _check_sizes(self, info: zipfile.ZipInfo) -> None:
        name, size, packed = info.filename, info.file_size, info.compress_size
        hostile = "The file is damaged or hostile (a \"zip bomb\"); do not use it"
        if size < 0 or packed < 0 or info.header_offset < 0 or info.header_offset + packed > self._size:
            raise self.error(
                f"the member {name!r} declares {packed} stored bytes at offset {info.header_offset}, "
                f"outside the {self._size}-byte file; the file is truncated or corrupted",
                member=name,
            )
        if info.compress_type == zipfile.ZIP_STORED:
            if size != packed:
                raise self.error(
                    f"the member {name!r} is stored uncompressed but declares {size} bytes in "
                    f"{packed}; its header lies",
                    hostile,
                    member=name,
                )
        elif size > max(limits.MIN_RATIO_CHECKED_BYTES, limits.MAX_COMPRESSION_RATIO * packed):
            raise self.error(
                f"the member {name!r} declares {size} bytes compressed into {packed}, a ratio "
                f"above the {limits.MAX_COMPRESSION_RATIO}:1 Lamina accepts",
                hostile,
                member=name,
            )
        if size > limits.MAX_WEIGHTS_BYTES:
            raise self.error(
                f"the member {name!r} declares {size} bytes, more than the {limits.MAX_WEIGHTS_BYTES} "
                "bytes Lamina reads",
                hostile,
                member=name,
            )

    def error(self, problem: str, fix: str | None = None, member: str | None = None) -> InvalidFileError:
        """The error for this file: ``'<file>' is not <what> (<problem>). <fix>.``"""
        fix = (fix or self.fix).rstrip(".")
        return InvalidFileError(f"{self.label} is not {self.what} ({problem}). {fix}.", path=self.path, member=member)

    def names(self) -> list[str]:
        return self._zip.namelist()

    namelist = names  # as `zipfile.ZipFile` spells it

    def has(self, member: str) -> bool:
        return member in self._zip.NameToInfo

    def info(self, member: str) -> zipfile.ZipInfo:
        """The checked directory entry of ``member`` (declared size: ``.file_size``)."""
        if not self.has(member):
            raise self.error(
                f"the archive has no {member!r}; it holds {sorted(self.names())[:20]}",
                "The file is incomplete or was not written by Lamina; save the model again"
                if self.fix == _SAVE_AGAIN
                else f"The file is incomplete; {self.fix[0].lower()}{self.fix[1:]}",
                member=member,
            )
        return self._zip.getinfo(member)

    @contextmanager
    def open(self, member: str, cap: int | None = None) -> Iterator[IO[bytes]]:
        """``member`` open for streaming (never more than its declared size, at most
        ``cap`` bytes, default `limits.MAX_WEIGHTS_BYTES`); errors while opening or
        reading it (a bad CRC, truncated or invalid compressed data) become an
        `InvalidFileError` naming it."""
        info = self._checked_info(member, cap)
        try:
            raw = self._zip.open(info)
        except Exception as e:  # noqa: BLE001 - BadZipFile, NotImplementedError, RuntimeError (encrypted), ...
            raise self._corrupted(member, e) from e
        with _MemberReader(raw, self, member) as f:
            yield f

    def _corrupted(self, member: str, e: BaseException) -> InvalidFileError:
        return self.error(f"the member {member!r} is corrupted: {_first_line(e)}", member=member)

    def _checked_info(self, member: str, cap: int | None) -> zipfile.ZipInfo:
        info = self.info(member)
        cap = limits.MAX_WEIGHTS_BYTES if cap is None else cap
        if info.file_size > cap:
            raise self.error(
                f"the member {member!r} is {info.file_size} bytes, more than the {cap} bytes Lamina "
                f"reads for it. Received: file_size={info.file_size}",
                "The file is damaged or not the kind expected; check the path",
                member=member,
            )
        return info

    def read(self, member: str, cap: int | None = None) -> bytes:
        """The bytes of ``member``, streamed in chunks: a member declaring more than
        ``cap`` bytes (default `limits.MAX_WEIGHTS_BYTES`), inflating past its
        declared size, ending early or failing its CRC is an `InvalidFileError`."""
        declared = self._checked_info(member, cap).file_size
        chunks: list[bytes] = []
        total = 0
        with self.open(member, cap) as f:
            while True:
                chunk = f.read(min(_CHUNK, declared - total + 1))
                if not chunk:
                    break
                total += len(chunk)
                if total > declared:
                    raise self.error(
                        f"the member {member!r} inflates past the {declared} bytes it declares",
                        "The file is damaged or hostile; do not use it",
                        member=member,
                    )
                chunks.append(chunk)
        if total != declared:
            raise self.error(
                f"the member {member!r} is corrupted: it ends after {total} of the {declared} bytes it declares",
                member=member,
            )
        return b"".join(chunks)

    def read_json(self, member: str, cap: int = limits.MAX_JSON_BYTES) -> Any:
        """``member`` parsed as JSON within `limits` (size, nesting depth, no repeated keys)."""
        data = self.read(member, cap)
        try:
            return limits.parse_json(data)
        except limits.JSONRefused as e:
            raise self.error(f"{member!r} is not valid JSON: {e}", member=member) from None

    def read_tensors(self, member: str) -> dict[str, torch.Tensor]:
        """``member`` parsed as safetensors (header validated first), in saved order."""
        data = self.read(member)
        try:
            return decode_safetensors(data)
        except HeaderProblem as e:
            raise self.error(f"{member!r} is not valid safetensors data: {e}", member=member) from e.__cause__

    def tensor_header(self, member: str) -> tuple[dict[str, TensorInfo], dict[str, str]]:
        """The validated safetensors header of ``member`` (name -> `TensorInfo`, and the
        metadata) without reading its tensor data. The CRC is not checked (it covers
        the whole member); `read_tensors` checks it."""
        declared = self._checked_info(member, None).file_size
        try:
            with self.open(member) as f:
                prefix = f.read(8)
                n = header_length(prefix, declared)
                header = f.read(n)
            if len(header) != n:
                raise HeaderProblem(f"its header declares {n} bytes but the member ends after {len(header)}")
            return parse_header(header, declared - 8 - n)
        except HeaderProblem as e:
            raise self.error(f"{member!r} is not valid safetensors data: {e}", member=member) from None

    def close(self) -> None:
        try:
            zf = getattr(self, "_zip", None)
            if zf is not None:
                zf.close()
        finally:
            self._file.close()

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
