"""The ``init_loss`` check of `doctor`: the loss at initialisation against its expected value."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.workflow.doctor.arrays import mean_loss
from lamina.workflow.doctor.report import Check

__all__ = ["expected_loss", "init_loss"]


def expected_loss(loss: Any, y: torch.Tensor, k: int) -> tuple[float | None, str]:
    """The loss expected at initialisation and how it was derived.

    ``log(k)`` for ``k`` balanced classes, ``log 2`` for binary crossentropy, the
    loss of predicting the mean of ``y`` for a regression loss; None otherwise.
    """
    kind = getattr(loss, "kind", None)
    if kind in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        return math.log(k), f"log({k}) for {k} balanced classes"
    if kind == "binary_crossentropy":
        return math.log(2.0), "log(2) for a 50/50 guess"
    if kind == "regression":
        y_f = y.float()
        mean = y_f.mean(dim=0, keepdim=True).expand_as(y_f)
        return float(mean_loss(loss, y_f, mean)), "the loss of predicting the mean of y"
    return None, "unknown for this loss"


def _init_fix(regression: bool, init: float, zero_pred: float | None, ev: dict[str, Any]) -> str:
    if regression and zero_pred is not None and init <= 3 * zero_pred:
        ev["loss_predicting_zero"] = zero_pred
        return (
            "The targets are far from 0 compared with their spread: standardise y (subtract the "
            "mean, divide by the std) or initialise the output bias at mean(y)."
        )
    if regression:
        return (
            "The initial outputs are large: normalise the inputs and use a standard initialiser "
            "(glorot_uniform, he_normal); also consider standardising y."
        )
    return (
        "The outputs are over-confident at initialisation: normalise the inputs (zero mean, unit "
        "variance), use a standard initialiser (glorot_uniform, he_normal) and keep the last "
        "layer's initial weights small."
    )


def init_loss(
    loss: Any, init: float, expected: float | None, how: str, zero_pred: float | None
) -> Check:
    """``init_loss``: passes within 1.5x the expected loss (3x for regression), fails
    beyond 4x (100x); a regression loss far above it names the targets' offset."""
    name = "init_loss"
    ev: dict[str, Any] = {"loss": init, "expected": expected}
    if expected is None or expected <= 0:
        return Check(
            name,
            "pass",
            f"Loss at initialisation {init:.4g} (no expected value for this loss).",
            ev,
        )
    ratio = init / expected
    ev["ratio"] = ratio
    regression = getattr(loss, "kind", None) == "regression"
    pass_at, fail_at = (3.0, 100.0) if regression else (1.5, 4.0)
    text = (
        f"Loss at initialisation {init:.4g}; expected about {expected:.4g} ({how}); "
        f"ratio {ratio:.2f}."
    )
    if ratio <= pass_at:
        if not regression and ratio < 0.5:
            text += " Lower than chance: the weights are not at initialisation (already trained?)."
        return Check(name, "pass", text, ev)
    fix = _init_fix(regression, init, zero_pred, ev)
    return Check(name, "warn" if ratio <= fail_at else "fail", text, ev, fix)
