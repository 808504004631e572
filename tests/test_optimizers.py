import copy
import math

import pytest
import torch

from lamina import optimizers
from lamina.schedules import ExponentialDecay, PiecewiseConstantDecay


def _model(seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(4, 3)


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(16, 4, generator=g), torch.randn(16, 3, generator=g)


def _train_lamina(opt: optimizers.Optimizer, model: torch.nn.Module, steps: int) -> None:
    x, y = _data()
    if not opt.built:
        opt.build(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def _train_torch(opt: torch.optim.Optimizer, model: torch.nn.Module, steps: int) -> None:
    x, y = _data()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, atol=1e-6, rtol=0)


PARITY_CASES = {
    "sgd": (
        lambda: optimizers.SGD(0.1),
        lambda p: torch.optim.SGD(p, lr=0.1),
    ),
    "sgd_momentum_nesterov": (
        lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    ),
    "adam": (
        lambda: optimizers.Adam(0.05),
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.999), eps=1e-7),
    ),
    "adam_amsgrad": (
        lambda: optimizers.Adam(0.05, beta_1=0.8, beta_2=0.99, amsgrad=True),
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-7, amsgrad=True),
    ),
    "adam_weight_decay_is_decoupled": (
        lambda: optimizers.Adam(0.05, weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.1),
    ),
    "adamw": (
        lambda: optimizers.AdamW(0.05),
        lambda p: torch.optim.AdamW(p, lr=0.05, betas=(0.9, 0.999), eps=1e-7, weight_decay=0.004),
    ),
    "adagrad": (
        lambda: optimizers.Adagrad(0.05),
        lambda p: torch.optim.Adagrad(p, lr=0.05, initial_accumulator_value=0.1, eps=1e-7),
    ),
    "adamax": (
        lambda: optimizers.Adamax(0.05),
        lambda p: torch.optim.Adamax(p, lr=0.05, betas=(0.9, 0.999), eps=1e-7),
    ),
    "nadam": (
        lambda: optimizers.Nadam(0.05),
        lambda p: torch.optim.NAdam(p, lr=0.05, betas=(0.9, 0.999), eps=1e-7),
    ),
    "adadelta": (
        lambda: optimizers.Adadelta(1.0, rho=0.9),
        lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-7),
    ),
}


@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_optimizer_matches_torch_optim(case):
    make_lamina, make_torch = PARITY_CASES[case]
    a, b = _model(), _model()
    _train_lamina(make_lamina(), a, steps=6)
    _train_torch(make_torch(b.parameters()), b, steps=6)
    _assert_same_weights(a, b)
    assert not torch.equal(a.weight, _model().weight)  # the weights did move


def test_optimizer_keras_defaults():
    assert optimizers.SGD().learning_rate == 0.01
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert optimizers.AdamW().weight_decay == 0.004
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon) == (0.001, 0.9, 0.0, 1e-7)
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert [optimizers.get(n).name for n in ("sgd", "adam", "rmsprop")] == [
        "SGD",
        "adam",
        "rmsprop",
    ]


def test_sgd_weight_decay_is_decoupled():
    lr, wd = 0.1, 0.5
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = optimizers.SGD(lr, weight_decay=wd)
    opt.apply_gradients([(torch.tensor([0.3, 0.3]), p)])
    expected = torch.tensor([1.0, -2.0]) * (1 - lr * wd) - lr * torch.tensor([0.3, 0.3])
    torch.testing.assert_close(p.detach(), expected)


def _clip_step(**clip):
    w1 = torch.nn.Parameter(torch.zeros(2))
    w2 = torch.nn.Parameter(torch.zeros(3))
    g1 = torch.tensor([3.0, 4.0])  # norm 5
    g2 = torch.tensor([0.1, -0.2, 0.2])  # norm 0.3
    opt = optimizers.SGD(1.0, **clip)
    opt.apply_gradients([(g1.clone(), w1), (g2.clone(), w2)])
    # With lr=1 and zero weights the new weights are minus the clipped gradients.
    return -w1.detach(), -w2.detach(), g1, g2


