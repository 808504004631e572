"""Regularisation layers: `Dropout`, `SpatialDropout1D/2D`, `GaussianNoise`,
`GaussianDropout`, `AlphaDropout`, `ActivityRegularization`."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers import conv_utils
from lamina.layers.layer import ANY_RANK, Layer
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

    def _channels_first_rank(self) -> int | None:
        return ANY_RANK if self.noise_shape is None else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return self.call(x, training)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config


def _dropout_rate(owner: str, rate: Any) -> float:
    return validation.number(owner, "rate", rate, low=0.0, high=1.0, high_inclusive=False)


class _SpatialDropout(Layer):
    """Shared machinery of `SpatialDropout1D` / `SpatialDropout2D`."""

    _rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _dropout_rate(type(self).__name__, rate)
        self.seed = seed
        self._data_format = "channels_last"

    def build(self, input_shape: Any) -> None:
        conv_utils.check_input_shape(self, tuple(input_shape), self._rank, self._data_format)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        conv_utils.check_input_shape(self, tuple(inputs.shape), self._rank, self._data_format)
        if training is None:
            training = self.training
        if not training or self.rate == 0:
            return inputs
        channels_last = self._data_format == "channels_last"
        x = inputs.movedim(-1, 1) if channels_last else inputs
        y = self._call_channels_first(x, training)
        return y.movedim(1, -1) if channels_last else y

    def _channels_first_rank(self) -> int | None:
        return self._rank if self._data_format == "channels_last" else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training is None:
            training = self.training
        if not training or self.rate == 0:
            return x
        drop = F.dropout1d if self._rank == 1 else F.dropout2d
        return drop(x, self.rate, True)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels (feature maps) of sequences with frequency `rate`.

    The same channels are dropped at every step of a sample, which regularises
    better than `Dropout` when neighbouring steps are strongly correlated (as after
    `Conv1D`). Kept channels are scaled by `1 / (1 - rate)`; in inference the layer
    is the identity. Computed with `torch.nn.functional.dropout1d`.

    Args:
        rate: Fraction of the channels to drop, in [0, 1).
        seed: Accepted for Keras compatibility; use `lamina.set_seed` for repeatable
            runs (as `Dropout`). Defaults to `None`.

    Input shape: `(batch, steps, channels)`. Output shape: the same.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.SpatialDropout1D(0.5)
        >>> out = layer(torch.ones(2, 5, 8), training=True)
        >>> bool(((out == 0).all(dim=1) | (out == 2).all(dim=1)).all())
        True
    """

    _rank = 1


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels (feature maps) of images with frequency `rate`.

    The same channels are dropped at every pixel of a sample, which suits
    convolutional features whose neighbouring pixels are strongly correlated.
    Kept channels are scaled by `1 / (1 - rate)`; in inference the layer is the
    identity. Computed with `torch.nn.functional.dropout2d`.

    Args:
        rate: Fraction of the channels to drop, in [0, 1).
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `"channels_last"`.
        seed: Accepted for Keras compatibility; use `lamina.set_seed` for repeatable
            runs (as `Dropout`). Defaults to `None`.

    Input shape: `(batch, height, width, channels)`. Output shape: the same.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.SpatialDropout2D(0.5)
        >>> layer(torch.ones(2, 4, 4, 8), training=True).shape
        torch.Size([2, 4, 4, 8])
    """

    _rank = 2

    def __init__(
        self, rate: float, data_format: str | None = "channels_last", seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self._data_format = conv_utils.standardize_data_format("SpatialDropout2D", data_format)
        self.data_format = data_format

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise with standard deviation `stddev` in training.

    A regulariser (and a simple form of data augmentation) for real-valued
    inputs; in inference the layer is the identity.

    Args:
        stddev: Standard deviation of the noise (a number >= 0).
        seed: Accepted for Keras compatibility; use `lamina.set_seed` for repeatable
            runs (as `Dropout`). Defaults to `None`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.GaussianNoise(0.1)
        >>> bool((layer(torch.ones(3, 4), training=False) == 1).all())  # inference: identity
        True
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = validation.number("GaussianNoise", "stddev", stddev, low=0.0)
        self.seed = seed

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training is None:
            training = self.training
        if not training or self.stddev == 0:
            return inputs
        return inputs + torch.randn_like(inputs) * self.stddev

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config


class GaussianDropout(Layer):
    """Multiplies the inputs by Gaussian noise of mean 1 in training.

    The noise has standard deviation `sqrt(rate / (1 - rate))`, the variance of
    `Dropout(rate)`'s scaled mask; in inference the layer is the identity.

    Args:
        rate: Drop probability of the equivalent `Dropout`, in [0, 1).
        seed: Accepted for Keras compatibility; use `lamina.set_seed` for repeatable
            runs (as `Dropout`). Defaults to `None`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GaussianDropout(0.2)(torch.ones(3, 4), training=True).shape
        torch.Size([3, 4])
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _dropout_rate("GaussianDropout", rate)
        self.seed = seed

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training is None:
            training = self.training
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * (1.0 + torch.randn_like(inputs) * stddev)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


