"""`lamina.utils.to_categorical` / `normalize` against NumPy and Keras's documented results."""

import numpy as np
import pytest
import torch

from lamina import utils


def test_to_categorical_matches_keras_example():
    out = utils.to_categorical([0, 1, 2, 3], num_classes=4)
    np.testing.assert_array_equal(out, np.eye(4, dtype=np.float32))
    assert out.dtype == np.float32


def test_to_categorical_infers_num_classes_and_drops_trailing_unit_axis():
    y = np.array([[2], [0], [1]])
    out = utils.to_categorical(y)
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[2, 0, 1]])


def test_to_categorical_keeps_leading_axes():
    y = np.array([[0, 1], [2, 0]])
    out = utils.to_categorical(y, num_classes=3)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.argmax(-1), y)


def test_to_categorical_tensor_in_tensor_out():
    out = utils.to_categorical(torch.tensor([1, 0]), num_classes=2)
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out, torch.tensor([[0.0, 1.0], [1.0, 0.0]]))


def test_to_categorical_rejects_out_of_range_and_text():
    with pytest.raises(ValueError, match=r"class index 3.*Received: num_classes=3"):
        utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="Encode text labels first"):
        utils.to_categorical(["a", "b"])
    with pytest.raises(ValueError, match="Received: num_classes=0"):
        utils.to_categorical([0], num_classes=0)


def test_normalize_matches_numpy_l2_and_keeps_zero_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 1.0]])
    out = utils.normalize(x)
    expected = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-300)
    expected[1] = 0.0
    np.testing.assert_allclose(out, expected)


def test_normalize_order_one_along_axis_zero_tensor():
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    out = utils.normalize(x, axis=0, order=1)
    torch.testing.assert_close(out, x / x.abs().sum(0, keepdim=True))
