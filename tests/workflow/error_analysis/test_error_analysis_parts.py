"""Error analysis: confusion matrix, per-class report (checked against scikit-learn),
worst mistakes with images, metrics per group, for classification and regression."""

import doctest

import numpy as np
import pytest
import sklearn.metrics
import torch

import lamina
from lamina import layers
from lamina.data import load_digits, split
from lamina.workflow import (
    analyze_errors,
    classification_report,
    confusion_matrix,
    per_group_metrics,
    worst_mistakes,
)
from lamina.workflow.error_analysis import analysis as analysis_module
from lamina.workflow.error_analysis import confusion as confusion_module
from lamina.workflow.error_analysis import groups as groups_module
from lamina.workflow.error_analysis import mistakes as mistakes_module
from lamina.workflow.error_analysis import per_class as per_class_module
from lamina.workflow.plots import figure_to_png


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks train fastest on one CPU thread (no cross-thread synchronisation)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_model():
    """A small MLP trained briefly on digits (imperfect on dev, so it makes mistakes)."""
    x, y = load_digits()
    s = split((x / 16.0).astype("float32"), y, dev=0.25, test=0.1, seed=0)
    lamina.set_seed(0)
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=lamina.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(*s.train, epochs=3, batch_size=64, verbose=0)
    return model, s


def test_confusion_matrix_matches_sklearn_on_a_trained_model(digits_model):
    model, s = digits_model
    x_dev, y_dev = s.dev
    cm = confusion_matrix(model, x_dev, y_dev)
    pred = model.predict(x_dev, verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(
        cm.counts, sklearn.metrics.confusion_matrix(y_dev, pred, labels=range(10))
    )
    np.testing.assert_array_equal(np.asarray(cm), cm.counts)
    assert cm.counts.sum() == len(y_dev)
    assert cm.accuracy == pytest.approx(np.mean(pred == y_dev))
    np.testing.assert_allclose(cm.normalized().sum(axis=1), 1.0)
    # The most confused pair is the largest off-diagonal cell.
    off = cm.counts - np.diag(np.diag(cm.counts))
    true, predicted, count = cm.most_confused(1)[0]
    assert count == off.max() and off[int(true), int(predicted)] == count
    png = figure_to_png(cm.plot())
    assert png[:4] == b"\x89PNG"
    assert cm.to_dict()["counts"] == cm.counts.tolist()


def test_confusion_matrix_accepts_labels_names_and_one_hot():
    y_true = np.array(["cat", "dog", "dog", "bird"])
    y_pred = np.array(["cat", "cat", "dog", "bird"])
    cm = confusion_matrix(y_pred, None, y_true)
    assert cm.labels == ["bird", "cat", "dog"]
    assert cm.counts.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    probs = np.array([[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]])
    cm = confusion_matrix(probs, None, np.eye(2)[[0, 0, 1]], class_names=["neg", "pos"])
    assert cm.counts.tolist() == [[1, 1], [0, 1]]
    assert cm.most_confused() == [("neg", "pos", 1)]
    assert "neg" in str(cm)


def test_classification_report_equals_sklearn(digits_model):
    model, s = digits_model
    x_dev, y_dev = s.dev
    rep = classification_report(model, x_dev, y_dev)
    pred = model.predict(x_dev, verbose=0).argmax(axis=1)
    ref = sklearn.metrics.classification_report(y_dev, pred, output_dict=True, zero_division=0)
    for name, values in rep.per_class.items():
        for key, ref_key in (
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "f1-score"),
            ("support", "support"),
        ):
            assert values[key] == pytest.approx(ref[name][ref_key]), (name, key)
    for ours, theirs in (
        (rep.macro_avg, ref["macro avg"]),
        (rep.weighted_avg, ref["weighted avg"]),
    ):
        for key, ref_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert ours[key] == pytest.approx(theirs[ref_key])
    assert rep.accuracy == pytest.approx(ref["accuracy"])
    worst = rep.worst_classes(2)
    assert worst[0][1] == min(v["f1"] for v in rep.per_class.values())
    assert "macro avg" in str(rep)


