"""One template for argument errors, so every class words them the same way.

Each check raises a ``ValueError`` (or ``TypeError``) of the house form::

    `Dense` expects `units` to be a positive integer. Received: units=-3.

optionally followed by a sentence that says how to fix it.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable
from typing import Any

import numpy as np


def _message(owner: str, name: str, expected: str, value: Any, fix: str | None) -> str:
    msg = f"`{owner}` expects `{name}` to be {expected}. Received: {name}={value!r}."
    if fix:
        msg += f" {fix}"
    return msg


def _as_int(value: Any) -> int | None:
    """The value as a plain int when it is integer-like (an int, a NumPy integer,
    a 0-d integer array or tensor), else None. Booleans are not integers here."""
    if isinstance(value, (bool, np.bool_)):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _int_fix(name: str, value: Any) -> str | None:
    """How to fix a float that holds a whole number (``epochs=3.0``)."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and _as_int(value) is None:
        if math.isfinite(value) and float(value) == int(value) and value > 0:
            return f"Pass an integer, e.g. `{name}=int({value!r})`."
    return None


def positive_int(owner: str, name: str, value: Any, *, allow_none: bool = False) -> Any:
    """Checks that ``value`` is an integer > 0 (or None when allowed); returns it as a plain int.

    NumPy integers and 0-d integer arrays are accepted; booleans and floats are not.
    """
    if value is None and allow_none:
        return value
    as_int = _as_int(value)
    if as_int is None or as_int <= 0:
        raise ValueError(_message(owner, name, "a positive integer", value, _int_fix(name, value)))
    return as_int


def non_negative_int(owner: str, name: str, value: Any) -> Any:
    """Checks that ``value`` is an integer >= 0; returns it as a plain int (see `positive_int`)."""
    as_int = _as_int(value)
    if as_int is None or as_int < 0:
        raise ValueError(_message(owner, name, "an integer >= 0", value, _int_fix(name, value)))
    return as_int


def number(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allow_none: bool = False,
    finite: bool = False,
) -> Any:
    """Checks that ``value`` is a real number inside the given bounds.

    NaN is always refused; ``finite=True`` refuses infinities too.
    """
    if value is None and allow_none:
        return value
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if ok and math.isnan(value):
        raise ValueError(_message(owner, name, "a number (not NaN)", value, "Check how the value was computed."))
    if ok and finite and math.isinf(value):
        raise ValueError(_message(owner, name, "a finite number", value, None))
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        lo = "" if low is None else ("[" if low_inclusive else "(") + f"{low}"
        hi = "" if high is None else f"{high}" + ("]" if high_inclusive else ")")
        if low is not None and high is not None:
            expected = f"a number in {lo}, {hi}"
        elif low is not None:
            expected = f"a number {'>=' if low_inclusive else '>'} {low}"
        elif high is not None:
            expected = f"a number {'<=' if high_inclusive else '<'} {high}"
        else:
            expected = "a number"
        raise ValueError(_message(owner, name, expected, value, None))
    return value


def one_of(owner: str, name: str, value: Any, options: Iterable[Any]) -> Any:
    """Checks that ``value`` is one of ``options``."""
    options = list(options)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise ValueError(_message(owner, name, f"one of {listed}", value, None))
    return value


def boolean(owner: str, name: str, value: Any) -> Any:
    """Checks that ``value`` is True or False (a NumPy bool too); returns a plain bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(_message(owner, name, "True or False", value, None))
    return bool(value)


def int_tuple(owner: str, name: str, value: Any, n: int) -> tuple[int, ...]:
    """Accepts an int or a sequence of ``n`` positive ints; returns a tuple.

    The caller stores the argument verbatim and uses the returned tuple only
    for computation (constructors do not transform their arguments).
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0:
        return (int(value),) * n
    if (
        isinstance(value, (tuple, list))
        and len(value) == n
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        return tuple(int(v) for v in value)
    raise ValueError(
        _message(owner, name, f"a positive integer or a tuple of {n} positive integers", value, None)
    )


def no_unknown_kwargs(owner: str, kwargs: dict[str, Any], allowed: Iterable[str] = ()) -> None:
    """Rejects keyword arguments the class does not know, loudly."""
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"`{owner}` got unexpected keyword argument(s): {', '.join(unknown)}. "
            f"Received: {', '.join(f'{k}={kwargs[k]!r}' for k in unknown)}. "
            "Check the spelling against the documented arguments."
        )


def lookup(kind: str, identifier: str, table: dict[str, Any]) -> Any:
    """Resolves a string name through a family registry (case-insensitive).

    Raises a ``ValueError`` that lists every valid name when it is unknown.
    """
    key = identifier.lower() if isinstance(identifier, str) else identifier
    if key in table:
        return table[key]
    valid = ", ".join(sorted(table))
    raise ValueError(
        f"Unknown {kind} name: {identifier!r}. Valid names are: {valid}. "
        f"Received: {kind}={identifier!r}."
    )
