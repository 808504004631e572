"""Feeds a `lamina.utils.PyDataset` to fit / evaluate / predict.

Batches are fetched by index in order (shuffled order with `fit(shuffle=True)`),
prefetched by a thread pool or forked processes when the dataset has
`workers > 1`, checked by the adapter's `DataValidator` on the host, moved to
the device one by one, and `on_epoch_begin` / `on_epoch_end` of the dataset are
called around each pass.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import numbers
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from lamina.training import data_checks
from lamina.training.data_adapter import (
    checked_batch,
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)
from lamina.training.data_checks import DataValidator
from lamina.utils.tree import first_leaf

# Datasets handed to forked worker processes (inherited through fork, never pickled).
_FORKED: dict[int, Any] = {}


def _forked_item(key: int, index: int) -> Any:
    return _FORKED[key][index]


class _InLoop:
    """No workers: each batch is made when the loop asks for it."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def submit(self, index: int) -> Any:
        return index  # read when asked for, not ahead

    def result(self, handle: Any) -> Any:
        return self.dataset[handle]

    def close(self) -> None:
        pass


class _Threads:
    def __init__(self, dataset: Any, workers: int) -> None:
        self.dataset = dataset
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lamina-pydataset")

    def submit(self, index: int) -> Any:
        return self.pool.submit(self.dataset.__getitem__, index)

    @staticmethod
    def result(handle: Any) -> Any:
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Processes:
    def __init__(self, dataset: Any, workers: int) -> None:
        if "fork" not in multiprocessing.get_all_start_methods():
            raise ValueError(
                "`PyDataset(use_multiprocessing=True)` needs the 'fork' start method, which this "
                f"platform lacks. Received: use_multiprocessing=True, workers={workers}. Use "
                "threads instead (`use_multiprocessing=False`)."
            )
        self.key = id(dataset)
        _FORKED[self.key] = dataset  # a fresh pool per epoch sees the dataset as it is now
        self.pool = multiprocessing.get_context("fork").Pool(workers)

    def submit(self, index: int) -> Any:
        return self.pool.apply_async(_forked_item, (self.key, index))

    @staticmethod
    def result(handle: Any) -> Any:
        return handle.get()

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()
        _FORKED.pop(self.key, None)


def iterate_batches(dataset: Any, indices: Iterable[int] | None) -> Iterator[Any]:
    """Yields ``dataset[i]`` for each index in order, at most `max_queue_size`
    batches ahead when the dataset has several workers (``None``: 0, 1, 2, ...)."""
    order = itertools.count() if indices is None else iter(indices)
    workers = int(getattr(dataset, "workers", 1) or 1)
    if getattr(dataset, "use_multiprocessing", False):  # as in Keras: processes even for one worker
        engine: Any = _Processes(dataset, workers)
    elif workers > 1:
        engine = _Threads(dataset, workers)
    else:
        engine = _InLoop(dataset)
    ahead = 1 if isinstance(engine, _InLoop) else max(int(getattr(dataset, "max_queue_size", 10) or 1), workers)
    pending: collections.deque[Any] = collections.deque()
    try:
        for index in itertools.islice(order, ahead):
            pending.append(engine.submit(index))
        while pending:
            batch = engine.result(pending.popleft())
            nxt = next(order, None)
            if nxt is not None:
                pending.append(engine.submit(nxt))
            yield batch
    finally:
        engine.close()


