"""`BertEncoder`: the BERT encoder (Devlin et al., 2019) built from Lamina's layers."""

from __future__ import annotations

from typing import Any

from lamina import activations, initializers, layers
from lamina.models import Model
from lamina.utils import validation

INPUT_NAMES = ("token_ids", "attention_mask", "token_type_ids")


def BertEncoder(  # noqa: N802 - a model builder, named like Keras's applications
    vocab_size: int,
    hidden_size: int = 384,
    num_layers: int = 6,
    num_heads: int = 12,
    intermediate_size: int = 1536,
    max_position: int = 512,
    type_vocab_size: int = 2,
    dropout: float = 0.1,
    layer_norm_epsilon: float = 1e-12,
    activation: Any = "gelu",
    name: str = "bert_encoder",
) -> Model:
    """The BERT encoder: token ids and attention mask in, per-token hidden states out.

    The architecture of Hugging Face's `BertModel` (without its pooler), written
    with Lamina's layers:

    * embeddings: `word[token_ids] + position[0..steps-1] + token_type[token_type_ids]`
      (`PositionalEmbedding` and `Embedding`), then `LayerNormalization` and `Dropout`;
    * `num_layers` post-norm `TransformerEncoder` blocks:
      `x = LN(x + Dropout(MHA(x)))`, `x = LN(x + Dropout(W2 act(W1 x)))`,
      with `activation` the exact (erf) GELU by default, as BERT uses.

    The attention mask keeps every token from attending to padding, and is carried
    by the output as its padding mask, so `GlobalAveragePooling1D` after it
    averages the real tokens only (mean pooling). Weights are initialized as
    Hugging Face's BERT (normal, standard deviation 0.02; embeddings likewise; layer
    norms at 1 and 0).

    Layer names (for freezing and weight loading): `token_embedding`
    (`PositionalEmbedding`: `token_embeddings`, `position_embeddings`),
    `token_type_embedding`, `embeddings_add`, `embeddings_norm`,
    `embeddings_dropout`, and `encoder_layer_0` ... `encoder_layer_{num_layers-1}`
    (each with `self_attention` (`query`, `key`, `value`, `attention_output`),
    `self_attention_norm`, `intermediate_dense`, `output_dense`, `feedforward_norm`).

    Args:
        vocab_size: Number of token ids (30522 for BERT's uncased WordPiece vocabulary).
        hidden_size: Width of the embeddings and of every block. Defaults to `384`.
        num_layers: Number of encoder blocks. Defaults to `6`.
        num_heads: Attention heads per block; `hidden_size` must be a multiple of it.
            Defaults to `12`.
        intermediate_size: Hidden width of each block's feed-forward network.
            Defaults to `1536`.
        max_position: Longest sequence (rows of the position table). Defaults to `512`.
        type_vocab_size: Number of token types (segments). Defaults to `2`.
        dropout: Dropout rate after the embeddings, on the attention weights and
            after each sub-block. Defaults to `0.1`.
        layer_norm_epsilon: Epsilon of every layer normalization. Defaults to `1e-12`.
        activation: Activation of the feed-forward networks. Defaults to `"gelu"`
            (exact, `x * Phi(x)`).
        name: Name of the model. Defaults to `"bert_encoder"`.

    Returns:
        A functional `lamina.Model` taking a dict of three int64 tensors
        `(batch, steps)`, `{"token_ids", "attention_mask", "token_type_ids"}` (what
        `lamina.layers.WordPieceTokenizer` outputs; `token_type_ids` are zeros for
        single sentences, `attention_mask` is 1 for real tokens and 0 for padding),
        and returning float32 hidden states `(batch, steps, hidden_size)`.

    Example:
        >>> import numpy as np
        >>> from lamina.applications import BertEncoder
        >>> encoder = BertEncoder(vocab_size=100, hidden_size=16, num_layers=2, num_heads=2,
        ...                       intermediate_size=32)
        >>> ids = np.array([[101, 7, 8, 102], [101, 9, 102, 0]]) % 100
        >>> out = encoder.predict({"token_ids": ids, "attention_mask": (ids != 0) * 1,
        ...                        "token_type_ids": np.zeros_like(ids)}, verbose=0)
        >>> out.shape
        (2, 4, 16)
    """
    owner = "BertEncoder"
    vocab_size = validation.positive_int(owner, "vocab_size", vocab_size)
    hidden_size = validation.positive_int(owner, "hidden_size", hidden_size)
    num_layers = validation.positive_int(owner, "num_layers", num_layers)
    num_heads = validation.positive_int(owner, "num_heads", num_heads)
    intermediate_size = validation.positive_int(owner, "intermediate_size", intermediate_size)
    max_position = validation.positive_int(owner, "max_position", max_position)
    type_vocab_size = validation.positive_int(owner, "type_vocab_size", type_vocab_size)
    dropout = validation.number(owner, "dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    layer_norm_epsilon = validation.number(
        owner, "layer_norm_epsilon", layer_norm_epsilon, low=0.0, low_inclusive=False
    )
    activations.get(activation)  # an unknown activation fails here, naming the valid ones
    if hidden_size % num_heads:
        raise ValueError(
            f"`{owner}` splits `hidden_size` into `num_heads` equal heads, so hidden_size must be "
            f"a multiple of num_heads. Received: hidden_size={hidden_size}, num_heads={num_heads}. "
            "Change one of them."
        )

    def init() -> initializers.Initializer:
        return initializers.RandomNormal(stddev=0.02)

    token_ids = layers.Input(shape=(None,), dtype="int64", name="token_ids")
    attention_mask = layers.Input(shape=(None,), dtype="int64", name="attention_mask")
    token_type_ids = layers.Input(shape=(None,), dtype="int64", name="token_type_ids")
    x = layers.PositionalEmbedding(
        max_position, vocab_size, hidden_size, embeddings_initializer=init(), name="token_embedding"
    )(token_ids)
    types = layers.Embedding(
        type_vocab_size, hidden_size, embeddings_initializer=init(), name="token_type_embedding"
    )(token_type_ids)
    x = layers.Add(name="embeddings_add")([x, types])
    x = layers.LayerNormalization(epsilon=layer_norm_epsilon, name="embeddings_norm")(x)
    x = layers.Dropout(dropout, name="embeddings_dropout")(x)
    for i in range(num_layers):
        x = layers.TransformerEncoder(
            intermediate_size,
            num_heads,
            dropout=dropout,
            activation=activation,
            layer_norm_epsilon=layer_norm_epsilon,
            kernel_initializer=init(),
            name=f"encoder_layer_{i}",
        )(x, padding_mask=attention_mask)
    inputs = {
        "token_ids": token_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }
    return Model(inputs, x, name=name)


