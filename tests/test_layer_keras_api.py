"""Writing layers as in Keras 3: `add_weight`, `build`, Keras-layout weights, calls
(training / mask only when `call` takes them, several tensors, NumPy inputs) and
Keras's mask rules. References are NumPy / PyTorch computations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.layer import Layer
from lamina.variables import Variable


# ---------------------------------------------------------------------- add_weight
class Linear(Layer):
    """The Keras guide's layer: unnamed weights in Keras layout."""

    def __init__(self, units: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return inputs @ self.w + self.b


def test_add_weight_keras_keywords_without_name():
    layer = Linear(3, name="linear")
    x = np.random.default_rng(0).normal(size=(2, 5)).astype("float32")
    out = layer(x)
    assert isinstance(layer.w, Variable) and isinstance(layer.w, torch.nn.Parameter)
    assert (layer.w.name, layer.b.name) == ("variable", "variable_1")
    assert layer.w.path == "linear/variable"
    # The attribute names become the state_dict keys, each weight once.
    assert list(layer.state_dict()) == ["w", "b"]
    expected = x @ layer.w.numpy() + layer.b.numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert [w is v for w, v in zip(layer.trainable_weights, [layer.w, layer.b])] == [True, True]


def test_add_weight_dtype_strings_trainable_and_regularizer():
    layer = Layer(name="holder")
    count = layer.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False, name="count")
    scale = layer.add_weight(shape=(2,), initializer="ones", regularizer="l2", name="scale")
    assert count.dtype == torch.int64 and not count.requires_grad
    assert scale.dtype == torch.float32 and scale.requires_grad
    assert layer.non_trainable_weights == [count]
    # Keras's L2 default factor is 0.01: 0.01 * (1 + 1).
    np.testing.assert_allclose(float(layer.losses[0].detach()), 0.02, rtol=1e-6)
    assert layer.add_weight(shape=(2,), dtype="int32").numpy().tolist() == [0, 0]  # ints start at zero


def test_add_weight_custom_keras_initializer_and_legacy_order():
    layer = Layer(name="init_test")
    w = layer.add_weight(shape=(2, 3), initializer=lambda shape, dtype=None: np.full(shape, 7.0))
    np.testing.assert_array_equal(w.numpy(), np.full((2, 3), 7.0))
    legacy = layer.add_weight("gamma", (4,), "ones")  # name first: Lamina's built-ins and Keras 2
    assert legacy.name == "gamma" and legacy.numpy().tolist() == [1.0] * 4


def test_add_weight_rejects_unknown_shape():
    with pytest.raises(ValueError, match=r"expects `shape` to be a tuple of non-negative integers.*Received: shape=\(None, 3\)"):
        Layer().add_weight(shape=(None, 3))


# ---------------------------------------------------------------------- build
def test_build_called_by_user_leaves_layer_built_and_keeps_set_weights():
    dense = layers.Dense(2)
    dense.build((None, 3))
    assert dense.built
    kernel = np.arange(6.0, dtype="float32").reshape(3, 2)
    bias = np.array([1.0, -1.0], dtype="float32")
    dense.set_weights([kernel, bias])
    x = np.ones((4, 3), dtype="float32")
    np.testing.assert_allclose(dense(x).detach().numpy(), x @ kernel + bias)


def test_custom_build_marks_built_like_keras():
    layer = Linear(2)
    layer.build((None, 3))
    assert layer.built and tuple(layer.w.shape) == (3, 2)
    layer.w.assign(np.ones((3, 2)))
    out = layer(torch.ones(1, 3))
    np.testing.assert_allclose(out.detach().numpy(), [[3.0, 3.0]])


# ---------------------------------------------------------------------- Keras layout
def test_set_weights_square_dense_kernel_is_keras_layout():
    dense = layers.Dense(2, use_bias=False)
    dense.build((None, 2))
    kernel = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32")  # (in, out), not symmetric
    dense.set_weights([kernel])
    x = np.array([[1.0, 0.0]], dtype="float32")
    np.testing.assert_allclose(dense(x).detach().numpy(), x @ kernel)  # [[1, 2]], not [[1, 3]]
    np.testing.assert_array_equal(dense.get_weights()[0], kernel)


