import pytest
import torch

from lamina import regularizers

W = torch.tensor([[1.0, -2.0], [0.5, 0.0]])


def test_l1_penalty_value():
    torch.testing.assert_close(regularizers.L1(0.1)(W), torch.tensor(0.1 * 3.5))


def test_l2_penalty_value():
    torch.testing.assert_close(regularizers.L2(0.1)(W), torch.tensor(0.1 * 5.25))


def test_l1l2_penalty_value():
    torch.testing.assert_close(regularizers.L1L2(0.1, 0.2)(W), torch.tensor(0.1 * 3.5 + 0.2 * 5.25))
    zero = regularizers.L1L2()(W)
    assert zero.shape == () and zero.item() == 0.0


def test_regularizer_penalty_has_gradient():
    w = W.clone().requires_grad_(True)
    regularizers.L2(0.5)(w).backward()
    torch.testing.assert_close(w.grad, 2 * 0.5 * W)


def test_regularizer_keras_defaults():
    assert regularizers.L1().l1 == 0.01
    assert regularizers.L2().l2 == 0.01
    assert (regularizers.L1L2().l1, regularizers.L1L2().l2) == (0.0, 0.0)


def test_regularizer_get_resolves_identifiers():
    assert regularizers.get(None) is None
    assert isinstance(regularizers.get("l1"), regularizers.L1)
    assert isinstance(regularizers.get("L2"), regularizers.L2)
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert isinstance(regularizers.get(regularizers.L1), regularizers.L1)
    reg = regularizers.L2(0.3)
    assert regularizers.get(reg) is reg
    fn = lambda w: w.sum()  # noqa: E731
    assert regularizers.get(fn) is fn
    rebuilt = regularizers.get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}})
    assert rebuilt.get_config() == {"l1": 0.1, "l2": 0.2}


def test_regularizer_get_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"Unknown regularizer name: 'l3'\. Valid names are: l1, l1_l2, l1l2, l2"
    ):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Received: regularizer=0.1"):
        regularizers.get(0.1)


@pytest.mark.parametrize(
    "reg", [regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.4)], ids=repr
)
def test_regularizer_config_round_trip(reg):
    config = reg.get_config()
    rebuilt = type(reg).from_config(config)
    assert rebuilt.get_config() == config
    via = regularizers.deserialize(regularizers.serialize(reg))
    assert type(via) is type(reg)
    torch.testing.assert_close(via(W), reg(W))


def test_regularizer_serialize_rejects_plain_callable():
    with pytest.raises(ValueError, match="only `Regularizer` instances can be saved"):
        regularizers.serialize(lambda w: w.sum())


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: regularizers.L2(-0.1),
            r"`L2` expects `l2` to be a number >= 0.0\. Received: l2=-0.1",
        ),
        (lambda: regularizers.L1("big"), "Received: l1='big'"),
        (lambda: regularizers.L1L2(l2=float("nan")), "Received: l2=nan"),
    ],
)
def test_regularizer_validates_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_regularizer_serialize_none_is_none():
    assert regularizers.serialize(None) is None


def test_lower_case_aliases_are_the_keras_callables():
    reg = regularizers.l2(0.1)
    assert type(reg) is regularizers.L2 and reg.l2 == 0.1
    assert type(regularizers.l1()) is regularizers.L1 and regularizers.l1().l1 == 0.01
    both = regularizers.l1_l2(l1=0.2, l2=0.3)
    torch.testing.assert_close(both(W), 0.2 * W.abs().sum() + 0.3 * (W**2).sum())
    for name, cls in (("l1", regularizers.L1), ("l2", regularizers.L2), ("l1_l2", regularizers.L1L2)):
        assert type(regularizers.get(name)) is cls
    assert regularizers.serialize(reg)["class_name"] == "L2"