def test_optimizer_clipnorm_clips_each_gradient():
    c1, c2, g1, g2 = _clip_step(clipnorm=1.0)
    torch.testing.assert_close(c1, g1 * 1.0 / max(5.0, 1.0))
    torch.testing.assert_close(c2, g2)  # norm 0.3 < 1: unchanged


def test_optimizer_clipvalue_clamps_elements():
    c1, c2, g1, g2 = _clip_step(clipvalue=0.15)
    torch.testing.assert_close(c1, torch.tensor([0.15, 0.15]))
    torch.testing.assert_close(c2, torch.tensor([0.1, -0.15, 0.15]))


def test_optimizer_global_clipnorm_clips_global_norm():
    c1, c2, g1, g2 = _clip_step(global_clipnorm=1.0)
    global_norm = math.sqrt(5.0**2 + 0.3**2)
    scale = min(1.0, 1.0 / global_norm)
    torch.testing.assert_close(c1, g1 * scale, atol=1e-5, rtol=0)
    torch.testing.assert_close(c2, g2 * scale, atol=1e-5, rtol=0)


def test_optimizer_clip_options_are_exclusive():
    with pytest.raises(
        ValueError, match="only one of `clipnorm`, `clipvalue` and `global_clipnorm`"
    ):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)


def test_optimizer_schedule_sets_lr_each_step():
    schedule = PiecewiseConstantDecay([1, 3], [1.0, 0.5, 0.1])
    p = torch.nn.Parameter(torch.zeros(()))
    opt = optimizers.SGD(schedule)
    lrs = []
    for _ in range(5):
        opt.apply_gradients([(torch.tensor(-1.0), p)])  # each step adds lr to p
        lrs.append(opt.torch_optimizer.param_groups[0]["lr"])
    assert lrs == [schedule(i) for i in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    torch.testing.assert_close(p.detach(), torch.tensor(sum(lrs)))
    assert opt.iterations == 5 and isinstance(opt.iterations, int)
    assert opt.learning_rate == schedule(5)


def test_optimizer_learning_rate_setter_updates_param_groups():
    opt = optimizers.Adam(ExponentialDecay(0.1, 10, 0.5))
    opt.build(_model().parameters())
    opt.learning_rate = 0.25  # replaces the schedule
    assert opt.learning_rate == 0.25
    assert all(g["lr"] == 0.25 for g in opt.torch_optimizer.param_groups)
    opt.step()  # no gradients: torch skips the params, the lr stays constant
    assert opt.learning_rate == 0.25
    assert opt.get_config()["learning_rate"] == 0.25
    with pytest.raises(ValueError, match="Received: learning_rate=-1"):
        opt.learning_rate = -1


def test_optimizer_learning_rate_setter_before_build():
    opt = optimizers.SGD()
    opt.learning_rate = 0.5
    opt.build(_model().parameters())
    assert opt.torch_optimizer.param_groups[0]["lr"] == 0.5


def test_optimizer_state_dict_round_trip_continues_identically():
    a = _model()
    opt_a = optimizers.Adam(0.05)
    _train_lamina(opt_a, a, steps=3)
    state = copy.deepcopy(opt_a.state_dict())
    assert state["iterations"] == 3

    b = copy.deepcopy(a)
    opt_b = optimizers.Adam(0.05)
    opt_b.load_state_dict(state)  # before build: applied when built
    opt_b.build(b.parameters())
    assert opt_b.iterations == 3

    _train_lamina(opt_a, a, steps=3)
    _train_lamina(opt_b, b, steps=3)
    _assert_same_weights(a, b)
    assert opt_b.iterations == 6


def test_optimizer_load_state_dict_after_build_restores_lr():
    opt = optimizers.SGD(0.1, momentum=0.9)
    _train_lamina(opt, _model(), steps=2)
    opt.learning_rate = 0.01
    state = copy.deepcopy(opt.state_dict())
    other = optimizers.SGD(0.1, momentum=0.9)
    other.build(_model().parameters())
    other.load_state_dict(state)
    assert other.learning_rate == 0.01
    with pytest.raises(ValueError, match="'iterations' and 'optimizer'"):
        other.load_state_dict({"state": {}})


def test_optimizer_build_uses_only_trainable_params():
    model = _model()
    model.bias.requires_grad_(False)
    opt = optimizers.SGD()
    opt.build(model.parameters())
    assert opt.built
    assert opt.torch_optimizer.param_groups[0]["params"] == [model.weight]
    opt.build(model.parameters())  # same parameters: no-op
    with pytest.raises(ValueError, match="already built for other parameters"):
        opt.build(_model().parameters())


def test_optimizer_build_rejects_empty_params():
    with pytest.raises(ValueError, match="no trainable parameters"):
        optimizers.Adam().build([])


def test_optimizer_step_before_build_raises():
    with pytest.raises(RuntimeError, match="not built yet"):
        optimizers.Adam().step()


def test_optimizer_zero_grad_sets_none():
    model = _model()
    opt = optimizers.SGD()
    opt.zero_grad()  # before build: nothing to clear
    _train_lamina(opt, model, steps=1)
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_optimizer_apply_gradients_rejects_unknown_variable():
    opt = optimizers.SGD()
    p = torch.nn.Parameter(torch.zeros(2))
    opt.apply_gradients([(torch.ones(2), p)])
    q = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="does not track"):
        opt.apply_gradients([(torch.ones(2), q)])


