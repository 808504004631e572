"""The checks of `doctor` on one forward/backward pass: ``finite_forward_backward``,
``gradient_norms`` (vanishing or exploding) and ``dead_relu``."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import activations
from lamina.workflow.doctor.arrays import forward, mean_loss
from lamina.workflow.doctor.report import Check

__all__ = ["VANISHING", "EXPLODING", "DEAD_FRACTION", "gradients", "dead_relu"]

#: A layer gradient norm below this is vanishing.
VANISHING = 1e-7
#: A layer gradient norm above this is exploding.
EXPLODING = 1e3
#: A ReLU layer with more than this fraction of units never firing is flagged.
DEAD_FRACTION = 0.5


def _is_relu(module: torch.nn.Module) -> bool:
    if isinstance(module, torch.nn.ReLU):
        return True
    return getattr(module, "activation", None) is activations.get("relu")


def _layer_name(qualified: str, module: torch.nn.Module) -> str:
    name = getattr(module, "name", None)
    return name if isinstance(name, str) else (qualified or type(module).__name__)


def _backward(model: Any, loss: Any, x: torch.Tensor, y: torch.Tensor) -> tuple[dict, dict]:
    """One training-mode forward/backward pass: the finite flags and each layer's gradient norm."""
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)
    value = mean_loss(loss, y, out)
    value.backward()
    norms: dict[str, float] = {}
    for qualified, module in model.named_modules():
        grads = [p.grad for p in module.parameters(recurse=False) if p.grad is not None]
        if grads:
            norm = torch.linalg.vector_norm(
                torch.stack([torch.linalg.vector_norm(g.float()) for g in grads])
            )
            norms[_layer_name(qualified, module)] = float(norm)
    model.zero_grad(set_to_none=True)
    finite = {
        "outputs_finite": bool(torch.isfinite(out).all()),
        "loss_finite": math.isfinite(float(value.detach())),
        "gradients_finite": all(math.isfinite(v) for v in norms.values()),
    }
    return finite, norms


def _finite_check(finite_ev: dict[str, bool]) -> Check:
    bad = [k.replace("_finite", "") for k, v in finite_ev.items() if not v]
    if bad:
        return Check(
            "finite_forward_backward",
            "fail",
            f"Non-finite values (NaN or inf) at initialisation in: {', '.join(bad)}.",
            finite_ev,
            "Lower the initialisation scale, normalise the inputs, check for log(0) or "
            "division by zero in custom layers or losses.",
        )
    return Check(
        "finite_forward_backward", "pass", "Outputs, loss and gradients are finite.", finite_ev
    )


def _norms_check(norms: dict[str, float]) -> Check:
    name = "gradient_norms"
    ev: dict[str, Any] = {"per_layer": norms}
    if not norms:
        return Check(
            name,
            "warn",
            "No parameter received a gradient.",
            ev,
            "Check that the layers are trainable and that the output depends on them.",
        )
    finite = {k: v for k, v in norms.items() if math.isfinite(v)}
    vanishing = [k for k, v in finite.items() if v < VANISHING]
    exploding = [k for k, v in finite.items() if v > EXPLODING]
    ev.update(
        min=min(norms.values()), max=max(norms.values()), vanishing=vanishing, exploding=exploding
    )
    if exploding:
        return Check(
            name,
            "warn",
            f"Exploding gradients (norm > {EXPLODING:g}) in "
            f"{', '.join(exploding)}; largest {ev['max']:.3g}.",
            ev,
            "Reduce the initialisation scale, normalise the inputs, lower the learning "
            "rate or clip gradients (optimizer clipnorm=1.0).",
        )
    if vanishing:
        return Check(
            name,
            "warn",
            f"Vanishing gradients (norm < {VANISHING:g}) in "
            f"{', '.join(vanishing)}; smallest {ev['min']:.3g}.",
            ev,
            "Use ReLU-family activations instead of sigmoid/tanh in deep stacks, a "
            "standard initialiser (he_normal, glorot_uniform), batch normalisation or "
            "residual connections.",
        )
    return Check(
        name, "pass", f"Layer gradient norms between {ev['min']:.3g} and {ev['max']:.3g}.", ev
    )


def gradients(model: Any, loss: Any, x: torch.Tensor, y: torch.Tensor) -> tuple[Check, Check]:
    """``finite_forward_backward`` and ``gradient_norms`` from one forward/backward pass
    on ``model`` (a copy: training mode updates batch-normalisation statistics)."""
    finite_ev, norms = _backward(model, loss, x, y)
    return _finite_check(finite_ev), _norms_check(norms)


def dead_relu(model: Any, x: torch.Tensor) -> Check:
    """``dead_relu``: the share of each ReLU layer's units that never fire on ``x``."""
    name = "dead_relu"
    stats: dict[str, tuple[int, int]] = {}
    handles = []

    def hook_for(layer_name: str) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor) and output.ndim >= 2:
                alive = (output.detach() > 0).reshape(-1, output.shape[-1]).any(dim=0)
                stats[layer_name] = (int((~alive).sum()), int(alive.numel()))

        return hook

    for qualified, module in model.named_modules():
        if _is_relu(module):
            handles.append(module.register_forward_hook(hook_for(_layer_name(qualified, module))))
    try:
        forward(model, x)
    finally:
        for h in handles:
            h.remove()
    if not stats:
        return Check(name, "pass", "No ReLU layers.", {})
    fractions = {k: dead / total for k, (dead, total) in stats.items()}
    dead_all = sum(d for d, _ in stats.values())
    units_all = sum(t for _, t in stats.values())
    ev = {"per_layer": fractions, "dead_units": dead_all, "units": units_all, "samples": len(x)}
    worst = [k for k, f in fractions.items() if f > DEAD_FRACTION]
    if worst:
        return Check(
            name,
            "warn",
            f"More than {100 * DEAD_FRACTION:.0f}% of the ReLU units never fire on "
            f"{len(x)} samples in: "
            + ", ".join(f"{k} ({100 * fractions[k]:.0f}%)" for k in worst)
            + ".",
            ev,
            "Lower the learning rate, check the bias initialisation (not strongly negative), "
            "normalise the inputs, or use LeakyReLU/ELU.",
        )
    return Check(
        name,
        "pass",
        f"{dead_all} of {units_all} ReLU units never fire "
        f"({100 * dead_all / max(units_all, 1):.1f}%).",
        ev,
    )
