"""Adadelta, Lion, Ftrl and Adafactor against torch.optim or a NumPy transcription
of Keras 3's update rules; `optimizer.apply`; the optimizers in `fit`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers

C = np.array([[0.5, 1.0, 2.0, 0.3], [1.5, 0.2, 0.8, 1.1], [0.7, 0.9, 0.4, 1.3]])
D = np.array([[0.3, -0.2, 0.1, 0.5], [-0.4, 0.6, -0.1, 0.2], [0.2, 0.1, -0.3, -0.6]])
W0 = np.array([[1.0, -0.5, 0.25, 2.0], [-1.5, 0.75, 0.1, -0.2], [0.3, 1.2, -0.8, 0.6]])
B0 = np.array([0.5, -1.0, 0.2, 0.9])


def _grads(w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of ``sum(C * w**2) / 2 + sum(D * w) + sum(b**2 * [1, 2, 3, 4]) / 2``."""
    return C * w + D, b * np.array([1.0, 2.0, 3.0, 4.0])


def _run_lamina(opt: optimizers.Optimizer, steps: int) -> list[np.ndarray]:
    w = torch.nn.Parameter(torch.tensor(W0))
    b = torch.nn.Parameter(torch.tensor(B0))
    scale = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    for _ in range(steps):
        loss = (torch.tensor(C) * w**2).sum() / 2 + (torch.tensor(D) * w).sum()
        loss = loss + (b**2 * scale).sum() / 2
        grads = torch.autograd.grad(loss, [w, b])
        opt.apply(grads, [w, b])
    return [w.detach().numpy(), b.detach().numpy()]


def _run_numpy(update, state_init, steps: int) -> list[np.ndarray]:
    params = [W0.copy(), B0.copy()]
    states = [state_init(p) for p in params]
    for t in range(1, steps + 1):
        grads = _grads(*params)
        for i, (p, g) in enumerate(zip(params, grads)):
            params[i] = update(p, g, states[i], t)
    return params


def _assert_close(got, expected):
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- update rules


def test_adadelta_matches_torch_optim():
    w = torch.nn.Parameter(torch.tensor(W0))
    reference = torch.nn.Parameter(torch.tensor(W0))
    ours = optimizers.Adadelta(learning_rate=0.5, rho=0.9)
    theirs = torch.optim.Adadelta([reference], lr=0.5, rho=0.9, eps=1e-7)
    for _ in range(5):
        for p in (w, reference):
            p.grad = torch.tensor(C) * p.detach() + torch.tensor(D)
        ours.apply_gradients([(w.grad, w)])
        theirs.step()
    torch.testing.assert_close(w, reference, rtol=0, atol=1e-12)


def test_lion_matches_keras_rule():
    lr, b1, b2 = 0.05, 0.8, 0.95

    def update(p, g, s, t):
        p = p - lr * np.sign(s["m"] * b1 + g * (1 - b1))
        s["m"] = s["m"] * b2 + g * (1 - b2)
        return p

    expected = _run_numpy(update, lambda p: {"m": np.zeros_like(p)}, steps=6)
    _assert_close(_run_lamina(optimizers.Lion(lr, beta_1=b1, beta_2=b2), 6), expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {
            "learning_rate_power": -0.7,
            "l1_regularization_strength": 0.5,
            "l2_regularization_strength": 0.1,
            "l2_shrinkage_regularization_strength": 0.02,
            "beta": 0.3,
        },
    ],
)
def test_ftrl_matches_keras_rule(kwargs):
    lr = 0.2
    power = kwargs.get("learning_rate_power", -0.5)
    l1 = kwargs.get("l1_regularization_strength", 0.0)
    l2 = kwargs.get("l2_regularization_strength", 0.0) + kwargs.get("beta", 0.0) / (2 * lr)
    shrink = kwargs.get("l2_shrinkage_regularization_strength", 0.0)

    def update(p, g, s, t):
        new_accum = s["accum"] + g * g
        s["linear"] = (
            s["linear"]
            + (g + 2 * shrink * p)
            - (new_accum ** (-power) - s["accum"] ** (-power)) / lr * p
        )
        quadratic = new_accum ** (-power) / lr + 2 * l2
        s["accum"] = new_accum
        return (np.clip(s["linear"], -l1, l1) - s["linear"]) / quadratic

    def init(p):
        return {"accum": np.full_like(p, 0.1), "linear": np.zeros_like(p)}

    expected = _run_numpy(update, init, steps=5)
    _assert_close(_run_lamina(optimizers.Ftrl(lr, **kwargs), 5), expected)
    if l1:
        assert (expected[0] == 0).any()  # L1 makes some weights exactly zero


