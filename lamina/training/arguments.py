"""The checks of the arguments of `fit`, `evaluate` and `predict`.

Every argument is checked before any data is read or any step runs, so a
careless value fails at once with the house error (what was expected, what was
received, how to fix it) and leaves the model untouched. Integer arguments
accept NumPy integers and come back as plain ints.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.training.callbacks.base import Callback, CallbackList
from lamina.utils import validation
from lamina.utils.tree import first_leaf


def check_verbose(role: str, value: Any) -> int:
    """`verbose`: "auto" (= 1), 0, 1 or 2 (NumPy integers too); returns an int."""
    if isinstance(value, str) and value == "auto":
        return 1
    as_int = validation._as_int(value)
    if as_int not in (0, 1, 2):
        fix = "Pass `verbose=0` for silence." if isinstance(value, (bool, np.bool_)) else None
        raise ValueError(validation._message(role, "verbose", "0, 1, 2 or 'auto'", value, fix))
    return as_int


def check_optional_positive_int(role: str, name: str, value: Any) -> int | None:
    """A positive integer or None; returns a plain int."""
    return validation.positive_int(role, name, value, allow_none=True)


def check_shuffle(role: str, value: Any) -> bool:
    """`shuffle`: True or False (a NumPy bool too)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        fix = (
            "Lamina shuffles whole samples; Keras's 'batch' (HDF5 chunk) shuffling is not supported. "
            "Pass `shuffle=True` or `shuffle=False`."
        )
    else:
        fix = "Pass `shuffle=True` or `shuffle=False`."
    raise TypeError(validation._message(role, "shuffle", "True or False", value, fix))


def check_boolean(role: str, name: str, value: Any) -> bool:
    """A bool argument (`return_dict`)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(validation._message(role, name, "True or False", value, f"Pass `{name}=True` or `{name}=False`."))


def check_validation_split(role: str, value: Any) -> float:
    """`validation_split`: a finite number in [0, 1)."""
    validation.number(role, "validation_split", value, low=0.0, high=1.0, high_inclusive=False)
    return float(value)


def check_callbacks(role: str, value: Any) -> list[Callback]:
    """`callbacks`: None, a list / tuple of `Callback` instances or a `CallbackList`."""
    if value is None:
        return []
    if isinstance(value, CallbackList):
        return list(value.callbacks)
    if isinstance(value, Callback):
        raise TypeError(
            validation._message(
                role, "callbacks", "a list of `lamina.callbacks.Callback` instances", value,
                f"Wrap the single callback in a list: `callbacks=[{type(value).__name__}(...)]`.",
            )
        )
    if isinstance(value, type):
        raise TypeError(_callback_class_message(role, "callbacks", value))
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            validation._message(
                role, "callbacks", "a list of `lamina.callbacks.Callback` instances", value,
                "Pass a list, e.g. `callbacks=[lamina.callbacks.EarlyStopping()]`.",
            )
        )
    for i, cb in enumerate(value):
        if isinstance(cb, type):
            raise TypeError(_callback_class_message(role, f"callbacks[{i}]", cb))
        if not isinstance(cb, Callback):
            raise TypeError(
                f"`{role}` expects every element of `callbacks` to be a `lamina.callbacks.Callback` "
                f"instance. Received: callbacks[{i}]={cb!r} of type {type(cb).__name__}. "
                "Subclass `lamina.callbacks.Callback`, or wrap a function in "
                "`lamina.callbacks.LambdaCallback`."
            )
    return list(value)


def _callback_class_message(role: str, where: str, cls: type) -> str:
    name = getattr(cls, "__name__", repr(cls))
    return (
        f"`{role}` expects `callbacks` to hold callback instances, not classes. "
        f"Received: {where}={name} (the class). Create an instance: `callbacks=[{name}()]`."
    )


def check_class_weight(role: str, value: Any) -> dict[int, float] | None:
    """`class_weight`: `{class_index: weight}`; returns a dict of plain ints to floats."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)) or type(value).__module__.startswith("torch"):
        raise TypeError(
            validation._message(
                role, "class_weight", "a dict `{class_index: weight}`", value,
                "For one weight per class in class order, pass "
                "`class_weight=dict(enumerate(weights))`.",
            )
        )
    if not isinstance(value, Mapping):
        raise TypeError(
            validation._message(
                role, "class_weight", "a dict `{class_index: weight}`", value,
                "For example `class_weight={0: 1.0, 1: 5.0}`.",
            )
        )
    out: dict[int, float] = {}
    for key, weight in value.items():
        index = validation._as_int(key)
        if index is None or index < 0:
            whole = isinstance(key, float) and key.is_integer() and key >= 0
            fix = f"Use the class index `{int(key)}`." if whole else (
                "Keys are class indices (integers >= 0), as the labels `y` hold them; "
                "map names to indices first."
            )
            raise ValueError(
                f"`{role}` expects the keys of `class_weight` to be class indices (integers >= 0). "
                f"Received: key {key!r} in class_weight={value!r}. {fix}"
            )
        if (
            isinstance(weight, (bool, np.bool_))
            or not isinstance(weight, numbers.Real)
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                f"`{role}` expects every weight in `class_weight` to be a finite number >= 0. "
                f"Received: class_weight[{key!r}]={weight!r}. Give each class a weight such as 1.0."
            )
        out[index] = float(weight)
    if out and not any(out.values()):
        raise ValueError(
            f"`{role}` expects at least one weight in `class_weight` to be > 0 (with every weight 0 "
            f"the loss is 0 and nothing trains). Received: class_weight={value!r}."
        )
    return out


