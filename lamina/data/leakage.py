"""Finds samples duplicated across the train, dev and test sets.

A test image that also sits in the training set (a re-upload, a scraped copy,
an augmented file saved twice) is scored on memory, not generalisation.
`check_leakage(splits)` hashes every input row and reports, for each pair of
sets, how many rows of the later set also appear in the earlier one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina.data.splits import _SET_ORDER, Splits, _is_multi, num_samples, to_numpy

_EXAMPLES = 5


def _flat_rows(x: Any, dtype: np.dtype | None) -> np.ndarray:
    arr = to_numpy(x)
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim != 1 else arr.reshape(-1, 1)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    if arr.dtype.kind == "f":
        arr = arr + 0.0  # -0.0 and 0.0 hash the same
    return np.ascontiguousarray(arr)


def _common_dtype(a: Any, b: Any) -> np.dtype | None:
    da, db = to_numpy(a).dtype, to_numpy(b).dtype
    if da.kind in "biuf" and db.kind in "biuf":
        return np.result_type(da, db)
    return None


def _row_digests(x: Any, other: Any = None) -> list[bytes]:
    """One 16-byte digest per sample; inputs of a multi-input ``x`` are hashed together."""
    if _is_multi(x):
        keys = list(x) if isinstance(x, dict) else range(len(x))
        parts = [
            _row_digests(x[k], None if other is None else other[k]) for k in keys
        ]
        return [hashlib.blake2b(b"".join(p), digest_size=16).digest() for p in zip(*parts)]
    dtype = None if other is None else _common_dtype(x, other)
    rows = _flat_rows(x, dtype)
    if rows.dtype.kind == "O":
        return [hashlib.blake2b(repr(r.tolist()).encode(), digest_size=16).digest() for r in rows]
    return [hashlib.blake2b(r.tobytes(), digest_size=16).digest() for r in rows]


def _feature_shape(x: Any) -> Any:
    if _is_multi(x):
        items = x.items() if isinstance(x, dict) else enumerate(x)
        return {k: _feature_shape(v) for k, v in items}
    return tuple(to_numpy(x).shape[1:])


def find_duplicates(x_a: Any, x_b: Any) -> np.ndarray:
    """Finds the rows of ``x_b`` that exactly equal a row of ``x_a``.

    Rows are compared byte for byte after casting both arrays to a common dtype
    (so `float32` and `float64` copies of the same value match), by hashing each
    row. Near-duplicates (a resized or re-encoded image) are not detected.

    Args:
        x_a: The reference inputs, e.g. the training set (array, tensor, pandas, or
            a dict / list of those for several inputs).
        x_b: The inputs to check, e.g. the test set, with the same per-sample shape.

    Returns:
        An integer array of shape `(k, 2)`: one row `(i, j)` per row `j` of `x_b` that
        duplicates a row of `x_a`, with `i` the first such row in `x_a`. `k` is the
        number of duplicated rows of `x_b`.

    Example:
        >>> import numpy as np
        >>> from lamina.data import find_duplicates
        >>> train = np.array([[0, 1], [2, 3], [4, 5]])
        >>> test = np.array([[2, 3], [9, 9]])
        >>> find_duplicates(train, test)
        array([[1, 0]])
    """
    shape_a, shape_b = _feature_shape(x_a), _feature_shape(x_b)
    if shape_a != shape_b:
        raise ValueError(
            "`find_duplicates` expects both inputs to have the same per-sample shape. "
            f"Received: x_a samples of shape {shape_a}, x_b samples of shape {shape_b}."
        )
    first: dict[bytes, int] = {}
    for i, digest in enumerate(_row_digests(x_a, x_b)):
        first.setdefault(digest, i)
    pairs = [(first[d], j) for j, d in enumerate(_row_digests(x_b, x_a)) if d in first]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


@dataclass
class PairLeakage:
    """Duplicates between two sets: ``count`` rows of `second` also appear in `first`.

    Attributes:
        first: Name of the reference set (e.g. "train").
        second: Name of the checked set (e.g. "test").
        count: Number of rows of `second` that duplicate a row of `first`.
        size: Number of rows in `second`.
        examples: Up to five `(index in first, index in second)` pairs (row numbers
            within each set).
    """

    first: str
    second: str
    count: int
    size: int
    examples: list[tuple[int, int]] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Fraction of `second` that is duplicated."""
        return self.count / self.size if self.size else 0.0


