"""Normalisation layers: `BatchNormalization`, `LayerNormalization`, `GroupNormalization`,
`UnitNormalization`."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
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
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        beta_constraint: Optional constraint applied to `beta` after each
            optimizer update. Defaults to `None`.
        gamma_constraint: Optional constraint applied to `gamma` after each
            optimizer update (e.g. `"non_neg"`). Defaults to `None`.

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
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
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
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Any) -> None:
        dim = input_shape[self.axis]
        if dim is None:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) needs a known size on axis {self.axis}. "
                f"Received input shape {tuple(input_shape)}."
            )
        self.gamma = self.add_weight(
            "gamma", (dim,), self.gamma_initializer, constraint=self.gamma_constraint
        ) if self.scale else None
        self.beta = self.add_weight(
            "beta", (dim,), self.beta_initializer, constraint=self.beta_constraint
        ) if self.center else None
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
            beta_constraint=constraints.layer_config(self.beta_constraint),
            gamma_constraint=constraints.layer_config(self.gamma_constraint),
        )
        return config


class LayerNormalization(Layer):
    """Normalises each sample over its last axis (`torch.nn.functional.layer_norm`).

    Args:
        axis: Must be `-1` (the last axis). Defaults to `-1`.
        epsilon: Added to the variance. Defaults to `1e-3`.
        center: Whether to learn an offset `beta`. Defaults to `True`.
        scale: Whether to learn a scale `gamma`. Defaults to `True`.
        beta_constraint: Optional constraint applied to `beta` after each
            optimizer update. Defaults to `None`.
        gamma_constraint: Optional constraint applied to `gamma` after each
            optimizer update. Defaults to `None`.

    Input and output shape: the same, any.
    """

    def __init__(
        self, axis: int = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
        beta_constraint: Any = None, gamma_constraint: Any = None, **kwargs: Any
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
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Any) -> None:
        dim = input_shape[-1]
        self.gamma = self.add_weight(
            "gamma", (dim,), "ones", constraint=self.gamma_constraint
        ) if self.scale else None
        self.beta = self.add_weight(
            "beta", (dim,), "zeros", constraint=self.beta_constraint
        ) if self.center else None
        self._expected_last_dim = dim
        self._dim = dim

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return F.layer_norm(inputs, (self._dim,), self.gamma, self.beta, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale,
            beta_constraint=constraints.layer_config(self.beta_constraint),
            gamma_constraint=constraints.layer_config(self.gamma_constraint),
        )
        return config


def _regularizer_config(reg: Any) -> Any:
    return None if reg is None else regularizers.serialize(reg)


class GroupNormalization(Layer):
    """Normalises each sample over groups of channels (Wu & He, 2018),
    `torch.nn.functional.group_norm`.

    The channels (on `axis`) are split into `groups` groups; each group is
    normalised with the mean and variance of its channels over all the other
    non-batch axes, then scaled by `gamma` and shifted by `beta` (one value per
    channel). `groups=1` is close to `LayerNormalization` over all axes;
    `groups=-1` (one group per channel) is instance normalisation. Unlike
    `BatchNormalization`, training and inference compute the same thing.

    Args:
        groups: Number of groups; must divide the number of channels, or `-1`
            for one group per channel. Defaults to `32`.
        axis: The channels axis (an integer). Defaults to `-1` (channels-last).
        epsilon: Added to the variance. Defaults to `1e-3`.
        center: Whether to learn an offset `beta`. Defaults to `True`.
        scale: Whether to learn a scale `gamma`. Defaults to `True`.
        beta_initializer: Defaults to `"zeros"`.
        gamma_initializer: Defaults to `"ones"`.
        beta_regularizer: Optional penalty on `beta`. Defaults to `None`.
        gamma_regularizer: Optional penalty on `gamma`. Defaults to `None`.
        beta_constraint: Optional constraint applied to `beta` after each
            optimizer update. Defaults to `None`.
        gamma_constraint: Optional constraint applied to `gamma` after each
            optimizer update. Defaults to `None`.

    Input and output shape: the same, any rank >= 2.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.GroupNormalization(groups=2)
        >>> out = layer(torch.randn(3, 8, 8, 4))
        >>> bool(out[0, ..., :2].mean().abs() < 1e-5)
        True
    """

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "GroupNormalization"
        if groups != -1:
            validation.positive_int(owner, "groups", groups)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(
                f"`{owner}` expects `axis` to be an integer (the channels axis). Received: axis={axis!r}."
            )
        self.groups = groups
        self.axis = axis
        self.epsilon = validation.number(owner, "epsilon", epsilon, low=0.0, low_inclusive=False)
        self.center = validation.boolean(owner, "center", center)
        self.scale = validation.boolean(owner, "scale", scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) < 2 or not -len(shape) < self.axis < len(shape) or self.axis % len(shape) == 0:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) has axis={self.axis}, which is not a "
                f"non-batch axis of its input shape {shape}. Use the channels axis (e.g. -1)."
            )
        dim = shape[self.axis]
        if dim is None:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) needs a known size on axis {self.axis}. "
                f"Received input shape {shape}."
            )
        groups = dim if self.groups == -1 else self.groups
        if dim % groups != 0:
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization) has groups={self.groups}, which must "
                f"divide the number of channels. Received input with {dim} channels (shape {shape}). "
                f"Use a `groups` that divides {dim}, or groups=-1 for one group per channel."
            )
        self._groups = groups
        self.gamma = self.add_weight(
            "gamma", (dim,), self.gamma_initializer, self.gamma_regularizer,
            constraint=self.gamma_constraint,
        ) if self.scale else None
        self.beta = self.add_weight(
            "beta", (dim,), self.beta_initializer, self.beta_regularizer,
            constraint=self.beta_constraint,
        ) if self.center else None
        self._ndim = len(shape)
        self._feature_axis = self.axis % self._ndim
        if self._feature_axis == self._ndim - 1:
            self._expected_last_dim = dim

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        moved = self._feature_axis != 1
        if moved:
            x = x.movedim(self._feature_axis, 1)
        y = self._call_channels_first(x)
        return y.movedim(1, self._feature_axis) if moved else y

    def _channels_first_rank(self) -> int | None:
        return self._ndim - 2 if self._ndim >= 3 and self._feature_axis == self._ndim - 1 else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        # torch 2.13's CPU group_norm backward crashes (segfault) on a channels-last-strided
        # view, so it gets a contiguous copy; and it fails for a bias without a weight,
        # so `beta` alone is added here.
        if self.gamma is None and self.beta is not None:
            y = F.group_norm(x.contiguous(), self._groups, None, None, self.epsilon)
            return y + self.beta.view(-1, *(1,) * (x.ndim - 2))
        return F.group_norm(x.contiguous(), self._groups, self.gamma, self.beta, self.epsilon)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            groups=self.groups,
            axis=self.axis,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            beta_regularizer=_regularizer_config(self.beta_regularizer),
            gamma_regularizer=_regularizer_config(self.gamma_regularizer),
            beta_constraint=constraints.layer_config(self.beta_constraint),
            gamma_constraint=constraints.layer_config(self.gamma_constraint),
        )
        return config


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along `axis`:
    `x / sqrt(max(sum(x ** 2, axis), 1e-12))`, as Keras.

    Args:
        axis: Axis, or list of axes, along which to normalise. Defaults to `-1`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.UnitNormalization()(torch.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)

        def is_int(a: Any) -> bool:
            return isinstance(a, int) and not isinstance(a, bool)

        if isinstance(axis, (list, tuple)):
            if not axis or not all(is_int(a) for a in axis):
                axis = str(axis)  # rejected below, with the value shown
            else:
                axis = list(axis)
        if not (is_int(axis) or isinstance(axis, list)):
            raise ValueError(
                f"`UnitNormalization` expects `axis` to be an integer or a list of integers. Received: axis={axis!r}."
            )
        self.axis = axis
        self._dims = tuple(axis) if isinstance(axis, list) else (axis,)

    def build(self, input_shape: Any) -> None:
        rank = len(tuple(input_shape))
        if any(not -rank <= a < rank for a in self._dims):
            raise ValueError(
                f"Layer '{self.name}' (UnitNormalization) has axis={self.axis}, out of range for inputs "
                f"of rank {rank} (shape {tuple(input_shape)}). Use axes between {-rank} and {rank - 1}."
            )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        square_sum = x.square().sum(dim=self._dims, keepdim=True)
        return x * torch.rsqrt(square_sum.clamp_min(1e-12))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config
