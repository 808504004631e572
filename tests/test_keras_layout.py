"""Keras's weight layout: each layer's conversion both ways, checked numerically."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from lamina.saving.keras_layout import get_keras_weights, keras_weight_groups, set_keras_weights

RNG = np.random.default_rng(0)


def _built(layer, shape):
    layer.build_from_shape(shape)
    return layer


def _randomize(layer):
    arrays = [RNG.standard_normal(a.shape).astype(a.dtype) for a in get_keras_weights(layer)]
    set_keras_weights(layer, arrays)
    return arrays


def _run(layer, x):
    layer.eval()
    with torch.no_grad():
        out = layer(torch.as_tensor(x))
    return out.numpy()


@pytest.mark.parametrize(
    "layer, shape",
    [
        (layers.Dense(3), (None, 4)),
        (layers.Conv1D(3, 2), (None, 5, 4)),
        (layers.Conv2D(3, (2, 3), groups=1), (None, 5, 6, 4)),
        (layers.Conv2DTranspose(3, 2), (None, 5, 6, 4)),
        (layers.DepthwiseConv2D(2, depth_multiplier=3), (None, 5, 6, 4)),
        (layers.SeparableConv2D(5, 2, depth_multiplier=2), (None, 5, 6, 4)),
        (layers.BatchNormalization(), (None, 4)),
        (layers.LayerNormalization(), (None, 4)),
        (layers.Embedding(10, 3), (None, 5)),
        (layers.SimpleRNN(3), (None, 5, 4)),
        (layers.LSTM(3), (None, 5, 4)),
        (layers.GRU(3), (None, 5, 4)),
        (layers.Bidirectional(layers.LSTM(3)), (None, 5, 4)),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else None,
)
def test_keras_weights_round_trip(layer, shape):
    _built(layer, shape)
    arrays = _randomize(layer)
    again = get_keras_weights(layer)
    assert [a.shape for a in again] == [a.shape for a in arrays]
    for a, b in zip(arrays, again):
        np.testing.assert_array_equal(a, b)


def test_dense_keras_kernel_computes_x_at_kernel_plus_bias():
    dense = _built(
        layers.Dense(3), (None, 3)
    )  # square: a transposed kernel would not be caught by shape
    kernel, bias = (
        RNG.standard_normal((3, 3)).astype("float32"),
        RNG.standard_normal(3).astype("float32"),
    )
    set_keras_weights(dense, [kernel, bias])
    x = RNG.standard_normal((2, 3)).astype("float32")
    np.testing.assert_allclose(_run(dense, x), x @ kernel + bias, rtol=1e-5, atol=1e-5)


def test_conv2d_keras_kernel_equals_torch_conv_with_permuted_kernel():
    conv = _built(layers.Conv2D(3, (2, 3)), (None, 5, 6, 4))
    kernel, bias = _randomize(conv)
    x = RNG.standard_normal((2, 5, 6, 4)).astype("float32")
    ref = F.conv2d(
        torch.as_tensor(x).permute(0, 3, 1, 2),
        torch.as_tensor(kernel).permute(3, 2, 0, 1),
        torch.as_tensor(bias),
    ).permute(0, 2, 3, 1)
    np.testing.assert_allclose(_run(conv, x), ref.numpy(), rtol=1e-5, atol=1e-5)


def test_depthwise_conv2d_keras_kernel_matches_per_channel_numpy_reference():
    conv = _built(
        layers.DepthwiseConv2D((2, 2), depth_multiplier=2, use_bias=False), (None, 3, 3, 2)
    )
    (kernel,) = _randomize(conv)  # (kh, kw, in, m)
    x = RNG.standard_normal((1, 3, 3, 2)).astype("float32")
    ref = np.zeros((1, 2, 2, 4), "float32")
    for i in range(2):
        for j in range(2):
            patch = x[0, i : i + 2, j : j + 2, :]  # (kh, kw, in)
            ref[0, i, j] = np.einsum("hwc,hwcm->cm", patch, kernel).reshape(-1)
    np.testing.assert_allclose(_run(conv, x), ref, rtol=1e-5, atol=1e-5)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_gru_keras_weights_follow_keras_gru_equations():
    gru = _built(layers.GRU(3), (None, 4, 2))
    kernel, recurrent, bias = _randomize(gru)
    assert bias.shape == (2, 9)
    x = RNG.standard_normal((2, 4, 2)).astype("float32")
    h = np.zeros((2, 3), "float32")
    for t in range(4):  # Keras's GRU, reset_after=True, gates z, r, h
        xm = x[:, t] @ kernel + bias[0]
        hm = h @ recurrent + bias[1]
        z = _sigmoid(xm[:, :3] + hm[:, :3])
        r = _sigmoid(xm[:, 3:6] + hm[:, 3:6])
        hh = np.tanh(xm[:, 6:] + r * hm[:, 6:])
        h = z * h + (1 - z) * hh
    np.testing.assert_allclose(_run(gru, x), h, rtol=1e-4, atol=1e-5)


def test_lstm_keras_weights_follow_keras_lstm_equations():
    lstm = _built(layers.LSTM(3), (None, 4, 2))
    kernel, recurrent, bias = _randomize(lstm)
    x = RNG.standard_normal((2, 4, 2)).astype("float32")
    h = c = np.zeros((2, 3), "float32")
    for t in range(4):  # gates i, f, c, o
        zs = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = (
            _sigmoid(zs[:, :3]),
            _sigmoid(zs[:, 3:6]),
            np.tanh(zs[:, 6:9]),
            _sigmoid(zs[:, 9:]),
        )
        c = f * c + i * g
        h = o * np.tanh(c)
    np.testing.assert_allclose(_run(lstm, x), h, rtol=1e-4, atol=1e-5)


def test_multi_head_attention_keras_weights_follow_einsum_dense_shapes():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    mha.build_from_shape([(None, 4, 5), (None, 6, 5)])
    arrays = _randomize(mha)
    assert [a.shape for a in arrays] == [(5, 2, 3), (2, 3)] * 3 + [(2, 3, 5), (5,)]
    q, v = (
        RNG.standard_normal((1, 4, 5)).astype("float32"),
        RNG.standard_normal((1, 6, 5)).astype("float32"),
    )
    qp = np.einsum("btd,dnh->bnth", q, arrays[0]) + arrays[1][:, None]
    kp = np.einsum("btd,dnh->bnth", v, arrays[2]) + arrays[3][:, None]
    vp = np.einsum("btd,dnh->bnth", v, arrays[4]) + arrays[5][:, None]
    s = qp @ kp.transpose(0, 1, 3, 2) / np.sqrt(3)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ref = np.einsum("bnth,nhd->btd", p @ vp, arrays[6]) + arrays[7]
    mha.eval()
    with torch.no_grad():
        out = mha(torch.as_tensor(q), torch.as_tensor(v)).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    assert [p for p, _ in keras_weight_groups(mha)] == [
        "query_dense",
        "key_dense",
        "value_dense",
        "output_dense",
    ]


def test_batch_normalization_keras_order_is_gamma_beta_mean_variance():
    bn = _built(layers.BatchNormalization(), (None, 2))
    set_keras_weights(
        bn, [np.array([2.0, 2.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), np.array([4.0, 4.0])]
    )
    x = np.array([[0.5, 2.5]], "float32")
    np.testing.assert_allclose(_run(bn, x), 2 * (x - 0.5) / np.sqrt(4 + 1e-3) + 1, rtol=1e-5)


def test_model_keras_weights_concatenate_layers_and_name_groups_like_keras():
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(4), layers.Dense(2)])
    arrays = get_keras_weights(model)
    assert [a.shape for a in arrays] == [(3, 4), (4,), (4, 2), (2,)]
    assert [p for p, a in keras_weight_groups(model) if a] == ["layers/dense", "layers/dense_1"]


def test_set_keras_weights_wrong_shape_names_layer_and_expected_shapes():
    dense = _built(layers.Dense(2, name="head"), (None, 3))
    with pytest.raises(
        ValueError,
        match=r"Layer 'head' \(Dense\) expects 2 weight arrays of shapes \[\(3, 2\), \(2,\)\].*Received: 2 arrays of shapes \[\(2, 3\), \(2,\)\]",
    ):
        set_keras_weights(dense, [np.zeros((2, 3)), np.zeros(2)])
