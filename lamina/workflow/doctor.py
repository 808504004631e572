"""`doctor`: quick sanity checks of a compiled model and its data, before long training.

Karpathy's "recipe for training neural networks" as code. Each check gets a
status (``pass``, ``warn``, ``fail``, or ``skip`` when an earlier failure makes it
meaningless) and the numbers behind it:

* ``finite_data``: no NaN or inf in ``x`` or ``y``;
* ``label_encoding``: labels match the loss (integer labels for sparse
  crossentropy, one-hot for categorical, values in [0, 1] for binary) and do not
  look off by one;
* ``output_activation``: outputs are probabilities exactly when the loss expects
  them (``from_logits=False``);
* ``class_balance``: the majority share and the smallest class;
* ``init_loss``: the loss at initialisation is close to its expected value
  (``log(classes)``, ``log 2``, or the loss of predicting the mean of ``y``);
* ``finite_forward_backward``: no NaN or inf in outputs, loss or gradients;
* ``gradient_norms``: no vanishing (< 1e-7) or exploding (> 1e3) layer gradients;
* ``dead_relu``: at most half of a ReLU layer's units never fire on a batch;
* ``zero_input_baseline``: trained briefly, the model does clearly better on the
  real inputs than on inputs set to zero (so it uses its inputs);
* ``overfit_batch``: the model can fit a batch of 32 samples to near-zero loss.

The caller's model is never modified: every check works on deep copies, each
compiled with a fresh optimizer of the caller's optimizer's configuration.
"""

from __future__ import annotations

import copy
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from rich import box
from rich.console import Console
from rich.table import Table

from lamina import activations, losses, optimizers, runtime
from lamina.utils import validation

__all__ = ["Check", "DoctorReport", "doctor"]

STATUSES = ("pass", "warn", "fail", "skip")
VANISHING = 1e-7
EXPLODING = 1e3
DEAD_FRACTION = 0.5
IMBALANCE_RATIO = 5.0
_PROBE_LR = 1e-2
_MIN_CONCLUSIVE_STEPS = 20
_OVERFIT_FIX = (
    "Check that the labels match the inputs and the loss, that the output activation matches the loss's "
    "from_logits, that the model is big enough and not over-regularised, and that gradients flow (see "
    "gradient_norms)."
)


@dataclass
class Check:
    """One sanity check: its name, status, what was found, the numbers and a fix.

    Attributes:
        name: The check's name, e.g. ``"init_loss"``.
        status: ``"pass"``, ``"warn"``, ``"fail"`` or ``"skip"``.
        message: What was found, in a sentence or two.
        evidence: The numbers behind it (JSON-serialisable).
        fix: What to do about a warning or failure (None when it passed).
    """

    name: str
    status: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None


