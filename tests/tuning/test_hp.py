"""HyperParameters: the KerasTuner-style hp on Optuna trials, fixed values, defaults and errors."""

from __future__ import annotations

import math

import pytest

optuna = pytest.importorskip("optuna")

from lamina.tuning.hp import HyperParameters  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _space(hp):
    """A small conditional space, as a build_model would declare it."""
    units = hp.Int("units", 16, 128, log=True)
    layers = hp.Int("layers", 1, 9, step=2)
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
    lr = hp.Float("lr", 1e-4, 1e-1, log=True)
    act = hp.Choice("activation", ["relu", "tanh", None])
    extra = None
    if hp.Boolean("use_extra"):
        extra = hp.Int("extra_units", 4, 8)
    return units, layers, dropout, lr, act, extra


def _study(n_trials=30, seed=0):
    spaces = []

    def objective(trial):
        hp = HyperParameters(trial)
        out = _space(hp)
        spaces.append((trial.number, hp.values, hp.space))
        return float(out[0]) + out[2]

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return study, spaces


def test_hp_study_samples_stay_in_range_and_respect_step_and_log():
    study, _ = _study()
    units = [t.params["units"] for t in study.trials]
    layers = [t.params["layers"] for t in study.trials]
    dropouts = [t.params["dropout"] for t in study.trials]
    lrs = [t.params["lr"] for t in study.trials]
    assert all(isinstance(u, int) and 16 <= u <= 128 for u in units)
    assert set(layers) <= {1, 3, 5, 7, 9} and len(set(layers)) >= 3
    assert all(abs(d * 10 - round(d * 10)) < 1e-9 and 0.0 <= d <= 0.5 for d in dropouts)
    assert all(1e-4 <= lr <= 1e-1 for lr in lrs)
    # log scale: with 30 uniform-in-log draws, most land below the linear midpoint 0.05
    assert sum(lr < 0.01 for lr in lrs) >= 15
    assert {t.params["activation"] for t in study.trials} <= {"relu", "tanh", None}
    dist = study.trials[0].distributions
    assert dist["units"] == optuna.distributions.IntDistribution(16, 128, log=True)
    assert dist["layers"] == optuna.distributions.IntDistribution(1, 9, step=2)
    assert dist["dropout"] == optuna.distributions.FloatDistribution(0.0, 0.5, step=0.1)
    assert dist["use_extra"] == optuna.distributions.CategoricalDistribution([False, True])


def test_hp_conditional_params_appear_only_when_their_branch_runs():
    study, spaces = _study()
    branches = {t.params["use_extra"] for t in study.trials}
    assert branches == {False, True}
    for trial in study.trials:
        assert ("extra_units" in trial.params) == trial.params["use_extra"]
    for number, values, space in spaces:
        assert values == study.trials[number].params
        assert ("extra_units" in space) == values["use_extra"]


def test_hp_values_and_space_record_every_declared_param():
    study, spaces = _study(n_trials=3)
    _, values, space = spaces[0]
    assert values == study.trials[0].params
    assert space["units"] == {
        "type": "int",
        "low": 16,
        "high": 128,
        "step": None,
        "log": True,
        "values": None,
        "default": 16,
    }
    assert space["dropout"]["step"] == 0.1 and space["dropout"]["type"] == "float"
    assert space["activation"] == {
        "type": "choice",
        "low": None,
        "high": None,
        "step": None,
        "log": False,
        "values": ["relu", "tanh", None],
        "default": "relu",
    }
    assert space["use_extra"]["type"] == "boolean" and space["use_extra"]["default"] is False


def test_hp_same_definition_twice_returns_the_same_value():
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    hp = HyperParameters(trial)
    first = hp.Float("lr", 1e-4, 1e-1, log=True)
    assert hp.Float("lr", 1e-4, 1e-1, log=True) == first
    assert trial.params == {"lr": first}


def test_hp_defaults_without_trial():
    hp = HyperParameters()
    assert _space(hp) == (16, 1, 0.0, 1e-4, "relu", None)
    assert hp.Int("n", 1, 5, default=3) == 3
    assert hp.Float("f", 0.0, 1.0, default=0.25) == 0.25
    assert hp.Choice("c", [1, 2, 3], default=2) == 2
    assert hp.Boolean("b", default=True) is True
    assert hp.Fixed("k", "x") == "x"
    assert hp.space["k"]["type"] == "fixed"
    assert set(hp.values) == {
        "units",
        "layers",
        "dropout",
        "lr",
        "activation",
        "use_extra",
        "n",
        "f",
        "c",
        "b",
        "k",
    }


