"""`Discretization`: buckets real values by bin boundaries (given, or quantiles from `adapt`)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing.base import PreprocessingLayer, json_value
from lamina.layers.preprocessing.category_encoding import (
    ENCODING_MODES,
    encode_categorical,
    encoded_shape,
)
from lamina.utils import validation


class Discretization(PreprocessingLayer):
    """Buckets real values: bin `i` holds `bin_boundaries[i-1] <= x < bin_boundaries[i]`.

    With boundaries `[0., 1., 2.]`, -1.5 falls in bin 0, 0.5 in bin 1, 1.0 in
    bin 2 and 3.4 in bin 3 (`torch.bucketize(x, boundaries, right=True)`).

    Args:
        bin_boundaries: Sorted list of boundaries (`len(bin_boundaries) + 1` bins).
            Defaults to `None` (learn them with `adapt`).
        num_bins: Number of bins to learn with `adapt`: the boundaries are the
            exact quantiles `k / num_bins`, k = 1..num_bins-1, of the data (NumPy's
            linear interpolation; Keras uses an approximate summary). Defaults to `None`.
        output_mode: `"int"` (the bin index), `"one_hot"`, `"multi_hot"` or `"count"`.
            Defaults to `"int"`.

    Input shape: any, real values. Output shape: int64 of the same shape for
    `"int"`, else as `CategoryEncoding` with `num_tokens` = number of bins.

    The boundaries (given or learned) are part of `get_config()`.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> layer(torch.tensor([[-1.5, 1.0, 3.4, 0.5]])).tolist()
        [[0, 2, 3, 1]]
    """

    def __init__(
        self,
        bin_boundaries: list[float] | None = None,
        num_bins: int | None = None,
        output_mode: str = "int",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "Discretization"
        validation.positive_int(owner, "num_bins", num_bins, allow_none=True)
        if bin_boundaries is not None:
            values = json_value(bin_boundaries)
            if not isinstance(values, list) or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values
            ) or any(b < a for a, b in zip(values, values[1:])):
                raise ValueError(
                    f"`{owner}` expects `bin_boundaries` to be a sorted list of numbers. "
                    f"Received: bin_boundaries={bin_boundaries!r}."
                )
            if num_bins is not None and len(values) != num_bins - 1:
                raise ValueError(
                    f"`{owner}` expects `num_bins` to be len(bin_boundaries) + 1 when both are given. "
                    f"Received: num_bins={num_bins} and {len(values)} bin_boundaries."
                )
        elif num_bins is None:
            raise ValueError(
                f"`{owner}` needs `bin_boundaries`, or `num_bins` to learn them with adapt. "
                "Received: bin_boundaries=None and num_bins=None."
            )
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.output_mode = validation.one_of(owner, "output_mode", output_mode, ("int", *ENCODING_MODES))
        self._tables: dict[Any, torch.Tensor] = {}

    def _bins(self) -> int:
        if self.bin_boundaries is None:
            return int(self.num_bins)
        return len(self.bin_boundaries) + 1

    def adapt(self, data: Any) -> None:
        """Sets the boundaries to the quantiles `k / num_bins` of ``data`` (all values).

        Args:
            data: Real values: a NumPy array, tensor or list (any shape).
        """
        if self.num_bins is None:
            raise ValueError(
                "`Discretization.adapt` needs `num_bins`; this layer was given fixed `bin_boundaries`. "
                f"Received: num_bins=None, bin_boundaries={self.bin_boundaries!r}."
            )
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        values = np.asarray(data, dtype=np.float64).reshape(-1)
        if values.size == 0:
            raise ValueError("`Discretization.adapt` received no values. Pass a non-empty array.")
        levels = np.arange(1, self.num_bins) / self.num_bins
        self.bin_boundaries = [float(v) for v in np.quantile(values, levels)]
        self._tables = {}

    def _boundaries(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.device, x.dtype)
        if key not in self._tables:
            self._tables[key] = torch.tensor(self.bin_boundaries, dtype=x.dtype, device=x.device)
        return self._tables[key]

    def _convert_inputs(self, inputs: Any) -> Any:
        t = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs), device=self._device)
        if not t.is_floating_point():
            t = t.to(torch.float32)
        return t

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        if self.output_mode == "int":
            return tuple(input_shape), torch.int64
        return encoded_shape("Discretization", input_shape, self.output_mode, self._bins()), torch.float32

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise ValueError(
                f"Layer '{self.name}' (Discretization) has no bin boundaries yet: call adapt(data) "
                f"first or pass bin_boundaries=. Received: num_bins={self.num_bins}."
            )
        if self.output_mode != "int":
            encoded_shape("Discretization", (None, *inputs.shape[1:]), self.output_mode, self._bins())
        ids = torch.bucketize(inputs.contiguous(), self._boundaries(inputs), right=True)
        if self.output_mode == "int":
            return ids
        return encode_categorical(ids, self.output_mode, self._bins())

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            bin_boundaries=json_value(self.bin_boundaries),
            num_bins=self.num_bins,
            output_mode=self.output_mode,
        )
        return config
