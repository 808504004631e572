"""Normalisation layers: `BatchNormalization`, `LayerNormalization`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import initializers
from lamina.layers.layer import Layer
from lamina.utils import validation


class BatchNormalization(Layer):
    """Normalises each feature with the batch's statistics in training and with
    moving averages in inference.

    As in Keras, a `BatchNormalization` layer whose `trainable` is False runs in
    inference mode even inside `fit` (the usual fine-tuning behaviour).

    Args:
        axis: The feature axis. Defaults to `-1` (channels-last).
        momentum: Momentum of the moving averages (Keras's convention:
            `moving = moving * momentum + batch * (1 - momentum)`). Defaults to `0.99`.
        epsilon: Added to the variance. Defaults to `1e-3`.
        center: Whether to learn an offset `beta`. Defaults to `True`.
        scale: Whether to learn a scale `gamma`. Defaults to `True`.

    Input and output shape: the same, any.
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int):
            raise ValueError(f"`BatchNormalization` expects `axis` to be an integer. Received: axis={axis!r}.")
        self.axis = axis
        self.momentum = validation.number("BatchNormalization", "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = validation.number("BatchNormalization", "epsilon", epsilon, low=0.0, low_inclusive=False)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def build(self, input_shape: Any) -> None:
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) needs a known size on axis {self.axis}. "
                f"Received input shape {tuple(input_shape)}."
            )
        self.gamma = self.add_weight("gamma", (dim,), self.gamma_initializer) if self.scale else None
        self.beta = self.add_weight("beta", (dim,), self.beta_initializer) if self.center else None
        self.register_buffer("moving_mean", torch.zeros(dim))
        self.register_buffer("moving_variance", torch.ones(dim))
        self._ndim = len(input_shape)
        self._feature_axis = self.axis % self._ndim
        if self._feature_axis == self._ndim - 1:
            self._expected_last_dim = dim

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        x = inputs if inputs.is_floating_point() else inputs.float()
        # F.batch_norm wants features on axis 1.
        moved = self._feature_axis != 1 and x.ndim > 2
        if moved:
            x = x.movedim(self._feature_axis, 1)
        y = self._call_channels_first(x, training)
        return y.movedim(1, self._feature_axis) if moved else y

    def _channels_first_rank(self) -> int | None:
        """Channels-last images and sequences (features on the last of 3+ axes)."""
        return self._ndim - 2 if self._ndim >= 3 and self._feature_axis == self._ndim - 1 else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training is None:
            training = self.training
        return F.batch_norm(
            x,
            self.moving_mean,
            self.moving_variance,
            self.gamma,
            self.beta,
            training and self.trainable,
            1.0 - self.momentum,
            self.epsilon,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            axis=self.axis,
            momentum=self.momentum,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
        )
        return config


class LayerNormalization(Layer):
    """Normalises each sample over its last axis (`torch.nn.functional.layer_norm`).

    Args:
        axis: Must be `-1` (the last axis). Defaults to `-1`.
        epsilon: Added to the variance. Defaults to `1e-3`.
        center: Whether to learn an offset `beta`. Defaults to `True`.
        scale: Whether to learn a scale `gamma`. Defaults to `True`.

    Input and output shape: the same, any.
    """

    def __init__(
        self, axis: int = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(
                "`LayerNormalization` normalises over the last axis only. "
                f"Received: axis={axis!r}. Use axis=-1 (move the axis last with `Permute`)."
            )
        self.axis = axis
        self.epsilon = validation.number("LayerNormalization", "epsilon", epsilon, low=0.0, low_inclusive=False)
        self.center = center
        self.scale = scale

    def build(self, input_shape: Any) -> None:
        dim = input_shape[-1]
        self.gamma = self.add_weight("gamma", (dim,), "ones") if self.scale else None
        self.beta = self.add_weight("beta", (dim,), "zeros") if self.center else None
        self._expected_last_dim = dim
        self._dim = dim

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return F.layer_norm(inputs, (self._dim,), self.gamma, self.beta, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale)
        return config
