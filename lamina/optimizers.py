"""Optimizers with Keras names and defaults, running ``torch.optim`` underneath.

A Lamina optimizer is constructed without parameters, as in Keras;
``build(params)`` creates the ``torch.optim`` optimizer once the model's
weights exist (``compile``/``fit`` do this). ``step()`` applies the optional
gradient clipping and decoupled weight decay, then the torch step. The update
math is PyTorch's (``foreach`` kernels on the GPU; ``Adam`` / ``AdamW`` use
torch's ``fused`` kernel on the CPU and GPU when every weight is a plain dense
floating tensor on one device); epsilon placement can differ from Keras by a
negligible amount.

Learning-rate schedules live in ``lamina.schedules`` and are also available
here as ``lamina.optimizers.schedules``.

Example:

>>> import torch
>>> from lamina import optimizers
>>> model = torch.nn.Linear(3, 1)
>>> opt = optimizers.get("adam")
>>> opt.build(model.parameters())
>>> model(torch.randn(4, 3)).sum().backward()
>>> opt.step()
>>> opt.iterations
1
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from lamina import schedules
from lamina.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)
from lamina.utils import serialization, validation

__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "AdamW",
    "Adagrad",
    "Adamax",
    "Nadam",
    "Adadelta",
    "Lion",
    "Ftrl",
    "Adafactor",
    "schedules",
    "LearningRateSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "PiecewiseConstantDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "get",
    "serialize",
    "deserialize",
]


class _Iterations(int):
    """``optimizer.iterations``: a Python int that also answers Keras' variable API
    (``.numpy()``, ``.value``, ``.assign(n)``)."""

    def __new__(cls, value: int, owner: Optimizer) -> _Iterations:
        obj = super().__new__(cls, value)
        obj._owner = owner
        return obj

    @property
    def value(self) -> int:
        return int(self)

    def numpy(self) -> np.ndarray:
        return np.asarray(int(self), dtype=np.int64)

    def assign(self, value: Any) -> _Iterations:
        self._owner.iterations = int(value)
        return self._owner.iterations

    def __reduce__(self) -> Any:
        return (int, (int(self),))


class _LearningRate(float):
    """``optimizer.learning_rate``: a Python float that also answers Keras' variable
    API (``.numpy()``, ``.value``, ``.assign(lr)``)."""

    def __new__(cls, value: float, owner: Optimizer) -> _LearningRate:
        obj = super().__new__(cls, value)
        obj._owner = owner
        return obj

    @property
    def value(self) -> float:
        return float(self)

    def numpy(self) -> np.ndarray:
        return np.asarray(float(self), dtype=np.float32)

    def assign(self, value: Any) -> _LearningRate:
        self._owner.learning_rate = float(value)
        return self._owner.learning_rate

    def __reduce__(self) -> Any:
        return (float, (float(self),))


def check_learning_rate(owner: str, value: Any) -> Any:
    """Checks a number given as ``learning_rate``: a finite real number >= 0. Returns it unchanged.

    0 is allowed, as in Keras: a schedule callback may decay the rate to 0, and a
    rate of 0 runs the steps (losses, metrics, callbacks) without changing the weights.
    Raises a ``TypeError`` for something that is not a number (a string, a bool, a
    function, a tensor) and a ``ValueError`` for NaN, infinities and negatives.
    """
    expected = "a finite number >= 0 or a `LearningRateSchedule`"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if isinstance(value, str):
            try:
                float(value)
                fix = f"Pass a number: `learning_rate=float({value!r})`."
            except ValueError:
                fix = "Pass a number, e.g. `learning_rate=1e-3`."
        elif isinstance(value, (np.ndarray, torch.Tensor)):
            fix = "Pass a Python number: `learning_rate=float(lr)`."
        elif callable(value):
            fix = (
                "To vary the rate during training, subclass "
                "`lamina.optimizers.schedules.LearningRateSchedule` (its `__call__(step)` "
                "returns the rate) or use a `LearningRateScheduler` callback."
            )
        else:
            fix = "Pass a number, e.g. `learning_rate=1e-3`."
        raise TypeError(
            f"`{owner}` expects `learning_rate` to be {expected}. Received: learning_rate={value!r}. {fix}"
        )
    if math.isnan(value) or math.isinf(value):
        raise ValueError(
            f"`{owner}` expects `learning_rate` to be {expected}. Received: learning_rate={value!r}. "
            "Check how the value was computed (a learning-rate search or a schedule)."
        )
    if value < 0:
        raise ValueError(
            f"`{owner}` expects `learning_rate` to be {expected}. Received: learning_rate={value!r}. "
            "A negative rate climbs the loss instead of descending it. Typical rates are 1e-4 to 1e-2."
        )
    return value


_FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _fused_kernel_applies(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused (multi-tensor, one kernel) update can take every parameter:
    plain dense floating tensors on the CPU or one CUDA device (sharded `DTensor`
    parameters of FSDP and other tensor subclasses keep the per-tensor loop)."""
    devices = {p.device for p in params}
    return len(devices) == 1 and all(
        type(p.data) is torch.Tensor
        and p.layout is torch.strided
        and p.dtype in _FUSED_DTYPES
        and p.device.type in ("cpu", "cuda")
        for p in params
    )


