"""Checks of the data given to fit / evaluate / predict, the same for every source.

A `DataValidator` is a property of the data adapter. Every adapter applies it:
in-memory arrays once, on the whole arrays (in blocks of rows, so the check
needs little memory beyond the data's own); datasets, data loaders, generators
and `PyDataset`s batch by batch, on the host before the batch moves to the
device when it comes from the CPU.

Two layers of checks:

* without a model (what the adapter knows alone): no NaN / inf in inputs,
  targets or sample weights; no complex numbers; no input without features;
* with the model and its compiled loss (`DataValidator.for_model`, set by the
  trainer once per fit / evaluate after the model is built): targets that fit the
  loss of their output, and indices fed straight from the inputs to an
  `Embedding` layer.

Target rules, per loss kind:

* binary cross-entropy: targets in ``[0, 1]``. Soft labels (probabilities such
  as 0.9) are legitimate, as in Keras; only values outside the interval are refused;
* categorical cross-entropy: rows of ``k`` non-negative values that sum to 1
  (within 1e-3; label-smoothed rows pass); integer class labels of shape
  ``(n,)`` / ``(n, 1)`` for a ``k > 1`` output are refused with the advice to use
  the sparse loss or one-hot encode them;
* sparse categorical cross-entropy: integer labels in ``[0, k)``
  (`lamina.losses.check_sparse_labels`); one-hot rows get the reverse advice.

Every error names the data (```x```, ```y['out']```, ``sample_weight``), where it
came from (``from batch 3 of the DataLoader``), the first bad index, and how to fix it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# Rows checked at a time: blocks of about this many bytes keep the temporaries small.
CHUNK_BYTES = 16 * 2**20
# Tolerance of "a categorical row sums to 1".
ROW_SUM_TOLERANCE = 1e-3


# --------------------------------------------------------------------------- helpers


def describe_source(data: Any) -> str:
    """How an error names a stream of batches: "the DataLoader", "the generator", ..."""
    import types

    from torch.utils.data import DataLoader, Dataset

    if isinstance(data, DataLoader):
        return "the DataLoader"
    if isinstance(data, Dataset):
        return f"the {type(data).__name__} (Dataset)"
    if isinstance(data, types.GeneratorType):
        return "the generator"
    return f"the {type(data).__name__}"


def batch_origin(index: int, source: str) -> str:
    """The words after the data's name for batch ``index`` (counted from 0) of ``source``."""
    return f" from batch {index} of {source} (counting from 0)"


