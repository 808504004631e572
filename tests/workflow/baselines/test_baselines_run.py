"""Baselines: exact common-sense numbers, parity with scikit-learn pipelines, ranking,
point verdicts, skips, series, data given as keyword pairs, errors."""

import doctest
import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

import lamina
import lamina.workflow
import lamina.workflow.baselines.run
from lamina import layers
from lamina.data import load_diabetes, load_digits, split
from lamina.workflow import BaselineTable, last_value_baseline, run_baselines


@pytest.fixture(scope="module")
def digits_splits():
    x, y = load_digits()
    return split(x[:500] / 16.0, y[:500], dev=0.2, test=0.2, seed=0)


@pytest.fixture(scope="module")
def digits_table(digits_splits):
    return run_baselines(
        digits_splits, include=["majority_class", "logistic_regression", "svm_rbf"]
    )


@pytest.fixture(scope="module")
def diabetes_splits():
    x, y = load_diabetes()
    return split(x, y, seed=0)


def test_majority_class_accuracy_is_exact(digits_splits, digits_table):
    (_, y_train), (_, y_dev) = digits_splits.train, digits_splits.dev
    majority = np.bincount(y_train).argmax()
    expected = np.mean(y_dev == majority)
    row = next(r for r in digits_table.rows if r.name == "majority_class")
    assert row.kind == "common-sense"
    assert row.scores["accuracy"] == expected
    assert row.scores["error_rate"] == pytest.approx(1 - expected)
    assert digits_table.common_sense() == ("majority_class", expected)


def test_classical_classifiers_match_sklearn_pipelines(digits_splits, digits_table):
    (x_train, y_train), (x_dev, y_dev) = digits_splits.train, digits_splits.dev
    ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    expected = ref.fit(x_train, y_train).score(x_dev, y_dev)
    scores = dict(digits_table.ranking())
    assert scores["logistic_regression"] == pytest.approx(expected, abs=1e-12)
    svm = (
        make_pipeline(StandardScaler(), SVC(kernel="rbf")).fit(x_train, y_train).score(x_dev, y_dev)
    )
    assert scores["svm_rbf"] == pytest.approx(svm, abs=1e-12)
    assert digits_table.task == "classification" and digits_table.eval_set == "dev"
    assert (digits_table.n_train, digits_table.n_eval) == (300, 100)


def test_network_is_ranked_among_baselines(digits_splits):
    table = run_baselines(digits_splits, include=["majority_class", "logistic_regression"])
    lr = dict(table.ranking())["logistic_regression"]
    table.add_model("strong_net", lr + 0.01).add_model("weak_net", 0.5 * lr)
    names = [name for name, _ in table.ranking()]
    assert names == ["strong_net", "logistic_regression", "weak_net", "majority_class"]
    assert table.best_baseline() == ("logistic_regression", lr)

    verdict = table.verdict("strong_net")
    assert verdict.startswith(
        f"strong_net beats the best baseline, logistic_regression: accuracy {lr + 0.01:.4f} vs {lr:.4f} "
        f"(better by 0.0100 absolute, {0.01 / lr:.1%} relative; error rate"
    )
    assert (
        f"error rate {1 - lr - 0.01:.1%} vs {1 - lr:.1%}, {0.01 / (1 - lr):.0%} fewer errors)."
        in verdict
    )
    assert "It beats the common-sense baseline (majority_class" in verdict
    verdict = table.verdict("weak_net")
    assert (
        f"weak_net does not beat the best baseline, logistic_regression: accuracy {0.5 * lr:.4f}"
        in verdict
    )
    assert "A classical model does better on this data" in verdict


def test_verdict_flags_a_network_worse_than_common_sense(digits_splits):
    table = run_baselines(digits_splits, include=["majority_class"])
    majority = table.best_baseline()[1]
    table.add_model("broken", majority / 2)
    assert "does not even beat the common-sense baseline (majority_class" in table.verdict("broken")
    table.add_model("same", {"loss": 2.3, "sparse_categorical_accuracy": majority})
    verdict = table.verdict("same")
    assert verdict.startswith(
        f"same matches the best baseline, majority_class (accuracy {majority:.4f})."
    )
    assert "does not even beat the common-sense baseline" in verdict  # matching it is no better


def test_a_trained_lamina_model_joins_the_table(digits_splits):
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(64,)), layers.Dense(10, activation="softmax")])
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate=0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(*digits_splits.train, epochs=5, verbose=0)
    scores = model.evaluate(*digits_splits.dev, verbose=0, return_dict=True)
    table = run_baselines(digits_splits, include=["majority_class"]).add_model(
        "softmax_reg", scores
    )
    assert dict(table.ranking())["softmax_reg"] == pytest.approx(scores["accuracy"])
    assert table.ranking()[0][0] == "softmax_reg"  # 5 epochs beat the majority class
    assert "softmax_reg beats the best baseline, majority_class" in table.verdict("softmax_reg")


