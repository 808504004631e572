"""Weight constraints: Keras's formulas (checked against NumPy), names, the optimizer
applying them after each update, built-in layers in Keras's weight layout, saving."""

import json
import os
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina import constraints, layers, optimizers

EPS = 1e-7
KERAS_FILES = os.path.join(os.path.dirname(__file__), "fixtures", "keras")


# ------------------------------------------------------------ NumPy references
def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


def np_max_norm(w, max_value=2.0, axis=0):
    norms = _norms(w, axis)
    return w * (np.clip(norms, 0, max_value) / (EPS + norms))


def np_unit_norm(w, axis=0):
    return w / (EPS + _norms(w, axis))


def np_min_max_norm(w, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
    norms = _norms(w, axis)
    desired = rate * np.clip(norms, min_value, max_value) + (1 - rate) * norms
    return w * (desired / (EPS + norms))


def np_non_neg(w):
    return np.maximum(w, 0)


def _weights(shape, seed=0, scale=3.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


# ------------------------------------------------------------------ formulas
@pytest.mark.parametrize(
    "constraint, reference",
    [
        (constraints.MaxNorm(), lambda w: np_max_norm(w)),
        (constraints.MaxNorm(1.5, axis=1), lambda w: np_max_norm(w, 1.5, 1)),
        (constraints.MaxNorm(4.0, axis=[0, 1]), lambda w: np_max_norm(w, 4.0, [0, 1])),
        (constraints.UnitNorm(), lambda w: np_unit_norm(w)),
        (constraints.UnitNorm(axis=[0, 2]), lambda w: np_unit_norm(w, [0, 2])),
        (constraints.MinMaxNorm(), lambda w: np_min_max_norm(w)),
        (constraints.MinMaxNorm(2.0, 3.0, 0.5, axis=-1), lambda w: np_min_max_norm(w, 2.0, 3.0, 0.5, -1)),
        (constraints.NonNeg(), np_non_neg),
    ],
)
def test_constraint_formula_matches_keras_numpy(constraint, reference):
    w = _weights((4, 3, 5))
    w[0, 0, :] = 0.0  # a zero vector stays zero (epsilon in the denominator)
    out = constraint(torch.from_numpy(w))
    np.testing.assert_allclose(out.numpy(), reference(w), rtol=1e-5, atol=1e-6)
    assert out.shape == w.shape


def test_constraint_max_norm_bounds_and_keeps_small_norms():
    w = torch.tensor([[3.0, 0.3], [4.0, 0.4]])
    out = constraints.MaxNorm(1.0)(w)
    torch.testing.assert_close(torch.linalg.norm(out, dim=0), torch.tensor([1.0, 0.5]))
    torch.testing.assert_close(out[:, 1], w[:, 1])


def test_constraint_base_returns_weight_unchanged():
    w = torch.randn(3)
    assert constraints.Constraint()(w) is w
    assert constraints.Constraint().get_config() == {}


# ------------------------------------------------------------------- names
@pytest.mark.parametrize(
    "name, cls",
    [
        ("max_norm", constraints.MaxNorm),
        ("min_max_norm", constraints.MinMaxNorm),
        ("non_neg", constraints.NonNeg),
        ("unit_norm", constraints.UnitNorm),
        ("MaxNorm", constraints.MaxNorm),
    ],
)
def test_constraint_get_resolves_keras_names(name, cls):
    found = constraints.get(name)
    assert type(found) is cls
    assert found.get_config() == cls().get_config()


def test_constraint_get_passes_instances_callables_and_none():
    c = constraints.MaxNorm(3.0)
    assert constraints.get(c) is c
    assert constraints.get(None) is None
    fn = torch.abs
    assert constraints.get(fn) is fn
    assert type(constraints.get(constraints.UnitNorm)) is constraints.UnitNorm
    assert constraints.max_norm is constraints.MaxNorm


def test_constraint_serialize_round_trips():
    c = constraints.MinMaxNorm(0.5, 2.0, rate=0.3, axis=[0, 1])
    config = constraints.serialize(c)
    assert config["class_name"] == "MinMaxNorm"
    assert config["config"] == {"min_value": 0.5, "max_value": 2.0, "rate": 0.3, "axis": [0, 1]}
    back = constraints.deserialize(json.loads(json.dumps(config)))
    assert type(back) is constraints.MinMaxNorm and back.get_config() == c.get_config()
    assert constraints.get(config).get_config() == c.get_config()
    assert type(constraints.deserialize("non_neg")) is constraints.NonNeg
    assert constraints.serialize(None) is None


def test_constraint_registered_custom_class_round_trips():
    @lamina.saving.register_keras_serializable(package="test_constraints")
    class Clip(constraints.Constraint):
        def __init__(self, limit=1.0):
            self.limit = limit

        def __call__(self, w):
            return w.clamp(-self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}

    back = constraints.deserialize(constraints.serialize(Clip(0.5)))
    assert isinstance(back, Clip) and back.limit == 0.5


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: constraints.get("max_nrom"), r"Unknown constraint name: 'max_nrom'\. Valid names are: "
         r"max_norm, min_max_norm, non_neg, unit_norm\. Received: constraint='max_nrom'"),
        (lambda: constraints.get(3), r"Expected a constraint to be a name.*Received: constraint=3\."),
        (lambda: constraints.serialize(torch.abs), r"Cannot serialize the constraint"),
        (lambda: constraints.MaxNorm(axis="rows"), r"`MaxNorm` expects `axis` to be an integer or a non-empty "
         r"list of integers.*Received: axis='rows'"),
        (lambda: constraints.MaxNorm(max_value=-1), r"`MaxNorm` expects `max_value`.*Received: max_value=-1"),
        (lambda: constraints.MinMaxNorm(2.0, 1.0), r"`MinMaxNorm` expects `min_value` <= `max_value`\. "
         r"Received: min_value=2\.0, max_value=1\.0"),
        (lambda: constraints.MinMaxNorm(rate=1.5), r"`MinMaxNorm` expects `rate`.*Received: rate=1\.5"),
        (lambda: layers.Dense(2, kernel_constraint="nope"), r"Unknown constraint name: 'nope'"),
    ],
)
def test_constraint_errors_name_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --------------------------------------------------------------- optimizer
def _param(constraint, values):
    p = torch.nn.Parameter(torch.tensor(values))
    p.constraint = constraint
    return p


