"""Transformer building blocks: `PositionalEmbedding` and `TransformerEncoder`
(as KerasNLP's `TokenAndPositionEmbedding` and `TransformerEncoder`)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, initializers
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.core import Dense
from lamina.layers.layer import Layer
from lamina.layers.masking import check_mask, get_mask, set_mask
from lamina.layers.normalization import LayerNormalization
from lamina.layers.regularization import Dropout
from lamina.utils import validation


class PositionalEmbedding(Layer):
    """Token embedding plus a learned position embedding.

    `output[b, t] = token_embeddings[inputs[b, t]] + position_embeddings[t]`.

    Args:
        sequence_length: The longest sequence the layer accepts (rows of the
            position table).
        vocab_size: Size of the vocabulary (largest token index + 1).
        embed_dim: Size of each embedding vector.
        mask_zero: Whether token 0 is padding, masked for later layers
            (`TransformerEncoder`, attention, recurrent layers). Defaults to `False`.
        embeddings_initializer: Initializer of both tables. Defaults to
            `"random_uniform"` (as `Embedding`).

    Input shape: `(batch, steps)` integers with `steps <= sequence_length`.
    Output shape: `(batch, steps, embed_dim)`.

    Example:
        >>> import torch, lamina
        >>> emb = lamina.layers.PositionalEmbedding(sequence_length=10, vocab_size=50, embed_dim=8)
        >>> emb(torch.randint(0, 50, (2, 7))).shape
        torch.Size([2, 7, 8])
    """

    def __init__(
        self,
        sequence_length: int,
        vocab_size: int,
        embed_dim: int,
        mask_zero: bool = False,
        embeddings_initializer: Any = "random_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "PositionalEmbedding"
        self.sequence_length = validation.positive_int(owner, "sequence_length", sequence_length)
        self.vocab_size = validation.positive_int(owner, "vocab_size", vocab_size)
        self.embed_dim = validation.positive_int(owner, "embed_dim", embed_dim)
        self.mask_zero = validation.boolean(owner, "mask_zero", mask_zero)
        self.embeddings_initializer = initializers.get(embeddings_initializer)

    def build(self, input_shape: Any) -> None:
        init = self.embeddings_initializer
        self.token_embeddings = self.add_weight("token_embeddings", (self.vocab_size, self.embed_dim), init)
        self.position_embeddings = self.add_weight(
            "position_embeddings", (self.sequence_length, self.embed_dim), init
        )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.ndim != 2 or inputs.shape[1] > self.sequence_length:
            raise ValueError(
                f"Layer '{self.name}' (PositionalEmbedding) expects token ids of shape (batch, steps) "
                f"with steps <= sequence_length={self.sequence_length}. Received: input with shape "
                f"{tuple(inputs.shape)}. Truncate the sequences or build the layer with a larger "
                "`sequence_length`."
            )
        if inputs.is_floating_point():
            inputs = inputs.long()
        out = F.embedding(inputs, self.token_embeddings) + self.position_embeddings[: inputs.shape[1]]
        return set_mask(out, inputs != 0) if self.mask_zero else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            vocab_size=self.vocab_size,
            embed_dim=self.embed_dim,
            mask_zero=self.mask_zero,
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
        )
        return config


class TransformerEncoder(Layer):
    """One Transformer encoder block (Vaswani et al., 2017), as KerasNLP's.

    Self-attention and a two-layer feed-forward network, each with dropout, a
    residual connection and layer normalization, after the sub-block (post-norm,
    the paper's and `torch.nn.TransformerEncoderLayer`'s default) or before it
    (`normalize_first=True`, pre-norm). The model width is the input's last
    dimension; each head has size `width // num_heads`. A padding mask carried by
    the input (from `Embedding(mask_zero=True)` / `PositionalEmbedding(mask_zero=True)`)
    or given as `padding_mask` keeps every step from attending to padding, so the
    outputs at real steps do not depend on how much padding follows.

    Args:
        intermediate_dim: Width of the feed-forward network's hidden layer.
        num_heads: Number of attention heads.
        dropout: Dropout rate after attention and after the feed-forward network
            (and on the attention weights). Defaults to `0.0`.
        activation: Activation of the feed-forward hidden layer. Defaults to `"relu"`.
        layer_norm_epsilon: Epsilon of the layer normalizations. Defaults to `1e-5`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        normalize_first: Whether to normalize before each sub-block (pre-norm).
            Defaults to `False`.

    Call arguments: `inputs`; `padding_mask` (`(batch, steps)` booleans, True for
    real tokens; by default the mask `inputs` carries); `attention_mask`
    (`(batch, steps, steps)` booleans); `training`.

    Input shape: `(batch, steps, width)`. Output shape: the same.

    Example:
        >>> import torch, lamina
        >>> block = lamina.layers.TransformerEncoder(intermediate_dim=32, num_heads=2)
        >>> block(torch.randn(2, 5, 16)).shape
        torch.Size([2, 5, 16])
    """

    def __init__(
        self,
        intermediate_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        activation: Any = "relu",
        layer_norm_epsilon: float = 1e-5,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        normalize_first: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "TransformerEncoder"
        self.intermediate_dim = validation.positive_int(owner, "intermediate_dim", intermediate_dim)
        self.num_heads = validation.positive_int(owner, "num_heads", num_heads)
        self.dropout = validation.number(owner, "dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        self.activation = activations.get(activation)
        self.layer_norm_epsilon = validation.number(
            owner, "layer_norm_epsilon", layer_norm_epsilon, low=0.0, low_inclusive=False
        )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.normalize_first = validation.boolean(owner, "normalize_first", normalize_first)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' (TransformerEncoder) expects input of shape (batch, steps, "
                f"width) with a known width. Received input shape {tuple(input_shape)}."
            )
        width = input_shape[-1]
        if width < self.num_heads:
            raise ValueError(
                f"Layer '{self.name}' (TransformerEncoder) splits the width {width} into "
                f"num_heads={self.num_heads} heads, so it needs width >= num_heads. Received: "
                f"num_heads={self.num_heads}. Use fewer heads or a wider embedding."
            )
        init = {"kernel_initializer": self.kernel_initializer, "bias_initializer": self.bias_initializer}
        self.self_attention = MultiHeadAttention(
            self.num_heads, width // self.num_heads, dropout=self.dropout, name="self_attention", **init
        )
        self.self_attention_norm = LayerNormalization(epsilon=self.layer_norm_epsilon, name="self_attention_norm")
        self.self_attention_dropout = Dropout(self.dropout, name="self_attention_dropout")
        self.intermediate_dense = Dense(
            self.intermediate_dim, activation=self.activation, name="intermediate_dense", **init
        )
        self.output_dense = Dense(width, name="output_dense", **init)
        self.feedforward_norm = LayerNormalization(epsilon=self.layer_norm_epsilon, name="feedforward_norm")
        self.feedforward_dropout = Dropout(self.dropout, name="feedforward_dropout")
        seq = (None, input_shape[1], width)
        self.self_attention.build_from_shape([seq, seq])
        self.self_attention_norm.build_from_shape(seq)
        self.intermediate_dense.build_from_shape(seq)
        self.output_dense.build_from_shape((None, input_shape[1], self.intermediate_dim))
        self.feedforward_norm.build_from_shape(seq)
        self._expected_last_dim = width
        self.train(self.training)  # sub-layers made here follow an earlier `eval()`

    def call(
        self,
        inputs: torch.Tensor,
        padding_mask: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        training: bool | None = None,
    ) -> torch.Tensor:
        if training is None:
            training = self.training  # sub-layers follow this block, even if built after `eval()`
        if padding_mask is None:
            padding_mask = get_mask(inputs)
        else:
            padding_mask = check_mask("TransformerEncoder", padding_mask, inputs)
        keep = None if padding_mask is None else padding_mask[:, None, :]  # (batch, 1, steps)
        if attention_mask is not None:
            am = attention_mask if attention_mask.dtype == torch.bool else attention_mask != 0
            keep = am if keep is None else keep & am
        x = inputs
        residual = x
        if self.normalize_first:
            x = self.self_attention_norm(x)
        x = self.self_attention(x, x, attention_mask=keep, training=training)
        x = self.self_attention_dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            x = self.self_attention_norm(x)

        residual = x
        if self.normalize_first:
            x = self.feedforward_norm(x)
        x = self.output_dense(self.intermediate_dense(x))
        x = self.feedforward_dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            x = self.feedforward_norm(x)
        return set_mask(x, padding_mask) if padding_mask is not None else x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            intermediate_dim=self.intermediate_dim,
            num_heads=self.num_heads,
            dropout=self.dropout,
            activation=activations.serialize(self.activation),
            layer_norm_epsilon=self.layer_norm_epsilon,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            normalize_first=self.normalize_first,
        )
        return config
