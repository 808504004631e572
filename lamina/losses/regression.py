"""Regression and count losses: mean squared and absolute error, Huber,
log-cosh, Poisson, cosine similarity, MAPE and MSLE, with the Keras names,
formulas and defaults.

Each function reduces the last axis only, as Keras's do (shape
``y_pred.shape[:-1]``); each class averages the rest per sample, reduces it and
applies sample weights.

Example:

>>> import torch
>>> from lamina import losses
>>> losses.LogCosh()(torch.zeros(2, 2), torch.tensor([[1.0, 1.0], [0.0, 0.0]]))
tensor(0.2169)
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.losses.base import LossFunctionWrapper
from lamina.losses.utils import EPSILON, _align_shapes, _last_axis_mean, _prepare
from lamina.utils import validation


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of ``(y_true - y_pred) ** 2`` over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("mean_squared_error", y_true, y_pred, broadcast=True)
    return _last_axis_mean(F.mse_loss(y_pred, y_true.to(y_pred.dtype), reduction="none"))


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of ``|y_true - y_pred|`` over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("mean_absolute_error", y_true, y_pred, broadcast=True)
    return _last_axis_mean(F.l1_loss(y_pred, y_true.to(y_pred.dtype), reduction="none"))


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """Huber loss: quadratic for small errors, linear for large ones.

    With ``x = y_pred - y_true``: ``0.5 * x**2`` if ``|x| <= delta``, else
    ``delta * (|x| - 0.5 * delta)``; averaged over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.
        delta: Where the loss turns from quadratic to linear. Defaults to `1.0`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes("huber", y_true, y_pred, broadcast=True)
    values = F.huber_loss(y_pred, y_true.to(y_pred.dtype), reduction="none", delta=delta)
    return _last_axis_mean(values)


_LOG2 = math.log(2.0)