def test_conv2d_weights_in_keras_layout_match_torch():
    conv = layers.Conv2D(4, 3)
    conv.build((None, 6, 6, 2))
    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(3, 3, 2, 4)).astype("float32")  # (kh, kw, in, out)
    bias = rng.normal(size=(4,)).astype("float32")
    conv.set_weights([kernel, bias])
    x = rng.normal(size=(1, 6, 6, 2)).astype("float32")
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(kernel).permute(3, 2, 0, 1), torch.from_numpy(bias)
    ).permute(0, 2, 3, 1)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)
    assert [w.shape for w in conv.get_weights()] == [(3, 3, 2, 4), (4,)]


def test_get_weights_returns_copies():
    dense = layers.Dense(2)
    dense.build((None, 2))
    snapshot = dense.get_weights()
    dense.kernel.assign_add(1.0)
    assert not np.allclose(snapshot[0], dense.get_weights()[0])


def test_set_weights_wrong_layout_raises_and_changes_nothing():
    dense = layers.Dense(3)
    dense.build((None, 2))
    before = dense.get_weights()
    with pytest.raises(ValueError, match=r"Received: 2 arrays of shapes \[\(3, 2\), \(3,\)\]"):
        dense.set_weights([np.zeros((3, 2)), np.zeros(3)])  # a PyTorch-layout kernel
    np.testing.assert_array_equal(dense.get_weights()[0], before[0])


def test_model_weights_follow_keras_order_layer_by_layer():
    model = lamina.Sequential([
        lamina.Input(shape=(3,)), layers.Dense(4), layers.BatchNormalization(), layers.Dense(1),
    ])
    d1, bn, d2 = model.layers
    expected = [d1.kernel, d1.bias, bn.gamma, bn.beta, *bn.non_trainable_weights, d2.kernel, d2.bias]
    assert [id(w) for w in model.weights] == [id(w) for w in expected]
    arrays = model.get_weights()
    assert [a.shape for a in arrays[:2]] == [(3, 4), (4,)]
    assert len(arrays) == len(d1.get_weights()) + len(bn.get_weights()) + len(d2.get_weights())
    model.set_weights([a + 1 for a in arrays])
    np.testing.assert_allclose(model.get_weights()[0], arrays[0] + 1)


# ---------------------------------------------------------------------- calls
class Double(Layer):
    def call(self, inputs):  # no `training`, no `mask`
        return inputs * 2


class Add(Layer):
    def call(self, a, b):
        return a + b


class TrainingEcho(Layer):
    def call(self, inputs, training=None):
        return inputs + (1.0 if training else 0.0)


