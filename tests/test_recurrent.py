"""Recurrent layers: SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed.

Parity is checked against `torch.nn.RNN` / `LSTM` / `GRU` with the same weights.
"""

from __future__ import annotations

import doctest

import pytest
import torch
from layer_test_utils import run_layer_test

import lamina
from lamina.layers import (
    GRU,
    LSTM,
    Bidirectional,
    Dense,
    SimpleRNN,
    TimeDistributed,
    bidirectional,
    recurrent,
    time_distributed,
)
from lamina.layers.masking import get_mask


def _copy_from_torch(layer, ref: torch.nn.Module, suffix: str = "") -> None:
    """Copies a torch RNN's weights (direction ``suffix``) into a Lamina recurrent layer."""
    w_ih = getattr(ref, f"weight_ih_l0{suffix}")
    w_hh = getattr(ref, f"weight_hh_l0{suffix}")
    b_ih = getattr(ref, f"bias_ih_l0{suffix}")
    b_hh = getattr(ref, f"bias_hh_l0{suffix}")
    with torch.no_grad():
        layer.kernel.copy_(w_ih)
        layer.recurrent_kernel.copy_(w_hh)
        if isinstance(layer, GRU):
            layer.bias.copy_(torch.stack([b_ih, b_hh]))
        else:
            layer.bias.copy_(b_ih + b_hh)


def _built(layer, x: torch.Tensor):
    layer(x)
    return layer


# ---------------------------------------------------------------- contract
@pytest.mark.parametrize(
    "cls, kwargs, expected, n_weights",
    [
        (SimpleRNN, {"units": 4}, (2, 4), 3),
        (LSTM, {"units": 4, "return_sequences": True}, (2, 5, 4), 3),
        (GRU, {"units": 4, "use_bias": False}, (2, 4), 2),
        (LSTM, {"units": 4, "go_backwards": True, "dropout": 0.2}, (2, 4), 3),
    ],
)
def test_recurrent_layer_contract(cls, kwargs, expected, n_weights):
    run_layer_test(cls, kwargs, (2, 5, 3), expected, expected_num_trainable_weights=n_weights,
                   deterministic=True)


def test_recurrent_return_state_contract():
    run_layer_test(LSTM, {"units": 4, "return_state": True}, (2, 5, 3), [(2, 4), (2, 4), (2, 4)])


def test_bidirectional_contract():
    layer = run_layer_test(
        Bidirectional, {"layer": LSTM(3, return_sequences=True)}, (2, 5, 4), (2, 5, 6),
        expected_num_trainable_weights=6,
    )
    assert layer.backward_layer.go_backwards is True


def test_time_distributed_contract():
    run_layer_test(TimeDistributed, {"layer": Dense(6)}, (2, 5, 3), (2, 5, 6),
                   expected_num_trainable_weights=2)


def test_lstm_weight_shapes_and_keras_param_count():
    layer = _built(LSTM(8), torch.randn(1, 2, 5))
    assert tuple(layer.kernel.shape) == (32, 5)
    assert tuple(layer.recurrent_kernel.shape) == (32, 8)
    assert layer.count_params() == 4 * 8 * (5 + 8 + 1)  # Keras's count: one bias
    gru = _built(GRU(8), torch.randn(1, 2, 5))
    assert gru.count_params() == 3 * 8 * (5 + 8 + 2)  # Keras reset_after=True: two biases


def test_lstm_initializers_forget_bias_and_orthogonal_blocks():
    layer = _built(LSTM(6), torch.randn(1, 2, 3))
    bias = layer.bias.detach().view(4, 6)
    assert torch.equal(bias[1], torch.ones(6))
    assert torch.equal(bias[[0, 2, 3]], torch.zeros(3, 6))
    for block in layer.recurrent_kernel.detach().chunk(4):
        torch.testing.assert_close(block @ block.T, torch.eye(6), atol=1e-5, rtol=0)
    no_forget = _built(LSTM(6, unit_forget_bias=False), torch.randn(1, 2, 3))
    assert torch.equal(no_forget.bias.detach(), torch.zeros(24))


