"""Attention, MultiHeadAttention, TransformerEncoder and PositionalEmbedding.

Parity: `torch.nn.MultiheadAttention` and `torch.nn.TransformerEncoderLayer`
with the same weights.
"""

from __future__ import annotations

import doctest
import math

import pytest
import torch
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import (
    Attention,
    MultiHeadAttention,
    PositionalEmbedding,
    TransformerEncoder,
    attention,
    transformer,
)
from lamina.layers.masking import get_mask, set_mask


def _copy_mha(mha: MultiHeadAttention, ref: torch.nn.MultiheadAttention) -> None:
    with torch.no_grad():
        if ref.in_proj_weight is not None:
            wq, wk, wv = ref.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = ref.q_proj_weight, ref.k_proj_weight, ref.v_proj_weight
        bq, bk, bv = ref.in_proj_bias.chunk(3)
        for dense, w, b in ((mha.query, wq, bq), (mha.key, wk, bk), (mha.value, wv, bv)):
            dense.kernel.copy_(w)
            dense.bias.copy_(b)
        mha.attention_output.kernel.copy_(ref.out_proj.weight)
        mha.attention_output.bias.copy_(ref.out_proj.bias)


def _torch_mha(embed_dim: int, heads: int, kdim: int | None = None, vdim: int | None = None):
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(embed_dim, heads, batch_first=True, kdim=kdim, vdim=vdim)
    with torch.no_grad():  # torch starts the biases at zero; make the comparison bite
        ref.in_proj_bias.normal_()
        ref.out_proj.bias.normal_()
    return ref


# ---------------------------------------------------------------- contract
def test_multi_head_attention_contract():
    data = [torch.randn(2, 4, 6), torch.randn(2, 5, 3)]
    layer = run_layer_test(
        MultiHeadAttention, {"num_heads": 2, "key_dim": 4, "value_dim": 3, "output_shape": 7},
        (2, 4, 6), (2, 4, 7), input_data=data, symbolic=False, expected_num_trainable_weights=8,
    )
    assert tuple(layer.value.kernel.shape) == (6, 3)


def test_attention_contract():
    data = [torch.randn(2, 4, 6), torch.randn(2, 5, 6)]
    run_layer_test(Attention, {"use_scale": True, "score_mode": "concat"}, (2, 4, 6), (2, 4, 6),
                   input_data=data, symbolic=False, expected_num_trainable_weights=2)


def test_transformer_encoder_contract():
    run_layer_test(TransformerEncoder, {"intermediate_dim": 16, "num_heads": 2}, (2, 5, 8), (2, 5, 8),
                   expected_num_trainable_weights=16)


def test_positional_embedding_contract():
    run_layer_test(PositionalEmbedding, {"sequence_length": 6, "vocab_size": 7, "embed_dim": 4},
                   (2, 5), (2, 5, 4), input_dtype=torch.int64, expected_num_trainable_weights=2)


# ---------------------------------------------------------------- parity
def test_multi_head_attention_matches_torch():
    ref = _torch_mha(8, 2)
    mha = MultiHeadAttention(num_heads=2, key_dim=4)
    q, v = torch.randn(3, 4, 8), torch.randn(3, 6, 8)
    mha(q, v)
    _copy_mha(mha, ref)
    ref_out, ref_weights = ref(q, v, v, average_attn_weights=False)
    out, weights = mha(q, v, return_attention_scores=True)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(weights, ref_weights)
    torch.testing.assert_close(mha(q, v), ref_out)  # the scaled_dot_product_attention path
    assert tuple(weights.shape) == (3, 2, 4, 6)


def test_multi_head_attention_separate_key_and_masks_match_torch():
    ref = _torch_mha(8, 2, kdim=5, vdim=3)
    mha = MultiHeadAttention(num_heads=2, key_dim=4)
    q, v, k = torch.randn(3, 4, 8), torch.randn(3, 6, 3), torch.randn(3, 6, 5)
    mha(q, v, k)
    _copy_mha(mha, ref)
    pad = torch.tensor([[False] * 6, [False] * 3 + [True] * 3, [False] * 5 + [True]])  # torch: True = ignore
    ref_out, _ = ref(q, k, v, key_padding_mask=pad)
    # A padding mask carried by the value ...
    torch.testing.assert_close(mha(q, set_mask(v.clone(), ~pad), k), ref_out)
    # ... or the same as an explicit attention_mask (batch, Tq, Tv), True = attend.
    keep = (~pad)[:, None, :].expand(3, 4, 6)
    torch.testing.assert_close(mha([q, v, k], attention_mask=keep), ref_out)


def test_multi_head_attention_causal_mask_matches_torch():
    ref = _torch_mha(8, 4)
    mha = MultiHeadAttention(num_heads=4, key_dim=2)
    x = torch.randn(2, 5, 8)
    mha(x, x)
    _copy_mha(mha, ref)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    ref_out, _ = ref(x, x, x, attn_mask=causal)
    torch.testing.assert_close(mha(x, x, use_causal_mask=True), ref_out)


