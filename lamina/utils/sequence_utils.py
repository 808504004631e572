"""`pad_sequences`: lists of variable-length sequences to one padded array."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pads sequences to the same length.

    Turns a list of `num_samples` sequences (lists of integers, or of arrays of
    one shape) into an array of shape `(num_samples, maxlen) + sample_shape`.
    Sequences shorter than `maxlen` are padded with `value` (at the start with
    `padding="pre"`, the Keras default, or at the end with `"post"`); longer ones
    are truncated, dropping values at the start (`truncating="pre"`) or the end.

    Args:
        sequences: List of sequences (each a list or array).
        maxlen: Length of the output sequences. Defaults to `None` (the length of
            the longest sequence).
        dtype: Type of the output array; may be a string type for text tokens.
            Defaults to `"int32"`.
        padding: `"pre"` or `"post"`: pad before or after each sequence.
            Defaults to `"pre"`.
        truncating: `"pre"` or `"post"`: drop values from the start or the end of
            sequences longer than `maxlen`. Defaults to `"pre"`.
        value: Padding value (float or string). Defaults to `0.0`.

    Returns:
        NumPy array of shape `(len(sequences), maxlen) + sample_shape`.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", truncating="post")
        array([[1, 0],
               [2, 3],
               [4, 5]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(
            "`pad_sequences` expects `sequences` to be a list of sequences. "
            f"Received: sequences of type {type(sequences).__name__}. Pass a list (e.g. `list(sequences)`)."
        )
    for name, option in (("padding", padding), ("truncating", truncating)):
        if option not in ("pre", "post"):
            raise ValueError(
                f"`pad_sequences` expects `{name}` to be 'pre' or 'post'. Received: {name}={option!r}."
            )
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral) or maxlen < 0):
        raise ValueError(
            f"`pad_sequences` expects `maxlen` to be a non-negative integer or None. Received: maxlen={maxlen!r}."
        )
    num_samples = len(sequences)
    lengths = []
    sample_shape: tuple[int, ...] = ()
    found_shape = False
    for i, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(
                "`pad_sequences` expects `sequences` to be a list of iterables. Received: "
                f"sequences[{i}]={s!r}. Wrap single values in a list."
            ) from None
        if not found_shape and len(s):
            sample_shape = np.asarray(s).shape[1:]
            found_shape = True
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    is_dtype_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and dtype is not object and not is_dtype_str:
        raise ValueError(
            f"`pad_sequences` cannot pad with the string value={value!r} into dtype={dtype!r}. "
            "Pass `dtype=object` (or a string dtype) to pad with strings."
        )
    x = np.full((num_samples, maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s):
            continue
        trunc = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if maxlen == 0:
            continue
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(
                f"`pad_sequences` found sequences[{i}] with elements of shape {trunc.shape[1:]}; "
                f"the others have shape {tuple(sample_shape)}. Give all elements the same shape."
            )
        if padding == "post":
            x[i, : len(trunc)] = trunc
        else:
            x[i, -len(trunc):] = trunc
    return x