# ---------------------------------------------------------------- parity
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_matches_torch_lstm(return_sequences, go_backwards):
    torch.manual_seed(0)
    x = torch.randn(3, 7, 5)
    ref = torch.nn.LSTM(5, 4, batch_first=True)
    layer = _built(LSTM(4, return_sequences=return_sequences, return_state=True,
                        go_backwards=go_backwards), x)
    _copy_from_torch(layer, ref)
    out, h, c = layer(x)
    ref_out, (ref_h, ref_c) = ref(x.flip(1) if go_backwards else x)
    torch.testing.assert_close(out, ref_out if return_sequences else ref_h[0])
    torch.testing.assert_close(h, ref_h[0])
    torch.testing.assert_close(c, ref_c[0])


def test_lstm_initial_state_matches_torch():
    torch.manual_seed(1)
    x, h0, c0 = torch.randn(2, 4, 3), torch.randn(2, 5), torch.randn(2, 5)
    ref = torch.nn.LSTM(3, 5, batch_first=True)
    layer = _built(LSTM(5, return_sequences=True), x)
    _copy_from_torch(layer, ref)
    ref_out, _ = ref(x, (h0[None], c0[None]))
    torch.testing.assert_close(layer(x, initial_state=[h0, c0]), ref_out)
    with pytest.raises(ValueError, match=r"expects `initial_state` to be 2 tensor\(s\)"):
        layer(x, initial_state=[h0])


def test_gru_matches_torch_gru():
    torch.manual_seed(2)
    x = torch.randn(3, 6, 4)
    ref = torch.nn.GRU(4, 5, batch_first=True)
    layer = _built(GRU(5, return_sequences=True, return_state=True), x)
    _copy_from_torch(layer, ref)
    out, h = layer(x)
    ref_out, ref_h = ref(x)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h, ref_h[0])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_simple_rnn_matches_torch_rnn(activation):
    torch.manual_seed(3)
    x = torch.randn(3, 6, 4)
    ref = torch.nn.RNN(4, 5, nonlinearity=activation, batch_first=True)
    layer = _built(SimpleRNN(5, activation=activation, return_sequences=True), x)
    _copy_from_torch(layer, ref)
    torch.testing.assert_close(layer(x), ref(x)[0])


def test_bidirectional_matches_torch_bidirectional_lstm():
    torch.manual_seed(4)
    x = torch.randn(3, 6, 4)
    ref = torch.nn.LSTM(4, 5, batch_first=True, bidirectional=True)
    layer = _built(Bidirectional(LSTM(5, return_sequences=True, return_state=True)), x)
    _copy_from_torch(layer.forward_layer, ref)
    _copy_from_torch(layer.backward_layer, ref, "_reverse")
    out, fh, fc, bh, bc = layer(x)
    ref_out, (ref_h, ref_c) = ref(x)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(torch.stack([fh, bh]), ref_h)
    torch.testing.assert_close(torch.stack([fc, bc]), ref_c)


def test_bidirectional_masked_matches_packed_torch():
    torch.manual_seed(5)
    lengths = torch.tensor([6, 2, 4])
    mask = torch.arange(6)[None] < lengths[:, None]
    x = torch.randn(3, 6, 4) * mask[..., None]
    ref = torch.nn.LSTM(4, 5, batch_first=True, bidirectional=True)
    layer = _built(Bidirectional(LSTM(5, return_sequences=True)), x)
    _copy_from_torch(layer.forward_layer, ref)
    _copy_from_torch(layer.backward_layer, ref, "_reverse")
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, _ = torch.nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True, total_length=6)
    out = layer(x, mask=mask)
    torch.testing.assert_close(out, ref_out)
    assert torch.equal(get_mask(out), mask)


@pytest.mark.parametrize("mode, combine", [
    ("sum", lambda f, b: f + b), ("mul", lambda f, b: f * b), ("ave", lambda f, b: (f + b) / 2),
])
def test_bidirectional_merge_modes(mode, combine):
    torch.manual_seed(6)
    x = torch.randn(2, 5, 3)
    layer = _built(Bidirectional(GRU(4), merge_mode=mode), x)
    fw, bw = layer.forward_layer(x), layer.backward_layer(x)
    torch.testing.assert_close(layer(x), combine(fw, bw))
    both = Bidirectional(GRU(4), merge_mode=None)
    both(x)
    assert [tuple(o.shape) for o in both(x)] == [(2, 4), (2, 4)]