@dataclass
class DoctorReport:
    """The result of `doctor`: a list of `Check` objects.

    `ok` is True when no check failed; index the report by check name
    (``report["init_loss"].status``); print it for a table.
    """

    checks: list[Check]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        """The checks with status ``"fail"``."""
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[Check]:
        """The checks with status ``"warn"``."""
        return [c for c in self.checks if c.status == "warn"]

    def __getitem__(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(
            f"No check named {name!r} in this report. The checks are: "
            f"{', '.join(c.name for c in self.checks)}."
        )

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Returns ``{"ok": bool, "checks": [{name, status, message, evidence, fix}, ...]}``."""
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}

    def __str__(self) -> str:
        t = Table(title="Doctor: sanity checks", box=box.SIMPLE_HEAD)
        t.add_column("check")
        t.add_column("status")
        t.add_column("finding")
        for c in self.checks:
            t.add_row(c.name, c.status.upper(), c.message)
        buffer = io.StringIO()
        Console(
            file=buffer, width=120, color_system=None, force_terminal=False, no_color=True
        ).print(t)
        lines = [buffer.getvalue().rstrip()]
        fixes = [c for c in self.checks if c.fix and c.status in ("warn", "fail")]
        if fixes:
            lines += ["", "Fixes:"] + [f"  - {c.name}: {c.fix}" for c in fixes]
        lines += ["", "OK" if self.ok else f"{len(self.failures)} check(s) failed."]
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _numpy(value: Any, name: str) -> np.ndarray:
    if isinstance(value, dict):
        raise TypeError(
            f"`doctor` expects `{name}` to be one array (a single-input, single-output model). "
            f"Received: {name} of type dict."
        )
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object or arr.ndim == 0:
        raise TypeError(
            f"`doctor` expects `{name}` to be a numeric array with a batch axis. "
            f"Received: {name} with dtype={arr.dtype} and shape={arr.shape}."
        )
    return arr


def _tensor(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.as_tensor(arr)
    if t.is_floating_point() and t.dtype != torch.float32:
        t = t.float()
    return t.to(device)


def _per_sample_loss(loss: Any, y: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """The mean data loss (no regularisation), whatever the loss's reduction."""
    return loss.call(y, y_pred).float().mean()


def _forward(model: Any, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x, training=False)


def _is_relu(module: torch.nn.Module) -> bool:
    if isinstance(module, torch.nn.ReLU):
        return True
    return getattr(module, "activation", None) is activations.get("relu")


def _layer_name(qualified: str, module: torch.nn.Module) -> str:
    name = getattr(module, "name", None)
    return name if isinstance(name, str) else (qualified or type(module).__name__)


def _class_ids(kind: str, y: np.ndarray, k: int) -> np.ndarray | None:
    if kind == "sparse_categorical_crossentropy":
        return y.reshape(-1).astype(np.int64)
    if kind == "categorical_crossentropy":
        return y.reshape(len(y), -1).argmax(-1)
    if kind == "binary_crossentropy" and k == 1:
        return (y.reshape(-1) >= 0.5).astype(np.int64)
    return None


class _Copier:
    """Makes fresh trainable copies of one built model, each with a new optimizer."""

    def __init__(
        self,
        base: Any,
        opt_config: dict[str, Any],
        loss_spec: Any,
        x: torch.Tensor,
        y: torch.Tensor,
    ) -> None:
        self.base, self.opt_config, self.loss_spec, self.x, self.y = (
            base,
            opt_config,
            loss_spec,
            x,
            y,
        )

    def make(self, optimizer: Any = None) -> Any:
        m = copy.deepcopy(self.base)
        opt = optimizers.deserialize(self.opt_config) if optimizer is None else optimizer
        m.compile(optimizer=opt, loss=self.loss_spec)
        # evaluate() builds the compiled loss on a real batch; then the optimizer.
        m.evaluate(self.x, self.y, batch_size=len(self.x), verbose=0)
        m.optimizer.build(list(m.parameters()))
        m.train()
        return m


def _copy_model(model: Any) -> Any:
    """A deep copy of ``model``; a `torch.compile` wrapper it holds (``jit_compile=True``)
    is not copied (the copy is recompiled without it)."""
    memo: dict[int, Any] = {
        id(v): None
        for v in vars(model).values()
        if isinstance(v, torch.nn.Module) and hasattr(v, "_orig_mod")
    }
    try:
        return copy.deepcopy(model, memo)
    except Exception as e:  # noqa: BLE001 - report any copying failure in the house form
        raise TypeError(
            "`doctor` works on a deep copy of the model so that yours stays untouched, but "
            f"`copy.deepcopy` failed: {e}. Received: model of type {type(model).__name__}. "
            "Compile with `jit_compile=False` while running the checks, or make the model copyable."
        ) from e


# --------------------------------------------------------------------------- data checks


def _finite_data(x: np.ndarray, y: np.ndarray) -> Check:
    counts = {}
    for name, arr in (("x", x), ("y", y)):
        if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating):
            counts[f"{name}_nan"] = int(np.isnan(arr).sum())
            counts[f"{name}_inf"] = int(np.isinf(arr).sum())
        else:
            counts[f"{name}_nan"] = counts[f"{name}_inf"] = 0
    bad = {k: v for k, v in counts.items() if v}
    if bad:
        where = ", ".join(f"{v} {k.split('_')[1]} in {k.split('_')[0]}" for k, v in bad.items())
        return Check(
            "finite_data",
            "fail",
            f"The data holds non-finite values: {where}.",
            counts,
            "Remove or impute the missing values (e.g. with the column mean) before training; "
            "a single NaN makes the loss and every weight NaN.",
        )
    return Check("finite_data", "pass", "No NaN or inf in x or y.", counts)


