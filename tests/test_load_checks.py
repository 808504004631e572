"""What `load_model` / `load_weights` check before loading: the model's size against the
file (on the meta device, before anything is allocated), the weights' dtypes and
finiteness, and the optimizer's configuration and state."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import lamina
from lamina.saving import InvalidFileError, file_io, model_io, preflight, registry
from lamina.saving.optimizer_checks import check_optimizer_config, check_optimizer_state

X = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
Y = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")


def _model() -> lamina.Model:
    return lamina.Sequential(
        [
            lamina.Input(shape=(4,)),
            lamina.layers.Dense(8, activation="relu", name="hidden"),
            lamina.layers.BatchNormalization(name="norm"),
            lamina.layers.Dense(2, name="out"),
        ]
    )


@pytest.fixture
def trained():
    lamina.set_seed(0)
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    return model


@pytest.fixture
def saved(tmp_path, trained):
    path = tmp_path / "m.lamina"
    trained.save(path)
    return path


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(path, edit) -> None:
    members = members_of(path)
    edit(members)
    with open(path, "wb") as f:
        file_io.write_zip(f, members)


def edit_json(path, member, fn) -> None:
    def edit(members):
        value = json.loads(members[member])
        fn(value)
        members[member] = json.dumps(value).encode()

    rewrite(path, edit)


def edit_tensors(path, member, fn) -> None:
    def edit(members):
        tensors = dict(st_load(members[member]))
        fn(tensors)
        members[member] = st_save(tensors)

    rewrite(path, edit)


def layer_config(config, name):
    return next(layer for layer in config["config"]["layers"] if layer["config"].get("name") == name)


def assert_same_predictions(model, path, **kwargs):
    loaded = lamina.load_model(path, **kwargs)
    np.testing.assert_array_equal(model.predict(X, verbose=0), loaded.predict(X, verbose=0))
    return loaded


# --------------------------------------------------------------------------- size preflight
def test_load_model_config_asking_for_huge_dense_is_refused_before_building(saved, trained):
    edit_json(saved, "config.json", lambda c: layer_config(c, "hidden")["config"].update(units=10**8))
    start = time.perf_counter()
    with pytest.raises(
        InvalidFileError,
        match=r"'config\.json' in 'm\.lamina' asks for [\d,]+ values \(\d.* GB\) but 'model\.safetensors' "
        r"holds 90 \(360 bytes\); the largest weights the file lacks: 'hidden\.kernel' \[100000000, 4\]",
    ) as info:
        lamina.load_model(saved)
    assert time.perf_counter() - start < 10
    assert info.value.path == str(saved) and info.value.member == "hidden.kernel"


def test_load_model_huge_config_fails_fast_under_a_memory_limit(saved, tmp_path):
    """The hostile file is loaded in a process that may not use more than 3 GiB of
    address space: building the model for real would need 16 GB."""
    edit_json(saved, "config.json", lambda c: layer_config(c, "hidden")["config"].update(units=10**9))
    script = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
        import lamina
        from lamina.saving import InvalidFileError
        try:
            lamina.load_model({str(saved)!r})
        except InvalidFileError as e:
            print("REFUSED:", e)
            sys.exit(0)
        print("LOADED")
        sys.exit(1)
        """
    )
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    # the build pass's activations (3 x 10**9 floats per layer) pass the cap first
    assert "REFUSED: Building the model described in 'config.json' in 'm.lamina' runs activations" in result.stdout
    assert "layer 'hidden' returns [" in result.stdout
    assert elapsed < 60


def test_load_model_build_pass_with_huge_activations_is_refused(saved):
    def edit(config):
        # inputs of shape (None, 2, 4), each step repeated 10**9 times by a first layer
        # without weights: the weights still match, the build pass would take 64 GB
        config["config"]["input"]["shape"] = [2, 4]
        config["config"]["layers"].insert(0, {"class_name": "UpSampling1D", "config": {"name": "up", "size": 10**9}})
        config["metadata"]["input"]["shape"] = [None, 2, 4]

    edit_json(saved, "config.json", edit)
    with pytest.raises(
        InvalidFileError,
        match=r"Building the model described in 'config\.json' in 'm\.lamina' runs activations of more than "
        r"2\.1 GB \(the largest: layer 'up' returns \[2, 2000000000, 4\], 64\.0 GB\)",
    ):
        lamina.load_model(saved)


def test_load_model_saved_input_shape_too_large_is_refused(saved):
    def edit(config):
        config["metadata"]["input"]["shape"] = [None, 10**6, 10**6]

    edit_json(saved, "config.json", edit)
    with pytest.raises(
        InvalidFileError, match=r"'config\.json' in 'm\.lamina' saves the input shape \(None, 1000000, 1000000\)"
    ):
        lamina.load_model(saved)


