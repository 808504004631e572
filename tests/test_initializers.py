import math

import pytest
import torch

from lamina import initializers

# torch layout: (out, in, *kernel)
SHAPE = (200, 300)


def _fill(init, shape=SHAPE):
    return init(torch.empty(shape))


def test_initializer_compute_fans_torch_layout():
    assert initializers.compute_fans((64, 32)) == (32, 64)
    assert initializers.compute_fans((16, 8, 3, 3)) == (8 * 9, 16 * 9)
    assert initializers.compute_fans((5,)) == (5, 5)
    assert initializers.compute_fans(()) == (1, 1)
    for shape in [(64, 32), (16, 8, 3, 3), (4, 2, 5)]:
        t = torch.empty(shape)
        assert initializers.compute_fans(shape) == torch.nn.init._calculate_fan_in_and_fan_out(t)


def test_initializer_fills_in_place_and_returns_tensor():
    t = torch.zeros(3, 4, requires_grad=True)
    out = initializers.GlorotUniform()(t)
    assert out is t and not torch.all(t == 0)
    assert t.requires_grad
    created = initializers.Ones()((2, 3), dtype=torch.float64)
    assert created.shape == (2, 3) and created.dtype == torch.float64 and torch.all(created == 1)



def test_initializer_called_with_a_shape_uses_keras_layout_and_keywords():
    # Keras's `initializer(shape=..., dtype=...)`: a kernel shape (in, out) draws with
    # fan_in = in, as Keras does (HeUniform's limit is sqrt(6 / fan_in)).
    wide = initializers.HeUniform(seed=1)(shape=(2, 5000))
    assert wide.shape == (2, 5000)
    assert wide.abs().max() > math.sqrt(6 / 5000) * 10  # limit sqrt(6 / 2), not sqrt(6 / 5000)
    assert wide.abs().max() <= math.sqrt(6 / 2)
    conv = initializers.HeNormal(seed=0)(shape=(3, 3, 4, 2000))  # (kh, kw, in, out)
    assert conv.std().item() == pytest.approx(math.sqrt(2 / 36), rel=0.05)
    assert initializers.Zeros()(shape=(3,), dtype="float16").dtype == torch.float16
    assert initializers.Ones()(4).shape == (4,)
    # A seeded initializer gives the same values on every call, as in Keras.
    first = initializers.GlorotNormal(seed=42)(shape=(3, 5))
    assert torch.equal(first, initializers.GlorotNormal(seed=42)(shape=(3, 5)))
    assert float(initializers.RandomNormal(seed=42)(shape=(1, 1))) == float(
        initializers.RandomNormal(seed=42)(shape=(1, 1)))
    eye = initializers.Identity()(shape=(2, 3))
    assert torch.equal(eye, torch.eye(2, 3))
    with pytest.raises(TypeError, match=r"Received: shape='3'"):
        initializers.Zeros()(shape="3")
@pytest.mark.parametrize(
    "init, limit",
    [
        (initializers.GlorotUniform(), math.sqrt(6 / (300 + 200))),
        (initializers.HeUniform(), math.sqrt(6 / 300)),
        (initializers.LecunUniform(), math.sqrt(3 / 300)),
        (initializers.RandomUniform(-0.2, 0.1), None),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, (float, type(None))) else "",
)
def test_initializer_uniform_bounds_and_std(init, limit):
    t = _fill(init)
    lo, hi = (-limit, limit) if limit is not None else (-0.2, 0.1)
    assert t.min() >= lo and t.max() <= hi
    assert t.min() < lo + 0.05 * (hi - lo) and t.max() > hi - 0.05 * (hi - lo)
    assert t.mean().item() == pytest.approx((lo + hi) / 2, abs=0.02 * (hi - lo))
    assert t.std().item() == pytest.approx((hi - lo) / math.sqrt(12), rel=0.03)


