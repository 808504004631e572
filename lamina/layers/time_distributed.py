"""`TimeDistributed`: applies a layer to every time step of a sequence."""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.layer import Layer
from lamina.layers.wrapper import Wrapper


class TimeDistributed(Wrapper):
    """Applies `layer` to every time step: one call on `(batch * steps, ...)`.

    The time axis is folded into the batch axis, the layer runs once, and the
    result is unfolded, so the same weights serve every step. A padding mask on
    the input is passed on to the output.

    Args:
        layer: The layer to apply to each step (e.g. `Dense(8)` or a `Conv2D`).

    Input shape: `(batch, steps, *inner)`. Output shape: `(batch, steps, *out)`
    where `(batch, *out)` is `layer`'s output for `(batch, *inner)`.

    Example:
        >>> import torch, lamina
        >>> td = lamina.layers.TimeDistributed(lamina.layers.Dense(8))
        >>> td(torch.randn(4, 10, 3)).shape
        torch.Size([4, 10, 8])
    """

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)

    def build(self, input_shape: Any) -> None:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects input of shape (batch, steps, ...) "
                f"with at least 3 axes. Received input shape {input_shape}."
            )
        self.layer.build_from_shape((None, *tuple(input_shape)[2:]))

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.ndim < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects input of shape (batch, steps, ...). "
                f"Received: input with shape {tuple(inputs.shape)}."
            )
        batch, steps = inputs.shape[:2]
        flat = inputs.reshape(batch * steps, *inputs.shape[2:])
        out = self.layer(flat) if training is None else self.layer(flat, training=training)
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"Layer '{self.name}' (TimeDistributed) needs a wrapped layer with one tensor output. "
                f"Received: {type(self.layer).__name__} returning {type(out).__name__}."
            )
        return out.reshape(batch, steps, *out.shape[1:])