def _adafactor_update(lr, decay=-0.8, eps1=1e-30, eps2=1e-3, clip=1.0):
    def rms(x):
        return np.sqrt(np.mean(x**2))

    def update(p, g, s, t):
        rho = min(lr, 1 / np.sqrt(t))
        alpha = max(eps2, rms(p)) * rho
        sq = g**2 + eps1
        beta_2 = 1 - t**decay
        if p.ndim >= 2:
            s["r"] = beta_2 * s["r"] + (1 - beta_2) * sq.mean(-1)
            s["c"] = beta_2 * s["c"] + (1 - beta_2) * sq.mean(-2)
            s["v"] = (s["r"] / s["r"].mean(-1, keepdims=True))[..., None] * s["c"][..., None, :]
        else:
            s["v"] = beta_2 * s["v"] + (1 - beta_2) * sq
        u = g / np.sqrt(s["v"])
        u = u / max(1.0, rms(u) / clip)
        return p - alpha * u

    return update


def _adafactor_init(p):
    return {"r": np.zeros(p.shape[:-1]), "c": np.zeros(p.shape[-1:]), "v": np.zeros_like(p)}


@pytest.mark.parametrize("lr, clip", [(0.01, 1.0), (0.5, 0.05)])
def test_adafactor_matches_keras_rule(lr, clip):
    expected = _run_numpy(_adafactor_update(lr, clip=clip), _adafactor_init, steps=6)
    _assert_close(_run_lamina(optimizers.Adafactor(lr, clip_threshold=clip), 6), expected)