# ---------------------------------------------------------------- masking
@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_rnn_padded_sequence_gives_unpadded_result(cls):
    torch.manual_seed(7)
    tokens = torch.tensor([[5, 3, 8, 2, 0, 0, 0], [4, 9, 1, 7, 6, 2, 3]])
    emb = lamina.layers.Embedding(10, 4, mask_zero=True)
    layer = cls(6, return_sequences=True, return_state=True)
    seq, *states = layer(emb(tokens))
    alone_seq, *alone_states = layer(emb(tokens[:1, :4]))
    torch.testing.assert_close(states[0][:1], alone_states[0])
    torch.testing.assert_close(seq[:1, :4], alone_seq)
    assert torch.equal(seq[0, 4:], torch.zeros(3, 6))  # padded steps output zeros
    assert torch.equal(get_mask(seq), tokens != 0)
    last = cls.from_config({**layer.get_config(), "return_sequences": False, "return_state": False})
    last(emb(tokens))
    last.load_state_dict(layer.state_dict())
    torch.testing.assert_close(last(emb(tokens))[:1], alone_states[0])


def test_rnn_left_padded_and_holes_skip_masked_steps():
    torch.manual_seed(8)
    x = torch.randn(2, 6, 3)
    mask = torch.tensor([[False, False, True, True, True, True], [True, False, True, False, True, True]])
    layer = LSTM(4, return_sequences=True, return_state=True)
    seq, h, c = layer(x, mask=mask)
    for b in range(2):
        alone_seq, alone_h, _ = layer(x[b : b + 1, mask[b]])
        torch.testing.assert_close(h[b], alone_h[0])
        torch.testing.assert_close(seq[b, mask[b]], alone_seq[0])
        assert torch.equal(seq[b, ~mask[b]], torch.zeros(int((~mask[b]).sum()), 4))


def test_rnn_fully_masked_sequence_returns_initial_state():
    x = torch.randn(2, 3, 3)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    h0 = torch.randn(2, 4)
    seq, h = GRU(4, return_sequences=True, return_state=True)(x, mask=mask, initial_state=[h0])
    torch.testing.assert_close(h[1], h0[1])
    assert torch.equal(seq[1], torch.zeros(3, 4))


def test_time_distributed_matches_per_step_and_keeps_mask():
    torch.manual_seed(9)
    x = torch.randn(2, 4, 3)
    td = TimeDistributed(Dense(5))
    out = td(x)
    for t in range(4):
        torch.testing.assert_close(out[:, t], td.layer(x[:, t]))
    masked = lamina.layers.Masking()(torch.cat([x, torch.zeros(2, 2, 3)], dim=1))
    assert torch.equal(get_mask(td(masked)), torch.tensor([[True] * 4 + [False] * 2] * 2))


# ---------------------------------------------------------------- errors
def test_recurrent_dropout_is_rejected_with_reason():
    with pytest.raises(ValueError, match=r"supports only `recurrent_dropout=0.0`.*fused.*Received: recurrent_dropout=0.2"):
        LSTM(4, recurrent_dropout=0.2)


def test_recurrent_unsupported_options_are_rejected():
    with pytest.raises(ValueError, match=r"activation='tanh' and recurrent_activation='sigmoid' only"):
        LSTM(4, activation="relu")
    with pytest.raises(ValueError, match=r"Received: activation='sigmoid'"):
        SimpleRNN(4, activation="sigmoid")
    with pytest.raises(ValueError, match=r"supports only `reset_after=True`"):
        GRU(4, reset_after=False)
    with pytest.raises(ValueError, match=r"does not support `stateful=True`"):
        GRU(4, stateful=True)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\): recurrent_activation"):
        SimpleRNN(4, recurrent_activation="sigmoid")
    with pytest.raises(ValueError, match=r"`LSTM` expects `units` to be a positive integer"):
        LSTM(0)


def test_recurrent_rejects_wrong_rank_and_width():
    layer = LSTM(4)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch, timesteps, features\)"):
        layer(torch.randn(2, 3))
    layer(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"built for input shape"):
        layer(torch.randn(2, 3, 6))


