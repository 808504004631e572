"""Weight initializers, with Keras names and defaults, for PyTorch-layout tensors.

An initializer fills a tensor in place and returns it. Fan-in and fan-out
follow PyTorch's layout, ``(out_features, in_features, *kernel_size)``, so a
``Dense`` weight stored torch-style as ``(units, in_features)`` gets the same
distribution as the Keras kernel ``(in_features, units)``.

Random initializers take ``seed``: with a seed, every call draws the same
values from its own ``torch.Generator``; with ``seed=None`` they draw from the
global RNG, so ``torch.manual_seed`` (or ``lamina.set_seed``) controls them.

Example:

>>> import torch
>>> from lamina import initializers
>>> w = initializers.get("glorot_uniform")(torch.empty(64, 32))
>>> tuple(w.shape)
(64, 32)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from lamina.utils import serialization, validation

__all__ = [
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "Identity",
    "compute_fans",
    "get",
    "serialize",
    "deserialize",
]

# Standard deviation of the standard normal truncated to [-2, 2].
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Returns ``(fan_in, fan_out)`` for a PyTorch-layout weight shape.

    For ``(out, in, *kernel)``: ``fan_in = in * prod(kernel)`` and
    ``fan_out = out * prod(kernel)``, as ``torch.nn.init`` computes them. A
    1-D shape ``(n,)`` gives ``(n, n)`` and a scalar gives ``(1, 1)``, as Keras.

    Args:
        shape: The tensor shape.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


class Initializer:
    """Base class of initializers.

    Subclasses implement ``fill_(tensor)``, which writes the values in place;
    ``__call__`` runs it under ``torch.no_grad()``. ``get_config()`` returns
    the constructor arguments and ``from_config(config)`` rebuilds an equal
    initializer.
    """

    def __call__(
        self, shape: torch.Tensor | Sequence[int], dtype: Any = None
    ) -> torch.Tensor:
        """Fills a tensor in place and returns it, or returns a new one of a shape.

        Args:
            shape: The tensor to fill (PyTorch layout), or a shape, for which a
                new tensor is created as Keras' ``initializer(shape, dtype)``
                does: the shape is in Keras's layout (a dense kernel
                ``(in, out)``, a convolution kernel ``(kh, kw, in, out)``), so
                fan-based initializers use Keras's fans.
            dtype: The dtype of the new tensor when a shape is given, a torch
                dtype or a name such as ``"float32"``. Defaults to `None`
                (torch's default dtype).
        """
        if isinstance(shape, torch.Tensor):
            with torch.no_grad():
                self.fill_(shape)
            return shape
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, (tuple, list, torch.Size)):
            raise TypeError(
                f"`{type(self).__name__}` expects a tensor to fill or a shape. "
                f"Received: shape={shape!r}."
            )
        shape = tuple(int(s) for s in shape)
        if isinstance(dtype, str):
            from lamina.ops.core import to_torch_dtype

            dtype = to_torch_dtype(dtype)
        if len(shape) < 2:
            return self(torch.empty(shape, dtype=dtype))
        # Keras's layout `(*kernel, in, out)`: fill the PyTorch-layout twin
        # `(out, in, *kernel)`, whose fans are Keras's, then lay it out as Keras does.
        twin = self(torch.empty((shape[-1], shape[-2], *shape[:-2]), dtype=dtype))
        return twin.permute(*range(2, len(shape)), 1, 0).contiguous()

    def fill_(self, tensor: torch.Tensor) -> None:
        raise NotImplementedError(f"`{type(self).__name__}` must implement `fill_(tensor)`.")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        """Rebuilds an initializer from the output of ``get_config()``."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RandomInitializer(Initializer):
    """An initializer that draws random numbers, reproducibly when seeded."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None:
            validation.non_negative_int(type(self).__name__, "seed", seed)
        self.seed = seed

    def _generator(self, tensor: torch.Tensor) -> torch.Generator | None:
        if self.seed is None or tensor.device.type == "meta":
            return None  # a meta tensor (a size-only model, see lamina.saving.preflight) holds no values
        return torch.Generator(device=tensor.device).manual_seed(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class Zeros(Initializer):
    """Fills with 0."""

    def fill_(self, tensor: torch.Tensor) -> None:
        tensor.zero_()


class Ones(Initializer):
    """Fills with 1."""

    def fill_(self, tensor: torch.Tensor) -> None:
        tensor.fill_(1.0)


class Constant(Initializer):
    """Fills with a constant.

    Args:
        value: The value. Defaults to `0.0`.
    """

    def __init__(self, value: float = 0.0) -> None:
        self.value = validation.number("Constant", "value", value)

    def fill_(self, tensor: torch.Tensor) -> None:
        tensor.fill_(self.value)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class RandomNormal(_RandomInitializer):
    """Draws from a normal distribution.

    Args:
        mean: The mean. Defaults to `0.0`.
        stddev: The standard deviation. Defaults to `0.05`.
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean = validation.number(type(self).__name__, "mean", mean)
        self.stddev = validation.number(type(self).__name__, "stddev", stddev, low=0.0)

    def fill_(self, tensor: torch.Tensor) -> None:
        torch.nn.init.normal_(tensor, self.mean, self.stddev, generator=self._generator(tensor))

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Draws from a normal distribution truncated to ``mean +- 2 * stddev``.

    Args:
        mean: The mean before truncation. Defaults to `0.0`.
        stddev: The standard deviation before truncation. Defaults to `0.05`.
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    def fill_(self, tensor: torch.Tensor) -> None:
        lo, hi = self.mean - 2 * self.stddev, self.mean + 2 * self.stddev
        torch.nn.init.trunc_normal_(
            tensor, self.mean, self.stddev, lo, hi, generator=self._generator(tensor)
        )


class RandomUniform(_RandomInitializer):
    """Draws from a uniform distribution on ``[minval, maxval)``.

    Args:
        minval: Lower bound. Defaults to `-0.05`.
        maxval: Upper bound. Defaults to `0.05`.
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.minval = validation.number("RandomUniform", "minval", minval)
        self.maxval = validation.number("RandomUniform", "maxval", maxval, low=minval)

    def fill_(self, tensor: torch.Tensor) -> None:
        torch.nn.init.uniform_(tensor, self.minval, self.maxval, generator=self._generator(tensor))

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(_RandomInitializer):
    """Draws with a variance scaled to the tensor's fans.

    With ``n`` the fan chosen by ``mode`` (``fan_avg`` is the mean of fan-in
    and fan-out), the target variance is ``scale / n``: ``uniform`` draws on
    ``[-limit, limit]`` with ``limit = sqrt(3 * scale / n)``,
    ``truncated_normal`` draws a normal truncated at two standard deviations
    and rescaled to that variance, ``untruncated_normal`` a plain normal.

    Args:
        scale: Scaling factor, positive. Defaults to `1.0`.
        mode: One of ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``. Defaults to `"fan_in"`.
        distribution: One of ``"truncated_normal"``, ``"untruncated_normal"``,
            ``"uniform"``. Defaults to `"truncated_normal"`.
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        owner = type(self).__name__
        self.scale = validation.number(owner, "scale", scale, low=0.0, low_inclusive=False)
        self.mode = validation.one_of(owner, "mode", mode, ("fan_in", "fan_out", "fan_avg"))
        self.distribution = validation.one_of(
            owner,
            "distribution",
            distribution,
            ("truncated_normal", "untruncated_normal", "uniform"),
        )

    def fill_(self, tensor: torch.Tensor) -> None:
        fan_in, fan_out = compute_fans(tensor.shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        generator = self._generator(tensor)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            torch.nn.init.uniform_(tensor, -limit, limit, generator=generator)
        elif self.distribution == "untruncated_normal":
            torch.nn.init.normal_(tensor, 0.0, math.sqrt(variance), generator=generator)
        else:
            stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
            torch.nn.init.trunc_normal_(
                tensor, 0.0, stddev, -2 * stddev, 2 * stddev, generator=generator
            )

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


class _FixedVarianceScaling(VarianceScaling):
    """A named variance scaling whose only argument is ``seed``."""

    _scale = 1.0
    _mode = "fan_in"
    _distribution = "truncated_normal"

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(self._scale, self._mode, self._distribution, seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    The default initializer for kernels.

    Args:
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    _mode, _distribution = "fan_avg", "uniform"


class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``.

    Args:
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    _mode = "fan_avg"


class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal with ``stddev = sqrt(2 / fan_in)``.

    Args:
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    _scale = 2.0


class HeUniform(_FixedVarianceScaling):
    """He uniform: ``U(-limit, limit)``, ``limit = sqrt(6 / fan_in)``.

    Args:
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    _scale, _distribution = 2.0, "uniform"


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with ``stddev = sqrt(1 / fan_in)``.

    Args:
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: ``U(-limit, limit)``, ``limit = sqrt(3 / fan_in)``.

    Args:
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    _distribution = "uniform"


class Orthogonal(_RandomInitializer):
    """Fills with a (semi-)orthogonal matrix, scaled by ``gain``.

    The tensor is viewed as ``(shape[0], prod(shape[1:]))`` (PyTorch's
    layout); its rows or columns, whichever are fewer, are orthonormal.

    Args:
        gain: Multiplicative factor. Defaults to `1.0`.
        seed: Seed for reproducible values, or None for the global RNG.
            Defaults to `None`.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = validation.number("Orthogonal", "gain", gain)

    def fill_(self, tensor: torch.Tensor) -> None:
        if tensor.dim() < 2:
            raise ValueError(
                "`Orthogonal` expects a tensor with at least 2 dimensions. "
                f"Received: shape={tuple(tensor.shape)}."
            )
        torch.nn.init.orthogonal_(tensor, self.gain, generator=self._generator(tensor))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """Fills a 2-D tensor with ``gain`` times the identity matrix.

    Args:
        gain: Multiplicative factor. Defaults to `1.0`.
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = validation.number("Identity", "gain", gain)

    def fill_(self, tensor: torch.Tensor) -> None:
        if tensor.dim() != 2:
            raise ValueError(
                "`Identity` expects a 2-D tensor. "
                f"Received: shape={tuple(tensor.shape)}. Use `Orthogonal` for other shapes."
            )
        torch.nn.init.eye_(tensor)
        tensor.mul_(self.gain)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


def serialize(initializer: Initializer | None) -> dict[str, Any] | None:
    """Returns the Keras config of an initializer (see `lamina.saving.serialize_keras_object`).

    Args:
        initializer: An ``Initializer`` instance (None gives None).
    """
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer):
        raise ValueError(
            f"Cannot serialize the initializer {initializer!r}: only `Initializer` "
            "instances can be saved. Subclass `lamina.initializers.Initializer` "
            "(implementing `fill_` and `get_config`) and register it as a custom "
            "object, or use a built-in name."
        )
    return serialization.class_config(initializer)


def deserialize(
    config: dict[str, Any], custom_objects: dict[str, type] | None = None
) -> Initializer:
    """Rebuilds an initializer from the output of ``serialize``.

    Args:
        config: A dict ``{"class_name": ..., "config": ...}``; ``class_name``
            may be a class name (``"GlorotUniform"``) or a built-in name
            (``"glorot_uniform"``).
        custom_objects: Extra initializer classes by class name. Defaults to `None`.
    """
    return serialization.deserialize(
        config, family="initializer", kind="initializer", custom_objects=custom_objects
    )


def get(identifier: Any) -> Callable[..., torch.Tensor] | None:
    """Resolves an initializer identifier.

    Args:
        identifier: None (returned as is), a name such as ``"he_normal"`` or a
            class name such as ``"HeNormal"``, an ``Initializer`` instance or
            class, a ``serialize`` dict, or a callable that fills a tensor in
            place (such as ``torch.nn.init.xavier_uniform_``).
    """
    if identifier is None:
        return None
    found = serialization.get(identifier, family="initializer", kind="initializer", base=Initializer)
    if found is not NotImplemented:
        return found
    if callable(identifier):
        return identifier
    raise ValueError(
        "Expected an initializer to be a name (such as 'glorot_uniform'), an "
        f"`Initializer`, a config dict or a callable. Received: initializer={identifier!r}."
    )
