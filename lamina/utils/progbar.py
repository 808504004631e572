"""`Progbar`: a text progress bar for custom loops, as in Keras."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progbar:
    """Displays a progress bar for a loop of known (or unknown) length.

    Args:
        target: Total number of steps expected, `None` if unknown.
        width: Width of the bar on screen, in characters. Defaults to `20`.
        verbose: `0` (silent), `1` (live bar, redrawn in place) or `2` (one line
            when the target is reached). Defaults to `1`.
        interval: Minimum seconds between redraws. Defaults to `0.05`.
        stateful_metrics: Names of metrics shown as given rather than averaged
            over the steps. Defaults to `None`.
        unit_name: Name of a step, used in the time per step. Defaults to `"step"`.

    Example:
        >>> bar = Progbar(10, verbose=0)
        >>> for i in range(10):
        ...     bar.update(i + 1, values=[("loss", 1.0 / (i + 1))])
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        stateful_metrics: Any = None,
        unit_name: str = "step",
    ) -> None:
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._dynamic = sys.stdout.isatty() or "ipykernel" in sys.modules
        self._values: dict[str, list[float]] = {}
        self._order: list[str] = []
        self._seen = 0
        self._start = time.time()
        self._last_update = 0.0
        self._finalized = False

    def update(self, current: int, values: Any = None, finalize: bool | None = None) -> None:
        """Moves the bar to step `current`, folding in `values` (`[(name, value), ...]`)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            value = float(value.item() if hasattr(value, "item") else value)
            if name not in self._order:
                self._order.append(name)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                weight = max(current - self._seen, 1)
                total, count = self._values.get(name, [0.0, 0])
                self._values[name] = [total + value * weight, count + weight]
        self._seen = current
        now = time.time()
        if self.verbose == 0 or self._finalized:
            return
        if not finalize and now - self._last_update < self.interval:
            return
        self._last_update = now
        metrics = " - ".join(f"{k}: {self._values[k][0] / max(self._values[k][1], 1):.4f}" for k in self._order)
        elapsed = now - self._start
        if self.target is not None:
            filled = int(self.width * min(current, self.target) / max(self.target, 1))
            bar = "[" + "=" * max(filled - 1, 0) + (">" if filled < self.width else "=") * (filled > 0)
            bar += "." * (self.width - filled) + "]"
            count = f"{current}/{self.target} {bar}"
        else:
            count = f"{current}/Unknown"
        timing = f"{elapsed:.0f}s"
        if current and not finalize and self.target is not None:
            timing = f"ETA: {elapsed / current * (self.target - current):.0f}s"
        elif current:
            timing += f" {elapsed / current * 1e3:.0f}ms/{self.unit_name}"
        line = f"{count} - {timing}" + (f" - {metrics}" if metrics else "")
        if self.verbose == 1:
            sys.stdout.write(("\r" if self._dynamic else "") + line + ("\n" if finalize or not self._dynamic else ""))
            sys.stdout.flush()
        elif finalize:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        if finalize:
            self._finalized = True

    def add(self, n: int, values: Any = None) -> None:
        """Advances the bar by `n` steps."""
        self.update(self._seen + n, values)