def test_transformer_encoder_matches_torch_encoder_layer():
    torch.manual_seed(1)
    ref = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    block = TransformerEncoder(intermediate_dim=16, num_heads=2)
    x = torch.randn(3, 5, 8)
    block(x)
    _copy_mha(block.self_attention, ref.self_attn)
    with torch.no_grad():
        block.intermediate_dense.kernel.copy_(ref.linear1.weight)
        block.intermediate_dense.bias.copy_(ref.linear1.bias)
        block.output_dense.kernel.copy_(ref.linear2.weight)
        block.output_dense.bias.copy_(ref.linear2.bias)
        for ours, theirs in ((block.self_attention_norm, ref.norm1), (block.feedforward_norm, ref.norm2)):
            ours.gamma.copy_(theirs.weight.detach().normal_())
            ours.beta.copy_(theirs.bias.detach().normal_())
    torch.testing.assert_close(block(x), ref(x))
    pad = torch.tensor([[False] * 5, [False] * 2 + [True] * 3, [False] * 4 + [True]])
    real = ~pad
    torch.testing.assert_close(block(x, padding_mask=real)[real], ref(x, src_key_padding_mask=pad)[real])


def test_attention_dot_and_concat_scores():
    torch.manual_seed(2)
    q, v, k = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    out, weights = Attention()([q, v, k], return_attention_scores=True)
    expected_w = torch.softmax(q @ k.transpose(1, 2), dim=-1)
    torch.testing.assert_close(weights, expected_w)
    torch.testing.assert_close(out, expected_w @ v)
    layer = Attention(use_scale=True, score_mode="concat")
    layer([q, v])
    with torch.no_grad():
        layer.scale.fill_(0.5)
        layer.concat_score_weight.fill_(2.0)
    scores = 2.0 * torch.tanh(0.5 * (q[:, :, None] + v[:, None])).sum(-1)
    torch.testing.assert_close(layer([q, v]), torch.softmax(scores, -1) @ v)


def test_attention_masks_padded_values_and_passes_query_mask():
    q, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    v_mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    q_mask = torch.tensor([[True, True, True], [True, True, False]])
    out, weights = Attention()([set_mask(q.clone(), q_mask), set_mask(v.clone(), v_mask)],
                               return_attention_scores=True)
    assert torch.all(weights[1, :, 2:] < 1e-6)
    ref = torch.softmax(q[1:] @ v[1:, :2].transpose(1, 2), -1) @ v[1:, :2]
    torch.testing.assert_close(out[1, :2], ref[0, :2])
    assert torch.equal(out[1, 2], torch.zeros(4))  # the padded query step is zeroed, as Keras
    assert torch.equal(get_mask(out), q_mask)
    causal_w = Attention()([q, q], use_causal_mask=True, return_attention_scores=True)[1]
    assert torch.all(causal_w.triu(1) < 1e-6)


# ---------------------------------------------------------------- masking through the block
def test_transformer_encoder_padding_changes_nothing_at_real_positions():
    torch.manual_seed(3)
    emb = PositionalEmbedding(sequence_length=10, vocab_size=20, embed_dim=8, mask_zero=True)
    block = TransformerEncoder(intermediate_dim=16, num_heads=2)
    tokens = torch.tensor([[5, 3, 8, 2]])
    padded = torch.tensor([[5, 3, 8, 2, 0, 0, 0]])
    alone = block(emb(tokens))
    out = block(emb(padded))
    torch.testing.assert_close(out[:, :4], alone)
    assert torch.equal(get_mask(out), padded != 0)
    unmasked = TransformerEncoder.from_config(block.get_config())
    unmasked(emb(tokens))
    unmasked.load_state_dict(block.state_dict())
    emb_plain = PositionalEmbedding.from_config({**emb.get_config(), "mask_zero": False})
    emb_plain(padded)
    emb_plain.load_state_dict(emb.state_dict())
    assert not torch.allclose(unmasked(emb_plain(padded))[:, :4], alone)  # the mask mattered


def test_transformer_encoder_normalize_first_and_dropout():
    torch.manual_seed(4)
    x = torch.randn(2, 4, 8)
    block = TransformerEncoder(16, 2, normalize_first=True, dropout=0.5)
    block.eval()
    block(x)
    residual = x + block.self_attention(block.self_attention_norm(x), block.self_attention_norm(x))
    ff = block.output_dense(block.intermediate_dense(block.feedforward_norm(residual)))
    torch.testing.assert_close(block(x), residual + ff)
    block.train()
    assert not torch.allclose(block(x), block(x))  # dropout is active in training


def test_positional_embedding_adds_positions():
    emb = PositionalEmbedding(sequence_length=6, vocab_size=9, embed_dim=4)
    tokens = torch.tensor([[1, 2, 3], [4, 0, 1]])
    out = emb(tokens)
    expected = emb.token_embeddings[tokens] + emb.position_embeddings[:3]
    torch.testing.assert_close(out, expected)
    assert get_mask(out) is None


