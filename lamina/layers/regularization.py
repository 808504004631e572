"""Regularisation layers: `Dropout`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers.layer import Layer
from lamina.utils import validation


class Dropout(Layer):
    """Randomly sets inputs to 0 with frequency `rate` during training.

    Kept inputs are scaled by `1 / (1 - rate)` so the expected sum is unchanged.
    In inference (`evaluate`, `predict`) the layer is the identity.

    Args:
        rate: Fraction of the inputs to drop, in [0, 1).
        noise_shape: Optional shape of the binary mask, broadcast over the input
            (e.g. `(batch, 1, features)` to drop the same features at every step).
        seed: Accepted for Keras compatibility; use `lamina.set_seed` for repeatable runs.

    Input and output shape: the same, any.
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = validation.number("Dropout", "rate", rate, low=0.0, high=1.0, high_inclusive=False)
        self.noise_shape = noise_shape
        self.seed = seed

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training is None:
            training = self.training
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is None:
            return F.dropout(inputs, self.rate, True)
        shape = [inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape)]
        keep = torch.empty(shape, device=inputs.device, dtype=inputs.dtype).bernoulli_(1 - self.rate)
        return inputs * keep / (1 - self.rate)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config