def test_hp_values_rebuild_the_best_params_exactly():
    study, _ = _study(n_trials=20)
    best = study.best_params
    hp = HyperParameters(values=best)
    out = _space(hp)
    assert hp.values == best
    assert out[0] == best["units"] and out[3] == best["lr"]
    # a param missing from `values` takes its default
    partial = HyperParameters(values={"units": 64})
    assert partial.Int("units", 16, 128) == 64 and partial.Int("depth", 2, 4) == 2
    # a JSON round trip turns ints into floats: a whole float is accepted for Int
    assert isinstance(HyperParameters(values={"u": 32.0}).Int("u", 16, 64), int)


def test_hp_values_take_precedence_over_the_trial():
    trial = optuna.create_study().ask()
    hp = HyperParameters(trial, values={"units": 99})
    assert hp.Int("units", 16, 128) == 99
    assert "units" not in trial.params
    lr = hp.Float("lr", 0.1, 0.2)
    assert trial.params == {"lr": lr}


def test_hp_fixed_trial_and_frozen_trial():
    hp = HyperParameters(optuna.trial.FixedTrial({"units": 40, "act": "tanh", "flag": True}))
    assert hp.Int("units", 16, 128) == 40
    assert hp.Choice("act", ["relu", "tanh"]) == "tanh"
    assert hp.Boolean("flag") is True
    with pytest.raises(ValueError, match=r"could not sample parameter 'missing'.*not found"):
        hp.Int("missing", 1, 2)
    study, _ = _study(n_trials=2)
    frozen = study.trials[1]
    assert HyperParameters(frozen).Float("lr", 1e-4, 1e-1, log=True) == frozen.params["lr"]


def test_hp_keras_tuner_aliases():
    hp = HyperParameters()
    assert hp.Int("u", min_value=8, max_value=64, sampling="log") == 8
    assert hp.space["u"]["log"] is True and hp.space["u"]["high"] == 64
    trial = optuna.create_study().ask()
    value = HyperParameters(trial).Float("lr", min_value=1e-3, max_value=1e-1, sampling="log")
    assert 1e-3 <= value <= 1e-1
    assert trial.distributions["lr"] == optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)


def test_hp_param_by_kind_name():
    hp = HyperParameters(values={"a": 3})
    assert hp.param("a", "int", low=1, high=5) == 3
    assert hp.param("b", "choice", values=["x", "y"]) == "x"
    assert hp.param("c", "boolean") is False
    assert math.isclose(hp.param("d", "float", low=0.5, high=1.0), 0.5)
    with pytest.raises(
        ValueError, match=r"'int', 'float', 'choice', 'boolean', 'fixed'.*kind='str'"
    ):
        hp.param("e", "str")


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda hp: hp.Int("u", 10, 5),
            ValueError,
            r"low <= high for parameter 'u'.*low=10, high=5",
        ),
        (lambda hp: hp.Float("lr", 1.0, 0.1), ValueError, r"low <= high.*'lr'.*Swap"),
        (
            lambda hp: hp.Float("lr", 0.0, 1.0, log=True),
            ValueError,
            r"low > 0 with log=True.*low=0.0",
        ),
        (lambda hp: hp.Int("u", -1, 5, log=True), ValueError, r"low > 0 with log=True.*'u'"),
        (lambda hp: hp.Int("u", 1, 5, step=0), ValueError, r"`step` > 0 for parameter 'u'"),
        (lambda hp: hp.Float("f", 0.0, 1.0, step=-0.1), ValueError, r"`step` > 0.*step=-0.1"),
        (
            lambda hp: hp.Float("f", 0.1, 1.0, step=0.1, log=True),
            ValueError,
            r"no `step` with log=True.*cannot be combined",
        ),
        (
            lambda hp: hp.Int("u", 1, 8, step=2, log=True),
            ValueError,
            r"no `step` with log=True.*step=2",
        ),
        (lambda hp: hp.Int("u", "1", 5), TypeError, r"`low` to be an integer.*low='1'"),
        (lambda hp: hp.Int("u", 1, 5.5), TypeError, r"`high` to be an integer.*Use hp.Float"),
        (lambda hp: hp.Float("f", 0.0, None), ValueError, r"`low` and `high` for parameter 'f'"),
        (lambda hp: hp.Float("f", 0.0, math.inf), ValueError, r"`high` to be finite"),
        (
            lambda hp: hp.Int("u", 1, 5, default=9),
            ValueError,
            r"`default` within \[low, high\].*default=9",
        ),
        (
            lambda hp: hp.Int("u", 1, 5, min_value=2),
            ValueError,
            r"either `low` or its KerasTuner alias `min_value`.*low=1 and min_value=2",
        ),
        (
            lambda hp: hp.Float("f", 1e-3, 1.0, sampling="reverse_log"),
            ValueError,
            r"'linear' or 'log'",
        ),
        (lambda hp: hp.Choice("c", []), ValueError, r"at least one value for parameter 'c'"),
        (lambda hp: hp.Choice("c", "relu"), TypeError, r"`values` to be a list.*values='relu'"),
        (lambda hp: hp.Choice("c", {"a", "b"}), TypeError, r"`values` to be a list"),
        (
            lambda hp: hp.Choice("c", [object()]),
            TypeError,
            r"Pass names and map them in build_model",
        ),
        (lambda hp: hp.Choice("c", ["a", "a"]), ValueError, r"distinct values.*'c'"),
        (
            lambda hp: hp.Choice("c", ["a", "b"], default="z"),
            ValueError,
            r"one of `values`.*default='z'",
        ),
        (lambda hp: hp.Boolean("b", default=1), TypeError, r"True or False.*default=1"),
        (lambda hp: hp.Fixed("k", [1, 2]), TypeError, r"Fixed.*value of type list"),
        (lambda hp: hp.Int("", 1, 2), ValueError, r"non-empty string. Received: name=''"),
        (lambda hp: hp.Float(3, 0.0, 1.0), TypeError, r"non-empty string. Received: name=3"),
    ],
)
def test_hp_bad_arguments_are_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(HyperParameters())


