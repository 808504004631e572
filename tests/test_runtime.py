"""Seeds and device selection."""

import pytest
import torch

import lamina


def test_set_seed_repeats_weight_initialisation():
    lamina.set_seed(3)
    a = lamina.layers.Dense(5)
    a(torch.ones(1, 4))
    lamina.set_seed(3)
    b = lamina.layers.Dense(5)
    b(torch.ones(1, 4))
    assert torch.equal(a.kernel, b.kernel)


def test_set_seed_rejects_negative():
    with pytest.raises(ValueError, match=r"`set_seed` expects `seed` to be a non-negative integer. Received: seed=-1"):
        lamina.set_seed(-1)


def test_device_defaults_to_cuda_when_available_else_cpu():
    lamina.set_device(None)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert lamina.get_device().type == expected


def test_set_device_cpu_and_back_to_automatic():
    lamina.set_device("cpu")
    try:
        assert lamina.get_device() == torch.device("cpu")
    finally:
        lamina.set_device(None)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_set_device_cuda_without_cuda_is_explained():
    with pytest.raises(ValueError, match=r"PyTorch sees no CUDA device. Received: device='cuda'"):
        lamina.set_device("cuda")


def test_set_device_rejects_garbage():
    with pytest.raises(ValueError, match=r"expects a device such as 'cpu' or 'cuda'. Received: device='gpu0'"):
        lamina.set_device("gpu0")


def test_fit_moves_model_to_selected_device():
    lamina.set_device("cpu")
    try:
        model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(1)])
        model.compile("sgd", "mse")
        model.fit(torch.ones(4, 3), torch.ones(4, 1), verbose=0)
        assert all(p.device.type == "cpu" for p in model.parameters())
    finally:
        lamina.set_device(None)
