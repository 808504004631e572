"""Regression metrics, as in Keras: :class:`MeanSquaredError`,
:class:`MeanAbsoluteError`, :class:`RootMeanSquaredError`,
:class:`MeanAbsolutePercentageError`, :class:`MeanSquaredLogarithmicError`,
:class:`CosineSimilarity`, :class:`LogCoshError` and :class:`R2Score`. Also
available as ``lamina.metrics.<name>``.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.R2Score()
>>> m.update_state(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[1.0], [2.0], [4.0]]))
>>> m.result()
tensor(0.5000)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import losses
from lamina.metrics.base import Metric
from lamina.metrics.reduction import Mean, MeanMetricWrapper
from lamina.utils import validation


def _cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Per-sample cosine similarity along ``axis`` (1 for the same direction)."""
    y_true = F.normalize(
        torch.as_tensor(y_true).to(torch.as_tensor(y_pred).dtype), dim=axis, eps=1e-6
    )
    y_pred = F.normalize(torch.as_tensor(y_pred), dim=axis, eps=1e-6)
    values = (y_true * y_pred).sum(dim=axis)
    return values if values.ndim <= 1 else values.flatten(1).mean(dim=1)


class MeanSquaredError(MeanMetricWrapper):
    """Mean of ``(y_true - y_pred) ** 2``; see :func:`lamina.losses.mean_squared_error`.

    Args:
        name: Defaults to `"mean_squared_error"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of ``|y_true - y_pred|``; see :func:`lamina.losses.mean_absolute_error`.

    Args:
        name: Defaults to `"mean_absolute_error"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """Square root of the mean squared error over everything seen.

    Args:
        name: Defaults to `"root_mean_squared_error"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        super().update_state(
            losses._per_sample(losses.mean_squared_error(y_true, y_pred)), sample_weight
        )

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of ``100 * |y_true - y_pred| / max(|y_true|, 1e-7)``; see
    :func:`lamina.losses.mean_absolute_percentage_error`.

    Args:
        name: Defaults to `"mean_absolute_percentage_error"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean of ``(log(1 + y_pred) - log(1 + y_true)) ** 2``; see
    :func:`lamina.losses.mean_squared_logarithmic_error`.

    Args:
        name: Defaults to `"mean_squared_logarithmic_error"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between targets and predictions (1 is best).

    Unlike the loss :class:`lamina.losses.CosineSimilarity`, the metric is
    not negated, as in Keras.

    Args:
        name: Defaults to `"cosine_similarity"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        axis: The features axis. Defaults to `-1`.

    Example:

    >>> import torch
    >>> m = CosineSimilarity()
    >>> m.update_state(torch.tensor([[0.0, 1.0], [1.0, 1.0]]), torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    >>> m.result()
    tensor(0.5000)
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(
                f"`CosineSimilarity` expects `axis` to be an integer. Received: axis={axis!r}."
            )
        super().__init__(_cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class LogCoshError(MeanMetricWrapper):
    """Mean of ``log(cosh(y_pred - y_true))``; see :func:`lamina.losses.log_cosh`.

    Args:
        name: Defaults to `"logcosh"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination, ``1 - sum((y - y_pred)**2) / sum((y - mean(y))**2)``.

    Computed per output column over everything seen, then aggregated. With
    ``num_regressors > 0`` it is the adjusted R², ``1 - (1 - R²) (n - 1) / (n - p - 1)``
    with ``n`` the number of target values seen (as Keras counts them); when
    ``n - p - 1 <= 0`` the unadjusted score is returned.

    Args:
        class_aggregation: ``"uniform_average"`` (mean over outputs),
            ``"variance_weighted_average"`` (weighted by each output's
            variance) or `None` (one score per output). Defaults to
            `"uniform_average"`.
        num_regressors: Number of independent regressors ``p``, >= 0.
            Defaults to `0`.
        name: Defaults to `"r2_score"`.
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.

    Inputs are ``(batch, outputs)``; ``(batch,)`` is read as one output.

    Example:

    >>> import torch
    >>> m = R2Score()
    >>> m.update_state(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[1.0], [2.0], [3.0]]))
    >>> m.result()
    tensor(1.)
    """

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ):
        validation.one_of("R2Score", "class_aggregation", class_aggregation, _AGGREGATIONS)
        validation.non_negative_int("R2Score", "num_regressors", num_regressors)
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self._num_outputs: int | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        y_true, y_pred = losses._align_shapes(self.name, y_true, y_pred)
        if y_pred.ndim == 1:
            y_true, y_pred = y_true.unsqueeze(-1), y_pred.unsqueeze(-1)
        if y_pred.ndim != 2:
            raise ValueError(
                f"`{self.name}` expects inputs of shape (batch_size, outputs). Received: "
                f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
            )
        dtype = self._state_dtype
        y_true, y_pred = y_true.to(dtype), y_pred.to(dtype)
        outputs = y_pred.shape[-1]
        if self._num_outputs is None:
            self._num_outputs = outputs
            for state in ("sum", "squared_sum", "total_mse", "count"):
                self.add_state(state, (outputs,), device=y_pred.device)
            self.add_state("num_samples", (), device=y_pred.device)
        elif outputs != self._num_outputs:
            raise ValueError(
                f"`{self.name}` was first updated with {self._num_outputs} outputs, now with "
                f"{outputs}. Received: y_pred.shape={tuple(y_pred.shape)}."
            )
        if sample_weight is None:
            w = torch.ones_like(y_true)
        else:
            w = torch.as_tensor(sample_weight, device=y_true.device).to(dtype)
            if w.ndim == 1:
                w = w.unsqueeze(-1)
            w = torch.broadcast_to(w, y_true.shape)
        self.sum += (y_true * w).sum(dim=0)
        self.squared_sum += (y_true * y_true * w).sum(dim=0)
        self.total_mse += ((y_true - y_pred) ** 2 * w).sum(dim=0)
        self.count += w.sum(dim=0)
        self.num_samples += y_true.numel()

    def result(self) -> torch.Tensor:
        if self._num_outputs is None:
            return torch.zeros((), dtype=self._state_dtype)
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1.0 - self.total_mse / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n, p = self.num_samples, float(self.num_regressors)
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
            score = torch.where(n - p - 1.0 > 0, adjusted, score)
        return score

    def get_config(self) -> dict[str, Any]:
        return {
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
            **super().get_config(),
        }
