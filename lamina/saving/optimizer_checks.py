"""Checks of a saved optimizer state and configuration before they are loaded.

`torch.optim.Optimizer.load_state_dict` trusts what it is given: a moment
tensor of the wrong shape loads and then crashes the first `fit` step deep
inside torch, an infinite learning rate or a NaN moment loads silently and
turns every weight into NaN, and a saved parameter group may flip flags such
as ``maximize``. `check_optimizer_state` refuses all of these with an
`InvalidFileError` naming the file, before anything is changed;
`check_optimizer_config` does the same for the optimizer's hyper-parameters in
a model file's compile configuration.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from lamina.saving.errors import InvalidFileError

# A step count above this is not the result of training (1e12 steps at 1 µs each
# take ~12 days of nothing but steps); it only makes bias corrections meaningless.
MAX_STEPS = 10**12

FIX = "Load the model with compile=False to skip the optimizer state, or save it again."

# Per-parameter state tensors that have exactly their parameter's shape, by the
# names torch's and Lamina's optimizers use.
_SAME_SHAPE = frozenset(
    {
        "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "exp_inf", "momentum_buffer", "momentum",
        "square_avg", "grad_avg", "acc_delta", "sum", "accumulator", "linear", "v",
    }
)
# Running averages of squares, sums of squares and maxima of magnitudes: never negative
# (a negative one makes the next step take the square root of a negative number).
_NON_NEGATIVE = frozenset(
    {"exp_avg_sq", "max_exp_avg_sq", "exp_inf", "square_avg", "acc_delta", "sum", "accumulator", "v", "r", "c"}
)
# Hyper-parameters that must be numbers when present.
_NUMERIC = frozenset(
    {
        "lr", "learning_rate", "eps", "epsilon", "weight_decay", "momentum", "initial_accumulator_value",
        "lr_decay", "momentum_decay", "beta_1", "beta_2", "alpha", "rho", "dampening",
    }
)
# Scalar per-parameter counters.
_STEP_KEYS = frozenset({"step"})
# Flags of a parameter group that the compiled optimizer decides; a saved state
# may not change them (``maximize=True`` would silently ascend the loss).
_FLAGS = frozenset(
    {
        "maximize", "foreach", "capturable", "differentiable", "fused", "amsgrad", "nesterov",
        "centered", "decoupled_weight_decay",
    }
)


def _error(source: str, problem: str, fix: str = FIX, what: str = "optimizer state") -> InvalidFileError:
    error = InvalidFileError(f"The {what} in {source} is invalid: {problem}. {fix}")
    error.problem = problem  # type: ignore[attr-defined]  # for callers with a fix of their own (BackupAndRestore)
    return error


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _scalar(value: Any) -> float | None:
    """A Python number or a one-element tensor as a float; None for anything else."""
    if _is_number(value):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.device.type != "meta":
        return float(value.detach().reshape(()).to(torch.float64).cpu())
    return None


# --------------------------------------------------------------------------- hyper-parameters
def _check_range(where: str, name: str, value: float, source: str, low: float | None,
                 high: float | None, high_open: bool = False, low_open: bool = False) -> None:
    bad = not math.isfinite(value)
    if not bad and low is not None:
        bad = value <= low if low_open else value < low
    if not bad and high is not None:
        bad = value >= high if high_open else value > high
    if bad:
        if not math.isfinite(value):
            expected = "a finite number"
        else:
            lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
            hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
            expected = f"a number in {lo}, {hi}" if low is not None and high is not None else (
                f"a number {'>' if low_open else '>='} {low:g}" if low is not None else f"a number <= {high:g}"
            )
        raise _error(source, f"{where} sets {name}={value!r}; expected {expected}")


def _check_hyper(where: str, name: str, value: Any, source: str) -> None:
    """One hyper-parameter of a parameter group or an optimizer config."""
    if name in ("betas",) and isinstance(value, (list, tuple)):
        for i, beta in enumerate(value):
            number = _scalar(beta)
            if number is None:
                raise _error(source, f"{where} sets {name}[{i}]={beta!r}; expected a number in [0, 1)")
            _check_range(where, f"{name}[{i}]", number, source, 0.0, 1.0, high_open=True)
        return
    if name in _FLAGS:
        if value is not None and not isinstance(value, bool):
            raise _error(source, f"{where} sets {name}={value!r}; expected True, False or None")
        return
    number = _scalar(value)
    if number is None:
        if name in _NUMERIC and (value is not None or name == "lr"):
            raise _error(source, f"{where} sets {name}={value!r:.80}; expected a number")
        return  # other strings and None are left to the optimizer
    if name in ("lr", "learning_rate"):
        _check_range(where, name, number, source, 0.0, None)
    elif name in ("eps", "epsilon", "weight_decay", "momentum", "initial_accumulator_value",
                  "clipnorm", "clipvalue", "global_clipnorm", "lr_decay", "momentum_decay"):
        _check_range(where, name, number, source, 0.0, None)
    elif name in ("beta_1", "beta_2", "alpha", "rho", "dampening"):
        _check_range(where, name, number, source, 0.0, 1.0)
    else:
        _check_range(where, name, number, source, None, None)


def check_optimizer_config(config: Any, source: str) -> None:
    """Refuses an optimizer configuration (``{"class_name", "config"}`` as
    `lamina.optimizers.serialize` writes it, or `None`) whose hyper-parameters are
    not finite or out of range: a NaN or infinite learning rate, a negative
    epsilon or weight decay, a beta outside [0, 1]. A learning-rate schedule (a
    dict) is allowed; its numbers must be finite.

    Args:
        config: The saved optimizer entry of a compile configuration.
        source: How to name the file (and member) in messages.

    Raises:
        InvalidFileError: Naming ``source``, the hyper-parameter and its value.
    """
    try:
        _check_config(config, source)
    except InvalidFileError as e:  # the same checks as a state's, worded for a configuration
        text = str(e).replace("The optimizer state in", "The optimizer configuration in", 1)
        raise InvalidFileError(text, path=e.path, member=e.member) from None


def _check_config(config: Any, source: str) -> None:
    if config is None or isinstance(config, str):
        return
    if not isinstance(config, dict) or not isinstance(config.get("config", {}), dict):
        raise _error(source, f"the optimizer entry must be a {{'class_name', 'config'}} dict; received {config!r:.200}")
    inner = config.get("config", {})
    where = f"the optimizer {config.get('class_name', '?')!r}"
    for name, value in inner.items():
        if name == "learning_rate" and isinstance(value, dict):
            _check_schedule_numbers(where, value, source, "learning_rate")
            continue
        _check_hyper(where, name, value, source)


def _check_schedule_numbers(where: str, value: Any, source: str, path: str, depth: int = 0) -> None:
    if depth > 20:
        raise _error(source, f"{where}'s {path} is nested too deeply")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_schedule_numbers(where, v, source, f"{path}.{k}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_schedule_numbers(where, v, source, f"{path}[{i}]", depth + 1)
    elif _is_number(value) and not math.isfinite(float(value)):
        raise _error(source, f"{where}'s learning-rate schedule sets {path}={value!r}; expected a finite number")


# --------------------------------------------------------------------------- state
def _trainable(optimizer: Any, params: Any) -> list[torch.Tensor] | None:
    if params is not None:
        if isinstance(params, torch.nn.Module):
            params = params.parameters()
        out, seen = [], set()
        for p in params:
            if isinstance(p, torch.Tensor) and p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
        return out
    built = getattr(optimizer, "_params", None)
    return list(built) if built else None


def check_optimizer_state(optimizer: Any, state: Any, source: str, *, params: Any = None) -> None:
    """Refuses a saved optimizer state that `optimizer.load_state_dict` should not load.

    ``state`` is what a Lamina optimizer's `state_dict()` returns:
    ``{"iterations": int, "optimizer": torch state dict or None}``. It is refused
    when its structure is wrong; when it tracks a different number of
    parameters than the optimizer (or ``params``, the model's trainable
    parameters, for an optimizer not built yet); when a per-parameter tensor
    (``exp_avg``, ``momentum_buffer``, ...) has another shape than its parameter,
    or a dtype that is not floating; when any state tensor holds NaN or an
    infinity; when a step count is negative, not finite or above `MAX_STEPS`;
    when a hyper-parameter is not finite or out of range (learning rate < 0,
    betas outside [0, 1), epsilon or weight decay < 0); or when a saved flag
    (``maximize``, ``fused``, ...) differs from the compiled optimizer's.

    Args:
        optimizer: The Lamina optimizer that will load the state.
        state: The saved state.
        source: How to name the file (and member) in messages.
        params: The parameters the optimizer will be built over, when it is not
            built yet. Defaults to the optimizer's own.

    Raises:
        InvalidFileError: Naming ``source`` and the problem.
    """
    if not isinstance(state, dict) or not {"iterations", "optimizer"} <= set(state):
        keys = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise _error(source, f"expected a dict with 'iterations' and 'optimizer'; received {keys}")
    _check_step(source, "'iterations'", state["iterations"], integral=True)
    inner = state["optimizer"]
    if inner is None:
        return
    if not isinstance(inner, dict) or not isinstance(inner.get("state"), dict) or not isinstance(
        inner.get("param_groups"), list
    ):
        raise _error(source, "its 'optimizer' entry must be a dict with 'state' (a dict) and 'param_groups' (a list)")
    trainable = _trainable(optimizer, params)
    torch_opt = getattr(optimizer, "_torch", None)
    current_groups = torch_opt.param_groups if torch_opt is not None else None
    ids: list[int] = []
    for g, group in enumerate(inner["param_groups"]):
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise _error(source, f"parameter group {g} is not a dict with a 'params' list")
        for index in group["params"]:
            if isinstance(index, bool) or not isinstance(index, int):
                raise _error(source, f"parameter group {g} lists {index!r} as a parameter; expected integer indices")
            ids.append(index)
        where = f"parameter group {g}"
        current = current_groups[g] if current_groups is not None and g < len(current_groups) else None
        for name, value in group.items():
            if name == "params":
                continue
            _check_hyper(where, name, value, source)
            if (current is not None and name in _FLAGS and name in current
                    and isinstance(current[name], bool) and value is not None and value != current[name]):
                raise _error(
                    source,
                    f"{where} sets {name}={value!r} but the compiled optimizer has {name}={current[name]!r}",
                )
    if len(set(ids)) != len(ids):
        raise _error(source, "a parameter index is listed more than once in 'param_groups'")
    if current_groups is not None and len(current_groups) != len(inner["param_groups"]):
        raise _error(
            source,
            f"it has {len(inner['param_groups'])} parameter groups but the optimizer has {len(current_groups)}",
        )
    if trainable is not None and len(ids) != len(trainable):
        raise _error(
            source,
            f"it tracks {len(ids)} parameters but the model has {len(trainable)} trainable ones",
            "Load it into the model it was saved from (same layers, same trainable flags), or load "
            "the model with compile=False to skip the optimizer state.",
        )
    position = {index: i for i, index in enumerate(ids)}
    for key, per_param in inner["state"].items():
        if key not in position:
            raise _error(source, f"its 'state' has an entry for parameter {key!r}, which no parameter group lists")
        if not isinstance(per_param, dict):
            raise _error(source, f"the state of parameter {key!r} must be a dict; received {type(per_param).__name__}")
        param = trainable[position[key]] if trainable is not None else None
        for name, value in per_param.items():
            _check_param_state(source, key, name, value, param)


def _check_step(source: str, where: str, value: Any, integral: bool = False) -> None:
    number = _scalar(value)
    if number is None:
        raise _error(source, f"{where} is {value!r:.100}; expected a step count (a number >= 0)")
    if integral and not _is_number(value):
        raise _error(source, f"{where} is {value!r:.100}; expected an integer >= 0")
    if not math.isfinite(number) or number < 0 or number > MAX_STEPS or (integral and number != int(number)):
        raise _error(source, f"{where} is {number!r}; expected a whole number of steps in [0, {MAX_STEPS:,}]")


def _check_param_state(source: str, key: Any, name: str, value: Any, param: torch.Tensor | None) -> None:
    where = f"the state {name!r} of parameter {key!r}"
    if not isinstance(value, torch.Tensor):
        if name in _STEP_KEYS:
            _check_step(source, where, value)
        elif _is_number(value) and not math.isfinite(float(value)):
            raise _error(source, f"{where} is {value!r}; expected a finite number")
        return
    if name in _STEP_KEYS:
        if value.numel() != 1:
            raise _error(source, f"{where} has shape {list(value.shape)}; expected one number")
        _check_step(source, where, value)
        return
    if not value.dtype.is_floating_point:
        raise _error(source, f"{where} has dtype {value.dtype}; expected a floating-point tensor")
    if value.device.type != "meta":
        bad = value.numel() - int(torch.isfinite(value).sum())
        if bad:
            raise _error(source, f"{where} holds {bad:,} NaN or infinite value(s) of {value.numel():,}")
        if name in _NON_NEGATIVE:
            negative = int((value < 0).sum())
            if negative:
                raise _error(
                    source, f"{where} holds {negative:,} negative value(s); it accumulates squares or magnitudes, "
                    "so it is never negative"
                )
    if param is None:
        return
    shape = tuple(value.shape)
    expected: tuple[int, ...] | None = None
    if name in _SAME_SHAPE:
        expected = tuple(param.shape)
    elif name == "r" and param.ndim >= 2:  # Adafactor's factored second moments
        expected = tuple(param.shape[:-1])
    elif name == "c" and param.ndim >= 2:
        expected = (*param.shape[:-2], param.shape[-1])
    elif value.numel() > max(param.numel(), 1):
        expected = tuple(param.shape)  # an unknown state is never larger than its parameter
    if expected is not None and shape != expected:
        raise _error(
            source, f"{where} has shape {list(shape)} but the parameter has shape {list(param.shape)}"
            + ("" if expected == tuple(param.shape) else f" (expected {list(expected)})")
        )
