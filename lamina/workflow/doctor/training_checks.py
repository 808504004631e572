"""The checks of `doctor` that train copies of the model for a few steps:
``zero_input_baseline`` (the model uses its inputs) and ``overfit_batch`` (it can
fit one small batch).

Both train copies made by ``make(optimizer=None)`` (see `copies.trainable_copy`):
each starts from the caller's weights, so the two runs of the zero-input
comparison start from identical weights (a controlled comparison) and the
overfitting run describes the model as it was given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lamina import optimizers
from lamina.workflow.doctor.arrays import forward, mean_loss
from lamina.workflow.doctor.report import Check

__all__ = ["PROBE_LR", "MIN_CONCLUSIVE_STEPS", "zero_input", "overfit"]

#: The learning rate of the Adam probe tried when the model's optimizer cannot overfit.
PROBE_LR = 1e-2
#: Fewer overfitting steps than this are too few to conclude that the model cannot fit.
MIN_CONCLUSIVE_STEPS = 20
_OVERFIT_FIX = (
    "Check that the labels match the inputs and the loss, that the output activation matches the "
    "loss's from_logits, that the model is big enough and not over-regularised, and that "
    "gradients flow (see gradient_norms)."
)
MakeCopy = Callable[..., Any]


def _train(model: Any, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[float]:
    out = []
    for xb, yb in batches:
        model.reset_metrics()  # so the step's running `loss` is this batch's loss
        logs = model.train_step((xb, yb))
        out.append(float(logs["loss"]))
    return out


def _eval_loss(model: Any, loss: Any, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(mean_loss(loss, y, forward(model, x)))


def zero_input(
    make: MakeCopy,
    loss: Any,
    data: tuple[torch.Tensor, torch.Tensor],
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
    init: float,
) -> Check:
    """``zero_input_baseline``: trained ``steps`` batches on the real inputs and on
    inputs set to zero (same batches, same starting weights), the model must do
    clearly better (loss < 0.9x) on the real ones."""
    name = "zero_input_baseline"
    x, y = data
    n = len(x)
    order = np.concatenate([rng.permutation(n) for _ in range(steps * batch_size // n + 1)])
    picks = [
        torch.as_tensor(order[i * batch_size : (i + 1) * batch_size], device=x.device)
        for i in range(steps)
    ]
    zeros = torch.zeros_like(x)
    real_model, zero_model = make(), make()
    _train(real_model, [(x[i], y[i]) for i in picks])
    _train(zero_model, [(zeros[i], y[i]) for i in picks])
    real, zero = _eval_loss(real_model, loss, x, y), _eval_loss(zero_model, loss, zeros, y)
    ev = {"loss_real_inputs": real, "loss_zero_inputs": zero, "loss_at_init": init, "steps": steps}
    if math.isfinite(real) and math.isfinite(zero) and real < 0.9 * zero:
        return Check(
            name,
            "pass",
            f"After {steps} steps the loss on real inputs ({real:.4g}) is clearly below "
            f"the loss with inputs set to zero ({zero:.4g}): the model uses its inputs.",
            ev,
        )
    fix = (
        "Check that the inputs reach the model, that x and y are aligned (not shuffled "
        "separately) and that the inputs carry signal after preprocessing."
    )
    if math.isfinite(real) and math.isfinite(init) and real > 0.95 * init:
        fix = (
            f"Neither run learned much in {steps} steps (loss {init:.4g} -> {real:.4g}): the "
            "learning rate may be too low; run lamina.workflow.lr_find or raise `steps`. " + fix
        )
    return Check(
        name,
        "warn",
        f"After {steps} steps the loss on real inputs ({real:.4g}) is not clearly below the "
        f"loss with inputs set to zero ({zero:.4g}).",
        ev,
        fix,
    )


def _fit_batch(
    make: MakeCopy, optimizer: Any, loss: Any, x: Any, y: Any, steps: int, target: float
) -> tuple[float, float, int]:
    """Trains a copy on one batch; returns (loss before, loss after, steps taken)."""
    m = make(optimizer)
    start = final = _eval_loss(m, loss, x, y)
    for step in range(1, steps + 1):
        m.train()
        m.train_step((x, y))
        if step % 5 == 0 or step == steps:
            final = _eval_loss(m, loss, x, y)
            if not math.isfinite(final) or final <= target:
                return start, final, step
    return start, final, steps


def overfit(
    make: MakeCopy,
    loss: Any,
    batch: tuple[torch.Tensor, torch.Tensor],
    steps: int,
    target: float,
    opt_name: str,
) -> Check:
    """``overfit_batch``: the model fits ``batch`` to ``target`` loss in ``steps`` steps
    with its own optimizer; if not, an Adam probe tells a slow optimizer (warn) from a
    model that cannot fit (fail, when the loss did not even halve in enough steps)."""
    name = "overfit_batch"
    x, y = batch
    probe_name = f"Adam(learning_rate={PROBE_LR:g})"
    start, own, own_steps = _fit_batch(make, None, loss, x, y, steps, target)
    ev: dict[str, Any] = {
        "samples": len(x),
        "target_loss": target,
        "loss_before": start,
        "loss": own,
        "steps": own_steps,
        "optimizer": opt_name,
    }
    if own <= target:
        return Check(
            name,
            "pass",
            f"Fitted {len(x)} samples to loss {own:.3g} (target {target:.3g}) in "
            f"{own_steps} steps with {opt_name}.",
            ev,
        )
    probe = own
    if opt_name != probe_name:
        adam = optimizers.Adam(learning_rate=PROBE_LR)
        _, probe, probe_steps = _fit_batch(make, adam, loss, x, y, steps, target)
        ev.update(probe_optimizer=probe_name, probe_loss=probe, probe_steps=probe_steps)
        if probe <= target:
            return Check(
                name,
                "warn",
                f"With {opt_name} the loss on {len(x)} samples only reached {own:.3g} in "
                f"{steps} steps (target {target:.3g}); {probe_name} reached {probe:.3g} in "
                f"{probe_steps}.",
                ev,
                "The model can fit, but your optimizer learns slowly: tune the learning rate "
                "with lamina.workflow.lr_find (or raise `steps` if slow is expected).",
            )
    return _overfit_failure(ev, start, own, probe, steps, target, opt_name, probe_name)


def _overfit_failure(
    ev: dict[str, Any],
    start: float,
    own: float,
    probe: float,
    steps: int,
    target: float,
    opt_name: str,
    probe_name: str,
) -> Check:
    n = ev["samples"]
    tried = f"{own:.3g} with {opt_name}" + (
        f" and {probe:.3g} with {probe_name}" if opt_name != probe_name else ""
    )
    falling = math.isfinite(probe) and math.isfinite(start) and probe < 0.5 * start
    if falling or steps < MIN_CONCLUSIVE_STEPS:
        return Check(
            "overfit_batch",
            "warn",
            f"The loss on {n} samples went from {start:.3g} to {tried} in {steps} "
            f"steps, not yet to the target {target:.3g}.",
            ev,
            f"Too few steps to conclude: raise `steps` (at least {MIN_CONCLUSIVE_STEPS}) to see "
            "whether the model can fit the batch.",
        )
    return Check(
        "overfit_batch",
        "fail",
        f"The model cannot fit {n} samples: loss {start:.3g} at the start, "
        f"{tried} after {steps} steps (target {target:.3g}).",
        ev,
        _OVERFIT_FIX,
    )