def _label_encoding(kind: str | None, y: np.ndarray, out: np.ndarray) -> Check:
    name = "label_encoding"
    k = int(out.shape[-1]) if out.ndim >= 2 else 1
    if kind not in (
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
        "binary_crossentropy",
    ):
        return Check(
            name,
            "pass",
            f"Regression or custom loss ({kind}): no label encoding to check.",
            {"y_mean": float(np.mean(y)), "y_std": float(np.std(y))},
        )
    integral = not np.issubdtype(y.dtype, np.floating) or bool(np.all(y == np.round(y)))
    if kind == "sparse_categorical_crossentropy":
        if k == 1:
            return Check(
                name,
                "fail",
                "The last layer has 1 unit, but sparse_categorical_crossentropy needs one "
                "unit per class.",
                {"output_units": k},
                "Give the last layer one unit per class (with softmax), or for two classes use "
                "Dense(1, activation='sigmoid') with binary_crossentropy.",
            )
        if y.ndim >= 2 and y.shape[-1] == k and y.shape == out.shape:
            return Check(
                name,
                "fail",
                f"The labels look one-hot encoded (shape {y.shape}) but the loss is "
                "sparse_categorical_crossentropy, which expects integer class indices.",
                {"y_shape": list(y.shape), "output_units": k},
                "Use loss='categorical_crossentropy', or pass y.argmax(-1) as labels.",
            )
        if not integral:
            return Check(
                name,
                "fail",
                "sparse_categorical_crossentropy expects integer class indices, but the "
                "labels hold non-integer values.",
                {"y_dtype": str(y.dtype)},
                "Pass integer class indices 0..classes-1.",
            )
        lo, hi = int(np.min(y)), int(np.max(y))
        ev = {"min_label": lo, "max_label": hi, "output_units": k}
        if lo == 1 and hi == k:
            return Check(
                name,
                "fail",
                f"The labels run from 1 to {k} but the model outputs {k} classes "
                f"(indices 0..{k - 1}): the labels look off by one.",
                ev,
                "Class indices start at 0: pass y - 1.",
            )
        if lo < 0 or hi >= k:
            return Check(
                name,
                "fail",
                f"Labels must lie in [0, {k - 1}] for {k} output units. "
                f"Received labels with min={lo}, max={hi}.",
                ev,
                f"Fix the labels, or give the last layer {hi + 1} units if there are {hi + 1} classes.",
            )
        return Check(name, "pass", f"Integer labels in [0, {k - 1}] for {k} output units.", ev)
    if kind == "categorical_crossentropy":
        if y.shape != out.shape:
            if y.ndim == 1 or (y.ndim == 2 and y.shape[-1] == 1):
                return Check(
                    name,
                    "fail",
                    f"The labels are class indices (shape {y.shape}) but the loss is "
                    "categorical_crossentropy, which expects one-hot rows.",
                    {"y_shape": list(y.shape), "output_shape": list(out.shape)},
                    "Use loss='sparse_categorical_crossentropy', or one-hot encode the labels.",
                )
            return Check(
                name,
                "fail",
                f"The labels' shape {y.shape} does not match the outputs' {out.shape}.",
                {"y_shape": list(y.shape), "output_shape": list(out.shape)},
                "Give the last layer one unit per column of y.",
            )
        sums = y.reshape(len(y), -1).sum(-1)
        ev = {
            "min": float(np.min(y)),
            "max": float(np.max(y)),
            "row_sum_min": float(sums.min()),
            "row_sum_max": float(sums.max()),
        }
        if np.min(y) < 0 or np.max(y) > 1 or not np.allclose(sums, 1.0, atol=1e-3):
            return Check(
                name,
                "fail",
                "categorical_crossentropy expects one-hot (or probability) rows "
                "summing to 1, but the labels do not.",
                ev,
                "One-hot encode the class indices (e.g. np.eye(classes)[y]).",
            )
        return Check(name, "pass", f"One-hot rows over {k} classes.", ev)
    # binary crossentropy
    ev = {"min": float(np.min(y)), "max": float(np.max(y)), "output_units": k}
    if y.size != out.size:
        return Check(
            name,
            "fail",
            f"binary_crossentropy needs one 0/1 target per output unit, but y has shape "
            f"{y.shape} and the outputs {out.shape}.",
            ev,
            "For several classes use softmax with sparse_categorical_crossentropy; for "
            "multi-label targets give y one column per output unit.",
        )
    if np.min(y) < 0 or np.max(y) > 1:
        values = np.unique(y)
        fix = "binary_crossentropy expects targets in [0, 1]."
        if integral and len(values) == 2 and values[0] == 1 and values[1] == 2:
            fix += " The labels are 1 and 2: they look off by one; pass y - 1."
        elif integral and len(values) > 2:
            fix += (
                f" There are {len(values)} distinct labels: for several classes use Dense(classes, "
                "activation='softmax') with sparse_categorical_crossentropy."
            )
        else:
            fix += " Map the two classes to 0 and 1."
        return Check(
            name,
            "fail",
            f"binary_crossentropy targets must lie in [0, 1]. Received targets in "
            f"[{ev['min']:g}, {ev['max']:g}].",
            ev,
            fix,
        )
    return Check(name, "pass", "Targets in [0, 1] for binary crossentropy.", ev)


