"""Free axes the capture constrains: the length range `torch.export` suggests for
a free axis (a `valid` convolution needs a minimum length), and the layer that
fixes an axis to one size when no range will do.

A suggested range is accepted: the capture is retried with it, the range goes
in the file's metadata, and the parity gate checks lengths inside it. An axis
fixed to one size is an error naming the layer that was running when the
shape environment pinned the size (found by running the failing capture again
with the layers and the shape log watched).
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from torch import nn

Range = tuple[int | None, int | None]
Ranges = dict[str, Range]

_DIM = re.compile(r"^\s+(\w+) = Dim\('\w+'((?:, (?:min|max)=\d+)*)\)\s*$")
_PINNED = re.compile(r"range_refined_to_singleton|\[guard added\].*\bEq\(s\d+, \d+\)")
_SHAPE_LOG = "torch.fx.experimental.symbolic_shapes"


def suggested_ranges(error: BaseException) -> Ranges | None:
    """The ranges `torch.export` suggests for the free axes (``axis1 = Dim('axis1',
    min=5)``), or None when it suggests anything else (a fixed size, a derived
    dimension, a range for the batch axis) or nothing."""
    text = str(error)
    if "Suggested fixes:" not in text:
        return None
    ranges: Ranges = {}
    for line in text.split("Suggested fixes:", 1)[1].splitlines()[1:]:
        if not line.startswith("  ") or " = " not in line:
            break
        found = _DIM.match(line)
        if found is None or not found.group(1).startswith("axis"):
            return None
        bounds = dict(re.findall(r"(min|max)=(\d+)", found.group(2)))
        ranges[found.group(1)] = (
            int(bounds["min"]) if "min" in bounds else None,
            int(bounds["max"]) if "max" in bounds else None,
        )
    return ranges or None


def merge(ranges: Ranges, more: Ranges) -> Ranges:
    """Both sets of ranges at once (the larger minimum, the smaller maximum)."""
    out = dict(ranges)
    for name, (low, high) in more.items():
        old_low, old_high = out.get(name, (None, None))
        lows = [v for v in (old_low, low) if v is not None]
        highs = [v for v in (old_high, high) if v is not None]
        out[name] = (max(lows) if lows else None, min(highs) if highs else None)
    return out


def narrowed(error: BaseException, ranges: Ranges) -> Ranges | None:
    """``ranges`` with the next range to try after ``error``: the one suggested, or,
    when the suggestion is the range already tried and a guard excludes one length
    (``(-4 + length) != 1``: a size of 1 is special, so its edge is excluded), the
    minimum raised by one. None when there is nothing left to try."""
    merged = merge(ranges, suggested_ranges(error) or {})
    if merged != ranges:
        return merged
    violated = re.search(r"Constraints violated \(([\w, ]+)\)", str(error))
    if violated is None or not re.search(r"satisfy the generated guard .*\) != -?\d+", str(error)):
        return None
    names = {n.strip() for n in violated.group(1).split(",")}
    bumped = {n: (low + 1, high) for n, (low, high) in merged.items() if n in names and low is not None}
    return {**merged, **bumped} if bumped else None


def fixes_a_size(error: BaseException) -> bool:
    """Whether ``error`` is the capture fixing a dynamic axis."""
    return "Constraints violated" in str(error) or "specialized" in str(error)


def length_bounds(ranges: Ranges) -> Range:
    """The lengths the free axes accept together (they are drawn with one length)."""
    lows = [low for low, _ in ranges.values() if low is not None]
    highs = [high for _, high in ranges.values() if high is not None]
    return (max(lows) if lows else None, min(highs) if highs else None)


def to_json(ranges: Ranges) -> dict[str, dict[str, int | None]]:
    return {name: {"min": low, "max": high} for name, (low, high) in sorted(ranges.items())}


class _PinWatch(logging.Handler):
    """Records the innermost running layer when the shape log first pins a size."""

    def __init__(self, stack: list[tuple[str, nn.Module]]) -> None:
        super().__init__(logging.DEBUG)
        self.stack = stack
        self.found: tuple[str, nn.Module] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.found is None and self.stack and _PINNED.search(record.getMessage()):
            self.found = self.stack[-1]


@contextlib.contextmanager
def _watching_layers(entry: nn.Module) -> Iterator[list[tuple[str, nn.Module]]]:
    """A stack of the model layers running now (paths without the ``model.`` prefix)."""
    stack: list[tuple[str, nn.Module]] = []
    handles = []
    for name, module in entry.named_modules():
        if not name.startswith("model."):
            continue
        path = name.removeprefix("model.")

        def push(m: nn.Module, args: Any, path: str = path) -> None:
            stack.append((path, m))

        def pop(m: nn.Module, args: Any, out: Any) -> None:
            if stack:
                stack.pop()

        handles.append(module.register_forward_pre_hook(push))
        handles.append(module.register_forward_hook(pop, always_call=True))
    try:
        yield stack
    finally:
        for handle in handles:
            handle.remove()


def layer_fixing_a_size(entry: nn.Module, run_capture: Callable[[], Any]) -> tuple[str, nn.Module] | None:
    """The layer that was running when the capture pinned a free size to one value:
    ``run_capture`` (the failing capture) runs again with the layers and the shape
    log watched. None when it cannot be told."""
    log = logging.getLogger(_SHAPE_LOG)
    level, propagate, handlers = log.level, log.propagate, list(log.handlers)
    with _watching_layers(entry) as stack:
        watch = _PinWatch(stack)
        log.handlers = [watch]  # torch's own handler would print the shape log
        log.setLevel(logging.INFO)
        log.propagate = False
        try:
            run_capture()
        except Exception:  # noqa: BLE001, S110 - the failure is known; only the layer is wanted
            pass
        finally:
            log.handlers = handlers
            log.setLevel(level)
            log.propagate = propagate
    return watch.found
