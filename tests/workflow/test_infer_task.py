"""The one task rule (`lamina.data.infer_task`) that every workflow entry point uses."""

import numpy as np
import pytest
import torch

from lamina import losses
from lamina.data import infer_task
from lamina.data.tasks import resolve_task, task_from_loss


@pytest.mark.parametrize(
    "y, expected",
    [
        (np.array([0, 1, 1, 2, 5, 3]), "classification"),
        (np.array([True, False, True]), "classification"),
        (np.array(["cat", "dog", "cat"]), "classification"),
        (np.array([0.0, 1.0, 1.0, 0.0]), "classification"),
        (np.eye(3)[[0, 1, 2, 1]], "classification"),
        (np.array([0.5, 1.7, 3.2]), "regression"),
        (np.arange(3000), "regression"),
        (np.random.default_rng(0).normal(size=(10, 2)), "regression"),
        (torch.tensor([0, 1, 2, 2]), "classification"),
    ],
)
def test_targets_alone(y, expected):
    assert infer_task(y) == expected


def test_integer_targets_zero_to_five_agree_across_the_workflow():
    # The contradiction of issue #14: 0..5 labels were classes for `split` but a
    # quantity for `diagnose`. Without outputs they are classes everywhere ...
    y = np.arange(60) % 6
    assert infer_task(y) == "classification"
    # ... six scores per example are class scores ...
    scores = np.random.default_rng(0).dirichlet(np.ones(6), size=60)
    assert infer_task(y, scores) == "classification"
    # ... predicted labels are classes ...
    assert infer_task(y, (y + 1) % 6) == "classification"
    # ... and one continuous output per example is a regression (ratings by MSE).
    assert infer_task(y, y + 0.3) == "regression"


def test_one_score_against_two_classes_is_classification():
    y = np.array([0, 1, 1, 0])
    assert infer_task(y, np.array([0.2, 0.9, 0.6, 0.4])) == "classification"
    assert infer_task(y, np.array([[-2.0], [3.0], [0.5], [-0.1]])) == "classification"


def test_continuous_targets_stay_regression_whatever_the_outputs():
    y = np.array([0.5, 1.7, 3.2, 2.2])
    assert infer_task(y, np.array([[0.1, 0.9]] * 4)) == "regression"


def test_loss_decides_first():
    y = np.array([0, 1, 2, 3])
    assert infer_task(y, y + 0.5, loss="sparse_categorical_crossentropy") == "classification"
    assert infer_task(y, loss=losses.MeanSquaredError()) == "regression"
    assert infer_task(np.array([0.0, 1.0]), loss="mse") == "regression"
    assert task_from_loss("binary_crossentropy") == "classification"
    assert task_from_loss(None) is None
    assert task_from_loss(lambda a, b: a) is None
    assert task_from_loss({"out": "mse"}) is None


def test_predicted_strings_are_labels():
    assert infer_task(np.array([1.5, 2.5]), np.array(["a", "b"])) == "classification"


def test_resolve_task_override_and_bad_name():
    y = np.arange(10) % 3
    assert resolve_task("fn", "regression", y) == "regression"
    assert resolve_task("fn", "auto", y) == "classification"
    with pytest.raises(ValueError, match="task"):
        resolve_task("fn", "clasification", y)


def test_empty_targets_are_refused():
    with pytest.raises(ValueError, match="at least one target"):
        infer_task(np.array([]))


def test_multi_hot_targets_with_sigmoid_outputs_are_multi_label():
    y = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])
    assert infer_task(y) == "regression"  # without outputs: not one-hot rows
    assert infer_task(y, np.array([[0.9, 0.2, 0.3], [0.1, 0.8, 0.7], [0.2, 0.1, 0.6]])) == (
        "classification"
    )
    assert infer_task(y, np.array([[1.9, 0.2, 0.3], [0.1, 0.8, 0.7], [0.2, 0.1, 0.6]])) == (
        "regression"
    )


def test_split_takes_the_task_override():
    from lamina.data import split

    x = np.arange(120, dtype="float32").reshape(60, 2)
    y = np.arange(60) % 6  # classes by the rule: stratified
    assert split(x, y, seed=0).task == "classification"
    as_quantity = split(x, y, seed=0, task="regression")
    assert as_quantity.task == "regression" and not as_quantity.stratified
    with pytest.raises(ValueError, match="task"):
        split(x, y, task="ratings")
