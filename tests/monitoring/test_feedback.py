"""FeedbackTracker against scikit-learn's accuracy and mean absolute error."""

import threading

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, mean_absolute_error

from lamina.monitoring import FeedbackTracker, ReferenceProfile, UnknownRequestError


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_live_accuracy_matches_sklearn(rng):
    x = rng.normal(size=(500, 2))
    profile = ReferenceProfile.from_data(x, rng.dirichlet(np.ones(4), size=500),
                                         scores={"fit": {"val_accuracy": 0.7}, "evaluate": {"accuracy": 0.66}})
    tracker = FeedbackTracker(profile)
    probs = rng.dirichlet(np.ones(4), size=300)
    labels = rng.integers(0, 4, size=300)
    for i, row in enumerate(probs):
        tracker.record_prediction(f"r{i}", row)
    for i in range(0, 300, 2):  # half of the labels arrive, some as one-hot rows
        label = np.eye(4)[labels[i]] if i % 4 == 0 else int(labels[i])
        tracker.record_label(f"r{i}", label)
    summary = tracker.summary()
    expected = accuracy_score(labels[::2], probs[::2].argmax(1))
    assert summary["labelled"] == 150 and summary["metric"] == "accuracy"
    assert summary["live"] == pytest.approx(expected)
    lo, hi = summary["live_ci"]
    assert lo < expected < hi and 0.10 < hi - lo < 0.20
    assert (summary["reference"], summary["reference_name"]) == (0.66, "accuracy")


def test_binary_and_logits(rng):
    profile = ReferenceProfile.from_data(rng.normal(size=(100, 2)), rng.normal(size=(100, 1)), task="binary",
                                         prediction_transform="sigmoid", scores={"fit": {"val_accuracy": 0.9}})
    tracker = FeedbackTracker(profile)
    logits = rng.normal(size=200)
    labels = rng.integers(0, 2, size=200)
    for i in range(200):
        tracker.record_prediction(str(i), logits[i:i + 1])
        tracker.record_label(str(i), bool(labels[i]))
    summary = tracker.summary()
    assert summary["live"] == pytest.approx(accuracy_score(labels, logits > 0))
    assert (summary["reference"], summary["reference_name"]) == (0.9, "val_accuracy")


def test_live_mae_matches_sklearn(rng):
    profile = ReferenceProfile.from_data(rng.normal(size=(200, 2)), rng.normal(size=200),
                                         scores={"fit": {"val_mae": 0.5}})
    tracker = FeedbackTracker(profile)
    predictions = rng.normal(size=(120, 1))
    truth = predictions[:, 0] + rng.normal(scale=0.3, size=120)
    for i in range(120):
        tracker.record_prediction(f"q{i}", predictions[i])
    for i in range(120):
        tracker.record_label(f"q{i}", float(truth[i]))
    tracker.record_label("q0", float(truth[0]))  # a repeated label replaces the first
    summary = tracker.summary()
    errors = np.abs(predictions[:, 0] - truth)
    assert summary["metric"] == "mae" and summary["labelled"] == 120
    assert summary["live"] == pytest.approx(mean_absolute_error(truth, predictions[:, 0]))
    half = stats.t.ppf(0.975, 119) * errors.std(ddof=1) / np.sqrt(120)
    assert summary["live_ci"] == pytest.approx([errors.mean() - half, errors.mean() + half])
    assert (summary["reference"], summary["reference_name"]) == (0.5, "val_mae")


def test_unknown_and_evicted_ids_raise_a_key_error(rng):
    tracker = FeedbackTracker(task="regression", capacity=3)
    for i in range(5):
        tracker.record_prediction(f"id{i}", np.array([float(i)]))
    tracker.record_label("id4", 4.5)
    with pytest.raises(UnknownRequestError, match=r"No prediction is held for request id 'id0'.*last 3 predictions"):
        tracker.record_label("id0", 1.0)
    with pytest.raises(KeyError):
        tracker.record_label("nope", 1.0)
    with pytest.raises(ValueError, match="A label must be a finite number"):
        tracker.record_label("id4", "cat")
    for i in range(5, 8):  # id4 and its label are evicted
        tracker.record_prediction(f"id{i}", np.array([0.0]))
    assert tracker.summary() == {"labelled": 0, "metric": "mae", "live": None, "live_ci": None,
                                 "reference": None, "reference_name": None}


def test_concurrent_labels(rng):
    tracker = FeedbackTracker(task="classification")
    for i in range(800):
        tracker.record_prediction(str(i), np.array([0.2, 0.8]))

    def label(start):
        for i in range(start, 800, 4):
            tracker.record_label(str(i), 1 if i % 2 else 0)

    threads = [threading.Thread(target=label, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert tracker.summary()["labelled"] == 800 and tracker.summary()["live"] == pytest.approx(0.5)


def test_tracker_needs_a_task():
    with pytest.raises(ValueError, match="needs the task"):
        FeedbackTracker()


def test_multi_output_rows_use_the_first_output():
    tracker = FeedbackTracker(task="classification")
    tracker.record_prediction("a", {"label": np.array([0.1, 0.9]), "score": np.array([3.0])})
    tracker.record_prediction("b", [np.array([0.7, 0.3]), np.array([1.0])])
    tracker.record_label("a", 1)
    tracker.record_label("b", 1)
    assert tracker.summary()["live"] == 0.5