def test_bidirectional_rejects_bad_arguments():
    with pytest.raises(TypeError, match=r"expects `layer` to be a recurrent layer"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match=r"`merge_mode` to be one of"):
        Bidirectional(LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match=r"`backward_layer.go_backwards` to be the opposite"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3))
    with pytest.raises(ValueError, match=r"same `return_sequences`"):
        Bidirectional(LSTM(3), backward_layer=LSTM(3, go_backwards=True, return_sequences=True))


def test_bidirectional_custom_backward_layer_round_trips():
    layer = Bidirectional(LSTM(3), backward_layer=GRU(3, go_backwards=True))
    layer(torch.randn(2, 4, 2))
    clone = Bidirectional.from_config(layer.get_config())
    assert isinstance(clone.backward_layer, GRU)
    assert clone.get_config() == layer.get_config()


# ---------------------------------------------------------------- functional use and saving
def test_encoder_states_feed_decoder_in_functional_model(tmp_path):
    torch.manual_seed(10)
    enc_in, dec_in = lamina.Input(shape=(None, 4)), lamina.Input(shape=(None, 3))
    encoder, decoder = LSTM(6, return_state=True), LSTM(6, return_sequences=True)
    _, h, c = encoder(enc_in)
    out = decoder(dec_in, [h, c])  # states passed positionally, as the graph replays them
    model = lamina.Model([enc_in, dec_in], out)
    a, b = torch.randn(2, 5, 4), torch.randn(2, 3, 3)
    _, h_val, c_val = encoder(a)
    expected = decoder(b, initial_state=[h_val, c_val])
    torch.testing.assert_close(model([a, b]), expected)
    torch.testing.assert_close(decoder([b, h_val, c_val]), expected)
    with pytest.raises(ValueError, match=r"received initial states both positionally and as `initial_state=`"):
        decoder(b, [h_val, c_val], initial_state=[h_val, c_val])
    model.save(tmp_path / "seq2seq.lamina")
    torch.testing.assert_close(lamina.load_model(tmp_path / "seq2seq.lamina")([a, b]), expected)


def test_sequential_with_wrappers_saves_and_loads(tmp_path):
    torch.manual_seed(11)
    model = lamina.Sequential([
        lamina.Input(shape=(None,), dtype="int64"),
        lamina.layers.Embedding(20, 8, mask_zero=True),
        Bidirectional(LSTM(6, return_sequences=True)),
        TimeDistributed(Dense(4)),
        GRU(5),
        Dense(2),
    ])
    # Keras's parameter counts: 2 * 4 * 6 * (8 + 6 + 1), 12 * 4 + 4, 3 * 5 * (4 + 5 + 2).
    assert [m.count_params() for m in model.layers[1:4]] == [720, 52, 165]
    tokens = torch.tensor([[3, 4, 5, 0, 0], [1, 2, 3, 4, 5]])
    model.eval()
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    loaded.eval()
    torch.testing.assert_close(loaded(tokens), model(tokens))
    torch.testing.assert_close(model(tokens)[:1], model(tokens[:1, :3]))


# ---------------------------------------------------------------- end to end
def test_embedding_lstm_dense_learns_token_presence():
    """Classify whether token 1 appears in a right-padded sequence of variable length."""
    lamina.set_seed(0)
    gen = torch.Generator().manual_seed(0)
    n, steps = 384, 12
    tokens = torch.randint(2, 10, (n, steps), generator=gen)
    lengths = torch.randint(3, steps + 1, (n,), generator=gen)
    has_one = torch.rand(n, generator=gen) < 0.5
    pos = (torch.rand(n, generator=gen) * lengths).long()
    tokens[has_one, pos[has_one]] = 1
    tokens[torch.arange(steps)[None] >= lengths[:, None]] = 0
    # A token 1 in the padding would leak the label: padding is 0 everywhere.
    y = has_one.float()[:, None]
    model = lamina.Sequential([
        lamina.layers.Embedding(10, 8, mask_zero=True),
        LSTM(16),
        Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate=0.03), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(tokens[:256], y[:256], epochs=5, batch_size=64, verbose=0)
    _, acc = model.evaluate(tokens[256:], y[256:], verbose=0)
    assert acc > 0.85, acc  # chance is 0.5


@pytest.mark.parametrize("module", [recurrent, bidirectional, time_distributed])
def test_recurrent_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