def test_classification_report_with_a_class_never_predicted_matches_sklearn():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 1])  # class 2 is never predicted
    rep = classification_report(y_pred, None, y_true)
    ref = sklearn.metrics.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert rep.per_class["2"]["precision"] == 0.0 and rep.per_class["2"]["recall"] == 0.0
    assert rep.macro_avg["f1"] == pytest.approx(ref["macro avg"]["f1-score"])
    assert rep.weighted_avg["precision"] == pytest.approx(ref["weighted avg"]["precision"])


def test_worst_mistakes_are_the_most_confident_wrong_predictions(digits_model):
    model, s = digits_model
    x_dev, y_dev = s.dev
    probs = model.predict(x_dev, verbose=0)
    worst = worst_mistakes(model, x_dev, y_dev, k=6, image_shape=(8, 8))
    wrong = np.flatnonzero(probs.argmax(axis=1) != y_dev)
    assert worst.n_mistakes == len(wrong) and worst.n_samples == len(y_dev)
    assert len(worst) == 6
    confidences = [m.confidence for m in worst.mistakes]
    assert confidences == sorted(confidences, reverse=True)
    # Nothing wrong is more confident than the last one listed.
    assert probs[wrong].max(axis=1).max() == pytest.approx(confidences[0], abs=1e-6)
    assert np.sort(probs[wrong].max(axis=1))[-6] == pytest.approx(confidences[-1], abs=1e-6)
    for m in worst.mistakes:
        assert m.true == str(y_dev[m.index]) and m.predicted == str(probs[m.index].argmax())
        assert m.true != m.predicted
        assert m.confidence == pytest.approx(probs[m.index].max(), abs=1e-6)
    np.testing.assert_array_equal(worst.inputs, x_dev[[m.index for m in worst.mistakes]])
    fig = worst.plot()  # the stored inputs, reshaped to 8x8
    assert len(fig.axes[0].images) == 1 and fig.axes[0].images[0].get_array().shape == (8, 8)
    assert sum(len(ax.images) for ax in fig.axes) == 6
    # The same with the whole set's images given explicitly.
    fig = worst.plot(images=x_dev.reshape(-1, 8, 8))
    first = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(first, x_dev[worst.mistakes[0].index].reshape(8, 8))
    assert figure_to_png(fig)[:4] == b"\x89PNG"
    assert worst.to_dict()["mistakes"][0]["index"] == worst.mistakes[0].index


def test_worst_mistakes_from_logits_and_binary_sigmoid():
    logits = np.array([[4.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    worst = worst_mistakes(logits, None, [1, 1, 1], k=5)  # not probabilities: softmax applied
    assert [m.index for m in worst.mistakes] == [0, 2]
    assert worst.mistakes[0].confidence == pytest.approx(1 / (1 + np.exp(-4.0)))
    scores = np.array([0.95, 0.1, 0.6, 0.3])
    worst = worst_mistakes(scores, None, np.array([0, 1, 1, 0]), k=2)
    assert [(m.index, m.predicted) for m in worst.mistakes] == [(0, "1"), (1, "0")]
    assert worst.mistakes[1].confidence == pytest.approx(0.9)
    fig = worst.plot()  # no images: a bar chart
    assert not fig.axes[0].images and len(fig.axes[0].patches) == 2


def test_worst_mistakes_regression_are_the_largest_absolute_errors():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    pred = np.array([1.1, 0.0, 3.0, 4.5, 9.0])
    worst = worst_mistakes(pred, None, y, k=3, task="regression")
    assert worst.task == "regression"
    assert [m.index for m in worst.mistakes] == [4, 1, 3]
    assert [m.error for m in worst.mistakes] == pytest.approx([4.0, 2.0, 0.5])
    assert worst.mistakes[0].confidence is None
    assert "Largest errors" in str(worst) or "largest errors" in str(worst)
    figure_to_png(worst.plot())


def test_worst_mistakes_of_a_regression_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5])).astype("float32")
    y[7] += 25.0  # a planted outlier: the worst error
    lamina.set_seed(0)
    model = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="mse")
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    worst = worst_mistakes(model, x, y, k=3)
    assert worst.task == "regression" and worst.mistakes[0].index == 7
    groups = np.where(np.arange(200) < 100, "first", "second")
    by_group = per_group_metrics(model, x, y, groups)
    assert by_group.metric == "mae" and by_group.worst_group == "first"
    pred = model.predict(x, verbose=0)[:, 0]
    assert by_group.rows[0]["mae"] == pytest.approx(np.mean(np.abs(pred[:100] - y[:100])), rel=1e-5)


