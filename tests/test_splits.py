"""lamina.data.split: sizes, disjointness, stratification, groups, input kinds, errors."""

import numpy as np
import pandas as pd
import pytest
import torch

from lamina.data import Splits, infer_task, split


def _imbalanced(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    x = np.arange(n, dtype=np.float32).reshape(n, 1)  # row i holds the value i
    return x, y


def test_split_sizes_are_fractions_of_the_whole():
    x, y = _imbalanced()
    s = split(x, y, dev=0.15, test=0.15, train_dev=0.1)
    assert s.sizes == {"train": 600, "train_dev": 100, "dev": 150, "test": 150}
    assert isinstance(s, Splits) and s.task == "classification" and s.stratified


def test_split_sets_are_disjoint_cover_the_data_and_match_indices():
    x, y = _imbalanced()
    s = split(x, y, train_dev=0.1)
    all_idx = np.concatenate(list(s.indices.values()))
    np.testing.assert_array_equal(np.sort(all_idx), np.arange(len(x)))
    for name, (xs, ys) in s.sets().items():
        np.testing.assert_array_equal(xs[:, 0], s.indices[name])
        np.testing.assert_array_equal(ys, y[s.indices[name]])


def test_split_stratified_keeps_class_proportions():
    x, y = _imbalanced()
    s = split(x, y, dev=0.2, test=0.2, train_dev=0.1)
    fractions = {"train": 0.5, "train_dev": 0.1, "dev": 0.2, "test": 0.2}
    totals = np.bincount(y)
    for name, (_, ys) in s.sets().items():
        counts = np.bincount(ys, minlength=3)
        # Each set holds its share of every class, up to rounding.
        assert np.all(np.abs(counts - fractions[name] * totals) <= 1.0), (name, counts)


def test_split_train_dev_follows_the_training_distribution():
    x, y = _imbalanced()
    s = split(x, y, train_dev=0.1)
    train_share = np.bincount(s.train[1], minlength=3) / s.sizes["train"]
    train_dev_share = np.bincount(s.train_dev[1], minlength=3) / s.sizes["train_dev"]
    np.testing.assert_allclose(train_dev_share, train_share, atol=0.011)
    assert not set(s.indices["train_dev"]) & set(s.indices["train"])


def test_split_without_train_dev_or_with_zero_fraction_omits_the_set():
    x, y = _imbalanced(100)
    s = split(x, y, dev=0.0, test=0.2)
    assert s.train_dev is None and s.dev is None
    assert s.sizes == {"train": 80, "test": 20}


def test_split_regression_ignores_stratify():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 3)), rng.normal(size=200)
    a, b = split(x, y, stratify=True), split(x, y, stratify=False)
    assert a.task == "regression" and not a.stratified
    for name in ("train", "dev", "test"):
        np.testing.assert_array_equal(a.indices[name], b.indices[name])


def test_split_is_repeatable_and_seed_changes_it():
    x, y = _imbalanced(300)
    a, b, c = split(x, y, seed=1), split(x, y, seed=1), split(x, y, seed=2)
    np.testing.assert_array_equal(a.indices["test"], b.indices["test"])
    assert not np.array_equal(a.indices["test"], c.indices["test"])


def test_split_groups_never_span_two_sets():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 80, size=1000)
    x, y = _imbalanced()
    s = split(x, y, dev=0.15, test=0.15, train_dev=0.1, groups=groups)
    seen = {}
    for name, idx in s.indices.items():
        for g in np.unique(groups[idx]):
            assert seen.setdefault(g, name) == name, f"group {g} in {seen[g]} and {name}"
    assert sum(s.sizes.values()) == 1000 and s.grouped
    # Sizes are close to the requested fractions (groups hold ~12 samples each).
    assert abs(s.sizes["test"] - 150) <= 30 and abs(s.sizes["train"] - 600) <= 40


