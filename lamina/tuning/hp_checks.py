"""Checks of `HyperParameters` definitions (the Int/Float range, a Choice's values, the
KerasTuner spellings) and the house error for a bad one."""

from __future__ import annotations

import math
import numbers
from typing import Any

CHOICE_TYPES = (type(None), bool, int, float, str)
_OWNER = "HyperParameters"


def is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def describe(spec: dict[str, Any]) -> str:
    kind = spec["type"]
    if kind in ("int", "float"):
        extra = "".join(
            f", {k}={spec[k]!r}" for k in ("step", "log") if spec[k] not in (None, False)
        )
        return f"{kind}({spec['low']!r}..{spec['high']!r}{extra})"
    if kind == "choice":
        return f"choice({spec['values']!r})"
    if kind == "fixed":
        return f"fixed({spec['default']!r})"
    return "boolean"


def fail(
    method: str, name: str, expected: str, received: str, fix: str = "", error: type = ValueError
) -> Exception:
    """The house error: what ``method`` expected for parameter ``name``, what it got, the fix."""
    owner = f"{_OWNER}.{method}" if method else _OWNER
    return error(
        f"`{owner}` expects {expected} for parameter {name!r}. Received: {received}."
        + (f" {fix}" if fix else "")
    )


def aliases(
    name: str, low: Any, high: Any, log: Any, min_value: Any, max_value: Any, sampling: Any
) -> tuple[Any, Any, bool]:
    """Resolves the KerasTuner spellings (``min_value``, ``max_value``, ``sampling``)."""
    for arg, own, alias, alias_name in (
        ("low", low, min_value, "min_value"),
        ("high", high, max_value, "max_value"),
    ):
        if own is not None and alias is not None:
            raise fail(
                "",
                name,
                f"either `{arg}` or its KerasTuner alias `{alias_name}`",
                f"{arg}={own!r} and {alias_name}={alias!r}",
                "Pass one.",
            )
    low = min_value if low is None else low
    high = max_value if high is None else high
    if low is None or high is None:
        raise fail(
            "",
            name,
            "`low` and `high`",
            f"low={low!r}, high={high!r}",
            f"Pass e.g. hp.Int({name!r}, 16, 128).",
        )
    if sampling is not None:
        if sampling not in ("linear", "log") or (log and sampling == "linear"):
            raise fail(
                "",
                name,
                "`sampling` to be 'linear' or 'log' (agreeing with `log`)",
                f"sampling={sampling!r}, log={log!r}",
                "Pass log=True for a log scale.",
            )
        log = sampling == "log"
    if not isinstance(log, bool):
        raise fail("", name, "`log` to be True or False", f"log={log!r}", error=TypeError)
    return low, high, log


def numeric_spec(
    name: str, kind: str, low: Any, high: Any, step: Any, log: bool, default: Any
) -> dict[str, Any]:
    """Checks an Int/Float definition; returns its `space` entry."""
    method, ok = ("Int", is_int) if kind == "int" else ("Float", is_real)
    for arg, value in (("low", low), ("high", high), ("step", step), ("default", default)):
        if value is None and arg in ("step", "default"):
            continue
        if not ok(value):
            hint = "Use hp.Float for real values." if kind == "int" and is_real(value) else ""
            what = "an integer" if kind == "int" else "a number"
            raise fail(method, name, f"`{arg}` to be {what}", f"{arg}={value!r}", hint, TypeError)
        if not math.isfinite(value):
            raise fail(method, name, f"`{arg}` to be finite", f"{arg}={value!r}")
    cast = int if kind == "int" else float
    low, high = cast(low), cast(high)
    if low > high:
        raise fail(method, name, "low <= high", f"low={low!r}, high={high!r}", "Swap them.")
    if log and low <= 0:
        raise fail(
            method,
            name,
            "low > 0 with log=True",
            f"low={low!r}",
            "Pass a positive low or log=False.",
        )
    if step is not None:
        step = cast(step)
        if step <= 0:
            raise fail(method, name, "`step` > 0", f"step={step!r}")
        if log and not (kind == "int" and step == 1):
            raise fail(
                method,
                name,
                "no `step` with log=True",
                f"step={step!r}, log=True",
                "A step and a log scale cannot be combined: pass one of them.",
            )
    default = low if default is None else cast(default)
    if not low <= default <= high:
        raise fail(
            method,
            name,
            "`default` within [low, high]",
            f"default={default!r}, low={low!r}, high={high!r}",
        )
    return spec(kind, low=low, high=high, step=step, log=log, default=default)


def check_choices(name: str, values: Any) -> list[Any]:
    """Checks a Choice's values; returns them as a list."""
    if not isinstance(values, (list, tuple)):
        fix = f"Pass e.g. hp.Choice({name!r}, ['relu', 'tanh'])."
        raise fail("Choice", name, "`values` to be a list", f"values={values!r}", fix, TypeError)
    if not values:
        raise fail("Choice", name, "at least one value", f"values={list(values)!r}")
    for v in values:
        if not isinstance(v, CHOICE_TYPES):
            expected = "values of type None, bool, int, float or str"
            received = f"a value of type {type(v).__name__} ({v!r:.60})"
            fix = "Pass names and map them in build_model, e.g. {'relu': ..., 'tanh': ...}[name]."
            raise fail("Choice", name, expected, received, fix, TypeError)
    if len({(type(v), v) for v in values}) != len(values):
        raise fail("Choice", name, "distinct values", f"values={list(values)!r}")
    return list(values)


def is_member(value: Any, choices: list[Any]) -> bool:
    """Membership that tells True from 1 and 1 from 1.0."""
    return any(type(value) is type(c) and value == c for c in choices)


def spec(
    kind: str,
    *,
    low: Any = None,
    high: Any = None,
    step: Any = None,
    log: bool = False,
    values: list[Any] | None = None,
    default: Any = None,
) -> dict[str, Any]:
    return dict(type=kind, low=low, high=high, step=step, log=log, values=values, default=default)
