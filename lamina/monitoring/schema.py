"""Checked reading of a reference profile's JSON (it may come from a hostile file).

Every accessor names the offending path (``features[3].quantiles``), says what
was expected and what was received, and raises `ValueError` — never a
`KeyError` or `TypeError` from deep inside.
"""

from __future__ import annotations

import math
from typing import Any

MAX_LIST = 2_000
MAX_STRING = 500


class ProfileReader:
    """Reads typed fields out of the dicts of a decoded profile."""

    def __init__(self, source: str = "the reference profile") -> None:
        self.source = source

    def fail(self, path: str, expected: str, value: Any) -> ValueError:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return ValueError(
            f"{self.source} is not valid: `{path}` must be {expected}. Received: {shown}. "
            "Save the model again (`model.save(path)`) to rewrite its profile."
        )

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "an object", type(value).__name__)
        return value

    def field(self, d: dict[str, Any], key: str, path: str) -> Any:
        if key not in d:
            raise self.fail(f"{path}.{key}" if path else key, "present", "nothing")
        return d[key]

    def string(self, d: dict[str, Any], key: str, path: str, choices: tuple[str, ...] | None = None,
               optional: bool = False) -> str | None:
        value = d.get(key) if optional else self.field(d, key, path)
        where = f"{path}.{key}" if path else key
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > MAX_STRING:
            raise self.fail(where, f"a string of at most {MAX_STRING} characters", value)
        if choices is not None and value not in choices:
            raise self.fail(where, f"one of {list(choices)}", value)
        return value

    def integer(self, d: dict[str, Any], key: str, path: str, low: int = 0, optional: bool = False) -> int | None:
        value = d.get(key) if optional else self.field(d, key, path)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(f"{path}.{key}" if path else key, f"an integer >= {low}", value)
        return value

    def number(self, d: dict[str, Any], key: str, path: str, optional: bool = False) -> float | None:
        value = d.get(key) if optional else self.field(d, key, path)
        if value is None and optional:
            return None
        if not _finite(value):
            raise self.fail(f"{path}.{key}" if path else key, "a finite number", value)
        return float(value)

    def list_of(self, d: dict[str, Any], key: str, path: str, max_len: int = MAX_LIST) -> list[Any]:
        value = self.field(d, key, path)
        where = f"{path}.{key}" if path else key
        if not isinstance(value, list):
            raise self.fail(where, "a list", type(value).__name__)
        if len(value) > max_len:
            raise self.fail(where, f"a list of at most {max_len} entries", f"{len(value)} entries")
        return value

    def numbers(self, d: dict[str, Any], key: str, path: str, max_len: int = MAX_LIST,
                sorted_: bool = False) -> list[float]:
        values = self.list_of(d, key, path, max_len)
        where = f"{path}.{key}" if path else key
        for i, v in enumerate(values):
            if not _finite(v):
                raise self.fail(f"{where}[{i}]", "a finite number", v)
        out = [float(v) for v in values]
        if sorted_ and any(b < a for a, b in zip(out, out[1:])):
            raise self.fail(where, "non-decreasing", "a list that decreases")
        return out

    def counts(self, d: dict[str, Any], key: str, path: str, max_len: int = MAX_LIST) -> list[int]:
        values = self.list_of(d, key, path, max_len)
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise self.fail(f"{path}.{key}[{i}]", "an integer count >= 0", v)
        return list(values)

    def labels(self, d: dict[str, Any], key: str, path: str, max_len: int = MAX_LIST) -> list[Any]:
        values = self.list_of(d, key, path, max_len)
        for i, v in enumerate(values):
            ok = (isinstance(v, str) and len(v) <= MAX_STRING) or (_finite(v) and not isinstance(v, bool))
            if not ok:
                raise self.fail(f"{path}.{key}[{i}]", "a string or a finite number", v)
        return list(values)

    def scores(self, value: Any, path: str) -> dict[str, float]:
        d = self.mapping(value, path)
        if len(d) > 200:
            raise self.fail(path, "at most 200 scores", f"{len(d)} entries")
        for k, v in d.items():
            if len(k) > MAX_STRING or not _finite(v):
                raise self.fail(f"{path}.{k}", "a finite number", v)
        return {k: float(v) for k, v in d.items()}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