class ReadsValues(lamina.layers.Layer):
    """A layer whose call reads a value: it cannot run on the meta device."""

    def call(self, inputs):
        scale = float(inputs.abs().max()) * 0.0 + 1.0
        return inputs * scale


@pytest.fixture
def reads_values():
    lamina.register(ReadsValues, name="TestLoadChecksReadsValues")
    yield ReadsValues
    registry.unregister("TestLoadChecksReadsValues")


def test_load_model_meta_build_failure_falls_back_to_config_int_check(tmp_path, reads_values):
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(4,)), ReadsValues(name="reads"), lamina.layers.Dense(3, name="dense")]
    )
    path = tmp_path / "r.lamina"
    model.save(path)
    assert_same_predictions(model, path)  # the meta build fails, the real one works
    edit_json(path, "config.json", lambda c: layer_config(c, "dense")["config"].update(units=10**8))
    with pytest.raises(
        InvalidFileError,
        match=r"'config\.json' in 'r\.lamina' sets config\.layers\[\d\]\.config\.units = 100,000,000, "
        r"more than the 15 values 'model\.safetensors' holds",
    ):
        lamina.load_model(path)


def test_load_model_preflight_leaves_random_state_and_names_alone(saved, monkeypatch):
    def load_then_draw():
        lamina.clear_session()
        torch.manual_seed(3)
        np.random.seed(3)
        loaded = lamina.load_model(saved)
        return torch.rand(4), np.random.rand(2), lamina.layers.Dense(1).name, list(loaded.state_dict())

    with_preflight = load_then_draw()
    monkeypatch.setattr(model_io, "_preflight", lambda *args: None)
    without = load_then_draw()
    torch.testing.assert_close(with_preflight[0], without[0])
    np.testing.assert_array_equal(with_preflight[1], without[1])
    assert with_preflight[2:] == without[2:]


def test_seeded_initializer_is_a_no_op_on_meta_and_unchanged_on_cpu():
    init = lamina.initializers.GlorotUniform(seed=7)
    with torch.device("meta"):
        meta = init(torch.empty(3, 5))
    assert meta.device.type == "meta"
    a, b = init(torch.empty(3, 5)), init(torch.empty(3, 5))
    torch.testing.assert_close(a, b)
    expected = torch.empty(3, 5)
    torch.nn.init.uniform_(expected, -(6 / 8) ** 0.5, (6 / 8) ** 0.5, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a, expected)


def test_load_model_good_file_round_trips_with_optimizer_state(saved, trained):
    loaded = assert_same_predictions(trained, saved)
    assert loaded.optimizer.iterations == trained.optimizer.iterations
    for a, b in zip(loaded.optimizer.state_dict()["optimizer"]["state"].values(),
                    trained.optimizer.state_dict()["optimizer"]["state"].values()):
        torch.testing.assert_close(a["exp_avg"], b["exp_avg"])


# --------------------------------------------------------------------------- weights: dtypes, finiteness
def test_load_model_float64_weights_refused_then_cast_on_request(saved, trained):
    edit_tensors(saved, "model.safetensors", lambda t: t.update({k: v.double() for k, v in t.items()}))
    with pytest.raises(
        InvalidFileError,
        match=r"The weights in 'model\.safetensors' in 'm\.lamina' do not have the model's dtypes: "
        r"'hidden\.kernel' is torch\.float64 in the file but torch\.float32 in the model.*allow_dtype_cast=True",
    ):
        lamina.load_model(saved)
    assert_same_predictions(trained, saved, allow_dtype_cast=True)


def test_load_model_float64_weight_that_overflows_float32_is_refused_even_when_casting(saved):
    def edit(tensors):
        tensors.update({k: v.double() for k, v in tensors.items()})
        tensors["out.kernel"][0, 0] = 1e300

    edit_tensors(saved, "model.safetensors", edit)
    with pytest.raises(
        InvalidFileError,
        match=r"The weight 'out\.kernel' in 'model\.safetensors' in 'm\.lamina' is torch\.float64 and cannot "
        r"be cast to the model's torch\.float32 even with allow_dtype_cast=True: 1 finite value\(s\) become infinite",
    ):
        lamina.load_model(saved, allow_dtype_cast=True)


@pytest.mark.parametrize("dtype", [torch.bool, torch.int64])
def test_load_model_bool_or_int_weights_are_refused(saved, dtype):
    edit_tensors(saved, "model.safetensors", lambda t: t.update({"hidden.bias": t["hidden.bias"].to(dtype)}))
    with pytest.raises(
        InvalidFileError, match=rf"'hidden\.bias' is {dtype} in the file but torch\.float32 in the model"
    ):
        lamina.load_model(saved)


