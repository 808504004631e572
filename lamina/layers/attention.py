"""Attention layers: `Attention` (Luong / Bahdanau style) and `MultiHeadAttention`.

Both honour padding masks carried by their inputs (see `lamina.layers.masking`):
padded key/value steps are never attended to, and the query's mask is passed on
to the output. Masked scores get a large negative number rather than `-inf`, as
in Keras, so a row with nothing to attend to gives uniform weights, not NaN.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina import initializers
from lamina.layers.core import Dense
from lamina.layers.layer import Layer
from lamina.layers.masking import get_mask, set_mask
from lamina.utils import validation


def _neg_large(dtype: torch.dtype) -> float:
    return -65504.0 if dtype == torch.float16 else -1e9


def _as_list(owner: str, inputs: Any) -> list[Any]:
    if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
        got = f"a {type(inputs).__name__} of {len(inputs)}" if isinstance(inputs, (list, tuple)) else type(inputs).__name__
        raise ValueError(
            f"`{owner}` expects its inputs as [query, value] or [query, value, key]. "
            f"Received: {got}. Pass e.g. `layer([query, value])`."
        )
    return list(inputs)


def _additive_mask(
    bool_mask: torch.Tensor | None, dtype: torch.dtype
) -> torch.Tensor | None:
    """True = attend, False = masked -> 0 / large negative, added to the scores."""
    if bool_mask is None:
        return None
    return torch.zeros(bool_mask.shape, dtype=dtype, device=bool_mask.device).masked_fill(
        ~bool_mask, _neg_large(dtype)
    )


def _combine(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


class Attention(Layer):
    """Dot-product attention (Luong) or additive attention (Bahdanau), Keras-style.

    For `query` `(batch, Tq, dim)`, `value` `(batch, Tv, dim)` and `key` (defaults
    to `value`), the scores are `query @ key^T` (`score_mode="dot"`) or
    `sum(tanh(query + key))` (`score_mode="concat"`), the weights their softmax
    over `Tv`, and the output `weights @ value`.

    Args:
        use_scale: Whether to learn a scalar that multiplies the scores (for
            `"concat"`, applied inside the `tanh`). Defaults to `False`.
        score_mode: `"dot"` or `"concat"`. Defaults to `"dot"`.
        dropout: Fraction of the attention weights to drop in training.
            Defaults to `0.0`.

    Call arguments: `inputs` (`[query, value]` or `[query, value, key]`); `mask`
    (optional `[query_mask, value_mask]`, by default the masks the inputs carry);
    `return_attention_scores` (also return the weights); `use_causal_mask`
    (step `i` attends only to steps `<= i`); `training`.

    Output shape: `(batch, Tq, dim)`; with `return_attention_scores=True` also
    the weights `(batch, Tq, Tv)`.

    Example:
        >>> import torch, lamina
        >>> q, v = torch.randn(2, 4, 8), torch.randn(2, 6, 8)
        >>> lamina.layers.Attention()([q, v]).shape
        torch.Size([2, 4, 8])
    """

    def __init__(
        self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.use_scale = validation.boolean("Attention", "use_scale", use_scale)
        self.score_mode = validation.one_of("Attention", "score_mode", score_mode, ("dot", "concat"))
        self.dropout = validation.number("Attention", "dropout", dropout, low=0.0, high=1.0, high_inclusive=False)

    def forward(self, inputs: Any, *more: Any, **kwargs: Any) -> Any:
        # `attention(query, value)` is read as `attention([query, value])`, as a
        # functional graph replays it.
        return super().forward([inputs, *more] if more else inputs, **kwargs)

    def build(self, input_shape: Any) -> None:
        _as_list("Attention", input_shape)
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        else:
            self.scale = None
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")

    def call(
        self,
        inputs: Any,
        mask: Any = None,
        training: bool | None = None,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ) -> Any:
        if training is None:
            training = self.training
        query, value, *rest = _as_list("Attention", inputs)
        key = rest[0] if rest else value
        if query.shape[-1] != key.shape[-1] or key.shape[1] != value.shape[1]:
            raise ValueError(
                f"Layer '{self.name}' (Attention) expects query and key with the same last "
                "dimension, and key and value with the same number of steps. Received: query "
                f"{tuple(query.shape)}, value {tuple(value.shape)}, key {tuple(key.shape)}."
            )
        q_mask, v_mask = (mask[0], mask[1]) if mask is not None else (get_mask(query), get_mask(value))
        if self.score_mode == "dot":
            scores = query @ key.transpose(-1, -2)
            if self.scale is not None:
                scores = scores * self.scale
        else:
            summed = query.unsqueeze(-2) + key.unsqueeze(-3)  # (batch, Tq, Tv, dim)
            if self.scale is not None:
                summed = self.scale * summed
            scores = self.concat_score_weight * torch.tanh(summed).sum(-1)
        keep = None if v_mask is None else v_mask[:, None, :].bool()
        if use_causal_mask:
            tq, tv = scores.shape[-2:]
            causal = torch.ones(tq, tv, dtype=torch.bool, device=scores.device).tril()
            keep = _combine(keep, causal[None])
        if keep is not None:
            scores = scores.masked_fill(~keep, _neg_large(scores.dtype))
        weights = torch.softmax(scores, dim=-1)
        dropped = F.dropout(weights, self.dropout, True) if training and self.dropout > 0 else weights
        out = dropped @ value
        if q_mask is not None:
            out = set_mask(out * q_mask[..., None].to(out.dtype), q_mask.bool())
        return (out, weights) if return_attention_scores else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(use_scale=self.use_scale, score_mode=self.score_mode, dropout=self.dropout)
        return config


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al., 2017), as `keras.layers.MultiHeadAttention`.

    Projects `query`, `key` and `value` into `num_heads` heads, runs scaled
    dot-product attention per head (`torch.nn.functional.scaled_dot_product_attention`,
    so fused / flash kernels where PyTorch has them) and projects the
    concatenated heads back. The projections are `Dense` sub-layers `query`,
    `key`, `value` and `attention_output` in PyTorch's layout, so the weights of
    a `torch.nn.MultiheadAttention` copy in directly (`in_proj_weight` split in
    three, `out_proj`).

    Args:
        num_heads: Number of attention heads.
        key_dim: Size of each head for query and key.
        value_dim: Size of each head for value. Defaults to `None` (= `key_dim`).
        dropout: Dropout rate on the attention weights in training. Defaults to `0.0`.
        use_bias: Whether the projections have biases. Defaults to `True`.
        output_shape: Size of the output's last axis. Defaults to `None` (the
            query's last dimension).
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.

    Call arguments: `query` `(batch, Tq, dq)`; `value` `(batch, Tv, dv)`; `key`
    `(batch, Tv, dk)`, defaults to `value`; `attention_mask`, booleans
    `(batch, Tq, Tv)` (or broadcastable, optionally with a heads axis), True
    where a query step may attend to a key step; `return_attention_scores`;
    `training`; `use_causal_mask`. The query and value may also be given as one
    list `[query, value]` or `[query, value, key]` (that is how a functional
    graph replays `mha(query, value)`). Padding masks carried by the inputs are
    honoured: padded key steps are not attended to.

    Output shape: `(batch, Tq, output_shape or dq)`; with
    `return_attention_scores=True` also the weights `(batch, num_heads, Tq, Tv)`.

    Example:
        >>> import torch, lamina
        >>> mha = lamina.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = torch.randn(3, 5, 8)
        >>> mha(x, x).shape
        torch.Size([3, 5, 8])
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        value_dim: int | None = None,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_shape: int | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "MultiHeadAttention"
        self.num_heads = validation.positive_int(owner, "num_heads", num_heads)
        self.key_dim = validation.positive_int(owner, "key_dim", key_dim)
        self.value_dim = validation.positive_int(owner, "value_dim", value_dim, allow_none=True)
        self.dropout = validation.number(owner, "dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        self.use_bias = validation.boolean(owner, "use_bias", use_bias)
        # Stored privately: `output_shape` is a property name on Keras layers.
        self._output_shape = validation.positive_int(owner, "output_shape", output_shape, allow_none=True)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    # Accepts mha(query, value, key) and mha([query, value, key]) alike; the base
    # forward then builds the layer from the shapes of all three.
    def forward(self, query: Any, value: Any = None, key: Any = None, **kwargs: Any) -> Any:
        if isinstance(query, (list, tuple)):
            if value is not None or key is not None:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) received its inputs both as a list "
                    "and as separate arguments. Pass `mha(query, value)` or `mha([query, value])`."
                )
            inputs = _as_list("MultiHeadAttention", query)
        elif value is None:
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention) needs a `value` (for self-attention pass "
                "the same tensor twice: `mha(x, x)`). Received: only the query."
            )
        else:
            inputs = [query, value] if key is None else [query, value, key]
        return super().forward(inputs, **kwargs)

    def _dense(self, units: int, name: str) -> Dense:
        return Dense(
            units,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            name=name,
        )

    def build(self, input_shape: Any) -> None:
        shapes = _as_list("MultiHeadAttention", input_shape)
        q_shape, v_shape = shapes[0], shapes[1]
        k_shape = shapes[2] if len(shapes) > 2 and shapes[2] is not None else v_shape
        for arg, shape in (("query", q_shape), ("value", v_shape), ("key", k_shape)):
            if len(shape) != 3 or shape[-1] is None:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) expects `{arg}` of shape "
                    f"(batch, steps, features) with known features. Received: {arg} shape {tuple(shape)}."
                )
        value_dim = self.value_dim or self.key_dim
        self.query = self._dense(self.num_heads * self.key_dim, "query")
        self.key = self._dense(self.num_heads * self.key_dim, "key")
        self.value = self._dense(self.num_heads * value_dim, "value")
        self.attention_output = self._dense(self._output_shape or q_shape[-1], "attention_output")
        self.query.build_from_shape(q_shape)
        self.key.build_from_shape(k_shape)
        self.value.build_from_shape(v_shape)
        self.attention_output.build_from_shape((None, None, self.num_heads * value_dim))
        self.train(self.training)  # sub-layers made here follow an earlier `eval()`

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps = x.shape[:2]
        return x.reshape(batch, steps, self.num_heads, -1).transpose(1, 2)

    def call(
        self,
        inputs: list[torch.Tensor],
        attention_mask: torch.Tensor | None = None,
        return_attention_scores: bool = False,
        training: bool | None = None,
        use_causal_mask: bool = False,
    ) -> Any:
        if training is None:
            training = self.training
        query, value, *rest = inputs
        key = rest[0] if rest and rest[0] is not None else value
        q = self._heads(self.query(query))  # (batch, heads, Tq, key_dim)
        k = self._heads(self.key(key))
        v = self._heads(self.value(value))
        keep = self._keep_mask(query, value, key, attention_mask, use_causal_mask)
        dropout_p = self.dropout if training else 0.0
        if return_attention_scores:
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.key_dim)
            if keep is not None:
                scores = scores.masked_fill(~keep, _neg_large(scores.dtype))
            weights = torch.softmax(scores, dim=-1)
            attended = F.dropout(weights, dropout_p, True) @ v if dropout_p else weights @ v
        else:
            attended = F.scaled_dot_product_attention(
                q, k, v, attn_mask=_additive_mask(keep, q.dtype), dropout_p=dropout_p
            )
        batch, _, steps, _ = attended.shape
        out = self.attention_output(attended.transpose(1, 2).reshape(batch, steps, -1))
        q_mask = get_mask(query)
        if q_mask is not None:
            set_mask(out, q_mask)
        return (out, weights) if return_attention_scores else out

    def _keep_mask(
        self,
        query: torch.Tensor,
        value: torch.Tensor,
        key: torch.Tensor,
        attention_mask: torch.Tensor | None,
        use_causal_mask: bool,
    ) -> torch.Tensor | None:
        """Boolean `(batch or 1, heads or 1, Tq or 1, Tv)`, True where attention is allowed."""
        k_mask = get_mask(key) if key is not value else None
        v_mask = get_mask(value)
        keep = None
        for m in (v_mask, k_mask):
            if m is not None:
                keep = _combine(keep, m.bool()[:, None, None, :])
        if attention_mask is not None:
            am = attention_mask if attention_mask.dtype == torch.bool else attention_mask != 0
            if am.ndim == 3:
                am = am[:, None]
            elif am.ndim != 4:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) expects `attention_mask` of shape "
                    "(batch, Tq, Tv) or (batch, num_heads, Tq, Tv). Received: attention_mask with "
                    f"shape {tuple(attention_mask.shape)}."
                )
            keep = _combine(keep, am)
        if use_causal_mask:
            tq, tv = query.shape[1], value.shape[1]
            causal = torch.ones(tq, tv, dtype=torch.bool, device=query.device).tril()
            keep = _combine(keep, causal[None, None])
        return keep

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            value_dim=self.value_dim,
            dropout=self.dropout,
            use_bias=self.use_bias,
            output_shape=self._output_shape,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
        )
        return config
