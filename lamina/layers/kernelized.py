"""Kernel approximation layers: `RandomFourierFeatures` (Keras 2's experimental layer)."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import initializers
from lamina.layers.layer import Layer
from lamina.utils import validation

_DEFAULT_INITIALIZERS = ("gaussian", "laplacian")


def _cauchy(shape: Any, dtype: Any = None) -> torch.Tensor:
    """Standard Cauchy samples (the spectral density of the Laplacian kernel)."""
    uniform = torch.rand(tuple(shape), dtype=torch.float64)
    return torch.tan(math.pi * (uniform - 0.5)).to(torch.float32)


class RandomFourierFeatures(Layer):
    """Maps its input to random Fourier features that approximate a shift-invariant kernel.

    The layer computes `sqrt(2 / output_dim) * cos(x @ W / scale + b)`, with `W`
    drawn from the kernel's spectral density and `b` uniform on `[0, 2 pi)`
    (Rahimi and Recht, 2007), so that dot products of the outputs approximate
    `k(x, y)`. `"gaussian"` approximates `exp(-|x - y|^2 / (2 scale^2))` (`W`
    standard normal), `"laplacian"` approximates `exp(-|x - y|_1 / scale)` (`W`
    standard Cauchy). A linear model on top is then a kernel machine: with a
    hinge loss, an approximate kernel SVM.

    `W` and `b` are never trained. `scale` is stored as the weight `kernel_scale`,
    trained only when the layer is built with `trainable=True` (Keras's default
    is `False`).

    Args:
        output_dim: Number of random features (positive integer).
        kernel_initializer: `"gaussian"`, `"laplacian"`, or an initializer for
            `W` (shape `(input_dim, output_dim)`). Defaults to `"gaussian"`.
        scale: Kernel width, positive. Defaults to `None`: `sqrt(input_dim / 2)`
            for `"gaussian"`, `1.0` otherwise.
        trainable: Whether `kernel_scale` is trained. Defaults to `False`.

    Input shape: `(batch, input_dim)`. Output shape: `(batch, output_dim)`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.RandomFourierFeatures(output_dim=16, scale=2.0)
        >>> tuple(layer(torch.ones(4, 3)).shape)
        (4, 16)
    """

    def __init__(
        self,
        output_dim: int,
        kernel_initializer: Any = "gaussian",
        scale: float | None = None,
        trainable: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(trainable=trainable, name=name, **kwargs)
        owner = "RandomFourierFeatures"
        self.output_dim = validation.positive_int(owner, "output_dim", output_dim)
        if isinstance(kernel_initializer, str) and kernel_initializer not in _DEFAULT_INITIALIZERS:
            raise ValueError(
                f"`{owner}` expects `kernel_initializer` to be 'gaussian', 'laplacian' or an "
                f"initializer. Received: kernel_initializer={kernel_initializer!r}."
            )
        self.kernel_initializer = kernel_initializer
        if scale is not None:
            scale = validation.number(owner, "scale", scale, low=0.0, low_inclusive=False)
        self.scale = scale

    def _initializer(self) -> Any:
        if self.kernel_initializer == "gaussian":
            return initializers.RandomNormal(stddev=1.0)
        if self.kernel_initializer == "laplacian":
            return _cauchy
        return initializers.get(self.kernel_initializer)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 2:
            raise ValueError(
                f"Layer '{self.name}' (RandomFourierFeatures) expects a 2-D input "
                f"(batch, input_dim). Received input with shape {tuple(input_shape)}."
            )
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (RandomFourierFeatures) needs a known last dimension. "
                f"Received input with shape {tuple(input_shape)}."
            )
        self.unscaled_kernel = self.add_weight(
            name="unscaled_kernel", shape=(input_dim, self.output_dim),
            initializer=self._initializer(), trainable=False,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.output_dim,),
            initializer=initializers.RandomUniform(0.0, 2 * math.pi), trainable=False,
        )
        if self.scale is None:
            self.scale = math.sqrt(input_dim / 2.0) if self.kernel_initializer == "gaussian" else 1.0
        self.kernel_scale = self.add_weight(
            name="kernel_scale", shape=(1,), initializer=initializers.Constant(self.scale),
            trainable=True, constraint="non_neg",
        )
        self._expected_last_dim = input_dim

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self.unscaled_kernel.dtype)
        kernel = self.unscaled_kernel / self.kernel_scale
        outputs = torch.matmul(inputs, kernel) + self.bias
        return torch.cos(outputs) * math.sqrt(2.0 / self.output_dim)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (*tuple(input_shape)[:-1], self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        kernel_initializer = self.kernel_initializer
        if not isinstance(kernel_initializer, str):
            kernel_initializer = initializers.serialize(initializers.get(kernel_initializer))
        config.update(output_dim=self.output_dim, kernel_initializer=kernel_initializer, scale=self.scale)
        return config
