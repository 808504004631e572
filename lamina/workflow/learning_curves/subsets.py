"""The nested, stratified training subsets of a learning curve."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from lamina.data.splits import label_vector, num_samples
from lamina.utils import validation

__all__ = ["nested_order", "check_fractions", "check_seeds"]


def nested_order(y: Any, task: str, seed: int) -> np.ndarray:
    """A random order of the samples whose every prefix keeps the class proportions.

    For classification each sample gets the key ``(rank within its class + u) /
    class count`` with ``u`` uniform in [0, 1); sorting by the key interleaves the
    classes, so the first ``n`` samples hold about ``n × share`` of each class and
    smaller subsets are contained in larger ones. For regression: a permutation.

    Args:
        y: The targets (labels for classification).
        task: ``"classification"`` or ``"regression"``.
        seed: Seed of the order.

    Returns:
        A permutation of ``range(len(y))``.

    Example:
        >>> import numpy as np
        >>> order = nested_order(np.array([0, 0, 0, 0, 1, 1]), "classification", seed=0)
        >>> sorted(order.tolist())
        [0, 1, 2, 3, 4, 5]
    """
    rng = np.random.default_rng(seed)
    n = num_samples(y, "y")
    if task != "classification":
        return rng.permutation(n)
    labels = label_vector(y)
    _, codes = np.unique(labels, return_inverse=True)
    keys = np.empty(n, dtype=np.float64)
    for c in np.unique(codes):
        members = np.flatnonzero(codes == c)
        members = members[rng.permutation(len(members))]
        keys[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(keys, kind="stable")


def check_fractions(owner: str, fractions: Any) -> list[float]:
    """The fractions as sorted distinct floats in (0, 1], or a clear error."""
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence) or not fractions:
        raise ValueError(
            f"`{owner}` expects `fractions` to be a non-empty list of numbers in (0, 1]. "
            f"Received: fractions={fractions!r}."
        )
    out = []
    for f in fractions:
        validation.number(owner, "fractions", f, low=0.0, high=1.0, low_inclusive=False)
        out.append(float(f))
    return sorted(set(out))


def check_seeds(owner: str, seeds: Any, seed: int) -> list[int]:
    """The seeds to train each size with: ``seed, seed + 1, ...`` for a count, or the
    given distinct non-negative integers."""
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(
                f"`{owner}` expects `seeds` to be the number of seeds per size (>= 1) or a list of "
                f"seeds. Received: seeds={seeds!r}. Pass seeds=1 for one fit per size."
            )
        return [seed + i for i in range(int(seeds))]
    if isinstance(seeds, Sequence) and not isinstance(seeds, (str, bytes)) and seeds:
        out = []
        for s in seeds:
            validation.non_negative_int(owner, "seeds", s)
            out.append(int(s))
        if len(set(out)) == len(out):
            return out
    raise ValueError(
        f"`{owner}` expects `seeds` to be a positive integer (how many seeds per size) or a list of "
        f"distinct non-negative integers. Received: seeds={seeds!r}."
    )