def test_call_without_training_is_not_passed_it():
    x = torch.ones(2, 3)
    np.testing.assert_array_equal(Double()(x, training=True).numpy(), np.full((2, 3), 2.0))
    model = lamina.Sequential([lamina.Input(shape=(3,)), Double(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_call_with_training_receives_it_and_sublayers_inherit_it():
    np.testing.assert_array_equal(TrainingEcho()(torch.zeros(1), training=True).numpy(), [1.0])

    class Outer(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.echo = TrainingEcho()
            self.dropout = layers.Dropout(0.5)

        def call(self, inputs, training=None):
            return self.echo(inputs), self.dropout(inputs)

    outer = Outer()
    outer.eval()  # module mode says inference; the call's flag wins, as in Keras
    echoed, dropped = outer(torch.ones(1, 1000), training=True)
    assert echoed.min() == 2.0
    assert 0.3 < (dropped == 0).float().mean() < 0.7
    echoed, dropped = outer(torch.ones(1, 1000), training=False)
    assert echoed.max() == 1.0 and (dropped == 1).all()


def test_several_positional_tensors_eager_and_functional():
    a, b = np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")
    np.testing.assert_array_equal(Add()(torch.from_numpy(a), torch.from_numpy(b)).numpy(), a + b)
    in_a, in_b = lamina.Input(shape=(3,)), lamina.Input(shape=(3,))
    out = layers.Dense(1, kernel_initializer="ones")(Add()(in_a, in_b))
    model = lamina.Model([in_a, in_b], out)
    np.testing.assert_allclose(model.predict([a, b], verbose=0), (a + b).sum(axis=1, keepdims=True))


def test_list_of_tensors_goes_to_several_call_parameters():
    a, b = torch.ones(2, 3), torch.full((2, 3), 2.0)
    np.testing.assert_array_equal(Add()([a, b]).numpy(), np.full((2, 3), 3.0))


def test_build_with_several_input_shapes():
    class Weighted(Layer):
        def build(self, a_shape, b_shape):
            self.w = self.add_weight(shape=(a_shape[-1], b_shape[-1]), initializer="ones")

        def call(self, a, b):
            return a @ self.w + b

    layer = Weighted()
    out = layer(torch.ones(2, 3), torch.zeros(2, 4))
    assert tuple(layer.w.shape) == (3, 4)
    np.testing.assert_array_equal(out.detach().numpy(), np.full((2, 4), 3.0))


def test_numpy_and_list_inputs_become_float32_tensors():
    dense = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
    out = dense(np.ones((1, 3)))  # float64 NumPy
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.detach().numpy(), [[3.0, 3.0]])
    np.testing.assert_array_equal(dense([[1.0, 2.0, 3.0]]).detach().numpy(), [[6.0, 6.0]])
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]})
    np.testing.assert_array_equal(dense(frame).detach().numpy(), [[6.0, 6.0]])
    merged = layers.Add()([np.ones((1, 2)), np.ones((1, 2))])
    np.testing.assert_array_equal(merged.numpy(), [[2.0, 2.0]])


def test_unexpected_keyword_names_layer_and_signature():
    with pytest.raises(TypeError, match=r"Layer 'double_kw' \(Double\) got an unexpected keyword argument `scale`.*call\(self, inputs\).*Received: scale=3"):
        Double(name="double_kw")(torch.ones(1), scale=3)


def test_too_many_positional_inputs_names_the_signature():
    with pytest.raises(TypeError, match=r"takes at most 1 positional input\(s\) \(inputs\).*Received: 2"):
        Double()(torch.ones(1), torch.ones(1))


# ---------------------------------------------------------------------- masks
def _masked(x: torch.Tensor, mask: list[bool]) -> torch.Tensor:
    x._keras_mask = torch.tensor([mask] * x.shape[0])
    return x


def test_keras_mask_attribute_and_lamina_alias():
    out = layers.Embedding(5, 2, mask_zero=True)(torch.tensor([[1, 2, 0]]))
    assert out._keras_mask.tolist() == [[True, True, False]]
    assert out._lamina_mask is out._keras_mask
    # A mask set with the Keras name reaches Lamina's recurrent layers.
    x = _masked(torch.randn(1, 3, 2), [True, True, False])
    lstm = layers.LSTM(2)
    torch.testing.assert_close(lstm(x), lstm(x[:, :2].clone()))


def test_layer_without_masking_support_drops_mask_with_keras_warning():
    x = _masked(torch.randn(2, 3, 4), [True, False, True])
    with pytest.warns(UserWarning, match=r"Layer 'plain' \(of type Double\) was passed an input with a mask attached to it\. However, this layer does not support masking"):
        out = Double(name="plain")(x)
    assert getattr(out, "_keras_mask", None) is None


