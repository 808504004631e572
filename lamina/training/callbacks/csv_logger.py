"""`CSVLogger`: write the epoch logs to a CSV file, one row per epoch."""

from __future__ import annotations

import csv
import os
from typing import IO, Any

from lamina.training.callbacks.base import Callback
from lamina.utils import validation


class CSVLogger(Callback):
    """Streams the epoch logs (loss, metrics, `val_*`, ...) to a CSV file.

    The columns are ``epoch`` (0-based, as in Keras) and then the log keys in
    sorted order, fixed by the first epoch; a key missing later is written as
    ``NA``. The file is flushed after every row, so it can be read while `fit`
    runs.

    Args:
        filename: Path of the CSV file; its folder is created if needed.
        separator: The field separator (one character). Defaults to `","`.
        append: Append to an existing file (without repeating the header),
            e.g. when resuming training; otherwise overwrite it. Defaults to `False`.

    Example:
        >>> import lamina
        >>> logger = lamina.callbacks.CSVLogger("training.csv")
        >>> # model.fit(x, y, epochs=10, callbacks=[logger])
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)) or not str(filename):
            raise ValueError(f"`CSVLogger` expects `filename` to be a file path. Received: filename={filename!r}.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"`CSVLogger` expects `separator` to be a single character such as ',' or ';'. "
                f"Received: separator={separator!r}."
            )
        self.filename = filename
        self.separator = separator
        self.append = validation.boolean("CSVLogger", "append", append)
        self.skip_batch_hooks = True
        self.keys: list[str] | None = None
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._write_header = True

    def on_train_begin(self, logs: dict | None = None) -> None:
        path = os.fspath(self.filename)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._write_header = True
        self.keys = None
        if self.append and os.path.exists(path):
            with open(path, newline="") as f:
                first = f.readline()
            if first:
                self._write_header = False
                # Continue with the columns already in the file.
                self.keys = next(csv.reader([first], delimiter=self.separator))[1:]
        self._file = open(path, "a" if self.append else "w", newline="")  # noqa: SIM115 (closed in on_train_end)
        self._writer = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self._file is None:  # used without on_train_begin (e.g. called by hand)
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if self._write_header:
                self._writer.writerow(["epoch", *self.keys])
        row = [epoch] + [_format(logs.get(k, "NA")) for k in self.keys]
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


def _format(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)  # full precision, read back exactly with float()
    return value
