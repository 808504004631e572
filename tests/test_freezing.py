"""Freezing: `layer.trainable = False` keeps weights (and BatchNorm statistics) fixed in `fit`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    lamina.clear_session()
    lamina.set_seed(0)


def _data(n: int = 64, features: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(loc=2.0, scale=3.0, size=(n, features)).astype("float32")
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")
    return x, y


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _unchanged(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def _all_changed(before: dict[str, torch.Tensor], module: torch.nn.Module) -> bool:
    return all(not torch.equal(before[k], v) for k, v in module.state_dict().items())


def _base_and_model() -> tuple[lamina.Sequential, lamina.Model]:
    base = lamina.Sequential(
        [layers.Dense(8, activation="relu", name="base_dense"), layers.BatchNormalization(name="base_bn")],
        name="base",
    )
    inputs = lamina.Input(shape=(6,))
    features = base(inputs)
    outputs = layers.Dense(1, name="head")(layers.BatchNormalization(name="head_bn")(features))
    return base, lamina.Model(inputs, outputs)


def test_frozen_layer_keeps_its_weights_while_others_train():
    frozen, trained = layers.Dense(4, name="frozen"), layers.Dense(1, name="trained")
    model = lamina.Sequential([lamina.Input(shape=(6,)), frozen, trained])
    frozen.trainable = False
    assert not frozen.kernel.requires_grad and not frozen.bias.requires_grad
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    before_frozen, before_trained = _snapshot(frozen), _snapshot(trained)
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert _unchanged(before_frozen, frozen)
    assert _all_changed(before_trained, trained)


def test_freezing_a_sub_model_freezes_all_its_layers_and_its_batchnorm_statistics():
    base, model = _base_and_model()
    base.trainable = False
    assert all(not p.requires_grad for p in base.parameters())
    before_base, before_head_bn = _snapshot(base), _snapshot(model.get_layer("head_bn"))
    before_head = _snapshot(model.get_layer("head"))
    model.compile(optimizer="adam", loss="mse")
    x, y = _data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    # Frozen weights and the frozen BatchNorm's moving statistics stay as they were...
    assert _unchanged(before_base, base)
    # ...while the trainable BatchNorm (same fit) updates its statistics and the head learns.
    bn = model.get_layer("head_bn")
    assert not torch.equal(before_head_bn["moving_mean"], bn.moving_mean)
    assert _all_changed(before_head, model.get_layer("head"))


def test_frozen_batchnorm_runs_in_inference_mode_during_training():
    base, model = _base_and_model()
    base.trainable = False
    model.train()
    x = torch.from_numpy(_data(16)[0])
    bn = base.get_layer("base_bn")
    hidden = torch.relu(torch.nn.functional.linear(x, base.get_layer("base_dense").kernel,
                                                   base.get_layer("base_dense").bias))
    expected = (hidden - bn.moving_mean) / torch.sqrt(bn.moving_variance + bn.epsilon) * bn.gamma + bn.beta
    torch.testing.assert_close(base(x, training=True), expected)


def test_summary_counts_frozen_weights_as_non_trainable():
    base, model = _base_and_model()
    base.trainable = False
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    frozen = sum(p.numel() for p in base.parameters())
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert f"Trainable params: {trainable:,} " in lines[0]
    assert f"Non-trainable params: {frozen + buffers:,} " in lines[0]
    assert f"Total params: {trainable + frozen + buffers:,} " in lines[0]


def test_unfreezing_for_fine_tuning_trains_the_base_again():
    base, model = _base_and_model()
    x, y = _data()
    base.trainable = False
    model.compile(optimizer="adam", loss="mse")
    before = _snapshot(base)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert _unchanged(before, base)

    base.trainable = True
    assert all(p.requires_grad for p in base.parameters())
    # As in Keras, compile again after changing `trainable` (a new optimizer with a low rate).
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate=1e-4), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert _all_changed(before, base)


def test_model_built_frozen_stays_frozen_through_its_config():
    inputs = lamina.Input(shape=(3,))
    model = lamina.Model(inputs, layers.Dense(2)(inputs), trainable=False)
    assert not model.trainable and all(not p.requires_grad for p in model.parameters())
    rebuilt = lamina.Model.from_config(model.get_config())
    assert not rebuilt.trainable and all(not p.requires_grad for p in rebuilt.parameters())
