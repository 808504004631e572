"""`Bidirectional`: runs a recurrent layer forwards and backwards and merges the two."""

from __future__ import annotations

from typing import Any

import torch

from lamina.layers.layer import Layer
from lamina.layers.masking import check_mask, get_mask, set_mask
from lamina.layers.recurrent import RNNBase, split_state_inputs
from lamina.layers.wrapper import Wrapper, deserialize_layer, serialize_layer
from lamina.utils import validation

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Wrapper):
    """Bidirectional wrapper for `SimpleRNN`, `LSTM` and `GRU`.

    The wrapped layer reads the sequence forwards; a copy with the opposite
    `go_backwards` (or `backward_layer`) reads it backwards. With
    `return_sequences=True` the backward outputs are put back in time order
    before merging, so step `t` of the result sees the whole sequence, as in
    `torch.nn.LSTM(bidirectional=True)`. A padding mask is honoured by both
    directions (the backward one starts at the last real step).

    Args:
        layer: The recurrent layer to run forwards (`SimpleRNN`, `LSTM` or `GRU`).
        merge_mode: How to combine the two outputs: `"concat"` (features
            concatenated, forward first), `"sum"`, `"mul"`, `"ave"`, or None (return
            both as a list). Defaults to `"concat"`.
        backward_layer: Optional recurrent layer for the backward direction; it
            must have `go_backwards` opposite to `layer`'s and the same
            `return_sequences` and `return_state`. Defaults to `None` (a copy of
            `layer`'s config with `go_backwards` flipped).

    Input shape: `(batch, timesteps, features)`. Output shape: the wrapped
    layer's, with `2 * units` features for `"concat"`; with `return_state=True`
    a list `[output, *forward_states, *backward_states]`.

    Example:
        >>> import torch, lamina
        >>> bi = lamina.layers.Bidirectional(lamina.layers.LSTM(4, return_sequences=True))
        >>> bi(torch.randn(2, 5, 3)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        layer: Layer,
        merge_mode: str | None = "concat",
        backward_layer: Layer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(layer, **kwargs)
        _check_recurrent("layer", layer)
        self.merge_mode = validation.one_of("Bidirectional", "merge_mode", merge_mode, _MERGE_MODES)
        self._backward_given = backward_layer is not None
        if backward_layer is None:
            config = layer.get_config()
            config.update(name=f"backward_{layer.name}", go_backwards=not layer.go_backwards)
            backward_layer = type(layer).from_config(config)
        else:
            _check_recurrent("backward_layer", backward_layer)
            for attr in ("return_sequences", "return_state"):
                if getattr(backward_layer, attr) != getattr(layer, attr):
                    raise ValueError(
                        f"`Bidirectional` expects `backward_layer` to have the same `{attr}` as "
                        f"`layer`. Received: layer.{attr}={getattr(layer, attr)}, "
                        f"backward_layer.{attr}={getattr(backward_layer, attr)}."
                    )
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError(
                    "`Bidirectional` expects `backward_layer.go_backwards` to be the opposite of "
                    f"`layer.go_backwards`. Received: both go_backwards={layer.go_backwards}. Pass "
                    f"`go_backwards={not layer.go_backwards}` to the backward layer."
                )
        self.backward_layer = backward_layer

    @property
    def forward_layer(self) -> Layer:
        """The layer that reads the sequence forwards (the wrapped `layer`)."""
        return self.layer

    def build(self, input_shape: Any) -> None:
        self.layer.build_from_shape(input_shape)
        self.backward_layer.build_from_shape(input_shape)

    def forward(self, inputs: Any, *more: Any, **kwargs: Any) -> Any:
        inputs, kwargs = split_state_inputs(self, inputs, more, kwargs)
        return super().forward(inputs, **kwargs)

    def call(
        self,
        inputs: torch.Tensor,
        initial_state: Any = None,
        mask: torch.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        mask = get_mask(inputs) if mask is None else check_mask("Bidirectional", mask, inputs)
        fw_state = bw_state = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            fw_state, bw_state = states[:half], states[half:]
        fw = self.layer(inputs, initial_state=fw_state, mask=mask, training=training)
        bw = self.backward_layer(inputs, initial_state=bw_state, mask=mask, training=training)
        fw_states: list[torch.Tensor] = []
        bw_states: list[torch.Tensor] = []
        if self.layer.return_state:
            fw, *fw_states = fw
            bw, *bw_states = bw
        if self.layer.return_sequences:
            bw = bw.flip(1)  # back to time order
        if self.merge_mode is None:
            outputs: list[torch.Tensor] = [fw, bw]
        else:
            outputs = [self._merge(fw, bw)]
        if mask is not None and self.layer.return_sequences:
            outputs = [set_mask(o, mask) for o in outputs]
        if self.layer.return_state:
            return [*outputs, *fw_states, *bw_states]
        return outputs[0] if self.merge_mode is not None else outputs

    def _merge(self, fw: torch.Tensor, bw: torch.Tensor) -> torch.Tensor:
        if self.merge_mode == "concat":
            return torch.cat([fw, bw], dim=-1)
        if self.merge_mode == "sum":
            return fw + bw
        if self.merge_mode == "mul":
            return fw * bw
        return (fw + bw) / 2

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["backward_layer"] = serialize_layer(self.backward_layer) if self._backward_given else None
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        config = dict(config)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"])
        return super().from_config(config)


def _check_recurrent(arg: str, layer: Any) -> None:
    if not isinstance(layer, RNNBase):
        raise TypeError(
            f"`Bidirectional` expects `{arg}` to be a recurrent layer (`SimpleRNN`, `LSTM` or "
            f"`GRU`). Received: {arg}={layer!r} of type {type(layer).__name__}."
        )