@pytest.mark.parametrize(
    "init, std",
    [
        (initializers.GlorotNormal(), math.sqrt(2 / (300 + 200))),
        (initializers.HeNormal(), math.sqrt(2 / 300)),
        (initializers.LecunNormal(), math.sqrt(1 / 300)),
        (initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal"), math.sqrt(3 / 200)),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, float) else "",
)
def test_initializer_variance_scaling_std(init, std):
    t = _fill(init)
    assert t.mean().item() == pytest.approx(0.0, abs=0.03 * std)
    assert t.std().item() == pytest.approx(std, rel=0.03)
    if init.distribution == "truncated_normal":
        bound = 2 * std / 0.87962566103423978
        assert t.abs().max() <= bound


def test_initializer_dense_weight_matches_keras_layout():
    # A torch-layout Dense weight (units, in) has the Keras kernel's (in, units) fans.
    keras_fan_in, keras_fan_out = 300, 200  # kernel (300, 200)
    t = _fill(initializers.HeNormal(seed=0), (200, 300))
    assert t.std().item() == pytest.approx(math.sqrt(2 / keras_fan_in), rel=0.03)
    t = _fill(initializers.VarianceScaling(1.0, "fan_out", "uniform", seed=0), (200, 300))
    assert t.abs().max() <= math.sqrt(3 / keras_fan_out)


def test_initializer_conv_weight_uses_receptive_field():
    t = _fill(initializers.HeNormal(), (64, 32, 3, 3))
    assert t.std().item() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.03)


def test_initializer_random_normal_and_truncated_normal():
    t = _fill(initializers.RandomNormal(mean=1.0, stddev=0.5))
    assert t.mean().item() == pytest.approx(1.0, abs=0.01)
    assert t.std().item() == pytest.approx(0.5, rel=0.02)
    t = _fill(initializers.TruncatedNormal(mean=1.0, stddev=0.5))
    assert t.min() >= 0.0 and t.max() <= 2.0
    assert t.std().item() == pytest.approx(0.5 * 0.87962566103423978, rel=0.03)


def test_initializer_constants():
    assert torch.all(_fill(initializers.Zeros()) == 0)
    assert torch.all(_fill(initializers.Ones()) == 1)
    assert torch.all(_fill(initializers.Constant(0.25)) == 0.25)
    torch.testing.assert_close(_fill(initializers.Identity(2.0), (3, 4)), 2 * torch.eye(3, 4))


def test_initializer_orthogonal_is_orthogonal():
    for shape in [(20, 50), (50, 20), (16, 4, 3, 3)]:
        w = _fill(initializers.Orthogonal(gain=1.5), shape).reshape(shape[0], -1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        torch.testing.assert_close(gram, 1.5**2 * torch.eye(gram.shape[0]), atol=1e-4, rtol=0)


def test_initializer_seed_is_deterministic():
    for cls in [
        initializers.GlorotUniform,
        initializers.HeNormal,
        initializers.Orthogonal,
        initializers.RandomNormal,
        initializers.TruncatedNormal,
        initializers.RandomUniform,
    ]:
        a, b = _fill(cls(seed=7), (8, 6)), _fill(cls(seed=7), (8, 6))
        assert torch.equal(a, b), cls.__name__
        assert not torch.equal(a, _fill(cls(seed=8), (8, 6))), cls.__name__


def test_initializer_unseeded_follows_global_rng():
    torch.manual_seed(3)
    a = _fill(initializers.GlorotUniform(), (8, 6))
    b = _fill(initializers.GlorotUniform(), (8, 6))
    torch.manual_seed(3)
    c = _fill(initializers.GlorotUniform(), (8, 6))
    assert torch.equal(a, c) and not torch.equal(a, b)


def test_initializer_shape_errors():
    with pytest.raises(
        ValueError, match=r"`Identity` expects a 2-D tensor\. Received: shape=\(2, 3, 4\)"
    ):
        initializers.Identity()(torch.empty(2, 3, 4))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        initializers.Orthogonal()(torch.empty(5))


def test_initializer_get_resolves_identifiers():
    assert initializers.get(None) is None
    assert isinstance(initializers.get("glorot_uniform"), initializers.GlorotUniform)
    assert isinstance(initializers.get("HeNormal"), initializers.HeNormal)
    assert isinstance(initializers.get("He_Uniform"), initializers.HeUniform)
    assert isinstance(initializers.get(initializers.Zeros), initializers.Zeros)
    init = initializers.Constant(3.0)
    assert initializers.get(init) is init
    assert initializers.get(torch.nn.init.zeros_) is torch.nn.init.zeros_
    rebuilt = initializers.get({"class_name": "RandomNormal", "config": {"stddev": 0.1}})
    assert rebuilt.stddev == 0.1
    assert isinstance(
        initializers.get({"class_name": "he_normal", "config": {}}), initializers.HeNormal
    )


def test_initializer_get_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError,
        match=r"Unknown initializer name: 'glorot'\. Valid names are: .*glorot_normal, glorot_uniform",
    ):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="Received: initializer=1.5"):
        initializers.get(1.5)


ALL_INITIALIZERS = [
    initializers.Zeros(),
    initializers.Ones(),
    initializers.Constant(0.5),
    initializers.RandomNormal(0.1, 0.2, seed=1),
    initializers.RandomUniform(-1.0, 1.0, seed=2),
    initializers.TruncatedNormal(0.0, 0.3),
    initializers.VarianceScaling(2.0, "fan_avg", "uniform", seed=3),
    initializers.GlorotUniform(seed=4),
    initializers.GlorotNormal(),
    initializers.HeNormal(),
    initializers.HeUniform(),
    initializers.LecunNormal(),
    initializers.LecunUniform(),
    initializers.Orthogonal(gain=2.0, seed=5),
    initializers.Identity(gain=0.5),
]


@pytest.mark.parametrize("init", ALL_INITIALIZERS, ids=lambda i: type(i).__name__)
def test_initializer_config_round_trip(init):
    config = init.get_config()
    rebuilt = type(init).from_config(config)
    assert rebuilt.get_config() == config
    via = initializers.deserialize(initializers.serialize(init))
    assert type(via) is type(init) and via.get_config() == config
    if config.get("seed") is not None:
        assert torch.equal(_fill(via, (4, 4)), _fill(init, (4, 4)))


def test_initializer_serialize_rejects_plain_callable():
    with pytest.raises(ValueError, match="only `Initializer` instances can be saved"):
        initializers.serialize(torch.nn.init.zeros_)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: initializers.RandomNormal(stddev=-1), "Received: stddev=-1"),
        (lambda: initializers.RandomUniform(1.0, 0.0), "Received: maxval=0.0"),
        (lambda: initializers.VarianceScaling(mode="fan"), "Received: mode='fan'"),
        (
            lambda: initializers.VarianceScaling(distribution="normal"),
            "Received: distribution='normal'",
        ),
        (lambda: initializers.VarianceScaling(scale=0), "Received: scale=0"),
        (
            lambda: initializers.GlorotUniform(seed=-1),
            r"`GlorotUniform` expects `seed` to be an integer >= 0\. Received: seed=-1",
        ),
        (lambda: initializers.Constant("a"), "Received: value='a'"),
    ],
)
def test_initializer_validates_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_initializer_serialize_none_is_none():
    assert initializers.serialize(None) is None
