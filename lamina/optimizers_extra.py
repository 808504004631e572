"""Adadelta, Lion, Ftrl and Adafactor, with the Keras 3 names, defaults and update rules.

Adadelta runs ``torch.optim.Adadelta`` (the same rule as Keras). Lion, Ftrl and
Adafactor have no ``torch.optim`` class with Keras' rule, so they run the small
``torch.optim.Optimizer`` subclasses below, written from the Keras update
steps. All four are Lamina :class:`~lamina.optimizers.Optimizer` s: built
lazily, with schedules, clipping and weight decay, and also available as
``lamina.optimizers.<name>``.

Example:

>>> import torch
>>> from lamina import optimizers
>>> model = torch.nn.Linear(3, 1)
>>> opt = optimizers.Lion(learning_rate=1e-4)
>>> model(torch.randn(4, 3)).sum().backward()
>>> opt.apply_gradients([(p.grad, p) for p in model.parameters()])
>>> opt.iterations
1
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.optimizers import Optimizer, _epsilon, _hyper
from lamina.schedules import LearningRateSchedule
from lamina.utils import validation

__all__ = ["Adadelta", "Lion", "Ftrl", "Adafactor"]


# --------------------------------------------------------------------------- torch kernels


class _TorchLion(torch.optim.Optimizer):
    """Keras' Lion step: ``w -= lr * sign(b1 m + (1 - b1) g)``, then ``m = b2 m + (1 - b2) g``."""

    def __init__(self, params: Any, lr: float, beta_1: float, beta_2: float) -> None:
        super().__init__(params, {"lr": lr, "beta_1": beta_1, "beta_2": beta_2})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            lr, b1, b2 = group["lr"], group["beta_1"], group["beta_2"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.to(p.dtype)
                state = self.state[p]
                if not state:
                    state["momentum"] = torch.zeros_like(p)
                m = state["momentum"]
                p.add_(torch.sign(m * b1 + g * (1.0 - b1)), alpha=-lr)
                m.mul_(b2).add_(g, alpha=1.0 - b2)


class _TorchFtrl(torch.optim.Optimizer):
    """Keras' FTRL-Proximal step (McMahan et al., 2013), with shrinkage and ``beta``."""

    def __init__(self, params: Any, lr: float, **hyper: float) -> None:
        super().__init__(params, {"lr": lr, **hyper})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            lr, power = group["lr"], group["learning_rate_power"]
            l1 = group["l1_regularization_strength"]
            l2 = group["l2_regularization_strength"] + group["beta"] / (2.0 * lr)
            shrinkage = group["l2_shrinkage_regularization_strength"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.to(p.dtype)
                state = self.state[p]
                if not state:
                    state["accumulator"] = torch.full_like(p, group["initial_accumulator_value"])
                    state["linear"] = torch.zeros_like(p)
                accum, linear = state["accumulator"], state["linear"]
                new_accum = accum + g * g
                grad_to_use = g + 2.0 * shrinkage * p
                sigma = (new_accum.pow(-power) - accum.pow(-power)) / lr
                linear.add_(grad_to_use - sigma * p)
                quadratic = new_accum.pow(-power) / lr + 2.0 * l2
                p.copy_((linear.clamp(-l1, l1) - linear) / quadratic)
                accum.copy_(new_accum)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean().sqrt()


class _TorchAdafactor(torch.optim.Optimizer):
    """Keras' Adafactor step (Shazeer & Stern, 2018): factored second moments over the
    last two axes of weights with two or more axes, update clipping, relative step size."""

    def __init__(self, params: Any, lr: float, **hyper: float) -> None:
        super().__init__(params, {"lr": lr, **hyper})

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        for group in self.param_groups:
            lr = group["lr"]
            decay, eps1 = group["beta_2_decay"], group["epsilon_1"]
            eps2, clip = group["epsilon_2"], group["clip_threshold"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.to(p.dtype)
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["v"] = torch.zeros_like(p)
                    if p.ndim >= 2:
                        state["r"] = torch.zeros(p.shape[:-1], dtype=p.dtype, device=p.device)
                        state["c"] = torch.zeros(
                            (*p.shape[:-2], p.shape[-1]), dtype=p.dtype, device=p.device
                        )
                state["step"] += 1
                t = float(state["step"])
                rho = min(lr, t**-0.5)
                alpha = torch.clamp_min(_rms(p), eps2) * rho
                squared = g * g + eps1
                beta_2 = 1.0 - t**decay
                v = state["v"]
                if p.ndim >= 2:
                    r, c = state["r"], state["c"]
                    r.mul_(beta_2).add_(squared.mean(dim=-1), alpha=1.0 - beta_2)
                    c.mul_(beta_2).add_(squared.mean(dim=-2), alpha=1.0 - beta_2)
                    v.copy_((r / r.mean(dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
                else:
                    v.mul_(beta_2).add_(squared, alpha=1.0 - beta_2)
                u = g / v.sqrt()
                u = u / torch.clamp_min(_rms(u) / clip, 1.0)
                p.sub_(alpha * u)


# --------------------------------------------------------------------------- optimizers


class Adadelta(Optimizer):
    """Adadelta: step sizes from running averages of squared gradients and updates (Zeiler, 2012).

    ``acc_g = rho acc_g + (1 - rho) g²``;
    ``delta = sqrt(acc_delta + eps) / sqrt(acc_g + eps) * g``;
    ``acc_delta = rho acc_delta + (1 - rho) delta²``; ``w -= learning_rate * delta``.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Keras' default is
            small; the original paper uses 1.0. Defaults to `0.001`.
        rho: Decay rate of the running averages, in ``[0, 1]``. Defaults to `0.95`.
        epsilon: Small constant for numerical stability. Defaults to `1e-7`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.

    Example:

    >>> opt = Adadelta(learning_rate=1.0)
    >>> opt.get_config()["rho"]
    0.95
    """

    torch_class = torch.optim.Adadelta
    _default_name = "adadelta"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        self.rho = _hyper("Adadelta", "rho", rho, low=0.0, high=1.0)
        self.epsilon = _epsilon("Adadelta", epsilon)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"rho": self.rho, "eps": self.epsilon}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Lion(Optimizer):
    """Lion: the sign of an interpolated momentum as the update (Chen et al., 2023).

    ``w -= learning_rate * sign(beta_1 m + (1 - beta_1) g)``, then
    ``m = beta_2 m + (1 - beta_2) g``. The update has a larger norm than
    Adam's: a good learning rate is usually 3-10x smaller than AdamW's, and the
    weight decay 3-10x larger.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        beta_1: Weight of the momentum in the update, in ``(0, 1]``. Defaults to `0.9`.
        beta_2: Decay of the momentum, in ``[0, 1]``. Defaults to `0.99`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.

    Example:

    >>> Lion(learning_rate=3e-4, weight_decay=0.1).get_config()["beta_2"]
    0.99
    """

    torch_class = _TorchLion
    _default_name = "lion"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        _hyper("Lion", "beta_1", beta_1, low=0.0, high=1.0, low_inclusive=False)
        self.beta_1 = beta_1
        self.beta_2 = _hyper("Lion", "beta_2", beta_2, low=0.0, high=1.0)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Ftrl(Optimizer):
    """FTRL-Proximal ("Follow The Regularized Leader", McMahan et al., 2013), for wide sparse models.

    Per weight: ``n += g²``; ``sigma = (n ** -p - n_prev ** -p) / learning_rate``;
    ``z += g + 2 * l2_shrinkage * w - sigma * w``;
    ``w = (clip(z, -l1, l1) - z) / (n ** -p / learning_rate + 2 * (l2 + beta / (2 * learning_rate)))``
    with ``p = learning_rate_power``: weights whose ``|z| <= l1`` are exactly 0.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        learning_rate_power: How the rate decreases with ``n``, <= 0 (0 for a
            fixed rate). Defaults to `-0.5`.
        initial_accumulator_value: Starting value of ``n``, >= 0. Defaults to `0.1`.
        l1_regularization_strength: L1 strength, >= 0. Defaults to `0.0`.
        l2_regularization_strength: Stabilising L2 strength, >= 0. Defaults to `0.0`.
        l2_shrinkage_regularization_strength: L2 penalty added to the
            gradient (magnitude shrinkage), >= 0. Defaults to `0.0`.
        beta: The ``beta`` of the paper, >= 0. Defaults to `0.0`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.

    Example:

    >>> Ftrl(l1_regularization_strength=0.01).get_config()["learning_rate_power"]
    -0.5
    """

    torch_class = _TorchFtrl
    _default_name = "ftrl"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        owner = "Ftrl"
        self.learning_rate_power = _hyper(
            owner, "learning_rate_power", learning_rate_power, high=0.0
        )
        self.initial_accumulator_value = _hyper(
            owner, "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.l1_regularization_strength = _hyper(
            owner, "l1_regularization_strength", l1_regularization_strength, low=0.0
        )
        self.l2_regularization_strength = _hyper(
            owner, "l2_regularization_strength", l2_regularization_strength, low=0.0
        )
        self.l2_shrinkage_regularization_strength = _hyper(
            owner,
            "l2_shrinkage_regularization_strength",
            l2_shrinkage_regularization_strength,
            low=0.0,
        )
        self.beta = _hyper(owner, "beta", beta, low=0.0)
        if learning_rate_power < 0 and initial_accumulator_value == 0:
            raise ValueError(
                "`Ftrl` needs `initial_accumulator_value` > 0 when `learning_rate_power` < 0 "
                "(0 ** power is infinite). Received: initial_accumulator_value=0, "
                f"learning_rate_power={learning_rate_power}. Pass a small positive value "
                "such as 0.1."
            )

    def _hyperparameters(self) -> dict[str, float]:
        return {
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }

    def _torch_kwargs(self) -> dict[str, Any]:
        return self._hyperparameters()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._hyperparameters()}


class Adafactor(Optimizer):
    """Adafactor: Adam-like steps with factored second moments, for low memory (Shazeer & Stern, 2018).

    For a weight with two or more axes, the squared-gradient average is kept
    as a row vector and a column vector over its last two axes (Lamina
    weights are in PyTorch layout, so a Dense kernel is ``(out, in)``; for 2-D
    weights the update is the same in either layout). Each step:
    ``beta_2 = 1 - t ** beta_2_decay``, update ``u = g / sqrt(v)`` clipped to RMS
    ``clip_threshold``, scaled by ``max(epsilon_2, rms(w)) * min(learning_rate, 1 / sqrt(t))``.

    Args:
        learning_rate: A float or a ``LearningRateSchedule``. Defaults to `0.001`.
        beta_2_decay: Exponent of the second-moment decay schedule. Defaults to `-0.8`.
        epsilon_1: Added to squared gradients. Defaults to `1e-30`.
        epsilon_2: Lower bound of the weight RMS in the step size. Defaults to `1e-3`.
        clip_threshold: RMS bound of the update (independent of ``clipnorm``
            and friends), > 0. Defaults to `1.0`.
        relative_step: Keras' flag for the relative step size
            ``min(learning_rate, 1 / sqrt(t))``; as in Keras' update rule, that
            bound applies either way, so the flag is kept for compatibility
            and saved in the config. Defaults to `True`.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: See ``Optimizer``.

    Example:

    >>> Adafactor().get_config()["beta_2_decay"]
    -0.8
    """

    torch_class = _TorchAdafactor
    _default_name = "adafactor"

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_2_decay: float = -0.8,
        epsilon_1: float = 1e-30,
        epsilon_2: float = 1e-3,
        clip_threshold: float = 1.0,
        relative_step: bool = True,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, clipnorm, clipvalue, global_clipnorm, weight_decay, name)
        owner = "Adafactor"
        self.beta_2_decay = _hyper(owner, "beta_2_decay", beta_2_decay, high=0.0)
        self.epsilon_1 = _hyper(owner, "epsilon_1", epsilon_1, low=0.0)
        self.epsilon_2 = _hyper(owner, "epsilon_2", epsilon_2, low=0.0)
        self.clip_threshold = _hyper(
            owner, "clip_threshold", clip_threshold, low=0.0, low_inclusive=False
        )
        self.relative_step = validation.boolean(owner, "relative_step", relative_step)

    def _hyperparameters(self) -> dict[str, Any]:
        return {
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
        }

    def _torch_kwargs(self) -> dict[str, Any]:
        return self._hyperparameters()

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            **self._hyperparameters(),
            "relative_step": self.relative_step,
        }