def test_hp_a_layer_object_as_choice_is_rejected_with_the_fix():
    import lamina

    with pytest.raises(TypeError, match=r"type Dense.*Pass names and map them in build_model"):
        HyperParameters().Choice("layer", [lamina.layers.Dense(3)])


def test_hp_redeclaring_a_name_with_another_definition():
    hp = HyperParameters()
    hp.Int("units", 16, 128)
    with pytest.raises(
        ValueError, match=r"'units' was declared as int\(16..128\).*float\(0.0..1.0\)"
    ):
        hp.Float("units", 0.0, 1.0)
    with pytest.raises(ValueError, match=r"'units' was declared as int\(16..128\).*int\(16..256\)"):
        hp.Int("units", 16, 256)
    hp.Choice("act", ["relu", "tanh"])
    with pytest.raises(ValueError, match=r"'act' was declared as choice"):
        hp.Choice("act", ["relu"])


def test_hp_optuna_distribution_mismatch_is_wrapped_with_the_name():
    trial = optuna.create_study().ask()
    HyperParameters(trial).Int("units", 16, 128)
    # a second hp on the same trial (e.g. build_model changed between runs of a study)
    with pytest.raises(
        ValueError, match=r"could not sample parameter 'units' as float.*another type"
    ):
        HyperParameters(trial).Float("units", 0.0, 1.0)


def test_hp_values_out_of_range_or_of_the_wrong_kind():
    with pytest.raises(ValueError, match=r"values\['units'\]=500.*int\(16..128\)"):
        HyperParameters(values={"units": 500}).Int("units", 16, 128)
    with pytest.raises(ValueError, match=r"values\['units'\]=3.5"):
        HyperParameters(values={"units": 3.5}).Int("units", 1, 8)
    with pytest.raises(ValueError, match=r"values\['act'\]='gelu'.*choice"):
        HyperParameters(values={"act": "gelu"}).Choice("act", ["relu", "tanh"])
    with pytest.raises(ValueError, match=r"values\['flag'\]=1"):
        HyperParameters(values={"flag": 1}).Boolean("flag")


def test_hp_bad_constructor_arguments():
    with pytest.raises(TypeError, match=r"Optuna Trial.*Received: trial of type dict"):
        HyperParameters({"units": 3})
    with pytest.raises(TypeError, match=r"`values` to be a dict.*values=\[1\]"):
        HyperParameters(values=[1])


def test_hp_docstring_examples_run():
    import doctest

    import lamina.tuning.hp as module

    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted >= 3