# ---------------------------------------------------------------- functional use
def test_multi_head_attention_functional_two_inputs():
    q_in = lamina.Input(shape=(4, 8))
    v_in = lamina.Input(shape=(None, 6))
    mha = MultiHeadAttention(num_heads=2, key_dim=3)
    out = mha(q_in, v_in)
    assert out.shape == (None, 4, 8)
    assert out.node.parents == [q_in, v_in]
    model = lamina.Model([q_in, v_in], out)
    q, v = torch.randn(2, 4, 8), torch.randn(2, 7, 6)
    torch.testing.assert_close(model([q, v]), mha(q, v))


def test_attention_layers_functional_model_saves_and_loads(tmp_path):
    torch.manual_seed(5)
    tokens_in = lamina.Input(shape=(5,), dtype="int64")
    emb = PositionalEmbedding(5, 20, 8, mask_zero=True)(tokens_in)
    enc = TransformerEncoder(16, 2)(emb)
    cross = MultiHeadAttention(2, 4)(enc, emb)
    luong = Attention()(cross, enc)  # two positional inputs, as [query, value]
    out = lamina.layers.Dense(1)(lamina.layers.Flatten()(luong))
    model = lamina.Model(tokens_in, out)
    model.eval()
    tokens = torch.tensor([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
    model.save(tmp_path / "att.lamina")
    loaded = lamina.load_model(tmp_path / "att.lamina")
    loaded.eval()
    torch.testing.assert_close(loaded(tokens), model(tokens))


def test_transformer_functional_text_classifier_trains():
    lamina.set_seed(0)
    tokens_in = lamina.Input(shape=(6,), dtype="int64")
    x = PositionalEmbedding(6, 12, 8, mask_zero=True)(tokens_in)
    x = TransformerEncoder(16, 2)(x)
    x = lamina.layers.Flatten()(x)
    out = lamina.layers.Dense(1, activation="sigmoid")(x)
    model = lamina.Model(tokens_in, out)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(1, 12, (256, 6), generator=gen)
    y = (tokens[:, 0] > 6).float()[:, None]  # depends on the first token only
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(tokens[:192], y[:192], epochs=5, batch_size=64, verbose=0)
    _, acc = model.evaluate(tokens[192:], y[192:], verbose=0)
    assert acc > 0.85, acc  # chance is about 0.5


# ---------------------------------------------------------------- errors
def test_multi_head_attention_errors():
    mha = MultiHeadAttention(num_heads=2, key_dim=4)
    with pytest.raises(ValueError, match=r"needs a `value`.*Received: only the query"):
        mha(torch.randn(2, 3, 8))
    with pytest.raises(ValueError, match=r"expects its inputs as \[query, value\]"):
        mha([torch.randn(2, 3, 8)])
    with pytest.raises(ValueError, match=r"`MultiHeadAttention` expects `num_heads` to be a positive integer"):
        MultiHeadAttention(num_heads=0, key_dim=4)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match=r"expects `attention_mask` of shape \(batch, Tq, Tv\)"):
        mha(x, x, attention_mask=torch.ones(3, dtype=torch.bool))
    q_in = lamina.Input(shape=(3, 8))
    with pytest.raises(TypeError, match=r"tensors are passed positionally.*Received: key="):
        MultiHeadAttention(2, 4)(q_in, q_in, key=q_in)


def test_transformer_and_embedding_errors():
    emb = PositionalEmbedding(sequence_length=4, vocab_size=9, embed_dim=4)
    with pytest.raises(ValueError, match=r"steps <= sequence_length=4.*\(2, 5\)"):
        emb(torch.zeros(2, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"needs width >= num_heads"):
        TransformerEncoder(8, num_heads=4)(torch.randn(1, 2, 2))
    with pytest.raises(ValueError, match=r"expects `mask` to be a \(batch, steps\)"):
        TransformerEncoder(8, 2)(torch.randn(2, 3, 4), padding_mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"`Attention` expects `score_mode` to be one of"):
        Attention(score_mode="general")
    with pytest.raises(ValueError, match=r"same last dimension"):
        Attention()([torch.randn(1, 2, 3), torch.randn(1, 2, 4)])


def test_attention_scale_matches_sdpa_scale():
    # The per-head scale is 1 / sqrt(key_dim), as Keras and the paper.
    mha = MultiHeadAttention(num_heads=1, key_dim=4, use_bias=False)
    x = torch.randn(1, 3, 4)
    _, w = mha(x, x, return_attention_scores=True)
    q, k = mha.query(x), mha.key(x)
    torch.testing.assert_close(w[:, 0], torch.softmax(q @ k.transpose(1, 2) / math.sqrt(4), -1))


@pytest.mark.parametrize("module", [attention, transformer])
def test_attention_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
