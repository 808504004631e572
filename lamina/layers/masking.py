"""Padding masks: the `Masking` layer and the helpers that read and attach masks.

A mask is a boolean tensor of shape `(batch, steps)`, True where the step is real
data and False where it is padding. It travels with the data as the attribute
`_keras_mask` of the output tensor, as in Keras (`_lamina_mask`, the older name,
is kept as an alias: `set_mask` writes both and `get_mask` reads either):

* `Embedding(mask_zero=True)`, `PositionalEmbedding(mask_zero=True)` and
  `Masking` attach it;
* Lamina's layers that keep the `(batch, steps)` axes and ignore the mask
  (`Dense` on sequences, `Dropout`, `LayerNormalization`, `TimeDistributed`, ...)
  pass it on (done once for every layer in `Layer.forward`);
* recurrent layers, attention and `TransformerEncoder` consume it: padded steps
  are skipped or never attended to;
* a custom layer follows Keras 3: a `call(..., mask=None)` receives the incoming
  mask, `compute_mask(inputs, previous_mask)` sets the output's mask when the
  layer `supports_masking` (True by default when it overrides `compute_mask`),
  and a layer that does not support masking drops the mask with Keras's warning.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.layer import Layer
from lamina.utils import validation

MASK_ATTR = "_keras_mask"
LEGACY_MASK_ATTR = "_lamina_mask"


def get_mask(x: Any) -> torch.Tensor | None:
    """Returns the padding mask carried by ``x`` (`(batch, steps)` booleans), or None.

    Args:
        x: A tensor (anything else has no mask).

    Example:
        >>> import torch, lamina
        >>> emb = lamina.layers.Embedding(10, 4, mask_zero=True)
        >>> get_mask(emb(torch.tensor([[3, 1, 0]]))).tolist()
        [[True, True, False]]
    """
    mask = getattr(x, MASK_ATTR, None)
    return getattr(x, LEGACY_MASK_ATTR, None) if mask is None else mask


def set_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Attaches ``mask`` to ``x`` (in place, on the Python object) and returns ``x``.

    Args:
        x: The tensor, of shape `(batch, steps, ...)`.
        mask: Booleans of shape `(batch, steps)`, True for real steps; None removes
            the mask.
    """
    if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
        raise ValueError(
            f"A padding mask must have shape (batch, steps) = {tuple(x.shape[:2])}, the first two "
            f"axes of the tensor it belongs to. Received: mask with shape {tuple(mask.shape)}."
        )
    setattr(x, MASK_ATTR, mask)
    setattr(x, LEGACY_MASK_ATTR, mask)
    return x


def check_mask(owner: str, mask: Any, inputs: torch.Tensor) -> torch.Tensor:
    """Validates a user-given mask for ``inputs`` and returns it as booleans."""
    if not isinstance(mask, torch.Tensor) or mask.ndim != 2 or tuple(mask.shape) != tuple(inputs.shape[:2]):
        shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise ValueError(
            f"`{owner}` expects `mask` to be a (batch, steps) = {tuple(inputs.shape[:2])} tensor, "
            f"True for real steps. Received: mask with shape {shape}."
        )
    return mask if mask.dtype == torch.bool else mask != 0


class Masking(Layer):
    """Masks the time steps whose features all equal `mask_value`.

    A step is padding when every feature equals `mask_value`; its features are
    set to zero and later layers that support masking (recurrent layers,
    attention, `TransformerEncoder`) skip it.

    Args:
        mask_value: The padding value. Defaults to `0.0`.

    Input shape: `(batch, steps, features)`. Output shape: the same, carrying the
    mask `(batch, steps)` (read it with `lamina.layers.masking.get_mask`).

    Example:
        >>> import torch, lamina
        >>> x = torch.tensor([[[1.0, 2.0], [0.0, 0.0]]])
        >>> out = lamina.layers.Masking(mask_value=0.0)(x)
        >>> lamina.layers.masking.get_mask(out).tolist()
        [[True, False]]
    """

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = validation.number("Masking", "mask_value", mask_value)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.ndim < 3:
            raise ValueError(
                f"Layer '{self.name}' (Masking) expects input of shape (batch, steps, features). "
                f"Received: input with shape {tuple(inputs.shape)}. Add a features axis, e.g. "
                "`x[..., None]`."
            )
        reduce_dims = tuple(range(2, inputs.ndim))
        mask = (inputs != self.mask_value).any(dim=reduce_dims)
        out = inputs * mask.reshape(*mask.shape, *([1] * len(reduce_dims))).to(inputs.dtype)
        return set_mask(out, mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
