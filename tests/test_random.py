"""`lamina.random`: distribution moments with fixed seeds, seeding semantics, shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

import lamina
from lamina import random

N = 20000


def test_random_normal_moments_match_parameters():
    x = random.normal((N,), mean=2.0, stddev=3.0, seed=1).numpy()
    assert x.dtype == np.float32
    assert abs(x.mean() - 2.0) < 4 * 3.0 / np.sqrt(N)
    assert abs(x.std() - 3.0) < 0.05 * 3.0
    assert scipy.stats.kstest((x - 2.0) / 3.0, "norm").pvalue > 1e-3


def test_random_uniform_stays_in_range_and_is_flat():
    x = random.uniform((N,), minval=-2.0, maxval=5.0, seed=2).numpy()
    assert x.min() >= -2.0 and x.max() < 5.0
    assert scipy.stats.kstest(x, "uniform", args=(-2.0, 7.0)).pvalue > 1e-3


def test_random_randint_covers_range_uniformly():
    x = random.randint((N,), 3, 8, seed=3)
    assert x.dtype == torch.int32
    counts = np.bincount(x.numpy() - 3, minlength=5)
    assert x.min() >= 3 and x.max() <= 7
    assert scipy.stats.chisquare(counts).pvalue > 1e-3


def test_random_truncated_normal_is_cut_at_two_stddev():
    x = random.truncated_normal((N,), mean=1.0, stddev=0.5, seed=4).numpy()
    assert x.min() >= 0.0 and x.max() <= 2.0
    expected_std = scipy.stats.truncnorm(-2, 2).std() * 0.5
    assert abs(x.std() - expected_std) < 0.02
    assert abs(x.mean() - 1.0) < 0.02


def test_random_dropout_keeps_expectation_and_zeroes_rate():
    x = torch.ones(N, requires_grad=True)
    y = random.dropout(x, 0.3, seed=5)
    zero_fraction = (y == 0).float().mean().item()
    assert abs(zero_fraction - 0.3) < 0.02
    np.testing.assert_allclose(y[y != 0].detach().numpy(), 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y != 0).float() / 0.7)


def test_random_dropout_noise_shape_broadcasts():
    y = random.dropout(torch.ones(4, 50), 0.5, noise_shape=(None, 1), seed=6)
    assert all(len(set(row.tolist())) == 1 for row in y)


def test_random_shuffle_permutes_along_axis():
    x = torch.arange(12).reshape(3, 4)
    y = random.shuffle(x, axis=1, seed=7)
    perm = y[0]
    assert sorted(perm.tolist()) == [0, 1, 2, 3] and perm.tolist() != [0, 1, 2, 3]
    torch.testing.assert_close(y, x[:, perm])  # the same permutation for every row


def test_random_categorical_follows_probabilities():
    probs = np.array([0.2, 0.5, 0.3])
    s = random.categorical(torch.tensor(np.log(probs))[None], N, seed=8)
    assert s.shape == (1, N) and s.dtype == torch.int32
    counts = np.bincount(s[0].numpy(), minlength=3)
    assert scipy.stats.chisquare(counts, probs * N).pvalue > 1e-3


def test_random_gamma_and_beta_moments():
    g = random.gamma((N,), alpha=3.0, seed=9).numpy()
    assert abs(g.mean() - 3.0) < 0.1 and abs(g.var() - 3.0) < 0.25
    b = random.beta((N,), alpha=2.0, beta=5.0, seed=10).numpy()
    assert abs(b.mean() - 2 / 7) < 0.01
    assert scipy.stats.kstest(b, "beta", args=(2.0, 5.0)).pvalue > 1e-3


def test_random_binomial_mean():
    x = random.binomial((N,), counts=10, probabilities=0.3, seed=11).numpy()
    assert abs(x.mean() - 3.0) < 0.05


def test_random_int_seed_is_stateless():
    torch.testing.assert_close(random.normal((5,), seed=42), random.normal((5,), seed=42))
    assert not torch.equal(random.normal((5,), seed=42), random.normal((5,), seed=43))


def test_random_seed_generator_reproduces_sequence():
    g1, g2 = random.SeedGenerator(123), random.SeedGenerator(123)
    a1, b1 = random.uniform((4,), seed=g1), random.uniform((4,), seed=g1)
    a2, b2 = random.uniform((4,), seed=g2), random.uniform((4,), seed=g2)
    assert not torch.equal(a1, b1)
    torch.testing.assert_close(a1, a2)
    torch.testing.assert_close(b1, b2)
    assert g1.state.tolist() == [123, 2]


def test_random_seed_generator_state_is_a_keras_variable():
    gen = random.SeedGenerator(7)
    state = gen.state
    assert isinstance(state, lamina.Variable) and state is gen.state
    assert state.dtype == torch.int64 and not state.trainable and state.tolist() == [7, 0]
    assert state.path == "seed_generator/seed_generator_state"
    first = random.uniform((3,), seed=gen)
    assert state.tolist() == [7, 1] and gen.counter == 1
    state.assign([7, 0])  # rewinding the state replays the sequence, as in Keras
    torch.testing.assert_close(random.uniform((3,), seed=gen), first)


def test_random_layer_variables_hold_seed_generator_states_in_keras_order():
    class MyDropout(lamina.layers.Layer):
        def __init__(self, rate):
            super().__init__()
            self.rate = rate
            self.seed_generator = random.SeedGenerator(1337)

        def call(self, inputs):
            return random.dropout(inputs, self.rate, seed=self.seed_generator)

    class Net(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            self.first = lamina.layers.Dense(2)
            self.dp = MyDropout(0.5)
            self.last = lamina.layers.Dense(1)

        def call(self, inputs):
            return self.last(self.dp(self.first(inputs)))

    dp = MyDropout(0.5)
    # Keras: the seed state is layer state (`variables`), not a weight.
    assert dp.weights == [] and dp.variables == [dp.seed_generator.state]
    assert dp.non_trainable_variables == [dp.seed_generator.state] and dp.trainable_variables == []
    net = Net()
    net(torch.ones(4, 3))
    names = [v.path.rsplit("/", 1)[-1] for v in net.variables]
    assert names == ["kernel", "bias", "seed_generator_state", "kernel", "bias"]
    assert len(net.weights) == 4 and len(net.non_trainable_variables) == 1


def test_random_seed_none_follows_set_seed():
    lamina.set_seed(0)
    a = random.normal((3,))
    g_a = random.SeedGenerator()
    lamina.set_seed(0)
    b = random.normal((3,))
    g_b = random.SeedGenerator()
    torch.testing.assert_close(a, b)
    assert g_a.seed == g_b.seed


@pytest.mark.parametrize("fn", ["normal", "uniform", "truncated_normal"])
def test_random_float_functions_shapes_and_dtypes(fn):
    x = getattr(random, fn)((2, 3), dtype="float64", seed=0)
    assert x.shape == (2, 3) and x.dtype == torch.float64
    assert getattr(random, fn)(4, seed=0).dtype == torch.float32


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: random.normal((2,), seed=-1), r"Received: seed=-1"),
        (lambda: random.normal((2,), seed="a"), r"SeedGenerator`. Received: seed='a'"),
        (lambda: random.SeedGenerator(1.5), r"non-negative integer or None. Received: seed=1.5"),
        (lambda: random.normal((2,), dtype="int32"), r"floating-point `dtype`. Received: dtype='int32'"),
        (lambda: random.randint((2,), 5, 5), r"`maxval` > `minval`"),
        (lambda: random.dropout(torch.ones(2), 1.0), r"Received: rate=1.0"),
        (lambda: random.categorical(torch.ones(3), 2), r"2-D `logits`"),
    ],
)
def test_random_bad_arguments_raise_house_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_random_docstring_examples_run():
    import doctest

    globs = {**vars(random), "np": np, "torch": torch}
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder().find(random, globs=globs):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 10 and result.failed == 0