def _output_activation(loss: Any, out: np.ndarray) -> Check:
    name = "output_activation"
    kind, from_logits = getattr(loss, "kind", None), bool(getattr(loss, "from_logits", False))
    if kind not in (
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
        "binary_crossentropy",
    ):
        return Check(name, "pass", "Not a crossentropy loss: no output activation to check.", {})
    flat = out.reshape(len(out), -1).astype(np.float64)
    ev: dict[str, Any] = {
        "from_logits": from_logits,
        "output_min": float(flat.min()),
        "output_max": float(flat.max()),
    }
    if kind == "binary_crossentropy":
        probs = bool(flat.min() >= 0.0 and flat.max() <= 1.0)
        what = "sigmoid probabilities"
        remove, add = (
            "remove the sigmoid from the last layer",
            "add activation='sigmoid' to the last layer",
        )
    else:
        sums = flat.sum(-1)
        ev.update(row_sum_min=float(sums.min()), row_sum_max=float(sums.max()))
        probs = bool(flat.min() >= 0.0 and np.allclose(sums, 1.0, atol=1e-3))
        what = "softmax probabilities (non-negative, rows sum to 1)"
        remove, add = (
            "remove the softmax from the last layer",
            "add activation='softmax' to the last layer",
        )
    if from_logits and probs and len(flat) >= 8:
        return Check(
            name,
            "fail",
            f"The loss has from_logits=True but the outputs look like {what}.",
            ev,
            f"Either {remove} (recommended: logits are numerically safer) or pass from_logits=False.",
        )
    if not from_logits and not probs:
        return Check(
            name,
            "fail",
            f"The loss has from_logits=False (expects {what}) but the outputs are not.",
            ev,
            f"Either {add}, or pass from_logits=True to the loss.",
        )
    return Check(name, "pass", "Outputs are logits" if from_logits else f"Outputs are {what}.", ev)