def test_regression_mean_baseline_matches_numpy(diabetes_splits):
    table = run_baselines(diabetes_splits, include=["mean", "ridge"])
    (x_train, y_train), (x_dev, y_dev) = diabetes_splits.train, diabetes_splits.dev
    err = y_dev.astype(np.float64) - y_train.astype(np.float64).mean()
    row = table.rows[0]
    assert row.name == "mean" and table.task == "regression" and table.metric == "mae"
    assert row.scores["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-12)
    assert row.scores["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-12)
    ridge = make_pipeline(StandardScaler(), Ridge()).fit(x_train, y_train).predict(x_dev)
    assert table.rows[1].scores["mae"] == pytest.approx(np.mean(np.abs(ridge - y_dev)), rel=1e-6)
    # Lower MAE ranks first; a network given as a dict keeps its RMSE.
    table.add_model(
        "net", {"loss": 1.0, "mean_absolute_error": 1.0, "root_mean_squared_error": 2.0}
    )
    assert table.ranking()[0] == ("net", 1.0)
    assert table.rows[-1].scores == {"mae": 1.0, "rmse": 2.0}
    assert "net beats the best baseline, ridge: mae 1 vs" in table.verdict("net")


def test_default_regression_baselines_all_run(diabetes_splits):
    # One OpenMP thread: on a small, busy CI machine, gradient boosting's threads
    # wait on each other for seconds; the results do not depend on the thread count.
    with threadpool_limits(1):
        table = run_baselines(diabetes_splits)
    assert [r.name for r in table.rows] == [
        "mean",
        "ridge",
        "random_forest",
        "gradient_boosting",
        "svm_rbf",
    ]
    maes = [s for _, s in table.ranking()]
    assert maes == sorted(maes) and len(maes) == 5
    assert table.best_baseline()[1] < table.common_sense()[1]  # the diabetes features carry signal


def test_svm_is_skipped_above_the_size_threshold(digits_splits):
    table = run_baselines(digits_splits, include=["majority_class", "svm_rbf"], svm_max_size=10_000)
    reason = table.skipped["svm_rbf"]
    assert reason.startswith("300 samples x 64 features = 19,200 > svm_max_size=10,000")
    assert [name for name, _ in table.ranking()] == ["majority_class"]
    assert "skipped: 300 samples x 64" in str(table)


def test_time_budget_skips_the_remaining_classical_models(digits_splits):
    table = run_baselines(
        digits_splits, include=["majority_class", "logistic_regression"], time_budget=1e-9
    )
    assert table.skipped["logistic_regression"].startswith("time budget of 1e-09s spent")
    assert table.ranking()[0][0] == "majority_class"


def test_last_value_baseline_numbers():
    series = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    assert last_value_baseline(series) == {"mae": 2.5, "rmse": pytest.approx(np.sqrt(7.5))}
    assert last_value_baseline(series, horizon=2)["mae"] == pytest.approx(np.mean([3.0, 5.0, 7.0]))
    with pytest.raises(
        ValueError, match=r"longer than `horizon`. Received: shape \(5,\), horizon=5"
    ):
        last_value_baseline(series, horizon=5)


def test_series_option_scores_the_last_value_of_each_window():
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.normal(size=400))
    windows = np.stack([np.stack([t[i : i + 10], rng.normal(size=10)], axis=1) for i in range(389)])
    targets = t[10:399]
    data = (windows[:300], targets[:300], windows[300:], targets[300:])
    table = run_baselines(
        data, task="regression", series=True, series_feature=0, include=["mean", "last_value"]
    )
    expected = np.mean(np.abs(targets[300:] - windows[300:, -1, 0]))
    assert dict(table.ranking())["last_value"] == pytest.approx(expected, rel=1e-12)
    assert table.eval_set == "eval"
    with pytest.raises(
        ValueError, match=r"needs `series_feature`: the inputs have 2 features per time step"
    ):
        run_baselines(data, task="regression", series=True, include=["last_value"])


def test_to_dict_is_json_and_str_is_a_table(digits_table):
    d = digits_table.to_dict()
    assert json.loads(json.dumps(d))["metric"] == "accuracy"
    assert [r["name"] for r in d["rows"]] == ["majority_class", "logistic_regression", "svm_rbf"]
    text = str(digits_table)
    assert "Baselines on dev (classification: 300 train / 100 eval samples)" in text
    assert "logistic_regression" in text and "error_rate" in text


def test_run_baselines_argument_errors(digits_splits):
    with pytest.raises(
        ValueError,
        match=r"no classification baseline named 'ridge'.*Valid names are: majority_class, logistic_regression",
    ):
        run_baselines(digits_splits, include=["ridge"])
    with pytest.raises(
        ValueError, match=r"forecasts values, a regression task. Received: task='classification'"
    ):
        run_baselines(digits_splits, series=True)
    x, y = load_digits()
    with pytest.raises(ValueError, match=r"score on the dev set, which this split does not have"):
        run_baselines(split(x, y, dev=0.0))
    with pytest.raises(
        TypeError,
        match=r"or a tuple \(x_train, y_train, x_eval, y_eval\). Received: splits of type tuple with 2 items",
    ):
        run_baselines((x, y))
    with pytest.raises(
        ValueError, match=r"same features. Received: 64 training features, 63 evaluation"
    ):
        run_baselines((x, y, x[:, :63], y))


def test_add_model_errors():
    table = BaselineTable("classification", "dev", 10, 10)
    table.add_model("net", 0.5)
    with pytest.raises(ValueError, match=r"expects a new name; 'net' is already in the table"):
        table.add_model("net", 0.6)
    with pytest.raises(
        ValueError,
        match=r"could not find the 'accuracy' score for 'x'. Received: a dict with keys \['loss'\]",
    ):
        table.add_model("x", {"loss": 0.3})
    with pytest.raises(ValueError, match=r"accuracy in \[0, 1\] for 'pct'. Received: score=95.0"):
        table.add_model("pct", 95.0)
    with pytest.raises(KeyError, match=r"no model named 'other'"):
        table.verdict("other")


@pytest.mark.parametrize(
    "module", [lamina.workflow, lamina.workflow.baselines, lamina.workflow.baselines.run]
)
def test_baselines_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
