"""Train / dev / test splits that keep the evaluation honest.

`split(x, y)` cuts the data once into a training set, a dev (validation) set, a
test set and, when asked, a train-dev set (a slice of the *training*
distribution that is never trained on, to tell variance from data mismatch).
Splits are stratified for classification and group-aware when `groups` is
given, so one patient, user or session never lands in two sets.

The helpers `num_samples` and `take` are shared by the rest of
`lamina.data` and `lamina.workflow`: they index NumPy arrays, torch tensors,
pandas objects and dicts / lists of those (models with several inputs) alike.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lamina.data.tasks import is_one_hot as _is_one_hot
from lamina.data.tasks import resolve_task
from lamina.utils import validation

_SET_ORDER = ("train", "train_dev", "dev", "test")


# ---------------------------------------------------------------------- array helpers
def _is_array(a: Any) -> bool:
    return isinstance(a, (np.ndarray, torch.Tensor)) or hasattr(a, "iloc")


def _is_multi(x: Any) -> bool:
    """A dict, or a list/tuple of arrays: the inputs of a multi-input model."""
    if isinstance(x, dict):
        return True
    return isinstance(x, (list, tuple)) and bool(x) and all(_is_array(v) for v in x)


def num_samples(x: Any, what: str = "x") -> int:
    """Number of samples (length of the first axis) of an array or of each input.

    Raises a ValueError when the inputs of a multi-input `x` disagree.
    """
    if _is_multi(x):
        items = x.items() if isinstance(x, dict) else enumerate(x)
        lengths = {f"{what}[{k!r}]": num_samples(v) for k, v in items}
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise ValueError(
                f"All inputs of `{what}` must have the same number of samples. Received: {listed}."
            )
        return next(iter(lengths.values()))
    if _is_array(x):
        return int(x.shape[0])
    return len(x)


def take(x: Any, indices: np.ndarray) -> Any:
    """Rows ``indices`` of ``x``, keeping its kind (NumPy, torch, pandas, dict, list)."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {k: take(v, indices) for k, v in x.items()}
    if _is_multi(x):
        return type(x)(take(v, indices) for v in x)
    if isinstance(x, torch.Tensor):
        return x[torch.as_tensor(indices, dtype=torch.long, device=x.device)]
    if hasattr(x, "iloc"):
        return x.iloc[indices]
    return np.asarray(x)[indices]


def to_numpy(a: Any) -> np.ndarray:
    """One array-like as a NumPy array (torch tensors are moved to the CPU)."""
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    if hasattr(a, "to_numpy"):
        return a.to_numpy()
    return np.asarray(a)


