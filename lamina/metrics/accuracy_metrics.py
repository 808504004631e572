"""Accuracy: per-sample functions (:func:`accuracy`, :func:`binary_accuracy`,
:func:`categorical_accuracy`, the sparse and top-k forms) and their metric
classes, with :class:`AutoAccuracy`, which picks its kind from the first batch.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.BinaryAccuracy()
>>> m.update_state(torch.tensor([1, 0]), torch.tensor([0.9, 0.8]))
>>> m.update_state(torch.tensor([1, 1]), torch.tensor([0.7, 0.6]))
>>> m.result()
tensor(0.7500)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import losses
from lamina.metrics.base import Metric
from lamina.metrics.reduction import MeanMetricWrapper
from lamina.utils import validation


def _tensors(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = torch.as_tensor(y_pred)
    return torch.as_tensor(y_true, device=y_pred.device), y_pred


def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sample fraction of entries where ``y_pred`` equals ``y_true`` exactly.

    Args:
        y_true: Targets.
        y_pred: Predicted values (already labels, not scores).

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = losses._align_shapes("accuracy", *_tensors(y_true, y_pred))
    return losses._per_sample((y_true == y_pred).float())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """Per-sample fraction of entries where ``y_pred > threshold`` matches the 0/1 target.

    Args:
        y_true: 0/1 targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Probabilities (or logits with ``threshold=0.0``).
        threshold: Decision threshold. Defaults to `0.5`.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = losses._align_shapes("binary_accuracy", *_tensors(y_true, y_pred))
    predicted = (y_pred > threshold).float()
    return losses._per_sample((y_true.float() == predicted).float())


def _check_one_hot(owner: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    if y_true.shape != y_pred.shape:
        hint = f"For integer labels use `sparse_{owner}`."
        raise losses._shape_error(owner, y_true, y_pred, hint, exact=True)


def _sparse_labels(owner: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    if y_pred.ndim >= 1 and y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_pred.ndim < 1 or y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"`{owner}` expects integer labels of shape (batch, ...) or (batch, ..., 1) and "
            f"scores of shape (batch, ..., num_classes). Received: y_true.shape="
            f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
        )
    return y_true.long()


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sample fraction of rows where ``argmax(y_pred)`` equals ``argmax(y_true)``.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Class scores, same shape.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    _check_one_hot("categorical_accuracy", y_true, y_pred)
    return losses._per_sample((y_true.argmax(-1) == y_pred.argmax(-1)).float())


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sample fraction of rows where ``argmax(y_pred)`` equals the integer label.

    Args:
        y_true: Integer labels, shape ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: Class scores, shape ``(batch, ..., num_classes)``.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    labels = _sparse_labels("sparse_categorical_accuracy", y_true, y_pred)
    return losses._per_sample((labels == y_pred.argmax(-1)).float())


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """Per-sample fraction of rows whose integer label is among the ``k`` highest scores.

    Args:
        y_true: Integer labels, shape ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: Class scores, shape ``(batch, ..., num_classes)``.
        k: How many top scores count as a hit. Defaults to `5`.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    labels = _sparse_labels("sparse_top_k_categorical_accuracy", y_true, y_pred)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return losses._per_sample((top == labels.unsqueeze(-1)).any(dim=-1).float())


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """Per-sample fraction of rows whose one-hot class is among the ``k`` highest scores.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Class scores, same shape.
        k: How many top scores count as a hit. Defaults to `5`.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    _check_one_hot("top_k_categorical_accuracy", y_true, y_pred)
    return sparse_top_k_categorical_accuracy(y_true.argmax(-1), y_pred, k=k)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal targets exactly; see :func:`accuracy`.

    Args:
        name: Defaults to `"accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches 0/1 targets; see :func:`binary_accuracy`.

    For logits use ``threshold=0.0``: the same decision as 0.5 on probabilities.

    Args:
        name: Defaults to `"binary_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
        threshold: Decision threshold. Defaults to `0.5`.
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        validation.number("BinaryAccuracy", "threshold", threshold)
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the top class matches the one-hot target; see :func:`categorical_accuracy`.

    Args:
        name: Defaults to `"categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the top class matches the integer label; see :func:`sparse_categorical_accuracy`.

    Args:
        name: Defaults to `"sparse_categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch. The training loop's common case (scores (batch, classes),
        integer labels (batch,), no weights) takes three device ops and no checks:
        argmax, compare and sum, added in place to the state. Their results carry
        no gradient, so this path needs no ``no_grad`` context."""
        if (
            sample_weight is None
            and type(y_pred) is torch.Tensor
            and type(y_true) is torch.Tensor
            and y_pred.ndim == 2
            and y_true.ndim == 1
            and y_true.shape[0] == y_pred.shape[0]
            and not y_true.is_floating_point()
        ):
            if self.total.device != y_pred.device:
                self._to_device(y_pred.device)
            self.total += (y_pred.argmax(-1) == y_true).sum()
            self._uncounted += y_true.shape[0]
            return
        super().update_state(y_true, y_pred, sample_weight)  # MeanMetricWrapper's, under no_grad

    update_state._lamina_no_grad = True  # type: ignore[attr-defined]  # see the docstring


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot class is among the top ``k`` scores.

    Args:
        k: Number of top scores that count. Defaults to `5`.
        name: Defaults to `"top_k_categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        validation.positive_int("TopKCategoricalAccuracy", "k", k)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top ``k`` scores.

    Args:
        k: Number of top scores that count. Defaults to `5`.
        name: Defaults to `"sparse_top_k_categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None
    ):
        validation.positive_int("SparseTopKCategoricalAccuracy", "k", k)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class AutoAccuracy(Metric):
    """Accuracy whose kind is decided from the shapes of the first batch (Keras 3 rule).

    Used by :func:`get` for ``"accuracy"`` when neither the loss nor the output
    shape decides it: a single output column gives :class:`BinaryAccuracy`
    (with ``threshold``), labels with fewer axes than the scores (or a last
    axis of 1) give :class:`SparseCategoricalAccuracy`, otherwise
    :class:`CategoricalAccuracy`. The chosen metric is in ``self.metric``.

    Args:
        threshold: Threshold for the binary case. Defaults to `0.5`.
        name: Defaults to `"accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, threshold: float = 0.5, name: str = "accuracy", dtype: Any = None):
        validation.number("AutoAccuracy", "threshold", threshold)
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.metric: Metric | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        if self.metric is None:
            if y_pred.ndim <= 1 or y_pred.shape[-1] == 1:
                self.metric = BinaryAccuracy(self.name, self.dtype, threshold=self.threshold)
            elif y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
                self.metric = SparseCategoricalAccuracy(self.name, self.dtype)
            else:
                self.metric = CategoricalAccuracy(self.name, self.dtype)
        self.metric.update_state(y_true, y_pred, sample_weight)

    def result(self) -> torch.Tensor:
        if self.metric is None:
            return torch.zeros((), dtype=self._state_dtype)
        return self.metric.result()

    def reset_state(self) -> None:
        if self.metric is not None:
            self.metric.reset_state()

    def get_config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, **super().get_config()}