def test_adafactor_2d_update_does_not_depend_on_weight_layout():
    # Lamina stores a Dense kernel as (out, in), Keras as (in, out): for 2-D weights
    # the factored update is the same either way.
    grads = [torch.tensor(C * (k + 1)) for k in range(4)]
    a = torch.nn.Parameter(torch.tensor(W0))
    b = torch.nn.Parameter(torch.tensor(W0.T.copy()))
    opt_a, opt_b = optimizers.Adafactor(0.1), optimizers.Adafactor(0.1)
    for g in grads:
        opt_a.apply([g], [a])
        opt_b.apply([g.T], [b])
    torch.testing.assert_close(a.detach(), b.detach().T, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- apply / config / fit


def test_apply_builds_on_first_use_and_reuses_variables():
    w = torch.nn.Parameter(torch.ones(3))
    opt = optimizers.SGD(learning_rate=0.1)
    opt.apply([torch.ones(3)], [w])
    assert opt.built and opt.iterations == 1
    opt.apply([torch.full((3,), 2.0)])  # the variables it was built with
    torch.testing.assert_close(w.detach(), torch.full((3,), 0.7))
    assert opt.iterations == 2
    with pytest.raises(ValueError, match=r"one gradient per variable.*Received: 2 gradients for 1"):
        opt.apply([torch.ones(3), torch.ones(3)], [w])
    with pytest.raises(ValueError, match=r"Received: trainable_variables=None"):
        optimizers.Adam().apply([torch.ones(3)])


def test_learning_rate_get_set_and_iterations():
    opt = optimizers.Lion()
    assert opt.learning_rate == 0.001 and opt.iterations == 0
    opt.learning_rate = 0.01
    w = torch.nn.Parameter(torch.zeros(2))
    opt.apply([torch.tensor([1.0, -1.0])], [w])
    torch.testing.assert_close(w.detach(), torch.tensor([-0.01, 0.01]))
    assert opt.learning_rate == 0.01 and opt.iterations == 1


def test_new_optimizers_keras_defaults():
    ada = optimizers.Adadelta()
    assert (ada.learning_rate, ada.rho, ada.epsilon, ada.name) == (0.001, 0.95, 1e-7, "adadelta")
    lion = optimizers.Lion()
    assert (lion.beta_1, lion.beta_2, lion.name) == (0.9, 0.99, "lion")
    ftrl = optimizers.Ftrl()
    assert (ftrl.learning_rate_power, ftrl.initial_accumulator_value, ftrl.beta) == (-0.5, 0.1, 0.0)
    fac = optimizers.Adafactor()
    assert (fac.beta_2_decay, fac.epsilon_1, fac.epsilon_2) == (-0.8, 1e-30, 1e-3)
    assert (fac.clip_threshold, fac.relative_step, fac.name) == (1.0, True, "adafactor")


@pytest.mark.parametrize("name", ["adadelta", "lion", "ftrl", "adafactor", "Lion", "Adafactor"])
def test_get_resolves_new_optimizer_names(name):
    assert type(optimizers.get(name)).__name__.lower() == name.lower()


def test_new_optimizers_config_json_round_trip():
    opt = optimizers.Ftrl(0.1, l1_regularization_strength=0.2, clipnorm=1.0)
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    clone = optimizers.deserialize(config)
    assert type(clone) is optimizers.Ftrl and clone.get_config() == opt.get_config()


def test_new_optimizers_validate_arguments():
    with pytest.raises(ValueError, match=r"`beta_1`.*Received: beta_1=0"):
        optimizers.Lion(beta_1=0)
    with pytest.raises(
        ValueError, match=r"`learning_rate_power`.*Received: learning_rate_power=0.5"
    ):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match=r"Received: initial_accumulator_value=0"):
        optimizers.Ftrl(initial_accumulator_value=0)
    with pytest.raises(ValueError, match=r"`clip_threshold`.*Received: clip_threshold=0"):
        optimizers.Adafactor(clip_threshold=0)
    with pytest.raises(ValueError, match=r"`rho`.*Received: rho=1.5"):
        optimizers.Adadelta(rho=1.5)


@pytest.mark.parametrize("name", ["adadelta", "lion", "ftrl", "adafactor"])
def test_new_optimizers_train_a_model_with_fit(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(1)])
    lr = {"adadelta": 1.0, "lion": 0.05, "ftrl": 0.5, "adafactor": 0.05}[name]
    opt = optimizers.get(name)
    opt.learning_rate = lr
    model.compile(optimizer=opt, loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    assert opt.iterations == 8 * 4


def test_docstring_examples_run():
    import doctest

    from lamina import optimizers_extra, regularizers, schedules

    for module in (optimizers, optimizers_extra, schedules, regularizers):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_iterations_and_learning_rate_answer_keras_variable_api():
    import pickle

    opt = optimizers.Adam(0.01)
    w = torch.nn.Parameter(torch.zeros(2))
    opt.apply([torch.ones(2)], [w])
    assert opt.iterations == 1 and int(opt.iterations) == 1
    assert opt.iterations.numpy() == 1 and opt.iterations.value == 1
    opt.iterations.assign(5)
    assert opt.iterations == 5
    assert opt.learning_rate.numpy() == np.float32(0.01)
    opt.learning_rate.assign(0.5)
    assert opt.learning_rate == 0.5 and opt.torch_optimizer.param_groups[0]["lr"] == 0.5
    state = pickle.loads(pickle.dumps(opt.state_dict()))
    assert type(state["iterations"]) is int and state["iterations"] == 5
    assert type(opt.get_config()["learning_rate"]) is float
    scheduled = optimizers.SGD(optimizers.schedules.CosineDecayRestarts(0.1, 10))
    assert scheduled.learning_rate == pytest.approx(0.1)


# --------------------------------------------------------------------------- RMSprop (Keras's rule)
def _rmsprop_update(lr, rho, eps, momentum=0.0, centered=False):
    def update(p, g, s, t):
        s["v"] = rho * s["v"] + (1 - rho) * g**2
        if centered:
            s["a"] = rho * s["a"] + (1 - rho) * g
            denominator = s["v"] - s["a"] ** 2 + eps
        else:
            denominator = s["v"] + eps
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            s["m"] = momentum * s["m"] + increment
            return p - s["m"]
        return p - increment

    return update


def _rmsprop_init(p):
    return {"v": np.zeros_like(p), "a": np.zeros_like(p), "m": np.zeros_like(p)}


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"rho": 0.8, "momentum": 0.5}, {"rho": 0.8, "momentum": 0.5, "centered": True}, {"epsilon": 0.1}],
)
def test_rmsprop_matches_keras_rule(kwargs):
    lr, rho, eps = 0.05, kwargs.get("rho", 0.9), kwargs.get("epsilon", 1e-7)
    update = _rmsprop_update(lr, rho, eps, kwargs.get("momentum", 0.0), kwargs.get("centered", False))
    expected = _run_numpy(update, _rmsprop_init, steps=6)
    _assert_close(_run_lamina(optimizers.RMSprop(lr, **kwargs), 6), expected)


