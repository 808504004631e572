"""automl: the family from the data's shape, clear errors for data it cannot search,
train + dev kept in order for the retraining, and a real run on digits within a
small budget that beats the majority baseline on the test set and writes its report."""

import json

import numpy as np
import pytest
import torch

from lamina.data import load_digits, split
from lamina.tuning.auto import AutoMLResult, _train_dev, automl, infer_family
from lamina.tuning.families import inputs_for, moments_of


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train fastest on one CPU thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize(
    "x, family",
    [
        (np.zeros((6, 4), dtype="float32"), "mlp"),
        (np.zeros((6, 4), dtype="int64"), "mlp"),
        (np.zeros((6, 5, 3)), "recurrent"),
        (np.zeros((6, 8, 8, 1)), "convnet"),
        (torch.zeros(6, 8, 8, 3), "convnet"),
        (["a good film", "a bad one", "fine"], "text"),
        (np.array(["a good film", "a bad one"]), "text"),
        (np.array(["a good film", "a bad one"], dtype=object), "text"),
    ],
)
def test_infer_family_from_the_shape_and_type(x, family):
    assert infer_family(x) == family


@pytest.mark.parametrize(
    "x, error, match",
    [
        (np.zeros((4, 2, 2, 2, 2)), ValueError, r"Received: x of shape \(4, 2, 2, 2, 2\)"),
        (np.zeros(5), ValueError, r"Reshape one feature per sample to \(samples, 1\)"),
        (np.array([{"a": 1}, {"b": 2}], dtype=object), TypeError, "non-string objects"),
        (np.array(["text", 3], dtype=object), TypeError, "Encode categories as numbers"),
        ([np.zeros((3, 2)), np.zeros((3, 4))], TypeError, "several inputs"),
    ],
)
def test_unsupported_inputs_are_clear_errors(x, error, match):
    with pytest.raises(error, match=match):
        infer_family(x)


def test_automl_refuses_bad_data_before_any_search(tmp_path):
    y = np.arange(4) % 2
    with pytest.raises(ValueError, match=r"Received: x of shape \(4, 2, 2, 2, 2\)"):
        automl(np.zeros((4, 2, 2, 2, 2)), y, directory=tmp_path, report=None)
    with pytest.raises(ValueError, match="'nasnet'"):
        automl(np.zeros((4, 3)), y, family="nasnet", directory=tmp_path, report=None)
    with pytest.raises(ValueError, match="one target per sample"):
        automl(np.zeros((5, 3)), np.arange(4) % 2, directory=tmp_path, report=None)
    with pytest.raises(ValueError, match="time_budget"):
        automl(np.zeros((4, 3)), y, time_budget=0, directory=tmp_path, report=None)
    assert not any(tmp_path.iterdir())  # no study was opened


def test_inputs_for_each_family():
    grey = np.zeros((5, 8, 8))
    assert inputs_for("convnet", grey).shape == (5, 8, 8, 1)  # the channel axis added
    assert inputs_for("recurrent", grey).dtype == np.float32
    assert inputs_for("mlp", np.zeros((5, 8, 8, 1))).shape == (5, 64)
    texts = inputs_for("text", ["a", "b c"])
    assert texts.tolist() == ["a", "b c"]
    with pytest.raises(ValueError, match=r"automl\(family='recurrent'\)` expects inputs of shape"):
        inputs_for("recurrent", np.zeros((5, 3)))
    with pytest.raises(ValueError, match="family='text' or family='auto'"):
        inputs_for("mlp", ["a", "b"])
    with pytest.raises(ValueError, match="expects one string per sample"):
        inputs_for("text", np.zeros((5, 3)))


def test_train_and_dev_are_joined_in_the_original_order():
    x = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) % 2
    s = split(x, y, dev=0.25, test=0.25, seed=3)
    fit_x, fit_y = _train_dev(s)
    kept = np.sort(np.concatenate([s.indices["train"], s.indices["dev"]]))
    np.testing.assert_array_equal(fit_x, x[kept])
    np.testing.assert_array_equal(fit_y, y[kept])
    assert not set(kept) & set(s.indices["test"])


