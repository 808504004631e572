"""Weight regularizers, with the Keras names and math.

A regularizer maps a weight tensor to a scalar penalty tensor that the
training loop adds to the loss. The penalty stays on the weight's device.

Example:

>>> import torch
>>> from lamina import regularizers
>>> regularizers.get("l2")(torch.tensor([1.0, 2.0]))
tensor(0.0500)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.utils import serialization, validation

__all__ = [
    "Regularizer",
    "L1",
    "L2",
    "L1L2",
    "l1",
    "l2",
    "l1_l2",
    "get",
    "serialize",
    "deserialize",
]


def _factor(owner: str, name: str, value: Any) -> Any:
    return validation.number(owner, name, value, low=0.0)


class Regularizer:
    """Base class of regularizers.

    Subclasses implement ``__call__(weight) -> scalar tensor`` and
    ``get_config()``; ``from_config(config)`` rebuilds an equal regularizer.
    """

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            f"`{type(self).__name__}` must implement `__call__(weight) -> tensor`."
        )

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        """Rebuilds a regularizer from the output of ``get_config()``."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """L1 penalty: ``l1 * sum(abs(weight))``.

    Args:
        l1: The factor, >= 0. Defaults to `0.01`.
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor("L1", "l1", l1)

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return self.l1 * torch.sum(torch.abs(weight))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """L2 penalty: ``l2 * sum(weight ** 2)`` (no 1/2 factor, as Keras).

    Args:
        l2: The factor, >= 0. Defaults to `0.01`.
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor("L2", "l2", l2)

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return self.l2 * torch.sum(torch.square(weight))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    """L1 plus L2 penalty: ``l1 * sum(abs(weight)) + l2 * sum(weight ** 2)``.

    Args:
        l1: The L1 factor, >= 0. Defaults to `0.0`.
        l2: The L2 factor, >= 0. Defaults to `0.0`.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor("L1L2", "l1", l1)
        self.l2 = _factor("L1L2", "l2", l2)

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        penalty = weight.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * torch.sum(torch.abs(weight))
        if self.l2:
            penalty = penalty + self.l2 * torch.sum(torch.square(weight))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


# Keras' lower-case names: `regularizers.l2(0.01)` is `L2(0.01)`.
l1 = L1
l2 = L2
l1_l2 = L1L2


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """Returns the Keras config of a regularizer (see `lamina.saving.serialize_keras_object`).

    Args:
        regularizer: A ``Regularizer`` instance (None gives None).
    """
    if regularizer is None:
        return None
    if not isinstance(regularizer, Regularizer):
        raise ValueError(
            f"Cannot serialize the regularizer {regularizer!r}: only `Regularizer` "
            "instances can be saved. Subclass `lamina.regularizers.Regularizer` "
            "(implementing `__call__` and `get_config`) and register it as a custom "
            "object, or use a built-in name."
        )
    return serialization.class_config(regularizer)


def deserialize(
    config: dict[str, Any], custom_objects: dict[str, type] | None = None
) -> Regularizer:
    """Rebuilds a regularizer from the output of ``serialize``.

    Args:
        config: A dict ``{"class_name": ..., "config": ...}``.
        custom_objects: Extra regularizer classes by class name. Defaults to `None`.
    """
    return serialization.deserialize(
        config, family="regularizer", kind="regularizer", custom_objects=custom_objects
    )


def get(identifier: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """Resolves a regularizer identifier.

    Args:
        identifier: None (returned as is), a name (``"l1"``, ``"l2"``,
            ``"l1l2"``; gives the defaults), a ``Regularizer`` instance or
            class, a ``serialize`` dict, or a callable ``weight -> penalty``.
    """
    if identifier is None:
        return None
    found = serialization.get(identifier, family="regularizer", kind="regularizer", base=Regularizer)
    if found is not NotImplemented:
        return found
    if callable(identifier):
        return identifier
    raise ValueError(
        "Expected a regularizer to be a name (such as 'l2'), a `Regularizer`, a "
        f"config dict or a callable. Received: regularizer={identifier!r}."
    )
