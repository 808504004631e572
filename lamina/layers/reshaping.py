"""Reshaping layers: `Flatten`, `Reshape`."""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.layer import Layer


class Flatten(Layer):
    """Flattens every axis but the batch axis.

    Input shape: `(batch, d1, d2, ...)`. Output shape: `(batch, d1 * d2 * ...)`.
    """

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return inputs.reshape(inputs.shape[0], -1)


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: Shape of one output sample; one entry may be -1.

    Input shape: any. Output shape: `(batch, *target_shape)`.
    """

    def __init__(self, target_shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_shape, (tuple, list)) or not all(
            isinstance(d, int) and (d > 0 or d == -1) for d in target_shape
        ) or list(target_shape).count(-1) > 1:
            raise ValueError(
                "`Reshape` expects `target_shape` to be a tuple of positive integers with at "
                f"most one -1. Received: target_shape={target_shape!r}."
            )
        self.target_shape = tuple(target_shape)

    def build(self, input_shape: Any) -> None:
        known = [d for d in input_shape[1:]]
        if None not in known:
            size = 1
            for d in known:
                size *= d
            target = 1
            for d in self.target_shape:
                target *= abs(d)
            bad = (-1 not in self.target_shape and size != target) or (
                -1 in self.target_shape and size % target != 0
            )
            if bad:
                raise ValueError(
                    f"Layer '{self.name}' (Reshape) cannot reshape input of shape "
                    f"{tuple(input_shape)} ({size} values per sample) to target_shape="
                    f"{self.target_shape}. The target must hold the same number of values."
                )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config
