"""The "watch one logged quantity" logic shared by EarlyStopping, ModelCheckpoint
and ReduceLROnPlateau: the mode (min or max), the improvement test and the
warning for a monitored key that is not in the logs."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

from lamina.utils import validation

# Names of quantities that are better when larger (`mode="auto"` picks "max").
_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1")


def check_monitor(owner: str, monitor: Any) -> str:
    """Checks that ``monitor`` is a non-empty string naming a logged quantity."""
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(
            f"`{owner}` expects `monitor` to be the name of a logged quantity, such as "
            f"'val_loss' or 'val_accuracy'. Received: monitor={monitor!r}."
        )
    return monitor


def resolve_mode(owner: str, mode: Any, monitor: str) -> str:
    """Returns "min" or "max" for ``mode`` ("auto", "min" or "max").

    With "auto", a name that contains acc, auc, precision, recall or f1 is
    maximised and anything else (losses, errors) is minimised.
    """
    validation.one_of(owner, "mode", mode, ("auto", "min", "max"))
    if mode != "auto":
        return mode
    name = monitor.lower()
    return "max" if any(hint in name for hint in _MAX_HINTS) else "min"


def is_improvement(current: float, reference: float | None, mode: str, min_delta: float) -> bool:
    """True when ``current`` beats ``reference`` by more than ``min_delta`` (>= 0)."""
    if reference is None:
        return True
    if math.isnan(current):
        return False
    if mode == "min":
        return current < reference - min_delta
    return current > reference + min_delta


def monitored_value(owner: str, logs: Mapping[str, Any] | None, monitor: str, what: str) -> float | None:
    """Reads ``logs[monitor]`` as a float; warns (listing the available keys) and
    returns None when it is missing, as Keras does."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        available = ", ".join(sorted(logs)) or "(none)"
        warnings.warn(
            f"`{owner}` {what} on `{monitor}`, which is not in the logs. Available keys: "
            f"{available}. Pass one of them as `monitor=` (validation keys such as "
            "'val_loss' exist only when `fit` gets `validation_data` or `validation_split`).",
            stacklevel=3,
        )
        return None
    return float(value)