def _length(a: Any) -> int | None:
    shape = getattr(a, "shape", None)
    if shape is None or len(shape) == 0:
        return None
    return int(shape[0])


def check_sample_weight(role: str, value: Any, y: Any) -> None:
    """`sample_weight` given as an array: one weight per sample of ``y``."""
    if value is None:
        return
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, numbers.Real) for v in value):
        value = np.asarray(value)
    shape = getattr(value, "shape", None)
    if shape is None:  # a dict / list by output: checked with the data
        return
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        raise ValueError(
            f"`{role}` expects `sample_weight` to be an array with one weight per sample. "
            f"Received: sample_weight={value!r} (a scalar). To weight every sample the same, "
            "leave `sample_weight=None`."
        )
    if y is None or isinstance(y, (Mapping, list, tuple)):
        return
    n = _length(y if getattr(y, "shape", None) is not None else first_leaf(y))
    if n is not None and shape[0] != n:
        raise ValueError(
            f"`{role}` expects `sample_weight` to have one weight per sample: shape ({n},) for "
            f"the {n} samples of `y`. Received: sample_weight with shape {shape}. "
            "Pass a 1-D array of the same length as `y`."
        )
    y_shape = tuple(int(d) for d in getattr(y, "shape", ()))
    # (n, 1) is one weight per sample too; (n, T) weights the steps of (n, T, ...) targets.
    per_step = len(shape) <= len(y_shape) and shape == y_shape[: len(shape)]
    if len(shape) > 1 and not (len(shape) == 2 and shape[1] == 1) and not per_step:
        raise ValueError(
            f"`{role}` expects `sample_weight` to be 1-D: shape ({n},), one weight per sample. "
            f"Received: sample_weight with shape {shape}. Flatten it, or use `class_weight` "
            "to weight by class."
        )


@dataclass
class FitArguments:
    batch_size: int | None
    epochs: int
    verbose: int
    callbacks: list[Callback]
    validation_split: float
    shuffle: bool
    class_weight: dict[int, float] | None
    initial_epoch: int
    steps_per_epoch: int | None
    validation_steps: int | None
    validation_batch_size: int | None
    validation_freq: int


def fit_arguments(
    *,
    y: Any,
    batch_size: Any,
    epochs: Any,
    verbose: Any,
    callbacks: Any,
    validation_split: Any,
    shuffle: Any,
    class_weight: Any,
    sample_weight: Any,
    initial_epoch: Any,
    steps_per_epoch: Any,
    validation_steps: Any,
    validation_batch_size: Any,
    validation_freq: Any,
) -> FitArguments:
    """Checks every argument of `fit` except the data; returns them normalised."""
    role = "fit"
    epochs_ = validation.positive_int(role, "epochs", epochs)
    initial = validation.non_negative_int(role, "initial_epoch", initial_epoch)
    if initial >= epochs_:
        raise ValueError(
            f"`{role}` expects `initial_epoch` to be smaller than `epochs` (`epochs` is the index of "
            f"the last epoch, not a number of further epochs). Received: initial_epoch={initial_epoch!r}, "
            f"epochs={epochs!r}. To train n more epochs from epoch {initial}, pass `epochs={initial}+n`."
        )
    out = FitArguments(
        batch_size=check_optional_positive_int(role, "batch_size", batch_size),
        epochs=epochs_,
        verbose=check_verbose(role, verbose),
        callbacks=check_callbacks(role, callbacks),
        validation_split=check_validation_split(role, validation_split),
        shuffle=check_shuffle(role, shuffle),
        class_weight=check_class_weight(role, class_weight),
        initial_epoch=initial,
        steps_per_epoch=check_optional_positive_int(role, "steps_per_epoch", steps_per_epoch),
        validation_steps=check_optional_positive_int(role, "validation_steps", validation_steps),
        validation_batch_size=check_optional_positive_int(role, "validation_batch_size", validation_batch_size),
        validation_freq=validation.positive_int(role, "validation_freq", validation_freq),
    )
    check_sample_weight(role, sample_weight, y)
    return out


@dataclass
class EvaluateArguments:
    batch_size: int | None
    verbose: int
    steps: int | None
    callbacks: list[Callback]
    return_dict: bool


def evaluate_arguments(
    *, y: Any, batch_size: Any, verbose: Any, sample_weight: Any, steps: Any, callbacks: Any, return_dict: Any
) -> EvaluateArguments:
    """Checks every argument of `evaluate` except the data; returns them normalised."""
    role = "evaluate"
    out = EvaluateArguments(
        batch_size=check_optional_positive_int(role, "batch_size", batch_size),
        verbose=check_verbose(role, verbose),
        steps=check_optional_positive_int(role, "steps", steps),
        callbacks=check_callbacks(role, callbacks),
        return_dict=check_boolean(role, "return_dict", return_dict),
    )
    check_sample_weight(role, sample_weight, y)
    return out
