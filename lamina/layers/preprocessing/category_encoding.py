"""`CategoryEncoding` and the one-hot / multi-hot / count encoder the lookup,
hashing and discretization layers share."""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.preprocessing.base import PreprocessingLayer, int_tensor
from lamina.utils import validation

ENCODING_MODES = ("one_hot", "multi_hot", "count")


def encoded_shape(
    owner: str, input_shape: tuple[int | None, ...], output_mode: str, depth: int | None
) -> tuple[int | None, ...]:
    """Output shape of `encode_categorical` for an input of ``input_shape``.

    `one_hot` adds an axis of size ``depth`` (replacing a last axis of size 1);
    `multi_hot`, `count` and `tf_idf` turn `(batch,)` or `(batch, n)` into
    `(batch, depth)`.
    """
    shape = tuple(input_shape)
    if output_mode == "one_hot":
        if len(shape) >= 2 and shape[-1] == 1:
            shape = shape[:-1]
        return (*shape, depth)
    if len(shape) > 2 or len(shape) == 0:
        raise ValueError(
            f"`{owner}` with output_mode={output_mode!r} expects inputs of shape (batch,) or "
            f"(batch, n), one row per sample. Received: inputs with shape {shape}. Reshape the "
            "inputs to two axes, or use output_mode='one_hot' or 'int'."
        )
    return (shape[0], depth)


def encode_categorical(
    ids: torch.Tensor,
    output_mode: str,
    depth: int,
    count_weights: torch.Tensor | None = None,
    idf_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Encodes integer ids in `[0, depth)` as float32 vectors of width ``depth``.

    Ids of -1 are dropped (they add nothing). `one_hot` encodes each element;
    `multi_hot` marks the ids present in each row; `count` counts them (weighted
    by ``count_weights`` when given); `tf_idf` multiplies the counts by
    ``idf_weights`` (shape `(depth,)`). Shapes follow `encoded_shape`.
    """
    if output_mode == "one_hot":
        if ids.ndim >= 2 and ids.shape[-1] == 1:
            ids = ids[..., 0]
        lead = tuple(ids.shape)
        flat = ids.reshape(-1, 1)
    else:
        if ids.ndim == 1:
            ids = ids[:, None]
        lead = tuple(ids.shape[:1])
        flat = ids.reshape(ids.shape[0], -1)
    valid = flat >= 0
    weights = valid.to(torch.float32)
    if count_weights is not None:
        weights = weights * count_weights.reshape(flat.shape).to(torch.float32)
    out = torch.zeros(flat.shape[0], depth, dtype=torch.float32, device=flat.device)
    out.scatter_add_(1, flat.clamp(min=0), weights)
    if output_mode in ("one_hot", "multi_hot"):
        out = (out > 0).to(torch.float32)
    elif output_mode == "tf_idf":
        out = out * idf_weights.to(out.device)
    return out.reshape(*lead, depth)


class CategoryEncoding(PreprocessingLayer):
    """Encodes integer categories as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: The number of categories; inputs must lie in `[0, num_tokens)`.
        output_mode: `"multi_hot"` (a 1 for each category present in the sample),
            `"one_hot"` (one vector per input element) or `"count"` (how often each
            category occurs, optionally weighted by `count_weights`). Defaults to
            `"multi_hot"`.

    Input shape: integers, `(batch,)` or `(batch, n)` (any shape for `one_hot`).
    Output shape: `(batch, num_tokens)` float32 for `multi_hot` / `count`; for
    `one_hot`, the input shape plus an axis of `num_tokens` (a last axis of size
    1 is replaced). `(batch,)` inputs are one category per sample.

    Checking that the inputs are in range reads one value back from the device
    per call; out-of-range values raise a ValueError.

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.CategoryEncoding(num_tokens=4, output_mode="count")
        >>> layer(torch.tensor([[0, 1], [3, 3]])).tolist()
        [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]
    """

    def __init__(self, num_tokens: int, output_mode: str = "multi_hot", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_tokens = validation.positive_int("CategoryEncoding", "num_tokens", num_tokens)
        self.output_mode = validation.one_of("CategoryEncoding", "output_mode", output_mode, ENCODING_MODES)

    def _convert_inputs(self, inputs: Any) -> Any:
        return int_tensor(inputs, "CategoryEncoding", self._device)

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        return encoded_shape("CategoryEncoding", input_shape, self.output_mode, self.num_tokens), torch.float32

    def call(
        self, inputs: torch.Tensor, count_weights: Any = None, training: bool | None = None
    ) -> torch.Tensor:
        encoded_shape("CategoryEncoding", (None, *inputs.shape[1:]), self.output_mode, self.num_tokens)
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                "`CategoryEncoding` uses `count_weights` only with output_mode='count'. "
                f"Received: count_weights with output_mode={self.output_mode!r}."
            )
        # The range check reads values on the host; an exported graph (torch.export / ONNX)
        # cannot branch on data, so it is left out there (out-of-range ids are dropped).
        if inputs.numel() and not torch.compiler.is_exporting():
            low, high = int(inputs.min()), int(inputs.max())
            if low < 0 or high >= self.num_tokens:
                raise ValueError(
                    f"`CategoryEncoding` expects input values in [0, num_tokens) with "
                    f"num_tokens={self.num_tokens}. Received: values from {low} to {high}. "
                    "Raise `num_tokens`, or map the values to ids first (e.g. with `IntegerLookup`)."
                )
        if count_weights is not None:
            count_weights = torch.as_tensor(count_weights, device=inputs.device)
        return encode_categorical(inputs, self.output_mode, self.num_tokens, count_weights)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(num_tokens=self.num_tokens, output_mode=self.output_mode)
        return config
