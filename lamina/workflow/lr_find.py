"""`lr_find`: the learning-rate range test (Leslie Smith, 2015; popularised by fastai).

Train a copy of the model for a few steps while the learning rate grows
geometrically from tiny to huge, record the (smoothed) loss at every step, and
stop when the loss blows up. A good learning rate lies on the steep downward
slope, before the minimum: where the loss falls fastest, or about a tenth of
the rate at the minimum.

The caller's model, its weights and its optimizer are left untouched: the test
trains a copy made with `lamina.models.clone_model(model, compile=True)` (a fresh
optimizer of the same configuration, no `jit_compile`) holding the model's weights.

Example:
    >>> result = lr_find(model, x_train, y_train)  # doctest: +SKIP
    >>> model.optimizer.learning_rate = result.suggestion  # doctest: +SKIP
    >>> result.plot("lr_find.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lamina import runtime
from lamina.utils import validation
from lamina.workflow.doctor.arrays import as_tensor, training_arrays
from lamina.workflow.doctor.copies import model_copy, ready_to_train

__all__ = ["LRFinderResult", "lr_find"]


@dataclass
class LRFinderResult:
    """The curve of a learning-rate range test and the suggested learning rate.

    Attributes:
        lrs: The learning rate of each step (geometric, increasing).
        losses: The smoothed (debiased exponential moving average) training loss
            after each step.
        raw_losses: The training loss of each step, unsmoothed.
        suggestion: The suggested learning rate (None when the curve is too short).
        method: How `suggestion` was chosen: ``"steepest"`` (where the smoothed
            loss falls fastest against log(lr)) or ``"min_loss/10"`` (a tenth of the
            rate at the minimum loss, when no clear steep slope precedes it).
        steepest_lr: The learning rate at the steepest descent (or None).
        min_loss_lr: The learning rate at the minimum smoothed loss.
        diverged: Whether the test stopped early because the loss exceeded
            ``diverge_factor`` times its best value (or became NaN/inf).
    """

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float] = field(default_factory=list)
    suggestion: float | None = None
    method: str = "steepest"
    steepest_lr: float | None = None
    min_loss_lr: float | None = None
    diverged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Returns the curve and the suggestion as JSON-serialisable values."""
        return {
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "raw_losses": list(self.raw_losses),
            "suggestion": self.suggestion,
            "method": self.method,
            "steepest_lr": self.steepest_lr,
            "min_loss_lr": self.min_loss_lr,
            "diverged": self.diverged,
        }

    def __str__(self) -> str:
        end = "diverged" if self.diverged else "ran to the end"
        if self.suggestion is None:
            return f"LR range test: {len(self.lrs)} steps ({end}); too few points to suggest a learning rate."
        how = (
            "steepest descent of the smoothed loss"
            if self.method == "steepest"
            else "1/10 of the minimum-loss rate"
        )
        return (
            f"LR range test: {len(self.lrs)} steps from {self.lrs[0]:.3g} to {self.lrs[-1]:.3g} ({end}). "
            f"Suggested learning rate: {self.suggestion:.3g} ({how}); minimum loss at {self.min_loss_lr:.3g}."
        )

    def plot(self, path: Any = None, ax: Any = None) -> Any:
        """Plots the smoothed loss against the learning rate (log scale) and marks the suggestion.

        Uses matplotlib's Agg canvas (no window, no global pyplot state).

        Args:
            path: Where to save the figure as a PNG. Defaults to `None` (not saved).
            ax: A matplotlib `Axes` to draw on. Defaults to `None` (a new figure).

        Returns:
            The matplotlib `Figure`.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(6, 4))
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        ax.plot(self.lrs, self.losses, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("Learning-rate range test")
        if self.suggestion is not None:
            ax.axvline(
                self.suggestion,
                color="tab:red",
                linestyle="--",
                label=f"suggestion {self.suggestion:.2g} ({self.method})",
            )
        ax.legend()
        if path is not None:
            fig.savefig(path, format="png")
        return fig


def _suggest(
    lrs: np.ndarray, losses: np.ndarray
) -> tuple[float | None, str, float | None, float | None]:
    """Returns (suggestion, method, steepest_lr, min_loss_lr) for a smoothed curve.

    The first tenth of the curve is left out: there the moving average has seen
    only a few batches, so its dips are batch noise. The steepest descent is
    searched on the final descent, from the last point still at the plateau's
    level (the median loss before the minimum) up to, not including, the minimum,
    with the slope against log10(lr) taken over a window of a twentieth of the
    curve on each side, so that batch noise on the plateau does not win.
    """
    n = len(losses)
    if n < 3:
        return None, "steepest", None, float(lrs[int(np.argmin(losses))]) if n else None
    skip = max(1, n // 10)
    best = skip + int(np.argmin(losses[skip:]))
    min_loss_lr = float(lrs[best])
    steepest_lr = None
    if best - skip >= 2:
        plateau = np.median(losses[skip : best + 1])
        start = skip + int(np.flatnonzero(losses[skip:best] >= plateau)[-1])
        if best - start >= 2:
            w = max(1, n // 20)
            log_lrs = np.log10(lrs)
            idx = np.arange(start, best)
            lo, hi = np.maximum(idx - w, start), np.minimum(idx + w, best)
            slopes = (losses[hi] - losses[lo]) / (log_lrs[hi] - log_lrs[lo])
            if slopes.min() < 0:
                steepest_lr = float(lrs[int(idx[np.argmin(slopes)])])
    if steepest_lr is not None:
        return steepest_lr, "steepest", steepest_lr, min_loss_lr
    return max(min_loss_lr / 10.0, float(lrs[0])), "min_loss/10", None, min_loss_lr


def _check_arguments(
    model: Any,
    start_lr: float,
    end_lr: float,
    num_steps: int,
    batch_size: int,
    smooth: float,
    diverge_factor: float,
    seed: int,
) -> None:
    owner = "lr_find"
    validation.number(owner, "start_lr", start_lr, low=0.0, low_inclusive=False)
    validation.number(owner, "end_lr", end_lr, low=0.0, low_inclusive=False)
    if end_lr <= start_lr:
        raise ValueError(
            f"`{owner}` expects `end_lr` to be greater than `start_lr`. "
            f"Received: start_lr={start_lr!r}, end_lr={end_lr!r}. Pass e.g. start_lr=1e-7, end_lr=10."
        )
    validation.positive_int(owner, "num_steps", num_steps)
    if num_steps < 2:
        raise ValueError(
            f"`{owner}` expects `num_steps` to be at least 2. Received: num_steps={num_steps!r}."
        )
    validation.positive_int(owner, "batch_size", batch_size)
    validation.number(owner, "smooth", smooth, low=0.0, high=1.0, high_inclusive=False)
    validation.number(owner, "diverge_factor", diverge_factor, low=1.0, low_inclusive=False)
    validation.non_negative_int(owner, "seed", seed)
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"`{owner}` expects a model compiled with an optimizer and a loss. Received: a model that is "
            f"{'compiled without an optimizer' if getattr(model, 'compiled', False) else 'not compiled'}. "
            "Call model.compile(optimizer='adam', loss=...) first."
        )


def _range_test(
    m: Any,
    xt: torch.Tensor,
    yt: torch.Tensor,
    start_lr: float,
    end_lr: float,
    num_steps: int,
    batch_size: int,
    smooth: float,
    diverge_factor: float,
    seed: int,
) -> tuple[list[float], list[float], list[float], bool]:
    """Trains ``m`` one batch per learning rate; returns (lrs, smoothed, raw losses, diverged)."""
    rng = np.random.default_rng(seed)
    n = len(xt)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    order = np.concatenate([rng.permutation(n) for _ in range(num_steps * batch_size // n + 1)])
    avg, best = 0.0, math.inf
    out_lrs: list[float] = []
    smoothed: list[float] = []
    raw: list[float] = []
    for i, lr in enumerate(lrs):
        idx = torch.as_tensor(order[i * batch_size : (i + 1) * batch_size], device=xt.device)
        m.optimizer.learning_rate = float(lr)
        m.reset_metrics()  # so the step's running `loss` is this batch's loss
        loss = float(m.train_step((xt[idx], yt[idx]))["loss"])
        if not math.isfinite(loss):
            return out_lrs, smoothed, raw, True
        avg = smooth * avg + (1.0 - smooth) * loss
        value = avg / (1.0 - smooth ** (i + 1))
        out_lrs.append(float(lr))
        smoothed.append(value)
        raw.append(loss)
        best = min(best, value)
        if value > diverge_factor * best:
            return out_lrs, smoothed, raw, True
    return out_lrs, smoothed, raw, False


def lr_find(
    model: Any,
    x: Any = None,
    y: Any = None,
    *,
    splits: Any = None,
    train: Any = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 32,
    smooth: float = 0.98,
    diverge_factor: float = 4.0,
    seed: int = 0,
) -> LRFinderResult:
    """Runs the learning-rate range test on a copy of a compiled model.

    Step ``i`` trains one batch at ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``.
    The loss is smoothed with a debiased exponential moving average
    (``avg = smooth * avg + (1 - smooth) * loss``, reported as ``avg / (1 - smooth ** (i + 1))``);
    the test stops when it exceeds ``diverge_factor`` times its best value.

    Args:
        model: A compiled Lamina model (its optimizer's configuration is reused on a
            fresh optimizer; its weights are the starting point). Left unchanged.
        x: Training inputs, one array; or a `Splits` (the result of
            `lamina.data.split`), whose training set is used. Defaults to `None`.
        y: Training targets, one array. Defaults to `None`.
        splits: A `Splits` or a dict of ``(x, y)`` pairs; its ``train`` set is
            used. Defaults to `None`.
        train: The training set as an ``(x, y)`` pair. Defaults to `None`.
        start_lr: The first learning rate, > 0. Defaults to `1e-7`.
        end_lr: The last learning rate, > `start_lr`. Defaults to `10`.
        num_steps: Number of steps (one batch each). Defaults to `100`.
        batch_size: Samples per step. Defaults to `32`.
        smooth: Smoothing factor of the moving average, in [0, 1). Defaults to `0.98`.
        diverge_factor: Stop when the smoothed loss exceeds this times its best
            value. Defaults to `4.0`.
        seed: Seed of the batch order (and of dropout in the copy). Defaults to `0`.

    Returns:
        An `LRFinderResult` with `lrs`, `losses`, `suggestion` and `plot()`.
    """
    owner = "lr_find"
    _check_arguments(model, start_lr, end_lr, num_steps, batch_size, smooth, diverge_factor, seed)
    x_np, y_np = training_arrays(owner, x, y, splits, train)
    if len(x_np) == 0:
        raise ValueError(
            f"`{owner}` expects at least one sample. Received: {len(x_np)} inputs and "
            f"{len(y_np)} labels."
        )
    device = runtime.get_device()
    xt, yt = as_tensor(x_np, device), as_tensor(y_np, device)
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        first = torch.as_tensor(np.arange(min(len(x_np), batch_size)), device=device)
        m = ready_to_train(model_copy(model, x_np, owner), xt[first], yt[first])
        out_lrs, smoothed, raw, diverged = _range_test(
            m, xt, yt, start_lr, end_lr, num_steps, batch_size, smooth, diverge_factor, seed
        )
    suggestion, method, steepest, min_lr = _suggest(np.asarray(out_lrs), np.asarray(smoothed))
    return LRFinderResult(
        lrs=out_lrs,
        losses=smoothed,
        raw_losses=raw,
        suggestion=suggestion,
        method=method,
        steepest_lr=steepest,
        min_loss_lr=min_lr,
        diverged=diverged,
    )