# SELU's constants (Klambauer et al., 2017), as in `torch.nn.functional.selu`.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of its inputs, for SELU networks.

    In training, each dropped input is set to SELU's negative saturation value
    `alpha' = -scale * alpha` (instead of 0), then the affine map `a * x + b`
    restores zero mean and unit variance for standard-normal inputs, with
    `a = ((1 - rate) * (1 + rate * alpha' ** 2)) ** -0.5` and
    `b = -a * alpha' * rate` (as Keras). In inference the layer is the identity.

    Args:
        rate: Fraction of the inputs to drop, in [0, 1).
        noise_shape: Optional shape of the binary mask, broadcast over the input
            (None entries take the input's size), e.g. `(batch, 1, features)` to
            drop the same features at every step. Defaults to `None`.
        seed: Accepted for Keras compatibility; use `lamina.set_seed` for repeatable
            runs (as `Dropout`). Defaults to `None`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.AlphaDropout(0.2)
        >>> bool((layer(torch.ones(3, 4), training=False) == 1).all())  # inference: identity
        True
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate = _dropout_rate("AlphaDropout", rate)
        if noise_shape is not None and not (
            isinstance(noise_shape, (list, tuple))
            and all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in noise_shape)
        ):
            raise ValueError(
                "`AlphaDropout` expects `noise_shape` to be None or a tuple of positive integers "
                f"or None entries. Received: noise_shape={noise_shape!r}."
            )
        self.noise_shape = None if noise_shape is None else list(noise_shape)
        self.seed = seed

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training is None:
            training = self.training
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is None:
            shape = list(inputs.shape)
        else:
            if len(self.noise_shape) != inputs.ndim:
                raise ValueError(
                    f"Layer '{self.name}' (AlphaDropout) has noise_shape={self.noise_shape}, which "
                    f"needs inputs of rank {len(self.noise_shape)}. Received input with shape "
                    f"{tuple(inputs.shape)}."
                )
            shape = [inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape)]
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        keep = torch.empty(shape, device=inputs.device, dtype=inputs.dtype).bernoulli_(1 - self.rate)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = inputs * keep + alpha_p * (1 - keep)
        return a * x + b

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config


class ActivityRegularization(Layer):
    """Adds `l1 * sum(|x|) + l2 * sum(x ** 2)` of its input, divided by the batch
    size, to the training loss (with `Layer.add_loss`); passes the input on unchanged.

    The division by the batch size follows `Dense(activity_regularizer=...)`, so the
    penalty does not grow with the batch size.

    Args:
        l1: L1 factor (a number >= 0). Defaults to `0.0`.
        l2: L2 factor (a number >= 0). Defaults to `0.0`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.ActivityRegularization(l1=0.01)
        >>> layer(torch.ones(2, 3)).shape
        torch.Size([2, 3])
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.l1 = validation.number("ActivityRegularization", "l1", l1, low=0.0)
        self.l2 = validation.number("ActivityRegularization", "l2", l2, low=0.0)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if self.l1 or self.l2:
            x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
            penalty = x.new_zeros(())
            if self.l1:
                penalty = penalty + self.l1 * x.abs().sum()
            if self.l2:
                penalty = penalty + self.l2 * x.square().sum()
            self.add_loss(penalty / x.shape[0])
        return inputs

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(l1=self.l1, l2=self.l2)
        return config
