"""`HyperParameters`: a KerasTuner-style `hp` object mapped onto an Optuna trial.

Search spaces are define-by-run: `build_model(hp)` asks for each value where it
needs it, and a conditional parameter is a plain ``if``::

    def build_model(hp):
        units = hp.Int("units", 16, 128, log=True)
        if hp.Boolean("dropout"):
            rate = hp.Float("rate", 0.1, 0.5)     # only sampled when "dropout" is True
        ...

With an Optuna trial each call becomes ``trial.suggest_int`` / ``suggest_float`` /
``suggest_categorical``. Without one, every parameter takes its value from
``values`` (e.g. a study's best parameters, to rebuild the best model) or its
default. Optuna is imported only when a trial is passed.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["HyperParameters"]

_KINDS = ("int", "float", "choice", "boolean", "fixed")
_CHOICE_TYPES = (type(None), bool, int, float, str)
_OWNER = "HyperParameters"


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _describe(spec: dict[str, Any]) -> str:
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


class HyperParameters:
    """KerasTuner-style hyper-parameters mapped onto an Optuna trial (define-by-run).

    Each method declares a parameter and returns its value for this trial: sampled
    by the trial, taken from ``values``, or the parameter's default. Declaring the
    same name again with the same definition returns the same value; with a
    different type or range it is an error.

    Defaults (as in KerasTuner): `Int`/`Float` -> ``low``, `Choice` -> its first
    value, `Boolean` -> ``False``, unless ``default=`` is given.

    Args:
        trial: An Optuna `Trial`, `FrozenTrial` or `FixedTrial` that samples the
            values, or `None`. Defaults to `None`.
        values: Fixed values, ``name -> value`` (e.g. ``study.best_params``, to
            rebuild the best model). They take precedence over the trial; a
            parameter absent from both takes its default. Defaults to `None`.

    Raises:
        TypeError: If ``trial`` has no ``suggest_*`` methods or ``values`` is not a
            dict with string keys.

    Example:
        >>> hp = HyperParameters(values={"units": 64})
        >>> hp.Int("units", 16, 128, log=True), hp.Float("dropout", 0.0, 0.5)
        (64, 0.0)
        >>> hp.values
        {'units': 64, 'dropout': 0.0}
    """

    def __init__(self, trial: Any = None, values: dict[str, Any] | None = None):
        if trial is not None and not all(
            callable(getattr(trial, m, None))
            for m in ("suggest_int", "suggest_float", "suggest_categorical")
        ):
            raise TypeError(
                f"`{_OWNER}` expects `trial` to be an Optuna Trial, FrozenTrial or FixedTrial, or "
                f"None. Received: trial of type {type(trial).__name__}. Pass the trial your "
                "objective receives, or values={...} to fix the parameters."
            )
        if values is not None and (
            not isinstance(values, dict) or not all(isinstance(k, str) for k in values)
        ):
            raise TypeError(
                f"`{_OWNER}` expects `values` to be a dict of parameter name -> value, or None. "
                f"Received: values={values!r}. Pass e.g. values=study.best_params."
            )
        self.trial = trial
        self._fixed = dict(values or {})
        self._values: dict[str, Any] = {}
        self._space: dict[str, dict[str, Any]] = {}

    @property
    def values(self) -> dict[str, Any]:
        """Every parameter declared so far, ``name -> value`` (a copy)."""
        return dict(self._values)

    @property
    def space(self) -> dict[str, dict[str, Any]]:
        """Every parameter declared so far, ``name -> definition`` (a copy).

        A definition holds ``"type"`` (``"int"``, ``"float"``, ``"choice"``,
        ``"boolean"`` or ``"fixed"``), ``"low"``, ``"high"``, ``"step"``, ``"log"``,
        ``"values"`` and ``"default"`` (``None`` where they do not apply).
        """
        return {
            k: dict(v, values=None if v["values"] is None else list(v["values"]))
            for k, v in self._space.items()
        }

    # ------------------------------------------------------------------ public API

    def Int(
        self,
        name: str,
        low: int | None = None,
        high: int | None = None,
        step: int | None = None,
        log: bool = False,
        default: int | None = None,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
        sampling: str | None = None,
    ) -> int:
        """Declares an integer parameter in ``[low, high]`` (both included) and returns its value.

        Args:
            name: The parameter's name, a non-empty string.
            low: The smallest value (KerasTuner alias: ``min_value``).
            high: The largest value (KerasTuner alias: ``max_value``).
            step: The spacing of the values (``low, low + step, ...``). Defaults to
                `None` (1). Only 1 is allowed with ``log=True``.
            log: Sample on a log scale (needs ``low >= 1``). Defaults to `False`.
                ``sampling="log"`` is the KerasTuner spelling.
            default: The value without a trial. Defaults to `None` (``low``).

        Returns:
            The value, an `int`.

        Raises:
            TypeError: If a bound or the step is not an integer.
            ValueError: If ``low > high``, ``log`` with ``low <= 0``, ``step <= 0``,
                ``step > 1`` with ``log``, a default out of range, or a name declared
                before with another definition.
        """
        self._check_name(name)
        low, high, log = self._aliases(name, low, high, log, min_value, max_value, sampling)
        spec = self._numeric_spec(name, "int", low, high, step, log, default)
        return self._declare(name, spec)

    def Float(
        self,
        name: str,
        low: float | None = None,
        high: float | None = None,
        step: float | None = None,
        log: bool = False,
        default: float | None = None,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        sampling: str | None = None,
    ) -> float:
        """Declares a real parameter in ``[low, high]`` and returns its value.

        Args:
            name: The parameter's name, a non-empty string.
            low: The smallest value (KerasTuner alias: ``min_value``).
            high: The largest value (KerasTuner alias: ``max_value``).
            step: Discretise to ``low, low + step, ...``. Defaults to `None`
                (continuous). Not allowed with ``log=True``.
            log: Sample on a log scale (needs ``low > 0``). Defaults to `False`.
                ``sampling="log"`` is the KerasTuner spelling.
            default: The value without a trial. Defaults to `None` (``low``).

        Returns:
            The value, a `float`.

        Raises:
            TypeError: If a bound or the step is not a number.
            ValueError: As for `Int`.
        """
        self._check_name(name)
        low, high, log = self._aliases(name, low, high, log, min_value, max_value, sampling)
        spec = self._numeric_spec(name, "float", low, high, step, log, default)
        return self._declare(name, spec)

    def Choice(self, name: str, values: list[Any], default: Any = None) -> Any:
        """Declares a categorical parameter and returns one of ``values``.

        Args:
            name: The parameter's name, a non-empty string.
            values: A non-empty list (or tuple) of distinct `None`, `bool`, `int`,
                `float` or `str` values. To choose between objects (layers,
                optimizers), pass their names and map them in ``build_model``.
            default: The value without a trial, one of ``values``. Defaults to
                `None` (the first value).

        Returns:
            One of ``values``.

        Raises:
            TypeError: If ``values`` is not a list or tuple, or holds another type.
            ValueError: If ``values`` is empty or repeats a value, or ``default`` is
                not one of them.
        """
        self._check_name(name)
        choices = self._check_choices(name, values)
        if default is None:
            default = choices[0]
        elif not _in(default, choices):
            raise ValueError(
                f"`{_OWNER}.Choice` expects `default` to be one of `values` for parameter "
                f"{name!r}. Received: default={default!r}, values={choices!r}."
            )
        spec = _spec("choice", values=choices, default=default)
        return self._declare(name, spec)

    def Boolean(self, name: str, default: bool = False) -> bool:
        """Declares a `True`/`False` parameter and returns its value.

        Args:
            name: The parameter's name, a non-empty string.
            default: The value without a trial. Defaults to `False`.

        Returns:
            A `bool`.
        """
        self._check_name(name)
        if not isinstance(default, bool):
            raise TypeError(
                f"`{_OWNER}.Boolean` expects `default` to be True or False for parameter "
                f"{name!r}. Received: default={default!r}."
            )
        spec = _spec("boolean", values=[False, True], default=default)
        return self._declare(name, spec)

    def Fixed(self, name: str, value: Any) -> Any:
        """Declares a parameter with one value (recorded in `space`, never sampled).

        Args:
            name: The parameter's name, a non-empty string.
            value: A `None`, `bool`, `int`, `float` or `str` value.

        Returns:
            ``value``.
        """
        self._check_name(name)
        if not isinstance(value, _CHOICE_TYPES):
            raise TypeError(
                f"`{_OWNER}.Fixed` expects `value` to be None, a bool, int, float or str for "
                f"parameter {name!r}. Received: value of type {type(value).__name__}. Pass a "
                "name and map it to the object in build_model."
            )
        return self._declare(name, _spec("fixed", values=[value], default=value))

    def param(self, name: str, kind: str, **kwargs: Any) -> Any:
        """Declares a parameter whose type is given by name.

        Args:
            name: The parameter's name.
            kind: One of ``"int"``, ``"float"``, ``"choice"``, ``"boolean"``, ``"fixed"``.
            **kwargs: The arguments of the matching method (`Int`, `Float`, ...).

        Returns:
            The parameter's value.

        Raises:
            ValueError: If ``kind`` is not one of the valid kinds.
        """
        if kind not in _KINDS:
            raise ValueError(
                f"`{_OWNER}.param` expects `kind` to be one of {', '.join(map(repr, _KINDS))} "
                f"for parameter {name!r}. Received: kind={kind!r}."
            )
        method = {
            "int": self.Int,
            "float": self.Float,
            "choice": self.Choice,
            "boolean": self.Boolean,
            "fixed": self.Fixed,
        }[kind]
        return method(name, **kwargs)

    def __repr__(self) -> str:
        return f"HyperParameters({self._values!r})"

    # ------------------------------------------------------------------ internals

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name:
            error = TypeError if not isinstance(name, str) else ValueError
            raise error(
                f"`{_OWNER}` expects a parameter name to be a non-empty string. "
                f"Received: name={name!r}. Pass e.g. hp.Int('units', 16, 128)."
            )

    def _aliases(
        self,
        name: str,
        low: Any,
        high: Any,
        log: Any,
        min_value: Any,
        max_value: Any,
        sampling: Any,
    ) -> tuple[Any, Any, bool]:
        for own, alias, alias_name in (
            (low, min_value, "min_value"),
            (high, max_value, "max_value"),
        ):
            if own is not None and alias is not None:
                raise ValueError(
                    f"`{_OWNER}` received both a bound and its KerasTuner alias `{alias_name}` for "
                    f"parameter {name!r}. Received: {own!r} and {alias_name}={alias!r}. Pass one."
                )
        low = min_value if low is None else low
        high = max_value if high is None else high
        if low is None or high is None:
            raise ValueError(
                f"`{_OWNER}` expects `low` and `high` for parameter {name!r}. "
                f"Received: low={low!r}, high={high!r}. Pass e.g. hp.Int({name!r}, 16, 128)."
            )
        if sampling is not None:
            if sampling not in ("linear", "log"):
                raise ValueError(
                    f"`{_OWNER}` expects `sampling` to be 'linear' or 'log' for parameter "
                    f"{name!r}. Received: sampling={sampling!r}. Pass log=True for a log scale."
                )
            if log and sampling == "linear":
                raise ValueError(
                    f"`{_OWNER}` received log=True and sampling='linear' for parameter {name!r}. "
                    "Pass one of them."
                )
            log = sampling == "log"
        if not isinstance(log, bool):
            raise TypeError(
                f"`{_OWNER}` expects `log` to be True or False for parameter {name!r}. "
                f"Received: log={log!r}."
            )
        return low, high, log

    def _numeric_spec(
        self, name: str, kind: str, low: Any, high: Any, step: Any, log: bool, default: Any
    ) -> dict[str, Any]:
        method = "Int" if kind == "int" else "Float"
        ok = _is_int if kind == "int" else _is_real
        what = "an integer" if kind == "int" else "a number"
        for arg, value in (("low", low), ("high", high), ("step", step), ("default", default)):
            if value is None and arg in ("step", "default"):
                continue
            if not ok(value):
                raise TypeError(
                    f"`{_OWNER}.{method}` expects `{arg}` to be {what} for parameter {name!r}. "
                    f"Received: {arg}={value!r}."
                    + (
                        " Use hp.Float for real values."
                        if kind == "int" and _is_real(value)
                        else ""
                    )
                )
            if not math.isfinite(value):
                raise ValueError(
                    f"`{_OWNER}.{method}` expects `{arg}` to be finite for parameter {name!r}. "
                    f"Received: {arg}={value!r}."
                )
        cast = int if kind == "int" else float
        low, high = cast(low), cast(high)
        if low > high:
            raise ValueError(
                f"`{_OWNER}.{method}` expects low <= high for parameter {name!r}. "
                f"Received: low={low!r}, high={high!r}. Swap them."
            )
        if log and low <= 0:
            raise ValueError(
                f"`{_OWNER}.{method}` expects low > 0 with log=True for parameter {name!r}. "
                f"Received: low={low!r}. Pass a positive low or log=False."
            )
        if step is not None:
            step = cast(step)
            if step <= 0:
                raise ValueError(
                    f"`{_OWNER}.{method}` expects `step` > 0 for parameter {name!r}. "
                    f"Received: step={step!r}."
                )
            if log and not (kind == "int" and step == 1):
                raise ValueError(
                    f"`{_OWNER}.{method}` cannot combine `step` with log=True for parameter "
                    f"{name!r}. Received: step={step!r}, log=True. Pass one of them."
                )
        if default is None:
            default = low
        default = cast(default)
        if not low <= default <= high:
            raise ValueError(
                f"`{_OWNER}.{method}` expects `default` within [low, high] for parameter "
                f"{name!r}. Received: default={default!r}, low={low!r}, high={high!r}."
            )
        return _spec(kind, low=low, high=high, step=step, log=log, default=default)

    def _check_choices(self, name: str, values: Any) -> list[Any]:
        if not isinstance(values, (list, tuple)):
            raise TypeError(
                f"`{_OWNER}.Choice` expects `values` to be a list for parameter {name!r}. "
                f"Received: values={values!r}. Pass e.g. hp.Choice({name!r}, ['relu', 'tanh'])."
            )
        if not values:
            raise ValueError(
                f"`{_OWNER}.Choice` expects at least one value for parameter {name!r}. "
                f"Received: values={list(values)!r}."
            )
        for v in values:
            if not isinstance(v, _CHOICE_TYPES):
                raise TypeError(
                    f"`{_OWNER}.Choice` expects values of type None, bool, int, float or str for "
                    f"parameter {name!r}. Received: a value of type {type(v).__name__} "
                    f"({v!r:.60}). Pass names and map them in build_model, e.g. "
                    "{'relu': ..., 'tanh': ...}[hp.Choice(...)]."
                )
        keys = [(type(v), v) for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError(
                f"`{_OWNER}.Choice` expects distinct values for parameter {name!r}. "
                f"Received: values={list(values)!r}."
            )
        return list(values)

    def _declare(self, name: str, spec: dict[str, Any]) -> Any:
        known = self._space.get(name)
        if known is not None:
            if known != spec:
                raise ValueError(
                    f"`{_OWNER}`: parameter {name!r} was declared as {_describe(known)} and is "
                    f"declared again as {_describe(spec)}. Give each parameter one definition, "
                    "or use another name."
                )
            return self._values[name]
        if spec["type"] == "fixed":
            value = spec["default"]
        elif name in self._fixed:
            value = self._given(name, spec, self._fixed[name])
        elif self.trial is not None:
            value = self._suggest(name, spec)
        else:
            value = spec["default"]
        self._space[name] = spec
        self._values[name] = value
        return value

    def _given(self, name: str, spec: dict[str, Any], value: Any) -> Any:
        """Checks a value from ``values`` against the parameter's definition."""
        kind = spec["type"]
        if kind in ("int", "float"):
            ok = _is_real(value) and (kind == "float" or float(value).is_integer())
            if ok and spec["low"] <= value <= spec["high"]:
                return int(value) if kind == "int" else float(value)
        elif _in(value, spec["values"]):
            return value
        raise ValueError(
            f"`{_OWNER}` received values[{name!r}]={value!r}, which is not in the parameter's "
            f"range {_describe(spec)}. Pass a value in the range, or leave {name!r} out of "
            "`values` to use its default."
        )

    def _suggest(self, name: str, spec: dict[str, Any]) -> Any:
        trial, kind = self.trial, spec["type"]
        try:
            if kind == "int":
                return trial.suggest_int(
                    name, spec["low"], spec["high"], step=spec["step"] or 1, log=spec["log"]
                )
            if kind == "float":
                return trial.suggest_float(
                    name, spec["low"], spec["high"], step=spec["step"], log=spec["log"]
                )
            return trial.suggest_categorical(name, list(spec["values"]))
        except ValueError as e:
            raise ValueError(
                f"`{_OWNER}` could not sample parameter {name!r} as {_describe(spec)} from the "
                f"Optuna trial: {e} This happens when the study already holds {name!r} with "
                "another type or range (or a FixedTrial/FrozenTrial lacks it): use a new "
                "study_name or another parameter name."
            ) from e


def _in(value: Any, choices: list[Any]) -> bool:
    """Membership that tells True from 1 and 1 from 1.0."""
    return any(type(value) is type(c) and value == c for c in choices)


def _spec(
    kind: str,
    *,
    low: Any = None,
    high: Any = None,
    step: Any = None,
    log: bool = False,
    values: list[Any] | None = None,
    default: Any = None,
) -> dict[str, Any]:
    return {
        "type": kind,
        "low": low,
        "high": high,
        "step": step,
        "log": log,
        "values": values,
        "default": default,
    }
