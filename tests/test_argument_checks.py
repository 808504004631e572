"""The arguments of `fit` / `evaluate` / `predict`, the optimizers and `Sequential`
inputs: each careless value fails at once with the house error, naming the
argument and the value received; integer-like NumPy values are accepted."""

import math

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, layers, optimizers
from lamina.utils import validation

X = np.random.default_rng(0).normal(size=(24, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int64")


def _model(seed=0):
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(5, activation="relu"), layers.Dense(2)])
    model.compile(optimizer=optimizers.SGD(0.1, momentum=0.5), loss="sparse_categorical_crossentropy")
    return model


def _weights(model):
    return [w.detach().clone() for w in model.parameters()]


@pytest.fixture(scope="module")
def model():
    return _model()


FIT_CASES = [
    ("epochs", 0, ValueError, r"`fit` expects `epochs` to be a positive integer\. Received: epochs=0\."),
    ("epochs", -2, ValueError, r"Received: epochs=-2"),
    ("epochs", 3.0, ValueError, r"`epochs` to be a positive integer\. Received: epochs=3\.0\. .*int\(3\.0\)"),
    ("epochs", True, ValueError, r"Received: epochs=True"),
    ("epochs", "3", ValueError, r"Received: epochs='3'"),
    ("batch_size", 0, ValueError, r"`fit` expects `batch_size` to be a positive integer\. Received: batch_size=0"),
    ("batch_size", 8.0, ValueError, r"Received: batch_size=8\.0\. .*int\(8\.0\)"),
    ("batch_size", np.float32(8), ValueError, r"`batch_size` to be a positive integer\. Received: batch_size="),
    ("initial_epoch", -1, ValueError, r"`initial_epoch` to be an integer >= 0\. Received: initial_epoch=-1"),
    ("initial_epoch", 1.5, ValueError, r"Received: initial_epoch=1\.5"),
    ("steps_per_epoch", 0, ValueError, r"`steps_per_epoch` to be a positive integer\. Received: steps_per_epoch=0"),
    ("steps_per_epoch", 2.5, ValueError, r"Received: steps_per_epoch=2\.5"),
    ("validation_steps", -1, ValueError, r"`validation_steps` to be a positive integer\. Received: validation_steps=-1"),
    ("validation_freq", 0, ValueError, r"`validation_freq` to be a positive integer\. Received: validation_freq=0"),
    ("validation_batch_size", 0, ValueError,
     r"`validation_batch_size` to be a positive integer\. Received: validation_batch_size=0"),
    ("shuffle", "batch", TypeError, r"`shuffle` to be True or False\. Received: shuffle='batch'\. .*'batch'"),
    ("shuffle", 1, TypeError, r"`fit` expects `shuffle` to be True or False\. Received: shuffle=1\. Pass"),
    ("shuffle", None, TypeError, r"Received: shuffle=None"),
    ("verbose", 3, ValueError, r"`fit` expects `verbose` to be 0, 1, 2 or 'auto'\. Received: verbose=3"),
    ("verbose", "yes", ValueError, r"Received: verbose='yes'"),
    ("verbose", True, ValueError, r"Received: verbose=True\. Pass `verbose=0`"),
    ("verbose", 1.0, ValueError, r"Received: verbose=1\.0"),
    ("validation_split", 1.0, ValueError, r"`validation_split` to be a number in \[0\.0, 1\.0\)\. Received: validation_split=1\.0"),
    ("validation_split", -0.1, ValueError, r"Received: validation_split=-0\.1"),
    ("validation_split", float("nan"), ValueError, r"`validation_split` to be a number \(not NaN\)\. Received: validation_split=nan"),
    ("validation_split", "0.2", ValueError, r"Received: validation_split='0\.2'"),
    ("class_weight", [1.0, 2.0], TypeError, r"`class_weight` to be a dict .*Received: class_weight=\[1\.0, 2\.0\]\. .*dict\(enumerate\(weights\)\)"),
    ("class_weight", np.array([1.0, 2.0]), TypeError, r"dict\(enumerate\(weights\)\)"),
    ("class_weight", 2.0, TypeError, r"Received: class_weight=2\.0"),
    ("class_weight", {"cat": 1.0, "dog": 2.0}, ValueError, r"keys of `class_weight` to be class indices .*Received: key 'cat'"),
    ("class_weight", {-1: 1.0}, ValueError, r"Received: key -1"),
    ("class_weight", {1.0: 2.0}, ValueError, r"Received: key 1\.0 .*Use the class index `1`"),
    ("class_weight", {0: float("nan"), 1: 1.0}, ValueError, r"finite number >= 0\. Received: class_weight\[0\]=nan"),
    ("class_weight", {0: float("inf"), 1: 1.0}, ValueError, r"Received: class_weight\[0\]=inf"),
    ("class_weight", {0: -1.0, 1: 1.0}, ValueError, r"Received: class_weight\[0\]=-1\.0"),
    ("class_weight", {0: "1", 1: 1.0}, ValueError, r"Received: class_weight\[0\]='1'"),
    ("class_weight", {0: 0.0, 1: 0}, ValueError, r"at least one weight in `class_weight` to be > 0 .*Received: class_weight=\{0: 0\.0, 1: 0\}"),
    ("sample_weight", np.ones(23), ValueError, r"`sample_weight` to have one weight per sample: shape \(24,\) .*Received: sample_weight with shape \(23,\)"),
    ("sample_weight", np.ones((24, 3)), ValueError, r"`sample_weight` to be 1-D: shape \(24,\).*Received: sample_weight with shape \(24, 3\)"),
    ("sample_weight", np.float32(2.0), ValueError, r"Received: sample_weight=.*\(a scalar\)"),
    ("callbacks", callbacks.History(), TypeError,
     r"`callbacks` to be a list of `lamina.callbacks.Callback` instances\. Received: callbacks=.*callbacks=\[History\(\.\.\.\)\]"),
    ("callbacks", callbacks.EarlyStopping, TypeError, r"instances, not classes\. Received: callbacks=EarlyStopping \(the class\)\. .*EarlyStopping\(\)"),
    ("callbacks", [callbacks.EarlyStopping], TypeError, r"Received: callbacks\[0\]=EarlyStopping \(the class\)"),
    ("callbacks", [lambda epoch, logs: None], TypeError, r"every element of `callbacks` .*Received: callbacks\[0\]=.*LambdaCallback"),
    ("callbacks", "early_stopping", TypeError, r"Received: callbacks='early_stopping'"),
]


