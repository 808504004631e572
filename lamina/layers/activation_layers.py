"""Activation layers with arguments: `ReLU`, `LeakyReLU`, `PReLU`, `ELU`, `Softmax`.

Each computes with the functions of `lamina.activations` (PyTorch underneath).
`Activation("relu")` covers the argument-free case; these layers carry the
Keras options (a saturation value, a slope, a learned slope, a softmax axis
and mask) and serialise them with `get_config`.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import torch

from lamina import activations, initializers, regularizers
from lamina.layers import conv_utils
from lamina.layers.layer import ANY_RANK, Layer
from lamina.utils import validation


def _finite_number(owner: str, name: str, value: Any, *, low: float | None = None, allow_none: bool = False) -> Any:
    return validation.number(owner, name, value, low=low, allow_none=allow_none)


class _Elementwise(Layer):
    """An activation that acts on each value alone (any rank, any layout)."""

    def _channels_first_rank(self) -> int | None:
        return ANY_RANK

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return self.call(x)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)


class ReLU(_Elementwise):
    """Rectified linear unit activation layer, with Keras's options.

    `f(x) = max_value` for `x >= max_value`, `x` for `threshold <= x < max_value`,
    and `negative_slope * (x - threshold)` otherwise.

    Args:
        max_value: Saturation value (a number >= 0), or None for none.
            Defaults to `None`.
        negative_slope: Slope below the threshold (a number >= 0). Defaults to `0.0`.
        threshold: Value below which the output is damped. Defaults to `0.0`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.ReLU(max_value=6.0)(torch.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """

    def __init__(
        self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.max_value = _finite_number("ReLU", "max_value", max_value, low=0.0, allow_none=True)
        self.negative_slope = _finite_number("ReLU", "negative_slope", negative_slope, low=0.0)
        self.threshold = _finite_number("ReLU", "threshold", threshold)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if self.negative_slope == 0.0:  # no -0.0 below the threshold
            out = torch.relu(inputs) if self.threshold == 0.0 else torch.where(
                inputs >= self.threshold, inputs, inputs.new_zeros(())
            )
            return out if self.max_value is None else out.clamp(max=self.max_value)
        return activations.relu(
            inputs, negative_slope=self.negative_slope, max_value=self.max_value, threshold=self.threshold
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope, threshold=self.threshold)
        return config


class LeakyReLU(_Elementwise):
    """Leaky rectified linear unit: `x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        negative_slope: Slope for negative inputs (a number >= 0). Keras 3's default
            is `0.3` (the `leaky_relu` function's is `0.2`). The Keras 2 name
            `alpha` is accepted with a deprecation warning, as Keras 3 does.
            Defaults to `0.3`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.LeakyReLU()(torch.tensor([-10.0, 5.0]))
        tensor([-3.,  5.])
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` of `LeakyReLU` is deprecated. Use `negative_slope` instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
        self.negative_slope = _finite_number("LeakyReLU", "negative_slope", negative_slope, low=0.0)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return torch.nn.functional.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(_Elementwise):
    """Exponential linear unit: `x` for `x > 0`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        alpha: Scale of the negative part. Defaults to `1.0`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.ELU()(torch.tensor([0.0, 2.0]))
        tensor([0., 2.])
    """

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = _finite_number("ELU", "alpha", alpha)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(Layer):
    """Parametric ReLU: `x` for `x >= 0`, `alpha * x` otherwise, with `alpha` learned.

    `alpha` has one value per input entry (the input shape without the batch
    axis), or one value shared along each axis of `shared_axes` (e.g.
    `shared_axes=[1, 2]` for images: one slope per channel, as
    `torch.nn.PReLU(channels)`).

    Args:
        alpha_initializer: Initializer of `alpha`. Defaults to `"zeros"`.
        alpha_regularizer: Optional penalty on `alpha`. Defaults to `None`.
        alpha_constraint: Must be None: Lamina has no weight constraints yet.
            Defaults to `None`.
        shared_axes: Axes (1-based, the batch axis is 0) along which `alpha` is
            shared, an int or a list of ints. Defaults to `None`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.PReLU(alpha_initializer="ones", shared_axes=[1, 2])
        >>> layer(torch.ones(2, 4, 4, 3)).shape, tuple(layer.alpha.shape)
        (torch.Size([2, 4, 4, 3]), (1, 1, 3))
    """

    def __init__(
        self,
        alpha_initializer: Any = "zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: int | list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise ValueError(
                "`PReLU` expects `alpha_constraint` to be None: Lamina has no weight constraints. "
                f"Received: alpha_constraint={alpha_constraint!r}. Remove the argument."
            )
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = None
        if shared_axes is None:
            axes: list[int] = []
        elif isinstance(shared_axes, numbers.Integral) and not isinstance(shared_axes, bool):
            axes = [int(shared_axes)]
        elif isinstance(shared_axes, (list, tuple)) and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in shared_axes
        ):
            axes = [int(a) for a in shared_axes]
        else:
            axes = [0]  # rejected below
        if any(a < 1 for a in axes):
            raise ValueError(
                "`PReLU` expects `shared_axes` to be None, an integer >= 1 or a list of them "
                f"(axis 0 is the batch axis). Received: shared_axes={shared_axes!r}."
            )
        self.shared_axes = None if shared_axes is None else axes
        self._shared = set(axes)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        if len(shape) < 2:
            raise ValueError(
                f"Layer '{self.name}' (PReLU) expects inputs with a batch axis and at least one "
                f"feature axis. Received input shape {shape}."
            )
        if any(a >= len(shape) for a in self._shared):
            raise ValueError(
                f"Layer '{self.name}' (PReLU) has shared_axes={self.shared_axes}, but its input "
                f"has only {len(shape)} axes (shape {shape}). Use axes between 1 and {len(shape) - 1}."
            )
        param_shape = []
        for axis, size in enumerate(shape[1:], start=1):
            if axis in self._shared:
                param_shape.append(1)
            elif size is None:
                raise ValueError(
                    f"Layer '{self.name}' (PReLU) needs a known size on axis {axis} to build "
                    f"`alpha`. Received input shape {shape}. Share `alpha` along that axis "
                    f"(shared_axes=[{axis}]) or give the input a fixed size."
                )
            else:
                param_shape.append(size)
        self.alpha = self.add_weight("alpha", tuple(param_shape), self.alpha_initializer, self.alpha_regularizer)
        if shape[-1] is not None and len(shape) - 1 not in self._shared:
            self._expected_last_dim = shape[-1]

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        alpha = self.alpha
        if inputs.ndim != alpha.ndim + 1 or any(
            a != 1 and a != n for a, n in zip(alpha.shape, inputs.shape[1:])
        ):
            raise ValueError(
                f"Layer '{self.name}' (PReLU) was built for inputs shaped (batch, "
                f"{', '.join(str(n) for n in alpha.shape)}) with `alpha` of shape {tuple(alpha.shape)}. "
                f"Received input with shape {tuple(inputs.shape)}. Pass data of the built shape, or "
                "share `alpha` along the axes that vary (`shared_axes`)."
            )
        return torch.where(inputs >= 0, inputs, alpha * inputs)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> tuple[tuple, torch.dtype]:
        """Builds `alpha` from the symbolic shape itself (free axes stay None)."""
        return conv_utils.output_spec(self, inputs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            alpha_initializer=initializers.serialize(self.alpha_initializer),
            alpha_regularizer=None if self.alpha_regularizer is None else regularizers.serialize(self.alpha_regularizer),
            alpha_constraint=None,
            shared_axes=self.shared_axes,
        )
        return config


