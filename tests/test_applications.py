"""lamina.applications: residual / inception blocks, ResNetSmall and the Transformer classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.applications import (
    ResNetSmall,
    inception_module,
    residual_block,
    transformer_text_classifier,
)


@pytest.fixture(autouse=True)
def _fresh():
    lamina.clear_session()
    lamina.set_seed(0)


def _count(model: lamina.Model) -> int:
    return sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers()
                                                            if b.is_floating_point())


def _block_model(in_shape, filters, stride=1, use_batchnorm=True) -> lamina.Model:
    inputs = lamina.Input(shape=in_shape)
    return lamina.Model(inputs, residual_block(inputs, filters, stride=stride, use_batchnorm=use_batchnorm))


def _loss_in_training_mode(model: lamina.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy of the model in training mode (batch statistics, as `fit` sees it)."""
    model.train()
    with torch.no_grad():
        probs = model(torch.as_tensor(x), training=True)
    return float(torch.nn.functional.nll_loss(torch.log(probs), torch.as_tensor(y)).item())


def test_residual_block_identity_shortcut_keeps_shape_and_adds_no_projection():
    model = _block_model((8, 8, 16), 16)
    assert model.outputs[0].shape == (None, 8, 8, 16)
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    assert [tuple(c.kernel.shape) for c in convs] == [(16, 16, 3, 3)] * 2
    # Two 3x3 convolutions without bias, two batch norms (gamma, beta, moving mean, moving variance).
    assert _count(model) == 2 * (3 * 3 * 16 * 16) + 2 * (4 * 16)
    x = torch.randn(3, 8, 8, 16)
    assert model.predict(x, verbose=0).shape == (3, 8, 8, 16)


def test_residual_block_projection_shortcut_param_count_matches_manual_count():
    model = _block_model((8, 8, 16), 32, stride=2)
    assert model.outputs[0].shape == (None, 4, 4, 32)
    manual = (3 * 3 * 16 * 32) + (3 * 3 * 32 * 32) + (1 * 1 * 16 * 32) + 3 * (4 * 32)
    assert _count(model) == manual == 14720
    trainable = sum(p.numel() for p in model.trainable_weights)
    assert trainable == manual - 3 * (2 * 32)  # moving mean/variance are not trained
    lamina.clear_session()
    plain = _block_model((8, 8, 16), 32, stride=2, use_batchnorm=False)
    assert _count(plain) == (3 * 3 * 16 * 32 + 32) + (3 * 3 * 32 * 32 + 32) + (16 * 32 + 32)
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in plain.layers)


def test_residual_block_computes_relu_of_residual_plus_shortcut():
    model = _block_model((4, 4, 2), 2, use_batchnorm=False)
    conv1, conv2 = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    with torch.no_grad():
        conv2.kernel.zero_()
        conv2.bias.fill_(-0.25)
    x = torch.randn(2, 4, 4, 2)
    # F(x) is the constant -0.25, so the block is relu(x - 0.25).
    np.testing.assert_allclose(model.predict(x, verbose=0), torch.relu(x - 0.25).numpy(), atol=1e-6)


def test_residual_block_rejects_a_non_symbolic_input():
    with pytest.raises(ValueError, match="residual_block.*symbolic image tensor"):
        residual_block(torch.randn(2, 8, 8, 3), 16)
    with pytest.raises(ValueError, match="filters"):
        residual_block(lamina.Input(shape=(8, 8, 3)), 0)


@pytest.mark.parametrize("input_shape", [(8, 8, 1), (32, 32, 3)])
def test_resnet_small_output_shape_and_summary(input_shape, capsys):
    model = ResNetSmall(input_shape=input_shape, num_classes=7, blocks=(1, 1, 1), base_filters=8)
    assert model.outputs[0].shape == (None, 7)
    probs = model.predict(np.random.default_rng(0).random((2, *input_shape), dtype=np.float32), verbose=0)
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    model.summary()
    out = capsys.readouterr().out
    assert "resnet_small" in out and "avg_pool" in out and "(Add)" in out
    assert f"Total params: {_count(model):,}" in out


def test_resnet_small_stage_widths_and_downsampling():
    model = ResNetSmall(input_shape=(8, 8, 1), blocks=(2, 1, 1), base_filters=4, include_top=False)
    assert model.outputs[0].shape == (None, 16)
    adds = [layer for layer in model.layers if isinstance(layer, layers.Add)]
    assert len(adds) == 4
    shortcuts = [layer.name for layer in model.layers if "shortcut_conv" in layer.name]
    assert shortcuts == ["stage2_block1_shortcut_conv", "stage3_block1_shortcut_conv"]
    with pytest.raises(ValueError, match="blocks"):
        ResNetSmall(input_shape=(8, 8, 1), blocks=())
    with pytest.raises(ValueError, match="input_shape"):
        ResNetSmall(input_shape=8)