def test_split_grouped_stratified_roughly_keeps_proportions():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(250), 4)
    y = np.repeat(rng.choice(2, size=250, p=[0.8, 0.2]), 4)  # one class per group
    x = np.arange(1000.0).reshape(-1, 1)
    s = split(x, y, dev=0.2, test=0.2, groups=groups)
    for _, ys in s.sets().values():
        assert abs(ys.mean() - y.mean()) < 0.03


def test_split_keeps_the_kind_of_the_inputs():
    x, y = _imbalanced(100)
    s = split(torch.from_numpy(x), torch.from_numpy(y))
    assert isinstance(s.train[0], torch.Tensor) and isinstance(s.test[1], torch.Tensor)
    frame = pd.DataFrame({"a": x[:, 0], "b": -x[:, 0]})
    s = split(frame, pd.Series(y))
    assert isinstance(s.dev[0], pd.DataFrame)
    np.testing.assert_array_equal(s.dev[0]["a"].to_numpy(), s.indices["dev"])
    s = split({"a": x, "b": x * 2}, y)
    np.testing.assert_array_equal(s.test[0]["b"][:, 0], 2 * s.indices["test"])


def test_split_one_hot_labels_are_stratified():
    _, y = _imbalanced(300)
    s = split(np.zeros((300, 2)), np.eye(3)[y], dev=0.2, test=0.2)
    assert s.stratified
    for _, ys in s.sets().values():
        share = ys.mean(axis=0)
        np.testing.assert_allclose(share, np.bincount(y) / 300, atol=0.02)


def test_split_summary_lists_sets_and_classes():
    x, y = _imbalanced(200)
    s = split(x, y, train_dev=0.1)
    text = s.summary()
    share = f"0: {np.mean(s.train[1] == 0):.0%}, 1: {np.mean(s.train[1] == 1):.0%}"
    for word in ("train", "train_dev", "dev", "test", "stratified", share, "120 │ 60.0%"):
        assert word in text
    text = str(split(x, x[:, 0] * 0.5))
    assert "regression" in text and "±" in text
    assert repr(s) == (
        "Splits(task='classification', sizes={'train': 120, 'train_dev': 20, 'dev': 30, "
        "'test': 30}, stratified=True, grouped=False)"
    )


def test_infer_task_rules():
    assert infer_task(np.array([0, 1, 2, 1])) == "classification"
    assert infer_task(np.array(["cat", "dog"])) == "classification"
    assert infer_task(np.array([True, False])) == "classification"
    assert infer_task(np.array([0.0, 1.0, 1.0])) == "classification"
    assert infer_task(np.eye(3)) == "classification"
    assert infer_task(np.array([0.5, 1.5, 2.0])) == "regression"
    assert infer_task(np.arange(500)) == "regression"  # integers, all distinct
    assert infer_task(np.random.default_rng(0).normal(size=(10, 2))) == "regression"


def test_split_rejects_fractions_that_leave_no_training_data():
    x, y = _imbalanced(100)
    with pytest.raises(ValueError, match=r"dev \+ test \+ train_dev` to be less than 1.*sum 1"):
        split(x, y, dev=0.5, test=0.4, train_dev=0.1)
    with pytest.raises(ValueError, match=r"`dev` to be a number in \[0.0, 1.0\).*dev=1.2"):
        split(x, y, dev=1.2)


def test_split_names_the_class_too_small_to_stratify():
    y = np.array(["a"] * 50 + ["b"] * 48 + ["rare"] * 2)
    with pytest.raises(ValueError, match=r"class 'rare' has only 2 sample\(s\), fewer than the 3 sets"):
        split(np.zeros((100, 1)), y)
    split(np.zeros((100, 1)), y, stratify=False)  # the fix the message suggests


def test_split_checks_groups_and_lengths():
    x, y = _imbalanced(100)
    with pytest.raises(ValueError, match=r"one group id per sample \(100 samples\).*shape \(99,\)"):
        split(x, y, groups=np.zeros(99))
    with pytest.raises(ValueError, match=r"at least one group per set.*2 distinct value"):
        split(x, y, groups=np.arange(100) % 2)
    with pytest.raises(ValueError, match=r"same number of samples.*x with 100 samples, y with 99"):
        split(x, y[:99])