@pytest.mark.parametrize(("name", "value", "error", "match"), FIT_CASES, ids=[f"{c[0]}={c[1]!r}"[:40] for c in FIT_CASES])
def test_fit_argument_refused_before_training(model, name, value, error, match):
    before = _weights(model)
    with pytest.raises(error, match=match):
        model.fit(X, Y, **{"epochs": 1, "batch_size": 8, "verbose": 0, name: value})
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(model)))


def test_fit_initial_epoch_must_be_below_epochs(model):
    with pytest.raises(ValueError, match=r"`initial_epoch` to be smaller than `epochs` .*Received: initial_epoch=3, epochs=3\. .*epochs=3\+n"):
        model.fit(X, Y, epochs=3, initial_epoch=3, verbose=0)


EVALUATE_CASES = [
    ("steps", 0, ValueError, r"`evaluate` expects `steps` to be a positive integer\. Received: steps=0"),
    ("batch_size", -4, ValueError, r"`evaluate` expects `batch_size` to be a positive integer\. Received: batch_size=-4"),
    ("verbose", 5, ValueError, r"`evaluate` expects `verbose` to be 0, 1, 2 or 'auto'\. Received: verbose=5"),
    ("return_dict", "yes", TypeError, r"`evaluate` expects `return_dict` to be True or False\. Received: return_dict='yes'"),
    ("return_dict", 1, TypeError, r"Received: return_dict=1"),
    ("callbacks", callbacks.History(), TypeError, r"`evaluate` expects `callbacks` to be a list"),
    ("sample_weight", np.ones(5), ValueError, r"`evaluate` expects `sample_weight` to have one weight per sample: shape \(24,\)"),
]