@dataclass
class LeakageReport:
    """The result of `check_leakage`: duplicates for every pair of sets.

    Attributes:
        pairs: `{(first, second): PairLeakage}` for every pair of sets, in the order
            train, train_dev, dev, test.

    `ok` is True when no row is shared between two sets; `str(report)` says which
    pairs leak, how much, and gives example row numbers.
    """

    pairs: dict[tuple[str, str], PairLeakage]

    @property
    def ok(self) -> bool:
        """True when no set shares a row with another."""
        return all(p.count == 0 for p in self.pairs.values())

    def __str__(self) -> str:
        names = []
        for first, second in self.pairs:
            names += [n for n in (first, second) if n not in names]
        if self.ok:
            return f"No leakage: no row is shared between {', '.join(names)}."
        lines = ["Leakage: some rows appear in more than one set."]
        for p in self.pairs.values():
            if p.count == 0:
                lines.append(f"  {p.first} / {p.second}: none")
                continue
            shown = ", ".join(f"{p.second}[{j}] = {p.first}[{i}]" for i, j in p.examples)
            more = ", ..." if p.count > len(p.examples) else ""
            lines.append(
                f"  {p.first} / {p.second}: {p.count} of {p.size} {p.second} rows ({p.share:.1%}) "
                f"duplicate {p.first} rows, e.g. {shown}{more}"
            )
        lines.append(
            "Scores on a set that shares rows with the training data are optimistic. Remove "
            "the duplicates (or split by `groups=` so copies stay together) and re-split."
        )
        return "\n".join(lines)


def check_leakage(splits: Any) -> LeakageReport:
    """Reports input rows duplicated across the sets of a split.

    Every pair of sets is checked (train / train_dev, train / dev, train / test,
    dev / test, ...); exact duplicates are found by hashing rows (see
    `find_duplicates`). Only the inputs are compared, not the targets.

    Args:
        splits: A `Splits` from `lamina.data.split`, or a mapping of set name to
            inputs or `(x, y)` pairs, e.g. `{"train": x_train, "test": x_test}`.

    Returns:
        A `LeakageReport` with `ok`, `pairs` and a readable `str()`.

    Example:
        >>> import numpy as np
        >>> from lamina.data import check_leakage
        >>> report = check_leakage({"train": np.eye(3), "test": np.eye(3)[:1]})
        >>> report.ok, report.pairs["train", "test"].count
        (False, 1)
    """
    if isinstance(splits, Splits):
        sets = {name: data[0] for name, data in splits.sets().items()}
    elif isinstance(splits, Mapping):
        sets = {
            name: (data[0] if isinstance(data, tuple) and len(data) == 2 else data)
            for name, data in splits.items()
        }
        order = {name: i for i, name in enumerate(_SET_ORDER)}
        sets = dict(sorted(sets.items(), key=lambda kv: order.get(kv[0], len(order))))
    else:
        raise TypeError(
            "`check_leakage` expects a `Splits` (from `lamina.data.split`) or a dict of set "
            f"name to inputs. Received: splits of type {type(splits).__name__}."
        )
    if len(sets) < 2:
        raise ValueError(
            "`check_leakage` needs at least two sets to compare. "
            f"Received: {len(sets)} set(s): {', '.join(sets) or 'none'}."
        )
    names = list(sets)
    pairs = {}
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            first, second = names[a], names[b]
            found = find_duplicates(sets[first], sets[second])
            pairs[first, second] = PairLeakage(
                first=first,
                second=second,
                count=len(found),
                size=num_samples(sets[second]),
                examples=[(int(i), int(j)) for i, j in found[:_EXAMPLES]],
            )
    return LeakageReport(pairs)