def test_constraint_sgd_applies_after_each_step():
    p = _param(constraints.MaxNorm(1.0, axis=0), [[0.3, 0.1], [0.4, 0.2]])
    opt = optimizers.SGD(learning_rate=2.0)
    opt.build([p])
    expected = p.detach().numpy().copy()
    for grad in ([[-1.0, 0.0], [-1.0, 0.5]], [[0.5, -2.0], [0.0, 1.0]]):
        p.grad = torch.tensor(grad)
        opt.step()
        expected = np_max_norm(expected - 2.0 * np.array(grad, dtype=np.float32), 1.0, 0)
        np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.linalg.norm(expected, axis=0) <= 1.0 + 1e-6)


def test_constraint_adam_applies_after_each_step():
    values = [1.0, -2.0, 0.5]
    p = _param(constraints.NonNeg(), values)
    twin = torch.nn.Parameter(torch.tensor(values))
    opt = optimizers.Adam(learning_rate=0.5)
    opt.build([p])
    ref = torch.optim.Adam([twin], lr=0.5, eps=1e-7)
    for grad in ([1.0, -1.0, 2.0], [-3.0, 1.0, 0.5], [0.5, 0.5, -4.0]):
        p.grad, twin.grad = torch.tensor(grad), torch.tensor(grad)
        opt.step()
        ref.step()
        with torch.no_grad():
            twin.clamp_(min=0.0)  # the constraint, applied after the update
        torch.testing.assert_close(p.detach(), twin.detach())
    assert bool((p >= 0).all())


def test_constraint_skips_parameter_without_gradient():
    p = _param(constraints.NonNeg(), [-1.0, 2.0])
    q = torch.nn.Parameter(torch.tensor([1.0]))
    opt = optimizers.SGD(learning_rate=0.1)
    opt.build([p, q])
    q.grad = torch.tensor([1.0])
    opt.step()  # `p` had no gradient: Keras neither updates nor constrains it
    assert p.detach().tolist() == [-1.0, 2.0]


def test_constraint_none_leaves_optimizer_hot_path_empty():
    layer = layers.Dense(3)
    layer.build((None, 4))
    opt = optimizers.SGD(learning_rate=0.1)
    opt.build(layer.parameters())
    assert opt._constrained == []
    before = layer.kernel.detach().clone()
    layer.kernel.grad = torch.ones_like(before)
    layer.bias.grad = torch.ones(3)
    opt.step()
    torch.testing.assert_close(layer.kernel.detach(), before - 0.1)


