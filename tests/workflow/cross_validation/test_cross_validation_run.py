"""K-fold / iterated K-fold: fold structure, fresh models, scores, progress, errors."""

import doctest

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.data import CVResult, cross_validate, load_diabetes, load_iris
from lamina.data import cross_validation as cv_module
from lamina.data.cross_validation import result as cv_result_module
from lamina.data.cross_validation import run as cv_run_module


@pytest.fixture(scope="module")
def iris():
    x, y = load_iris()
    return (x - x.mean(axis=0)) / x.std(axis=0), y


def _builder(n_features=4, units=3, loss="sparse_categorical_crossentropy", metric="accuracy"):
    built = []

    def build():
        model = lamina.Sequential(
            [
                lamina.Input(shape=(n_features,)),
                layers.Dense(units, activation="softmax" if units > 1 else None),
            ]
        )
        model.compile(
            optimizer=lamina.optimizers.Adam(learning_rate=0.05), loss=loss, metrics=[metric]
        )
        built.append(model)
        return model

    return build, built


def test_cross_validate_folds_partition_the_data_each_repeat(iris):
    x, y = iris
    build, built = _builder()
    result = cross_validate(build, x, y, folds=3, repeats=2, fit_kwargs={"epochs": 2}, verbose=0)
    assert isinstance(result, CVResult)
    assert len(built) == 6 and len({id(m) for m in built}) == 6  # a fresh model per fit
    assert len(result.scores) == len(result.fold_indices) == len(result.histories) == 6
    for repeat in range(2):
        held = [result.fold_indices[repeat * 3 + f][1] for f in range(3)]
        np.testing.assert_array_equal(np.sort(np.concatenate(held)), np.arange(150))
        for train_idx, held_idx in result.fold_indices[repeat * 3 : repeat * 3 + 3]:
            assert not set(train_idx) & set(held_idx)
            assert len(train_idx) + len(held_idx) == 150
    # Each repeat reshuffles: the first held-out fold differs.
    assert not np.array_equal(result.fold_indices[0][1], result.fold_indices[3][1])


def test_cross_validate_stratified_folds_keep_class_proportions(iris):
    x, y = iris
    build, _ = _builder()
    result = cross_validate(build, x, y, folds=5, fit_kwargs={"epochs": 1}, verbose=0)
    for _, held_idx in result.fold_indices:
        np.testing.assert_array_equal(np.bincount(y[held_idx]), [10, 10, 10])


def test_cross_validate_scores_are_the_held_out_evaluation(iris):
    x, y = iris
    build, built = _builder()

    def accuracy_from_predictions(y_true, y_pred):
        return float(np.mean(y_pred.argmax(axis=1) == y_true))

    result = cross_validate(
        build,
        x,
        y,
        folds=3,
        fit_kwargs={"epochs": 3, "batch_size": 16},
        metrics={"acc_np": accuracy_from_predictions},
        verbose=0,
    )
    for model, score, (_, held_idx) in zip(built, result.scores, result.fold_indices):
        again = model.evaluate(x[held_idx], y[held_idx], verbose=0, return_dict=True)
        assert score["loss"] == pytest.approx(again["loss"], rel=1e-6)
        assert score["accuracy"] == pytest.approx(again["accuracy"])
        assert score["acc_np"] == pytest.approx(score["accuracy"])
        assert len(model.history.epoch) == 3
    accs = [s["accuracy"] for s in result.scores]
    assert result.mean["accuracy"] == pytest.approx(np.mean(accs))
    assert result.std["accuracy"] == pytest.approx(np.std(accs))
    text = result.summary()
    assert "3 folds x 1 repeat(s)" in text and "mean ± std" in text and "acc_np" in text
    assert repr(result).startswith(
        f"CVResult(folds=3, repeats=1, mean: loss={result.mean['loss']:.4g}, "
    )


def test_cross_validate_is_repeatable(iris):
    x, y = iris
    a = cross_validate(_builder()[0], x, y, folds=3, fit_kwargs={"epochs": 2}, seed=5, verbose=0)
    b = cross_validate(_builder()[0], x, y, folds=3, fit_kwargs={"epochs": 2}, seed=5, verbose=0)
    assert a.scores == b.scores


def test_cross_validate_regression_uses_plain_kfold():
    x, y = load_diabetes()
    x, y = x[:120], (y[:120] - y.mean()) / y.std()
    build, built = _builder(n_features=10, units=1, loss="mse", metric="mae")
    result = cross_validate(build, x, y, folds=4, fit_kwargs={"epochs": 2}, verbose=0)
    assert set(result.mean) == {"loss", "mae"} and len(built) == 4
    held = np.concatenate([h for _, h in result.fold_indices])
    np.testing.assert_array_equal(np.sort(held), np.arange(120))


def test_cross_validate_prints_one_line_per_fold(iris, capsys):
    x, y = iris
    cross_validate(_builder()[0], x, y, folds=2, repeats=2, fit_kwargs={"epochs": 1}, verbose=1)
    out = capsys.readouterr().out
    assert "Fold 1/2 (repeat 1/2) [1/4]" in out and "Fold 2/2 (repeat 2/2) [4/4]" in out
    assert "Mean over 4 fits - loss:" in out and "accuracy:" in out


def test_cross_validate_requires_a_compiled_lamina_model(iris):
    x, y = iris
    with pytest.raises(
        TypeError,
        match=r"`build_fn\(\)` to return a compiled Lamina model. Received: an object of type str",
    ):
        cross_validate(lambda: "model", x, y, verbose=0)

    def uncompiled():
        return lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3)])

    with pytest.raises(RuntimeError, match=r"\*compiled\* model.*Call `model.compile\(...\)`"):
        cross_validate(uncompiled, x, y, verbose=0)


def test_cross_validate_argument_errors(iris):
    x, y = iris
    build = _builder()[0]
    with pytest.raises(
        ValueError, match=r"`repeats` > 1 needs `shuffle=True`. Received: repeats=2, shuffle=False"
    ):
        cross_validate(build, x, y, repeats=2, shuffle=False)
    with pytest.raises(ValueError, match=r"cannot stratify 5 folds: class 2 has only 3 sample"):
        cross_validate(build, x[:103], y[:103], folds=5)
    with pytest.raises(ValueError, match=r"`fit_kwargs` must not hold x"):
        cross_validate(build, x, y, fit_kwargs={"x": x})
    with pytest.raises(
        ValueError,
        match=r"`folds` to be an integer between 2 and the number of samples \(150\). Received: folds=1",
    ):
        cross_validate(build, x, y, folds=1)
    with pytest.raises(
        ValueError, match=r"can only stratify class labels.*Received: stratify=True"
    ):
        # The task comes from the model's loss first (lamina.data.infer_task): an MSE model.
        regression = _builder(units=1, loss="mse", metric="mae")[0]
        cross_validate(regression, x, x[:, 0], stratify=True)
    with pytest.raises(TypeError, match=r"`metrics` to be functions.*auc=3"):
        cross_validate(build, x, y, metrics={"auc": 3})


@pytest.mark.parametrize("module", [cv_module, cv_run_module, cv_result_module])
def test_cross_validate_docstring_example_runs(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and (result.attempted > 0 or module is cv_result_module)
