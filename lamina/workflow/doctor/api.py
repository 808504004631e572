"""`doctor`, the entry point: validates the arguments, makes the copies and runs the checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina import losses, runtime
from lamina.data.tasks import TASKS, resolve_task
from lamina.utils import validation
from lamina.workflow.doctor import (
    data_checks,
    gradient_checks,
    init_checks,
    output_checks,
    training_checks,
)
from lamina.workflow.doctor.arrays import as_tensor, forward, mean_loss, training_arrays
from lamina.workflow.doctor.copies import model_copy, trainable_copy
from lamina.workflow.doctor.report import Check, DoctorReport, skipped

__all__ = ["doctor"]

_OWNER = "doctor"
_MODEL_CHECKS = [
    "init_loss",
    "finite_forward_backward",
    "gradient_norms",
    "dead_relu",
    "zero_input_baseline",
    "overfit_batch",
]
#: The model checks read a random sample of at most this many rows.
SAMPLE_SIZE = 512


def doctor(
    model: Any,
    x: Any = None,
    y: Any = None,
    *,
    splits: Any = None,
    train: Any = None,
    task: str = "auto",
    batch_size: int = 32,
    steps: int = 50,
    seed: int = 0,
    verbose: int = 1,
) -> DoctorReport:
    """Runs quick sanity checks on a compiled model and its training data.

    Run it on a freshly compiled model, before long training: the initial-loss,
    gradient and dead-unit checks describe the current weights. The caller's
    model, its weights and its optimizer are left untouched: the checks work on
    copies made with `lamina.models.clone_model(model, compile=True)` (same
    compile settings, a fresh optimizer of the same configuration; without
    `jit_compile`, which only slows short runs) holding the model's weights
    (`set_weights`), and the global random state is restored
    afterwards. A subclassed model must therefore be clonable: its class needs a
    `get_config()` returning its constructor arguments (or a constructor without
    arguments); otherwise `doctor` raises an error that says so.

    Args:
        model: A compiled single-input, single-output Lamina model (`compile` with
            an optimizer and a loss).
        x: Inputs, one array (NumPy, torch, pandas); or a `Splits` (the result of
            `lamina.data.split`), whose training set is checked. Defaults to `None`.
        y: Targets, one array. Defaults to `None`.
        splits: A `Splits` or a dict of ``(x, y)`` pairs; its ``train`` set is
            checked. Defaults to `None`.
        train: The training set as an ``(x, y)`` pair. Defaults to `None`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (decided by
            `lamina.data.infer_task` from the loss, the targets and the outputs).
            Decides whether class balance is checked for a custom loss, and flags
            classes trained with a regression loss. Defaults to `"auto"`.
        batch_size: Batch size of the short training runs and the gradient check.
            Defaults to `32`.
        steps: Training steps of each short run (zero-input comparison and
            overfitting one batch). Defaults to `50`.
        seed: Seed of the copies' initialisation and of the batch order. Defaults to `0`.
        verbose: 1 prints the report, 0 is silent. Defaults to `1`.

    Returns:
        A `DoctorReport` (``report.ok``, ``report["init_loss"]``, ``print(report)``).

    Example:
        >>> report = doctor(model, x_train, y_train, verbose=0)  # doctest: +SKIP
        >>> report = doctor(model, lamina.data.split(x, y), verbose=0)  # doctest: +SKIP
        >>> report.ok  # doctest: +SKIP
        True
    """
    validation.positive_int(_OWNER, "batch_size", batch_size)
    validation.positive_int(_OWNER, "steps", steps)
    validation.non_negative_int(_OWNER, "seed", seed)
    validation.one_of(_OWNER, "verbose", verbose, (0, 1))
    validation.one_of(_OWNER, "task", task, ("auto",) + TASKS)
    _check_model(model)
    x_np, y_np = training_arrays(_OWNER, x, y, splits, train)
    if len(x_np) < 2:
        raise ValueError(
            f"`{_OWNER}` expects at least 2 samples. Received: {len(x_np)} inputs and "
            f"{len(y_np)} labels."
        )
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        report = _run_checks(model, x_np, y_np, task, batch_size, steps, seed)
    if verbose:
        print(report)
    return report


def _check_model(model: Any) -> None:
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        state = "compiled without a loss" if getattr(model, "compiled", False) else "not compiled"
        raise ValueError(
            f"`{_OWNER}` expects a model compiled with a loss. Received: a model that is {state}. "
            "Call model.compile(optimizer='adam', loss=...) first."
        )
    if isinstance(model.loss, (list, tuple, dict)):
        raise ValueError(
            f"`{_OWNER}` supports single-output models with one loss. Received: loss of type "
            f"{type(model.loss).__name__}. Check each output with its own single-output model."
        )
    if getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"`{_OWNER}` expects a model compiled with an optimizer. Received: optimizer=None. "
            "Call model.compile(optimizer='adam', loss=...) first."
        )


def _run_checks(
    model: Any,
    x_np: np.ndarray,
    y_np: np.ndarray,
    task: str,
    batch_size: int,
    steps: int,
    seed: int,
) -> DoctorReport:
    rng = np.random.default_rng(seed)
    loss = losses.get(model.loss)
    checks = [data_checks.finite_data(x_np, y_np)]
    if checks[0].status == "fail":
        skip = ["label_encoding", "output_activation", "class_balance"] + _MODEL_CHECKS
        task = resolve_task(_OWNER, task, y_np, loss=loss)
        return DoctorReport(checks + skipped(skip, "the data holds NaN or inf"), len(x_np), task)
    device = runtime.get_device()
    sample = np.sort(rng.permutation(len(x_np))[: min(len(x_np), SAMPLE_SIZE)])
    data = as_tensor(x_np[sample], device), as_tensor(y_np[sample], device)
    base = model_copy(model, x_np, _OWNER)
    out = forward(base, data[0])
    if isinstance(out, (list, tuple, dict)):
        raise ValueError(
            f"`{_OWNER}` supports single-output models. Received: a model with {len(out)} outputs."
        )
    out_np = out.detach().cpu().numpy()
    task = resolve_task(_OWNER, task, y_np[sample], y_pred=out_np, loss=loss)
    kind = getattr(loss, "kind", None)
    k = int(out_np.shape[-1]) if out_np.ndim >= 2 else 1
    label_check = output_checks.label_encoding(kind, y_np[sample], out_np, task)
    checks += [label_check, output_checks.output_activation(loss, out_np)]
    if label_check.status == "fail":
        skip = ["class_balance"] + _MODEL_CHECKS
        return DoctorReport(
            checks + skipped(skip, "the labels do not match the loss"), len(x_np), task
        )
    checks.append(output_checks.class_balance(kind, y_np, k, task))
    opt = model.optimizer
    opt_name = f"{type(opt).__name__}(learning_rate={opt.learning_rate:g})"
    checks += _model_checks(base, loss, data, out, k, batch_size, steps, rng, opt_name)
    return DoctorReport(checks, len(x_np), task)


def _model_checks(
    base: Any,
    loss: Any,
    data: tuple[torch.Tensor, torch.Tensor],
    out: torch.Tensor,
    k: int,
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
    opt_name: str,
) -> list[Check]:
    """The checks on the model's weights (``base`` holds the caller's) and its training."""
    xs, ys = data
    init = float(mean_loss(loss, ys, out))
    expected, how = init_checks.expected_loss(loss, ys, k)
    zero_pred = None
    if getattr(loss, "kind", None) == "regression":
        zero_pred = float(mean_loss(loss, ys.float(), torch.zeros_like(out)))
    checks = [init_checks.init_loss(loss, init, expected, how, zero_pred)]
    grad_batch = torch.as_tensor(rng.permutation(len(xs))[:batch_size], device=xs.device)
    # A copy: training mode would update the batch-normalisation statistics of `base`.
    finite, grads = gradient_checks.gradients(
        model_copy(base, xs, _OWNER), loss, xs[grad_batch], ys[grad_batch]
    )
    checks += [finite, grads, gradient_checks.dead_relu(base, xs)]
    if finite.status == "fail":
        reason = "the forward or backward pass is not finite"
        return checks + skipped(["zero_input_baseline", "overfit_batch"], reason)

    def make(optimizer: Any = None) -> Any:
        return trainable_copy(base, xs[:2], ys[:2], optimizer)

    checks.append(training_checks.zero_input(make, loss, data, batch_size, steps, rng, init))
    small = torch.as_tensor(rng.permutation(len(xs))[: min(len(xs), 32)], device=xs.device)
    reference = expected if expected is not None and expected > 0 else init
    batch = xs[small], ys[small]
    checks.append(training_checks.overfit(make, loss, batch, steps, 0.1 * reference, opt_name))
    return checks