def _blocks(t: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
    """``(first_row, block)`` over the rows of ``t``, about `CHUNK_BYTES` per block."""
    if t.ndim == 0:
        yield 0, t.reshape(1)
        return
    n = int(t.shape[0])
    row_bytes = max(1, (t.numel() // max(n, 1)) * t.element_size())
    step = max(1, CHUNK_BYTES // row_bytes)
    for start in range(0, n, step):
        yield start, t[start : start + step]


def _index(flat: tuple[int, ...], start: int) -> Any:
    """An index inside a block, as an index of the whole tensor (an int for 1-D data)."""
    idx = (flat[0] + start, *flat[1:]) if flat else (start,)
    return idx[0] if len(idx) == 1 else idx


def _host_array(t: torch.Tensor) -> np.ndarray | None:
    """A NumPy view of a CPU tensor (NumPy's reductions are quicker on small arrays and
    cast in small buffers), or None when there is none (device tensors, bfloat16)."""
    if t.device.type != "cpu" or t.dtype == torch.bfloat16 or t.requires_grad or t.is_complex():
        return None
    return t.numpy()


def _sum_is_finite(block: torch.Tensor) -> bool:
    """True when the float64 sum of ``block`` is finite: NaN and inf propagate, and a
    float32 sum in float64 cannot overflow, so True means every value is finite. False
    may come from an overflow of float64 values; callers then check exactly."""
    a = _host_array(block)
    if a is not None:
        with np.errstate(all="ignore"):  # inf - inf gives NaN: that is the answer, not a warning
            return bool(np.isfinite(a.sum(dtype=np.float64)))
    return bool(torch.isfinite(block.sum(dtype=torch.float64 if block.device.type == "cpu" else None)))


def _all_finite(t: torch.Tensor) -> bool:
    """Whether every value of the float tensor ``t`` is finite, block by block, one
    pass per block and no temporary the size of ``t``."""
    for _, block in _blocks(t):
        if not _sum_is_finite(block) and not bool(torch.isfinite(block).all()):
            return False
    return True


def _min_max(t: torch.Tensor) -> tuple[float, float]:
    """The smallest and largest value of ``t`` (no temporary: a single reduction)."""
    a = _host_array(t)
    if a is not None:
        return float(a.min()), float(a.max())
    low, high = torch.aminmax(t if t.dtype != torch.bool else t.to(torch.uint8))
    return float(low), float(high)


def _first_bad(t: torch.Tensor, bad_of: Any, known_bad: bool = False) -> tuple[int, Any, Any] | None:
    """Scans ``t`` block by block; returns ``(count, first index, first value)`` where
    ``bad_of(block)`` is True, or None when it is nowhere True. The count and the
    index are only computed on failure (a second pass; the only pass when the
    caller already knows, ``known_bad``)."""
    if not known_bad and not any(bool(bad_of(block).any()) for _, block in _blocks(t)):
        return None
    count, first, value = 0, None, None
    for start, block in _blocks(t):
        mask = bad_of(block)
        c = int(mask.sum())
        if c and first is None:
            pos = tuple(int(i) for i in torch.nonzero(mask)[0].tolist())
            first = _index(pos, start)
            picked = block[pos]
            value = picked.item() if picked.numel() == 1 else None
        count += c
    return count, first, value


def _at(index: Any, where: str) -> str:
    return f"{index}" + (" of that batch" if where else "")


def _is_tensor(a: Any) -> bool:
    return isinstance(a, torch.Tensor)


def check_dtype(t: Any, name: str, where: str = "") -> None:
    """Refuses complex numbers, which no layer or loss takes."""
    dtype = getattr(t, "dtype", None)
    complex_ = (isinstance(t, torch.Tensor) and t.is_complex()) or (
        isinstance(dtype, np.dtype) and dtype.kind == "c"
    )
    if complex_:
        raise TypeError(
            f"`{name}`{where} must hold real numbers. Received: dtype={dtype}. Pass the real part "
            f"(`{name}.real`), the magnitude (`abs({name})`), or both as separate features."
        )


def check_finite(t: Any, name: str, where: str = "") -> None:
    """Raises a ValueError naming the count and the first NaN / inf of ``t``, block by block.

    Each block is summed in float64 (one pass, no temporary: NaN and inf
    propagate); the count and the first index are found only when something is
    wrong, so the peak memory stays near the data's own size.
    """
    if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.numel() == 0:
        return
    if _all_finite(t):
        return
    found = _first_bad(t, lambda b: ~torch.isfinite(b), known_bad=True)
    assert found is not None
    count, first, _ = found
    raise ValueError(
        f"`{name}`{where} contains {count} NaN or infinite value(s); the first is at index "
        f"{_at(first, where)}. Clean or impute the data before training (for example with "
        "sklearn.impute.SimpleImputer), or drop those rows."
    )


def check_features(t: Any, name: str, where: str = "") -> None:
    """Refuses inputs with an axis of size 0 after the batch axis (no features)."""
    shape = tuple(getattr(t, "shape", ()))
    if len(shape) >= 2 and 0 in shape[1:]:
        raise ValueError(
            f"`{name}`{where} has no features: its shape is {shape}. Each sample needs at least "
            "one value; check the column selection that built it."
        )


def check_class_weight(class_weight: Any, role: str = "fit") -> dict[int, float]:
    """Checks `class_weight`: class indices (integers >= 0) to finite weights >= 0."""
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"`{role}` expects `class_weight` to be a dict {{class_index: weight}}. "
            f"Received: class_weight={class_weight!r}."
        )
    for k, w in class_weight.items():
        ok_key = isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 0
        ok_w = isinstance(w, numbers.Real) and not isinstance(w, bool) and math.isfinite(w) and w >= 0
        if not (ok_key and ok_w):
            raise ValueError(
                "`class_weight` must map class indices (integers >= 0) to finite weights >= 0. "
                f"Received: class_weight={class_weight!r} (entry {k!r}: {w!r}). Fix that entry."
            )
    return {int(k): float(w) for k, w in class_weight.items()}


def ragged_error(a: Any, name: str) -> ValueError | None:
    """A ValueError naming where a nested list changes length, or None when it does not."""

    def walk(node: Any, path: str) -> str | None:
        if not isinstance(node, (list, tuple)):
            return None
        lengths = [len(v) if isinstance(v, (list, tuple, np.ndarray)) else None for v in node]
        if not lengths:
            return None
        for i, n in enumerate(lengths):
            if n != lengths[0]:
                def size(m: Any) -> str:
                    return "a single value" if m is None else f"{m} values"

                return (
                    f"`{name}` is a ragged nested list: {path}[0] has {size(lengths[0])} but "
                    f"{path}[{i}] has {size(n)}."
                )
        for i, v in enumerate(node):
            if isinstance(v, (list, tuple)):
                found = walk(v, f"{path}[{i}]")
                if found:
                    return found
        return None

    found = walk(a, name)
    if found is None:
        return None
    return ValueError(
        f"{found} Every row must have the same length. Pad the rows to one length (for "
        "sequences `lamina.utils.pad_sequences`) or pass a rectangular NumPy array."
    )


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class TargetRule:
    """What the compiled loss of one output expects of its targets."""

    position: int  # the output's position in the flattened outputs
    key: str  # the output's name
    kind: str  # "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"
    loss_name: str
    num_classes: int | None  # the output's last axis
    ignore_class: int | None = None


@dataclass(frozen=True)
class EmbeddingRule:
    """An `Embedding` layer fed straight from one model input."""

    position: int  # the input's position
    input_name: str | None
    layer_name: str
    input_dim: int


def _leaf_names(struct: Any, name: str) -> list[tuple[str, Any]]:
    """``(name, leaf)`` pairs of a leaf or a nested dict / list / tuple of leaves."""
    if isinstance(struct, dict):
        return [pair for k, v in struct.items() for pair in _leaf_names(v, f"{name}['{k}']")]
    if isinstance(struct, (list, tuple)):
        return [pair for i, v in enumerate(struct) for pair in _leaf_names(v, f"{name}[{i}]")]
    return [(name, struct)]


class DataValidator:
    """The checks every data adapter applies to the data it hands out.

    Args:
        role: `"fit"`, `"evaluate"` or `"predict"`. `predict` checks `x` only.
            Defaults to `"fit"`.
        targets: One `TargetRule` per output whose loss constrains its targets.
        embeddings: One `EmbeddingRule` per `Embedding` fed straight by an input.
        single_output: Whether the model has one output (its `y` is one array).
            Defaults to `True`.
        output_keys: The output names, to find a target in a dict / list `y`.

    Example:
        >>> import numpy as np, torch
        >>> v = DataValidator()
        >>> v.check_batch(torch.zeros(2, 3), torch.zeros(2), None)
    """

    def __init__(
        self,
        role: str = "fit",
        targets: tuple[TargetRule, ...] = (),
        embeddings: tuple[EmbeddingRule, ...] = (),
        single_output: bool = True,
        output_keys: tuple[str, ...] = (),
    ) -> None:
        self.role = role
        self.targets = tuple(targets)
        self.embeddings = tuple(embeddings)
        self.single_output = single_output
        self.output_keys = tuple(output_keys)

    @property
    def configured(self) -> bool:
        """Whether there are model rules (targets or embeddings) to apply."""
        return bool(self.targets or self.embeddings)

    # ------------------------------------------------------------------ from the model
    @classmethod
    def for_model(cls, model: Any, role: str) -> DataValidator:
        """The checks for ``model``: its compiled loss per output and the `Embedding`
        layers its inputs feed directly. Call after the model and its loss are built."""
        targets: list[TargetRule] = []
        cl = getattr(model, "_compile_loss", None)
        single, keys = True, ()
        if role != "predict" and cl is not None and cl.built:
            single, keys = cl.single, tuple(cl.keys)
            shapes = _output_shapes(getattr(model, "_output_sample", None), keys)
            for i, (key, fn) in enumerate(zip(keys, cl.fns)):
                kind = getattr(fn, "kind", None)
                if fn is None or kind not in (
                    "binary_crossentropy",
                    "categorical_crossentropy",
                    "sparse_categorical_crossentropy",
                ):
                    continue
                shape = shapes[i] if i < len(shapes) else None
                k = shape[-1] if shape else None
                ignore = getattr(fn, "_fn_kwargs", {}).get("ignore_class")
                targets.append(TargetRule(i, key, kind, getattr(fn, "name", kind), k, ignore))
        return cls(role, tuple(targets), tuple(_embedding_rules(model)), single, keys)

    # ------------------------------------------------------------------ checks
    def check_batch(self, x: Any, y: Any, sample_weight: Any, where: str = "") -> None:
        """All checks on one batch (or on all the data, with ``where=""``)."""
        self.check_basic(x, y, sample_weight, where)
        self.check_model(x, y, where)

    def check_basic(self, x: Any, y: Any, sample_weight: Any, where: str = "") -> None:
        """The checks that need no model: dtypes, finite values, features."""
        for name, t in _leaf_names(x, "x"):
            if isinstance(t, np.ndarray) and t.dtype.kind in "USO":
                continue  # text for a first text layer
            check_dtype(t, name, where)
            check_features(t, name, where)
            check_finite(t, name, where)
        if self.role == "predict":
            return
        if y is not None:
            for name, t in _leaf_names(y, "y"):
                check_dtype(t, name, where)
                check_finite(t, name, where)
        if sample_weight is not None:
            for name, t in _leaf_names(sample_weight, "sample_weight"):
                check_dtype(t, name, where)
                check_finite(t, name, where)

    def check_model(self, x: Any, y: Any, where: str = "", skip: DataValidator | None = None) -> None:
        """The checks that need the model: embedding indices and targets against the loss.

        Rules that ``skip`` (the validator applied before) holds too are not run again."""
        done = set() if skip is None else set(skip.embeddings) | set(skip.targets)
        for rule in self.embeddings:
            if rule in done:
                continue
            leaf = _input_leaf(x, rule)
            if leaf is not None:
                _check_embedding(leaf[1], leaf[0], rule, where)
        if self.role == "predict" or y is None:
            return
        for rule in self.targets:
            if rule in done:
                continue
            target = self._target(y, rule)
            if target is not None and isinstance(target[1], torch.Tensor):
                _check_target(target[1], target[0], rule, where)

    def _target(self, y: Any, rule: TargetRule) -> tuple[str, Any] | None:
        if self.single_output:
            if isinstance(y, (list, tuple)) and len(y) == 1:
                return "y[0]", y[0]
            if isinstance(y, dict) and len(y) == 1:
                k = next(iter(y))
                return f"y['{k}']", y[k]
            return "y", y
        if isinstance(y, dict):
            return (f"y['{rule.key}']", y[rule.key]) if rule.key in y else None
        if isinstance(y, (list, tuple)) and len(y) == len(self.output_keys):
            return f"y[{rule.position}]", y[rule.position]
        return None


# --------------------------------------------------------------------------- model rules


def _output_shapes(sample: Any, keys: tuple[str, ...]) -> list[tuple[int, ...] | None]:
    def is_shape(s: Any) -> bool:
        return isinstance(s, tuple) and all(isinstance(d, int) for d in s)

    if sample is None:
        return []
    if is_shape(sample):
        return [sample]
    if isinstance(sample, dict):
        return [sample.get(k) if is_shape(sample.get(k)) else None for k in keys]
    if isinstance(sample, (list, tuple)):
        return [s if is_shape(s) else None for s in sample]
    return []


def _embedding_rules(model: Any) -> list[EmbeddingRule]:
    from lamina.layers.core import Embedding
    from lamina.models.functional import Functional
    from lamina.models.sequential import Sequential

    rules: list[EmbeddingRule] = []
    if isinstance(model, Functional):
        inputs = model.inputs
        slots = {id(t): i for i, t in enumerate(inputs)}
        names = [getattr(t.node.layer, "name", None) for t in inputs]
        for node in model._nodes:
            if isinstance(node.layer, Embedding) and id(node.inputs) in slots:
                i = slots[id(node.inputs)]
                rules.append(EmbeddingRule(i, names[i], node.layer.name, node.layer.input_dim))
        return rules
    stack = model.__dict__.get("_stack") if isinstance(model, Sequential) else None
    if stack and isinstance(stack[0], Embedding):
        rules.append(EmbeddingRule(0, None, stack[0].name, stack[0].input_dim))
    return rules


def _input_leaf(x: Any, rule: EmbeddingRule) -> tuple[str, Any] | None:
    if isinstance(x, dict):
        if rule.input_name in x:
            return f"x['{rule.input_name}']", x[rule.input_name]
        return None
    if isinstance(x, (list, tuple)):
        return (f"x[{rule.position}]", x[rule.position]) if rule.position < len(x) else None
    return ("x", x) if rule.position == 0 else None


def _check_embedding(t: Any, name: str, rule: EmbeddingRule, where: str) -> None:
    if not isinstance(t, torch.Tensor) or t.dtype == torch.bool or t.numel() == 0:
        return
    layer = f"the `Embedding` layer '{rule.layer_name}'"
    low, high = _min_max(t)
    if not t.is_floating_point() and low >= 0 and high < rule.input_dim:
        return  # integer indices in range: the common case, one reduction
    if t.is_floating_point():
        found = _first_bad(t, lambda b: b != torch.round(b))
        if found is not None:
            count, first, value = found
            raise ValueError(
                f"`{name}`{where} feeds {layer}, which takes integer indices, but holds "
                f"{count} value(s) with a fractional part; the first is {value!r} at index "
                f"{_at(first, where)}. Pass integer indices (e.g. `x.astype('int64')` after "
                "rounding or encoding them); floats such as 3.0 are accepted."
            )
    found = _first_bad(t, lambda b: (b < 0) | (b >= rule.input_dim))
    if found is not None:
        count, first, value = found
        value = int(value)
        fix = (
            f"Give the layer a larger vocabulary (`input_dim` of at least {value + 1}) or fix the indices."
            if value >= rule.input_dim
            else "Indices start at 0: fix the negative values."
        )
        raise ValueError(
            f"`{name}`{where} feeds {layer}, whose indices must be in [0, {rule.input_dim - 1}] "
            f"(input_dim={rule.input_dim}). Received {count} index value(s) out of range; the "
            f"first is {value} at index {_at(first, where)}. {fix}"
        )


def _check_target(y: torch.Tensor, name: str, rule: TargetRule, where: str) -> None:
    if y.numel() == 0 or y.is_complex():
        return
    loss = f"`{rule.loss_name}`"
    if rule.kind == "sparse_categorical_crossentropy":
        k = rule.num_classes
        if not k:
            return
        one_hot_shape = y.ndim >= 2 and y.shape[-1] == k > 1
        if not one_hot_shape and not y.is_floating_point() and rule.ignore_class is None:
            low, high = _min_max(y)
            if low >= 0 and high < k:
                return  # integer labels in range: the common case, one reduction
        from lamina import losses

        losses.check_sparse_labels(y, k, rule.ignore_class, what=f"`{name}`{where}")
        return
    if rule.kind == "binary_crossentropy":
        low, high = _min_max(y)
        if low >= 0 and high <= 1:
            return
        found = _first_bad(y, lambda b: (b < 0) | (b > 1))
        if found is not None:
            count, first, value = found
            raise ValueError(
                f"`{name}`{where} holds targets outside [0, 1] for the loss {loss}: {count} value(s), "
                f"the first is {value!r} at index {_at(first, where)}. Binary cross-entropy takes "
                "0/1 labels or probabilities in [0, 1] (soft labels). Map -1/1 labels to 0/1 "
                "(`(y + 1) / 2`); for class indices above 1 use `sparse_categorical_crossentropy` "
                "with one output unit per class."
            )
        return
    # categorical cross-entropy (and losses on probability rows)
    k = rule.num_classes
    if not k:
        return
    if k > 1 and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise ValueError(
            f"`{name}`{where} holds integer class labels (shape {tuple(y.shape)}) but the loss {loss} "
            f"takes one-hot rows of {k} values (the output has {k} units). Use "
            "`loss='sparse_categorical_crossentropy'` with these labels, or one-hot encode them "
            f"(`lamina.utils.to_categorical(y, num_classes={k})`)."
        )
    if y.ndim < 2 or y.shape[-1] != k:
        return  # a shape mismatch: the loss explains it
    rows = y.reshape(-1, k)
    rows = rows if rows.is_floating_point() else rows.float()
    if _min_max(rows)[0] >= 0 and all(
        float((block.sum(dim=-1) - 1).abs().max()) <= ROW_SUM_TOLERANCE for _, block in _blocks(rows)
    ):
        return  # non-negative rows summing to 1 (all-zero rows sum to 0)

    def row_at(flat_row: int) -> Any:
        if y.ndim == 2:
            return flat_row
        return tuple(int(i) for i in np.unravel_index(flat_row, tuple(y.shape[:-1])))

    checks = (
        (lambda b: (b < 0).any(dim=-1), "negative values"),
        (lambda b: (b == 0).all(dim=-1), "only zeros"),
        (lambda b: ((b.sum(dim=-1) - 1).abs() > ROW_SUM_TOLERANCE), "values that do not sum to 1"),
    )
    for bad_of, what in checks:
        found = _first_bad(rows, bad_of)
        if found is not None:
            count, first, _ = found
            row = rows[first].tolist()
            shown = row if k <= 8 else [*row[:8], "..."]
            raise ValueError(
                f"`{name}`{where} must hold one-hot (or probability) rows for the loss {loss}: each "
                f"row of {k} values non-negative and summing to 1 (within {ROW_SUM_TOLERANCE:g}). "
                f"Received {count} row(s) with {what}; the first is row {_at(row_at(first), where)}: "
                f"{shown}. One-hot encode class labels with `lamina.utils.to_categorical`, or "
                "normalise each row to sum to 1; for several independent 0/1 labels per sample "
                "use `binary_crossentropy`."
            )


# --------------------------------------------------------------------------- the first forward pass


def all_finite(struct: Any) -> bool:
    """Whether every floating-point tensor in ``struct`` is finite."""
    from lamina.utils.tree import flatten

    for t in flatten(struct):
        if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return False
    return True


def explain_non_finite_output(model: Any, x: Any) -> ValueError:
    """For finite ``x`` whose forward pass gives NaN / inf: runs it again with hooks
    and returns the error naming the first layer whose output is not finite."""
    from lamina.utils.tree import flatten

    first: list[torch.nn.Module] = []

    def hook(module: torch.nn.Module, _inputs: Any, output: Any) -> None:
        if not first and not all_finite(output):
            first.append(module)

    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    except Exception:  # noqa: BLE001 - this only explains; the first pass already succeeded
        pass
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    largest = 0.0
    for t in flatten(x):
        if isinstance(t, torch.Tensor) and t.numel() and (t.is_floating_point() or t.dtype in (torch.int64, torch.int32)):
            largest = max(largest, float(t.detach().abs().max()))
    layer = (
        f"'{getattr(first[0], 'name', type(first[0]).__name__)}' ({type(first[0]).__name__})"
        if first
        else "unknown (the model's own code)"
    )
    return ValueError(
        f"The model's output is NaN or infinite on the first batch although `x` is finite "
        f"(largest |x| = {largest:.3g}). The first layer whose output is not finite is {layer}. "
        "The inputs are probably too large for float32 arithmetic: scale or normalise them "
        "first (e.g. divide by their maximum, `lamina.layers.Normalization`, or sklearn's "
        "StandardScaler). If the inputs are small, check that layer's weights for NaN / inf."
    )


# Outputs or targets beyond this size may overflow a float32 loss (a squared error of 1e19
# is already inf); only then is the loss of the first batch computed to find out.
LARGE_VALUE = 1e18


def _largest(struct: Any) -> float:
    from lamina.utils.tree import flatten

    largest = 0.0
    for t in flatten(struct):
        if isinstance(t, torch.Tensor) and t.numel() and not t.is_complex() and t.dtype != torch.bool:
            low, high = _min_max(t.detach())
            largest = max(largest, abs(low), abs(high))
    return largest


def loss_overflow_error(compiled_loss: Any, y: Any, y_pred: Any) -> ValueError | None:
    """For finite outputs and targets of which some are huge (> `LARGE_VALUE`): the
    error to raise when the compiled loss of the first batch is NaN / inf, else None.
    Costs nothing for ordinary values (the loss is only computed for huge ones)."""
    if y is None:
        return None
    biggest_out, biggest_y = _largest(y_pred), _largest(y)
    if max(biggest_out, biggest_y) < LARGE_VALUE:
        return None
    try:
        with torch.no_grad():
            total, _ = compiled_loss(y, y_pred)
    except Exception:  # noqa: BLE001 - a shape error is for the training step to report
        return None
    if bool(torch.isfinite(total).all()):
        return None
    names = ", ".join(f"`{getattr(f, 'name', type(f).__name__)}`" for f in compiled_loss.fns if f is not None)
    return ValueError(
        f"The loss ({names}) is NaN or infinite on the first batch although `x`, `y` and the "
        f"model's outputs are finite (largest |output| = {biggest_out:.3g}, largest |y| = "
        f"{biggest_y:.3g}): the values are too large for float32 arithmetic, and training would "
        "only report a NaN loss. Scale or normalise "
        "the inputs (e.g. `lamina.layers.Normalization`, or sklearn's StandardScaler) and, for "
        "regression, the targets (e.g. divide `y` by its largest value)."
    )


__all__ = [
    "DataValidator",
    "LARGE_VALUE",
    "EmbeddingRule",
    "TargetRule",
    "all_finite",
    "batch_origin",
    "check_class_weight",
    "check_dtype",
    "check_features",
    "check_finite",
    "describe_source",
    "explain_non_finite_output",
    "loss_overflow_error",
    "ragged_error",
]