class Optimizer:
    """Base class of Lamina optimizers.

    A subclass names its ``torch_class`` and maps its Keras-style arguments
    to torch keyword arguments in ``_torch_kwargs()``. Hyperparameters are
    read when the optimizer is built.

    Args:
        learning_rate: A float >= 0 or a ``LearningRateSchedule``, evaluated
            at ``iterations`` before every step.
        clipnorm: Clip each parameter's gradient to this L2 norm:
            ``g * clipnorm / max(norm(g), clipnorm)``. Defaults to `None`.
        clipvalue: Clamp each gradient element to ``[-clipvalue, clipvalue]``.
            Defaults to `None`.
        global_clipnorm: Clip all gradients together so that their global L2
            norm is at most this. Defaults to `None`.
        weight_decay: Decoupled weight decay: before each update every
            parameter with a gradient is multiplied by
            ``1 - learning_rate * weight_decay``. Defaults to `None`.
        name: The optimizer's name. Defaults to the class's Keras name.
    """

    torch_class: type[torch.optim.Optimizer] | None = None
    _default_name = "optimizer"
    # True when the torch class applies `weight_decay` itself, decoupled.
    _native_weight_decay = False

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        weight_decay: float | None = None,
        name: str | None = None,
    ) -> None:
        owner = type(self).__name__
        if isinstance(learning_rate, LearningRateSchedule):
            self._schedule: LearningRateSchedule | None = learning_rate
            self._lr: float | None = None
        else:
            self._schedule = None
            self._lr = check_learning_rate(owner, learning_rate)
        for arg, value in (
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        ):
            _hyper(owner, arg, value, low=0.0, low_inclusive=False, allow_none=True)
        given = [
            f"{k}={v!r}"
            for k, v in (
                ("clipnorm", clipnorm),
                ("clipvalue", clipvalue),
                ("global_clipnorm", global_clipnorm),
            )
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(
                f"`{owner}` accepts only one of `clipnorm`, `clipvalue` and "
                f"`global_clipnorm`. Received: {', '.join(given)}. Pass just one of them."
            )
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.weight_decay = _hyper(owner, "weight_decay", weight_decay, low=0.0, allow_none=True)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`{owner}` expects `name` to be a string. Received: name={name!r}.")
        self.name = name if name is not None else self._default_name
        self.iterations = 0
        self.built = False
        self._torch: torch.optim.Optimizer | None = None
        self._params: list[torch.Tensor] = []
        self._pending_state: dict[str, Any] | None = None
        self._preprocess = False
        self._manual_decay = False
        self._constrained: list[tuple[torch.Tensor, Any]] = []

    # ------------------------------------------------------------------ build

    def _torch_kwargs(self) -> dict[str, Any]:
        """Torch keyword arguments other than ``params`` and ``lr``."""
        return {}

    def _torch_optimizer_class(self) -> type[torch.optim.Optimizer]:
        if self.torch_class is None:
            raise NotImplementedError(
                f"`{type(self).__name__}` must set `torch_class` (a `torch.optim.Optimizer` "
                "subclass) or override `_torch_optimizer_class()`."
            )
        return self.torch_class

    # Whether the torch optimizer runs its fused kernel when every parameter allows it.
    _fused = False

    def _make_torch_optimizer(
        self, params: list[torch.Tensor], lr: float, kwargs: dict[str, Any]
    ) -> torch.optim.Optimizer:
        torch_class = self._torch_optimizer_class()
        if self._fused and _fused_kernel_applies(params):
            try:
                return torch_class(params, lr=lr, fused=True, **kwargs)
            except (RuntimeError, ValueError):  # a torch build without the kernel for them
                pass
        return torch_class(params, lr=lr, **kwargs)

    def build(self, params: Iterable[torch.Tensor] | torch.nn.Module) -> None:
        """Creates the torch optimizer over the trainable parameters.

        Args:
            params: An iterable of parameters (or a ``torch.nn.Module``); only
                those with ``requires_grad`` are optimized. Building again
                with the same parameters does nothing.
        """
        owner = type(self).__name__
        if isinstance(params, torch.nn.Module):
            params = params.parameters()
        trainable: list[torch.Tensor] = []
        seen: set[int] = set()
        for p in params:
            if not isinstance(p, torch.Tensor):
                raise TypeError(
                    f"`{owner}.build` expects torch parameters. Received an element "
                    f"of type {type(p).__name__}: {p!r}."
                )
            if p.requires_grad and id(p) not in seen:
                if not p.is_leaf:
                    raise ValueError(
                        f"`{owner}.build` expects leaf tensors (parameters), but received "
                        f"a computed tensor of shape {tuple(p.shape)}. Pass the model's "
                        "parameters, e.g. `model.parameters()`."
                    )
                seen.add(id(p))
                trainable.append(p)
        if self.built:
            if [id(p) for p in trainable] == [id(p) for p in self._params]:
                return
            raise ValueError(
                f"The optimizer `{self.name}` is already built for other parameters. "
                "Create a new optimizer for each model."
            )
        if not trainable:
            raise ValueError(
                f"`{owner}.build` received no trainable parameters (none with "
                "`requires_grad=True`). Received: 0 trainable parameters. Check that "
                "the model is built and not entirely frozen."
            )
        lr = self._schedule(self.iterations) if self._schedule is not None else self._lr
        kwargs = self._torch_kwargs()
        if self.weight_decay and not self._native_weight_decay:
            self._manual_decay = True
        self._torch = self._make_torch_optimizer(trainable, float(lr), kwargs)
        self._params = trainable
        # Weights with a `constraint` (Keras's `variable.constraint`), projected after each
        # update; empty in the common case, so `step` pays nothing for the feature.
        self._constrained = [
            (p, p.constraint) for p in trainable if getattr(p, "constraint", None) is not None
        ]
        self.built = True
        self._preprocess = self._manual_decay or any(
            v is not None for v in (self.clipnorm, self.clipvalue, self.global_clipnorm)
        )
        if self._pending_state is not None:
            pending, self._pending_state = self._pending_state, None
            self.load_state_dict(pending)

    @property
    def iterations(self) -> int:
        """The number of steps applied, an int (with Keras' ``.numpy()`` and ``.assign``)."""
        return _Iterations(self.__dict__.get("_iterations", 0), self)

    @iterations.setter
    def iterations(self, value: int) -> None:
        self._iterations = int(value)

    @property
    def torch_optimizer(self) -> torch.optim.Optimizer | None:
        """The underlying ``torch.optim.Optimizer``, or None before ``build``."""
        return self._torch

    # ------------------------------------------------------------------- step

    def _not_built(self) -> RuntimeError:
        return RuntimeError(
            f"The optimizer `{self.name}` is not built yet. Call `build(model.parameters())` "
            "first, or pass `(gradient, parameter)` pairs to `apply_gradients`."
        )

    def build_on_first_step(self, module: torch.nn.Module) -> None:
        """Defers `build` to the first `step`, over ``module``'s parameters then (for a
        model whose layers are built by its first training step)."""
        self._build_source = module

    def step(self) -> None:
        """Applies one update from the parameters' ``.grad``: schedule, clipping, torch step."""
        opt = self._torch
        if opt is None and getattr(self, "_build_source", None) is not None:
            self.build(self._build_source.parameters())
            opt = self._torch
        if opt is None:
            raise self._not_built()
        if self._schedule is not None:
            lr = float(self._schedule(self.iterations))
            for group in opt.param_groups:
                group["lr"] = lr
        if self._preprocess:
            self._preprocess_gradients(opt)
        opt.step()
        if self._constrained:
            self._apply_constraints()
        self._iterations = self.__dict__.get("_iterations", 0) + 1  # (no wrapper object per step)

    def _apply_constraints(self) -> None:
        # As Keras: a variable updated by this step is replaced by `constraint(variable)`.
        with torch.no_grad():
            for p, constraint in self._constrained:
                if p.grad is not None:
                    p.copy_(constraint(p))

    def _preprocess_gradients(self, opt: torch.optim.Optimizer) -> None:
        # No host sync here: every operation stays on the device.
        params = [p for group in opt.param_groups for p in group["params"]]
        if self.clipvalue is not None:
            torch.nn.utils.clip_grad_value_(params, self.clipvalue)
        elif self.clipnorm is not None:
            grads = [p.grad for p in params if p.grad is not None]
            if grads:
                with torch.no_grad():
                    scales = torch._foreach_norm(grads)
                    torch._foreach_maximum_(scales, self.clipnorm)
                    torch._foreach_reciprocal_(scales)
                    torch._foreach_mul_(scales, self.clipnorm)
                    torch._foreach_mul_(grads, scales)
        elif self.global_clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, self.global_clipnorm)
        if self._manual_decay:
            with torch.no_grad():
                for group in opt.param_groups:
                    decayed = [p for p in group["params"] if p.grad is not None]
                    if decayed:
                        torch._foreach_mul_(decayed, 1.0 - group["lr"] * self.weight_decay)

    def apply_gradients(
        self, grads_and_vars: Iterable[tuple[torch.Tensor | None, torch.Tensor]] | None = None
    ) -> None:
        """Applies one update, as Keras' ``apply_gradients``.

        Args:
            grads_and_vars: Optional ``(gradient, parameter)`` pairs; each
                gradient is stored in the parameter's ``.grad`` first (builds the
                optimizer on first use). With None, uses the existing ``.grad``.
                Defaults to `None`.
        """
        if grads_and_vars is not None:
            pairs = list(grads_and_vars)
            variables = [v for _, v in pairs]
            if not self.built:
                self.build(variables)
            known = {id(p) for p in self._params}
            for grad, var in pairs:
                if id(var) not in known:
                    raise ValueError(
                        f"The optimizer `{self.name}` was built for other parameters; it "
                        f"received a parameter of shape {tuple(var.shape)} it does not "
                        "track. Create a new optimizer for these parameters."
                    )
                var.grad = grad
        self.step()

    def apply(
        self,
        grads: Iterable[torch.Tensor | None],
        trainable_variables: Iterable[torch.Tensor] | None = None,
    ) -> None:
        """Applies one update from explicit gradients, as Keras 3's ``optimizer.apply``.

        Args:
            grads: One gradient (or None, to skip) per variable, in the order of
                ``trainable_variables``.
            trainable_variables: The variables to update; the first call builds
                the optimizer over them. Defaults to `None`: the variables the
                optimizer was built with.

        Example:

        >>> import torch
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = SGD(learning_rate=0.1)
        >>> opt.apply([torch.ones(2)], [w])
        >>> w.tolist()
        [0.8999999761581421, 0.8999999761581421]
        """
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"The optimizer `{self.name}` is not built, so `apply` needs the "
                    "variables. Received: trainable_variables=None. Pass them: "
                    "`optimizer.apply(grads, model.trainable_weights)`."
                )
            variables = list(self._params)
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"`{type(self).__name__}.apply` expects one gradient per variable. Received: "
                f"{len(grads)} gradients for {len(variables)} variables."
            )
        self.apply_gradients(zip(grads, variables))

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the gradients of the optimized parameters (no-op before ``build``).

        Args:
            set_to_none: Set ``.grad`` to None instead of zeroing it. Defaults to `True`.
        """
        if self._torch is not None:
            self._torch.zero_grad(set_to_none=set_to_none)

    # ---------------------------------------------------------- learning rate

    @property
    def learning_rate(self) -> float:
        """The learning rate the next step uses, as a float.

        Setting it (as ``ReduceLROnPlateau`` does) to a number sets every
        parameter group's rate and replaces a schedule; setting it to a
        ``LearningRateSchedule`` installs the schedule. As in Keras, the value
        also has ``.numpy()`` and ``.assign(lr)``.
        """
        if self._schedule is not None:
            value = float(self._schedule(int(self.iterations)))
        elif self._torch is not None:
            value = float(self._torch.param_groups[0]["lr"])
        else:
            value = float(self._lr)
        return _LearningRate(value, self)

    @learning_rate.setter
    def learning_rate(self, value: float | LearningRateSchedule) -> None:
        if isinstance(value, LearningRateSchedule):
            self._schedule, self._lr = value, None
            lr = float(value(self.iterations))
        else:
            check_learning_rate(type(self).__name__, value)
            self._schedule, self._lr = None, value
            lr = float(value)
        if self._torch is not None:
            for group in self._torch.param_groups:
                group["lr"] = lr

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Returns ``{"iterations": int, "optimizer": torch state dict or None}``."""
        if self._torch is None:
            pending = self._pending_state
            return {
                "iterations": self.iterations,
                "optimizer": pending["optimizer"] if pending is not None else None,
            }
        return {"iterations": self.iterations, "optimizer": self._torch.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores the state saved by ``state_dict()``.

        Before ``build`` the torch state is kept and applied when the
        optimizer is built.

        Args:
            state_dict: The output of ``state_dict()``.
        """
        if not isinstance(state_dict, dict) or not {"iterations", "optimizer"} <= set(state_dict):
            raise ValueError(
                f"`{type(self).__name__}.load_state_dict` expects a dict with keys "
                "'iterations' and 'optimizer', as returned by `state_dict()`. "
                f"Received keys: {sorted(state_dict) if isinstance(state_dict, dict) else state_dict!r}."
            )
        self.iterations = int(state_dict["iterations"])
        torch_state = state_dict["optimizer"]
        if torch_state is None:
            return
        if self._torch is None:
            self._pending_state = state_dict
            return
        self._torch.load_state_dict(torch_state)
        if self._schedule is None:
            self._lr = self._torch.param_groups[0]["lr"]

    # ----------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments (the current learning rate) as JSON-able values."""
        if self._schedule is not None:
            learning_rate: Any = schedules.serialize(self._schedule)
        else:
            learning_rate = float(self.learning_rate)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: dict[str, type] | None = None
    ) -> Optimizer:
        """Rebuilds an optimizer from ``get_config()``.

        Args:
            config: The output of ``get_config()``.
            custom_objects: Extra schedule classes by class name. Defaults to `None`.
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, learning_rate={self.learning_rate!r})"


def _hyper(owner: str, name: str, value: Any, **bounds: Any) -> Any:
    """Checks one optimizer hyper-parameter: a finite real number inside ``bounds``
    (see `validation.number`); NaN, infinities, strings and booleans are refused."""
    return validation.number(owner, name, value, finite=True, **bounds)


def _beta(owner: str, name: str, value: Any) -> Any:
    return _hyper(owner, name, value, low=0.0, high=1.0, high_inclusive=False)


def _epsilon(owner: str, value: Any) -> Any:
    return _hyper(owner, "epsilon", value, low=0.0, low_inclusive=False)


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.01`.
        momentum: Momentum in ``[0, 1]``. Defaults to `0.0`.
        nesterov: Use Nesterov momentum. Defaults to `False`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.
    """

    torch_class = torch.optim.SGD
    _default_name = "SGD"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        self.momentum = _hyper("SGD", "momentum", momentum, low=0.0, high=1.0)
        self.nesterov = validation.boolean("SGD", "nesterov", nesterov)

    def _torch_kwargs(self) -> dict[str, Any]:
        # Nesterov with zero momentum is plain SGD (torch rejects the combination).
        return {"momentum": self.momentum, "nesterov": self.nesterov and self.momentum > 0}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class _KerasRMSprop(torch.optim.Optimizer):
    """Keras 3's RMSprop step (`torch._foreach` kernels on CUDA, one tensor at a time
    on the CPU, as `torch.optim.RMSprop` chooses).

    ``v = rho v + (1 - rho) g²`` (centered: also ``a = rho a + (1 - rho) g``);
    ``increment = lr g / sqrt(v + eps)`` (centered: ``sqrt(v - a² + eps)``);
    ``w -= increment``, or with momentum ``m = momentum m + increment; w -= m``.
    `torch.optim.RMSprop` adds ``eps`` outside the root instead, which moves weights
    with small gradients up to ~100x further than Keras (``g = 1e-5``). Parameter
    groups and state use `torch.optim.RMSprop`'s names (``alpha``, ``square_avg``,
    ``grad_avg``, ``momentum_buffer``), so its saved states load.
    """

    def __init__(
        self,
        params: Any,
        lr: float,
        alpha: float,
        eps: float,
        momentum: float,
        centered: bool,
        foreach: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "momentum": momentum,
            "centered": centered,
            "foreach": foreach,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            lr, rho, eps = group["lr"], group["alpha"], group["eps"]
            momentum, centered = group["momentum"], group["centered"]
            grads = [p.grad.to(p.dtype) for p in params]
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(
                        p, memory_format=torch.preserve_format
                    )
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            foreach = group.get("foreach")
            if not (params[0].is_cuda if foreach is None else foreach):
                # One tensor at a time: quicker on the CPU (torch's default there too).
                for p, g, state in zip(params, grads, states):
                    v = state["square_avg"]
                    v.mul_(rho).addcmul_(g, g, value=1.0 - rho)
                    if centered:
                        a = state["grad_avg"]
                        a.mul_(rho).add_(g, alpha=1.0 - rho)
                        denominator = v.addcmul(a, a, value=-1.0).add_(eps).sqrt_()
                    else:
                        denominator = v.add(eps).sqrt_()
                    if momentum > 0:
                        buffer = state["momentum_buffer"]
                        buffer.mul_(momentum).addcdiv_(g, denominator, value=lr)
                        p.sub_(buffer)
                    else:
                        p.addcdiv_(g, denominator, value=-lr)
                continue
            velocities = [s["square_avg"] for s in states]
            torch._foreach_mul_(velocities, rho)
            torch._foreach_addcmul_(velocities, grads, grads, value=1.0 - rho)
            if centered:
                averages = [s["grad_avg"] for s in states]
                torch._foreach_mul_(averages, rho)
                torch._foreach_add_(averages, grads, alpha=1.0 - rho)
                denominators = torch._foreach_addcmul(velocities, averages, averages, value=-1.0)
                torch._foreach_add_(denominators, eps)
            else:
                denominators = torch._foreach_add(velocities, eps)
            torch._foreach_sqrt_(denominators)
            if momentum > 0:
                buffers = [s["momentum_buffer"] for s in states]
                torch._foreach_mul_(buffers, momentum)
                torch._foreach_addcdiv_(buffers, grads, denominators, value=lr)
                torch._foreach_sub_(params, buffers)
            else:
                torch._foreach_addcdiv_(params, grads, denominators, value=-lr)


class RMSprop(Optimizer):
    """RMSprop: divides the gradient by a running root mean square, with Keras 3's rule.

    ``v = rho v + (1 - rho) g²``; ``w -= learning_rate * g / sqrt(v + epsilon)``
    (centered: ``sqrt(v - a² + epsilon)`` with ``a`` the running mean gradient; with
    momentum the increments accumulate in ``m = momentum m + increment``). Unlike
    `torch.optim.RMSprop`, ``epsilon`` is inside the square root, as in Keras.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        rho: Discount of the squared-gradient average (torch ``alpha``). Defaults to `0.9`.
        momentum: Momentum >= 0. Defaults to `0.0`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        centered: Normalize by the gradient's estimated variance. Defaults to `False`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.

    Example:

    >>> import torch
    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> opt = RMSprop(learning_rate=0.1)
    >>> opt.apply_gradients([(torch.tensor([1e-5]), w)])
    >>> round(float(w.detach()), 4)  # 0.1 * 1e-5 / sqrt(0.1 * 1e-10 + 1e-7)
    -0.0032
    """

    torch_class = _KerasRMSprop
    _default_name = "rmsprop"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        self.rho = _hyper("RMSprop", "rho", rho, low=0.0, high=1.0)
        self.momentum = _hyper("RMSprop", "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = _epsilon("RMSprop", epsilon)
        self.centered = validation.boolean("RMSprop", "centered", centered)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {
            "alpha": self.rho,
            "momentum": self.momentum,
            "eps": self.epsilon,
            "centered": self.centered,
        }

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014). With ``weight_decay`` it is AdamW (decoupled decay).

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        beta_1: Decay of the first-moment average, in ``[0, 1)``. Defaults to `0.9`.
        beta_2: Decay of the second-moment average, in ``[0, 1)``. Defaults to `0.999`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        amsgrad: Use the AMSGrad variant. Defaults to `False`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.
    """

    torch_class = torch.optim.Adam
    _default_name = "adam"
    _native_weight_decay = True
    # torch's fused Adam/AdamW kernel (the same update in one call for all weights: 2.8x
    # faster for a small MLP on the CPU, 5.5x for 50 M weights; rounding within ~1e-7).
    _fused = True

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        owner = type(self).__name__
        self.beta_1 = _beta(owner, "beta_1", beta_1)
        self.beta_2 = _beta(owner, "beta_2", beta_2)
        self.epsilon = _epsilon(owner, epsilon)
        self.amsgrad = validation.boolean(owner, "amsgrad", amsgrad)

    def _torch_optimizer_class(self) -> type[torch.optim.Optimizer]:
        # torch.optim.AdamW is Adam plus decoupled weight decay, as Keras' Adam.
        return torch.optim.AdamW if self.weight_decay else torch.optim.Adam

    def _torch_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "betas": (self.beta_1, self.beta_2),
            "eps": self.epsilon,
            "amsgrad": self.amsgrad,
        }
        if self.weight_decay:
            kwargs["weight_decay"] = self.weight_decay
        return kwargs

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        weight_decay: Decoupled weight decay, >= 0. Defaults to `0.004`.
        beta_1: Decay of the first-moment average. Defaults to `0.9`.
        beta_2: Decay of the second-moment average. Defaults to `0.999`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        amsgrad: Use the AMSGrad variant. Defaults to `False`.
        clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.
    """

    _default_name = "adamw"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        _hyper("AdamW", "weight_decay", weight_decay, low=0.0)
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            name,
        )

    def _torch_optimizer_class(self) -> type[torch.optim.Optimizer]:
        return torch.optim.AdamW

    def _torch_kwargs(self) -> dict[str, Any]:
        return {**super()._torch_kwargs(), "weight_decay": self.weight_decay}