def test_load_model_nan_weights_are_refused_unless_allowed(saved):
    def edit(tensors):
        tensors["hidden.kernel"][1, 2] = float("nan")
        tensors["norm.moving_variance"][0] = float("inf")

    edit_tensors(saved, "model.safetensors", edit)
    with pytest.raises(
        InvalidFileError,
        match=r"The weights in 'model\.safetensors' in 'm\.lamina' are not finite: 'hidden\.kernel' holds 1 NaN "
        r"and 0 infinite value\(s\); 'norm\.moving_variance' holds 0 NaN and 1 infinite.*allow_nonfinite=True",
    ):
        lamina.load_model(saved)
    loaded = lamina.load_model(saved, allow_nonfinite=True)
    assert torch.isnan(loaded.state_dict()["hidden.kernel"][1, 2])


def test_load_weights_checks_dtypes_and_finiteness_and_leaves_the_model_unchanged(tmp_path, trained):
    path = tmp_path / "w.weights.safetensors"
    state = {k: v.detach().double() for k, v in trained.state_dict().items()}
    path.write_bytes(st_save(state))
    target = _model()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(InvalidFileError, match=r"'w\.weights\.safetensors' do not have the model's dtypes"):
        target.load_weights(path)
    for k, v in target.state_dict().items():
        torch.testing.assert_close(v, before[k])
    report = target.load_weights(path, allow_dtype_cast=True)
    assert report.ok
    np.testing.assert_array_equal(target.predict(X, verbose=0), trained.predict(X, verbose=0))

    state = {k: v.detach().clone() for k, v in trained.state_dict().items()}
    state["out.bias"][1] = float("-inf")
    path.write_bytes(st_save(state))
    with pytest.raises(InvalidFileError, match=r"'out\.bias' holds 0 NaN and 1 infinite value"):
        lamina.saving.load_weights(target, path)
    target.load_weights(path, allow_nonfinite=True)
    assert target.state_dict()["out.bias"][1] == float("-inf")


def test_load_flags_must_be_booleans(saved, trained):
    with pytest.raises(ValueError, match=r"`load_model` expects `allow_dtype_cast` to be True or False. Received: allow_dtype_cast='yes'"):
        lamina.load_model(saved, allow_dtype_cast="yes")
    with pytest.raises(ValueError, match=r"`load_weights` expects `allow_nonfinite` to be True or False. Received: allow_nonfinite=1"):
        trained.load_weights(saved, allow_nonfinite=1)


def test_load_model_argument_errors_come_before_reading_the_file(tmp_path):
    path = tmp_path / "garbage.lamina"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"`load_model` expects `compile` to be True or False. Received: compile='no'") as info:
        lamina.load_model(path, compile="no")
    assert not isinstance(info.value, InvalidFileError)


# --------------------------------------------------------------------------- members
def test_load_model_missing_weights_member_is_named(saved):
    rewrite(saved, lambda m: m.pop("model.safetensors"))
    with pytest.raises(InvalidFileError, match=r"'m\.lamina'.*'model\.safetensors'"):
        lamina.load_model(saved)


def test_load_model_missing_optimizer_tensors_member_is_named(saved, trained):
    rewrite(saved, lambda m: m.pop("optimizer.safetensors"))
    with pytest.raises(
        InvalidFileError,
        match=r"'m\.lamina' .*'optimizer\.json' refers to tensors but the archive has no 'optimizer\.safetensors'",
    ):
        lamina.load_model(saved)
    assert_same_predictions(trained, saved, compile=False)


def test_load_model_malformed_config_never_escapes_as_a_raw_error(saved):
    edit_json(saved, "config.json", lambda c: c["config"].update(layers=[17, None]))
    with pytest.raises(InvalidFileError, match=r"'m\.lamina'"):
        lamina.load_model(saved)


# --------------------------------------------------------------------------- optimizer
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.1])
def test_load_model_optimizer_json_bad_learning_rate_is_refused(saved, trained, value):
    def edit(saved_state):
        saved_state["state"]["optimizer"]["param_groups"][0]["lr"] = value

    edit_json(saved, "optimizer.json", edit)
    with pytest.raises(
        InvalidFileError,
        match=rf"'m\.lamina': the optimizer state in 'optimizer\.json' is invalid: parameter group 0 sets "
        rf"lr={value!r}; expected .*compile=False",
    ):
        lamina.load_model(saved)
    assert_same_predictions(trained, saved, compile=False)