def test_supports_masking_passes_mask_and_call_receives_it():
    class MaskedMean(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            self.seen = None

        def call(self, inputs, mask=None):
            self.seen = mask
            return inputs * 1.0

    layer = MaskedMean()
    x = _masked(torch.randn(2, 3, 4), [True, False, True])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = layer(x)
    assert layer.seen.tolist() == [[True, False, True]] * 2
    assert out._keras_mask.tolist() == [[True, False, True]] * 2


def test_custom_compute_mask_sets_output_mask():
    class NonZero(Layer):
        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, previous_mask=None):
            return inputs.abs().sum(-1) > 0

    x = torch.tensor([[[1.0], [0.0], [2.0]]])
    layer = NonZero()
    assert layer.supports_masking  # overriding compute_mask turns it on, as in Keras
    assert layer(x)._keras_mask.tolist() == [[True, False, True]]


# ---------------------------------------------------------------------- more Keras behaviours
def test_freezing_keeps_a_weight_declared_non_trainable_frozen():
    layer = Layer(name="frozen_parts")
    w = layer.add_weight(shape=(2,), name="w")
    s = layer.add_variable(shape=(2,), name="s", trainable=False)
    layer.trainable = False
    assert not w.requires_grad and not s.requires_grad
    layer.trainable = True
    assert w.requires_grad and not s.requires_grad
    assert layer.trainable_weights == [w] and layer.non_trainable_weights == [s]


def test_functional_call_with_training_keyword_and_mask_rules():
    inputs = lamina.Input(shape=(4,), dtype="int64")
    x = layers.Embedding(10, 3, mask_zero=True)(inputs)

    class KeepMask(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            return inputs * mask[..., None].to(inputs.dtype)

    x = KeepMask()(x)
    with pytest.warns(UserWarning, match="does not support masking"):  # also while writing the graph, as Keras
        x = Double()(x, training=True)  # `training=` accepted, not passed to `call(self, inputs)`
    model = lamina.Model(inputs, x)
    tokens = torch.tensor([[1, 2, 0, 0]])
    with pytest.warns(UserWarning, match="does not support masking"):
        out = model(tokens)
    emb = model.layers[1].embeddings.detach()
    expected = 2 * emb[tokens] * (tokens != 0)[..., None]
    torch.testing.assert_close(out, expected)


def test_input_batch_shape():
    inputs = lamina.Input(batch_shape=(None, 5))
    assert inputs.shape == (None, 5)
    with pytest.raises(ValueError, match=r"either `shape` or `batch_shape`.*Received: shape=\(5,\), batch_shape=\(None, 5\)"):
        lamina.Input(shape=(5,), batch_shape=(None, 5))


def test_add_weight_fans_follow_keras_layout():
    torch.manual_seed(0)
    layer = Layer(name="fans")
    dense_kernel = layer.add_weight(shape=(400, 200), initializer="he_uniform")
    conv_kernel = layer.add_weight(shape=(3, 3, 4, 8), initializer="he_uniform")
    # Keras: fan_in = shape[0] for a dense kernel, kh * kw * in for a conv kernel;
    # he_uniform draws from U(-sqrt(6 / fan_in), sqrt(6 / fan_in)).
    dense_limit, conv_limit = np.sqrt(6 / 400), np.sqrt(6 / (3 * 3 * 4))
    assert 0.97 * dense_limit < np.abs(dense_kernel.numpy()).max() <= dense_limit
    assert 0.9 * conv_limit < np.abs(conv_kernel.numpy()).max() <= conv_limit
    normal = layer.add_weight(shape=(400, 300), initializer="he_normal")
    np.testing.assert_allclose(normal.numpy().std(), np.sqrt(2 / 400), rtol=0.03)


def test_several_inputs_get_their_own_masks_by_name():
    class Pair(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True
            self.seen = None

        def call(self, query, value, query_mask=None, value_mask=None):
            self.seen = (query_mask, value_mask)
            return query + value

    layer = Pair()
    q = _masked(torch.ones(1, 3, 2), [True, True, False])
    v = _masked(torch.ones(1, 3, 2), [True, False, False])
    out = layer(q, v)
    assert layer.seen[0].tolist() == [[True, True, False]]
    assert layer.seen[1].tolist() == [[True, False, False]]
    assert out._keras_mask.tolist() == [[True, True, False]]  # Keras passes the first input's mask on
