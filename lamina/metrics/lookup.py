"""Resolving metrics by name, with what the loss and shapes say about the task
(``"accuracy"`` becomes binary, categorical or sparse accuracy), and their Keras
configs: :func:`get`, :func:`serialize` and :func:`deserialize`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from lamina import losses
from lamina.metrics.accuracy_metrics import (
    AutoAccuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from lamina.metrics.base import Metric
from lamina.metrics.confusion import Precision, Recall
from lamina.metrics.curves import AUC
from lamina.metrics.f_score import F1Score
from lamina.metrics.reduction import MeanMetricWrapper
from lamina.metrics.regression import MeanAbsoluteError, MeanSquaredError, RootMeanSquaredError
from lamina.saving import registry
from lamina.utils import serialization


class _Context(NamedTuple):
    """What the loss and shapes tell about the task, for resolving metric names."""

    kind: str | None
    binary: bool
    from_logits: bool
    output_shape: tuple[Any, ...] | None
    target_shape: tuple[Any, ...] | None

    @property
    def threshold(self) -> float:
        """Decision threshold on ``y_pred``: 0.0 for logits, else 0.5."""
        return 0.0 if self.from_logits else 0.5


def _context(loss: Any, output_shape: Any, target_shape: Any) -> _Context:
    loss = losses.get(loss)
    kind = getattr(loss, "kind", None)
    from_logits = bool(getattr(loss, "from_logits", False))
    output_shape = None if output_shape is None else tuple(output_shape)
    target_shape = None if target_shape is None else tuple(target_shape)
    one_column = bool(output_shape) and output_shape[-1] == 1
    return _Context(
        kind, kind == "binary_crossentropy" or one_column, from_logits, output_shape, target_shape
    )


def _accuracy(name: str, ctx: _Context) -> Metric:
    if ctx.binary:
        return BinaryAccuracy(name=name, threshold=ctx.threshold)
    if ctx.kind == "sparse_categorical_crossentropy":
        return SparseCategoricalAccuracy(name=name)
    if ctx.kind == "categorical_crossentropy":
        return CategoricalAccuracy(name=name)
    if ctx.output_shape and ctx.target_shape:
        out, target = ctx.output_shape, ctx.target_shape
        if len(target) < len(out) or (target and target[-1] == 1):
            return SparseCategoricalAccuracy(name=name)
        return CategoricalAccuracy(name=name)
    return AutoAccuracy(threshold=ctx.threshold, name=name)


def _binary_threshold(ctx: _Context) -> float | None:
    return ctx.threshold if ctx.binary else None


_NAMES: dict[str, Callable[[str, _Context], Metric]] = {
    "accuracy": _accuracy,
    "acc": _accuracy,
    "binary_accuracy": lambda name, ctx: BinaryAccuracy(
        name=name, threshold=ctx.threshold if ctx.binary else 0.5
    ),
    "categorical_accuracy": lambda name, ctx: CategoricalAccuracy(name=name),
    "sparse_categorical_accuracy": lambda name, ctx: SparseCategoricalAccuracy(name=name),
    "top_k_categorical_accuracy": lambda name, ctx: TopKCategoricalAccuracy(name=name),
    "sparse_top_k_categorical_accuracy": lambda name, ctx: SparseTopKCategoricalAccuracy(name=name),
    "precision": lambda name, ctx: Precision(thresholds=_binary_threshold(ctx), name=name),
    "recall": lambda name, ctx: Recall(thresholds=_binary_threshold(ctx), name=name),
    "f1": lambda name, ctx: F1Score(average="macro", threshold=_binary_threshold(ctx), name=name),
    "f1_score": lambda name, ctx: F1Score(
        average="macro", threshold=_binary_threshold(ctx), name=name
    ),
    "auc": lambda name, ctx: AUC(name=name, from_logits=ctx.from_logits and ctx.binary),
    "mse": lambda name, ctx: MeanSquaredError(name=name),
    "mean_squared_error": lambda name, ctx: MeanSquaredError(name=name),
    "mae": lambda name, ctx: MeanAbsoluteError(name=name),
    "mean_absolute_error": lambda name, ctx: MeanAbsoluteError(name=name),
    "rmse": lambda name, ctx: RootMeanSquaredError(name=name),
    "root_mean_squared_error": lambda name, ctx: RootMeanSquaredError(name=name),
}


def get(
    identifier: Any,
    loss: Any = None,
    output_shape: Any = None,
    target_shape: Any = None,
) -> Metric | None:
    """Resolves a metric from a name, an instance, a config dict or a function.

    Names are resolved with what the loss and shapes say about the task, as
    Keras does. ``"accuracy"`` / ``"acc"`` becomes :class:`BinaryAccuracy` for
    a binary crossentropy loss or a one-column output, else
    :class:`SparseCategoricalAccuracy` or :class:`CategoricalAccuracy` after
    the loss; for another loss it follows the shapes (Keras 3 rule), deciding
    at the first batch (:class:`AutoAccuracy`) when they are not given.
    For a binary task whose loss has ``from_logits=True``, thresholds become
    0.0 (the same decision as 0.5 on probabilities) and ``"auc"`` applies a
    sigmoid. ``"f1"`` gives the macro-averaged :class:`F1Score` (for one
    output column that is the usual binary F1). The metric's name is the
    string given, so logs show ``"accuracy"`` or ``"acc"`` as written.

    Args:
        identifier: `None`; a :class:`Metric` (returned as is); a
            :class:`Metric` subclass or class name (default instance); a
            name: ``"accuracy"``, ``"acc"``, ``"binary_accuracy"``,
            ``"categorical_accuracy"``, ``"sparse_categorical_accuracy"``,
            ``"top_k_categorical_accuracy"``,
            ``"sparse_top_k_categorical_accuracy"``, ``"precision"``,
            ``"recall"``, ``"f1"``, ``"f1_score"``, ``"auc"``, ``"mse"``,
            ``"mae"``, ``"rmse"`` (and long forms); a dict from
            :func:`serialize`; a :class:`lamina.losses.Loss` (its per-sample
            values are averaged); or a function ``f(y_true, y_pred)``
            returning per-sample values (wrapped in :class:`MeanMetricWrapper`).
        loss: The model's loss (name, instance or function), or `None`.
            Defaults to `None`.
        output_shape: Shape of the model output, with the batch axis; only
            its last axis is used to spot a one-column output. Defaults to `None`.
        target_shape: Shape of the targets, with the batch axis. Defaults to `None`.

    Returns:
        A :class:`Metric`, or `None`.

    Raises:
        ValueError: For an unknown name (the message lists the valid names).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        factory = _NAMES.get(identifier.lower())  # names whose meaning depends on the task
        if factory is not None and identifier not in registry.builtin_classes("metric"):
            return factory(identifier, _context(loss, output_shape, target_shape))
        found = registry.lookup("metric", identifier, "metric")
        if inspect.isclass(found) and issubclass(found, Metric):
            if identifier in registry.builtin_classes("metric"):
                return found()
            return (
                found(name=identifier) if "name" in inspect.signature(found).parameters else found()
            )
        if callable(found) and not inspect.isclass(found):
            return MeanMetricWrapper(found, name=identifier)
    found = serialization.get(identifier, family="metric", kind="metric", base=Metric)
    if isinstance(found, Metric):
        return found
    if isinstance(identifier, losses.Loss):
        return MeanMetricWrapper(identifier.call, name=identifier.name)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(
        "A metric must be a metric name, a `Metric` instance or a function f(y_true, y_pred). "
        f"Received: metric={identifier!r}."
    )


def serialize(metric: Metric | None) -> dict[str, Any] | None:
    """Returns the Keras config of a :class:`Metric` (see `lamina.saving.serialize_keras_object`).

    Args:
        metric: The metric to describe (`None` gives `None`).
    """
    if metric is None:
        return None
    if not isinstance(metric, Metric) and not inspect.isfunction(metric):
        raise TypeError(f"`serialize` expects a `Metric` instance. Received: metric={metric!r}.")
    return serialization.class_config(metric)


def deserialize(
    config: dict[str, Any] | None, custom_objects: dict[str, Any] | None = None
) -> Metric | None:
    """Rebuilds a metric from :func:`serialize` output, without importing anything.

    Args:
        config: A dict with ``"class_name"`` and ``"config"`` (`None` gives `None`).
        custom_objects: Names of user-defined :class:`Metric` classes or metric
            functions (for a :class:`MeanMetricWrapper`). Defaults to `None`.

    Raises:
        ValueError: For an unknown class name or function name.
    """
    if config is None:
        return None
    return serialization.deserialize(
        config,
        family="metric",
        kind="metric",
        custom_objects=custom_objects,
        wrapper=MeanMetricWrapper,
    )