@pytest.mark.parametrize(("name", "value", "error", "match"), EVALUATE_CASES, ids=[c[0] for c in EVALUATE_CASES])
def test_evaluate_argument_refused(model, name, value, error, match):
    with pytest.raises(error, match=match):
        model.evaluate(X, Y, **{"verbose": 0, name: value})


PREDICT_CASES = [
    ("steps", -1, ValueError, r"`predict` expects `steps` to be a positive integer\. Received: steps=-1"),
    ("batch_size", 2.0, ValueError, r"`predict` expects `batch_size` to be a positive integer\. Received: batch_size=2\.0\. .*int\(2\.0\)"),
    ("verbose", "loud", ValueError, r"`predict` expects `verbose` to be 0, 1, 2 or 'auto'\. Received: verbose='loud'"),
    ("callbacks", callbacks.EarlyStopping, TypeError, r"`predict` expects `callbacks` to hold callback instances"),
]


@pytest.mark.parametrize(("name", "value", "error", "match"), PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
def test_predict_argument_refused(model, name, value, error, match):
    with pytest.raises(error, match=match):
        model.predict(X, **{"verbose": 0, name: value})


def test_numpy_integer_arguments_train_exactly_like_plain_ints():
    plain = _model(seed=3)
    plain.fit(X, Y, batch_size=6, epochs=3, initial_epoch=1, steps_per_epoch=3, validation_split=0.25,
              validation_batch_size=4, validation_freq=2, validation_steps=1, shuffle=True, verbose=0,
              class_weight={0: 1.0, 1: 2.0})
    lamina.utils.set_random_seed(11)
    plain.fit(X, Y, batch_size=6, epochs=1, verbose=0)
    numpy = _model(seed=3)
    numpy.fit(X, Y, batch_size=np.int64(6), epochs=np.int32(3), initial_epoch=np.int16(1),
              steps_per_epoch=np.uint8(3), validation_split=np.float32(0.25), validation_batch_size=np.array(4),
              validation_freq=np.int64(2), validation_steps=np.int64(1), shuffle=np.True_, verbose=np.int64(0),
              class_weight={np.int64(0): np.float32(1.0), np.int64(1): np.float64(2.0)})
    lamina.utils.set_random_seed(11)
    numpy.fit(X, Y, batch_size=np.int64(6), epochs=np.int64(1), verbose=np.int8(0))
    for a, b in zip(_weights(plain), _weights(numpy)):
        assert torch.equal(a, b)
    assert plain.optimizer.iterations == numpy.optimizer.iterations == 2 * 3 + 4
    # and evaluate / predict take them too
    assert plain.evaluate(X, Y, batch_size=np.int64(5), steps=np.int32(2), verbose=np.int64(0)) == pytest.approx(
        plain.evaluate(X, Y, batch_size=5, steps=2, verbose=0)
    )
    np.testing.assert_array_equal(plain.predict(X, batch_size=np.int64(5), verbose=np.int64(0)),
                                  plain.predict(X, batch_size=5, verbose=0))


def test_callbacks_tuple_and_callback_list_accepted(model):
    seen = []
    cb = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    model.fit(X, Y, epochs=1, verbose=0, callbacks=(cb,))
    assert seen == [0]


def test_validation_ints_return_plain_ints():
    assert type(validation.positive_int("f", "n", np.int64(3))) is int
    assert validation.positive_int("f", "n", np.array(7)) == 7
    assert type(validation.non_negative_int("f", "n", np.uint8(0))) is int
    with pytest.raises(ValueError, match=r"Received: n=0\.$"):  # no `int(...)` advice for an int
        validation.positive_int("f", "n", 0)
    with pytest.raises(ValueError, match=r"Received: n=np\.True_"):
        validation.positive_int("f", "n", np.True_)
    with pytest.raises(ValueError, match=r"Received: n=array\(\[3\]\)"):
        validation.positive_int("f", "n", np.array([3]))
    with pytest.raises(ValueError, match=r"`f` expects `x` to be a number \(not NaN\)\. Received: x=nan"):
        validation.number("f", "x", math.nan)
    with pytest.raises(ValueError, match=r"`f` expects `x` to be a finite number\. Received: x=inf"):
        validation.number("f", "x", math.inf, finite=True)
    assert validation.number("f", "x", math.inf) == math.inf  # only `finite=True` refuses it


# ------------------------------------------------------------------ optimizers
OPTIMIZERS = [optimizers.SGD, optimizers.RMSprop, optimizers.Adam, optimizers.AdamW, optimizers.Adagrad,
              optimizers.Adamax, optimizers.Nadam, optimizers.Adadelta, optimizers.Lion, optimizers.Ftrl,
              optimizers.Adafactor]
BAD_LR = [
    (float("nan"), ValueError, r"Received: learning_rate=nan\. Check how"),
    (float("inf"), ValueError, r"Received: learning_rate=inf"),
    (-0.01, ValueError, r"Received: learning_rate=-0\.01\. A negative rate"),
    ("0.01", TypeError, r"Received: learning_rate='0\.01'\. Pass a number: `learning_rate=float\('0\.01'\)`"),
    ("fast", TypeError, r"Received: learning_rate='fast'\. Pass a number"),
    (True, TypeError, r"Received: learning_rate=True"),
    (lambda: 0.01, TypeError, r"Received: learning_rate=<function.*LearningRateSchedule"),
    (torch.tensor(0.01), TypeError, r"float\(lr\)"),
]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(("value", "error", "match"), BAD_LR, ids=lambda v: repr(v)[:12])
def test_every_optimizer_refuses_a_bad_learning_rate(cls, value, error, match):
    with pytest.raises(error, match=rf"`{cls.__name__}` expects `learning_rate` to be a finite number >= 0 .*{match}"):
        cls(learning_rate=value)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
def test_every_optimizer_accepts_numpy_rates_and_schedules(cls):
    assert float(cls(learning_rate=np.float32(0.5)).learning_rate) == 0.5
    schedule = optimizers.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert float(cls(learning_rate=schedule).learning_rate) == pytest.approx(0.1)


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("clipnorm", 0.0, "clipnorm=0.0"), ("clipvalue", float("inf"), "clipvalue=inf"),
     ("global_clipnorm", float("nan"), "global_clipnorm=nan"), ("weight_decay", -1.0, "weight_decay=-1.0"),
     ("weight_decay", float("inf"), "weight_decay=inf")],
)
def test_every_optimizer_checks_clipping_and_weight_decay(cls, name, value, match):
    with pytest.raises(ValueError, match=rf"`{cls.__name__}` expects `{name}` .*Received: {match}"):
        cls(**{name: value})


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: optimizers.Adam(beta_1=float("nan")), r"`Adam` expects `beta_1` .*Received: beta_1=nan"),
        (lambda: optimizers.Adam(beta_2=1.0), r"`Adam` expects `beta_2` to be a number in \[0\.0, 1\.0\)\. Received: beta_2=1\.0"),
        (lambda: optimizers.Nadam(beta_1=-0.1), r"`Nadam` expects `beta_1` .*Received: beta_1=-0\.1"),
        (lambda: optimizers.Adam(epsilon=0.0), r"`Adam` expects `epsilon` to be a number > 0\.0\. Received: epsilon=0\.0"),
        (lambda: optimizers.RMSprop(epsilon=float("inf")), r"`RMSprop` expects `epsilon` to be a finite number\. Received: epsilon=inf"),
        (lambda: optimizers.SGD(momentum=1.5), r"`SGD` expects `momentum` to be a number in \[0\.0, 1\.0\]\. Received: momentum=1\.5"),
        (lambda: optimizers.RMSprop(momentum=2.0), r"`RMSprop` expects `momentum` .*Received: momentum=2\.0"),
        (lambda: optimizers.RMSprop(rho=float("nan")), r"`RMSprop` expects `rho` .*Received: rho=nan"),
        (lambda: optimizers.Adadelta(rho=1.5), r"`Adadelta` expects `rho` .*Received: rho=1\.5"),
        (lambda: optimizers.Adagrad(initial_accumulator_value=float("inf")), r"Received: initial_accumulator_value=inf"),
        (lambda: optimizers.Lion(beta_2=float("nan")), r"`Lion` expects `beta_2` .*Received: beta_2=nan"),
        (lambda: optimizers.Ftrl(beta=float("inf")), r"`Ftrl` expects `beta` .*Received: beta=inf"),
        (lambda: optimizers.Adafactor(epsilon_1=float("nan")), r"`Adafactor` expects `epsilon_1` .*Received: epsilon_1=nan"),
    ],
)
def test_optimizer_hyper_parameters_checked(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_learning_rate_setter_refuses_nan_and_allows_zero():
    opt = optimizers.Adam(0.01)
    for bad, error in ((float("nan"), ValueError), (float("-inf"), ValueError), (-1e-3, ValueError), ("x", TypeError)):
        with pytest.raises(error, match=r"`Adam` expects `learning_rate`"):
            opt.learning_rate = bad
        assert float(opt.learning_rate) == 0.01
    with pytest.raises(ValueError, match=r"Received: learning_rate=nan"):
        opt.learning_rate.assign(float("nan"))
    opt.learning_rate = 0.0  # a schedule callback may decay the rate to 0
    assert float(opt.learning_rate) == 0.0
    assert float(optimizers.Adam.from_config(opt.get_config()).learning_rate) == 0.0
    # 0 in the constructor too, as in Keras: the steps run and the weights stay
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(2)])
    model.compile(optimizer=optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    before = _weights(model)
    model.fit(X, Y, epochs=1, verbose=0)
    assert all(torch.equal(a, b) for a, b in zip(before, _weights(model)))


def test_compile_with_a_bad_optimizer_instance_argument_fails_at_construction():
    m = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(1)])
    with pytest.raises(ValueError, match=r"`SGD` expects `learning_rate` .*Received: learning_rate=nan"):
        m.compile(optimizer=optimizers.SGD(learning_rate=float("nan")), loss="mse")


