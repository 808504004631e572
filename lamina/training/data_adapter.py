"""Turns what the user passes to fit / evaluate / predict into batches on the device.

Two paths:

* In-memory arrays (NumPy, torch tensors, pandas, lists, or dicts/lists of
  them) take the fast path: converted and moved to the device once, checked
  once (same length, finite values), then batches are taken by index.
* A `torch.utils.data.Dataset`, a `DataLoader` or any re-iterable of batches
  `(x, y)` / `(x, y, sample_weight)` is iterated, each batch moved to the device.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.utils.tree import first_leaf, flatten, map_structure


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """Packs a batch as Keras does: `x` alone when there are no targets (a list or
    tuple `x`, several inputs, is wrapped as `(x,)`), else `(x, y)` or
    `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """Splits a batch into `(x, y, sample_weight)` (None for what is missing).

    Args:
        data: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; a list counts as a tuple.

    Example:
        >>> unpack_x_y_sample_weight((1, 2))
        (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`. "
        f"Received: a {type(data).__name__} of {len(data)} elements. Pack several inputs "
        "into one list or dict: `([x1, x2], y)`."
    )


def _is_array_like(a: Any) -> bool:
    return isinstance(a, (np.ndarray, torch.Tensor)) or hasattr(a, "to_numpy")


