"""Tests for `Diagnosis.from_errors`: the gap logic on planted numbers (point estimates,
no sizes), serialisation, and the error measures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lamina import losses
from lamina.workflow.diagnose import Diagnosis, classification_error, regression_error

# --------------------------------------------------------------------------- gap logic


def test_from_errors_names_avoidable_bias() -> None:
    d = Diagnosis.from_errors(train=0.08, dev=0.10, human=0.01)
    assert d.primary == "avoidable_bias"
    assert d.avoidable_bias == pytest.approx(0.07)
    assert d.variance == pytest.approx(0.02)
    assert d.reference == "human"
    assert "avoidable bias" in d.verdict and "8.00%" in d.verdict
    assert d.recommendations[0].startswith("Train a bigger model")
    # The remedies of the smaller significant gap (variance) follow.
    assert any("more training data" in r for r in d.recommendations[5:])


def test_from_errors_names_variance_with_train_dev() -> None:
    d = Diagnosis.from_errors(train=0.01, train_dev=0.09, dev=0.10, human=0.005)
    assert d.primary == "variance"
    assert d.variance == pytest.approx(0.08)
    assert d.data_mismatch == pytest.approx(0.01)
    assert not d.variance_includes_mismatch
    assert d.recommendations[0] == "Get more training data."
    assert not any("train-dev" in n for n in d.notes)


def test_from_errors_without_train_dev_says_variance_includes_mismatch() -> None:
    d = Diagnosis.from_errors(train=0.01, dev=0.12, human=0.005)
    assert d.primary == "variance"
    assert d.variance_includes_mismatch
    assert d.data_mismatch is None
    assert any("No train-dev set" in n for n in d.notes)
    assert "may include data mismatch" in d.verdict


def test_from_errors_names_data_mismatch() -> None:
    d = Diagnosis.from_errors(train=0.01, train_dev=0.015, dev=0.10, human=0.005)
    assert d.primary == "data_mismatch"
    assert d.data_mismatch == pytest.approx(0.085)
    assert "more like the dev data" in d.recommendations[0]


def test_from_errors_names_dev_overfitting() -> None:
    d = Diagnosis.from_errors(train=0.02, train_dev=0.025, dev=0.03, test=0.10, human=0.015)
    assert d.primary == "dev_overfitting"
    assert d.dev_overfitting == pytest.approx(0.07)
    assert d.recommendations[0] == "Get a bigger dev set."


def test_from_errors_worse_than_common_sense_comes_first() -> None:
    # A huge variance gap too, but a model that loses to the majority class is broken.
    d = Diagnosis.from_errors(train=0.05, dev=0.91, human=0.01, common_sense=0.88)
    assert d.primary == "worse_than_baseline"
    assert "does not beat the common-sense baseline" in d.verdict
    assert "lamina.workflow.doctor" in d.recommendations[0]


def test_from_errors_training_error_below_human_level() -> None:
    d = Diagnosis.from_errors(train=0.004, train_dev=0.006, dev=0.007, human=0.01)
    assert d.avoidable_bias == pytest.approx(-0.006)
    assert d.primary == "none"
    assert any("below the human-level error" in n and "proxy" in n for n in d.notes)


def test_from_errors_beating_human_level_on_dev() -> None:
    d = Diagnosis.from_errors(train=0.001, dev=0.008, human=0.01)
    assert any("beats the human-level error" in n and "error analysis" in n for n in d.notes)


def test_from_errors_baseline_reference_is_a_lower_bound() -> None:
    d = Diagnosis.from_errors(train=0.20, dev=0.22, baseline=0.05)
    assert d.reference == "baseline"
    assert d.avoidable_bias == pytest.approx(0.15)
    assert d.primary == "avoidable_bias"
    assert any("lower bound" in n for n in d.notes)


def test_from_errors_without_reference_bias_is_an_upper_bound() -> None:
    d = Diagnosis.from_errors(train=0.03, dev=0.20)
    assert d.reference == "zero"
    assert d.avoidable_bias == pytest.approx(0.03)
    assert d.primary == "variance"
    assert any("upper bound" in n for n in d.notes)


def test_from_errors_regression_tolerance_scales_with_errors() -> None:
    d = Diagnosis.from_errors(task="regression", train=40.0, dev=40.5, human=39.0)
    assert d.metric == "mae"
    assert d.tolerance == pytest.approx(0.02 * 40.5)
    assert d.primary == "avoidable_bias"  # 1.0 > 0.81, while variance 0.5 is below the tolerance
    assert "40.5" in d.table()
    d2 = Diagnosis.from_errors(task="regression", train=40.0, dev=40.5, human=39.0, tolerance=2.0)
    assert d2.primary == "none"


def test_diagnosis_serialises_and_prints() -> None:
    d = Diagnosis.from_errors(train=0.08, train_dev=0.09, dev=0.10, test=0.11, human=0.01)
    payload = json.loads(d.to_json())
    assert payload == d.to_dict()
    assert payload["primary"] == "avoidable_bias"
    assert payload["recommendations"] == d.recommendations
    text = str(d)
    for piece in (
        "human-level error",
        "train-dev error",
        "avoidable bias",
        "<- primary",
        "Verdict:",
        "Try next",
    ):
        assert piece in text
    assert d.errors() == {"train": 0.08, "train_dev": 0.09, "dev": 0.10, "test": 0.11}
    assert set(d.gaps()) == {"avoidable_bias", "variance", "data_mismatch", "dev_overfitting"}


def test_from_errors_rejects_bad_numbers() -> None:
    with pytest.raises(
        ValueError, match=r"expects `train` to be a number in \[0.0, 1.0\]. Received: train=1.5"
    ):
        Diagnosis.from_errors(train=1.5)
    with pytest.raises(ValueError, match=r"expects `dev` to be a finite number. Received: dev=nan"):
        Diagnosis.from_errors(task="regression", train=1.0, dev=float("nan"))
    with pytest.raises(ValueError, match=r"expects `task` to be one of .* Received: task='vision'"):
        Diagnosis.from_errors(train=0.1, task="vision")


# --------------------------------------------------------------------------- error measures


def test_classification_error_thresholds_and_encodings() -> None:
    logits = np.array([[-2.0], [0.5], [1.0], [-0.1]])
    y = np.array([0, 1, 0, 0])
    assert classification_error(y, logits, loss=losses.BinaryCrossentropy(from_logits=True)) == 0.25
    probs = np.array([[0.2], [0.6], [0.4], [0.7]])
    assert classification_error(y, probs, loss=losses.BinaryCrossentropy()) == 0.25
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert classification_error(np.array([0, 1, 1]), scores) == pytest.approx(1 / 3)
    assert classification_error(np.eye(2)[[0, 1, 1]], scores) == pytest.approx(1 / 3)
    multi = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert (
        classification_error(np.array([[1, 1], [0, 1]]), multi, loss=losses.BinaryCrossentropy())
        == 0.25
    )


def test_regression_error_mae_and_rmse() -> None:
    y, p = np.array([1.0, 2.0, 3.0]), np.array([[1.0], [2.0], [6.0]])
    assert regression_error(y, p, "mae") == pytest.approx(1.0)
    assert regression_error(y, p, "rmse") == pytest.approx(np.sqrt(3.0))


def test_from_errors_without_sizes_says_the_verdict_ignores_noise() -> None:
    d = Diagnosis.from_errors(train=0.01, train_dev=0.09, dev=0.10, human=0.005)
    assert any("ignores sampling noise" in n and "sizes=" in n for n in d.notes)
    assert d.gap_intervals == dict.fromkeys(d.gaps())
    assert not any(d.established.values()) and d.samples_needed is None
    assert "established" not in d.table()


def test_from_errors_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match=r"got a size for `test` but no `test` error"):
        Diagnosis.from_errors(train=0.1, sizes={"train": 100, "test": 50})
    with pytest.raises(ValueError, match=r"expects `sizes` keys among .* Received: \['val'\]"):
        Diagnosis.from_errors(train=0.1, sizes={"val": 50})
    with pytest.raises(
        TypeError, match=r"expects `sizes` to be a dict .* Received: sizes of type list"
    ):
        Diagnosis.from_errors(train=0.1, sizes=[100])
    with pytest.raises(ValueError, match=r"sizes\['train'\]"):
        Diagnosis.from_errors(train=0.1, sizes={"train": 0})
