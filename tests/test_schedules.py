import math

import pytest

from lamina import schedules
from lamina.schedules import (
    CosineDecay,
    CosineDecayRestarts,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
    PolynomialDecay,
)

STEPS = range(0, 40)


def _close(actual, expected):
    assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_matches_keras_formula(staircase):
    s = ExponentialDecay(0.1, decay_steps=7, decay_rate=0.5, staircase=staircase)
    for step in STEPS:
        p = step / 7
        if staircase:
            p = math.floor(p)
        _close(s(step), 0.1 * 0.5**p)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay_matches_keras_formula(staircase):
    s = InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.3, staircase=staircase)
    for step in STEPS:
        p = step / 5
        if staircase:
            p = math.floor(p)
        _close(s(step), 0.1 / (1 + 0.3 * p))


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay_matches_keras_formula(cycle):
    s = PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0, cycle=cycle)
    for step in STEPS:
        if cycle:
            decay_steps = 10 * (1 if step == 0 else math.ceil(step / 10))
            t = step
        else:
            decay_steps = 10
            t = min(step, 10)
        _close(s(step), (0.1 - 0.01) * (1 - t / decay_steps) ** 2.0 + 0.01)


def test_piecewise_constant_decay_matches_keras_formula():
    s = PiecewiseConstantDecay(boundaries=[5, 10], values=[1.0, 0.5, 0.1])
    for step in STEPS:
        expected = 1.0 if step <= 5 else (0.5 if step <= 10 else 0.1)
        assert s(step) == expected


def test_cosine_decay_matches_keras_formula():
    s = CosineDecay(0.1, decay_steps=20, alpha=0.1)
    for step in STEPS:
        t = min(step, 20)
        cosine = 0.5 * (1 + math.cos(math.pi * t / 20))
        _close(s(step), 0.1 * ((1 - 0.1) * cosine + 0.1))


def test_cosine_decay_with_warmup_matches_keras_formula():
    s = CosineDecay(0.0, decay_steps=20, warmup_target=0.1, warmup_steps=10)
    for step in STEPS:
        t = min(step, 30)
        if t < 10:
            expected = (0.1 - 0.0) * t / 10 + 0.0
        else:
            expected = 0.1 * 0.5 * (1 + math.cos(math.pi * (t - 10) / 20))
        _close(s(step), expected)
    assert s(10) == pytest.approx(0.1)


ALL_SCHEDULES = [
    ExponentialDecay(0.1, 100, 0.96, staircase=True),
    InverseTimeDecay(0.1, 10, 0.5),
    PolynomialDecay(0.1, 50, end_learning_rate=0.001, power=0.5, cycle=True),
    PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
    CosineDecay(0.001, 1000, alpha=0.01, warmup_target=0.01, warmup_steps=100),
    CosineDecayRestarts(0.1, 20, t_mul=1.5, m_mul=0.8, alpha=0.05),
]


def _sgdr_reference(step, initial, first, t_mul, m_mul, alpha):
    """SGDR by walking the periods one by one (no closed form)."""
    start, length, restart = 0.0, float(first), 0
    while step >= start + length:
        start, length, restart = start + length, length * t_mul, restart + 1
    fraction = (step - start) / length
    cosine = 0.5 * m_mul**restart * (1 + math.cos(math.pi * fraction))
    return initial * ((1 - alpha) * cosine + alpha)


@pytest.mark.parametrize("t_mul, m_mul, alpha", [(2.0, 1.0, 0.0), (1.0, 0.5, 0.1), (1.5, 0.8, 0.05)])
def test_cosine_decay_restarts_matches_sgdr(t_mul, m_mul, alpha):
    s = CosineDecayRestarts(0.1, first_decay_steps=10, t_mul=t_mul, m_mul=m_mul, alpha=alpha)
    for step in range(0, 200):
        expected = _sgdr_reference(step, 0.1, 10, t_mul, m_mul, alpha)
        assert s(step) == pytest.approx(expected, rel=1e-9, abs=1e-12), step
    # Keras' defaults; a restart is exactly the initial rate again (10 + 20 + 40 = 70).
    s = CosineDecayRestarts(0.1, 10)
    assert (s.t_mul, s.m_mul, s.alpha, s.name) == (2.0, 1.0, 0.0, "SGDRDecay")
    assert s(70) == pytest.approx(0.1) and s(5) == pytest.approx(0.05)


@pytest.mark.parametrize("schedule", ALL_SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedule_config_round_trip(schedule):
    config = schedule.get_config()
    rebuilt = type(schedule).from_config(config)
    assert rebuilt.get_config() == config
    via = schedules.deserialize(schedules.serialize(schedule))
    assert type(via) is type(schedule)
    assert [via(i) for i in range(0, 300, 7)] == [schedule(i) for i in range(0, 300, 7)]
    assert isinstance(schedule(3), float)


def test_schedule_deserialize_unknown_class_lists_valid_classes():
    with pytest.raises(
        ValueError,
        match="Unknown learning rate schedule class: 'Foo'. Valid classes are: CosineDecay",
    ):
        schedules.deserialize({"class_name": "Foo", "config": {}})


def test_schedule_deserialize_accepts_custom_objects():
    class Halving(LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / 2**step

        def get_config(self):
            return {}

    s = schedules.deserialize({"class_name": "Halving", "config": {}}, {"Halving": Halving})
    assert s(2) == 0.25


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ExponentialDecay(0.1, 0, 0.5), "Received: decay_steps=0"),
        (lambda: ExponentialDecay(-0.1, 10, 0.5), "Received: initial_learning_rate=-0.1"),
        (lambda: CosineDecay(0.1, 10, alpha=2.0), "Received: alpha=2.0"),
        (lambda: PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "one more element than `boundaries`"),
        (lambda: PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "to be increasing"),
        (lambda: PolynomialDecay(0.1, 10, cycle="no"), "Received: cycle='no'"),
        (lambda: CosineDecayRestarts(0.1, 0), "Received: first_decay_steps=0"),
        (lambda: CosineDecayRestarts(0.1, 10, t_mul=0), "Received: t_mul=0"),
    ],
)
def test_schedule_validates_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()
