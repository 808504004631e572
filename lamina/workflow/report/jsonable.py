"""`to_jsonable`: every result the report takes, as plain JSON values."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Converts results to JSON values.

    `to_dict()` objects (an `Interval` becomes its `to_dict()`: estimate, low,
    high, n, confidence, method), dataclasses, NumPy and torch values and paths
    are converted; NaN and infinities become None; anything else becomes its `str`.

    Args:
        value: Any result or plain value.

    Returns:
        A value `json.dumps` accepts with `allow_nan=False`.

    Example:
        >>> import numpy as np
        >>> from lamina.workflow.report import to_jsonable
        >>> from lamina.workflow.uncertainty import wilson_interval
        >>> to_jsonable({"n": np.int64(3), "x": float("nan")})
        {'n': 3, 'x': None}
        >>> sorted(to_jsonable(wilson_interval(3, 30)))
        ['confidence', 'estimate', 'high', 'low', 'method', 'n']
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # torch tensor
        return to_jsonable(value.detach().cpu().tolist())
    if isinstance(value, Path):
        return str(value)
    if callable(getattr(value, "to_dict", None)):
        return to_jsonable(value.to_dict())
    if type(value).__name__ == "LeakageReport":
        return {
            "ok": bool(value.ok),
            "pairs": {
                f"{a}/{b}": to_jsonable(dataclasses.asdict(p)) for (a, b), p in value.pairs.items()
            },
            "text": str(value),
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {
            str(k) if not isinstance(k, tuple) else "/".join(map(str, k)): to_jsonable(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    return str(value)