def test_resnet_small_fit_step_reduces_loss_and_survives_save_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1), dtype=np.float32)
    y = np.arange(16) % 4
    model = ResNetSmall(input_shape=(8, 8, 1), num_classes=4, blocks=(1, 1), base_filters=8)
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    before = _loss_in_training_mode(model, x, y)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    after = _loss_in_training_mode(model, x, y)
    assert after < before
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)  # moving statistics move away from 0 / 1
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "resnet.lamina")
    loaded = lamina.load_model(tmp_path / "resnet.lamina")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_inception_module_concatenates_four_branches():
    inputs = lamina.Input(shape=(6, 6, 5))
    out = inception_module(inputs, 3, 2, 4, 1, 2, 6, name="inc")
    assert out.shape == (None, 6, 6, 3 + 4 + 2 + 6)
    model = lamina.Model(inputs, out)
    manual = (5 * 3 + 3) + (5 * 2 + 2) + (9 * 2 * 4 + 4) + (5 * 1 + 1) + (25 * 1 * 2 + 2) + (5 * 6 + 6)
    assert _count(model) == manual
    pooled = model.get_layer("inc_pool")
    assert isinstance(pooled, layers.MaxPooling2D)
    y = model.predict(np.random.default_rng(0).random((2, 6, 6, 5), dtype=np.float32), verbose=0)
    assert y.shape == (2, 6, 6, 15) and (y >= 0).all()  # every branch ends with a ReLU
    with pytest.raises(ValueError, match="filters_5x5"):
        inception_module(inputs, 3, 2, 4, 1, 0, 6)


def test_inception_model_trains_and_survives_save_load(tmp_path):
    inputs = lamina.Input(shape=(8, 8, 1))
    x = inception_module(inputs, 4, 2, 4, 2, 4, 4)
    x = layers.GlobalAveragePooling2D()(x)
    model = lamina.Model(inputs, layers.Dense(3, activation="softmax")(x))
    rng = np.random.default_rng(1)
    xs, ys = rng.random((12, 8, 8, 1), dtype=np.float32), np.arange(12) % 3
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    before = model.evaluate(xs, ys, verbose=0)
    model.fit(xs, ys, batch_size=12, epochs=1, verbose=0)
    assert model.evaluate(xs, ys, verbose=0) < before
    model.save(tmp_path / "inc.lamina")
    loaded = lamina.load_model(tmp_path / "inc.lamina")
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


def test_transformer_text_classifier_shapes_masking_and_summary(capsys):
    model = transformer_text_classifier(vocab_size=30, sequence_length=10, embed_dim=8, num_heads=2,
                                        ff_dim=16, num_classes=3, num_blocks=2)
    assert model.outputs[0].shape == (None, 3)
    encoders = [layer for layer in model.layers if isinstance(layer, layers.TransformerEncoder)]
    assert len(encoders) == 2
    tokens = np.array([[5, 6, 7, 0, 0, 0, 0, 0, 0, 0], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]], dtype=np.int64)
    probs = model.predict(tokens, verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    model.summary()
    assert "PositionalEmbedding" in capsys.readouterr().out
    with pytest.raises(ValueError, match="multiple of num_heads"):
        transformer_text_classifier(vocab_size=30, sequence_length=10, embed_dim=10, num_heads=3)


def test_transformer_text_classifier_ignores_padding_content_positions():
    """Padding (token 0) is masked: the prediction for a short text does not depend on
    what the model would compute at the padded positions (their position embeddings)."""
    model = transformer_text_classifier(vocab_size=20, sequence_length=8, embed_dim=8, ff_dim=16, dropout=0.0)
    tokens = np.array([[3, 4, 5, 0, 0, 0, 0, 0]], dtype=np.int64)
    first = model.predict(tokens, verbose=0)
    embedding = model.get_layer("embedding")
    with torch.no_grad():
        embedding.position_embeddings[3:] += 5.0
    np.testing.assert_allclose(model.predict(tokens, verbose=0), first, atol=1e-6)


def test_transformer_text_classifier_learns_and_survives_save_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 20, size=(32, 6))
    y = (x == 7).any(axis=1).astype(np.int64)
    model = transformer_text_classifier(vocab_size=20, sequence_length=6, embed_dim=8, ff_dim=16, dropout=0.0)
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    model.save(tmp_path / "tr.lamina")
    loaded = lamina.load_model(tmp_path / "tr.lamina")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("module_name", ["resnet", "inception", "transformer"])
def test_applications_docstring_examples_run(module_name):
    import doctest
    import importlib

    module = importlib.import_module(f"lamina.applications.{module_name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
