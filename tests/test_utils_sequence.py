"""`pad_sequences` against hand-computed arrays (Keras's documented results)."""

import numpy as np
import pytest

from lamina.utils import pad_sequences

SEQS = [[1], [2, 3], [4, 5, 6]]


def test_pad_sequences_defaults_pad_and_truncate_at_the_start():
    out = pad_sequences(SEQS)
    np.testing.assert_array_equal(out, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    assert out.dtype == np.int32


def test_pad_sequences_post_and_maxlen():
    np.testing.assert_array_equal(pad_sequences(SEQS, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQS, maxlen=2, truncating="post"), [[0, 1], [2, 3], [4, 5]])


def test_pad_sequences_value_dtype_and_strings():
    out = pad_sequences(SEQS, value=-1.5, dtype="float32")
    np.testing.assert_array_equal(out[0], [-1.5, -1.5, 1.0])
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]


def test_pad_sequences_multidimensional_samples_and_empty_sequence():
    seqs = [np.ones((2, 3)), np.zeros((0, 3)), 2 * np.ones((1, 3))]
    out = pad_sequences(seqs, dtype="float32")
    assert out.shape == (3, 2, 3)
    np.testing.assert_array_equal(out[1], 0)
    np.testing.assert_array_equal(out[2], [[0, 0, 0], [2, 2, 2]])


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match=r"Received: padding='middle'"):
        pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match=r"list of iterables. Received: sequences\[1\]=5"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")