def test_optimizer_get_resolves_identifiers():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("SGD"), optimizers.SGD)
    assert isinstance(optimizers.get(optimizers.Nadam), optimizers.Nadam)
    opt = optimizers.AdamW()
    assert optimizers.get(opt) is opt
    rebuilt = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.3}})
    assert rebuilt.learning_rate == 0.3
    assert optimizers.schedules.ExponentialDecay is ExponentialDecay


def test_optimizer_get_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"Unknown optimizer name: 'adamm'\. Valid names are: .*adam.*sgd"
    ):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Received: optimizer=42"):
        optimizers.get(42)


ALL_OPTIMIZERS = [
    optimizers.SGD(0.1, momentum=0.5, nesterov=True, clipnorm=1.0, name="my_sgd"),
    optimizers.RMSprop(rho=0.8, momentum=0.1, centered=True, weight_decay=0.01),
    optimizers.Adam(ExponentialDecay(0.1, 100, 0.9, staircase=True), amsgrad=True),
    optimizers.AdamW(weight_decay=0.1, global_clipnorm=2.0),
    optimizers.Adagrad(initial_accumulator_value=0.2, clipvalue=0.5),
    optimizers.Adamax(beta_1=0.8),
    optimizers.Nadam(epsilon=1e-6),
    optimizers.Adadelta(rho=0.9, clipvalue=0.5),
    optimizers.Lion(ExponentialDecay(0.01, 10, 0.9), beta_1=0.5, weight_decay=0.1),
    optimizers.Ftrl(l1_regularization_strength=0.01, beta=0.1, global_clipnorm=1.0),
    optimizers.Adafactor(clip_threshold=0.5, relative_step=False, name="factored"),
]