def _class_balance(kind: str | None, y: np.ndarray, k: int) -> Check:
    name = "class_balance"
    ids = _class_ids(kind or "", y, k)
    if ids is None:
        return Check(
            name, "pass", "Not single-label classification: class balance not checked.", {}
        )
    classes = max(k if k > 1 else 2, int(ids.max()) + 1)
    counts = np.bincount(ids, minlength=classes)
    total = int(counts.sum())
    present = counts[counts > 0]
    ratio = float(present.max() / present.min())
    ev = {
        "counts": [int(c) for c in counts],
        "majority_share": float(counts.max() / total),
        "smallest_class": int(counts.argmin()),
        "smallest_count": int(counts.min()),
        "imbalance_ratio": ratio,
    }
    absent = [int(i) for i in np.flatnonzero(counts == 0)]
    weights = {int(i): round(total / (len(present) * int(c)), 3) for i, c in enumerate(counts) if c}
    fix = (
        f"Pass class_weight={weights} to fit (inverse class frequency), and judge the model with "
        "metrics beyond accuracy (precision, recall, F1, AUC) and a majority-class baseline."
    )
    if absent:
        return Check(
            name,
            "warn",
            f"Class(es) {absent} have no samples in y.",
            ev,
            "Check that the data covers every class the model outputs. " + fix,
        )
    if ratio >= IMBALANCE_RATIO:
        return Check(
            name,
            "warn",
            f"The classes are imbalanced: the majority class holds "
            f"{100 * ev['majority_share']:.1f}% of the samples; class {ev['smallest_class']} only "
            f"{ev['smallest_count']} (ratio {ratio:.1f}).",
            ev,
            fix,
        )
    return Check(
        name, "pass", f"Classes are reasonably balanced (largest/smallest = {ratio:.2f}).", ev
    )


# --------------------------------------------------------------------------- model checks


def _expected_loss(loss: Any, y: torch.Tensor, k: int) -> tuple[float | None, str]:
    kind = getattr(loss, "kind", None)
    if kind in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        return math.log(k), f"log({k}) for {k} balanced classes"
    if kind == "binary_crossentropy":
        return math.log(2.0), "log(2) for a 50/50 guess"
    if kind == "regression":
        y_f = y.float()
        mean = y_f.mean(dim=0, keepdim=True).expand_as(y_f)
        return float(_per_sample_loss(loss, y_f, mean)), "the loss of predicting the mean of y"
    return None, "unknown for this loss"


def _init_loss(
    loss: Any, init: float, expected: float | None, how: str, zero_pred: float | None
) -> Check:
    name = "init_loss"
    ev = {"loss": init, "expected": expected}
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
    text = f"Loss at initialisation {init:.4g}; expected about {expected:.4g} ({how}); ratio {ratio:.2f}."
    if ratio <= pass_at:
        if not regression and ratio < 0.5:
            text += " Lower than chance: the weights are not at initialisation (already trained?)."
        return Check(name, "pass", text, ev)
    if regression and zero_pred is not None and init <= 3 * zero_pred:
        ev["loss_predicting_zero"] = zero_pred
        fix = (
            "The targets are far from 0 compared with their spread: standardise y (subtract the mean, "
            "divide by the std) or initialise the output bias at mean(y)."
        )
    elif regression:
        fix = (
            "The initial outputs are large: normalise the inputs and use a standard initialiser "
            "(glorot_uniform, he_normal); also consider standardising y."
        )
    else:
        fix = (
            "The outputs are over-confident at initialisation: normalise the inputs (zero mean, unit "
            "variance), use a standard initialiser (glorot_uniform, he_normal) and keep the last layer's "
            "initial weights small."
        )
    return Check(name, "warn" if ratio <= fail_at else "fail", text, ev, fix)