@pytest.mark.parametrize("opt_name", ["adamw", "rmsprop", "lion", "adafactor"])
def test_constraint_applies_for_every_optimizer(opt_name):
    p = _param(constraints.NonNeg(), [0.01, 0.02, 0.03])
    opt = optimizers.get(opt_name)
    opt.build([p])
    p.grad = torch.tensor([5.0, 5.0, 5.0])
    opt.step()
    assert bool((p >= 0).all())
    assert p.detach().tolist() != [0.01, 0.02, 0.03]


# ---------------------------------------------------- built-in layer layouts
def _check_layer_step(make, input_shape, reference, index=0, lr=5.0):
    layer = make(True)
    torch.manual_seed(1)
    layer(torch.randn(*input_shape))
    start = layer.get_weights()
    twin = make(None)
    twin(torch.randn(*input_shape))
    twin.set_weights(start)
    for lay in (layer, twin):
        torch.manual_seed(2)
        x = torch.randn(*input_shape)
        out = lay(x)
        target = torch.randn_like(out)
        opt = optimizers.SGD(learning_rate=lr)
        opt.build(lay.parameters())
        (out * target).sum().backward()
        opt.step()
    free = twin.get_weights()[index]
    got = layer.get_weights()[index]
    assert not np.allclose(free, reference(free))  # the constraint had work to do
    np.testing.assert_allclose(got, reference(free), rtol=1e-4, atol=1e-5)
    return got


def test_constraint_dense_kernel_in_keras_layout():
    def make(c):
        return layers.Dense(3, kernel_constraint=constraints.MaxNorm(1.0, axis=0) if c else None)

    kernel = _check_layer_step(make, (8, 4), lambda w: np_max_norm(w, 1.0, 0))
    assert kernel.shape == (4, 3)
    assert np.all(np.linalg.norm(kernel, axis=0) <= 1.0 + 1e-5)


def test_constraint_dense_bias_and_axis_one():
    def make(c):
        return layers.Dense(
            3, kernel_constraint="unit_norm" if c else None, bias_constraint="non_neg" if c else None
        )

    _check_layer_step(make, (8, 5), lambda w: np_unit_norm(w, 0))
    _check_layer_step(make, (8, 5), np_non_neg, index=1)

    def make_rows(c):
        return layers.Dense(3, kernel_constraint=constraints.UnitNorm(axis=1) if c else None)

    _check_layer_step(make_rows, (8, 5), lambda w: np_unit_norm(w, 1))


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda c: layers.Conv1D(4, 3, kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1]) if c else None),
         (2, 7, 3)),
        (lambda c: layers.Conv2D(4, 2, kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1, 2]) if c else None),
         (2, 5, 5, 3)),
        (lambda c: layers.Conv3D(2, 2, kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1, 2, 3]) if c
                                 else None), (1, 3, 3, 3, 2)),
        (lambda c: layers.Conv2DTranspose(4, 2, kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1, 2]) if c
                                          else None), (2, 4, 4, 3)),
    ],
)
def test_constraint_conv_kernel_in_keras_layout(make, shape):
    rank = len(shape) - 2
    axis = list(range(rank + 1))
    kernel = _check_layer_step(make, shape, lambda w: np_max_norm(w, 0.5, axis))
    assert np.all(np.sqrt(np.sum(kernel ** 2, axis=tuple(axis))) <= 0.5 + 1e-5)


def test_constraint_conv_axis_refers_to_keras_kernel_axes():
    # axis=-1 (filters in Keras's layout): each (row, col, in) position's filter vector
    def make(c):
        return layers.Conv2D(3, 2, kernel_constraint=constraints.UnitNorm(axis=-1) if c else None)

    _check_layer_step(make, (2, 4, 4, 2), lambda w: np_unit_norm(w, -1))


def test_constraint_depthwise_and_separable_kernels_in_keras_layout():
    def make_depthwise(c):
        return layers.DepthwiseConv2D(
            2, depth_multiplier=2, depthwise_constraint=constraints.UnitNorm(axis=[0, 1, 3]) if c else None
        )

    kernel = _check_layer_step(make_depthwise, (2, 4, 4, 3), lambda w: np_unit_norm(w, [0, 1, 3]))
    assert kernel.shape == (2, 2, 3, 2)

    def make_separable(c):
        return layers.SeparableConv2D(
            4, 2, depth_multiplier=2,
            depthwise_constraint=constraints.MaxNorm(0.3, axis=-1) if c else None,
            pointwise_constraint=constraints.MaxNorm(0.3, axis=[0, 1, 2]) if c else None,
        )

    _check_layer_step(make_separable, (2, 4, 4, 3), lambda w: np_max_norm(w, 0.3, -1), index=0)
    _check_layer_step(make_separable, (2, 4, 4, 3), lambda w: np_max_norm(w, 0.3, [0, 1, 2]), index=1)


