"""Duplicate rows across sets: find_duplicates against brute force, LeakageReport."""

import json

import numpy as np
import pytest
import torch

from lamina.data import check_leakage, find_duplicates, load_digits, split


def _brute_force(a, b):
    """For each row j of b equal to a row of a: (first such i, j)."""
    a2, b2 = a.reshape(len(a), -1), b.reshape(len(b), -1)
    out = []
    for j, row in enumerate(b2):
        hits = np.flatnonzero((a2 == row).all(axis=1))
        if len(hits):
            out.append((hits[0], j))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def test_find_duplicates_matches_brute_force():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, size=(200, 4))  # small alphabet: many repeats
    b = rng.integers(0, 3, size=(50, 4))
    np.testing.assert_array_equal(find_duplicates(a, b), _brute_force(a, b))


def test_find_duplicates_compares_values_across_dtypes_and_kinds():
    a = np.array([[0.5, -0.0], [1.0, 2.0]], dtype=np.float32)
    b = np.array([[1.0, 2.0], [0.5, 0.0], [3.0, 3.0]], dtype=np.float64)
    np.testing.assert_array_equal(find_duplicates(a, b), [[1, 0], [0, 1]])
    np.testing.assert_array_equal(find_duplicates(torch.from_numpy(a), b), [[1, 0], [0, 1]])
    assert find_duplicates(a, b[2:]).shape == (0, 2)


def test_find_duplicates_hashes_all_inputs_of_a_multi_input_model():
    a = {"img": np.zeros((3, 2, 2)), "meta": np.arange(3.0).reshape(3, 1)}
    b = {"img": np.zeros((2, 2, 2)), "meta": np.array([[2.0], [7.0]])}
    np.testing.assert_array_equal(find_duplicates(a, b), [[2, 0]])


def test_find_duplicates_rejects_different_sample_shapes():
    with pytest.raises(ValueError, match=r"same per-sample shape.*x_a samples of shape \(4,\), x_b samples of shape \(3,\)"):
        find_duplicates(np.zeros((2, 4)), np.zeros((2, 3)))


def test_check_leakage_is_ok_on_a_clean_split():
    x = np.unique(load_digits()[0], axis=0)  # distinct rows only
    y = np.arange(len(x)) % 10
    report = check_leakage(split(x, y, train_dev=0.1))
    assert report.ok
    assert set(report.pairs) == {
        ("train", "train_dev"), ("train", "dev"), ("train", "test"),
        ("train_dev", "dev"), ("train_dev", "test"), ("dev", "test"),
    }
    assert str(report) == "No leakage: no row is shared between train, train_dev, dev, test."


def test_check_leakage_counts_duplicates_per_pair():
    x, y = load_digits()
    x, y = x[:400], y[:400]
    x[300:340] = x[:40]  # 40 copied samples: some copies will land in other sets
    splits = split(x, y, seed=3)
    report = check_leakage(splits)
    assert not report.ok
    for (first, second), pair in report.pairs.items():
        xa, xb = getattr(splits, first)[0], getattr(splits, second)[0]
        expected = _brute_force(xa, xb)
        assert pair.count == len(expected), (first, second)
        assert pair.examples == [tuple(map(int, p)) for p in expected[:5]]
        assert pair.size == len(xb)
    pair = report.pairs["train", "test"]
    assert pair.count > 0
    text = str(report)
    i, j = pair.examples[0]
    assert f"train / test: {pair.count} of {pair.size} test rows" in text
    assert f"test[{j}] = train[{i}]" in text
    json.dumps({f"{a}/{b}": p.count for (a, b), p in report.pairs.items()})


def test_check_leakage_accepts_a_dict_of_sets():
    x = np.arange(12.0).reshape(6, 2)
    report = check_leakage({"test": (x[4:], None), "train": x[:5]})
    assert list(report.pairs) == [("train", "test")]
    assert report.pairs["train", "test"].count == 1 and report.pairs["train", "test"].examples == [(4, 0)]


def test_check_leakage_rejects_bad_input():
    with pytest.raises(ValueError, match=r"at least two sets to compare. Received: 1 set\(s\): train"):
        check_leakage({"train": np.zeros((2, 2))})
    with pytest.raises(TypeError, match=r"expects a `Splits`.*Received: splits of type list"):
        check_leakage([np.zeros((2, 2))])