class PyDatasetAdapter:
    """A `PyDataset` as batches on the device, packed as `x`, `(x, y)` or `(x, y, sample_weight)`."""

    one_shot = False

    def __init__(
        self,
        dataset: Any,
        *,
        shuffle: bool = False,
        device: torch.device,
        role: str = "fit",
        validator: DataValidator | None = None,
    ) -> None:
        steps = dataset.num_batches
        if isinstance(steps, numbers.Integral) and not isinstance(steps, bool) and steps > 0:
            steps = int(steps)
        elif steps is not None:
            raise ValueError(
                f"`{role}` received a `{type(dataset).__name__}` (PyDataset) with no batches: "
                f"`len()` is {steps!r}. Received: num_batches={steps!r}. Make `__len__` return the "
                "number of batches per epoch (at least 1)."
            )
        self.data = dataset
        # Built-in datasets (timeseries, directories) keep their own order, as tf.data does in Keras.
        self.shuffle = shuffle and not getattr(dataset, "_fixed_order", False)
        self.device = device
        self.role = role
        self.batch_size = None
        self.class_weight: dict[int, float] | None = None
        self._steps = steps
        # Under `torchrun`: picks this process's batch indices (lamina.distributed.sharding).
        self.shard: Any = None
        self.validator = validator or DataValidator(role="predict" if role == "predict" else "fit")
        self.source = f"the {type(dataset).__name__} (PyDataset)"

    def set_validator(self, validator: DataValidator) -> None:
        """Takes the model's checks, for every batch from now on."""
        self.validator = validator

    def apply_class_weight(self, class_weight: dict[int, float]) -> None:
        """Weights each batch's samples by the weight of their class (`y` as class
        indices, or one-hot / probabilities, whose argmax is taken), as Keras does."""
        self.class_weight = data_checks.check_class_weight(class_weight, self.role)

    def _class_weights(self, y: Any) -> torch.Tensor:
        if not isinstance(y, torch.Tensor):
            raise ValueError(
                "`class_weight` needs a single label array per batch. Received: batches whose `y` is "
                f"a {type(y).__name__}. For several outputs, return `(x, y, sample_weight)` batches."
            )
        labels = y.argmax(dim=-1) if y.ndim >= 2 and y.shape[-1] > 1 else y.reshape(-1)
        labels = labels.round().long() if labels.is_floating_point() else labels.long()
        table = torch.ones(max(int(labels.max()) + 1, max(self.class_weight, default=0) + 1))  # type: ignore[arg-type]
        for k, v in self.class_weight.items():  # type: ignore[union-attr]
            table[k] = float(v)
        return table.to(labels.device)[labels]

    @property
    def steps(self) -> int | None:
        return self._steps

    def _unpack(self, batch: Any, index: int) -> Any:
        # `(x,)`, `(x, y)` or `(x, y, sample_weight)`; a list counts as a tuple (as in Keras);
        # anything else (an array, a dict) is `x` alone.
        if isinstance(batch, list):
            batch = tuple(batch)
        if isinstance(batch, tuple) and len(batch) not in (1, 2, 3):
            raise ValueError(
                f"`{type(self.data).__name__}.__getitem__({index})` must return `x`, `(x,)`, `(x, y)` "
                f"or `(x, y, sample_weight)`. Received: a tuple of {len(batch)} items. Group several "
                "inputs in a dict, or in a list inside the tuple: `([x1, x2], y)`."
            )
        x, y, w = unpack_x_y_sample_weight(batch) if isinstance(batch, tuple) else (batch, None, None)
        if x is None:
            raise ValueError(
                f"`{type(self.data).__name__}.__getitem__({index})` returned no inputs. "
                "Received: x=None. Return `x`, `(x, y)` or `(x, y, sample_weight)`."
            )
        if self.role == "predict":
            y = w = None  # predict uses `x` only
        if self.class_weight is not None and y is not None and w is not None:
            raise ValueError(
                f"`{self.role}` cannot use `class_weight` together with sample weights from "
                f"`{type(self.data).__name__}.__getitem__`. Received: class_weight and "
                "`(x, y, sample_weight)` batches. Fold the class weights into the sample weights."
            )
        where = data_checks.batch_origin(index, self.source)
        batch = checked_batch(x, y, w, self.validator, where, self.device)
        if self.class_weight is not None and y is not None:
            x, y, _ = unpack_x_y_sample_weight(batch)
            batch = pack_x_y_sample_weight(x, y, self._class_weights(y))
        return batch

    def first_batch(self) -> Any:
        """Batch 0, to build the model (no epoch hooks, no random numbers drawn)."""
        return self._unpack(self.data[0], 0)

    def __iter__(self) -> Iterator[Any]:
        n = self._steps if self.shard is None else self.shard.num_batches
        if n is None:
            order: Iterable[int] | None = None
        elif self.shuffle:
            order = torch.randperm(n).tolist()
        else:
            order = range(n)
        if self.shard is not None and order is not None:
            order = self.shard(list(order))
        self.data.on_epoch_begin()
        source = iterate_batches(self.data, order)
        indices = itertools.count() if order is None else order
        try:
            for index, batch in zip(indices, source):
                yield self._unpack(batch, index)
        except GeneratorExit:
            # Closed early (stop_training, a step limit): the pass is over all the same.
            source.close()
            self.data.on_epoch_end()
            raise
        finally:
            source.close()
        self.data.on_epoch_end()

    def batch_size_of(self, batch: Any) -> int:
        return int(first_leaf(unpack_x_y_sample_weight(batch)[0]).shape[0])


__all__ = ["PyDatasetAdapter", "iterate_batches"]
