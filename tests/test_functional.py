"""The functional API: `lamina.Model(inputs, outputs)`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from lamina.models.functional import Functional


@pytest.fixture(autouse=True)
def _fresh_names():
    lamina.clear_session()
    lamina.set_seed(0)


def _two_input_model() -> Functional:
    a = lamina.Input(shape=(6,), name="a")
    b = lamina.Input(shape=(4,), name="b")
    h = layers.Dense(8, activation="relu", name="h")(a)
    g = layers.Dense(8, name="g")(b)
    merged = layers.Add(name="merge")([h, g])
    joined = layers.Concatenate(name="join")([merged, b])
    cls = layers.Dense(3, activation="softmax", name="cls")(joined)
    reg = layers.Dense(1, name="reg")(joined)
    return lamina.Model([a, b], {"cls": cls, "reg": reg}, name="two_heads")


def _torch_two_input(model: Functional, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
    def dense(name: str, x: torch.Tensor) -> torch.Tensor:
        layer = model.get_layer(name)
        return F.linear(x, layer.kernel, layer.bias)

    joined = torch.cat([torch.relu(dense("h", a)) + dense("g", b), b], dim=-1)
    return {"cls": torch.softmax(dense("cls", joined), dim=-1), "reg": dense("reg", joined)}


def test_functional_model_call_returns_functional_instance():
    inputs = lamina.Input(shape=(3,))
    model = lamina.Model(inputs, layers.Dense(2)(inputs))
    assert isinstance(model, Functional)
    assert isinstance(model, lamina.Model)
    assert model.name == "functional"


def test_functional_output_matches_hand_written_torch():
    model = _two_input_model()
    a, b = torch.randn(5, 6), torch.randn(5, 4)
    out = model([a, b])
    assert set(out) == {"cls", "reg"}
    expected = _torch_two_input(model, a, b)
    torch.testing.assert_close(out["cls"], expected["cls"])
    torch.testing.assert_close(out["reg"], expected["reg"])


def test_functional_accepts_list_dict_and_numpy_inputs():
    model = _two_input_model()
    a, b = torch.randn(5, 6), torch.randn(5, 4)
    by_list = model([a, b])
    by_dict = model({"b": b, "a": a})
    by_numpy = model([a.numpy().astype(np.float64), b.numpy()])
    for out in (by_dict, by_numpy):
        torch.testing.assert_close(out["cls"], by_list["cls"])
        torch.testing.assert_close(out["reg"], by_list["reg"])
    predicted = model.predict({"a": a.numpy(), "b": b.numpy()}, verbose=0)
    np.testing.assert_allclose(predicted["reg"], by_list["reg"].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_functional_dict_inputs_are_keyed_by_dict_keys():
    x1 = lamina.Input(shape=(2,), name="left")
    x2 = lamina.Input(shape=(2,), name="right")
    out = layers.Subtract()([x1, x2])
    model = lamina.Model({"p": x1, "q": x2}, out)
    assert model.input_names == ["p", "q"]
    p, q = torch.randn(3, 2), torch.randn(3, 2)
    torch.testing.assert_close(model({"q": q, "p": p}), p - q)
    torch.testing.assert_close(model([p, q]), p - q)


def test_functional_input_errors_name_what_was_expected():
    model = _two_input_model()
    a, b = torch.randn(5, 6), torch.randn(5, 4)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\) \['a', 'b'\]\. Received: a list of 1"):
        model([a])
    with pytest.raises(ValueError, match=r"keys \['a', 'b'\].*missing \['b'\], unexpected \['c'\]"):
        model({"a": a, "c": b})
    with pytest.raises(ValueError, match=r"expects 2 inputs \['a', 'b'\]\. Received: a single Tensor"):
        model(a)
    with pytest.raises(ValueError, match=r"Input 'b' .* expects shape \(None, 4\).*Received: input with shape \(None, 5\)"):
        model([a, torch.randn(5, 5)])


def test_functional_multi_output_dict_losses_and_loss_weights():
    model = _two_input_model()
    rng = np.random.default_rng(0)
    xa = rng.normal(size=(64, 6)).astype("float32")
    xb = rng.normal(size=(64, 4)).astype("float32")
    y_cls = rng.integers(0, 3, size=64)
    y_reg = rng.normal(size=(64, 1)).astype("float32")
    model.compile(
        optimizer="adam",
        loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
        loss_weights={"cls": 1.0, "reg": 0.25},
        metrics={"cls": ["accuracy"]},
    )
    history = model.fit({"a": xa, "b": xb}, {"cls": y_cls, "reg": y_reg}, batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}

    logs = model.evaluate([xa, xb], {"cls": y_cls, "reg": y_reg}, batch_size=64, verbose=0, return_dict=True)
    with torch.no_grad():
        out = model([torch.from_numpy(xa), torch.from_numpy(xb)], training=False)
    cls_loss = F.nll_loss(torch.log(out["cls"]), torch.from_numpy(y_cls)).item()
    reg_loss = F.mse_loss(out["reg"], torch.from_numpy(y_reg)).item()
    accuracy = (out["cls"].argmax(-1).numpy() == y_cls).mean()
    assert logs["cls_loss"] == pytest.approx(cls_loss, rel=1e-4)
    assert logs["reg_loss"] == pytest.approx(reg_loss, rel=1e-4)
    assert logs["loss"] == pytest.approx(cls_loss + 0.25 * reg_loss, rel=1e-4)
    assert logs["cls_accuracy"] == pytest.approx(accuracy)


def test_functional_list_outputs_are_named_after_their_layers():
    inputs = lamina.Input(shape=(4,))
    hidden = layers.Dense(8, activation="relu", name="trunk")(inputs)
    first = layers.Dense(1, name="price")(hidden)
    second = layers.Dense(1, name="volume")(hidden)
    model = lamina.Model(inputs, [first, second])
    assert model.output_names == ["price", "volume"]
    model.compile(optimizer="sgd", loss=["mse", "mae"], loss_weights=[1.0, 2.0])
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    y1, y2 = x[:, :1] * 2, x[:, 1:2]
    logs = model.evaluate(x, [y1, y2], batch_size=32, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "price_loss", "volume_loss"}
    assert logs["loss"] == pytest.approx(logs["price_loss"] + 2.0 * logs["volume_loss"], rel=1e-5)


def test_functional_shared_layer_uses_one_set_of_weights():
    left = lamina.Input(shape=(5,), name="left")
    right = lamina.Input(shape=(5,), name="right")
    shared = layers.Dense(3, name="shared")
    distance = layers.Subtract()([shared(left), shared(right)])
    model = lamina.Model([left, right], distance)
    assert model.get_layer("shared") is shared
    assert [layer.name for layer in model.layers].count("shared") == 1
    assert sum(1 for key in model.state_dict() if key.startswith("shared.")) == 2
    assert model.count_params() == 5 * 3 + 3
    x1, x2 = torch.randn(4, 5), torch.randn(4, 5)
    expected = F.linear(x1, shared.kernel, shared.bias) - F.linear(x2, shared.kernel, shared.bias)
    torch.testing.assert_close(model([x1, x2]), expected)


def test_functional_nested_models_work_as_layers():
    encoder = lamina.Sequential([layers.Dense(6, activation="tanh", name="enc_dense")], name="encoder")
    head_in = lamina.Input(shape=(6,))
    head = lamina.Model(head_in, layers.Dense(2, name="head_dense")(head_in), name="head")
    inputs = lamina.Input(shape=(4,))
    outputs = head(encoder(inputs))
    model = lamina.Model(inputs, outputs)
    assert [layer.name for layer in model.layers] == [inputs.node.layer.name, "encoder", "head"]
    x = torch.randn(7, 4)
    enc, dense = encoder.get_layer("enc_dense"), head.get_layer("head_dense")
    expected = F.linear(torch.tanh(F.linear(x, enc.kernel, enc.bias)), dense.kernel, dense.bias)
    torch.testing.assert_close(model(x), expected)

    before = enc.kernel.detach().clone()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x.numpy(), np.ones((7, 2), "float32"), epochs=1, verbose=0)
    assert not torch.equal(before, enc.kernel.detach())


def test_functional_feature_extractor_shares_trained_weights():
    inputs = lamina.Input(shape=(4,))
    hidden = layers.Dense(5, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(1, name="out")(hidden)
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(2).normal(size=(32, 4)).astype("float32")
    model.fit(x, x.sum(axis=1, keepdims=True), epochs=2, verbose=0)

    features = lamina.Model(inputs, hidden)
    assert features.get_layer("hidden") is model.get_layer("hidden")
    assert features.output_names == ["hidden"]
    layer = model.get_layer("hidden")
    xt = torch.from_numpy(x)
    torch.testing.assert_close(features(xt), torch.relu(F.linear(xt, layer.kernel, layer.bias)))
    np.testing.assert_allclose(
        features.predict(x, verbose=0), torch.relu(F.linear(xt, layer.kernel, layer.bias)).detach().numpy(),
        rtol=1e-5, atol=1e-6,
    )


def test_functional_passes_training_flag_to_layers():
    inputs = lamina.Input(shape=(100,))
    outputs = layers.Dropout(0.5)(inputs)
    model = lamina.Model(inputs, outputs)
    x = torch.ones(2, 100)
    torch.testing.assert_close(model(x, training=False), x)
    dropped = model(x, training=True)
    assert (dropped == 0).any() and (dropped == 2).any()
    # A `training=` fixed at graph construction wins over the call's flag.
    always = lamina.Model(inputs, layers.Dropout(0.5)(inputs, training=True))
    assert (always(x, training=False) == 0).any()


def test_functional_shape_error_at_graph_construction():
    inputs = lamina.Input(shape=(64,))
    encoder = layers.Dense(16, name="encoder")
    encoder(inputs)
    other = lamina.Input(shape=(32,))
    with pytest.raises(ValueError, match=r"layer 'encoder' \(Dense\).*\(None, 64\).*\(None, 32\)"):
        encoder(other)


def test_functional_graph_errors():
    a = lamina.Input(shape=(3,), name="a")
    b = lamina.Input(shape=(3,), name="b")
    out = layers.Add()([a, b])
    with pytest.raises(ValueError, match=r"Graph disconnected: .* input 'b', which is not in .*\['a'\]"):
        lamina.Model(a, out)
    with pytest.raises(TypeError, match=r"expects `outputs` to hold symbolic tensors.*Received: Tensor"):
        lamina.Model(a, torch.zeros(1, 3))
    hidden = layers.Dense(2)(a)
    with pytest.raises(ValueError, match=r"every entry of `inputs` to come from `lamina.Input"):
        lamina.Model(hidden, layers.Dense(1)(hidden))
    first = layers.Dense(2, name="twin")(a)
    second = layers.Dense(2, name="twin")(first)
    with pytest.raises(ValueError, match=r"unique names\. The name 'twin' is used by two different layers"):
        lamina.Model(a, second)


def test_functional_get_layer_by_name_and_index_with_clear_errors():
    model = _two_input_model()
    assert model.get_layer("reg").units == 1
    assert model.get_layer(index=0).name == "a"
    assert model.get_layer(index=-1).name == "reg"
    with pytest.raises(ValueError, match=r"No layer named 'nope'.*Available layers: \['a', 'b', 'h', 'g'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match=r"`index` to be an integer in \[-8, 8\).*Received: index=8"):
        model.get_layer(index=8)
    with pytest.raises(ValueError, match=r"either `name` or `index`, not both"):
        model.get_layer("reg", index=1)
    with pytest.raises(ValueError, match=r"expects a layer `name` or an `index`"):
        model.get_layer()


def test_sequential_and_subclassed_get_layer():
    seq = lamina.Sequential([lamina.Input(shape=(3,)), layers.Dense(2, name="d1"), layers.Dense(1, name="d2")])
    assert seq.get_layer("d2") is seq.layers[1]
    assert seq.get_layer(index=0).name == "d1"

    class Net(lamina.Model):
        def __init__(self) -> None:
            super().__init__()
            self.body = layers.Dense(2, name="body")

        def call(self, inputs, training=None):
            return self.body(inputs)

    net = Net()
    assert net.get_layer("body") is net.body
    with pytest.raises(ValueError, match=r"Available layers: \['body'\]"):
        net.get_layer("head")


def test_functional_config_round_trip_predicts_identically():
    model = _two_input_model()
    config = json.loads(json.dumps(model.get_config()))
    assert [entry["name"] for entry in config["layers"]] == ["a", "b", "h", "g", "merge", "join", "cls", "reg"]
    rebuilt = lamina.Model.from_config(config)
    assert isinstance(rebuilt, Functional)
    assert rebuilt.name == "two_heads"
    assert rebuilt.output_names == ["cls", "reg"]
    rebuilt.load_state_dict(model.state_dict())
    a, b = torch.randn(5, 6), torch.randn(5, 4)
    for key in ("cls", "reg"):
        torch.testing.assert_close(rebuilt([a, b])[key], model([a, b])[key])


def test_functional_config_round_trip_with_shared_and_nested_layers():
    inner_in = lamina.Input(shape=(4,), name="inner_in")
    inner = lamina.Model(inner_in, layers.Dense(3, activation="relu", name="inner_dense")(inner_in), name="inner")
    stack = lamina.Sequential([layers.Dense(2, name="stack_dense")], name="stack")
    x1 = lamina.Input(shape=(4,), name="x1")
    x2 = lamina.Input(shape=(4,), name="x2")
    shared = layers.Dense(4, name="shared")
    merged = layers.Concatenate(name="cat")([inner(shared(x1)), inner(shared(x2))])
    model = lamina.Model({"x1": x1, "x2": x2}, [stack(merged), merged], name="siamese")
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = Functional.from_config(config)
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    assert rebuilt.input_names == ["x1", "x2"]
    rebuilt.load_state_dict(model.state_dict())
    data = {"x1": torch.randn(3, 4), "x2": torch.randn(3, 4)}
    for got, want in zip(rebuilt(data), model(data)):
        torch.testing.assert_close(got, want)


def test_sequential_config_round_trip_predicts_identically():
    model = lamina.Sequential(
        [lamina.Input(shape=(5,), name="features"), layers.Dense(4, activation="relu"), layers.Dropout(0.1),
         layers.Dense(2)],
        name="mlp",
    )
    config = json.loads(json.dumps(model.get_config()))
    assert [entry["class_name"] for entry in config["layers"]] == ["Dense", "Dropout", "Dense"]
    assert config["input"]["shape"] == [5]
    rebuilt = lamina.Sequential.from_config(config)
    assert rebuilt.built and rebuilt.name == "mlp"
    rebuilt.load_state_dict(model.state_dict())
    model.eval()
    rebuilt.eval()
    x = torch.randn(6, 5)
    torch.testing.assert_close(rebuilt(x), model(x))


def test_sequential_config_records_the_build_shape_without_input():
    model = lamina.Sequential([layers.Dense(3), layers.Dense(1)])
    model.build((None, 7))
    config = json.loads(json.dumps(model.get_config()))
    assert config["build_input_shape"] == [None, 7]
    rebuilt = lamina.Sequential.from_config(config)
    assert rebuilt.count_params() == model.count_params() == 7 * 3 + 3 + 3 + 1


def test_config_of_plain_torch_module_is_refused_clearly():
    model = lamina.Sequential([lamina.Input(shape=(3,)), torch.nn.Linear(3, 2)])
    with pytest.raises(ValueError, match=r"Cannot write the config of Linear \(a plain torch.nn.Module\)"):
        model.get_config()


def test_from_config_unknown_class_is_refused():
    model = _two_input_model()
    config = model.get_config()
    config["layers"][2]["class_name"] = "Mystery"
    with pytest.raises(ValueError, match=r"Unknown class 'Mystery'"):
        Functional.from_config(config)


def test_functional_adjusts_input_rank_by_a_trailing_one_as_keras():
    images = lamina.Input(shape=(4, 4, 1))
    model = lamina.Model(images, layers.Flatten()(images))
    x = np.arange(32, dtype="float32").reshape(2, 4, 4)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.reshape(2, 16))  # (b, 4, 4) gets the axis
    vec = lamina.Input(shape=(3,))
    model = lamina.Model(vec, layers.Dense(1, kernel_initializer="ones")(vec))
    out = model(torch.ones(2, 3, 1))  # a trailing 1 too many is squeezed
    np.testing.assert_array_equal(out.detach().numpy(), [[3.0], [3.0]])
    with pytest.raises(ValueError, match=r"expects shape \(None, 3\).*Received: input with shape \(None, 3, 2\)"):
        model(torch.ones(2, 3, 2))
    with pytest.raises(ValueError, match=r"expects shape \(None, 4, 4, 1\).*Received: input with shape \(None, 4\)"):
        lamina.Model(images, layers.Flatten()(images))(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"expects shape \(None, 4, 4, 1\).*Received: input with shape \(None, 5, 5\)\."):
        lamina.Model(images, layers.Flatten()(images))(torch.ones(2, 5, 5))  # the data's own shape
