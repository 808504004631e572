"""`ProgbarLogger`: the progress display of fit / evaluate / predict, drawn with rich.

* verbose=1 on a terminal: a live bar inside each epoch (refreshed at most ten
  times a second, the only moments it reads values from the device), then one
  line per epoch.
* verbose=1 in a Jupyter notebook: one display in the cell, updated in place
  (IPython's `update_display`): the finished epoch lines and a live bar.
* verbose=2, or verbose=1 when the output is not a terminal (CI logs): one
  plain line per epoch.
* verbose=0: nothing.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lamina.training.callbacks.base import Callback

_REFRESH_S = 0.1
_BAR_WIDTH = 30


def in_notebook() -> bool:
    """True inside a Jupyter kernel (a ZMQ IPython shell: Jupyter, JupyterLab, Colab, VS Code)."""
    if "IPython" not in sys.modules:
        return False
    try:
        shell = sys.modules["IPython"].get_ipython()
    except AttributeError:
        return False
    return shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


class NotebookDisplay:
    """One output in a notebook cell, redrawn in place: finished lines, then a live bar."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.handle: Any = None

    def _bundle(self, bar: tuple[str, int, int | None, str] | None) -> dict[str, str]:
        text = list(self.lines)
        markup = [html.escape(line) for line in self.lines]
        if bar is not None:
            description, done, total, tail = bar
            if total:
                filled = min(_BAR_WIDTH, int(_BAR_WIDTH * done / total))
                text.append(f"{description} [{'=' * filled}{'.' * (_BAR_WIDTH - filled)}] {done}/{total}{tail}")
                meter = f'<progress value="{done}" max="{total}" style="width:16em"></progress>'
                markup.append(f"{html.escape(description)} {meter} {done}/{total}{html.escape(tail)}")
            else:
                text.append(f"{description} {done}/?{tail}")
                markup.append(html.escape(text[-1]))
        return {"text/plain": "\n".join(text), "text/html": "<pre>" + "<br>".join(markup) + "</pre>"}

    def show(self, bar: tuple[str, int, int | None, str] | None = None) -> None:
        from IPython.display import display

        bundle = self._bundle(bar)
        if self.handle is None:
            self.handle = display(bundle, raw=True, display_id=True)
        else:
            self.handle.update(bundle, raw=True)

    def add_line(self, line: str) -> None:
        self.lines.append(line)
        self.show()


def format_logs(logs: Any) -> str:
    parts = []
    for k, v in dict(logs).items():
        if isinstance(v, float):
            parts.append(f"{k}: {v:.4g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{k}: {v:.4f}")
        else:
            parts.append(f"{k}: {v}")
    return " - ".join(parts)


class ProgbarLogger(Callback):
    """Shows training progress. Added by `fit` / `evaluate` / `predict` when verbose > 0."""

    def __init__(self, verbose: int = 1, console: Console | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        # In a notebook (and no console chosen by the caller) the display is updated in place.
        self.notebook = console is None and verbose == 1 and in_notebook()
        self.console = console or Console(highlight=False)
        self.live = verbose == 1 and (self.notebook or self.console.is_terminal)
        self._display: NotebookDisplay | None = None
        self._bar: tuple[str, int | None] | None = None
        self._progress: Progress | None = None
        self._task: Any = None
        self._last = 0.0
        self._t0 = 0.0
        self._epochs = 1
        if not self.live:
            # Without a live bar the batch hooks are not called at all (no per-step cost).
            self.skip_batch_hooks = True

    # -------------------------------------------------------------- live bar helpers
    def _print(self, line: str) -> None:
        if self.notebook:
            if self._display is None:
                self._display = NotebookDisplay()
            self._display.add_line(line)
        else:
            self.console.print(line, soft_wrap=True, markup=False, highlight=False)

    def _start_bar(self, description: str, total: int | None) -> None:
        if not self.live:
            return
        if self.notebook:
            if self._display is None:
                self._display = NotebookDisplay()
            self._bar = (description, total)
            self._t_bar = time.perf_counter()
            self._display.show((description, 0, total, ""))
            self._last = time.perf_counter()
            return
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=self.console,
            transient=True,
            auto_refresh=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, metrics="")
        self._last = time.perf_counter()

    def _advance(self, step: int, logs: Any) -> None:
        if self._bar is not None and self._display is not None:
            now = time.perf_counter()
            if now - self._last >= _REFRESH_S:
                self._last = now
                tail = f" - {now - self._t_bar:.1f}s" + (f" - {format_logs(logs)}" if logs else "")
                self._display.show((self._bar[0], step + 1, self._bar[1], tail))
            return
        if self._progress is None:
            return
        now = time.perf_counter()
        if now - self._last >= _REFRESH_S:
            self._last = now
            self._progress.update(self._task, completed=step + 1, metrics=format_logs(logs) if logs else "")
            self._progress.refresh()

    def _stop_bar(self) -> None:
        self._bar = None
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # -------------------------------------------------------------- fit
    def on_train_begin(self, logs: Any = None) -> None:
        self._epochs = self.params.get("epochs", 1)
        self._display = None  # each call gets its own display in the notebook

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._t0 = time.perf_counter()
        self._epoch = epoch
        self._start_bar(f"Epoch {epoch + 1}/{self._epochs}", self.params.get("steps"))

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._advance(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        if self.params.get("phase") == "evaluate":
            self._advance(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        self._advance(batch, None)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._stop_bar()
        took = time.perf_counter() - self._t0
        steps = self.params.get("steps")
        steps_s = f"{steps}/{steps} - " if steps else ""
        self._print(f"Epoch {epoch + 1}/{self._epochs} - {steps_s}{took:.1f}s - {format_logs(logs or {})}")

    def on_train_end(self, logs: Any = None) -> None:
        self._stop_bar()

    # -------------------------------------------------------------- evaluate / predict
    def on_test_begin(self, logs: Any = None) -> None:
        if self.params.get("phase") == "evaluate":
            self._display = None
            self._t0 = time.perf_counter()
            self._start_bar("Evaluate", self.params.get("steps"))

    def on_test_end(self, logs: Any = None) -> None:
        if self.params.get("phase") == "evaluate":
            self._stop_bar()
            took = time.perf_counter() - self._t0
            self._print(f"Evaluate - {took:.1f}s - {format_logs(logs or {})}")

    def on_predict_begin(self, logs: Any = None) -> None:
        self._display = None
        self._t0 = time.perf_counter()
        self._start_bar("Predict", self.params.get("steps"))

    def on_predict_end(self, logs: Any = None) -> None:
        self._stop_bar()
        if self.verbose:
            self._print(f"Predict - {time.perf_counter() - self._t0:.1f}s")
