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
default. This module never imports Optuna: it only calls the trial's methods.
"""

from __future__ import annotations

from typing import Any

from lamina.tuning import hp_checks as checks

__all__ = ["HyperParameters"]

_KINDS = ("int", "float", "choice", "boolean", "fixed")
_OWNER = "HyperParameters"


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
        low, high, log = checks.aliases(name, low, high, log, min_value, max_value, sampling)
        spec = checks.numeric_spec(name, "int", low, high, step, log, default)
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
        """Declares a real parameter in ``[low, high]`` and returns its value, a `float`.

        The arguments are those of `Int`, with real values: ``step`` discretises
        to ``low, low + step, ...`` (default: continuous; not allowed with
        ``log=True``), and ``log=True`` needs ``low > 0``.
        """
        self._check_name(name)
        low, high, log = checks.aliases(name, low, high, log, min_value, max_value, sampling)
        spec = checks.numeric_spec(name, "float", low, high, step, log, default)
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
        choices = checks.check_choices(name, values)
        if default is None:
            default = choices[0]
        elif not checks.is_member(default, choices):
            raise checks.fail(
                "Choice", name, "`default` to be one of `values`", f"default={default!r}"
            )
        spec = checks.spec("choice", values=choices, default=default)
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
            raise checks.fail(
                "Boolean", name, "True or False", f"default={default!r}", error=TypeError
            )
        spec = checks.spec("boolean", values=[False, True], default=default)
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
        if not isinstance(value, checks.CHOICE_TYPES):
            raise TypeError(
                f"`{_OWNER}.Fixed` expects `value` to be None, a bool, int, float or str for "
                f"parameter {name!r}. Received: value of type {type(value).__name__}. Pass a "
                "name and map it to the object in build_model."
            )
        return self._declare(name, checks.spec("fixed", values=[value], default=value))

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
            kinds = ", ".join(map(repr, _KINDS))
            raise checks.fail("param", name, f"`kind` to be one of {kinds}", f"kind={kind!r}")
        return getattr(self, kind.capitalize())(name, **kwargs)

    def __repr__(self) -> str:
        return f"HyperParameters({self._values!r})"

    # ------------------------------------------------------------------ internals

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not name:
            raise (ValueError if isinstance(name, str) else TypeError)(
                f"`{_OWNER}` expects a parameter name to be a non-empty string. "
                f"Received: name={name!r}. Pass e.g. hp.Int('units', 16, 128)."
            )

    def _declare(self, name: str, spec: dict[str, Any]) -> Any:
        known = self._space.get(name)
        if known is not None:
            if known != spec:
                raise ValueError(
                    f"`{_OWNER}`: parameter {name!r} was declared as {checks.describe(known)} and is "
                    f"declared again as {checks.describe(spec)}. Give each parameter one definition, "
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
            ok = checks.is_real(value) and (kind == "float" or float(value).is_integer())
            if ok and spec["low"] <= value <= spec["high"]:
                return int(value) if kind == "int" else float(value)
        elif checks.is_member(value, spec["values"]):
            return value
        raise ValueError(
            f"`{_OWNER}` received values[{name!r}]={value!r}, which is not in the parameter's "
            f"range {checks.describe(spec)}. Pass a value in the range, or leave {name!r} out of "
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
                f"`{_OWNER}` could not sample parameter {name!r} as {checks.describe(spec)} from the "
                f"Optuna trial: {e} This happens when the study already holds {name!r} with "
                "another type or range (or a FixedTrial/FrozenTrial lacks it): use a new "
                "study_name or another parameter name."
            ) from e