def bert_weight_mapping(num_layers: int, prefix: str = "") -> dict[str, str | None]:
    """`{Hugging Face BertModel key: Lamina variable}` for a `BertEncoder` of ``num_layers``.

    Hugging Face's `nn.Linear.weight` is `(out, in)`, the layout of Lamina's
    `Dense.kernel`, so every tensor copies as it is. The pooler (`pooler.dense.*`,
    unused by the per-token outputs and by mean pooling) and the constant
    `embeddings.position_ids` buffer map to `None` (skipped on purpose).

    Args:
        num_layers: Number of encoder blocks.
        prefix: Prefix of the Lamina names (e.g. `"bert_encoder."` when the encoder
            is nested in a larger model). Defaults to `""`.
    """
    p = prefix
    mapping: dict[str, str | None] = {
        "embeddings.word_embeddings.weight": f"{p}token_embedding.token_embeddings",
        "embeddings.position_embeddings.weight": f"{p}token_embedding.position_embeddings",
        "embeddings.token_type_embeddings.weight": f"{p}token_type_embedding.embeddings",
        "embeddings.LayerNorm.weight": f"{p}embeddings_norm.gamma",
        "embeddings.LayerNorm.bias": f"{p}embeddings_norm.beta",
        "embeddings.position_ids": None,
        "pooler.dense.weight": None,
        "pooler.dense.bias": None,
    }
    parts = {
        "attention.self.query": "self_attention.query",
        "attention.self.key": "self_attention.key",
        "attention.self.value": "self_attention.value",
        "attention.output.dense": "self_attention.attention_output",
        "attention.output.LayerNorm": "self_attention_norm",
        "intermediate.dense": "intermediate_dense",
        "output.dense": "output_dense",
        "output.LayerNorm": "feedforward_norm",
    }
    for i in range(num_layers):
        for hf, ours in parts.items():
            norm = "LayerNorm" in hf
            mapping[f"encoder.layer.{i}.{hf}.weight"] = (
                f"{p}encoder_layer_{i}.{ours}.{'gamma' if norm else 'kernel'}"
            )
            mapping[f"encoder.layer.{i}.{hf}.bias"] = (
                f"{p}encoder_layer_{i}.{ours}.{'beta' if norm else 'bias'}"
            )
    return mapping
