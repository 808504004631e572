"""`lamina predict m.lamina in.csv out.csv`: batch prediction from a CSV file, streaming.

The input file has a header row; its columns are the model's features in order
(or pick them by name with ``--columns``). Rows are read ``--batch-size`` at a
time, predicted and written at once, so files larger than memory work. The
output is written to a temporary file beside ``out.csv`` and renamed at the
end: a failure leaves no half-written file.

Output columns:

* a classifier (decided as `lamina serve` decides: a classification loss,
  the reference profile's task, or a softmax / sigmoid last layer): ``class``
  then ``prob_<name>`` per class (two for one sigmoid unit), the names being
  the model's class names when it has them (``model.class_names`` or its
  reference profile's), else ``0 .. k-1``;
* otherwise one output value: ``prediction``; a vector: ``pred_0 .. pred_{k-1}``;
  a model with several outputs: ``<output>_<i>`` per output.

``--raw`` writes the model's outputs as they are, even for a classifier.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any


class PredictError(Exception):
    """A user mistake in `lamina predict` (bad file, bad cell): printed without a traceback."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declares the arguments of `lamina predict`."""
    parser.add_argument("model", help="a saved model (.lamina or .keras)")
    parser.add_argument("input", help="CSV file with a header row; columns = the model's features in order")
    parser.add_argument("output", help="CSV file to write (replaced atomically at the end)")
    parser.add_argument("--batch-size", type=int, default=1024, help="rows read and predicted at a time (default: 1024)")
    parser.add_argument("--columns", default=None, help="comma-separated input columns to use, in the model's order "
                        "(default: every column)")
    parser.add_argument("--raw", action="store_true", help="write the raw outputs, even for a classifier")
    parser.add_argument("--quiet", action="store_true", help="no progress display")