def test_the_package_names_are_the_functions():
    import lamina.tuning

    assert lamina.tuning.automl is automl
    assert callable(lamina.tuning.lr_range) and lamina.tuning.lr_range.__name__ == "lr_range"


def test_automl_on_digits_beats_the_majority_baseline_and_reports(tmp_path):
    x, y = load_digits()
    report = tmp_path / "automl.html"
    result = automl(
        (x / 16.0).astype("float32"),
        y,
        time_budget=15,
        max_epochs=5,
        directory=tmp_path / "studies",
        report=report,
        verbose=0,
    )
    assert isinstance(result, AutoMLResult)
    assert (result.family, result.task) == ("mlp", "classification")
    # the test set: 20 % of 1,797 examples, scored once, with a Wilson interval
    score = result.test_score
    assert score.n == result.predictions.n == 359 == result.baselines.n_eval
    assert score.low <= score.estimate <= score.high and score.method.startswith("wilson")
    assert score.estimate == pytest.approx(1.0 - result.predictions.correct.mean())
    majority = dict(result.baselines.ranking())["majority_class"]
    assert 1.0 - score.high > majority  # beats the majority class beyond the interval
    comparison = result.baselines.compare("automl", against="majority_class")
    assert comparison.p_value < 1e-6
    # the search: trials in the study folder, the best retrained for its best epoch count
    trials = result.results.trials
    assert len(trials) >= 2 and result.results.best is not None
    assert set(result.best_params) >= {"num_layers", "units", "learning_rate"}
    assert 1 <= result.epochs <= 5
    assert result.stages["search"] < 15
    assert list((tmp_path / "studies").glob("*.db"))
    # the report: baselines, tuning and scores, with the test interval
    assert result.report_path == report and report.exists()
    html = report.read_text()
    assert '<section id="tuning">' in html and '<section id="baselines">' in html
    data = json.loads(report.with_suffix(".json").read_text())
    assert {"tuning", "baselines", "scores"} <= set(data["sections"])
    assert len(data["tuning"]["trials"]) == len(trials)
    test_cell = data["scores"]["automl (mlp)"]["test error"]
    assert test_cell["n"] == 359 and test_cell["low"] <= test_cell["estimate"]
    text = str(result)
    assert "test error" in text and "majority_class" in text
    assert json.dumps(result.to_dict(), allow_nan=False)


def test_automl_on_texts_scores_tf_idf_baselines_and_the_string_model(tmp_path):
    from lamina.data.reviews import load_drug_reviews

    x, y = load_drug_reviews()
    result = automl(
        x[:300], y[:300], time_budget=4, max_epochs=2, directory=tmp_path, report=None, verbose=0
    )
    assert result.family == "text" and result.report_path is None
    assert result.test_score.n == 60 == result.predictions.n
    ran = dict(result.baselines.ranking())
    assert {"majority_class", "logistic_regression", "automl"} <= set(ran)  # TF-IDF baselines
    assert {"output_mode", "ngrams", "max_tokens"} <= set(result.best_params)
    # the retrained model reads raw strings
    assert result.model.predict(x[300:305], verbose=0).shape == (5, 3)


def test_automl_regression_standardises_inputs_and_targets(tmp_path):
    from lamina.data import load_diabetes

    x, y = load_diabetes(scaled=False)  # raw features (age in years, ...) and targets ~150
    result = automl(x, y, time_budget=5, max_epochs=5, directory=tmp_path, report=None, verbose=0)
    assert (result.family, result.task, result.test_metric) == ("mlp", "regression", "mae")
    assert result.test_score.n == 88 and "bootstrap" in result.test_score.method
    mean_mae = dict(result.baselines.ranking())["mean"]
    assert result.test_score.high < mean_mae  # beats the training mean beyond its interval
    # the model takes raw inputs and predicts on the targets' scale
    predicted = result.model.predict(x[:50], verbose=0)
    assert predicted.shape == (50, 1) and 50 < predicted.mean() < 250


def test_constant_features_are_left_as_they_are():
    a = np.array([[1.0, 5.0], [3.0, 5.0]])
    mean, variance = moments_of(a)
    np.testing.assert_allclose(mean, [2.0, 5.0])
    np.testing.assert_allclose(variance, [1.0, 1.0])  # a constant column is not divided by 0
