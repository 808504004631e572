"""Reduction metrics: :class:`Mean` and :class:`Sum` of the values seen, and
:class:`MeanMetricWrapper`, the mean over samples of a per-sample function.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.Mean()
>>> m.update_state(torch.tensor([1.0, 3.0]), sample_weight=torch.tensor([1.0, 3.0]))
>>> m.result()
tensor(2.5000)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import losses
from lamina.metrics.base import Metric
from lamina.metrics.utils import _broadcast_weights, _divide_no_nan
from lamina.utils import serialization


class Mean(Metric):
    """Weighted mean of all values seen: ``sum(values * w) / sum(w)``.

    Args:
        name: Defaults to `"mean"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        # Unweighted batches add their size to this Python int, folded into the
        # `count` tensor when it is read: one device op less per training step.
        self._uncounted = 0
        self.add_state("total")
        self.add_state("count")

    @property
    def count(self) -> torch.Tensor:
        """The summed weights (sample count when unweighted), as a state tensor."""
        if self._uncounted:
            with torch.no_grad():
                self._count += self._uncounted
            self._uncounted = 0
        return self._count

    @count.setter
    def count(self, value: torch.Tensor) -> None:
        self._count = value

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Adds ``values`` (any shape) with optional weights broadcastable to them."""
        values = torch.as_tensor(values).detach()
        if not values.is_floating_point():
            values = values.float()
        self._to_device(values.device)
        if sample_weight is None:
            self.total += values.sum()
            self._uncounted += values.numel()
        else:
            w = _broadcast_weights(self.name, sample_weight, values)
            self.total += (values * w).sum()
            self.count += w.sum()

    def result(self) -> torch.Tensor:
        return _divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """Mean over samples of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: Function returning one value per sample, shape ``(batch,)``.
        name: Defaults to ``fn.__name__``.
        dtype: See :class:`Metric`. Defaults to `None`.
        **kwargs: Extra keyword arguments passed to ``fn``.
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ):
        if not callable(fn):
            raise TypeError(
                "`MeanMetricWrapper` expects `fn` to be a callable f(y_true, y_pred). "
                f"Received: fn={fn!r}."
            )
        if name is None:
            name = getattr(fn, "__name__", None) or losses._snake_case(type(fn).__name__)
        super().__init__(name=name, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch: ``fn`` per sample, weighted by ``sample_weight``."""
        y_true, y_pred = self._inputs(y_true, y_pred)
        # Loss functions keep Keras's shape (`(batch, ...)`): one value per sample here.
        values = losses._per_sample(self.fn(y_true, y_pred, **self._fn_kwargs))
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        if cls is MeanMetricWrapper and isinstance(config.get("fn"), str):
            config = dict(config)
            config["fn"] = serialization.resolve_function("metric", config["fn"], "metric")
        return cls(**config)


class Sum(Metric):
    """Weighted sum of all values seen: ``sum(values * sample_weight)``.

    Args:
        name: Defaults to `"sum"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.

    Example:

    >>> import torch
    >>> m = Sum()
    >>> m.update_state(torch.tensor([1.0, 3.0, 5.0, 7.0]))
    >>> m.result()
    tensor(16.)
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.add_state("total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Adds ``values`` (any shape), weighted by ``sample_weight`` if given."""
        values = torch.as_tensor(values).detach()
        if not values.is_floating_point():
            values = values.float()
        self._to_device(values.device)
        if sample_weight is not None:
            values = values * _broadcast_weights(self.name, sample_weight, values)
        self.total += values.sum().to(self.total.dtype)

    def result(self) -> torch.Tensor:
        return self.total.clone()
