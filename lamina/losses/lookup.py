"""Resolving losses by name, and their Keras configs: :func:`get`,
:func:`serialize` and :func:`deserialize`, with the task family of each
built-in loss function (``_FUNCTION_KINDS``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lamina.losses.base import Loss, LossFunctionWrapper
from lamina.losses.crossentropy import binary_crossentropy, categorical_crossentropy, kl_divergence
from lamina.losses.focal import binary_focal_crossentropy, categorical_focal_crossentropy
from lamina.losses.regression import (
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
)
from lamina.losses.sparse_crossentropy import sparse_categorical_crossentropy
from lamina.utils import serialization

_FUNCTION_KINDS: dict[Callable[..., Any], str] = {
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
    mean_squared_error: "regression",
    mean_absolute_error: "regression",
    huber: "regression",
    kl_divergence: "categorical_crossentropy",
    log_cosh: "regression",
    poisson: "regression",
    mean_absolute_percentage_error: "regression",
    mean_squared_logarithmic_error: "regression",
    binary_focal_crossentropy: "binary_crossentropy",
    categorical_focal_crossentropy: "categorical_crossentropy",
}


def get(identifier: Any) -> Loss | None:
    """Resolves a loss from a name, an instance, a config dict or a function.

    Args:
        identifier: `None` (gives `None`); a :class:`Loss` instance (returned
            as is); a :class:`Loss` subclass (instantiated with defaults); a
            name such as ``"mse"``, ``"mae"``, ``"bce"``,
            ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
            ``"sparse_categorical_crossentropy"``, ``"huber"``, ``"kld"`` or a
            class name such as ``"MeanSquaredError"``; a dict from
            :func:`serialize`; or a function ``f(y_true, y_pred)`` returning
            the per-sample loss, or a ``torch.nn`` loss module (wrapped in
            :class:`LossFunctionWrapper`).

    Returns:
        A :class:`Loss`, or `None`.

    Raises:
        ValueError: For an unknown name (the message lists the valid names).
    """
    if identifier is None:
        return None
    found = serialization.get(identifier, family="loss", kind="loss", base=Loss)
    if found is NotImplemented and callable(identifier):
        found = identifier
    if isinstance(found, Loss):
        return found
    if callable(found):  # a function, given or registered under the name
        return LossFunctionWrapper(found)
    raise TypeError(
        "`loss` must be a loss name, a `Loss` instance or a function f(y_true, y_pred). "
        f"Received: loss={identifier!r}."
    )


def serialize(loss: Loss | None) -> dict[str, Any] | None:
    """Returns the Keras config ``{"module", "class_name", "config", "registered_name"}``
    of a :class:`Loss` (or of a built-in or registered loss function).

    Args:
        loss: The loss to describe (`None` gives `None`).
    """
    if loss is None:
        return None
    if not isinstance(loss, Loss) and not inspect.isfunction(loss):
        raise TypeError(f"`serialize` expects a `Loss` instance. Received: loss={loss!r}.")
    return serialization.class_config(loss)


def deserialize(
    config: dict[str, Any] | None, custom_objects: dict[str, Any] | None = None
) -> Loss | None:
    """Rebuilds a loss from :func:`serialize` output, without importing anything.

    Args:
        config: A dict with ``"class_name"`` and ``"config"`` (`None` gives `None`).
        custom_objects: Names of user-defined :class:`Loss` classes or loss
            functions (for a :class:`LossFunctionWrapper`). Defaults to `None`.

    Raises:
        ValueError: For an unknown class name or function name.
    """
    if config is None:
        return None
    return serialization.deserialize(
        config,
        family="loss",
        kind="loss",
        custom_objects=custom_objects,
        wrapper=LossFunctionWrapper,
    )