# ------------------------------------------------------------------ Sequential inputs
@pytest.mark.parametrize("declared", [True, False], ids=["with_input", "built_on_first_batch"])
def test_sequential_refuses_a_dict_naming_its_keys(declared):
    stack = [lamina.Input(shape=(4,))] if declared else []
    m = lamina.Sequential([*stack, layers.Dense(2)])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"`Sequential` model, which takes exactly one input .*Received: a dict with keys "
                       r"'age', 'income'\. .*x\['age'\].*functional API"):
        m.fit({"age": X, "income": X}, np.zeros((24, 2), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"Received: a list of 2 inputs\. .*np\.concatenate"):
        m.predict([X, X], verbose=0)


def test_sequential_with_a_merging_first_layer_still_takes_a_list():
    m = lamina.Sequential([layers.Concatenate(), layers.Dense(1)])
    assert m.predict([X, X], verbose=0).shape == (24, 1)


def test_sample_weight_per_sample_or_per_step_accepted():
    from lamina.training import arguments

    arguments.check_sample_weight("fit", np.ones((8, 1)), np.zeros(8))  # a column of weights
    arguments.check_sample_weight("fit", np.ones((8, 5)), np.zeros((8, 5, 3)))  # one weight per time step
    with pytest.raises(ValueError, match=r"`sample_weight` to be 1-D: shape \(8,\).*Received: sample_weight with shape \(8, 5\)"):
        arguments.check_sample_weight("fit", np.ones((8, 5)), np.zeros((8, 1)))


def test_sequential_unwraps_a_list_of_one_array_as_keras_does():
    m = _model()
    np.testing.assert_array_equal(m.predict([X], verbose=0), m.predict(X, verbose=0))
