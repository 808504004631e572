"""Learning-rate schedules, with the Keras names and formulas.

A schedule maps the optimizer's step counter (a Python ``int``) to a learning
rate (a Python ``float``). The optimizer calls it before every step, so a
schedule is plain Python arithmetic: no tensors, no device work.

Example:

>>> from lamina.schedules import ExponentialDecay
>>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> schedule(0), schedule(10)
(0.1, 0.05)
"""

from __future__ import annotations

import bisect
import math
import numbers
from typing import Any

from lamina.utils import serialization, validation

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "PiecewiseConstantDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
]


class LearningRateSchedule:
    """Base class of learning-rate schedules.

    Subclasses implement ``__call__(step) -> float`` and ``get_config()``;
    ``from_config(config)`` rebuilds an equal schedule.
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(
            f"`{type(self).__name__}` must implement `__call__(step) -> float`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"`{type(self).__name__}` must implement `get_config()` to be saved."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Rebuilds a schedule from the output of ``get_config()``."""
        from lamina.layers.layer import check_config_arguments

        return cls(**check_config_arguments(cls, config, f"`{cls.__name__}` schedule config"))

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


def _lr(owner: str, name: str, value: Any) -> Any:
    return validation.number(owner, name, value, low=0.0)


class ExponentialDecay(LearningRateSchedule):
    """Decays the rate exponentially: ``lr * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps over which the rate is multiplied by ``decay_rate``.
        decay_rate: The decay factor.
        staircase: If True, ``step / decay_steps`` is floored, so the rate
            drops in discrete intervals. Defaults to `False`.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
    ) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _lr(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = validation.number(
            owner, "decay_steps", decay_steps, low=0, low_inclusive=False
        )
        self.decay_rate = validation.number(owner, "decay_rate", decay_rate, low=0.0)
        self.staircase = validation.boolean(owner, "staircase", staircase)

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate * self.decay_rate**p)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class InverseTimeDecay(LearningRateSchedule):
    """Inverse time decay: ``lr / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: How often the decay is applied (the time unit).
        decay_rate: The decay factor.
        staircase: If True, ``step / decay_steps`` is floored. Defaults to `False`.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
    ) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _lr(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = validation.number(
            owner, "decay_steps", decay_steps, low=0, low_inclusive=False
        )
        self.decay_rate = validation.number(owner, "decay_rate", decay_rate, low=0.0)
        self.staircase = validation.boolean(owner, "staircase", staircase)

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate / (1.0 + self.decay_rate * p))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
        }


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate``.

    ``(initial - end) * (1 - step / decay_steps) ** power + end``, with ``step``
    capped at ``decay_steps``; with ``cycle=True`` ``decay_steps`` is instead
    stretched to the next multiple of itself above ``step``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps to reach ``end_learning_rate``.
        end_learning_rate: The final rate. Defaults to `0.0001`.
        power: The power of the polynomial. Defaults to `1.0` (linear).
        cycle: Whether to restart the decay after ``decay_steps``. Defaults to `False`.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
    ) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _lr(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = validation.number(
            owner, "decay_steps", decay_steps, low=0, low_inclusive=False
        )
        self.end_learning_rate = _lr(owner, "end_learning_rate", end_learning_rate)
        self.power = validation.number(owner, "power", power)
        self.cycle = validation.boolean(owner, "cycle", cycle)

    def __call__(self, step: int) -> float:
        step = float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            multiplier = 1.0 if step == 0 else math.ceil(step / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        delta = self.initial_learning_rate - self.end_learning_rate
        return float(delta * (1.0 - p) ** self.power + self.end_learning_rate)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval of steps.

    The rate is ``values[0]`` while ``step <= boundaries[0]``, ``values[i]``
    while ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]``
    after the last boundary.

    Args:
        boundaries: Increasing step numbers where the rate changes.
        values: The rates, one more than ``boundaries``.
    """

    def __init__(self, boundaries: list[int], values: list[float]) -> None:
        owner = type(self).__name__
        if not isinstance(boundaries, (list, tuple)) or not all(
            isinstance(b, numbers.Real) and not isinstance(b, bool) for b in boundaries
        ):
            raise ValueError(
                f"`{owner}` expects `boundaries` to be a list of step numbers. "
                f"Received: boundaries={boundaries!r}."
            )
        if list(boundaries) != sorted(boundaries):
            raise ValueError(
                f"`{owner}` expects `boundaries` to be increasing. Received: boundaries={boundaries!r}."
            )
        if not isinstance(values, (list, tuple)) or len(values) != len(boundaries) + 1:
            raise ValueError(
                f"`{owner}` expects `values` to have one more element than `boundaries` "
                f"({len(boundaries) + 1}). Received: values={values!r}."
            )
        for v in values:
            _lr(owner, "values", v)
        self.boundaries = boundaries
        self.values = values

    def __call__(self, step: int) -> float:
        return float(self.values[bisect.bisect_left(self.boundaries, step)])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class CosineDecay(LearningRateSchedule):
    """Cosine decay, with an optional linear warmup (Loshchilov & Hutter, 2017).

    Without warmup the rate is ``initial * ((1 - alpha) * c + alpha)`` with
    ``c = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))``. With
    ``warmup_target`` set, the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then
    decays from ``warmup_target`` over ``decay_steps``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps to decay over.
        alpha: The minimum rate as a fraction of the decayed-from rate.
            Defaults to `0.0`.
        warmup_target: The rate reached at the end of warmup, or None for no
            warmup. Defaults to `None`.
        warmup_steps: Number of warmup steps. Defaults to `0`.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = _lr(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = validation.number(
            owner, "decay_steps", decay_steps, low=0, low_inclusive=False
        )
        self.alpha = validation.number(owner, "alpha", alpha, low=0.0, high=1.0)
        self.warmup_target = validation.number(
            owner, "warmup_target", warmup_target, low=0.0, allow_none=True
        )
        self.warmup_steps = validation.number(owner, "warmup_steps", warmup_steps, low=0)

    def _decay(self, step: float, decay_from: float) -> float:
        fraction = step / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        step = float(step)
        if self.warmup_target is None:
            return float(self._decay(min(step, self.decay_steps), self.initial_learning_rate))
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(delta * step / self.warmup_steps + self.initial_learning_rate)
        return float(self._decay(step - self.warmup_steps, self.warmup_target))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts, SGDR (Loshchilov & Hutter, 2017), as in Keras.

    The first period lasts ``first_decay_steps``; each next one is ``t_mul``
    times longer and restarts from ``m_mul`` times the previous initial rate.
    Within a period, at fraction ``f`` of it, the rate is
    ``initial * m_mul ** i * ((1 - alpha) * 0.5 * (1 + cos(pi * f)) + alpha)``
    for the ``i``-th period.

    Args:
        initial_learning_rate: The rate at step 0, >= 0.
        first_decay_steps: Length of the first period, > 0.
        t_mul: Growth factor of the period lengths, > 0. Defaults to `2.0`.
        m_mul: Factor of each restart's initial rate, >= 0. Defaults to `1.0`.
        alpha: The minimum rate as a fraction of the period's initial rate.
            Defaults to `0.0`.
        name: Kept for Keras compatibility (saved in the config). Defaults to `"SGDRDecay"`.

    Example:

    >>> schedule = CosineDecayRestarts(0.1, first_decay_steps=10)
    >>> round(schedule(5), 6), round(schedule(10), 6)
    (0.05, 0.1)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        owner = "CosineDecayRestarts"
        self.initial_learning_rate = _lr(owner, "initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = validation.number(
            owner, "first_decay_steps", first_decay_steps, low=0, low_inclusive=False
        )
        self.t_mul = validation.number(owner, "t_mul", t_mul, low=0.0, low_inclusive=False)
        self.m_mul = validation.number(owner, "m_mul", m_mul, low=0.0)
        self.alpha = validation.number(owner, "alpha", alpha, low=0.0, high=1.0)
        if not isinstance(name, str):
            raise ValueError(f"`{owner}` expects `name` to be a string. Received: name={name!r}.")
        self.name = name

    def __call__(self, step: int) -> float:
        fraction = float(step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restarts = math.floor(fraction)
            fraction -= restarts
        else:
            t = self.t_mul
            restarts = math.floor(math.log(1.0 - fraction * (1.0 - t)) / math.log(t))
            # Keras' closed form; corrected where float rounding lands a step
            # exactly at a restart in the previous period.
            while (1.0 - t ** (restarts + 1)) / (1.0 - t) <= fraction:
                restarts += 1
            while restarts > 0 and (1.0 - t**restarts) / (1.0 - t) > fraction:
                restarts -= 1
            done = (1.0 - t**restarts) / (1.0 - t)
            fraction = (fraction - done) / t**restarts
        m_fac = self.m_mul**restarts
        cosine = 0.5 * m_fac * (1.0 + math.cos(math.pi * fraction))
        return float(self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha))

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Returns the Keras config of a schedule (see `lamina.saving.serialize_keras_object`).

    Args:
        schedule: A ``LearningRateSchedule`` instance.
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(
            "`serialize` expects a `LearningRateSchedule` instance. "
            f"Received: schedule={schedule!r}."
        )
    return serialization.class_config(schedule)


def deserialize(
    config: dict[str, Any], custom_objects: dict[str, type] | None = None
) -> LearningRateSchedule:
    """Rebuilds a schedule from the output of ``serialize``.

    Args:
        config: A dict ``{"class_name": ..., "config": ...}``.
        custom_objects: Extra schedule classes by class name. Defaults to `None`.
    """
    return serialization.deserialize(
        config, family="schedule", kind="learning rate schedule", custom_objects=custom_objects
    )
