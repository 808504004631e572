import pytest
import torch
import torch.nn.functional as F

from lamina import activations

X = torch.linspace(-8.0, 8.0, 60).reshape(3, 5, 4)

REFERENCES = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=-1),
    "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
    "gelu": lambda x: F.gelu(x),
    "elu": F.elu,
    "selu": F.selu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "silu": F.silu,
    "swish": F.silu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "hard_sigmoid": F.hardsigmoid,
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "exponential": torch.exp,
    "relu6": F.relu6,
    "mish": F.mish,
    "linear": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_activation_matches_torch(name):
    fn = activations.get(name)
    assert fn is getattr(activations, name)
    torch.testing.assert_close(fn(X), REFERENCES[name](X))
    assert activations.get(activations.serialize(fn)) is fn


def test_activation_keras_options():
    x = torch.tensor([-2.0, -0.5, 0.5, 1.0, 3.0, 10.0])
    out = activations.relu(x, negative_slope=0.1, max_value=5.0, threshold=1.0)
    expected = torch.tensor([-0.3, -0.15, -0.05, 1.0, 3.0, 5.0])
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(activations.gelu(x, approximate=True), F.gelu(x, approximate="tanh"))
    torch.testing.assert_close(activations.softmax(X, axis=1), torch.softmax(X, dim=1))
    torch.testing.assert_close(activations.elu(x, alpha=0.5), F.elu(x, alpha=0.5))


def test_activation_get_resolves_identifiers():
    assert activations.get(None) is activations.linear
    assert activations.get("ReLU") is activations.relu
    module = torch.nn.GELU()
    assert activations.get(module) is module
    assert activations.get(torch.tanh) is torch.tanh
    assert activations.swish is activations.silu


def test_activation_get_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"Unknown activation name: 'relux'\. Valid names are: .*relu, relu6"
    ):
        activations.get("relux")
    with pytest.raises(ValueError, match="Received: activation=3"):
        activations.get(3)


def test_activation_serialize_names_builtins():
    assert activations.serialize(activations.relu) == "relu"
    assert activations.serialize(activations.swish) == "silu"
    assert activations.serialize("Swish") == "silu"


def test_activation_serialize_rejects_custom_callable():
    with pytest.raises(ValueError, match="not a built-in Lamina activation.*register"):
        activations.serialize(lambda x: x * 2)
