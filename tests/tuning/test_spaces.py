"""Search spaces: each family builds, compiles and trains with defaults and with sampled trials,
declares its documented parameters, and builds the model its parameters describe."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import lamina  # noqa: E402
from lamina.tuning import spaces  # noqa: E402
from lamina.tuning.hp import HyperParameters  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

OPTIMIZER = {"optimizer", "learning_rate"}
DENSE = {"num_layers", "units", "activation", "normalization", "dropout"}
DOCUMENTED = {
    "mlp": DENSE | OPTIMIZER,
    "convnet": {"num_blocks", "filters", "kernel_size", "pooling", "residual", "dropout"}
    | OPTIMIZER,
    "recurrent": {"cell", "units", "bidirectional", "num_layers", "dropout"} | OPTIMIZER,
    "text": {"max_tokens", "output_mode", "ngrams"} | DENSE | OPTIMIZER,
}
TEXTS = [
    "a great film, truly great",
    "bad plot and awful acting",
    "loved it, wonderful cast",
    "boring, bad, too long",
    "wonderful and moving",
    "awful film, I left early",
] * 4
TEXT_LABELS = np.array([1, 0, 1, 0, 1, 0] * 4)


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data[:120] / 16.0).astype("float32")
    return x, d.target[:120].astype("int64")


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6, 3)).astype("float32")
    return x, (x[:, :, 0].sum(axis=1) > 0).astype("int64")


def _layers(model, name):
    return [layer for layer in model.layers if type(layer).__name__ == name]


def _build(family, hp, task="classification", digits=None, sequences=None):
    """(model, x, y) for a family on its tiny real data set."""
    if family == "mlp":
        x, y = digits
        n_out = 10 if task == "classification" else 1
        return (
            spaces.mlp(hp, (64,), n_out, task=task),
            x,
            y.astype("int64" if task == "classification" else "float32"),
        )
    if family == "convnet":
        x, y = digits
        n_out = 10 if task == "classification" else 1
        model = spaces.convnet(hp, (8, 8, 1), n_out, task=task, max_blocks=2)
        return (
            model,
            x.reshape(-1, 8, 8, 1),
            y.astype("int64" if task == "classification" else "float32"),
        )
    if family == "recurrent":
        x, y = sequences
        if task == "regression":
            return spaces.recurrent(hp, (6, 3), 1, task=task), x, x[:, :, 0].sum(axis=1)
        return spaces.recurrent(hp, (6, 3), 2), x, y
    if task == "regression":
        return spaces.text(hp, TEXTS, 1, task=task), np.array(TEXTS), TEXT_LABELS.astype("float32")
    return spaces.text(hp, TEXTS, 2), np.array(TEXTS), TEXT_LABELS


def _check_structure(family, model, values):
    """The model is the one its parameter values describe."""
    assert (
        type(model.optimizer).__name__
        == {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop"}[values["optimizer"]]
    )
    assert math.isclose(float(model.optimizer.learning_rate), values["learning_rate"], rel_tol=1e-6)
    dropouts = _layers(model, "Dropout")
    if values.get("dropout", 0) > 0:
        assert dropouts and all(math.isclose(d.rate, values["dropout"]) for d in dropouts)
    else:
        assert not dropouts
    if family in ("mlp", "text"):
        hidden = _layers(model, "Dense")[:-1]
        assert len(hidden) == values["num_layers"]
        assert all(d.units == values.get("units") for d in hidden)
        norm = values.get("normalization", "none")
        assert len(_layers(model, "BatchNormalization")) == (len(hidden) if norm == "batch" else 0)
        assert len(_layers(model, "LayerNormalization")) == (len(hidden) if norm == "layer" else 0)
        if family == "text":
            (vectorizer,) = _layers(model, "TextVectorization")
            assert vectorizer.output_mode == values["output_mode"]
            assert vectorizer.max_tokens == values["max_tokens"]
    elif family == "convnet":
        convs = [c for c in _layers(model, "Conv2D") if c.kernel_size != (1, 1)]
        assert len(convs) == 2 * values["num_blocks"]
        expected = [values["filters"] * 2**i for i in range(values["num_blocks"]) for _ in (0, 1)]
        assert [c.filters for c in convs] == expected
        assert {c.kernel_size for c in convs} == {(values["kernel_size"],) * 2}
        assert len(_layers(model, "Add")) == (values["num_blocks"] if values["residual"] else 0)
        pool = {"max": "MaxPooling2D", "avg": "AveragePooling2D"}[values["pooling"]]
        assert len(_layers(model, pool)) == values["num_blocks"]
    else:
        bidi = _layers(model, "Bidirectional")
        cells = [b.forward_layer for b in bidi] if values["bidirectional"] else None
        cells = cells or _layers(model, "LSTM") + _layers(model, "GRU")
        assert len(cells) == values["num_layers"]
        assert len(bidi) == (values["num_layers"] if values["bidirectional"] else 0)
        assert {type(c).__name__ for c in cells} == {values["cell"].upper()}
        assert {c.units for c in cells} == {values["units"]}


FAMILIES = ["mlp", "convnet", "recurrent", "text"]


@pytest.mark.parametrize("family", FAMILIES)
def test_spaces_build_with_defaults_and_train(family, digits, sequences):
    hp = HyperParameters()
    lamina.set_seed(0)
    model, x, y = _build(family, hp, digits=digits, sequences=sequences)
    assert set(hp.values) <= DOCUMENTED[family]
    assert hp.values["optimizer"] == "adam"
    assert math.isclose(hp.values["learning_rate"], math.sqrt(1e-4 * 1e-1))
    _check_structure(family, model, hp.values)
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0).history
    assert math.isfinite(history["loss"][0]) and "accuracy" in history
    probabilities = model.predict(x[:5], verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_spaces_sampled_trials_build_train_and_match_their_params(family, digits, sequences):
    seen = {}

    def objective(trial):
        hp = HyperParameters(trial)
        lamina.set_seed(trial.number)
        model, x, y = _build(family, hp, digits=digits, sequences=sequences)
        _check_structure(family, model, hp.values)
        seen.update(hp.space)
        history = model.fit(x, y, epochs=1, batch_size=32, verbose=0, validation_split=0.25)
        return history.history["val_loss"][0]

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    study.optimize(objective, n_trials=5)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert all(math.isfinite(t.value) for t in study.trials)
    assert set(seen) <= DOCUMENTED[family]
    conditional = {"units", "activation", "normalization"} if family == "text" else set()
    assert set(seen) >= DOCUMENTED[family] - conditional
    assert len({tuple(sorted(t.params.items(), key=str)) for t in study.trials}) == 5
    # both sides of the family's main structural branch were built and trained
    branch = {"mlp": "normalization", "convnet": "residual", "recurrent": "bidirectional"}
    if family == "text":
        assert {t.params["num_layers"] > 0 for t in study.trials} == {False, True}
    else:
        assert len({t.params[branch[family]] for t in study.trials}) >= 2


@pytest.mark.parametrize("family", FAMILIES)
def test_spaces_regression_uses_mse_and_linear_outputs(family, digits, sequences):
    lamina.set_seed(0)
    model, x, y = _build(family, None, task="regression", digits=digits, sequences=sequences)
    assert model.loss == "mse"
    loss, mae = model.evaluate(x, y, verbose=0)
    pred = model.predict(x, verbose=0)
    assert pred.shape == (len(x), 1)
    np.testing.assert_allclose(loss, np.mean((pred[:, 0] - y) ** 2), rtol=1e-4)
    np.testing.assert_allclose(mae, np.mean(np.abs(pred[:, 0] - y)), rtol=1e-4)
    assert _layers(model, "Dense")[-1].activation.__name__ == "linear"


def test_spaces_text_head_may_be_linear_and_conditional_params_vanish():
    hp = HyperParameters(values={"num_layers": 0, "ngrams": 2})
    model = spaces.text(hp, TEXTS, 2)
    assert set(hp.values) == {
        "max_tokens",
        "output_mode",
        "ngrams",
        "num_layers",
        "dropout",
        "optimizer",
        "learning_rate",
    }
    assert len(_layers(model, "Dense")) == 1
    (vectorizer,) = _layers(model, "TextVectorization")
    assert any(" " in token for token in vectorizer.get_vocabulary())  # bigrams learnt
    # a NumPy array of str (as automl passes) and a tuple work as the corpus too
    for corpus in (np.array(TEXTS), tuple(TEXTS)):
        model = spaces.text(None, corpus, 2)
        assert model.predict(np.array(TEXTS[:3]), verbose=0).shape == (3, 2)


def test_spaces_convnet_residual_block_adds_its_input():
    hp = HyperParameters(values={"num_blocks": 1, "filters": 8, "residual": True})
    model = spaces.convnet(hp, (4, 4, 8), 2)
    (add,) = _layers(model, "Add")
    assert not [c for c in _layers(model, "Conv2D") if c.kernel_size == (1, 1)]  # same channels
    hp = HyperParameters(values={"num_blocks": 1, "filters": 16, "residual": True})
    model = spaces.convnet(hp, (4, 4, 3), 2)
    assert len([c for c in _layers(model, "Conv2D") if c.kernel_size == (1, 1)]) == 1


def test_spaces_loss_and_metrics_can_be_replaced():
    model = spaces.mlp(
        None, (4,), 3, loss="categorical_crossentropy", metrics=["top_k_categorical_accuracy"]
    )
    assert model.loss == "categorical_crossentropy"


def test_spaces_optimizer_choices_and_lr_range():
    hp = HyperParameters(values={"optimizer": "rmsprop", "learning_rate": 0.02})
    opt = spaces.optimizer(hp, lr_range=(1e-3, 1e-1))
    assert type(opt).__name__ == "RMSprop" and math.isclose(float(opt.learning_rate), 0.02)
    assert hp.space["learning_rate"]["low"] == 1e-3 and hp.space["learning_rate"]["log"] is True
    sgd = spaces.optimizer(HyperParameters(values={"optimizer": "sgd"}))
    assert float(sgd.momentum) == 0.9
    hp = HyperParameters()
    assert type(spaces.optimizer(hp, choices=["adamw"])).__name__ == "AdamW"
    assert hp.space["optimizer"]["values"] == ["adamw"]


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: spaces.mlp(None, (64,), 1),
            ValueError,
            r"at least 2 for classification.*num_outputs=2",
        ),
        (lambda: spaces.mlp(None, (64,), 3, task="clf"), ValueError, r"`task`.*task='clf'"),
        (
            lambda: spaces.mlp(None, 64, 3),
            ValueError,
            r"`input_shape`.*input_shape=64.*x.shape\[1:\]",
        ),
        (lambda: spaces.mlp(None, (64,), 0), ValueError, r"`num_outputs` to be a positive integer"),
        (
            lambda: spaces.convnet(None, (8, 8), 10),
            ValueError,
            r"\(height, width, channels\).*channel axis",
        ),
        (lambda: spaces.recurrent(None, (6,), 2), ValueError, r"\(timesteps, features\)"),
        (lambda: spaces.mlp(None, (4,), 2, max_layers=0), ValueError, r"`max_layers`"),
        (lambda: spaces.text(None, "one text", 2), ValueError, r"1-D list or array of strings"),
        (lambda: spaces.text(None, [1, 2], 2), ValueError, r"1-D list or array of strings"),
        (
            lambda: spaces.optimizer(None, lr_range=(0.1, 0.01)),
            ValueError,
            r"0 < low <= high.*\(0.1, 0.01\)",
        ),
        (lambda: spaces.optimizer(None, lr_range=(0, 0.01)), ValueError, r"0 < low <= high"),
        (
            lambda: spaces.optimizer(None, choices=["lbfgs"]),
            ValueError,
            r"'adam', 'adamw', 'sgd'.*lbfgs",
        ),
        (lambda: spaces.mlp({"units": 3}, (4,), 2), TypeError, r"HyperParameters.*hp of type dict"),
    ],
)
def test_spaces_bad_arguments(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_spaces_docstring_examples_run():
    result = doctest.testmod(spaces)
    assert result.failed == 0 and result.attempted >= 3
