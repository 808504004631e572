"""Shared pieces of the preprocessing layers: input conversion, the symbolic
output spec, the vectorised stable integer hash, and device placement."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.layers.layer import Layer
from lamina.layers.preprocessing import stable_hash


def _signed(u: int) -> int:
    """An unsigned 64-bit constant as the int64 value with the same bits."""
    return u - (1 << 64) if u >= 1 << 63 else u


def _shr(z: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 bits (torch's `>>` is arithmetic)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


def hash_int_tensor(x: torch.Tensor, salt: int | Sequence[int] | None = None) -> torch.Tensor:
    """`stable_hash.hash_int` on every element of an integer tensor (int64, >= 0)."""
    z = x.long() ^ _signed(stable_hash.int_key(salt))
    z = z + _signed(stable_hash.GOLDEN)
    z = (z ^ _shr(z, 30)) * _signed(stable_hash.MIX1)
    z = (z ^ _shr(z, 27)) * _signed(stable_hash.MIX2)
    z = z ^ _shr(z, 31)
    return _shr(z, 1)


def string_array(inputs: Any, owner: str) -> np.ndarray:
    """Inputs given as text (str, list/tuple of str, NumPy array of str or bytes)
    as a NumPy array of Python strings; raises for anything else.

    A zero batch that Lamina makes to infer shapes (a model built from a saved
    input shape does not know its input is text) stands for empty strings."""
    from lamina.layers.symbolic import _TextPlaceholder

    if isinstance(inputs, _TextPlaceholder) or (
        isinstance(inputs, torch.Tensor) and getattr(inputs, "_lamina_placeholder", False)
    ):
        # Stays a `_TextPlaceholder`, so lookups know no real token is in it.
        return np.full(tuple(inputs.shape), "", dtype=object).view(_TextPlaceholder)
    if isinstance(inputs, str):
        raise TypeError(
            f"`{owner}` expects a batch of strings, e.g. a list or a NumPy array of str. "
            f"Received: a single string {inputs!r}. Wrap it in a list: [{inputs!r}]."
        )
    arr = np.asarray(inputs) if isinstance(inputs, np.ndarray) else np.asarray(inputs, dtype=object)
    if arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8")
    if arr.dtype.kind == "U":
        return arr.astype(object)
    if arr.dtype == object and all(isinstance(v, str) for v in arr.flat):
        return arr
    kind = type(inputs).__name__ if not isinstance(inputs, np.ndarray) else f"array of dtype {arr.dtype}"
    raise TypeError(
        f"`{owner}` expects strings (a list or a NumPy array of str). Received: {kind}. "
        "Pass the raw text, or use `IntegerLookup` / `CategoryEncoding` for integer ids."
    )


def is_text(inputs: Any) -> bool:
    """Whether ``inputs`` holds strings rather than numbers."""
    if isinstance(inputs, torch.Tensor):
        return False
    if isinstance(inputs, str):
        return True
    if isinstance(inputs, np.ndarray):
        return inputs.dtype.kind in "US" or (
            inputs.dtype == object and inputs.size > 0 and isinstance(inputs.flat[0], str)
        )
    flat = inputs
    while isinstance(flat, (list, tuple)) and flat:
        flat = flat[0]
    return isinstance(flat, (str, bytes))


def int_tensor(inputs: Any, owner: str, device: torch.device | None = None) -> torch.Tensor:
    """Integer inputs (tensor, NumPy array or list) as an int64 tensor."""
    t = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs), device=device)
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise TypeError(
            f"`{owner}` expects integer inputs. Received: a tensor of dtype "
            f"{str(t.dtype).replace('torch.', '')}. Cast the data to integers first, or use "
            "`Discretization` to bucket real values."
        )
    return t.long()


def json_value(value: Any) -> Any:
    """NumPy arrays / tensors / tuples as (nested) lists and NumPy scalars as Python
    numbers, so configs are JSON-able."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def check_factor_pair(owner: str, name: str, value: Any) -> tuple[float, float]:
    """A number, or a pair of numbers, as `(lower, upper)` (a number ``f`` gives
    `(-f, f)`); raises the house error for anything else."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (-float(value), float(value))
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    ):
        return (float(value[0]), float(value[1]))
    raise ValueError(
        f"`{owner}` expects `{name}` to be a number or a tuple of two numbers (lower, upper). "
        f"Received: {name}={value!r}."
    )


class PreprocessingLayer(Layer):
    """Base of the preprocessing layers: converts non-tensor inputs (lists, NumPy
    arrays, text) before the usual build/call path, reports its output spec to a
    symbolic call without running, and keeps a weightless buffer that follows
    `model.to(device)` so outputs made from text land on the model's device."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.register_buffer("_device_anchor", torch.zeros(0, dtype=torch.int64), persistent=False)

    @property
    def _device(self) -> torch.device:
        return self._device_anchor.device

    def _convert_inputs(self, inputs: Any) -> Any:
        """Turns the inputs into what `call` expects (a tensor or a NumPy str array)."""
        return inputs

    def forward(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        out = super().forward(self._convert_inputs(inputs), *args, **kwargs)
        if getattr(inputs, "_lamina_placeholder", False) and isinstance(out, torch.Tensor):
            out._lamina_placeholder = True  # a chain of preprocessing layers passes it on
        return out

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        """`(shape, dtype)` of the output for an input of ``input_shape``."""
        raise NotImplementedError

    def compute_output_spec(self, inputs: Any, **kwargs: Any) -> Any:
        """The output's `(shape, dtype)` on a symbolic input (no zero-batch run)."""
        shape = tuple(inputs.shape)
        if not self.built:
            self.build_from_shape(shape)
        return self._output_spec(shape, inputs.dtype)

