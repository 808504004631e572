"""The one error a file that Lamina refuses to read raises, and the guard that
makes sure nothing else escapes a loader.

`InvalidFileError` is a `ValueError` (so ``except ValueError`` keeps working)
that carries the path and, when known, the archive member at fault. Every
loader (`load_model`, `load_weights`, `BackupAndRestore`, the Keras readers)
runs its reading inside `guard_file_errors`, which turns anything that is not
already one of Lamina's own errors (a raw `KeyError`, `IndexError`,
`RecursionError`, `OverflowError`, `MemoryError`, `SafetensorError`, a torch
`RuntimeError`, ...) into an `InvalidFileError` naming the file, chained to
the original exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


class InvalidFileError(ValueError):
    """A file is not what it should be: broken, truncated, foreign or hostile.

    Attributes:
        path: The file (as given).
        member: The archive member or tensor at fault, or None.
    """

    def __init__(self, message: str, *, path: str | os.PathLike | None = None, member: str | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)
        self.member = member


# Errors Lamina raises on purpose (with a message of its own) pass through the
# guard unchanged when they name the file; everything else is wrapped.
_OWN = (ValueError, TypeError, OSError)


def file_label(path: str | os.PathLike) -> str:
    """How messages name a file: its base name, quoted."""
    return repr(os.path.basename(os.fspath(path)))


@contextmanager
def guard_file_errors(path: str | os.PathLike, what: str, fix: str) -> Iterator[None]:
    """Runs the reading of ``path``; any exception that is not one of Lamina's own
    errors naming the file becomes an `InvalidFileError` that does.

    Args:
        path: The file being read.
        what: What the file should be, e.g. ``"a Lamina model file"``.
        fix: What to do about it, one sentence.
    """
    label = file_label(path)
    try:
        yield
    except InvalidFileError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as e:  # noqa: BLE001 - this is the one place that wraps everything
        text = str(e)
        if isinstance(e, _OWN) and type(e).__module__ == "builtins" and (
            label in text or os.fspath(path) in text or os.path.basename(os.fspath(path)) in text
        ):
            raise
        if isinstance(e, MemoryError):
            problem = "reading it needs more memory than this machine has; the file is damaged or hostile"
        elif isinstance(e, RecursionError):
            problem = "its contents are nested too deeply"
        else:
            detail = text.strip().splitlines()[0] if text.strip() else ""
            problem = f"{type(e).__name__}: {detail}" if detail else type(e).__name__
        raise InvalidFileError(
            f"{label} could not be read as {what} ({problem}). {fix}", path=path
        ) from e