def test_load_model_config_json_infinite_learning_rate_is_refused(saved):
    edit_json(saved, "config.json", lambda c: c["compile_config"]["optimizer"]["config"].update(learning_rate=float("inf")))
    with pytest.raises(
        InvalidFileError,
        match=r"'m\.lamina': the optimizer configuration in 'config\.json' is invalid: the optimizer 'Adam' sets "
        r"learning_rate=inf; expected a finite number",
    ):
        lamina.load_model(saved)


@pytest.mark.parametrize("value", [float("inf"), -1, 1e30])
def test_load_model_absurd_iteration_count_is_refused(saved, value):
    edit_json(saved, "optimizer.json", lambda s: s["state"].update(iterations=value))
    with pytest.raises(InvalidFileError, match=r"'optimizer\.json' is invalid: 'iterations' is"):
        lamina.load_model(saved)


def test_load_model_infinite_step_tensor_is_refused(saved):
    edit_tensors(saved, "optimizer.safetensors", lambda t: t["optimizer.state.0.step"].fill_(float("inf")))
    with pytest.raises(InvalidFileError, match=r"the state 'step' of parameter 0 is inf; expected a whole number"):
        lamina.load_model(saved)


def test_load_model_wrong_shaped_moment_is_refused_and_fit_never_crashes(saved, trained):
    edit_tensors(saved, "optimizer.safetensors", lambda t: t.update({"optimizer.state.0.exp_avg": torch.zeros(3)}))
    with pytest.raises(
        InvalidFileError,
        match=r"'m\.lamina': the optimizer state in 'optimizer\.json' is invalid: the state 'exp_avg' of "
        r"parameter 0 has shape \[3\] but the parameter has shape \[8, 4\]\. Load the model with compile=False",
    ) as info:
        lamina.load_model(saved)
    assert info.value.member == "optimizer.json"
    loaded = lamina.load_model(saved, compile=False)
    loaded.compile(optimizer="adam", loss="mse")
    loaded.fit(X, Y, epochs=1, verbose=0)


def test_load_model_nan_moment_is_refused(saved):
    edit_tensors(saved, "optimizer.safetensors", lambda t: t["optimizer.state.2.exp_avg_sq"].fill_(float("nan")))
    with pytest.raises(InvalidFileError, match=r"the state 'exp_avg_sq' of parameter 2 holds 8 NaN or infinite value"):
        lamina.load_model(saved)


def test_load_model_flipped_maximize_flag_is_refused(saved):
    edit_json(saved, "optimizer.json", lambda s: s["state"]["optimizer"]["param_groups"][0].update(maximize="yes"))
    with pytest.raises(InvalidFileError, match=r"parameter group 0 sets maximize='yes'; expected True, False or None"):
        lamina.load_model(saved)


def test_check_optimizer_state_compares_flags_with_a_built_optimizer(trained):
    state = trained.optimizer.state_dict()
    state["optimizer"]["param_groups"][0] = {**state["optimizer"]["param_groups"][0], "maximize": True}
    with pytest.raises(
        InvalidFileError, match=r"'ckpt' is invalid: parameter group 0 sets maximize=True but the compiled optimizer has maximize=False"
    ):
        check_optimizer_state(trained.optimizer, state, "'ckpt'")


def test_check_optimizer_state_accepts_every_optimizer_after_training():
    for name in ["sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam", "adadelta", "lion", "ftrl", "adafactor"]:
        lamina.set_seed(0)
        model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3), lamina.layers.Dense(2)])
        model.compile(optimizer=name, loss="mse")
        model.fit(X, Y, epochs=1, verbose=0)
        check_optimizer_state(model.optimizer, model.optimizer.state_dict(), f"'{name}'")
        check_optimizer_config(lamina.optimizers.serialize(model.optimizer), f"'{name}'")
        fresh = lamina.optimizers.get(name)
        check_optimizer_state(fresh, model.optimizer.state_dict(), f"'{name}'", params=model)
        other = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        with pytest.raises(InvalidFileError, match=rf"'{name}' is invalid: it tracks 4 parameters but the model has 2"):
            check_optimizer_state(fresh, model.optimizer.state_dict(), f"'{name}'", params=other)


