"""Datasets of batches from in-memory data: `timeseries_dataset_from_array` and
`split_dataset`.

Keras returns `tf.data.Dataset`s here; Lamina returns objects that `fit`,
`evaluate` and `predict` take as `x` and that a `for` loop iterates: a
`PyDataset` of batches (timeseries, directories) or a `torch.utils.data.Dataset`
of samples (`split_dataset`, batched by `fit(batch_size=...)`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lamina.utils.py_dataset import PyDataset


def _as_tensor(a: np.ndarray) -> Any:
    if a.dtype.kind in "USO":
        return a  # text stays a NumPy array, as `fit` expects for a TextVectorization layer
    return torch.from_numpy(np.ascontiguousarray(a))


class BatchDataset(PyDataset):
    """Batches of samples taken by index from in-memory data, in a fixed or a
    reshuffled-every-epoch order, as torch tensors.

    Returned by `timeseries_dataset_from_array` and the `*_dataset_from_directory`
    functions. `len()` is the number of batches; iterating gives the batches of
    one epoch; `fit` keeps their order (it does not reshuffle them).
    """

    # `fit(shuffle=True)` leaves the order to the dataset, as for a tf.data.Dataset in Keras.
    _fixed_order = True

    def __init__(
        self,
        num_samples: int,
        take: Callable[[np.ndarray], Any],
        batch_size: int | None,
        shuffle: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.num_samples = int(num_samples)
        self._take = take
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(self.num_samples)
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        if self.batch_size is None:
            return self.num_samples
        return math.ceil(self.num_samples / self.batch_size)

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"Batch index {index} is out of range for a dataset of {n} batches.")
        if self.batch_size is None:
            batch = self._take(self._order[index : index + 1])
            strip = lambda a: a[0]  # noqa: E731
            return tuple(strip(a) for a in batch) if isinstance(batch, tuple) else strip(batch)
        return self._take(self._order[index * self.batch_size : (index + 1) * self.batch_size])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)

    def __iter__(self) -> Any:
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()


def _non_negative_int(owner: str, name: str, value: Any, *, positive: bool = False, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < (1 if positive else 0):
        kind = "a positive integer" if positive else "an integer >= 0"
        raise ValueError(f"`{owner}` expects `{name}` to be {kind}. Received: {name}={value!r}.")


def timeseries_dataset_from_array(
    data: Any,
    targets: Any,
    sequence_length: int,
    sequence_stride: int = 1,
    sampling_rate: int = 1,
    batch_size: int | None = 128,
    shuffle: bool = False,
    seed: int | None = None,
    start_index: int | None = None,
    end_index: int | None = None,
) -> BatchDataset:
    """Creates a dataset of sliding windows over a timeseries provided as array.

    Window `i` holds the timesteps
    `data[start + i * sequence_stride + k * sampling_rate]` for
    `k = 0 .. sequence_length - 1` (with `start = start_index`), and its target
    is `targets[start + i * sequence_stride]`, as in Keras.

    Args:
        data: Array (NumPy, torch or list) of timesteps, axis 0 is time.
        targets: Targets for the windows (`targets[i]` goes with the window
            starting at timestep `i`), or `None` for windows only.
        sequence_length: Length of the output sequences (in timesteps).
        sequence_stride: Period between the starts of successive windows.
            Defaults to `1`.
        sampling_rate: Period between successive timesteps within a window.
            Defaults to `1`.
        batch_size: Number of windows per batch, or `None` for single windows.
            Defaults to `128`.
        shuffle: Whether to shuffle the windows (again after every epoch).
            Defaults to `False`.
        seed: Random seed for shuffling. Defaults to `None`.
        start_index: First timestep used (timesteps before it are ignored).
            Defaults to `None` (0).
        end_index: Timestep after the last one used. Defaults to `None`
            (`len(data)`).

    Returns:
        A `PyDataset` of batches `(windows, targets)` (or `windows` when
        `targets` is None), `windows` of shape
        `(batch_size, sequence_length) + data.shape[1:]`, as torch tensors;
        `fit` takes it directly.

    Example:
        >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=5,
        ...                                    sampling_rate=2, batch_size=None)
        >>> ds[0].tolist()
        [0, 2, 4, 6, 8]
    """
    owner = "timeseries_dataset_from_array"
    _non_negative_int(owner, "sequence_length", sequence_length, positive=True)
    _non_negative_int(owner, "sequence_stride", sequence_stride, positive=True)
    _non_negative_int(owner, "sampling_rate", sampling_rate, positive=True)
    _non_negative_int(owner, "batch_size", batch_size, positive=True, allow_none=True)
    _non_negative_int(owner, "start_index", start_index, allow_none=True)
    _non_negative_int(owner, "end_index", end_index, allow_none=True)
    data = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
    if targets is not None:
        targets = targets.detach().cpu().numpy() if isinstance(targets, torch.Tensor) else np.asarray(targets)
    start = 0 if start_index is None else int(start_index)
    end = len(data) if end_index is None else int(end_index)
    if start >= len(data):
        raise ValueError(
            f"`{owner}` expects `start_index` to be lower than the length of the data "
            f"({len(data)}). Received: start_index={start_index}."
        )
    if end <= start or end > len(data):
        raise ValueError(
            f"`{owner}` expects `end_index` to be greater than `start_index` ({start}) and at "
            f"most the length of the data ({len(data)}). Received: end_index={end_index}."
        )
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets) - start)
    if num_seqs <= 0:
        raise ValueError(
            f"`{owner}` cannot fit one window of sequence_length={sequence_length} with "
            f"sampling_rate={sampling_rate} into timesteps {start} to {end}. Received: "
            f"sequence_length={sequence_length}. Use shorter windows or more data."
        )
    starts = np.arange(0, num_seqs, sequence_stride) + start
    offsets = np.arange(sequence_length) * sampling_rate

    def take(window_ids: np.ndarray) -> Any:
        first = starts[window_ids]
        windows = _as_tensor(data[first[:, None] + offsets[None, :]])
        if targets is None:
            return windows
        return windows, _as_tensor(targets[first])

    if shuffle and seed is None:
        seed = int(np.random.randint(1_000_000))
    return BatchDataset(len(starts), take, batch_size, shuffle=shuffle, seed=seed)


class _ArraySplit(torch.utils.data.Dataset):
    """The samples `indices` of in-memory arrays (one array or a tuple of arrays)."""

    def __init__(self, arrays: tuple[Any, ...], single: bool, indices: np.ndarray) -> None:
        self.arrays, self.single, self.indices = arrays, single, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        j = self.indices[i]
        sample = tuple(a[j] for a in self.arrays)
        return sample[0] if self.single else sample


def _split_size(name: str, value: Any, total: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, numbers.Real)):
        raise TypeError(
            f"`split_dataset` expects `{name}` to be an integer, a float or None. "
            f"Received: {name}={value!r}."
        )
    if isinstance(value, numbers.Integral):
        if not 0 < value < total:
            raise ValueError(
                f"`split_dataset` expects `{name}` to be a positive integer smaller than {total} "
                f"(the number of samples), or a float in (0, 1). Received: {name}={value}."
            )
        return float(value)
    if not 0 < value < 1:
        raise ValueError(
            f"`split_dataset` expects `{name}` to be a float in (0, 1), or a positive integer "
            f"smaller than {total}. Received: {name}={value}."
        )
    return float(round(value * total))


def split_dataset(
    dataset: Any,
    left_size: int | float | None = None,
    right_size: int | float | None = None,
    shuffle: bool = False,
    seed: int | None = None,
) -> tuple[Any, Any]:
    """Splits a dataset into a left half and a right half (e.g. train / test).

    Args:
        dataset: A NumPy array or torch tensor, a list or tuple of arrays with
            the same first dimension (e.g. `(x, y)`), or a `torch.utils.data.Dataset`.
        left_size: Size of the left split: a float in `(0, 1)` (a fraction of the
            samples, rounded) or an integer (a number of samples). Defaults to
            `None` (the complement of `right_size`).
        right_size: Size of the right split, likewise. Defaults to `None` (the
            complement of `left_size`).
        shuffle: Whether to shuffle the samples before splitting. Defaults to `False`.
        seed: Random seed for shuffling. Defaults to `None`.

    Returns:
        A tuple of two `torch.utils.data.Dataset`s of samples (`(x_i, y_i)` tuples
        for a tuple input). `fit(left, batch_size=32)` batches them.

    Example:
        >>> x, y = np.random.rand(1000, 4), np.random.rand(1000)
        >>> left, right = split_dataset((x, y), left_size=0.8)
        >>> len(left), len(right)
        (800, 200)
    """
    if left_size is None and right_size is None:
        raise ValueError(
            "`split_dataset` expects at least one of `left_size` or `right_size`. Received: "
            "left_size=None and right_size=None. Pass e.g. `left_size=0.8`."
        )
    if isinstance(dataset, torch.utils.data.Dataset):
        arrays, single = None, True
        total = len(dataset)  # type: ignore[arg-type]
    else:
        single = not isinstance(dataset, (list, tuple)) or not dataset or not hasattr(dataset[0], "__len__")
        parts = (dataset,) if single else tuple(dataset)
        arrays = tuple(a if isinstance(a, torch.Tensor) else np.asarray(a) for a in parts)
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            raise ValueError(
                "`split_dataset` expects the arrays of `dataset` to have the same number of "
                f"samples. Received: lengths {[len(a) for a in arrays]}."
            )
        total = lengths.pop()
    left = _split_size("left_size", left_size, total)
    right = _split_size("right_size", right_size, total)
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"`split_dataset` expects `left_size` + `right_size` to be at most the number of "
            f"samples ({total}). Received: left_size={left_size!r}, right_size={right_size!r}."
        )
    if left == 0 or right == 0:
        raise ValueError(
            f"`split_dataset` would leave an empty split out of {total} samples. Received: "
            f"left_size={left_size!r}, right_size={right_size!r}. Adjust the sizes."
        )
    order = np.arange(total)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    left_ids, right_ids = order[: int(left)], order[total - int(right):]
    if arrays is None:
        return (torch.utils.data.Subset(dataset, left_ids.tolist()),
                torch.utils.data.Subset(dataset, right_ids.tolist()))
    return _ArraySplit(arrays, single, left_ids), _ArraySplit(arrays, single, right_ids)
