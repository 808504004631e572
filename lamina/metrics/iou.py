"""Intersection-over-union metrics for segmentation and classification, as in
Keras: :class:`IoU`, :class:`MeanIoU`, :class:`BinaryIoU`, :class:`OneHotIoU`
and :class:`OneHotMeanIoU`.

Each accumulates a weighted ``(num_classes, num_classes)`` confusion matrix on
the device (rows: true class, columns: predicted class); the result is the
mean, over the target classes that occurred, of
``iou = tp / (tp + fp + fn)``. Also available as ``lamina.metrics.<name>``.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.MeanIoU(num_classes=2)
>>> m.update_state(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))
>>> m.result()
tensor(0.3333)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses import EPSILON
from lamina.metrics.base import Metric
from lamina.utils import validation


def _class_ids(owner: str, num_classes: int, target_class_ids: Any) -> list[int]:
    ids = list(target_class_ids) if isinstance(target_class_ids, (list, tuple)) else None
    if not ids or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValueError(
            f"`{owner}` expects `target_class_ids` to be a non-empty list or tuple of class "
            f"indices. Received: target_class_ids={target_class_ids!r}."
        )
    if min(ids) < 0 or max(ids) >= num_classes:
        raise ValueError(
            f"`{owner}` expects every target class id in [0, {num_classes}) "
            f"(num_classes={num_classes}). Received: target_class_ids={target_class_ids!r}. "
            "Pass ids below `num_classes`."
        )
    return ids


class IoU(Metric):
    """Intersection-over-union for chosen classes, averaged over them.

    ``iou = tp / (tp + fp + fn)`` per class, from a confusion matrix of all
    the entries seen (every pixel of a segmentation map counts). Classes that
    never occurred, in the targets or the predictions, are left out of the mean.

    Args:
        num_classes: The number of classes, >= 1.
        target_class_ids: The classes to average, e.g. ``[0]`` for the IoU of
            class 0 alone.
        name: Defaults to `None` (``"io_u"``, as Keras names it).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        ignore_class: A label whose entries are skipped (a "void" class such
            as 255 or -1). Defaults to `None`.
        sparse_y_true: Whether targets are class indices; if `False`, the
            class is the argmax over ``axis``. Defaults to `True`.
        sparse_y_pred: Whether predictions are class indices; if `False`, the
            class is the argmax over ``axis``. Defaults to `True`.
        axis: The class axis for the argmax. Defaults to `-1`.

    Example:

    >>> import torch
    >>> m = IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))
    >>> m.result()
    tensor(0.3333)
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        owner = type(self).__name__
        validation.positive_int(owner, "num_classes", num_classes)
        ids = _class_ids(owner, num_classes, target_class_ids)
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, int)
        ):
            raise ValueError(
                f"`{owner}` expects `ignore_class` to be an integer or None. "
                f"Received: ignore_class={ignore_class!r}."
            )
        validation.boolean(owner, "sparse_y_true", sparse_y_true)
        validation.boolean(owner, "sparse_y_pred", sparse_y_pred)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"`{owner}` expects `axis` to be an integer. Received: axis={axis!r}.")
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.target_class_ids = ids
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.add_state("total_cm", (num_classes, num_classes))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch to the confusion matrix.

        Args:
            y_true: Class indices (or one-hot / scores with ``sparse_y_true=False``).
            y_pred: Class indices (or scores with ``sparse_y_pred=False``).
            sample_weight: Optional weights broadcastable to the labels' shape.
                Defaults to `None`.
        """
        y_true, y_pred = self._inputs(y_true, y_pred)
        if not self.sparse_y_true:
            y_true = y_true.argmax(dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(dim=self.axis)
        labels, predictions = y_true.reshape(-1).long(), y_pred.reshape(-1).long()
        if labels.shape != predictions.shape:
            raise ValueError(
                f"`{self.name}` expects as many labels as predictions. Received: "
                f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
            )
        dtype = self._state_dtype
        if sample_weight is None:
            weights = torch.ones(labels.shape, dtype=dtype, device=labels.device)
        else:
            w = torch.as_tensor(sample_weight, device=labels.device).to(dtype)
            weights = torch.broadcast_to(w.reshape(-1) if w.ndim > 1 else w, labels.shape)
        c = self.num_classes
        # Entries of the ignored class, and labels outside [0, num_classes), add nothing.
        valid = (labels >= 0) & (labels < c) & (predictions >= 0) & (predictions < c)
        if self.ignore_class is not None:
            valid = valid & (labels != self.ignore_class)
        index = torch.where(valid, labels * c + predictions, torch.zeros_like(labels))
        counts = torch.zeros(c * c, dtype=dtype, device=labels.device)
        counts.scatter_add_(0, index, weights * valid.to(dtype))
        self.total_cm += counts.view(c, c)

    def _ious(self) -> tuple[torch.Tensor, torch.Tensor]:
        cm = self.total_cm
        tp = cm.diagonal()
        denominator = cm.sum(dim=0) + cm.sum(dim=1) - tp
        ids = torch.tensor(self.target_class_ids, device=cm.device)
        return tp[ids], denominator[ids]

    def result(self) -> torch.Tensor:
        tp, denominator = self._ious()
        valid = (denominator > 1e-9).to(tp.dtype).sum()
        iou = tp / (denominator + EPSILON)
        return iou.sum() / (valid + EPSILON)

    def get_config(self) -> dict[str, Any]:
        return {
            "num_classes": self.num_classes,
            "target_class_ids": list(self.target_class_ids),
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
            **super().get_config(),
        }


class MeanIoU(IoU):
    """Mean intersection-over-union over all classes (the usual segmentation score).

    Args:
        num_classes: The number of classes, >= 1.
        name: Defaults to `None` (``"mean_io_u"``, as Keras names it).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        ignore_class: A label whose entries are skipped. Defaults to `None`.
        sparse_y_true: Whether targets are class indices. Defaults to `True`.
        sparse_y_pred: Whether predictions are class indices; pass `False`
            for softmax outputs. Defaults to `True`.
        axis: The class axis for the argmax. Defaults to `-1`.

    Example:

    >>> import torch
    >>> m = MeanIoU(num_classes=3, sparse_y_pred=False)
    >>> m.update_state(torch.tensor([0, 1, 2]), torch.eye(3))
    >>> m.result()
    tensor(1.0000)
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        validation.positive_int("MeanIoU", "num_classes", num_classes)
        super().__init__(
            num_classes,
            list(range(num_classes)),
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(IoU):
    """IoU of a binary prediction: scores ``>= threshold`` are class 1, others class 0.

    Args:
        target_class_ids: ``[0]``, ``[1]`` or ``[0, 1]`` (the mean of both).
            Defaults to `(0, 1)`.
        threshold: Decision threshold on ``y_pred``. Defaults to `0.5`.
        name: Defaults to `None` (``"binary_io_u"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.

    Example:

    >>> import torch
    >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> m.update_state(torch.tensor([0, 1, 0, 1]), torch.tensor([0.1, 0.2, 0.4, 0.7]))
    >>> m.result()
    tensor(0.3333)
    """

    def __init__(
        self,
        target_class_ids: Any = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ):
        validation.number("BinaryIoU", "threshold", threshold)
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = torch.as_tensor(y_pred) >= self.threshold
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {
            "target_class_ids": list(self.target_class_ids),
            "threshold": self.threshold,
            "name": self.name,
            "dtype": Metric.get_config(self)["dtype"],
        }


class OneHotIoU(IoU):
    """:class:`IoU` for one-hot targets and score predictions (argmax over ``axis``).

    Args:
        num_classes: The number of classes, >= 1.
        target_class_ids: The classes to average.
        name: Defaults to `None` (``"one_hot_io_u"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        ignore_class: A class whose entries are skipped. Defaults to `None`.
        sparse_y_pred: Whether predictions are class indices. Defaults to `False`.
        axis: The class axis. Defaults to `-1`.
    """

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Any,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            num_classes,
            target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` for one-hot targets and score predictions (argmax over ``axis``).

    Args:
        num_classes: The number of classes, >= 1.
        name: Defaults to `None` (``"one_hot_mean_io_u"``).
        dtype: See :class:`lamina.metrics.Metric`. Defaults to `None`.
        ignore_class: A class whose entries are skipped. Defaults to `None`.
        sparse_y_pred: Whether predictions are class indices. Defaults to `False`.
        axis: The class axis. Defaults to `-1`.
    """

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
