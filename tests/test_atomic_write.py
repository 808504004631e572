"""Tests of `file_io.atomic_write`: recognisable temporaries, stale ones cleaned up,
and every failure (full disk, file-size limit, read-only folder or file) leaving
an existing file byte for byte intact, with no temporary behind.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from lamina.saving import file_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD = b"the previous model, which must survive" * 10


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "m.lamina"
    path.write_bytes(OLD)
    return path


def leftovers(directory) -> list[str]:
    return [n for n in os.listdir(directory) if n.endswith(file_io.TEMP_SUFFIX)]


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_atomic_write_uses_a_recognisable_temporary_then_replaces(target):
    seen = []

    def write(f):
        seen.extend(leftovers(target.parent))
        f.write(b"new")

    file_io.atomic_write(target, write)
    assert target.read_bytes() == b"new"
    assert len(seen) == 1
    assert re.fullmatch(rf"\.m\.lamina\.{os.getpid()}\.[0-9a-f]{{8}}\.lamina-tmp", seen[0])
    assert leftovers(target.parent) == []


def test_atomic_write_keeps_the_mode_of_the_file_it_replaces(target):
    os.chmod(target, 0o640)
    file_io.atomic_write(target, lambda f: f.write(b"new"))
    assert target.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("code", [errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG])
def test_a_full_disk_while_writing_keeps_the_previous_file(target, code):
    def write(f):
        f.write(b"partial")
        raise OSError(code, os.strerror(code))

    with pytest.raises(OSError, match=r"Cannot save to '.*m\.lamina': the disk is full.*The previous file is intact") as info:
        file_io.atomic_write(target, write)
    assert info.value.errno == code
    assert target.read_bytes() == OLD
    assert leftovers(target.parent) == []


def test_a_full_disk_while_syncing_keeps_the_previous_file(target, monkeypatch):
    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match=r"'.*m\.lamina': the disk is full.*\(No space left on device\)\. The previous file is intact") as info:
        file_io.atomic_write(target, lambda f: f.write(b"new" * 1000))
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == OLD
    assert leftovers(target.parent) == []


def test_a_full_disk_for_a_new_file_says_nothing_was_written(tmp_path):
    def write(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match=r"'.*new\.lamina': the disk is full.*Nothing was written"):
        file_io.atomic_write(tmp_path / "new.lamina", write)
    assert os.listdir(tmp_path) == []


def test_any_other_failure_keeps_the_previous_file(target):
    def write(f):
        f.write(b"half")
        raise RuntimeError("the model could not be serialised")

    with pytest.raises(RuntimeError, match=r"the model could not be serialised"):
        file_io.atomic_write(target, write)
    assert target.read_bytes() == OLD
    assert leftovers(target.parent) == []


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_real_file_size_limit_raises_efbig_and_keeps_the_previous_file(target):
    script = textwrap.dedent(
        f"""
        import errno, resource, signal, sys, types
        # file_io alone, without the whole package's import time
        for name in ("lamina", "lamina.saving"):
            package = types.ModuleType(name)
            package.__path__ = [{ROOT!r} + "/" + name.replace(".", "/")]
            sys.modules[name] = package
        from lamina.saving import file_io
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            file_io.atomic_write({str(target)!r}, lambda f: f.write(b"x" * 1_000_000))
        except OSError as e:
            print("errno", e.errno == errno.EFBIG, e)
            sys.exit(0)
        print("no error")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "errno True" in result.stdout, result.stdout + result.stderr
    assert re.search(r"Cannot save to '.*m\.lamina': the disk is full, or a disk quota or file-size limit", result.stdout)
    assert "The previous file is intact" in result.stdout
    assert target.read_bytes() == OLD
    assert leftovers(target.parent) == []


def test_stale_temporaries_of_dead_processes_are_removed_and_nothing_else(target):
    directory = target.parent
    dead = dead_pid()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = f".m.lamina.{dead}.deadbeef.lamina-tmp"
        alive = f".m.lamina.{sleeper.pid}.cafe1234.lamina-tmp"
        old_alive = f".m.lamina.{sleeper.pid}.0ld0ne.lamina-tmp"
        others = [
            f".other.lamina.{dead}.deadbeef.lamina-tmp",  # another target's
            f".m.lamina.{dead}.tmp",  # not ours
            f"m.lamina.{dead}.deadbeef.lamina-tmp",  # no leading dot
            "notes.txt",
        ]
        for name in [stale, alive, old_alive, *others]:
            (directory / name).write_bytes(b"x")
        day_ago = time.time() - file_io.STALE_AFTER_S - 60
        os.utime(directory / old_alive, (day_ago, day_ago))

        file_io.atomic_write(target, lambda f: f.write(b"new"))

        remaining = set(os.listdir(directory))
        assert stale not in remaining and old_alive not in remaining
        assert {alive, *others, "m.lamina"} == remaining
        assert target.read_bytes() == b"new"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_directory_named_like_a_temporary_is_left_alone(target):
    name = f".m.lamina.{dead_pid()}.deadbeef.lamina-tmp"
    (target.parent / name).mkdir()
    file_io.atomic_write(target, lambda f: f.write(b"new"))
    assert (target.parent / name).is_dir()


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_read_only_folder_names_the_target_and_the_fix(target, monkeypatch, code):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(file_io.TEMP_SUFFIX):
            raise PermissionError(code, os.strerror(code), path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError, match=r"Cannot save to '.*m\.lamina': the folder '.*' is not writable.*Save to a folder you can write to, or make this one writable \(e\.g\. `chmod u\+w`") as info:
        file_io.atomic_write(target, lambda f: f.write(b"new"))
    assert ".lamina-tmp" not in str(info.value)
    assert info.value.errno == code
    assert target.read_bytes() == OLD


def test_a_folder_refusing_the_rename_names_the_target(target, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", src)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError, match=r"Cannot save to '.*m\.lamina': the folder .* is not writable"):
        file_io.atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == OLD
    assert leftovers(target.parent) == []


def test_a_read_only_target_is_not_replaced(target, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m, **kw: False if os.fspath(p) == str(target) else real_access(p, m, **kw)
    )
    with pytest.raises(PermissionError, match=r"Cannot save to '.*m\.lamina': the file exists and is read-only, so it was not replaced\. Make it writable \(`chmod u\+w`\) or save under another name"):
        file_io.atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == OLD
    assert leftovers(target.parent) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file modes")
def test_real_read_only_folder_and_file(target):
    os.chmod(target, 0o444)
    with pytest.raises(PermissionError, match=r"the file exists and is read-only"):
        file_io.atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == OLD
    os.chmod(target, 0o644)
    os.chmod(target.parent, 0o555)
    try:
        with pytest.raises(PermissionError, match=r"Cannot save to '.*m\.lamina': the folder .* is not writable"):
            file_io.atomic_write(target, lambda f: f.write(b"new"))
    finally:
        os.chmod(target.parent, 0o755)
    assert target.read_bytes() == OLD


def test_missing_folder_and_directory_target_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"the directory '.*absent' does not exist"):
        file_io.atomic_write(tmp_path / "absent" / "m.lamina", lambda f: f.write(b"x"))
    (tmp_path / "dir.lamina").mkdir()
    with pytest.raises(IsADirectoryError, match=r"Cannot save to '.*dir\.lamina': it is a directory"):
        file_io.atomic_write(tmp_path / "dir.lamina", lambda f: f.write(b"x"))