def label_vector(y: Any) -> np.ndarray:
    """Class labels as a 1-D array: one-hot rows become their argmax, (n, 1) is squeezed."""
    arr = to_numpy(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2 and _is_one_hot(arr):
        arr = arr.argmax(axis=1)
    return arr


# ---------------------------------------------------------------------- Splits
@dataclass(eq=False)
class Splits:
    """The result of `split`: disjoint train / dev / test (and train-dev) sets.

    Each set is an ``(x, y)`` pair of the same kind as the data given to `split`,
    or None when its fraction was 0 (or, for `train_dev`, not requested).

    Touch the test set once, at the very end, to report the final number: every
    decision taken after looking at it (a new architecture, another epoch count)
    makes it a second dev set and its score optimistic. Tune on `dev`; compare
    the training error with `train_dev` to measure variance.

    Attributes:
        train: The training set.
        dev: The dev (validation) set, for model selection and tuning.
        test: The held-out test set.
        train_dev: A slice of the training distribution kept out of training, or None.
        indices: The row numbers of each set in the original data, by set name.
        task: `"classification"` or `"regression"`, as inferred from `y`.
        stratified: Whether class proportions were kept equal across sets.
        grouped: Whether the split kept each group in one set.

    Example:
        >>> import numpy as np
        >>> from lamina.data import split
        >>> x, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
        >>> s = split(x, y, dev=0.2, test=0.2)
        >>> s.sizes
        {'train': 12, 'dev': 4, 'test': 4}
    """

    train: tuple[Any, Any]
    dev: tuple[Any, Any] | None
    test: tuple[Any, Any] | None
    train_dev: tuple[Any, Any] | None = None
    indices: dict[str, np.ndarray] = field(default_factory=dict)
    task: str = "classification"
    stratified: bool = False
    grouped: bool = False

    def sets(self) -> dict[str, tuple[Any, Any]]:
        """The sets that exist, by name, in the order train, train_dev, dev, test."""
        return {name: getattr(self, name) for name in _SET_ORDER if getattr(self, name) is not None}

    @property
    def sizes(self) -> dict[str, int]:
        """Number of samples per set, by name (only the sets that exist)."""
        return {name: num_samples(data[0]) for name, data in self.sets().items()}

    def summary(self) -> str:
        """A plain-text table: samples and share of the whole per set, with the class
        proportions (classification) or the target mean and standard deviation
        (regression)."""
        from rich.console import Console
        from rich.table import Table

        sizes = self.sizes
        total = sum(sizes.values())
        table = Table(title=f"Splits ({self.task}"
                      + (", stratified" if self.stratified else "")
                      + (", grouped" if self.grouped else "") + ")")
        table.add_column("Set")
        table.add_column("Samples", justify="right")
        table.add_column("Share", justify="right")
        table.add_column("Classes (share)" if self.task == "classification" else "Target mean ± std")
        for name, (_, y) in self.sets().items():
            table.add_row(name, f"{sizes[name]:,}", f"{sizes[name] / total:.1%}", _describe_targets(y, self.task))
        buffer = io.StringIO()
        Console(file=buffer, width=100, color_system=None, force_terminal=False, no_color=True).print(table)
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return (
            f"Splits(task={self.task!r}, sizes={self.sizes}, stratified={self.stratified}, "
            f"grouped={self.grouped})"
        )


def _describe_targets(y: Any, task: str) -> str:
    if y is None:
        return "-"
    if task == "regression":
        arr = to_numpy(y).astype(np.float64)
        return f"{arr.mean():.4g} ± {arr.std():.4g}"
    labels, counts = np.unique(label_vector(y), return_counts=True)
    shares = counts / counts.sum()
    parts = [f"{label}: {share:.0%}" for label, share in zip(labels.tolist(), shares)]
    if len(parts) > 6:
        parts = parts[:6] + [f"... ({len(labels)} classes)"]
    return ", ".join(parts)


# ---------------------------------------------------------------------- split
def split(
    x: Any,
    y: Any,
    dev: float = 0.15,
    test: float = 0.15,
    train_dev: float | None = None,
    stratify: bool = True,
    groups: Any = None,
    seed: int = 0,
    task: str = "auto",
) -> Splits:
    """Splits ``(x, y)`` once into train, dev, test and (optionally) train-dev sets.

    Fractions are shares of the whole data; the training set gets the rest. The
    sets are disjoint and drawn at random (``seed``). The test set is meant to be
    used once, for the final report (see `Splits`).

    For classification (labels inferred with `infer_task`) the split is
    stratified: every set keeps the class proportions of the whole. For
    regression `stratify` is ignored (there are no classes to balance).

    With ``groups`` (one group id per sample: a patient, a user, a recording
    session) the split is group-aware: all samples of a group land in the same
    set, so the evaluation measures generalisation to *new* groups. Groups are
    assigned greedily, largest first, to the set furthest below its target size
    (and class proportions, when stratified), so the fractions are met
    approximately.

    Args:
        x: Inputs: NumPy array, torch tensor, pandas object, or a dict / list of
            those for a model with several inputs.
        y: Targets, one per sample.
        dev: Share of the data for the dev set, in [0, 1). Defaults to `0.15`.
        test: Share of the data for the test set, in [0, 1). Defaults to `0.15`.
        train_dev: Share of the data for a train-dev set: samples from the
            training distribution that are never trained on. Defaults to `None`
            (no train-dev set).
        stratify: Whether to keep class proportions equal across the sets
            (classification only). Defaults to `True`.
        groups: Optional group ids, one per sample. Defaults to `None`.
        seed: Seed of the random assignment. Defaults to `0`.
        task: ``"classification"`` (stratify by class), ``"regression"`` or
            ``"auto"`` (`lamina.data.infer_task` on ``y``). Defaults to ``"auto"``.

    Returns:
        A `Splits` with `train`, `dev`, `test`, `train_dev`, `indices` and `summary()`.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from lamina.data import split
        >>> x, y = load_iris(return_X_y=True)
        >>> s = split(x, y, dev=0.2, test=0.2)
        >>> (x_train, y_train), (x_dev, y_dev) = s.train, s.dev
        >>> s.sizes
        {'train': 90, 'dev': 30, 'test': 30}
    """
    fractions = _check_fractions(dev, test, train_dev)
    validation.boolean("split", "stratify", stratify)
    validation.non_negative_int("split", "seed", seed)
    n = num_samples(x)
    n_y = num_samples(y, "y")
    if n != n_y:
        raise ValueError(
            f"`split` expects `x` and `y` to have the same number of samples. "
            f"Received: x with {n} samples, y with {n_y}."
        )
    task = resolve_task("split", task, y)
    labels = label_vector(y) if task == "classification" and stratify else None
    targets = _target_counts(fractions, n)
    if groups is not None:
        group_ids = to_numpy(groups)
        if group_ids.ndim != 1 or len(group_ids) != n:
            raise ValueError(
                f"`split` expects `groups` to hold one group id per sample ({n} samples). "
                f"Received: groups with shape {group_ids.shape}."
            )
        assignment = _grouped_assignment(group_ids, labels, fractions, seed)
    elif labels is not None:
        assignment = _stratified_assignment(labels, targets, seed)
    else:
        rng = np.random.default_rng(seed)
        assignment = _cut(rng.permutation(n), targets)

    sets = {name: (take(x, idx), take(y, idx)) for name, idx in assignment.items()}
    return Splits(
        train=sets["train"],
        dev=sets.get("dev"),
        test=sets.get("test"),
        train_dev=sets.get("train_dev"),
        indices=assignment,
        task=task,
        stratified=labels is not None,
        grouped=groups is not None,
    )


def _check_fractions(dev: Any, test: Any, train_dev: Any) -> dict[str, float]:
    validation.number("split", "dev", dev, low=0.0, high=1.0, high_inclusive=False)
    validation.number("split", "test", test, low=0.0, high=1.0, high_inclusive=False)
    validation.number(
        "split", "train_dev", train_dev, low=0.0, high=1.0, low_inclusive=False,
        high_inclusive=False, allow_none=True,
    )
    total = dev + test + (train_dev or 0.0)
    if total >= 1.0:
        raise ValueError(
            "`split` expects `dev + test + train_dev` to be less than 1 (the training set "
            f"gets the rest). Received: dev={dev!r}, test={test!r}, train_dev={train_dev!r} "
            f"(sum {total:g}). Lower the fractions."
        )
    fractions = {"train_dev": train_dev or 0.0, "dev": float(dev), "test": float(test)}
    fractions = {k: v for k, v in fractions.items() if v > 0}
    fractions["train"] = 1.0 - sum(fractions.values())
    return fractions


def _target_counts(fractions: dict[str, float], n: int) -> dict[str, int]:
    """Samples per set: held-out sets rounded, at least one each; train gets the rest."""
    counts = {name: max(1, round(frac * n)) for name, frac in fractions.items() if name != "train"}
    counts["train"] = n - sum(counts.values())
    if counts["train"] < 1:
        raise ValueError(
            f"`split` cannot make {len(fractions)} non-empty sets from {n} samples with these "
            f"fractions. Received: {len(counts) - 1} held-out set(s) taking "
            f"{n - counts['train']} of {n} samples. Use more data or smaller fractions."
        )
    return counts


def _cut(order: np.ndarray, counts: dict[str, int]) -> dict[str, np.ndarray]:
    """Cuts a permutation into consecutive blocks: test, dev, train_dev, then train."""
    out, start = {}, 0
    for name in ("test", "dev", "train_dev", "train"):
        if name in counts:
            out[name] = np.sort(order[start : start + counts[name]])
            start += counts[name]
    return out


def _stratified_assignment(labels: np.ndarray, counts: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split

    classes, class_counts = np.unique(labels, return_counts=True)
    n_sets = len(counts)
    for label, count in zip(classes.tolist(), class_counts.tolist()):
        if count < n_sets:
            raise ValueError(
                f"`split` cannot stratify: class {label!r} has only {count} sample(s), fewer "
                f"than the {n_sets} sets to fill. Received: {len(labels)} samples in "
                f"{len(classes)} classes. Collect more samples of that class, drop it, or pass "
                "`stratify=False`."
            )
    for name, size in counts.items():
        if size < len(classes):
            raise ValueError(
                f"`split` cannot stratify: the {name} set would hold {size} sample(s) for "
                f"{len(classes)} classes. Received: {name} fraction giving {size} of "
                f"{len(labels)} samples. Raise that fraction or pass `stratify=False`."
            )
    remaining = np.arange(len(labels))
    out: dict[str, np.ndarray] = {}
    for step, name in enumerate(("test", "dev", "train_dev")):
        if name not in counts:
            continue
        try:
            rest, held = train_test_split(
                remaining, test_size=counts[name], stratify=labels[remaining],
                random_state=seed + step,
            )
        except ValueError as e:
            raise ValueError(
                f"`split` cannot stratify the {name} set: {e} Received: {len(labels)} samples "
                f"with class counts {dict(zip(classes.tolist(), class_counts.tolist()))}. "
                "Use smaller fractions or pass `stratify=False`."
            ) from e
        out[name] = np.sort(held)
        remaining = rest
    out["train"] = np.sort(remaining)
    return {name: out[name] for name in ("test", "dev", "train_dev", "train") if name in out}


def _grouped_assignment(
    group_ids: np.ndarray, labels: np.ndarray | None, fractions: dict[str, float], seed: int
) -> dict[str, np.ndarray]:
    """Greedy group assignment, in the spirit of scikit-learn's StratifiedGroupKFold:
    groups go, largest first (ties in random order), to the set whose deficit against
    its target counts (per class when stratified) the group fills best."""
    uniq, group_index = np.unique(group_ids, return_inverse=True)
    names = list(fractions)
    if len(uniq) < len(names):
        raise ValueError(
            f"`split` needs at least one group per set ({len(names)} sets: {', '.join(names)}). "
            f"Received: groups with {len(uniq)} distinct value(s). Use fewer held-out sets or "
            "finer groups."
        )
    if labels is not None:
        _, class_index = np.unique(labels, return_inverse=True)
    else:
        class_index = np.zeros(len(group_ids), dtype=np.int64)
    n_classes = int(class_index.max()) + 1
    # counts[g, c]: samples of class c in group g.
    counts = np.zeros((len(uniq), n_classes), dtype=np.float64)
    np.add.at(counts, (group_index, class_index), 1.0)
    targets = np.array([fractions[name] for name in names])[:, None] * counts.sum(axis=0)[None, :]
    filled = np.zeros_like(targets)

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(uniq))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    owner = np.empty(len(uniq), dtype=np.int64)
    for g in order:
        # Increase of the squared distance to the targets if g joins each set.
        cost = ((filled + counts[g] - targets) ** 2 - (filled - targets) ** 2).sum(axis=1)
        best = int(np.argmin(cost))
        owner[g] = best
        filled[best] += counts[g]
    # Every set must hold at least one group: move the smallest group of the
    # largest set into any set left empty.
    for s in range(len(names)):
        if not (owner == s).any():
            donor = int(np.argmax([np.sum(owner == t) for t in range(len(names))]))
            members = np.flatnonzero(owner == donor)
            owner[members[np.argmin(counts[members].sum(axis=1))]] = s
    sample_owner = owner[group_index]
    out = {name: np.flatnonzero(sample_owner == s) for s, name in enumerate(names)}
    return {name: out[name] for name in ("test", "dev", "train_dev", "train") if name in out}