def _gradients(model: Any, loss: Any, x: torch.Tensor, y: torch.Tensor) -> tuple[Check, Check]:
    """One forward/backward pass: the finite-values check and the gradient-norm check."""
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(x)
    value = _per_sample_loss(loss, y, out)
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
    finite_ev = {
        "outputs_finite": bool(torch.isfinite(out).all()),
        "loss_finite": math.isfinite(float(value.detach())),
        "gradients_finite": all(math.isfinite(v) for v in norms.values()),
    }
    bad = [k.replace("_finite", "") for k, v in finite_ev.items() if not v]
    if bad:
        finite = Check(
            "finite_forward_backward",
            "fail",
            f"Non-finite values (NaN or inf) at initialisation in: {', '.join(bad)}.",
            finite_ev,
            "Lower the initialisation scale, normalise the inputs, check for log(0) or "
            "division by zero in custom layers or losses.",
        )
    else:
        finite = Check(
            "finite_forward_backward", "pass", "Outputs, loss and gradients are finite.", finite_ev
        )
    grads_ev: dict[str, Any] = {"per_layer": norms}
    if not norms:
        return finite, Check(
            "gradient_norms",
            "warn",
            "No parameter received a gradient.",
            grads_ev,
            "Check that the layers are trainable and that the output depends on them.",
        )
    finite_norms = {k: v for k, v in norms.items() if math.isfinite(v)}
    vanishing = [k for k, v in finite_norms.items() if v < VANISHING]
    exploding = [k for k, v in finite_norms.items() if v > EXPLODING]
    grads_ev.update(
        min=min(norms.values()), max=max(norms.values()), vanishing=vanishing, exploding=exploding
    )
    if exploding:
        return finite, Check(
            "gradient_norms",
            "warn",
            f"Exploding gradients (norm > {EXPLODING:g}) in "
            f"{', '.join(exploding)}; largest {grads_ev['max']:.3g}.",
            grads_ev,
            "Reduce the initialisation scale, normalise the inputs, lower the learning "
            "rate or clip gradients (optimizer clipnorm=1.0).",
        )
    if vanishing:
        return finite, Check(
            "gradient_norms",
            "warn",
            f"Vanishing gradients (norm < {VANISHING:g}) in "
            f"{', '.join(vanishing)}; smallest {grads_ev['min']:.3g}.",
            grads_ev,
            "Use ReLU-family activations instead of sigmoid/tanh in deep stacks, a "
            "standard initialiser (he_normal, glorot_uniform), batch normalisation or "
            "residual connections.",
        )
    return finite, Check(
        "gradient_norms",
        "pass",
        f"Layer gradient norms between {grads_ev['min']:.3g} and {grads_ev['max']:.3g}.",
        grads_ev,
    )


def _dead_relu(model: Any, x: torch.Tensor) -> Check:
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
        _forward(model, x)
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


