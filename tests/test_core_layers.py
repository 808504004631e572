"""Contract and parity tests for the core layers (Dense, Activation, Dropout,
Flatten, Reshape, BatchNormalization, LayerNormalization, Embedding)."""

import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from tests.layer_test_utils import run_layer_test


@pytest.mark.parametrize(
    "cls, kwargs, input_shape, output_shape, n_train, n_non_train, dtype",
    [
        (layers.Dense, {"units": 4}, (3, 5), (3, 4), 2, 0, torch.float32),
        (layers.Dense, {"units": 4, "use_bias": False, "activation": "relu"}, (3, 2, 5), (3, 2, 4), 1, 0, torch.float32),
        (layers.Dense, {"units": 2, "kernel_regularizer": "l2", "kernel_initializer": "he_normal"}, (3, 5), (3, 2), 2, 0, torch.float32),
        (layers.Activation, {"activation": "tanh"}, (3, 5), (3, 5), 0, 0, torch.float32),
        (layers.Dropout, {"rate": 0.5}, (3, 5), (3, 5), 0, 0, torch.float32),
        (layers.Flatten, {}, (3, 2, 4), (3, 8), 0, 0, torch.float32),
        (layers.Reshape, {"target_shape": (2, -1)}, (3, 8), (3, 2, 4), 0, 0, torch.float32),
        (layers.BatchNormalization, {}, (6, 5), (6, 5), 2, 2, torch.float32),
        (layers.BatchNormalization, {"axis": -1}, (4, 3, 3, 2), (4, 3, 3, 2), 2, 2, torch.float32),
        (layers.LayerNormalization, {}, (3, 5), (3, 5), 2, 0, torch.float32),
        (layers.Embedding, {"input_dim": 10, "output_dim": 3}, (2, 4), (2, 4, 3), 1, 0, torch.int64),
    ],
)
def test_core_layer_contract(cls, kwargs, input_shape, output_shape, n_train, n_non_train, dtype):
    run_layer_test(
        cls,
        kwargs,
        input_shape,
        output_shape,
        expected_num_trainable_weights=n_train,
        expected_num_non_trainable_weights=n_non_train,
        input_dtype=dtype,
    )


def test_dense_matches_torch_linear():
    layer = layers.Dense(4, activation="relu")
    x = torch.randn(8, 5)
    out = layer(x)
    ref = torch.nn.Linear(5, 4)
    ref.load_state_dict({"weight": layer.kernel, "bias": layer.bias})
    torch.testing.assert_close(out, torch.relu(ref(x)))


def test_dense_kernel_refuses_a_plain_tensor_as_keras_3_does():
    # tf.keras's hypernetwork idiom (`dense.kernel = w`, Keras layout) would be read
    # transposed here; Keras 3 refuses it (read-only property), and so does Lamina.
    dense = layers.Dense(4)
    dense.built = True
    with pytest.raises(AttributeError, match=r"`Dense.kernel` cannot be assigned a tensor.*shape \(4, 4\)"):
        dense.kernel = torch.randn(4, 4)
    built = layers.Dense(3)
    built.build((None, 2))
    with pytest.raises(AttributeError, match="set_weights"):
        built.kernel = torch.zeros(2, 3)
    built.kernel = torch.nn.Parameter(torch.ones(3, 2))  # a Parameter in PyTorch's layout is taken
    torch.testing.assert_close(built(torch.ones(1, 2)), torch.full((1, 3), 2.0))


def test_dense_builds_lazily_without_input_size():
    layer = layers.Dense(64)
    assert not layer.built
    layer(torch.ones(2, 7))
    assert layer.built and tuple(layer.kernel.shape) == (64, 7)
    assert layer.count_params() == 64 * 7 + 64


def test_batch_normalization_matches_torch_in_training_and_inference():
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    ref = torch.nn.BatchNorm1d(5, momentum=0.1, eps=1e-5)
    x = torch.randn(16, 5) * 3 + 1
    layer.train()
    ref.train()
    torch.testing.assert_close(layer(x), ref(x))
    torch.testing.assert_close(layer.moving_mean, ref.running_mean)
    torch.testing.assert_close(layer.moving_variance, ref.running_var)
    layer.eval()
    ref.eval()
    torch.testing.assert_close(layer(x), ref(x))


def test_batch_normalization_channels_last_normalizes_last_axis():
    layer = layers.BatchNormalization(epsilon=1e-5)
    x = torch.randn(4, 3, 3, 2)
    out = layer(x, training=True)
    ref = F.batch_norm(x.permute(0, 3, 1, 2), None, None, training=True, eps=1e-5).permute(0, 2, 3, 1)
    torch.testing.assert_close(out, ref)


def test_frozen_batch_normalization_runs_in_inference_mode():
    layer = layers.BatchNormalization()
    x = torch.randn(8, 3)
    layer(x)
    layer.trainable = False
    before = layer.moving_mean.clone()
    layer(torch.randn(8, 3) + 5, training=True)
    torch.testing.assert_close(layer.moving_mean, before)


def test_layer_normalization_matches_torch():
    layer = layers.LayerNormalization(epsilon=1e-5)
    x = torch.randn(4, 6)
    torch.testing.assert_close(layer(x), F.layer_norm(x, (6,), eps=1e-5))


def test_embedding_matches_torch():
    layer = layers.Embedding(10, 3)
    idx = torch.tensor([[1, 2, 0], [9, 9, 4]])
    torch.testing.assert_close(layer(idx), F.embedding(idx, layer.embeddings))


def test_dropout_training_flag_and_identity_in_inference():
    lamina.set_seed(0)
    layer = layers.Dropout(0.5)
    x = torch.ones(1000)
    out = layer(x, training=True)
    zeros = (out == 0).float().mean().item()
    assert 0.4 < zeros < 0.6
    torch.testing.assert_close(out[out != 0], torch.full_like(out[out != 0], 2.0))
    torch.testing.assert_close(layer(x, training=False), x)


def test_trainable_false_freezes_weights():
    layer = layers.Dense(3)
    layer(torch.ones(1, 2))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    layer.trainable = True
    assert len(layer.trainable_weights) == 2


def test_activity_and_weight_regularizers_add_to_losses():
    layer = layers.Dense(3, kernel_regularizer=lamina.regularizers.L2(0.1))
    layer(torch.ones(2, 4))
    (penalty,) = layer.losses
    torch.testing.assert_close(penalty, 0.1 * (layer.kernel**2).sum())


def test_unknown_layer_kwarg_is_rejected():
    with pytest.raises(TypeError, match=r"`Dense` got unexpected keyword argument\(s\): unit"):
        layers.Dense(4, unit=3)


def test_dense_rejects_bad_units():
    with pytest.raises(ValueError, match=r"`Dense` expects `units` to be a positive integer. Received: units=-3"):
        layers.Dense(-3)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation name: 'relux'. Valid names are: .*relu"):
        layers.Dense(3, activation="relux")


def test_wrong_input_width_names_layer_and_shapes():
    layer = layers.Dense(3, name="hidden")
    layer(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"layer 'hidden' \(Dense\).*\(None, 4\).*\(None, 5\)"):
        layer(torch.ones(2, 5))


def test_reshape_rejects_incompatible_target():
    with pytest.raises(ValueError, match=r"cannot reshape input of shape \(None, 6\)"):
        layers.Reshape((4,))(torch.ones(2, 6))
