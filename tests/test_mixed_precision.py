"""Mixed precision and dtype policies (issue #17): `lamina.mixed_precision`, layers'
`dtype=`, `compile(precision=)`, loss scaling, `fit` inside a user's autocast,
saving and export of a mixed-precision model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers, mixed_precision
from lamina.mixed_precision import DTypePolicy


@pytest.fixture(autouse=True)
def _default_global_policy():
    mixed_precision.set_global_policy(None)
    yield
    mixed_precision.set_global_policy(None)


def _data(n=256, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, (x.sum(1) > 0).astype("int64")


def _mlp(final_dtype=None, policy=None):
    return lamina.Sequential(
        [
            lamina.Input(shape=(8,)),
            layers.Dense(16, activation="relu", dtype=policy),
            layers.Dense(2, activation="softmax", dtype=final_dtype),
        ]
    )


# ---------------------------------------------------------------- policies
@pytest.mark.parametrize(
    "name, compute, variable",
    [
        ("float32", "float32", "float32"),
        ("float64", "float64", "float64"),
        ("bfloat16", "bfloat16", "bfloat16"),
        ("float16", "float16", "float16"),
        ("mixed_float16", "float16", "float32"),
        ("mixed_bfloat16", "bfloat16", "float32"),
    ],
)
def test_dtype_policy_names(name, compute, variable):
    policy = DTypePolicy(name)
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == (name, compute, variable)
    assert repr(policy) == f'<DTypePolicy "{name}">'
    assert DTypePolicy.from_config(policy.get_config()) == policy
    assert lamina.dtype_policies.DTypePolicy is DTypePolicy


def test_dtype_policy_from_torch_dtype():
    assert DTypePolicy(torch.bfloat16).name == "bfloat16"
    assert DTypePolicy(torch.float64).variable_dtype == "float64"


@pytest.mark.parametrize("bad", ["not_a_dtype", "int32", 3, torch.int64])
def test_dtype_policy_invalid_name_lists_valid_ones(bad):
    with pytest.raises(
        ValueError, match=r"Valid policies are 'float32', 'float64', .*'mixed_bfloat16'.*Received"
    ):
        DTypePolicy(bad)


def test_global_policy_set_and_read():
    assert mixed_precision.global_policy() == DTypePolicy("float32")
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert mixed_precision.global_policy().name == "mixed_bfloat16"
    assert mixed_precision.dtype_policy() is mixed_precision.global_policy()
    assert DTypePolicy().name == "mixed_bfloat16"  # None: the global policy's name
    mixed_precision.set_dtype_policy(DTypePolicy("float16"))
    assert mixed_precision.global_policy().name == "float16"
    mixed_precision.set_global_policy(None)
    assert mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="not_a_dtype"):
        mixed_precision.set_global_policy("not_a_dtype")


def test_default_global_policy_follows_floatx():
    try:
        lamina.config.set_floatx("float64")
        assert mixed_precision.global_policy().name == "float64"
        assert layers.Dense(2)(torch.ones(1, 3, dtype=torch.float64)).dtype == torch.float64
        mixed_precision.set_global_policy("float32")  # a policy set wins over floatx
        assert layers.Dense(2).dtype_policy.name == "float32"
    finally:
        lamina.config.set_floatx("float32")
        mixed_precision.set_global_policy(None)
    assert mixed_precision.global_policy().name == "float32"


# ---------------------------------------------------------------- layers
def test_layer_dtype_attributes_and_weights():
    mixed = layers.Dense(3, dtype="mixed_bfloat16")
    out = mixed(torch.ones(2, 4))
    assert (mixed.dtype, mixed.variable_dtype, mixed.compute_dtype) == (
        "float32",
        "float32",
        "bfloat16",
    )
    assert mixed.dtype_policy == DTypePolicy("mixed_bfloat16")
    assert mixed.kernel.dtype == torch.float32 and out.dtype == torch.bfloat16
    pure = layers.Dense(3, dtype="bfloat16")
    assert pure(torch.ones(2, 4)).dtype == torch.bfloat16 and pure.kernel.dtype == torch.bfloat16
    double = layers.Dense(3, dtype=torch.float64)
    assert double(torch.ones(2, 4)).dtype == torch.float64 and double.bias.dtype == torch.float64
    assert double.dtype_policy.name == "float64"


def test_layer_default_policy_is_the_global_one_at_construction():
    before = layers.Dense(3)
    mixed_precision.set_global_policy("mixed_bfloat16")
    after = layers.Dense(3)
    assert before.dtype_policy.name == "float32" and after.dtype_policy.name == "mixed_bfloat16"
    assert after(torch.ones(1, 4)).dtype == torch.bfloat16
    assert after.kernel.dtype == torch.float32


def test_layer_invalid_dtype_is_an_error():
    with pytest.raises(
        ValueError, match=r"`Dense` got an invalid `dtype`.*'not_a_dtype'.*'mixed_float16'"
    ):
        layers.Dense(3, dtype="not_a_dtype")


def test_layer_get_config_round_trips_the_policy():
    layer = layers.Dense(3, dtype="mixed_float16")
    config = layer.get_config()
    assert config["dtype"] == "mixed_float16"
    back = layers.Dense.from_config(config)
    assert back.dtype_policy == layer.dtype_policy
    # Keras's serialized policy and a `DTypePolicy` are accepted too.
    config["dtype"] = {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "mixed_bfloat16"},
    }
    assert layers.Dense.from_config(config).compute_dtype == "bfloat16"
    config["dtype"] = DTypePolicy("float64")
    assert layers.Dense.from_config(config).variable_dtype == "float64"
    # An explicit float32 layer stays float32 when rebuilt under a mixed global policy.
    explicit = layers.Dense(3, dtype="float32").get_config()
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert layers.Dense.from_config(explicit).dtype_policy.name == "float32"


def test_default_float32_layer_config_has_no_dtype_entry():
    assert "dtype" not in layers.Dense(3).get_config()


def test_float32_layer_in_mixed_model_matches_torch_autocast():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _mlp(final_dtype="float32")
    x = torch.randn(5, 8)
    out = model(x)
    assert out.dtype == torch.float32
    hidden, final = model.layers
    assert hidden.compute_dtype == "bfloat16" and final.compute_dtype == "float32"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = F.relu(F.linear(x, hidden.kernel, hidden.bias))
    reference = torch.softmax(F.linear(h.float(), final.kernel, final.bias), dim=-1)
    assert h.dtype == torch.bfloat16
    torch.testing.assert_close(out, reference, rtol=0, atol=1e-6)
    # The whole model in bfloat16 differs from that (the softmax was in float32).
    with torch.autocast("cpu", dtype=torch.bfloat16):
        all_reduced = torch.softmax(F.linear(h, final.kernel, final.bias), dim=-1)
    assert all_reduced.dtype == torch.bfloat16


def test_layers_with_own_policies_inside_a_float32_model():
    model = lamina.Sequential(
        [
            lamina.Input(shape=(8,)),
            layers.Dense(6, activation="relu", dtype="bfloat16"),
            layers.Dense(5, dtype="float64"),
            layers.Dense(4, dtype="mixed_bfloat16"),
            layers.Dense(3),
        ]
    )
    x = torch.randn(4, 8)
    out = model(x)
    l1, l2, l3, l4 = model.layers
    # Each layer computes in its own dtype; its float32 neighbours get float32 inputs.
    h = F.relu(F.linear(x.bfloat16(), l1.kernel, l1.bias)).float()
    h = F.linear(h.double(), l2.kernel, l2.bias).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = F.linear(h.bfloat16(), l3.kernel, l3.bias)
    reference = F.linear(h.float(), l4.kernel, l4.bias)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, reference, rtol=0, atol=1e-6)
    # Called on their own, layers return their compute dtype (as Keras).
    assert [layer(torch.randn(2, layer.kernel.shape[1])).dtype for layer in model.layers] == [
        torch.bfloat16,
        torch.float64,
        torch.bfloat16,
        torch.float32,
    ]


# ---------------------------------------------------------------- training
def test_compile_precision_matches_a_torch_autocast_step():
    lamina.set_seed(0)
    x, y = _data(64)
    model = _mlp()
    model.compile(
        optimizer=lamina.optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        precision="mixed_bfloat16",
    )
    model.build((None, 8))
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    # The same step in plain PyTorch: forward under autocast, loss in float32.
    w1, b1, w2, b2 = params
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        probs = torch.softmax(F.linear(F.relu(F.linear(xt, w1, b1)), w2, b2), dim=-1)
    loss = F.nll_loss(torch.log(probs.float().clamp_min(1e-7)), yt)
    loss.backward()
    with torch.no_grad():
        expected = [p - 0.1 * p.grad for p in params]
    for got, want in zip(model.parameters(), expected):
        torch.testing.assert_close(got.detach(), want, rtol=1e-3, atol=1e-4)
    assert (
        max((g.detach() - p).abs().max().item() for g, p in zip(model.parameters(), params)) > 1e-3
    )


def test_losses_and_metrics_get_float32_predictions():
    seen = []

    def loss_fn(y_true, y_pred):
        seen.append(y_pred.dtype)
        return F.cross_entropy(torch.log(y_pred.clamp_min(1e-7)), y_true.long().reshape(-1))

    x, y = _data(64)
    model = _mlp()
    model.compile(optimizer="sgd", loss=loss_fn, metrics=["accuracy"], precision="mixed_bfloat16")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert seen and set(seen) == {torch.float32}
    assert model.predict(x[:3], verbose=0).dtype == np.float32


def test_compile_precision_invalid():
    model = _mlp()
    with pytest.raises(ValueError, match=r"`compile` got an invalid `precision`.*'not_a_dtype'"):
        model.compile(loss="mse", precision="not_a_dtype")
    with pytest.raises(
        ValueError, match=r"float64 computation needs float64 variables.*precision='float64'"
    ):
        model.compile(loss="mse", precision="float64")


def test_compile_precision_float32_turns_the_global_mixed_policy_off():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _mlp()
    mixed_precision.set_global_policy("float32")
    x = torch.randn(3, 8)
    assert model(x).dtype == torch.bfloat16
    model.compile(loss="sparse_categorical_crossentropy", precision="float32")
    # The layers' own (implicit) policies follow the model's call, which is float32 now.
    assert model(x).dtype == torch.float32


def test_tour_mlp_bfloat16_loss_within_two_percent_of_float32():
    from lamina.tour import _compiled, build_mlp

    x, y = lamina.data.load_digits()
    x = (x / 16.0).astype(np.float32)
    losses = {}
    for precision in ("float32", "mixed_bfloat16"):
        lamina.set_seed(0)
        model = _compiled(build_mlp())
        model.compile(
            optimizer=lamina.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            precision=precision,
        )
        history = model.fit(x, y, epochs=4, batch_size=64, verbose=0)
        losses[precision] = history.history["loss"][-1]
    assert losses["float32"] < 0.5  # it trained
    assert abs(losses["mixed_bfloat16"] - losses["float32"]) <= 0.02 * losses["float32"]


# ---------------------------------------------------------------- loss scaling
def _scaled_fit(device, initial_scale, steps=2):
    lamina.set_seed(0)
    x, y = _data(32 * steps)
    model = _mlp()
    model.compile(
        optimizer=lamina.optimizers.SGD(0.1),
        loss="sparse_categorical_crossentropy",
        precision="mixed_float16",
    )
    lamina.set_device(device)
    try:
        model.build((None, 8))
        model.to(device)
        before = [p.detach().clone() for p in model.parameters()]
        model._loss_scaler = mixed_precision.LossScaler(device, initial_scale=initial_scale)
        history = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
    finally:
        lamina.set_device(None)
    changed = max((p.detach() - b).abs().max().item() for p, b in zip(model.parameters(), before))
    return history.history, changed


def _check_loss_scaling(device):
    # 2**60 times the loss overflows float16 gradients: both steps are skipped, the
    # scale halves each time and the weights do not move.
    logs, changed = _scaled_fit(device, 2.0**60)
    assert logs["skipped_steps"] == [2.0] and logs["loss_scale"] == [2.0**58]
    assert changed == 0.0
    logs, changed = _scaled_fit(device, 2.0**8)
    assert logs["skipped_steps"] == [0.0] and logs["loss_scale"] == [2.0**8]
    assert changed > 1e-4


def test_float16_loss_scaling_skips_overflowing_steps_cpu():
    _check_loss_scaling("cpu")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_float16_loss_scaling_skips_overflowing_steps_cuda():
    _check_loss_scaling("cuda")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_mixed_float16_fit_on_cuda_trains_like_float32():
    x, y = _data(512)
    losses = {}
    lamina.set_device("cuda")
    try:
        for precision in ("float32", "mixed_float16"):
            lamina.set_seed(0)
            model = _mlp()
            model.compile(
                optimizer=lamina.optimizers.Adam(1e-2),
                loss="sparse_categorical_crossentropy",
                precision=precision,
            )
            history = model.fit(x, y, epochs=3, batch_size=64, verbose=0)
            losses[precision] = history.history["loss"][-1]
        assert history.history["skipped_steps"][-1] <= 2  # only the first scale may overflow
    finally:
        lamina.set_device(None)
    assert abs(losses["mixed_float16"] - losses["float32"]) <= 0.02 * losses["float32"]


# ---------------------------------------------------------------- user's autocast
def test_autocast_weight_cache_is_what_froze_fit_inside_a_user_autocast():
    # The mechanism, in plain PyTorch: inside one autocast block, a weight updated in
    # place is still read from autocast's cached bfloat16 copy until the cache is cleared.
    w = torch.nn.Parameter(torch.ones(2, 2))
    x = torch.ones(1, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        first = F.linear(x, w)
        with torch.no_grad():
            w.add_(1.0)
        stale = F.linear(x, w)
        mixed_precision.refresh_autocast_cache()
        fresh = F.linear(x, w)
    assert torch.equal(stale, first) and fresh.tolist() == [[4.0, 4.0]]


def test_fit_inside_a_user_autocast_trains_on_current_weights():
    # Before the fix, autocast's cache kept the first step's bfloat16 copies of the
    # weights for the whole `with` block: the loss stayed frozen while the weights moved.
    x, y = _data()

    def run(user_autocast):
        lamina.set_seed(0)
        model = _mlp()
        model.compile(
            optimizer=lamina.optimizers.SGD(0.5),
            loss="sparse_categorical_crossentropy",
            precision=None if user_autocast else "mixed_bfloat16",
        )
        if user_autocast:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                history = model.fit(
                    x, y, epochs=3, batch_size=256, verbose=0, validation_data=(x, y)
                )
        else:
            history = model.fit(x, y, epochs=3, batch_size=256, verbose=0, validation_data=(x, y))
        return history.history

    inside, policy = run(True), run(False)
    assert inside["loss"][2] < inside["loss"][1] < inside["loss"][0]
    np.testing.assert_allclose(inside["loss"], policy["loss"], rtol=1e-3)
    np.testing.assert_allclose(inside["val_loss"], policy["val_loss"], rtol=1e-3)


# ---------------------------------------------------------------- saving and export
def test_mixed_model_save_and_load_round_trip(tmp_path):
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = lamina.Sequential(
        [
            lamina.Input(shape=(8,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(4, dtype="bfloat16"),
            layers.Dense(2, activation="softmax", dtype="float32"),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", precision="mixed_bfloat16"
    )
    x, y = _data(64)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "mixed.lamina"
    model.save(path)
    mixed_precision.set_global_policy("float32")
    back = lamina.load_model(path)
    assert [layer.dtype_policy.name for layer in back.layers] == [
        "mixed_bfloat16",
        "bfloat16",
        "float32",
    ]
    assert [p.dtype for p in back.parameters()] == [p.dtype for p in model.parameters()]
    assert back.layers[1].kernel.dtype == torch.bfloat16
    for a, b in zip(model.parameters(), back.parameters()):
        assert torch.equal(a.detach(), b.detach())
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_mixed_model_keras_file_round_trip(tmp_path):
    import json
    import zipfile

    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _mlp(final_dtype="float32")
    mixed_precision.set_global_policy("float32")
    model.add(layers.Dense(3, dtype="bfloat16"))
    path = tmp_path / "mixed.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    policies = [entry["config"]["dtype"] for entry in config["config"]["layers"][1:]]
    assert [p["class_name"] for p in policies] == ["DTypePolicy"] * 3
    assert [p["config"]["name"] for p in policies] == ["mixed_bfloat16", "float32", "bfloat16"]
    back = lamina.load_model(path)
    assert [layer.compute_dtype for layer in back.layers] == ["bfloat16", "float32", "bfloat16"]
    assert back.layers[2].kernel.dtype == torch.bfloat16
    for a, b in zip(model.parameters(), back.parameters()):
        assert a.dtype == b.dtype and torch.equal(a.detach(), b.detach())
    x = np.random.default_rng(2).normal(size=(5, 8)).astype("float32")
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_mixed_model_exports_to_onnx_as_float32(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _mlp(final_dtype="float32")
    mixed_precision.set_global_policy("float32")
    path = tmp_path / "mixed.onnx"
    result = model.export(path, verbose=False)
    assert result.outputs[0]["dtype"] == "float32" and result.max_difference <= 1e-5
    x = np.random.default_rng(1).normal(size=(6, 8)).astype("float32")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    with mixed_precision.float32_path():
        float32_out = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(onnx_out, float32_out, atol=1e-5)
    # The mixed model itself computes in bfloat16: close, not equal.
    assert np.abs(onnx_out - model.predict(x, verbose=0)).max() < 1e-2