@pytest.mark.parametrize(
    "make, shape, index, reference",
    [
        (lambda c: layers.Embedding(6, 4, embeddings_constraint=constraints.MaxNorm(0.1, axis=1) if c else None),
         None, 0, lambda w: np_max_norm(w, 0.1, 1)),
        (lambda c: layers.BatchNormalization(gamma_constraint="non_neg" if c else None), (16, 3), 0, np_non_neg),
        (lambda c: layers.LayerNormalization(beta_constraint="non_neg" if c else None), (4, 8), 1, np_non_neg),
        (lambda c: layers.GroupNormalization(2, gamma_constraint="non_neg" if c else None), (4, 5, 4), 0,
         np_non_neg),
    ],
)
def test_constraint_embedding_and_normalization_weights(make, shape, index, reference):
    if shape is None:  # Embedding: integer inputs
        layer, twin = make(True), make(None)
        ids = torch.tensor([[0, 1, 2], [3, 4, 5]])
        layer(ids)
        twin(ids)
        twin.set_weights(layer.get_weights())
        for lay in (layer, twin):
            opt = optimizers.SGD(learning_rate=5.0)
            opt.build(lay.parameters())
            torch.manual_seed(3)
            out = lay(ids)
            (out * torch.randn_like(out)).sum().backward()
            opt.step()
        np.testing.assert_allclose(layer.get_weights()[0], reference(twin.get_weights()[0]), rtol=1e-5)
        return
    _check_layer_step(make, shape, reference, index=index, lr=50.0)


@pytest.mark.parametrize(
    "make, keys",
    [
        (lambda: layers.Dense(2, kernel_constraint=constraints.MaxNorm(3.0), bias_constraint="non_neg"),
         ("kernel_constraint", "bias_constraint")),
        (lambda: layers.Conv2D(2, 3, kernel_constraint="unit_norm", bias_constraint="non_neg"),
         ("kernel_constraint", "bias_constraint")),
        (lambda: layers.Conv1DTranspose(2, 3, kernel_constraint="max_norm"), ("kernel_constraint",)),
        (lambda: layers.SeparableConv2D(2, 3, depthwise_constraint="non_neg", pointwise_constraint="max_norm"),
         ("depthwise_constraint", "pointwise_constraint")),
        (lambda: layers.DepthwiseConv2D(3, depthwise_constraint="non_neg"), ("depthwise_constraint",)),
        (lambda: layers.Embedding(5, 2, embeddings_constraint=constraints.MinMaxNorm(0.1, 0.9, axis=1)),
         ("embeddings_constraint",)),
        (lambda: layers.BatchNormalization(beta_constraint="non_neg", gamma_constraint="unit_norm"),
         ("beta_constraint", "gamma_constraint")),
        (lambda: layers.LayerNormalization(gamma_constraint="non_neg"), ("gamma_constraint",)),
        (lambda: layers.GroupNormalization(2, beta_constraint="non_neg"), ("beta_constraint",)),
    ],
)
def test_constraint_layer_arguments_round_trip_in_config(make, keys):
    layer = make()
    config = layer.get_config()
    json.dumps(config)
    rebuilt = type(layer).from_config(json.loads(json.dumps(config)))
    for key in keys:
        original, back = getattr(layer, key), getattr(rebuilt, key)
        assert isinstance(original, constraints.Constraint)
        assert type(back) is type(original) and back.get_config() == original.get_config()
        assert config[key]["class_name"] == type(original).__name__


def test_constraint_layer_defaults_are_none():
    config = layers.Dense(2).get_config()
    assert config["kernel_constraint"] is None and config["bias_constraint"] is None
    assert layers.Conv2D(2, 3).get_config()["kernel_constraint"] is None