class Adagrad(Optimizer):
    """Adagrad: per-parameter rates scaled by the accumulated squared gradients.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        initial_accumulator_value: Starting value of the accumulators, >= 0.
            Defaults to `0.1`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.
    """

    torch_class = torch.optim.Adagrad
    _default_name = "adagrad"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        self.initial_accumulator_value = _hyper(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.epsilon = _epsilon("Adagrad", epsilon)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class _AdamFamily(Optimizer):
    """Shared arguments of Adamax and Nadam."""

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        owner = type(self).__name__
        self.beta_1 = _beta(owner, "beta_1", beta_1)
        self.beta_2 = _beta(owner, "beta_2", beta_2)
        self.epsilon = _epsilon(owner, epsilon)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adamax(_AdamFamily):
    """Adamax: Adam with the infinity norm (Kingma & Ba, 2014, section 7).

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        beta_1: Decay of the first-moment average. Defaults to `0.9`.
        beta_2: Decay of the weighted infinity norm. Defaults to `0.999`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.
    """

    torch_class = torch.optim.Adamax
    _default_name = "adamax"


class Nadam(_AdamFamily):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016).

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        beta_1: Decay of the first-moment average. Defaults to `0.9`.
        beta_2: Decay of the second-moment average. Defaults to `0.999`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.
    """

    torch_class = torch.optim.NAdam
    _default_name = "nadam"


# Optimizers whose update rule Lamina writes itself live in a sibling module,
# re-exported here so that `lamina.optimizers.<name>` works for every optimizer.
from lamina.optimizers_extra import Adadelta, Adafactor, Ftrl, Lion  # noqa: E402


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Returns the Keras config of an optimizer (see `lamina.saving.serialize_keras_object`).

    Args:
        optimizer: A Lamina ``Optimizer``.
    """
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"Cannot serialize the optimizer {optimizer!r}: only Lamina `Optimizer` "
            "instances can be saved. Use a built-in name such as 'adam' or a "
            "`lamina.optimizers` class."
        )
    return serialization.class_config(optimizer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Optimizer:
    """Rebuilds an optimizer from the output of ``serialize``.

    Args:
        config: A dict ``{"class_name": ..., "config": ...}``.
        custom_objects: Extra optimizer or schedule classes by class name.
            Defaults to `None`.
    """
    return serialization.deserialize(
        config, family="optimizer", kind="optimizer", custom_objects=custom_objects
    )


def get(identifier: Any) -> Optimizer:
    """Resolves an optimizer identifier to an ``Optimizer`` instance.

    Args:
        identifier: A name (``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"adamw"``,
            ``"adagrad"``, ``"adamax"``, ``"nadam"``; case-insensitive; gives
            the Keras defaults), an ``Optimizer`` instance (returned as is) or
            class, or a ``serialize`` dict.
    """
    found = serialization.get(identifier, family="optimizer", kind="optimizer", base=Optimizer)
    if isinstance(found, Optimizer):
        return found
    raise ValueError(
        "Expected an optimizer to be a name (such as 'adam'), a Lamina `Optimizer` or a "
        f"config dict. Received: optimizer={identifier!r}."
    )