def test_per_group_metrics_finds_the_planted_gap(digits_model):
    model, s = digits_model
    x_dev, y_dev = s.dev
    probs = model.predict(x_dev, verbose=0)
    groups = np.where(np.arange(len(y_dev)) % 3 == 0, "scanner B", "scanner A")
    # Scanner B's predictions are corrupted: every one of them is shifted to another class.
    bad = probs.copy()
    b = groups == "scanner B"
    bad[b] = np.roll(bad[b], 1, axis=1)
    metrics = per_group_metrics(bad, None, y_dev, groups)
    acc_a = float(np.mean(probs[~b].argmax(1) == y_dev[~b]))
    acc_b = float(np.mean(bad[b].argmax(1) == y_dev[b]))
    assert metrics.worst_group == "scanner B" and metrics.best_group == "scanner A"
    rows = {r["group"]: r for r in metrics.rows}
    assert rows["scanner A"]["accuracy"] == pytest.approx(acc_a)
    assert rows["scanner B"]["error_rate"] == pytest.approx(1 - acc_b)
    assert rows["scanner B"]["n"] == int(b.sum())
    assert metrics.largest_gap == pytest.approx(acc_a - acc_b)
    assert metrics.overall["accuracy"] == pytest.approx(float(np.mean(bad.argmax(1) == y_dev)))
    assert "scanner B" in str(metrics)
    figure_to_png(metrics.plot())


def test_analyze_errors_bundles_every_part(digits_model):
    model, s = digits_model
    x_dev, y_dev = s.dev
    names = [f"digit {i}" for i in range(10)]
    analysis = analyze_errors(
        model, x_dev, y_dev, class_names=names, groups=y_dev % 2, k=4, image_shape=(8, 8)
    )
    assert analysis.task == "classification"
    assert analysis.confusion_matrix.class_names == names
    assert set(analysis.classification_report.per_class) <= set(names)
    assert len(analysis.worst_mistakes) == 4 and analysis.worst_mistakes.mistakes[
        0
    ].true.startswith("digit")
    assert analysis.group_metrics is not None
    data = analysis.to_dict()
    assert set(data) == {
        "task",
        "metric",
        "n",
        "error",
        "gap_established",
        "group_to_look_at",
        "confusion_matrix",
        "classification_report",
        "worst_mistakes",
        "group_metrics",
    }
    assert "Confusion matrix" in str(analysis)


def test_error_analysis_errors_are_clear():
    with pytest.raises(ValueError, match="one class name per class"):
        confusion_matrix(np.array([[0.9, 0.1]]), None, [0], class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="one prediction per target"):
        confusion_matrix(np.array([0, 1]), None, [0, 1, 1])
    with pytest.raises(ValueError, match="is for classification"):
        confusion_matrix(np.array([0.5, 1.5]), None, np.array([0.2, 1.0]))
    with pytest.raises(ValueError, match="labels in 0..1"):
        confusion_matrix(np.array([[0.9, 0.1]]), None, [5])
    with pytest.raises(ValueError, match="one group id per sample"):
        per_group_metrics(np.array([0, 1]), None, [0, 1], groups=[0])
    with pytest.raises(ValueError, match="needs the inputs"):
        worst_mistakes(lamina.Sequential([lamina.Input(shape=(2,)), layers.Dense(2)]), None, [0])


@pytest.mark.parametrize(
    "module",
    [
        lamina.workflow.error_analysis,
        analysis_module,
        per_class_module,
        confusion_module,
        groups_module,
        mistakes_module,
    ],
)
def test_error_analysis_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 3
