"""Loss-valued metrics, as in Keras: the hinge family, Poisson, KL divergence
and the three crossentropies, each the weighted mean of the per-sample loss over
everything seen. Also available as ``lamina.metrics.<name>``.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.BinaryCrossentropy()
>>> m.update_state(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
>>> m.result()
tensor(0.6931)
"""

from __future__ import annotations

from typing import Any

from lamina import losses
from lamina.metrics.reduction import MeanMetricWrapper
from lamina.utils import validation


def _last_axis(owner: str, axis: Any) -> None:
    if axis != -1 or isinstance(axis, bool):
        raise ValueError(
            f"`{owner}` computes over the last axis only: expected `axis=-1`. "
            f"Received: axis={axis!r}. Move the class axis last (e.g. with `torch.movedim`)."
        )


class Hinge(MeanMetricWrapper):
    """Mean hinge loss; see :func:`lamina.losses.hinge`.

    Args:
        name: Defaults to `"hinge"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss; see :func:`lamina.losses.squared_hinge`.

    Args:
        name: Defaults to `"squared_hinge"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss; see :func:`lamina.losses.categorical_hinge`.

    Args:
        name: Defaults to `"categorical_hinge"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Mean Poisson loss; see :func:`lamina.losses.poisson`.

    Args:
        name: Defaults to `"poisson"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(losses.poisson, name=name, dtype=dtype)


class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence; see :func:`lamina.losses.kl_divergence`.

    Args:
        name: Defaults to `"kl_divergence"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy; see :func:`lamina.losses.binary_crossentropy`.

    Args:
        name: Defaults to `"binary_crossentropy"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: Target smoothing in ``[0, 1]``. Defaults to `0`.
    """

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ):
        validation.boolean("BinaryCrossentropy", "from_logits", from_logits)
        validation.number(
            "BinaryCrossentropy", "label_smoothing", label_smoothing, low=0.0, high=1.0
        )
        super().__init__(
            losses.binary_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy with one-hot targets; see
    :func:`lamina.losses.categorical_crossentropy`.

    Args:
        name: Defaults to `"categorical_crossentropy"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        label_smoothing: Target smoothing in ``[0, 1]``. Defaults to `0`.
        axis: The class axis; only `-1` is supported. Defaults to `-1`.
    """

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ):
        validation.boolean("CategoricalCrossentropy", "from_logits", from_logits)
        validation.number(
            "CategoricalCrossentropy", "label_smoothing", label_smoothing, low=0.0, high=1.0
        )
        _last_axis("CategoricalCrossentropy", axis)
        super().__init__(
            losses.categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean crossentropy with integer labels; see
    :func:`lamina.losses.sparse_categorical_crossentropy`.

    Args:
        name: Defaults to `"sparse_categorical_crossentropy"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        from_logits: Whether predictions are logits. Defaults to `False`.
        axis: The class axis; only `-1` is supported. Defaults to `-1`.
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        axis: int = -1,
    ):
        validation.boolean("SparseCategoricalCrossentropy", "from_logits", from_logits)
        _last_axis("SparseCategoricalCrossentropy", axis)
        super().__init__(
            losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits
        )
        self.from_logits = from_logits
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
