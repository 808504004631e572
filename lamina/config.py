"""`lamina.config`: Keras 3's global configuration functions (`keras.config`).

Lamina always runs on PyTorch, so `backend()` is `"torch"`; the default float
type is torch's default dtype.

Example:
    >>> import lamina
    >>> lamina.config.backend()
    'torch'
"""

from __future__ import annotations

import torch

from lamina.utils import validation

_EPSILON = [1e-7]
_FLOATX = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
_IMAGE_DATA_FORMAT = ["channels_last"]


def backend() -> str:
    """The name of the engine: always `"torch"`."""
    return "torch"


def floatx() -> str:
    """The default float type, as a string (`"float32"` unless changed with `set_floatx`)."""
    dtype = torch.get_default_dtype()
    return next(name for name, d in _FLOATX.items() if d == dtype)


def set_floatx(value: str) -> None:
    """Sets the default float type of new weights and tensors (torch's default dtype).

    Args:
        value: One of `"float16"`, `"bfloat16"`, `"float32"`, `"float64"`.
    """
    name = validation.one_of("set_floatx", "value", value, tuple(_FLOATX))
    torch.set_default_dtype(_FLOATX[name])


def epsilon() -> float:
    """The fuzz factor used by Keras-style numeric code. Defaults to `1e-7`."""
    return _EPSILON[0]


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor returned by `epsilon()`."""
    _EPSILON[0] = validation.number("set_epsilon", "value", value, low=0.0, low_inclusive=False)


def image_data_format() -> str:
    """Lamina's image layout at the API: always `"channels_last"`."""
    return _IMAGE_DATA_FORMAT[0]


def set_image_data_format(data_format: str) -> None:
    """Only `"channels_last"` is supported: Lamina's image layers take channels-last data."""
    validation.one_of("set_image_data_format", "data_format", data_format, ("channels_last",))


def enable_unsafe_deserialization() -> None:
    """Refused: Lamina never executes code from a file, so there is nothing to enable."""
    raise ValueError(
        "Lamina never deserializes code (Keras `Lambda` layers with bytecode, pickled objects), so "
        "`enable_unsafe_deserialization()` is not available. Register the custom classes and functions "
        "with `lamina.saving.register_keras_serializable()` and pass `custom_objects=` instead."
    )


__all__ = [
    "backend",
    "enable_unsafe_deserialization",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]