def is_array_data(x: Any) -> bool:
    """True for arrays, or dicts/lists/tuples whose leaves are arrays."""
    if x is None:
        return False
    if _is_array_like(x):
        return True
    if isinstance(x, dict):
        return bool(x) and all(_is_array_like(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        if not x:
            return False
        if all(_is_array_like(v) for v in x):
            return True
        # A plain list of numbers (or nested lists of numbers) is one array.
        return not isinstance(x[0], (tuple, dict)) and not _is_array_like(x[0])
    return False


def to_tensor(a: Any, what: str) -> torch.Tensor:
    """Converts one array-like to a torch tensor: floats to float32, integers to int64."""
    if isinstance(a, torch.Tensor):
        t = a
    else:
        if hasattr(a, "to_numpy"):
            a = a.to_numpy()
        arr = np.asarray(a)
        if arr.dtype == object or arr.dtype.kind in "USO":
            raise TypeError(
                f"`{what}` must hold numbers; received an array of dtype {arr.dtype}. "
                "Encode text or categories first (e.g. with `lamina.layers.TextVectorization` "
                "or `StringLookup`), or pass a numeric array."
            )
        arr = np.ascontiguousarray(arr)
        if not arr.flags.writeable:  # e.g. a pandas view: copy once rather than alias read-only memory
            arr = arr.copy()
        t = torch.from_numpy(arr)
    if t.dtype == torch.float64 or t.dtype == torch.float16 or t.dtype == torch.bool:
        t = t.float()
    elif t.dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        t = t.long()
    return t


class _TextInputError(TypeError, AttributeError):
    """Raised when a numeric layer uses text; an AttributeError too, so `hasattr`
    and `getattr(x, name, default)` keep working on text arrays."""


class TextArray(np.ndarray):
    """A NumPy array of strings on its way to a text layer (`TextVectorization`,
    `StringLookup`, `Hashing`). A tensor method used on it (the model's first layer
    wanted numbers) raises a TypeError that says to encode the text first."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not hasattr(torch.Tensor, name):
            raise AttributeError(name)
        raise _TextInputError(
            f"`x` must hold numbers; received an array of dtype {self.dtype}. Encode text or "
            "categories first (e.g. with `lamina.layers.TextVectorization` or `StringLookup` as "
            f"the model's first layer), or pass a numeric array. (A layer called `.{name}` on it.)"
        )


def string_array(a: Any) -> np.ndarray | None:
    """``a`` as a NumPy array when it holds only Python strings (text), else None."""
    if isinstance(a, torch.Tensor):
        return None
    if hasattr(a, "to_numpy"):
        a = a.to_numpy()
    arr = a if isinstance(a, np.ndarray) else np.asarray(a)
    if arr.dtype.kind == "U":
        return arr
    if arr.dtype == object and arr.size and all(isinstance(v, str) for v in arr.flat):
        return arr
    return None


def _structure_to_tensors(x: Any, what: str, strings: bool = True) -> Any:
    """Converts the leaves to tensors. With ``strings`` (inputs `x`, not targets), an
    array of Python strings stays a NumPy array, for a first `TextVectorization` /
    `StringLookup` / `Hashing` layer; it is batched by index on the host."""

    def leaf(a: Any, name: str) -> Any:
        if strings and not isinstance(a, torch.Tensor):
            text = string_array(a)
            if text is not None:
                return text.view(TextArray)
        return to_tensor(a, name)

    if _is_array_like(x):
        return leaf(x, what)
    if isinstance(x, dict):
        return {k: leaf(v, f"{what}['{k}']") for k, v in x.items()}
    if isinstance(x, (list, tuple)) and all(_is_array_like(v) for v in x):
        return [leaf(v, f"{what}[{i}]") for i, v in enumerate(x)]
    return leaf(x, what)


def _take(a: Any, idx: torch.Tensor) -> Any:
    """``a[idx]``; a NumPy (text) array is indexed on the host."""
    return a[idx.cpu().numpy()] if isinstance(a, np.ndarray) else a[idx]


def _check_finite(t: torch.Tensor, what: str) -> None:
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        return
    bad = ~torch.isfinite(t)
    count = int(bad.sum())
    if count:
        first = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"`{what}` contains {count} NaN or infinite value(s); the first is at index {where}. "
            "Clean or impute the data before training (for example with "
            "sklearn.impute.SimpleImputer), or drop those rows."
        )


def _leaves_named(struct: Any, what: str) -> list[tuple[str, torch.Tensor]]:
    if isinstance(struct, dict):
        return [(f"{what}['{k}']", v) for k, v in struct.items()]
    if isinstance(struct, list):
        return [(f"{what}[{i}]", v) for i, v in enumerate(struct)]
    return [(what, struct)]


class ArrayAdapter:
    """In-memory data on the device; batches are taken by index, without host sync."""

    one_shot = False

    def __init__(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        *,
        batch_size: int = 32,
        shuffle: bool = False,
        device: torch.device,
        check_finite: bool = True,
    ) -> None:
        # A DataFrame's column names, for the reference profile's feature names.
        self.column_names = [str(c) for c in x.columns] if hasattr(x, "columns") and hasattr(x, "to_numpy") else None
        self.x = _structure_to_tensors(x, "x")
        self.y = None if y is None else _structure_to_tensors(y, "y", strings=False)
        self.sample_weight = None if sample_weight is None else to_tensor(sample_weight, "sample_weight").float()
        named = _leaves_named(self.x, "x")
        if self.y is not None:
            named += _leaves_named(self.y, "y")
        if self.sample_weight is not None:
            named.append(("sample_weight", self.sample_weight))
        sizes = {name: int(t.shape[0]) if t.ndim else 0 for name, t in named}
        if len(set(sizes.values())) > 1:
            listed = ", ".join(f"{name} has {n} samples" for name, n in sizes.items())
            raise ValueError(
                f"Data cardinality is ambiguous: {listed}. Make sure all arrays contain the "
                "same number of samples."
            )
        self.num_samples = next(iter(sizes.values()))
        if self.num_samples == 0:
            raise ValueError("The data is empty: `x` has 0 samples. Pass at least one sample.")
        if check_finite:
            for name, t in named:
                _check_finite(t, name)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = device
        to_dev = lambda t: t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t  # noqa: E731
        self.x = map_structure(to_dev, self.x)
        self.y = None if self.y is None else map_structure(to_dev, self.y)
        if self.sample_weight is not None:
            self.sample_weight = to_dev(self.sample_weight)

    @property
    def steps(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def apply_class_weight(self, class_weight: dict[int, float]) -> None:
        """Folds a `{class: weight}` dict into per-sample weights, once."""
        if self.y is None or not isinstance(self.y, torch.Tensor):
            raise ValueError(
                "`class_weight` needs a single label array `y`. For multi-output models "
                "pass `sample_weight` instead."
            )
        y = self.y
        if y.ndim == 2 and y.shape[1] > 1:
            labels = y.argmax(dim=1)
        else:
            labels = y.reshape(-1)
            labels = labels.round().long() if labels.is_floating_point() else labels.long()
        n_classes = int(labels.max()) + 1
        table = torch.ones(max(n_classes, max(class_weight) + 1), device=y.device)
        for k, w in class_weight.items():
            if not isinstance(k, (int, np.integer)) or k < 0 or w < 0:
                raise ValueError(
                    "`class_weight` must map class indices (integers >= 0) to weights >= 0. "
                    f"Received: class_weight={class_weight!r}."
                )
            table[int(k)] = float(w)
        weights = table[labels]
        self.sample_weight = weights if self.sample_weight is None else self.sample_weight * weights

    def split(self, fraction: float) -> ArrayAdapter:
        """Splits off the last ``fraction`` of the samples (before shuffling), as Keras's
        `validation_split` does, and returns it as a new adapter."""
        n_val = int(math.floor(self.num_samples * fraction))
        n_train = self.num_samples - n_val
        if n_val == 0 or n_train == 0:
            raise ValueError(
                f"`validation_split={fraction}` leaves {n_train} training and {n_val} validation "
                f"samples out of {self.num_samples}. Use a split that keeps both non-empty."
            )
        head = lambda t: t[:n_train]  # noqa: E731
        tail = lambda t: t[n_train:]  # noqa: E731
        val = ArrayAdapter.__new__(ArrayAdapter)
        val.x = map_structure(tail, self.x)
        val.y = None if self.y is None else map_structure(tail, self.y)
        val.sample_weight = None if self.sample_weight is None else tail(self.sample_weight)
        val.num_samples, val.batch_size, val.shuffle, val.device = n_val, self.batch_size, False, self.device
        self.x = map_structure(head, self.x)
        self.y = None if self.y is None else map_structure(head, self.y)
        if self.sample_weight is not None:
            self.sample_weight = head(self.sample_weight)
        self.num_samples = n_train
        return val

    def first_batch(self) -> Any:
        """The first samples, without shuffling (so no random number is drawn)."""
        sl = slice(0, self.batch_size)
        take = lambda t: t[sl]  # noqa: E731
        return pack_x_y_sample_weight(
            map_structure(take, self.x),
            None if self.y is None else map_structure(take, self.y),
            None if self.sample_weight is None else self.sample_weight[sl],
        )

    def __iter__(self) -> Iterator[Any]:
        n, bs = self.num_samples, self.batch_size
        x, y, sw = self.x, self.y, self.sample_weight
        single_x = isinstance(x, torch.Tensor)
        pack = pack_x_y_sample_weight
        if self.shuffle:
            perm = torch.randperm(n, device=self.device)
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                xb = x[idx] if single_x else map_structure(lambda t, i=idx: _take(t, i), x)
                yb = None if y is None else (y[idx] if isinstance(y, torch.Tensor) else map_structure(lambda t, i=idx: t[i], y))
                yield pack(xb, yb, None if sw is None else sw[idx])
        else:
            for start in range(0, n, bs):
                sl = slice(start, start + bs)
                xb = x[sl] if single_x else map_structure(lambda t, s=sl: t[s], x)
                yb = None if y is None else map_structure(lambda t, s=sl: t[s], y)
                yield pack(xb, yb, None if sw is None else sw[sl])

    def batch_size_of(self, batch: Any) -> int:
        return int(first_leaf(unpack_x_y_sample_weight(batch)[0]).shape[0])


class IterableAdapter:
    """A Dataset, DataLoader or re-iterable of batches, moved to the device batch by batch."""

    def __init__(self, data: Any, *, batch_size: int = 32, shuffle: bool = False, device: torch.device) -> None:
        from torch.utils.data import DataLoader, Dataset, IterableDataset

        if isinstance(data, Dataset):
            shuffle = shuffle and not isinstance(data, IterableDataset)
            data = DataLoader(data, batch_size=batch_size, shuffle=shuffle)
        self.one_shot = iter(data) is data
        self.data = data
        self.device = device
        self.batch_size = batch_size
        self._stream: Iterator[Any] | None = None
        self._peeked: Any = None
        try:
            self._steps: int | None = len(data)
        except TypeError:
            self._steps = None

    @property
    def steps(self) -> int | None:
        return self._steps

    def _to_device(self, item: Any, what: str) -> Any:
        def move(a: Any) -> Any:
            if what == "x" and not isinstance(a, torch.Tensor):
                text = string_array(a)
                if text is not None:  # text stays on the host for a first text layer, as in arrays
                    return text.view(TextArray)
            t = a if isinstance(a, torch.Tensor) else to_tensor(a, what)
            if t.dtype == torch.float64:
                t = t.float()
            return t.to(self.device, non_blocking=True)

        return map_structure(move, item)

    def _unpack(self, batch: Any) -> Any:
        # Batches are `(x, y)` or `(x, y, sample_weight)`; anything else is `x` alone.
        w = None
        if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
            x, y = batch[0], batch[1]
            w = batch[2] if len(batch) == 3 else None
        elif isinstance(batch, (tuple, list)) and len(batch) == 1:
            x, y = batch[0], None
        else:
            x, y = batch, None
        return pack_x_y_sample_weight(
            self._to_device(x, "x"),
            None if y is None else self._to_device(y, "y"),
            None if w is None else self._to_device(w, "sample_weight").float(),
        )

    def _raw_iterator(self) -> Iterator[Any]:
        if not self.one_shot:
            return iter(self.data)
        if self._stream is None:
            self._stream = iter(self.data)
        return self._stream

    def __iter__(self) -> Iterator[Any]:
        # A one-shot iterator (a generator) is read on where the last pass stopped,
        # starting with the batch `first_batch` looked at.
        if self._peeked is not None:
            peeked, self._peeked = self._peeked, None
            yield peeked
        for batch in self._raw_iterator():
            yield self._unpack(batch)

    def first_batch(self) -> Any:
        """The first batch. For a one-shot iterator it is kept and handed out again
        as the first batch of the next pass, so nothing is lost."""
        if self._peeked is not None:
            return self._peeked
        try:
            batch = self._unpack(next(self._raw_iterator()))
        except StopIteration:
            raise ValueError("The data yielded no batches. Check that it is not empty.") from None
        if self.one_shot:
            self._peeked = batch
        return batch

    def batch_size_of(self, batch: Any) -> int:
        return int(first_leaf(unpack_x_y_sample_weight(batch)[0]).shape[0])


def adapt(
    x: Any,
    y: Any = None,
    sample_weight: Any = None,
    *,
    batch_size: int | None,
    shuffle: bool,
    device: torch.device,
    role: str,
) -> ArrayAdapter | IterableAdapter:
    """Chooses the adapter for ``x`` and checks the arguments that go with it."""
    if batch_size is None:
        batch_size = 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"`{role}` expects `batch_size` to be a positive integer. Received: batch_size={batch_size!r}.")
    if x is None:
        raise ValueError(f"`{role}` needs input data: pass `x`. Received: x=None.")
    if is_array_data(x):
        if y is not None and not is_array_data(y):
            raise ValueError(
                f"`{role}` received arrays for `x` but {type(y).__name__} for `y`. Pass `y` as an "
                "array (or a dict/list of arrays for several outputs)."
            )
        return ArrayAdapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, device=device)
    if y is not None:
        raise ValueError(
            f"`{role}` received a {type(x).__name__} for `x` and also `y`. When `x` is a dataset, "
            "data loader or iterable, it must yield `(x, y)` or `(x, y, sample_weight)` batches "
            "and `y` must not be passed."
        )
    if sample_weight is not None:
        raise ValueError(
            f"`{role}`: `sample_weight` cannot be combined with a dataset or iterable; yield "
            "`(x, y, sample_weight)` batches instead."
        )
    from lamina.utils.py_dataset import PyDataset

    if isinstance(x, PyDataset):
        from lamina.training.py_dataset_adapter import PyDatasetAdapter

        return PyDatasetAdapter(x, shuffle=shuffle, device=device, role=role)
    try:
        iter(x)
    except TypeError:
        raise TypeError(
            f"`{role}` cannot use x of type {type(x).__name__}. Pass NumPy arrays, torch tensors, "
            "pandas objects, a dict/list of those, a torch Dataset or DataLoader, or an iterable "
            "of (x, y) batches."
        ) from None
    return IterableAdapter(x, batch_size=batch_size, shuffle=shuffle, device=device)


def adapt_validation(validation_data: Any, batch_size: int | None, device: torch.device) -> Any:
    """The adapter for `fit`'s `validation_data`: a tuple of arrays or a dataset / iterable."""
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3) and is_array_data(validation_data[0]):
        vx, vy = validation_data[0], validation_data[1]
        vw = validation_data[2] if len(validation_data) == 3 else None
        return adapt(vx, vy, vw, batch_size=batch_size, shuffle=False, device=device, role="fit(validation_data)")
    if isinstance(validation_data, tuple):
        raise ValueError(
            "`validation_data` must be a tuple `(x_val, y_val)` or `(x_val, y_val, sample_weight)` "
            f"of arrays, or a dataset/iterable of batches. Received a tuple of {len(validation_data)}."
        )
    return adapt(validation_data, batch_size=batch_size, shuffle=False, device=device, role="fit(validation_data)")


__all__ = [
    "ArrayAdapter",
    "IterableAdapter",
    "adapt",
    "adapt_validation",
    "flatten",
    "is_array_data",
    "pack_x_y_sample_weight",
    "to_tensor",
    "unpack_x_y_sample_weight",
]
