"""Vectorised documents, kept per string: what makes `TextVectorization` fast in `fit`.

`TextVectorization` standardises, splits and looks up every string it is given.
In `fit` the same training strings come back every epoch (in another order), so
each distinct string is vectorised once and its row kept in a `DocumentCache`:
for `"int"` the token ids, for the other modes the sparse row (column ids and
values, tf-idf weighting and normalisation applied). A batch is then assembled
from the kept rows. The cache belongs to one vocabulary: `adapt` and
`set_vocabulary` empty it, and rows are keyed by the string itself, so a later
`fit` on other data cannot read a stale row.

Besides the cache, this module holds the pure functions of the bag-of-words
modes: the idf formulas (`idf_weights`) and the row encoder (`encode_rows`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

IDF_FORMULAS = ("keras", "smooth", "unsmoothed")
NORMS = ("l2", "l1")


def idf_weights(doc_freq: np.ndarray, num_docs: int, formula: str) -> np.ndarray:
    """Inverse document frequencies of tokens found in ``doc_freq`` of ``num_docs`` documents.

    Args:
        doc_freq: How many documents hold each token (integers >= 1).
        num_docs: The number of documents.
        formula: `"keras"`: `log(1 + num_docs / (1 + doc_freq))` (Keras's
            `TextVectorization`); `"smooth"`: `log((1 + num_docs) / (1 + doc_freq)) + 1`
            (scikit-learn's `TfidfVectorizer(smooth_idf=True)`, its default);
            `"unsmoothed"`: `log(num_docs / doc_freq) + 1` (`smooth_idf=False`).

    Returns:
        float64 array, one weight per token.

    Example:
        >>> idf_weights(np.array([1, 2]), 2, "smooth").round(4).tolist()
        [1.4055, 1.0]
    """
    df = np.asarray(doc_freq, dtype=np.float64)
    if formula == "keras":
        return np.log(1.0 + num_docs / (1.0 + df))
    if formula == "smooth":
        return np.log((1.0 + num_docs) / (1.0 + df)) + 1.0
    if formula == "unsmoothed":
        return np.log(num_docs / df) + 1.0
    raise ValueError(f"Unknown idf formula {formula!r}; expected one of {IDF_FORMULAS}.")


def encode_rows(
    ids: np.ndarray,
    lengths: np.ndarray,
    depth: int,
    output_mode: str,
    idf: np.ndarray | None,
    sublinear_tf: bool,
    norm: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse bag-of-words rows of documents given as ragged token ids.

    Args:
        ids: Token ids of all documents, one after the other (int64, in `[0, depth)`).
        lengths: The number of ids of each document.
        depth: The width of a row.
        output_mode: `"multi_hot"`, `"count"` or `"tf_idf"`.
        idf: float32 idf weight per column (`"tf_idf"` only).
        sublinear_tf: Replace a count `tf` by `1 + log(tf)`.
        norm: `None`, `"l2"` or `"l1"`: scale each row to unit norm.

    Returns:
        `(row, col, value)`: the non-zero entries, sorted by row then column;
        `value` is float32.
    """
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    keys, counts = np.unique(rows * depth + ids, return_counts=True)
    row, col = keys // depth, keys % depth
    if output_mode == "multi_hot":
        value = np.ones(len(keys), dtype=np.float32)
    else:
        value = counts.astype(np.float32)
        if sublinear_tf:
            value = (1.0 + np.log(value)).astype(np.float32)
        if output_mode == "tf_idf":
            value = value * idf[col]
    if norm is not None:
        size = np.abs(value) if norm == "l1" else value * value
        total = np.bincount(row, weights=size, minlength=len(lengths)).astype(np.float32)
        if norm == "l2":
            total = np.sqrt(total)
        total[total == 0] = 1.0
        value = (value / total[row]).astype(np.float32)
    return row, col, value


class DocumentCache:
    """Rows of vectorised strings, kept per string for one vocabulary.

    Args:
        limit: The most strings kept; when full, the cache is emptied and refilled
            (0 keeps nothing).

    `owner` is the state the rows were computed for (the vocabulary and idf
    objects); `valid_for(state)` empties the cache when it changed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows: dict[str, Any] = {}
        self._state: tuple[Any, ...] | None = None

    def valid_for(self, state: tuple[Any, ...]) -> None:
        """Empties the cache unless it was filled for exactly these state objects."""
        if (
            self._state is None
            or len(state) != len(self._state)
            or any(a is not b for a, b in zip(state, self._state))
        ):
            self.rows = {}
            self._state = state

    def clear(self) -> None:
        """Forgets every row."""
        self.rows = {}
        self._state = None

    def missing(self, texts: np.ndarray) -> list[str]:
        """The distinct strings of ``texts`` that have no row yet."""
        rows = self.rows
        return list(dict.fromkeys(t for t in texts if t not in rows))

    def store(self, texts: list[str], values: list[Any]) -> None:
        """Keeps one row per string (nothing when `limit` is 0; emptied first when full)."""
        if self.limit <= 0:
            return
        if len(self.rows) + len(texts) > self.limit:
            self.rows = {}
        self.rows.update(zip(texts[: self.limit], values[: self.limit]))