@pytest.mark.parametrize("opt", ALL_OPTIMIZERS, ids=lambda o: type(o).__name__)
def test_optimizer_config_round_trip(opt):
    config = opt.get_config()
    rebuilt = type(opt).from_config(config)
    assert rebuilt.get_config() == config
    via_serialize = optimizers.deserialize(optimizers.serialize(opt))
    assert type(via_serialize) is type(opt)
    assert via_serialize.get_config() == config
    _train_lamina(rebuilt, _model(), steps=2)  # the rebuilt optimizer trains


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: optimizers.SGD(momentum=-1),
            r"`SGD` expects `momentum` to be a number in \[0.0, 1.0\]\. Received: momentum=-1",
        ),
        (lambda: optimizers.SGD(nesterov="yes"), "Received: nesterov='yes'"),
        (lambda: optimizers.Adam(learning_rate=-0.1), "Received: learning_rate=-0.1"),
        (lambda: optimizers.Adam(beta_1=1.0), "Received: beta_1=1.0"),
        (lambda: optimizers.Adam(epsilon=-1), "Received: epsilon=-1"),
        (lambda: optimizers.Adam(clipnorm=0), "Received: clipnorm=0"),
        (lambda: optimizers.AdamW(weight_decay=None), "Received: weight_decay=None"),
        (lambda: optimizers.RMSprop(rho=2), "Received: rho=2"),
        (
            lambda: optimizers.Adagrad(initial_accumulator_value=-1),
            "Received: initial_accumulator_value=-1",
        ),
    ],
)
def test_optimizer_validates_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.cuda
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"clipnorm": 1.0}, {"clipvalue": 0.1}, {"global_clipnorm": 1.0}, {"weight_decay": 0.1}],
)
def test_optimizer_step_does_not_sync_host(kwargs):
    model = torch.nn.Linear(8, 8).cuda()
    x = torch.randn(4, 8, device="cuda")
    opt = optimizers.SGD(ExponentialDecay(0.1, 10, 0.5), momentum=0.9, **kwargs)
    opt.build(model.parameters())
    model(x).sum().backward()
    opt.step()  # first step may allocate state
    model(x).sum().backward()
    torch.cuda.set_sync_debug_mode("error")
    try:
        opt.step()
        opt.zero_grad()
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize(
    "make, fused",
    [
        (lambda: optimizers.Adam(0.05), True),
        (lambda: optimizers.AdamW(0.05), True),
        (lambda: optimizers.Adam(0.05, amsgrad=True, weight_decay=0.1), True),
        (lambda: optimizers.Nadam(0.05), None),  # torch has no fused NAdam
        (lambda: optimizers.SGD(0.1), None),
    ],
)
def test_adam_builds_torchs_fused_kernel_for_plain_weights(make, fused):
    opt = make()
    opt.build(_model().parameters())
    assert opt.torch_optimizer.defaults.get("fused") is fused


class _TaggedTensor(torch.Tensor):
    pass


def test_adam_keeps_the_per_tensor_update_for_tensor_subclass_weights():
    # FSDP's sharded weights are `DTensor`s: a subclass takes the per-tensor loop.
    a, b = _model(), _model()
    with torch.no_grad():
        a.weight = torch.nn.Parameter(a.weight.detach().clone().as_subclass(_TaggedTensor))
    opt = optimizers.Adam(0.05)
    _train_lamina(opt, a, steps=4)
    assert not opt.torch_optimizer.defaults.get("fused")
    _train_torch(torch.optim.Adam(b.parameters(), lr=0.05, eps=1e-7), b, steps=4)
    _assert_same_weights(a, b)


def test_adam_state_of_the_per_tensor_update_continues_in_the_fused_kernel():
    # A file saved before Adam used the fused kernel holds the per-tensor update's state.
    a = _model()
    old = optimizers.Adam(0.05)
    old._fused = False
    _train_lamina(old, a, steps=3)
    assert not old.torch_optimizer.defaults.get("fused")
    b = copy.deepcopy(a)
    new = optimizers.Adam(0.05)
    new.load_state_dict(copy.deepcopy(old.state_dict()))
    new.build(b.parameters())
    assert new.torch_optimizer.defaults["fused"] is True
    _train_lamina(old, a, steps=5)
    _train_lamina(new, b, steps=5)
    _assert_same_weights(a, b)
    assert new.iterations == 8
