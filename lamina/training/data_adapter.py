"""Turns what the user passes to fit / evaluate / predict into batches on the device.

Two paths:

* In-memory arrays (NumPy, torch tensors, pandas, lists, or dicts/lists of
  them) take the fast path: converted and moved to the device once, checked
  once (same length, and the `DataValidator` on the whole arrays, in blocks),
  then batches are taken by index.
* A `torch.utils.data.Dataset`, a `DataLoader` or any re-iterable of batches
  `(x, y)` / `(x, y, sample_weight)` is iterated; each batch is checked by the
  same `DataValidator` (on the host when it comes from the CPU) and moved to
  the device.

The validator (`lamina.training.data_checks`) starts with the checks that need
no model (finite values, real dtypes, features); the trainer hands each adapter
the model's checks (targets against the loss, `Embedding` indices) with
`set_validator` once the model is built.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.training import data_checks
from lamina.training.data_checks import DataValidator
from lamina.utils import validation
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
    """Converts one array-like to a torch tensor: floats to float32, integers to int64.

    Complex numbers and ragged nested lists are refused with an error that says
    where the problem is and how to fix it."""
    if isinstance(a, torch.Tensor):
        t = a
        data_checks.check_dtype(t, what)
    else:
        if hasattr(a, "to_numpy"):
            a = a.to_numpy()
        if isinstance(a, (list, tuple)):
            ragged = data_checks.ragged_error(a, what)
            if ragged is not None:
                raise ragged
        arr = np.asarray(a)
        data_checks.check_dtype(arr, what)
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


def string_array(a: Any, what: str = "x") -> np.ndarray | None:
    """``a`` as a NumPy array when it holds only Python strings (text), else None.
    A ragged nested list raises a ValueError naming ``what`` and the row."""
    if isinstance(a, torch.Tensor):
        return None
    if hasattr(a, "to_numpy"):
        a = a.to_numpy()
    if isinstance(a, (list, tuple)):
        ragged = data_checks.ragged_error(a, what)
        if ragged is not None:
            raise ragged
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
            text = string_array(a, name)
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
        validator: DataValidator | None = None,
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
        # The checks that need no model, once, on the whole arrays (in blocks of rows).
        self.validator = validator or DataValidator()
        if check_finite:
            self.validator.check_basic(self.x, self.y, self.sample_weight)
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

    def set_validator(self, validator: DataValidator) -> None:
        """Takes the model's checks and applies them once, to the whole arrays (the
        rules the previous validator already applied are not run again)."""
        previous, self.validator = self.validator, validator
        validator.check_model(self.x, self.y, skip=previous)

    def apply_class_weight(self, class_weight: dict[int, float]) -> None:
        """Folds a `{class: weight}` dict into per-sample weights, once."""
        class_weight = data_checks.check_class_weight(class_weight)
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
            table[k] = w
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
        val.column_names, val.validator = self.column_names, self.validator
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


def host_leaf(a: Any, what: str, keep_text: bool) -> Any:
    """One leaf of a batch as a tensor, still where it came from: converted as arrays
    are (floats and bools to float32; complex refused); text for a first text layer
    stays a NumPy array."""
    if keep_text and not isinstance(a, torch.Tensor):
        text = string_array(a, what)
        if text is not None:
            return text.view(TextArray)
    t = a if isinstance(a, torch.Tensor) else to_tensor(a, what)
    data_checks.check_dtype(t, what)
    if (t.is_floating_point() and t.dtype != torch.float32) or t.dtype == torch.bool:
        t = t.float()  # float64 / float16 / bfloat16 / bool to float32, as for arrays
    return t


def checked_batch(
    x: Any, y: Any, w: Any, validator: DataValidator, where: str, device: torch.device
) -> Any:
    """Converts a batch's parts on the host, checks them with ``validator`` and moves
    them to ``device``; returns the batch packed as `x`, `(x, y)` or `(x, y, sample_weight)`."""
    x = _named_map(x, "x", lambda a, n: host_leaf(a, n, True))
    y = None if y is None else _named_map(y, "y", lambda a, n: host_leaf(a, n, False))
    w = None if w is None else _named_map(w, "sample_weight", lambda a, n: host_leaf(a, n, False).float())
    validator.check_batch(x, y, w, where)
    to_dev = lambda t: t.to(device, non_blocking=True) if isinstance(t, torch.Tensor) else t  # noqa: E731
    return pack_x_y_sample_weight(
        map_structure(to_dev, x),
        None if y is None else map_structure(to_dev, y),
        None if w is None else map_structure(to_dev, w),
    )


def _named_map(struct: Any, name: str, fn: Any) -> Any:
    """``fn(leaf, leaf_name)`` over a leaf, or a dict / list / tuple of leaves."""
    if isinstance(struct, dict):
        return {k: _named_map(v, f"{name}['{k}']", fn) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)) and struct and (
        _is_array_like(struct[0]) or isinstance(struct[0], (dict, tuple))
    ):  # several arrays (a plain list of numbers is one array)
        return [_named_map(v, f"{name}[{i}]", fn) for i, v in enumerate(struct)]
    return fn(struct, name)


ACCEPTED_BATCHES = "`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`"


class IterableAdapter:
    """A Dataset, DataLoader or re-iterable of batches, moved to the device batch by batch.

    Each batch is checked by `validator` on the host (before the move when it
    comes from the CPU); errors name the batch ("`x` from batch 3 of the DataLoader").
    """

    def __init__(
        self,
        data: Any,
        *,
        batch_size: int = 32,
        shuffle: bool = False,
        device: torch.device,
        validator: DataValidator | None = None,
        role: str = "fit",
    ) -> None:
        from torch.utils.data import DataLoader, Dataset, IterableDataset

        self.source = data_checks.describe_source(data)
        self.validator = validator or DataValidator()
        self.role = role
        self._index = 0
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

    def set_validator(self, validator: DataValidator) -> None:
        """Takes the model's checks, for every batch from now on (and the first
        batch, when a generator's is kept for the next pass)."""
        previous, self.validator = self.validator, validator
        if self._peeked is not None:
            x, y, _ = unpack_x_y_sample_weight(self._peeked)
            validator.check_model(x, y, data_checks.batch_origin(self._peeked_index, self.source), skip=previous)

    def _unpack(self, batch: Any, index: int) -> Any:
        # Batches are `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`; a list counts as a
        # tuple; anything else (an array, a dict) is `x` alone.
        where = data_checks.batch_origin(index, self.source)
        if isinstance(batch, (tuple, list)) and len(batch) not in (1, 2, 3):
            raise ValueError(
                f"`{self.role}` expects each batch to be {ACCEPTED_BATCHES}. Received: batch {index} "
                f"of {self.source} (counting from 0) is a {type(batch).__name__} of {len(batch)} "
                "elements. Group several inputs in a list or dict inside the tuple: "
                "`([x1, x2], y)`, or several outputs: `(x, [y1, y2])`."
            )
        w = None
        if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
            x, y = batch[0], batch[1]
            w = batch[2] if len(batch) == 3 else None
        elif isinstance(batch, (tuple, list)):
            x, y = batch[0], None
        else:
            x, y = batch, None
        if self.role == "predict":
            y = w = None  # predict uses `x` only
        return checked_batch(x, y, w, self.validator, where, self.device)

    def _raw_iterator(self) -> Iterator[Any]:
        if not self.one_shot:
            self._index = 0
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
            index, self._index = self._index, self._index + 1
            yield self._unpack(batch, index)

    def first_batch(self) -> Any:
        """The first batch. For a one-shot iterator it is kept and handed out again
        as the first batch of the next pass, so nothing is lost."""
        if self._peeked is not None:
            return self._peeked
        try:
            raw = next(self._raw_iterator())
        except StopIteration:
            raise ValueError("The data yielded no batches. Check that it is not empty.") from None
        index = self._index
        if self.one_shot:
            self._index += 1
        batch = self._unpack(raw, index)
        if self.one_shot:
            self._peeked, self._peeked_index = batch, index
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
    # Any integer-like (a NumPy integer too); floats, bools and values <= 0 are refused.
    batch_size = int(validation.positive_int(role.split("(")[0], "batch_size", batch_size))
    validator = DataValidator(role="predict" if role == "predict" else role.split("(")[0])
    if x is None:
        raise ValueError(f"`{role}` needs input data: pass `x`. Received: x=None.")
    if is_array_data(x):
        if y is not None and not is_array_data(y):
            raise ValueError(
                f"`{role}` received arrays for `x` but {type(y).__name__} for `y`. Pass `y` as an "
                "array (or a dict/list of arrays for several outputs)."
            )
        return ArrayAdapter(
            x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, device=device, validator=validator
        )
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

        return PyDatasetAdapter(x, shuffle=shuffle, device=device, role=role, validator=validator)
    try:
        iter(x)
    except TypeError:
        raise TypeError(
            f"`{role}` cannot use x of type {type(x).__name__}. Pass NumPy arrays, torch tensors, "
            "pandas objects, a dict/list of those, a torch Dataset or DataLoader, or an iterable "
            "of (x, y) batches."
        ) from None
    return IterableAdapter(x, batch_size=batch_size, shuffle=shuffle, device=device, validator=validator, role=role)


def adapt_validation(validation_data: Any, batch_size: int | None, device: torch.device) -> Any:
    """The adapter for `fit`'s `validation_data`: a tuple of arrays or a dataset / iterable.

    A list `[x_val, y_val]` (or `[x_val, y_val, sample_weight]`) of arrays is
    taken like the tuple, as Keras 3 does."""
    packed = isinstance(validation_data, tuple) or (
        isinstance(validation_data, list) and bool(validation_data) and is_array_data(validation_data[0])
    )
    if packed and len(validation_data) in (2, 3) and is_array_data(validation_data[0]):
        vx, vy = validation_data[0], validation_data[1]
        vw = validation_data[2] if len(validation_data) == 3 else None
        return adapt(vx, vy, vw, batch_size=batch_size, shuffle=False, device=device, role="fit(validation_data)")
    if packed:
        raise ValueError(
            "`validation_data` must be a tuple `(x_val, y_val)` or `(x_val, y_val, sample_weight)` "
            "of arrays (a list of 2 or 3 arrays is taken the same way), or a dataset/iterable of "
            f"batches. Received a {type(validation_data).__name__} of {len(validation_data)}."
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