def _aligned(owner: str, y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true, y_pred = _align_shapes(owner, y_true, y_pred, broadcast=True)
    return y_true.to(y_pred.dtype), y_pred


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Logarithm of the hyperbolic cosine of the error, averaged over non-batch axes.

    ``loss = mean(log(cosh(y_pred - y_true)))``, computed stably as
    ``x + softplus(-2x) - log(2)``. It is about ``x**2 / 2`` for small errors
    and ``|x| - log(2)`` for large ones: like MSE, but less swayed by outliers.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _aligned("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    return _last_axis_mean(x + F.softplus(-2.0 * x) - _LOG2)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Poisson negative log-likelihood (up to a constant), for count targets.

    ``loss = mean(y_pred - y_true * log(y_pred + 1e-7))`` over non-batch axes;
    ``y_pred`` is the predicted rate (keep it positive, e.g. with a softplus
    or exponential output).

    Args:
        y_true: Observed counts, same shape as ``y_pred`` (a trailing axis of
            size 1 may differ).
        y_pred: Predicted rates.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _aligned("poisson", y_true, y_pred)
    return _last_axis_mean(y_pred - y_true * torch.log(y_pred + EPSILON))


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Negative cosine similarity between targets and predictions along ``axis``.

    ``loss = -sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 when
    the vectors point the same way, 0 when orthogonal (or when either is all
    zeros), 1 when opposite. Other non-batch axes are averaged.

    Args:
        y_true: Target vectors, same shape as ``y_pred``.
        y_pred: Predicted vectors.
        axis: The features axis. Defaults to `-1`.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _aligned("cosine_similarity", y_true, y_pred)
    y_true = F.normalize(y_true, p=2.0, dim=axis, eps=1e-6)
    y_pred = F.normalize(y_pred, p=2.0, dim=axis, eps=1e-6)
    return -(y_true * y_pred).sum(dim=axis)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of ``100 * |y_true - y_pred| / max(|y_true|, 1e-7)`` over non-batch axes.

    Args:
        y_true: Targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss in percent, with the last axis reduced as Keras does (shape
        ``y_pred.shape[:-1]``).
    """
    y_true, y_pred = _aligned("mean_absolute_percentage_error", y_true, y_pred)
    diff = (y_true - y_pred).abs() / y_true.abs().clamp_min(EPSILON)
    return 100.0 * _last_axis_mean(diff)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Mean of ``(log(1 + y_pred) - log(1 + y_true)) ** 2`` over non-batch axes.

    Values below ``1e-7`` (zero and negatives) are raised to ``1e-7`` first, as
    in Keras.

    Args:
        y_true: Non-negative targets, same shape as ``y_pred`` (a trailing axis
            of size 1 may differ).
        y_pred: Predictions.

    Returns:
        The loss with the last axis reduced, as Keras returns it: shape
        ``y_pred.shape[:-1]`` (``(batch,)`` for ``(batch, d)`` inputs; a ``(batch,)``
        input gives one value per sample).
    """
    y_true, y_pred = _aligned("mean_squared_logarithmic_error", y_true, y_pred)
    first = torch.log1p(y_pred.clamp_min(EPSILON))
    second = torch.log1p(y_true.clamp_min(EPSILON))
    return _last_axis_mean((first - second) ** 2)


class MeanSquaredError(LossFunctionWrapper):
    """Mean squared error; see :func:`mean_squared_error`.

    Args:
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"mean_squared_error"`.
    """

    kind = "regression"

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error"
    ):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean absolute error; see :func:`mean_absolute_error`.

    Args:
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"mean_absolute_error"`.
    """

    kind = "regression"

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error"
    ):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Huber loss; see :func:`huber`.

    Args:
        delta: Where the loss turns from quadratic to linear, > 0. Defaults to `1.0`.
        reduction: See :class:`Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"huber_loss"`.
    """

    kind = "regression"

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
    ):
        validation.number("Huber", "delta", delta, low=0.0, low_inclusive=False)
        super().__init__(huber, name=name, reduction=reduction, delta=delta)
        self.delta = delta


class LogCosh(LossFunctionWrapper):
    """Log-cosh loss; see :func:`log_cosh`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"log_cosh"`.

    Example:

    >>> import torch
    >>> loss = LogCosh()
    >>> loss(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
    tensor(0.2169)
    """

    kind = "regression"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "log_cosh"):
        super().__init__(log_cosh, name=name, reduction=reduction)


class Poisson(LossFunctionWrapper):
    """Poisson loss for count targets; see :func:`poisson`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"poisson"`.

    Example:

    >>> import torch
    >>> Poisson()(torch.tensor([[2.0]]), torch.tensor([[2.0]]))  # 2 - 2 log 2
    tensor(0.6137)
    """

    kind = "regression"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson"):
        super().__init__(poisson, name=name, reduction=reduction)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity; see :func:`cosine_similarity`.

    Args:
        axis: The features axis. Defaults to `-1`.
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"cosine_similarity"`.

    Example:

    >>> import torch
    >>> CosineSimilarity()(torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0, 2.0]]))
    tensor(-1.0000)
    """

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "cosine_similarity",
    ):
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(
                f"`CosineSimilarity` expects `axis` to be an integer. Received: axis={axis!r}."
            )
        super().__init__(cosine_similarity, name=name, reduction=reduction, axis=axis)
        self.axis = axis


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error; see :func:`mean_absolute_percentage_error`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"mean_absolute_percentage_error"`.

    Example:

    >>> import torch
    >>> MeanAbsolutePercentageError()(torch.tensor([[2.0, 4.0]]), torch.tensor([[1.0, 5.0]]))
    tensor(37.5000)
    """

    kind = "regression"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
    ):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error; see :func:`mean_squared_logarithmic_error`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"mean_squared_logarithmic_error"`.

    Example:

    >>> import torch
    >>> MeanSquaredLogarithmicError()(torch.tensor([[0.0]]), torch.tensor([[math.e - 1]]))
    tensor(1.0000)
    """

    kind = "regression"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
    ):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction)