class Softmax(Layer):
    """Softmax activation layer: `exp(x) / sum(exp(x))` along `axis`.

    With a `mask` (True or 1 to keep, False or 0 to mask; broadcastable to the
    input), masked entries get a large negative number (`-1e9`, `-3e4` in
    float16) added before the softmax, as in Keras, so they receive ~0 weight.

    Args:
        axis: Axis, or list of axes, along which to normalise. Defaults to `-1`.

    Call arguments:
        inputs: The logits.
        mask: Optional boolean mask broadcastable to `inputs`. Defaults to `None`.

    Input and output shape: the same, any.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Softmax()(torch.tensor([[1.0, 2.0, 1.0]]))
        tensor([[0.2119, 0.5761, 0.2119]])
    """

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        ok = isinstance(axis, numbers.Integral) and not isinstance(axis, bool)
        if isinstance(axis, (list, tuple)):
            ok = len(axis) > 0 and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis)
        if not ok:
            raise ValueError(f"`Softmax` expects `axis` to be an integer or a list of integers. Received: axis={axis!r}.")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)

    def call(self, inputs: torch.Tensor, mask: Any = None, training: bool | None = None) -> torch.Tensor:
        x = inputs if inputs.is_floating_point() else inputs.to(torch.get_default_dtype())
        if mask is not None:
            mask = torch.as_tensor(mask, device=x.device)
            try:
                shape = torch.broadcast_shapes(tuple(mask.shape), tuple(x.shape))
            except RuntimeError:
                shape = None
            if shape != tuple(x.shape):
                raise ValueError(
                    f"Layer '{self.name}' (Softmax) expects a `mask` broadcastable to its input "
                    f"shape {tuple(x.shape)}. Received: mask with shape {tuple(mask.shape)}."
                )
            big = -3e4 if x.dtype == torch.float16 else -1e9
            x = x + (1.0 - mask.to(x.dtype)) * big
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if len(axes) == 1:
            return activations.softmax(x, axis=axes[0])
        return torch.exp(x - torch.logsumexp(x, dim=axes, keepdim=True))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config
