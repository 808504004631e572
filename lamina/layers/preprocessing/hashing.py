"""`Hashing`: strings or integers to a fixed number of bins by a stable hash."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing import stable_hash
from lamina.layers.preprocessing.base import (
    PreprocessingLayer,
    hash_int_tensor,
    int_tensor,
    is_text,
    json_value,
    string_array,
)
from lamina.layers.preprocessing.category_encoding import (
    ENCODING_MODES,
    encode_categorical,
    encoded_shape,
)
from lamina.utils import validation


class Hashing(PreprocessingLayer):
    """Hashes strings or integers into `num_bins` bins, the same on every run.

    The bin is `h % num_bins` for a stable 63-bit hash `h` (see
    `lamina.layers.preprocessing.stable_hash`): BLAKE2b of the UTF-8 bytes for
    strings (the salt is its key), SplitMix64 for integers (computed on the
    tensor's device). Unlike Python's `hash()` it does not change between
    processes; it differs from Keras's FarmHash, so bins do not match Keras's.
    Integers are hashed as integers, not as their decimal strings.

    Args:
        num_bins: Number of bins (with `mask_value`, bin 0 is kept for the mask).
        mask_value: Optional value (a string or an integer) mapped to bin 0; the
            other values go to bins 1..num_bins-1. Defaults to `None`.
        salt: Optional integer, or pair of integers, that changes the hash.
            Defaults to `None`.
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"` or `"count"`. Defaults to `"int"`.

    Input shape: strings (list or NumPy array) or integers (tensor, array,
    list), `(batch,)` or `(batch, n)`. Output shape: int64 ids of the input's
    shape for `"int"`, else as `CategoryEncoding` with `num_tokens=num_bins`.

    Example:
        >>> import lamina
        >>> layer = lamina.layers.Hashing(num_bins=3)
        >>> out = layer(["cat", "dog", "cat"])
        >>> bool(out[0] == out[2]), bool(((out >= 0) & (out < 3)).all())
        (True, True)
    """

    def __init__(
        self,
        num_bins: int,
        mask_value: Any = None,
        salt: int | tuple[int, int] | None = None,
        output_mode: str = "int",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "Hashing"
        self.num_bins = validation.positive_int(owner, "num_bins", num_bins)
        if mask_value is not None and (
            isinstance(mask_value, bool) or not isinstance(mask_value, (str, numbers.Integral))
        ):
            raise ValueError(
                f"`{owner}` expects `mask_value` to be a string, an integer or None. "
                f"Received: mask_value={mask_value!r}."
            )
        if mask_value is not None and num_bins < 2:
            raise ValueError(
                f"`{owner}` with a `mask_value` needs num_bins >= 2 (bin 0 is the mask). "
                f"Received: num_bins={num_bins}."
            )
        salt_ok = salt is None or (isinstance(salt, numbers.Integral) and not isinstance(salt, bool)) or (
            isinstance(salt, (tuple, list))
            and len(salt) == 2
            and all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in salt)
        )
        if not salt_ok:
            raise ValueError(
                f"`{owner}` expects `salt` to be None, an integer or a pair of integers. "
                f"Received: salt={salt!r}."
            )
        self.mask_value = mask_value
        self.salt = salt
        self.output_mode = validation.one_of(owner, "output_mode", output_mode, ("int", *ENCODING_MODES))

    def _convert_inputs(self, inputs: Any) -> Any:
        if is_text(inputs):
            return string_array(inputs, "Hashing")
        return int_tensor(inputs, "Hashing", self._device)

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        if self.output_mode == "int":
            return tuple(input_shape), torch.int64
        return encoded_shape("Hashing", input_shape, self.output_mode, self.num_bins), torch.float32

    def _bins_of_text(self, arr: np.ndarray) -> torch.Tensor:
        flat = arr.reshape(-1)
        masked = self.mask_value is not None
        n = self.num_bins - 1 if masked else self.num_bins
        hashes = np.fromiter(
            (stable_hash.hash_string(t, self.salt) % n for t in flat), dtype=np.int64, count=flat.size
        )
        if masked:
            hashes = np.where(flat == self.mask_value, 0, hashes + 1)
        return torch.from_numpy(hashes.reshape(arr.shape)).to(self._device)

    def _bins_of_ints(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask_value is None:
            return hash_int_tensor(x, self.salt) % self.num_bins
        bins = hash_int_tensor(x, self.salt) % (self.num_bins - 1) + 1
        return torch.where(x == self.mask_value, 0, bins)

    def call(self, inputs: Any, training: bool | None = None) -> torch.Tensor:
        if self.output_mode != "int":
            encoded_shape("Hashing", (None, *inputs.shape[1:]), self.output_mode, self.num_bins)
        if isinstance(inputs, np.ndarray):
            ids = self._bins_of_text(inputs)
        else:
            ids = self._bins_of_ints(inputs)
        if self.output_mode == "int":
            return ids
        return encode_categorical(ids, self.output_mode, self.num_bins)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_bins=self.num_bins,
            mask_value=json_value(self.mask_value),
            salt=json_value(self.salt),
            output_mode=self.output_mode,
        )
        return config
