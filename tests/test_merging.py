"""Merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`,
`Concatenate`, `Dot`, compared with plain PyTorch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from tests.layer_test_utils import run_layer_test


@pytest.fixture(autouse=True)
def _fresh_names():
    lamina.clear_session()
    torch.manual_seed(0)


ELEMENTWISE = [
    (layers.Add, lambda a, b, c: a + b + c),
    (layers.Multiply, lambda a, b, c: a * b * c),
    (layers.Average, lambda a, b, c: (a + b + c) / 3),
    (layers.Maximum, lambda a, b, c: torch.maximum(torch.maximum(a, b), c)),
    (layers.Minimum, lambda a, b, c: torch.minimum(torch.minimum(a, b), c)),
]


@pytest.mark.parametrize(("cls", "reference"), ELEMENTWISE, ids=lambda v: getattr(v, "__name__", ""))
def test_elementwise_merge_matches_torch(cls, reference):
    a, b, c = torch.randn(4, 3, 5), torch.randn(4, 3, 5), torch.randn(4, 3, 5)
    layer = run_layer_test(
        cls, {}, (4, 3, 5), (4, 3, 5), input_data=[a, b, c], expected_num_trainable_weights=0,
        symbolic=False, run_training_step=False,
    )
    torch.testing.assert_close(layer([a, b, c]), reference(a, b, c))


def test_subtract_matches_torch_and_takes_exactly_two_inputs():
    a, b = torch.randn(4, 5), torch.randn(4, 5)
    layer = run_layer_test(layers.Subtract, {}, (4, 5), (4, 5), input_data=[a, b], symbolic=False,
                           run_training_step=False)
    torch.testing.assert_close(layer([a, b]), a - b)
    x = lamina.Input(shape=(5,))
    with pytest.raises(ValueError, match=r"Layer 'minus' \(Subtract\) expects exactly 2 input tensors\. Received: 3"):
        layers.Subtract(name="minus")([x, x, x])


def test_elementwise_merge_broadcasts_batch_wise_as_keras():
    rows, one = torch.randn(2, 4, 8), torch.randn(2, 8)
    # A lower-rank input gets its missing axes after the batch axis.
    torch.testing.assert_close(layers.Add()([rows, one]), rows + one[:, None, :])
    gate = torch.rand(2, 1)
    values = torch.randn(2, 6)
    torch.testing.assert_close(layers.Multiply()([values, gate]), values * gate)
    symbolic = layers.Add()([lamina.Input(shape=(4, 8)), lamina.Input(shape=(8,))])
    assert symbolic.shape == (None, 4, 8)


def test_concatenate_matches_torch_cat():
    a, b = torch.randn(3, 2, 4), torch.randn(3, 2, 6)
    layer = run_layer_test(layers.Concatenate, {}, (3, 2, 4), (3, 2, 10), input_data=[a, b], symbolic=False,
                           run_training_step=False)
    torch.testing.assert_close(layer([a, b]), torch.cat([a, b], dim=-1))
    c = torch.randn(3, 5, 4)
    torch.testing.assert_close(layers.Concatenate(axis=1)([a, c]), torch.cat([a, c], dim=1))
    assert layers.concatenate([lamina.Input(shape=(2, 4)), lamina.Input(shape=(5, 4))], axis=1).shape == (None, 7, 4)


def test_dot_matches_torch():
    a, b = torch.randn(4, 6), torch.randn(4, 6)
    layer = run_layer_test(layers.Dot, {"axes": 1}, (4, 6), (4, 1), input_data=[a, b], symbolic=False,
                           run_training_step=False)
    torch.testing.assert_close(layer([a, b]), (a * b).sum(-1, keepdim=True))
    torch.testing.assert_close(
        layers.Dot(axes=-1, normalize=True)([a, b]), F.cosine_similarity(a, b, dim=-1).unsqueeze(-1)
    )
    m, n = torch.randn(4, 3, 5), torch.randn(4, 5, 2)
    torch.testing.assert_close(layers.Dot(axes=(2, 1))([m, n]), torch.bmm(m, n))
    q, keys = torch.randn(4, 5), torch.randn(4, 7, 5)
    torch.testing.assert_close(layers.Dot(axes=(1, 2))([q, keys]), torch.einsum("bn,bmn->bm", q, keys))
    assert layers.dot([lamina.Input(shape=(3, 5)), lamina.Input(shape=(5, 2))], axes=(2, 1)).shape == (None, 3, 2)


def test_merge_shape_errors_name_layer_and_shapes():
    wide, narrow = lamina.Input(shape=(8,)), lamina.Input(shape=(4,))
    with pytest.raises(ValueError, match=r"Layer 'plus' \(Add\) expects inputs with the same shape.*"
                       r"Received: input shapes \[\(None, 8\), \(None, 4\)\]"):
        layers.Add(name="plus")([wide, narrow])
    with pytest.raises(ValueError, match=r"Layer 'join' \(Concatenate\) expects inputs whose shapes match on every "
                       r"axis except.*\[\(None, 2, 3\), \(None, 4, 5\)\]"):
        layers.Concatenate(name="join")([lamina.Input(shape=(2, 3)), lamina.Input(shape=(4, 5))])
    with pytest.raises(ValueError, match=r"\(Concatenate\) expects inputs of the same rank"):
        layers.Concatenate()([wide, lamina.Input(shape=(2, 8))])
    with pytest.raises(ValueError, match=r"\(Concatenate\) expects `axis` to be a non-batch axis.*Received: axis=0"):
        layers.Concatenate(axis=0)([wide, wide])
    with pytest.raises(ValueError, match=r"Layer 'sim' \(Dot\) expects the summed axes to have the same size.*"
                       r"sizes 8 and 4"):
        layers.Dot(axes=1, name="sim")([wide, narrow])


def test_merge_layer_rejects_a_single_tensor():
    with pytest.raises(ValueError, match=r"Layer 'plus' \(Add\) expects a list of input tensors.*Add\(\)\(\[x1, x2\]\)"):
        layers.Add(name="plus")(lamina.Input(shape=(3,)))
    built = layers.Add(name="sum")
    built([torch.ones(2, 3), torch.ones(2, 3)])
    with pytest.raises(ValueError, match=r"Layer 'sum' \(Add\) expects a list.*Received: a single input of shape \(2, 3\)"):
        built(torch.ones(2, 3))


def test_merge_eager_mismatch_after_build_names_the_shapes():
    layer = layers.Add(name="plus")
    layer([torch.ones(2, 3), torch.ones(2, 3)])
    with pytest.raises(ValueError, match=r"Layer 'plus' \(Add\).*Received: input shapes \[\(None, 3\), \(None, 5\)\]"):
        layer([torch.ones(2, 3), torch.ones(2, 5)])
    with pytest.raises(ValueError, match=r"Layer 'cat' \(Concatenate\).*\[\(None, 3\), \(None, 2, 3\)\]"):
        concat = layers.Concatenate(name="cat")
        concat([torch.ones(2, 3), torch.ones(2, 3)])
        concat([torch.ones(2, 3), torch.ones(2, 2, 3)])


def test_merge_argument_validation():
    with pytest.raises(ValueError, match=r"`Concatenate` expects `axis` to be an integer\. Received: axis='last'"):
        layers.Concatenate(axis="last")
    with pytest.raises(ValueError, match=r"`Dot` expects `axes` to be an integer or a pair.*Received: axes=\(1, 2, 3\)"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\): mode"):
        layers.Add(mode="sum")


def test_lowercase_helpers_build_the_layers():
    a, b = lamina.Input(shape=(3,)), lamina.Input(shape=(3,))
    for helper, cls in [
        (layers.add, layers.Add), (layers.subtract, layers.Subtract), (layers.multiply, layers.Multiply),
        (layers.average, layers.Average), (layers.maximum, layers.Maximum), (layers.minimum, layers.Minimum),
    ]:
        out = helper([a, b])
        assert out.shape == (None, 3)
        assert isinstance(out.node.layer, cls)


def test_merge_layers_train_inside_a_functional_model():
    a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
    left, right = layers.Dense(3, name="left")(a), layers.Dense(3, name="right")(b)
    out = layers.Dense(1, name="out")(layers.concatenate([layers.add([left, right]), layers.multiply([left, right])]))
    model = lamina.Model([a, b], out)
    x1, x2 = torch.randn(16, 4), torch.randn(16, 4)
    model.compile(optimizer="sgd", loss="mse")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.fit([x1, x2], torch.randn(16, 1), epochs=1, verbose=0)
    assert all(not torch.equal(before[k], v) for k, v in model.state_dict().items())