def test_check_optimizer_config_accepts_a_schedule_and_refuses_bad_numbers():
    schedule = lamina.optimizers.serialize(
        lamina.optimizers.Adam(learning_rate=lamina.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9))
    )
    check_optimizer_config(schedule, "'s'")
    schedule["config"]["learning_rate"]["config"]["decay_rate"] = float("nan")
    with pytest.raises(InvalidFileError, match=r"learning-rate schedule sets learning_rate\.config\.decay_rate=nan"):
        check_optimizer_config(schedule, "'s'")
    for key, value, expected in [
        ("beta_1", 1.5, r"beta_1=1\.5; expected a number in \[0, 1\]"),
        ("epsilon", -1e-7, r"epsilon=-1e-07; expected a number >= 0"),
        ("weight_decay", float("inf"), r"weight_decay=inf; expected a finite number"),
    ]:
        config = lamina.optimizers.serialize(lamina.optimizers.Adam())
        config["config"][key] = value
        with pytest.raises(InvalidFileError, match=expected):
            check_optimizer_config(config, "'c'")


def test_preflight_caps_are_documented_constants():
    assert preflight.MAX_BUILD_ACTIVATION_BYTES == 2 * 2**30
    assert preflight.human_bytes(1_600_000_000) == "1.6 GB"
    assert preflight.human_bytes(512) == "512 bytes"


def test_load_keras_model_config_asking_for_huge_dense_is_refused_before_building(tmp_path, trained):
    path = tmp_path / "k.keras"
    trained.save(path)
    assert_same_predictions(trained, path)

    def edit(config):
        for layer in config["config"]["layers"]:
            if layer["config"].get("name") == "hidden":
                layer["config"]["units"] = 10**8

    edit_json(path, "config.json", edit)
    with pytest.raises(
        InvalidFileError,
        match=r"'config\.json' in 'k\.keras' asks for [\d,]+ values \(.* GB\) but 'model\.weights\.h5' is "
        r"[\d.]+ KB; the largest weights: 'hidden\.kernel' \[100000000, 4\]",
    ) as info:
        lamina.load_model(path)
    assert info.value.path == str(path)


def test_load_model_weights_made_before_a_failing_meta_build_are_counted(tmp_path):
    """A convolution whose kernel is longer than its input: the meta build creates the
    kernel and then fails in the forward pass; the kernel is still weighed."""
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(6, 2)), lamina.layers.Conv1D(4, 3, name="conv")])
    path = tmp_path / "c.lamina"
    model.save(path)
    edit_json(path, "config.json", lambda c: layer_config(c, "conv")["config"].update(filters=10**5, kernel_size=[10**5]))
    with pytest.raises(
        InvalidFileError,
        match=r"'config\.json' in 'c\.lamina' asks for 20,000,100,000 values \(80\.0 GB\) but 'model\.safetensors' "
        r"holds 28 .*'conv\.kernel' \[100000, 2, 100000\]",
    ):
        lamina.load_model(path)


def test_load_model_optimizer_json_learning_rate_as_text_is_refused(saved):
    edit_json(saved, "optimizer.json", lambda s: s["state"]["optimizer"]["param_groups"][0].update(lr="0.1"))
    with pytest.raises(InvalidFileError, match=r"parameter group 0 sets lr='0\.1'; expected a number"):
        lamina.load_model(saved)


def test_load_model_negative_second_moment_is_refused(saved):
    edit_tensors(saved, "optimizer.safetensors", lambda t: t["optimizer.state.0.exp_avg_sq"].mul_(-1.0).sub_(1e-3))
    with pytest.raises(
        InvalidFileError, match=r"the state 'exp_avg_sq' of parameter 0 holds 32 negative value\(s\); it accumulates squares"
    ):
        lamina.load_model(saved)


def test_load_weights_keras_h5_with_nan_is_refused_and_leaves_the_model_unchanged(tmp_path, trained):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "w.weights.h5"
    trained.save_weights(path)
    with h5py.File(path, "r+") as f:
        datasets = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) and obj.ndim == 2 else None)
        data = f[datasets[0]][()]
        data[0, 0] = np.nan
        f[datasets[0]][...] = data
    target = _model()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(InvalidFileError, match=r"'w\.weights\.h5' are not finite: '.*' holds 1 NaN and 0 infinite"):
        target.load_weights(path)
    for k, v in target.state_dict().items():
        torch.testing.assert_close(v, before[k])


def test_load_model_cast_flags_are_refused_for_keras_files(tmp_path, trained):
    path = tmp_path / "k.keras"
    trained.save(path)
    with pytest.raises(ValueError, match=r"`allow_dtype_cast` and `allow_nonfinite` for Lamina's `\.lamina` files only"):
        lamina.load_model(path, allow_nonfinite=True)
    trained.save_weights(tmp_path / "k.weights.h5")
    with pytest.raises(ValueError, match=r"`load_weights` accepts `allow_dtype_cast` and `allow_nonfinite` for Lamina's"):
        trained.load_weights(tmp_path / "k.weights.h5", allow_dtype_cast=True)
