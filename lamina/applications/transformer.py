"""A Transformer text classifier: token ids in, class probabilities out."""

from __future__ import annotations

from lamina import layers
from lamina.models import Model
from lamina.utils import validation


def transformer_text_classifier(
    vocab_size: int,
    sequence_length: int,
    embed_dim: int = 32,
    num_heads: int = 2,
    ff_dim: int = 64,
    num_classes: int = 2,
    num_blocks: int = 1,
    dropout: float = 0.1,
    name: str = "transformer_text_classifier",
) -> Model:
    """Token ids -> `PositionalEmbedding` -> `TransformerEncoder` blocks ->
    `GlobalAveragePooling1D` -> `Dropout` -> `Dense` (softmax).

    Token 0 is padding (as `TextVectorization(output_mode="int")` produces): it
    is masked, so no token attends to padding and the pooling averages the
    real tokens only.

    Args:
        vocab_size: Size of the vocabulary (largest token id + 1).
        sequence_length: Number of token ids per sample.
        embed_dim: Width of the embeddings and of the encoder. Defaults to `32`.
        num_heads: Attention heads per encoder block (each of size
            `embed_dim // num_heads`). Defaults to `2`.
        ff_dim: Hidden width of each block's feed-forward network. Defaults to `64`.
        num_classes: Number of classes. Defaults to `2`.
        num_blocks: Number of encoder blocks. Defaults to `1`.
        dropout: Dropout rate inside the blocks and before the classifier.
            Defaults to `0.1`.
        name: Name of the model. Defaults to `"transformer_text_classifier"`.

    Returns:
        A functional `lamina.Model`: int64 token ids `(batch, sequence_length)` ->
        probabilities `(batch, num_classes)`; train it with
        `loss="sparse_categorical_crossentropy"`.

    Example:
        >>> import lamina
        >>> from lamina.applications import transformer_text_classifier
        >>> model = transformer_text_classifier(vocab_size=100, sequence_length=12)
        >>> model.outputs[0].shape
        (None, 2)
    """
    owner = "transformer_text_classifier"
    vocab_size = validation.positive_int(owner, "vocab_size", vocab_size)
    sequence_length = validation.positive_int(owner, "sequence_length", sequence_length)
    embed_dim = validation.positive_int(owner, "embed_dim", embed_dim)
    num_heads = validation.positive_int(owner, "num_heads", num_heads)
    ff_dim = validation.positive_int(owner, "ff_dim", ff_dim)
    num_classes = validation.positive_int(owner, "num_classes", num_classes)
    num_blocks = validation.positive_int(owner, "num_blocks", num_blocks)
    dropout = validation.number(owner, "dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    if embed_dim % num_heads:
        raise ValueError(
            f"`{owner}` splits `embed_dim` into `num_heads` equal heads, so embed_dim must be a "
            f"multiple of num_heads. Received: embed_dim={embed_dim}, num_heads={num_heads}. "
            "Change one of them."
        )

    inputs = layers.Input(shape=(sequence_length,), dtype="int64", name="token_ids")
    x = layers.PositionalEmbedding(sequence_length, vocab_size, embed_dim, mask_zero=True,
                                   name="embedding")(inputs)
    for i in range(num_blocks):
        x = layers.TransformerEncoder(ff_dim, num_heads, dropout=dropout, name=f"encoder_{i + 1}")(x)
    x = layers.GlobalAveragePooling1D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return Model(inputs, outputs, name=name)