def _train(model: Any, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[float]:
    out = []
    for xb, yb in batches:
        model.reset_metrics()  # so the step's running `loss` is this batch's loss
        logs = model.train_step((xb, yb))
        out.append(float(logs["loss"]))
    return out


def _eval_loss(model: Any, loss: Any, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float(_per_sample_loss(loss, y, _forward(model, x)))


def _zero_input(
    copier: _Copier,
    loss: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
    init: float,
) -> Check:
    name = "zero_input_baseline"
    n = len(x)
    order = np.concatenate([rng.permutation(n) for _ in range(steps * batch_size // n + 1)])
    picks = [
        torch.as_tensor(order[i * batch_size : (i + 1) * batch_size], device=x.device)
        for i in range(steps)
    ]
    zeros = torch.zeros_like(x)
    real_model, zero_model = copier.make(), copier.make()
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
        "Check that the inputs reach the model, that x and y are aligned (not shuffled separately) and "
        "that the inputs carry signal after preprocessing."
    )
    if math.isfinite(real) and math.isfinite(init) and real > 0.95 * init:
        fix = (
            f"Neither run learned much in {steps} steps (loss {init:.4g} -> {real:.4g}): the learning rate "
            "may be too low; run lamina.workflow.lr_find or raise `steps`. " + fix
        )
    return Check(
        name,
        "warn",
        f"After {steps} steps the loss on real inputs ({real:.4g}) is not clearly below the "
        f"loss with inputs set to zero ({zero:.4g}).",
        ev,
        fix,
    )


def _overfit(
    copier: _Copier,
    loss: Any,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int,
    target: float,
    opt_name: str,
) -> Check:
    name = "overfit_batch"
    probe_name = f"Adam(learning_rate={_PROBE_LR:g})"

    def attempt(optimizer: Any) -> tuple[float, float, int]:
        """Trains on the one batch; returns (loss before, loss after, steps taken)."""
        m = copier.make(optimizer)
        start = final = _eval_loss(m, loss, x, y)
        for step in range(1, steps + 1):
            m.train()
            m.train_step((x, y))
            if step % 5 == 0 or step == steps:
                final = _eval_loss(m, loss, x, y)
                if not math.isfinite(final) or final <= target:
                    return start, final, step
        return start, final, steps

    start, own, own_steps = attempt(None)
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
    if opt_name != probe_name:
        _, probe, probe_steps = attempt(optimizers.Adam(learning_rate=_PROBE_LR))
        ev.update(probe_optimizer=probe_name, probe_loss=probe, probe_steps=probe_steps)
        if probe <= target:
            return Check(
                name,
                "warn",
                f"With {opt_name} the loss on {len(x)} samples only reached {own:.3g} in "
                f"{steps} steps (target {target:.3g}); {probe_name} reached {probe:.3g} in "
                f"{probe_steps}.",
                ev,
                "The model can fit, but your optimizer learns slowly: tune the learning rate with "
                "lamina.workflow.lr_find (or raise `steps` if slow is expected).",
            )
    else:
        probe = own
    tried = f"{own:.3g} with {opt_name}" + (
        f" and {probe:.3g} with {probe_name}" if opt_name != probe_name else ""
    )
    falling = math.isfinite(probe) and math.isfinite(start) and probe < 0.5 * start
    if falling or steps < _MIN_CONCLUSIVE_STEPS:
        return Check(
            name,
            "warn",
            f"The loss on {len(x)} samples went from {start:.3g} to {tried} in {steps} "
            f"steps, not yet to the target {target:.3g}.",
            ev,
            f"Too few steps to conclude: raise `steps` (at least {_MIN_CONCLUSIVE_STEPS}) to see whether "
            "the model can fit the batch.",
        )
    return Check(
        name,
        "fail",
        f"The model cannot fit {len(x)} samples: loss {start:.3g} at the start, "
        f"{tried} after {steps} steps (target {target:.3g}).",
        ev,
        _OVERFIT_FIX,
    )


# --------------------------------------------------------------------------- entry point


def doctor(
    model: Any,
    x: Any,
    y: Any,
    *,
    batch_size: int = 32,
    steps: int = 50,
    seed: int = 0,
    verbose: int = 1,
) -> DoctorReport:
    """Runs quick sanity checks on a compiled model and its training data.

    Run it on a freshly compiled model, before long training: the initial-loss,
    gradient and dead-unit checks describe the current weights. The caller's
    model, its weights and its optimizer are left untouched (the checks train
    deep copies, each with a fresh optimizer of the same configuration), and the
    global random state is restored afterwards.

    Args:
        model: A compiled single-input, single-output Lamina model (`compile` with
            an optimizer and a loss).
        x: Inputs, one array (NumPy, torch, pandas).
        y: Targets, one array.
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
        >>> report.ok  # doctest: +SKIP
        True
    """
    owner = "doctor"
    validation.positive_int(owner, "batch_size", batch_size)
    validation.positive_int(owner, "steps", steps)
    validation.non_negative_int(owner, "seed", seed)
    validation.one_of(owner, "verbose", verbose, (0, 1))
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError(
            "`doctor` expects a model compiled with a loss. Received: a model that is "
            f"{'compiled without a loss' if getattr(model, 'compiled', False) else 'not compiled'}. "
            "Call model.compile(optimizer='adam', loss=...) first."
        )
    if isinstance(model.loss, (list, tuple, dict)):
        raise ValueError(
            "`doctor` supports single-output models with one loss. Received: loss of type "
            f"{type(model.loss).__name__}. Check each output with its own single-output model."
        )
    if getattr(model, "optimizer", None) is None:
        raise ValueError(
            "`doctor` expects a model compiled with an optimizer. Received: optimizer=None. "
            "Call model.compile(optimizer='adam', loss=...) first."
        )
    x_np, y_np = _numpy(x, "x"), _numpy(y, "y")
    if len(x_np) != len(y_np) or len(x_np) < 2:
        raise ValueError(
            "`doctor` expects as many labels as inputs, and at least 2 samples. "
            f"Received: {len(x_np)} inputs and {len(y_np)} labels."
        )
    loss = losses.get(model.loss)
    opt_config = optimizers.serialize(model.optimizer)
    opt_name = f"{type(model.optimizer).__name__}(learning_rate={model.optimizer.learning_rate:g})"

    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        checks = _run_checks(model, loss, opt_config, opt_name, x_np, y_np, batch_size, steps, seed)
    report = DoctorReport(checks)
    if verbose:
        print(report)
    return report


def _skip(names: list[str], reason: str) -> list[Check]:
    return [Check(n, "skip", f"Not run: {reason}.") for n in names]


def _run_checks(
    model: Any,
    loss: Any,
    opt_config: dict[str, Any],
    opt_name: str,
    x_np: np.ndarray,
    y_np: np.ndarray,
    batch_size: int,
    steps: int,
    seed: int,
) -> list[Check]:
    rng = np.random.default_rng(seed)
    model_checks = [
        "init_loss",
        "finite_forward_backward",
        "gradient_norms",
        "dead_relu",
        "zero_input_baseline",
        "overfit_batch",
    ]
    checks = [_finite_data(x_np, y_np)]
    if checks[0].status == "fail":
        return checks + _skip(
            ["label_encoding", "output_activation", "class_balance"] + model_checks,
            "the data holds NaN or inf",
        )
    device = runtime.get_device()
    n = len(x_np)
    sample = np.sort(rng.permutation(n)[: min(n, 512)])
    xs, ys = _tensor(x_np[sample], device), _tensor(y_np[sample], device)
    base = _copy_model(model)
    base.predict(x_np[:2], verbose=0)  # builds an unbuilt copy and moves it to the device
    out = _forward(base, xs)
    if isinstance(out, (list, tuple, dict)):
        raise ValueError(
            f"`doctor` supports single-output models. Received: a model with {len(out)} outputs."
        )
    out_np = out.detach().cpu().numpy()
    kind = getattr(loss, "kind", None)
    k = int(out_np.shape[-1]) if out_np.ndim >= 2 else 1
    label_check = _label_encoding(kind, y_np[sample], out_np)
    checks += [label_check, _output_activation(loss, out_np)]
    if label_check.status == "fail":
        return checks + _skip(["class_balance"] + model_checks, "the labels do not match the loss")
    checks.append(_class_balance(kind, y_np, k))

    init = float(_per_sample_loss(loss, ys, out))
    expected, how = _expected_loss(loss, ys, k)
    zero_pred = (
        float(_per_sample_loss(loss, ys.float(), torch.zeros_like(out)))
        if kind == "regression"
        else None
    )
    checks.append(_init_loss(loss, init, expected, how, zero_pred))
    grad_batch = torch.as_tensor(rng.permutation(len(xs))[:batch_size], device=device)
    finite, grads = _gradients(copy.deepcopy(base), loss, xs[grad_batch], ys[grad_batch])
    checks += [finite, grads, _dead_relu(base, xs)]
    if finite.status == "fail":
        return checks + _skip(
            ["zero_input_baseline", "overfit_batch"], "the forward or backward pass is not finite"
        )

    copier = _Copier(base, opt_config, model.loss, xs[:2], ys[:2])
    checks.append(_zero_input(copier, loss, xs, ys, batch_size, steps, rng, init))
    small = torch.as_tensor(rng.permutation(len(xs))[: min(len(xs), 32)], device=device)
    reference = expected if expected is not None and expected > 0 else init
    checks.append(_overfit(copier, loss, xs[small], ys[small], steps, 0.1 * reference, opt_name))
    return checks
