"""`PyDataset`: batches produced by Python code, optionally prefetched in parallel."""

from __future__ import annotations

import numbers
import warnings
from typing import Any


class PyDataset:
    """Base class for a dataset of batches written in Python.

    A subclass implements `__len__` (the number of batches per epoch) and
    `__getitem__(index)` (batch number `index`, as `x`, `(x, y)` or
    `(x, y, sample_weight)`), and may implement `on_epoch_end()` to change the
    data between epochs (it is called after each pass over the batches). `fit`,
    `evaluate` and `predict` accept it as `x`; `fit(shuffle=True)` shuffles the
    order of the batches (not their content).

    With `workers > 1` the next batches are prepared in parallel while the model
    trains: by a thread pool, or by forked worker processes with
    `use_multiprocessing=True` (use processes for Python-heavy work that holds
    the GIL; batches then travel back by pickling). Batches always arrive in
    order. `fit(class_weight=...)` weights the samples of `(x, y)` batches.

    Args:
        workers: Number of workers preparing batches in parallel; `1` means the
            batches are prepared in the training loop itself. Defaults to `1`.
        use_multiprocessing: Whether the workers are processes rather than
            threads. Needs the `fork` start method (Linux, macOS). Defaults to
            `False`.
        max_queue_size: Most batches prepared ahead of the training loop.
            Defaults to `10`.

    Example:
        >>> import math
        >>> import numpy as np
        >>> class Squares(PyDataset):
        ...     def __init__(self, x, y, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x, self.y, self.batch_size = x, y, batch_size
        ...     def __len__(self):
        ...         return math.ceil(len(self.x) / self.batch_size)
        ...     def __getitem__(self, idx):
        ...         lo = idx * self.batch_size
        ...         return self.x[lo:lo + self.batch_size], self.y[lo:lo + self.batch_size]
        >>> ds = Squares(np.ones((10, 2)), np.zeros(10), batch_size=4)
        >>> len(ds), ds[2][0].shape
        (3, (2, 2))
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(
                    f"`PyDataset` expects `{name}` to be a positive integer. Received: {name}={value!r}."
                )
        if not isinstance(use_multiprocessing, bool):
            raise ValueError(
                "`PyDataset` expects `use_multiprocessing` to be a boolean. "
                f"Received: use_multiprocessing={use_multiprocessing!r}."
            )
        self._workers = int(workers)
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = int(max_queue_size)

    def _warn_if_super_not_called(self) -> None:
        # A subclass that forgets `super().__init__()` gets the defaults and a warning, as in Keras.
        if not all(hasattr(self, a) for a in ("_workers", "_use_multiprocessing", "_max_queue_size")):
            self.__dict__.setdefault("_workers", 1)
            self.__dict__.setdefault("_use_multiprocessing", False)
            self.__dict__.setdefault("_max_queue_size", 10)
            warnings.warn(
                f"`{type(self).__name__}` should call `super().__init__(**kwargs)` in its "
                "constructor; `**kwargs` can include `workers`, `use_multiprocessing` and "
                "`max_queue_size` (do not pass them to `fit`).",
                stacklevel=3,
            )

    @property
    def workers(self) -> int:
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        """Returns batch number `index`: `x`, `(x, y)` or `(x, y, sample_weight)`."""
        raise NotImplementedError(
            f"`{type(self).__name__}` must implement `__getitem__(self, index)`, returning one "
            "batch: `x`, `(x, y)` or `(x, y, sample_weight)`."
        )

    @property
    def num_batches(self) -> int | None:
        """Number of batches per epoch: `len(self)`, or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        return None

    def on_epoch_begin(self) -> None:
        """Called before each pass over the batches."""

    def on_epoch_end(self) -> None:
        """Called after each pass over the batches (e.g. to reshuffle the samples)."""

    def __iter__(self) -> Any:
        """Iterates over the batches once, in order, prefetched by the workers."""
        from lamina.training.py_dataset_adapter import iterate_batches

        n = self.num_batches
        return iterate_batches(self, range(n) if n is not None else None)