def test_rmsprop_epsilon_is_inside_the_root_as_keras_not_torch():
    # For a small gradient torch.optim.RMSprop (eps outside the root) steps ~100x further.
    g = 1e-5
    w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizers.RMSprop(0.1).apply_gradients([(torch.tensor([g], dtype=torch.float64), w)])
    keras_step = 0.1 * g / np.sqrt(0.1 * g**2 + 1e-7)
    np.testing.assert_allclose(w.detach().numpy(), [-keras_step], rtol=1e-12)
    reference = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    reference.grad = torch.tensor([g], dtype=torch.float64)
    torch.optim.RMSprop([reference], lr=0.1, alpha=0.9, eps=1e-7).step()
    assert abs(float(reference.detach())) > 50 * keras_step


def test_rmsprop_loads_a_torch_rmsprop_state():
    w = torch.nn.Parameter(torch.ones(3))
    torch_opt = torch.optim.RMSprop([w], lr=0.01, alpha=0.9, eps=1e-7)
    w.grad = torch.full((3,), 0.5)
    torch_opt.step()
    opt = optimizers.RMSprop(0.01)
    opt.build([w])
    opt.torch_optimizer.load_state_dict(torch_opt.state_dict())
    torch.testing.assert_close(opt.torch_optimizer.state[w]["square_avg"], torch.full((3,), 0.025))
    opt.apply_gradients([(torch.full((3,), 0.5), w)])  # steps from the loaded velocity
    v = 0.9 * 0.025 + 0.1 * 0.25
    expected = 1.0 - 0.01 * 0.5 / (np.sqrt(0.025) + 1e-7) - 0.01 * 0.5 / np.sqrt(v + 1e-7)
    np.testing.assert_allclose(w.detach().numpy(), np.full(3, expected), rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.5}, {"momentum": 0.5, "centered": True}])
def test_rmsprop_foreach_kernels_equal_the_per_tensor_loop(kwargs):
    from lamina.optimizers import _KerasRMSprop

    torch.manual_seed(0)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    weights = {flag: [torch.nn.Parameter(torch.ones(s)) for s in shapes] for flag in (False, True)}
    opts = {
        flag: _KerasRMSprop(weights[flag], lr=0.01, alpha=0.8, eps=1e-7, momentum=kwargs.get("momentum", 0.0),
                            centered=kwargs.get("centered", False), foreach=flag)
        for flag in (False, True)
    }
    for _ in range(4):
        grads = [torch.randn(s) for s in shapes]
        for flag in (False, True):
            for w, g in zip(weights[flag], grads):
                w.grad = g.clone()
            opts[flag].step()
    for a, b in zip(weights[False], weights[True]):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
