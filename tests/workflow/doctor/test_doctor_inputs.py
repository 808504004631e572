"""Tests for how `doctor` takes its data (``x, y``, a `Splits`, ``train=``), its
``task=`` argument and the report's sample size and task."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import layers, losses, optimizers
from lamina.data import split
from lamina.workflow.doctor import DoctorReport, doctor
from lamina.workflow.doctor.arrays import as_numpy, training_arrays


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return (x[:200] / 16.0).astype("float32"), y[:200].astype("int64")


def _mlp(units: int = 10, loss: object = None) -> lamina.Model:
    lamina.set_seed(0)
    model = lamina.Sequential(
        [lamina.Input(shape=(64,)), layers.Dense(16, activation="relu"), layers.Dense(units)]
    )
    model.compile(
        optimizer=optimizers.Adam(learning_rate=1e-2),
        loss=loss or losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def test_doctor_reads_the_train_set_of_a_splits_object(digits) -> None:
    x, y = digits
    s = split(x, y, dev=0.2, test=0.2, seed=0)
    model = _mlp()  # one model: the report names its layers
    by_pair = doctor(model, *s.train, steps=5, verbose=0).to_dict()
    assert by_pair["samples"] == len(s.train[0]) == 120
    for report in (
        doctor(model, s, steps=5, verbose=0),
        doctor(model, splits=s, steps=5, verbose=0),
        doctor(model, splits={"train": s.train, "dev": s.dev}, steps=5, verbose=0),
        doctor(model, train=s.train, steps=5, verbose=0),
    ):
        assert report.to_dict() == by_pair


def test_doctor_rejects_data_given_twice_or_half(digits) -> None:
    x, y = digits
    s = split(x, y, dev=0.2, test=0.2, seed=0)
    with pytest.raises(
        ValueError, match=r"expects the data once.*Received: x and y together with splits"
    ):
        doctor(_mlp(), x, y, splits=s)
    with pytest.raises(
        ValueError, match=r"expects both inputs `x` and targets `y`\. Received: y=None"
    ):
        doctor(_mlp(), x)
    with pytest.raises(ValueError, match=r"expects training data\. Received: no data"):
        doctor(_mlp())
    with pytest.raises(ValueError, match=r"Received: splits without a train set"):
        doctor(_mlp(), splits={"dev": s.dev})
    with pytest.raises(ValueError, match=r"`train` to be an `\(x, y\)` pair"):
        doctor(_mlp(), train=x)


def test_training_arrays_names_its_owner() -> None:
    x, y = np.zeros((4, 2)), np.zeros(3)
    with pytest.raises(
        ValueError,
        match=r"`lr_find` expects as many labels as inputs\. Received: 4 inputs and 3 labels",
    ):
        training_arrays("lr_find", x, y)
    with pytest.raises(TypeError, match=r"`lr_find` expects `y` to be a numeric array"):
        as_numpy(np.array(["a", None], dtype=object), "y", "lr_find")
    got_x, got_y = training_arrays("doctor", torch.ones(3, 2), [0, 1, 1])
    assert got_x.shape == (3, 2) and got_y.tolist() == [0, 1, 1]


def test_doctor_task_is_inferred_and_reported(digits) -> None:
    x, y = digits
    report = doctor(_mlp(), x, y, steps=5, verbose=0)
    assert report.task == "classification" and report.samples == 200
    text = str(report)
    assert "n=200" in text and "classification" in text
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["task"] == "classification" and payload["samples"] == 200
    regression = doctor(_mlp(units=1, loss="mse"), x, x[:, 20:21], steps=5, verbose=0)
    assert regression.task == "regression"
    assert regression["class_balance"].message.startswith("Regression")


def test_doctor_task_classification_checks_balance_for_a_custom_loss(digits) -> None:
    x, y = digits
    binary = (y == 0).astype("float32")  # 10% positives
    keep = np.r_[np.flatnonzero(binary == 1)[:6], np.flatnonzero(binary == 0)[:60]]

    def squared_hinge(y_true, y_pred):
        signs = 2.0 * y_true - 1.0
        return torch.mean(torch.relu(1.0 - signs * y_pred) ** 2, dim=-1)

    model = _mlp(units=1, loss=squared_hinge)
    report = doctor(
        model, x[keep], binary[keep].reshape(-1, 1), task="classification", steps=5, verbose=0
    )
    check = report["class_balance"]
    assert report.task == "classification"
    assert check.status == "warn"
    assert check.evidence["counts"] == [60, 6] and check.evidence["imbalance_ratio"] == 10.0
    assert report["label_encoding"].message.startswith("Custom loss")
    # Left to infer, the same float targets with a custom loss and one output are classes too
    # (0/1 floats); asked for regression, balance is not checked.
    as_regression = doctor(
        model, x[keep], binary[keep].reshape(-1, 1), task="regression", steps=5, verbose=0
    )
    assert as_regression.task == "regression"
    assert as_regression["class_balance"].evidence == {}


def test_doctor_flags_classes_trained_with_a_regression_loss(digits) -> None:
    x, y = digits
    labels = y.astype("float32").reshape(-1, 1)
    report = doctor(_mlp(units=1, loss="mse"), x, labels, task="classification", steps=5, verbose=0)
    check = report["label_encoding"]
    assert check.status == "warn" and "regression loss" in check.message
    assert "sparse_categorical_crossentropy" in check.fix and "task='regression'" in check.fix
    assert (
        report["class_balance"].status == "pass"
        and len(report["class_balance"].evidence["counts"]) == 10
    )
    auto = doctor(_mlp(units=1, loss="mse"), x, labels, steps=5, verbose=0)
    assert auto.task == "regression" and auto["label_encoding"].status == "pass"


def test_doctor_rejects_an_unknown_task(digits) -> None:
    x, y = digits
    with pytest.raises(ValueError, match=r"`task`.*Received: task='classify'"):
        doctor(_mlp(), x, y, task="classify")


def test_doctor_report_built_by_hand_keeps_its_old_form() -> None:
    from lamina.workflow.doctor import Check

    report = DoctorReport([Check("init_loss", "pass", "fine")])
    assert report.samples is None and report.task is None
    assert report.to_dict()["checks"][0]["name"] == "init_loss"
    assert "Doctor: sanity checks" in str(report) and "n=" not in str(report)