def run(args: argparse.Namespace) -> int:
    """Runs `lamina predict`; returns the exit status (0, or 2 after a printed error)."""
    try:
        rows = predict_csv(args.model, args.input, args.output, batch_size=args.batch_size,
                           columns=args.columns, raw=args.raw, progress=not args.quiet)
    except PredictError as e:
        print(f"lamina predict: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"lamina predict: wrote {rows} rows to {args.output}", file=sys.stderr)
    return 0


def predict_csv(model: Any, input_path: str, output_path: str, *, batch_size: int = 1024,
                columns: str | list[str] | None = None, raw: bool = False, progress: bool = False) -> int:
    """Predicts every row of a CSV file into another CSV file, `batch_size` rows at a time.

    Args:
        model: A `lamina.Model`, or the path of a saved one.
        input_path: CSV file with a header row.
        output_path: CSV file to write, atomically.
        batch_size: Rows per chunk. Defaults to `1024`.
        columns: Input columns to use, by name (a list or a comma-separated string).
            Defaults to `None`: every column, in order.
        raw: Write the raw outputs even for a classifier. Defaults to `False`.
        progress: Show progress on stderr (a rich bar on a terminal, plain lines
            otherwise). Defaults to `False`.

    Returns:
        The number of rows written.

    Example:
        >>> import lamina, numpy as np, os, tempfile
        >>> d = tempfile.mkdtemp()
        >>> model = lamina.Sequential([lamina.Input(shape=(2,)), lamina.layers.Dense(1)])
        >>> with open(os.path.join(d, "in.csv"), "w") as f:
        ...     _ = f.write("a,b\\n1,2\\n3,4\\n")
        >>> predict_csv(model, os.path.join(d, "in.csv"), os.path.join(d, "out.csv"))
        2
        >>> open(os.path.join(d, "out.csv")).readline().strip()
        'prediction'
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise PredictError(f"--batch-size must be a positive integer. Received: {batch_size!r}.")
    if not os.path.isfile(input_path):
        raise PredictError(f"the input file {input_path!r} does not exist. Pass the path of a CSV file.")
    if isinstance(model, (str, os.PathLike)):
        model = _load(os.fspath(model))
    row_shape = _row_shape(model)
    width = 1
    for d in row_shape:
        width *= d
    size = os.path.getsize(input_path)
    out_dir = os.path.dirname(os.path.abspath(output_path))
    if not os.path.isdir(out_dir):
        raise PredictError(f"the output folder {out_dir!r} does not exist. Create it or pass another path.")
    fd, tmp = tempfile.mkstemp(prefix=".lamina-predict-", suffix=".csv.tmp", dir=out_dir)
    rows = 0
    try:
        with open(input_path, "rb") as raw_in, os.fdopen(fd, "w", newline="") as out, \
                _Progress(size, enabled=progress) as bar:
            counter = _ByteCounter(raw_in)
            reader = csv.reader(counter.lines())
            header = next(reader, None)
            if header is None:
                raise PredictError(f"the input file {input_path!r} is empty; it needs a header row.")
            picks = _pick_columns(header, columns, width, row_shape)
            writer = csv.writer(out)
            names = [header[i] for i in picks]
            cache: dict[str, Any] = {}
            for chunk, first_line in _chunks(reader, batch_size, len(header)):
                x = _to_array(chunk, picks, names, first_line).reshape((len(chunk), *row_shape))
                outputs = model.predict(x, batch_size=len(chunk), verbose=0)
                columns_out, values = _format(model, outputs, raw, cache)
                if rows == 0:
                    writer.writerow(columns_out)
                writer.writerows(values)
                rows += len(chunk)
                bar.update(counter.count, rows)
            if rows == 0:
                raise PredictError(f"the input file {input_path!r} has a header but no data rows.")
        os.replace(tmp, output_path)
    except csv.Error as e:
        os.unlink(tmp)
        raise PredictError(f"{input_path!r} is not a valid CSV file: {e}.") from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return rows


# ----------------------------------------------------------------------------- input
def _load(path: str) -> Any:
    if not os.path.isfile(path):
        raise PredictError(f"the model file {path!r} does not exist. Pass a file saved with `model.save(...)`.")
    import lamina

    try:
        return lamina.load_model(path)
    except (ValueError, OSError, KeyError) as e:
        raise PredictError(f"could not load the model {path!r}: {e}") from e


def _row_shape(model: Any) -> tuple[int, ...]:
    """The shape of one input row; the model must have one input of fixed size."""
    try:
        inputs = list(model.inputs)
    except (AttributeError, ValueError, TypeError):
        inputs = []
    shapes = [tuple(t.shape) for t in inputs] or [getattr(model, "_build_input_shape", None)]
    if len(shapes) != 1 or shapes[0] is None or isinstance(shapes[0][0], (list, tuple)):
        raise PredictError("`lamina predict` reads one flat row per CSV line, so it needs a model with one input "
                           f"of fixed size. Received: a model with input shapes {shapes}. Call model.predict in "
                           "Python for this model.")
    row = tuple(shapes[0][1:])
    if not row or any(d is None for d in row):
        raise PredictError("`lamina predict` needs a fixed number of features per row. Received: input shape "
                           f"{shapes[0]} (a free axis). Call model.predict in Python for this model.")
    return row


def _pick_columns(header: list[str], columns: str | list[str] | None, width: int,
                  row_shape: tuple[int, ...]) -> list[int]:
    if columns is None:
        if len(header) != width:
            raise PredictError(f"the model expects {width} input columns (rows of shape {row_shape}). Received: "
                               f"{len(header)} columns in the header ({_short(header)}). Pass --columns to pick "
                               "the feature columns, in order.")
        return list(range(len(header)))
    wanted = [c.strip() for c in columns.split(",")] if isinstance(columns, str) else list(columns)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise PredictError(f"--columns names columns that are not in the header: {missing}. Header: "
                           f"{_short(header)}.")
    if len(wanted) != width:
        raise PredictError(f"the model expects {width} input columns. Received: --columns with {len(wanted)} "
                           "names.")
    return [header.index(c) for c in wanted]


def _chunks(reader: Any, batch_size: int, fields: int) -> Iterator[tuple[list[list[str]], int]]:
    """Lists of `batch_size` records and the file line of their first record (header = line 1)."""
    chunk: list[list[str]] = []
    first = 2
    for record in reader:
        if not record:  # a blank line
            continue
        if len(record) != fields:
            raise PredictError(f"line {reader.line_num} has {len(record)} fields; the header has {fields}. "
                               "Every row needs one value per column.")
        if not chunk:
            first = reader.line_num
        chunk.append(record)
        if len(chunk) == batch_size:
            yield chunk, first
            chunk = []
    if chunk:
        yield chunk, first


def _to_array(chunk: list[list[str]], picks: list[int], names: list[str], first_line: int) -> Any:
    import numpy as np

    cells = [[record[i] for i in picks] for record in chunk]
    try:
        x = np.array(cells, dtype=np.float64)
    except ValueError:
        for r, row in enumerate(cells):
            for c, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    where = f"row {first_line - 1 + r} (line {first_line + r}), column {names[c]!r}"
                    if not cell.strip():
                        raise PredictError(f"{where} is empty; the model needs a number in every cell. Fill "
                                           "or drop missing values first.") from None
                    raise PredictError(f"{where}: expected a number. Received: {cell!r}.") from None
        raise
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise PredictError(f"row {first_line - 1 + r} (line {first_line + r}), column {names[c]!r}: expected a "
                           f"finite number. Received: {cells[r][c]!r}. Fill or drop missing values first.")
    return x.astype(np.float32)


# ----------------------------------------------------------------------------- output
def _format(model: Any, outputs: Any, raw: bool, cache: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    import numpy as np

    if isinstance(outputs, dict):
        parts = list(outputs.items())
    elif isinstance(outputs, (list, tuple)):
        names = list(getattr(model, "output_names", None) or [])
        if len(names) != len(outputs):
            names = [f"output_{i}" for i in range(len(outputs))]
        parts = list(zip(names, outputs))
    else:
        parts = [(None, outputs)]
    header: list[str] = []
    blocks = []
    for name, value in parts:
        a = np.asarray(value)
        a = a.reshape(a.shape[0], -1)
        probs = None if raw or name is not None else _probabilities(model, a, cache)
        if probs is not None:
            names = cache["info"].class_names or [str(i) for i in range(probs.shape[1])]
            h = ["class"] + [f"prob_{n}" for n in names]
            table = np.empty((a.shape[0], 1 + probs.shape[1]), dtype=object)
            table[:, 0] = np.array(names, dtype=object)[probs.argmax(axis=1)]
            table[:, 1:] = probs.astype(np.float32)
            a = table
        elif name is not None:
            h = [name] if a.shape[1] == 1 else [f"{name}_{i}" for i in range(a.shape[1])]
        else:
            h = ["prediction"] if a.shape[1] == 1 else [f"pred_{i}" for i in range(a.shape[1])]
        header += h
        blocks.append(a.astype(object))
    table = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    return header, [[_cell(v) for v in row] for row in table.tolist()]


def _probabilities(model: Any, a: Any, cache: dict[str, Any]) -> Any:
    """Class probabilities when the model is a classifier (decided on the first chunk, by
    the same rules as `lamina serve`: the loss, the reference profile, a softmax / sigmoid
    last layer), else None."""
    if "info" not in cache:
        from lamina.serving.outputs import describe_outputs

        try:
            profile = getattr(model, "reference_profile", None)
        except Exception:  # noqa: BLE001 - without a profile the loss and last layer decide
            profile = None
        cache["info"] = describe_outputs(model, ["output"], [a], profile)
    info = cache["info"]
    return info.probabilities(a) if info.task == "classification" else None


def _cell(v: Any) -> str:
    """The shortest text that reads back as the same value (float32 outputs stay short)."""
    import numpy as np

    if isinstance(v, (float, np.floating)):
        v = float(v)
        return str(np.float32(v)) if float(np.float32(v)) == v else repr(v)
    return str(v)


def _short(header: list[str]) -> str:
    return ", ".join(header[:8]) + (f", ... ({len(header)} in all)" if len(header) > 8 else "")


# ----------------------------------------------------------------------------- progress
class _ByteCounter:
    """Decoded lines of a binary file, counting the bytes read (for the progress bar)."""

    def __init__(self, f: Any) -> None:
        self.f, self.count = f, 0

    def lines(self) -> Iterator[str]:
        encoding = "utf-8-sig"  # drops a byte-order mark on the first line
        for number, line in enumerate(self.f, start=1):
            self.count += len(line)
            try:
                yield line.decode(encoding)
            except UnicodeDecodeError as e:
                raise PredictError(f"line {number} is not UTF-8 text ({e.reason} at byte {e.start}). Save the "
                                   "CSV file as UTF-8.") from None
            encoding = "utf-8"


class _Progress:
    """A rich progress bar on a terminal's stderr, a plain line per ~10 % otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.bar, self.next_plain = max(total, 1), enabled, None, 0.1
        self.start = time.perf_counter()

    def __enter__(self) -> _Progress:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("predicting"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                TextColumn("{task.fields[rows]} rows"), TimeRemainingColumn(),
                                console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("predict", total=self.total, rows=0)
        return self

    def update(self, done: int, rows: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, rows=rows)
        elif self.enabled and done / self.total >= self.next_plain:
            print(f"lamina predict: {100 * done / self.total:.0f}% ({rows} rows, "
                  f"{time.perf_counter() - self.start:.1f} s)", file=sys.stderr)
            while self.next_plain <= done / self.total:
                self.next_plain += 0.1

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()