# --------------------------------------------------------------- custom layers
class _Positive(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones", constraint="non_neg")
        self.v = self.add_weight(shape=(2,), initializer="zeros")

    def call(self, inputs):
        return inputs @ self.w + self.v


def test_constraint_custom_layer_add_weight_name_applies_in_fit():
    layer = _Positive()
    model = lamina.Sequential([lamina.Input((3,)), layer])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse")
    x = np.ones((8, 3), np.float32)
    y = np.full((8, 2), -50.0, np.float32)  # one step: w = 1 - 0.1 * 53 = -4.3 unconstrained
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert isinstance(layer.w.constraint, constraints.NonNeg)
    assert layer.v.constraint is None
    np.testing.assert_array_equal(layer.w.detach().numpy(), np.zeros((3, 2), np.float32))
    np.testing.assert_allclose(layer.v.detach().numpy(), [-5.3, -5.3], rtol=1e-5)  # unconstrained


def test_constraint_custom_layer_uses_its_own_layout():
    class Rows(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], 3), initializer="ones", constraint=constraints.UnitNorm(axis=1)
            )

        def call(self, inputs):
            return inputs @ self.w

    layer = Rows()
    layer(torch.ones(2, 4))
    opt = optimizers.SGD(learning_rate=0.1)
    opt.build(layer.parameters())
    layer(torch.ones(2, 4)).sum().backward()
    opt.step()
    np.testing.assert_allclose(np.linalg.norm(layer.w.detach().numpy(), axis=1), np.ones(4), rtol=1e-5)


def test_constraint_add_weight_unknown_name_is_refused():
    layer = layers.Layer()
    with pytest.raises(ValueError, match=r"Unknown constraint name: 'positive'"):
        layer.add_weight(shape=(2,), constraint="positive")


# ------------------------------------------------------------------- saving
def _constrained_model():
    model = lamina.Sequential([
        lamina.Input((4,)),
        layers.Dense(5, kernel_constraint=constraints.MaxNorm(0.5), bias_constraint="non_neg"),
        layers.Dense(1, kernel_constraint=constraints.MinMaxNorm(0.1, 0.4, rate=0.5)),
    ])
    model.compile(optimizer=optimizers.SGD(learning_rate=5.0), loss="mse")
    return model


@pytest.mark.parametrize("suffix", [".lamina", ".keras"])
def test_constraint_model_save_and_load_keeps_constraints(tmp_path, suffix):
    model = _constrained_model()
    path = str(tmp_path / f"model{suffix}")
    model.save(path)
    loaded = lamina.load_model(path)
    first, second = loaded.layers[0], loaded.layers[1]
    assert first.kernel_constraint.get_config() == {"max_value": 0.5, "axis": 0}
    assert isinstance(first.bias_constraint, constraints.NonNeg)
    assert second.kernel_constraint.get_config() == {"min_value": 0.1, "max_value": 0.4, "rate": 0.5, "axis": 0}
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) * 10).astype(np.float32)
    loaded.compile(optimizer=optimizers.SGD(learning_rate=5.0), loss="mse")
    loaded.fit(x, y, epochs=1, batch_size=16, verbose=0)
    kernel, bias = first.get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-5)
    assert np.all(bias >= 0)


def test_constraint_keras_file_with_kernel_constraint_loads(tmp_path):
    src = os.path.join(KERAS_FILES, "mlp.keras")
    dst = str(tmp_path / "mlp_constrained.keras")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = json.loads(data)
                config["config"]["layers"][1]["config"]["kernel_constraint"] = {
                    "module": "keras.constraints", "class_name": "MaxNorm",
                    "config": {"max_value": 2, "axis": 0}, "registered_name": None,
                }
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    model = lamina.load_model(dst)
    dense = model.layers[0]
    assert isinstance(dense.kernel_constraint, constraints.MaxNorm)
    assert dense.kernel_constraint.get_config() == {"max_value": 2, "axis": 0}
    assert dense.kernel.constraint is not None


def test_keras_file_written_by_lamina_names_keras_constraints(tmp_path):
    """A `.keras` file names constraints by Keras's module, so Keras can rebuild them."""
    model = lamina.Sequential([lamina.Input(shape=(3,)),
                               lamina.layers.Dense(2, kernel_constraint=lamina.constraints.MaxNorm(1.5))])
    path = tmp_path / "c.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    dense = [entry for entry in config["config"]["layers"] if entry["class_name"] == "Dense"][0]
    constraint = dense["config"]["kernel_constraint"]
    assert constraint["module"] == "keras.constraints" and constraint["class_name"] == "MaxNorm"
    assert constraint["config"]["max_value"] == 1.5
    restored = lamina.load_model(str(path))
    assert restored.layers[0].kernel_constraint.max_value == 1.5
