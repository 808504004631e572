"""`lamina.variables.Variable`: Keras's variable API on a real `torch.nn.Parameter`."""

import copy
import pickle

import numpy as np
import pytest
import torch

from lamina.variables import Variable, standardize_dtype


def test_variable_is_parameter_and_keeps_value():
    v = Variable(np.arange(6.0).reshape(2, 3), name="kernel", path="dense/kernel")
    assert isinstance(v, torch.nn.Parameter)
    assert v.dtype == torch.float32  # NumPy float64 becomes float32, as Keras' floatx
    np.testing.assert_array_equal(v.numpy(), np.arange(6.0).reshape(2, 3))
    assert (v.name, v.path, v.trainable) == ("kernel", "dense/kernel", True)
    assert v.value is v


def test_variable_initializer_and_shape():
    torch.manual_seed(0)
    v = Variable("ones", shape=(2, 2), dtype="float64")
    assert v.dtype == torch.float64
    np.testing.assert_array_equal(v.numpy(), np.ones((2, 2)))

    def keras_style(shape, dtype=None):
        return np.full(shape, 3.0)

    np.testing.assert_array_equal(Variable(keras_style, shape=(3,)).numpy(), [3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="needs `shape`"):
        Variable("zeros")


def test_variable_assign_family_in_place_without_autograd():
    v = Variable(torch.zeros(3))
    ptr = v.data_ptr()
    v.assign(np.array([1.0, 2.0, 3.0]))
    v.assign_add(1)  # a scalar broadcasts
    v.assign_sub(torch.tensor([0.5, 0.5, 0.5]))
    np.testing.assert_allclose(v.numpy(), [1.5, 2.5, 3.5])
    assert v.data_ptr() == ptr and v.grad_fn is None and v.requires_grad


def test_variable_assign_shape_mismatch_raises_house_error():
    v = Variable(torch.zeros(2, 3), path="dense/kernel")
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*Received: value.shape=\(3, 2\).*dense/kernel"):
        v.assign(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="Received: value.shape=\\(4,\\)"):
        v.assign_add(np.zeros(4))
    with pytest.raises(ValueError, match="Received: value.shape=\\(\\)"):
        v.assign(1.0)  # Keras' assign does not broadcast


def test_variable_numpy_is_a_copy():
    v = Variable(torch.zeros(2))
    snapshot = v.numpy()
    v.assign_add(1.0)
    np.testing.assert_array_equal(snapshot, [0.0, 0.0])
    np.testing.assert_array_equal(np.asarray(v), [1.0, 1.0])


def test_variable_trainable_maps_to_requires_grad():
    v = Variable(torch.zeros(2))
    v.trainable = False
    assert not v.requires_grad and not v.trainable
    counter = Variable(0, dtype="int64", trainable=False)
    assert counter.dtype == torch.int64 and not counter.requires_grad
    with pytest.raises(ValueError, match="cannot be trainable"):
        counter.trainable = True
    assert not Variable("zeros", shape=(1,), dtype="int32").requires_grad


def test_variable_dtype_strings():
    assert standardize_dtype("int64") is torch.int64
    assert standardize_dtype(np.float16) is torch.float16
    assert standardize_dtype(None) is torch.float32
    with pytest.raises(ValueError, match="Received: dtype='float8'"):
        standardize_dtype("float8")


def test_variable_deepcopy_and_pickle_keep_class_and_names():
    v = Variable(torch.randn(3), name="bias", path="dense/bias", trainable=False)
    for clone in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert type(clone) is Variable
        assert (clone.path, clone.requires_grad) == ("dense/bias", False)
        torch.testing.assert_close(clone.detach(), v.detach())
        assert clone.data_ptr() != v.data_ptr()


def test_variable_in_module_state_dict_optimizer_and_dtype_moves():
    module = torch.nn.Linear(2, 2)
    module.weight = Variable(torch.ones(2, 2), name="kernel")
    assert list(module.state_dict()) == ["weight", "bias"]
    assert type(module.state_dict()["weight"]) is torch.Tensor
    opt = torch.optim.SGD(module.parameters(), lr=0.5)
    module(torch.ones(1, 2)).sum().backward()
    opt.step()
    # d(sum(W x + b))/dW = x^T = ones, so W = 1 - 0.5.
    np.testing.assert_allclose(module.weight.numpy(), np.full((2, 2), 0.5))
    module.double()
    assert type(module.weight) is Variable and module.weight.dtype == torch.float64
    assert module.weight.name == "kernel"


def test_variable_safetensors_round_trip(tmp_path):
    from safetensors.torch import load_file, save_file

    module = torch.nn.Module()
    module.w = Variable(torch.arange(4.0))
    save_file(module.state_dict(), tmp_path / "w.safetensors")
    torch.testing.assert_close(load_file(tmp_path / "w.safetensors")["w"], torch.arange(4.0))


def test_variable_torch_compile_matches_eager():
    module = torch.nn.Module()
    module.w = Variable(torch.randn(4, 3))
    x = torch.randn(2, 4)

    def f(x):
        return x @ module.w

    compiled = torch.compile(f)
    torch.testing.assert_close(compiled(x), x @ module.w.detach())


def test_variable_keras_guide_patterns_in_a_layer():
    import lamina

    class ComputeSum(lamina.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = Variable(np.zeros((input_dim,)), trainable=False, aggregation="sum")

        def call(self, inputs):
            self.total.assign_add(inputs.sum(dim=0))
            return self.total

    my_sum = ComputeSum(2)
    x = torch.ones(2, 2)
    np.testing.assert_array_equal(my_sum(x).numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(my_sum(x).numpy(), [4.0, 4.0])
    assert my_sum.weights == [my_sum.total]
    assert my_sum.non_trainable_weights == [my_sum.total]
    assert my_sum.trainable_weights == []
    assert my_sum.total.aggregation == "sum"
