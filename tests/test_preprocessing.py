"""Numeric and categorical preprocessing layers: Normalization, Rescaling,
StringLookup, IntegerLookup, CategoryEncoding, Discretization, Hashing."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import layers
from lamina.layers.preprocessing import stable_hash
from tests.layer_test_utils import run_layer_test

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------- Normalization
def test_normalization_contract_with_given_statistics():
    layer = run_layer_test(
        layers.Normalization,
        {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]},
        (4, 3),
        (4, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=2,
        run_training_step=False,
    )
    x = torch.randn(4, 3)
    expected = (x - torch.tensor([1.0, 2.0, 3.0])) / torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(layer(x), expected)
    assert layer.get_config()["mean"] == [1.0, 2.0, 3.0]


def test_normalization_adapt_matches_numpy_and_standard_scaler():
    x = RNG.normal(size=(200, 4)) * np.array([1.0, 10.0, 0.1, 3.0]) + np.array([5.0, -2.0, 0.0, 7.0])
    layer = layers.Normalization()
    layer.adapt(x)
    np.testing.assert_allclose(layer.mean.numpy(), x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), x.var(axis=0), rtol=1e-5)  # population variance
    out = layer(torch.tensor(x, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(out, StandardScaler().fit_transform(x), atol=1e-4)
    assert int(layer.count) == 200


def test_normalization_adapt_in_batches_equals_adapt_at_once():
    x = RNG.normal(size=(103, 3)) * 4 + 1
    whole, batched, loader = layers.Normalization(), layers.Normalization(), layers.Normalization()
    whole.adapt(x)
    batched.adapt(x, batch_size=10)
    loader.adapt(torch.utils.data.DataLoader(torch.tensor(x), batch_size=16))
    for other in (batched, loader):
        torch.testing.assert_close(other.mean, whole.mean)
        torch.testing.assert_close(other.variance, whole.variance)


def test_normalization_axis_none_and_middle_axis_match_numpy():
    x = RNG.normal(size=(20, 3, 2)) * 2 + 1
    scalar = layers.Normalization(axis=None)
    scalar.adapt(x)
    np.testing.assert_allclose(scalar(torch.tensor(x)).numpy(), (x - x.mean()) / x.std(), atol=1e-5)
    per_row = layers.Normalization(axis=1)
    per_row.adapt(x)
    mean, std = x.mean(axis=(0, 2), keepdims=True), x.std(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(per_row(torch.tensor(x)).numpy(), (x - mean) / std, atol=1e-5)
    assert tuple(per_row.mean.shape) == (3,)


def test_normalization_invert_undoes_normalization():
    x = torch.randn(5, 2) * 3 + 4
    forward = layers.Normalization(mean=[4.0, 4.0], variance=[9.0, 1.0])
    back = layers.Normalization(mean=[4.0, 4.0], variance=[9.0, 1.0], invert=True)
    torch.testing.assert_close(back(forward(x)), x)


def test_normalization_before_adapt_raises():
    layer = layers.Normalization()
    with pytest.raises(ValueError, match=r"call adapt\(\.\.\.\) first or pass mean= and variance="):
        layer(torch.ones(2, 3))


def test_normalization_statistics_travel_in_state_dict_and_model_file(tmp_path):
    x = RNG.normal(size=(50, 3)) * 5 + 2
    layer = layers.Normalization()
    layer.adapt(x)
    clone = layers.Normalization.from_config(layer.get_config())
    clone.build_from_shape((None, 3))
    clone.load_state_dict(layer.state_dict())
    xt = torch.tensor(x, dtype=torch.float32)
    torch.testing.assert_close(clone(xt), layer(xt))

    # Built before adapt (the shape-inference batch passes), adapted, saved and reloaded.
    norm = layers.Normalization()
    model = lamina.Sequential([lamina.Input(shape=(3,)), norm, layers.Dense(2)])
    norm.adapt(x)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_normalization_after_rescaling_builds_before_adapt():
    norm = layers.Normalization()
    model = lamina.Sequential([lamina.Input(shape=(2,)), layers.Rescaling(0.5), norm])
    x = RNG.normal(size=(30, 2)) * 3 + 1
    norm.adapt(x * 0.5)
    np.testing.assert_allclose(model.predict(x, verbose=0), StandardScaler().fit_transform(x), atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mean": [1.0]}, "`mean` and `variance` to be given together"),
        ({"axis": 0}, "not the batch axis 0"),
        ({"axis": "x"}, "expects `axis` to be an integer"),
        ({"mean": "high", "variance": 1.0}, "expects `mean` to be a number or an array of numbers"),
    ],
)
def test_normalization_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Normalization(**kwargs)


def test_normalization_adapt_errors():
    with pytest.raises(ValueError, match="cannot be used when `mean` and `variance` were given"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((3, 2)))
    layer = layers.Normalization()
    layer.adapt(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"built for inputs of shape \(None, 2\)"):
        layer.adapt(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"Received: mean with shape \(3,\)"):
        layers.Normalization(mean=[1.0, 2.0, 3.0], variance=1.0)(torch.ones(2, 2))


# ---------------------------------------------------------------------- Rescaling
def test_rescaling_contract_and_values():
    layer = run_layer_test(layers.Rescaling, {"scale": 0.5, "offset": -1.0}, (2, 3), (2, 3), run_training_step=False)
    x = torch.randn(2, 3)
    torch.testing.assert_close(layer(x), x * 0.5 - 1.0)
    per_channel = layers.Rescaling(scale=[1.0, 2.0], offset=[0.0, 1.0])
    img = torch.arange(8, dtype=torch.uint8).reshape(1, 2, 2, 2)
    expected = img.float() * torch.tensor([1.0, 2.0]) + torch.tensor([0.0, 1.0])
    torch.testing.assert_close(per_channel(img), expected)
    assert json.loads(json.dumps(per_channel.get_config()))["scale"] == [1.0, 2.0]
    with pytest.raises(ValueError, match="expects `scale` to be a number"):
        layers.Rescaling("big")


# ---------------------------------------------------------------------- StringLookup
def test_string_lookup_contract_and_int_mode():
    data = np.array([["a", "b"], ["z", "a"], ["c", "c"]])
    layer = run_layer_test(
        layers.StringLookup, {"vocabulary": ["a", "b", "c"]}, (3, 2), (3, 2),
        input_data=data, run_training_step=False,
    )
    index = {"a": 1, "b": 2, "c": 3}
    expected = np.vectorize(lambda t: index.get(t, 0))(data)
    np.testing.assert_array_equal(layer(data).numpy(), expected)
    assert layer(data).dtype == torch.int64
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"] and layer.vocabulary_size() == 4


def test_string_lookup_adapt_orders_by_frequency_then_first_appearance():
    layer = layers.StringLookup()
    layer.adapt(["b", "a", "c", "a", "b", "d", "[UNK]"])
    assert layer.get_vocabulary() == ["[UNK]", "b", "a", "c", "d"]
    small = layers.StringLookup(max_tokens=3, mask_token="")
    small.adapt(np.array(["x", "y", "y", "", "z", "x", "y"]))
    assert small.get_vocabulary() == ["", "[UNK]", "y"]
    np.testing.assert_array_equal(small(["y", "", "x"]).numpy(), [2, 0, 1])


def test_string_lookup_encodings_match_numpy():
    vocab = ["a", "b", "c"]
    data = np.array([["a", "b"], ["c", "c"], ["z", "a"]])
    ids = np.vectorize({"a": 1, "b": 2, "c": 3}.get)(np.where(np.isin(data, vocab), data, "a"))
    ids = np.where(np.isin(data, vocab), ids, 0)
    counts = np.stack([np.bincount(row, minlength=4) for row in ids]).astype(np.float32)
    count = layers.StringLookup(vocabulary=vocab, output_mode="count")(data)
    np.testing.assert_array_equal(count.numpy(), counts)
    multi = layers.StringLookup(vocabulary=vocab, output_mode="multi_hot")(data)
    np.testing.assert_array_equal(multi.numpy(), (counts > 0).astype(np.float32))
    one = layers.StringLookup(vocabulary=vocab, output_mode="one_hot")(np.array(["b", "z"]))
    np.testing.assert_array_equal(one.numpy(), np.eye(4, dtype=np.float32)[[2, 0]])
    padded = layers.StringLookup(vocabulary=vocab, output_mode="multi_hot", max_tokens=6, pad_to_max_tokens=True)
    assert tuple(padded(data).shape) == (3, 6)


def test_string_lookup_tf_idf_matches_formula():
    docs = np.array([["a", "b"], ["a", "a"], ["c", "a"]])
    layer = layers.StringLookup(output_mode="tf_idf")
    layer.adapt(docs)
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]
    doc_freq = np.array([3, 1, 1])
    idf = np.log(1 + 3 / (1 + doc_freq))
    full_idf = np.concatenate([[idf.mean()], idf])
    out = layer(np.array([["a", "a"], ["c", "zz"]])).numpy()
    expected = np.array([[0, 2 * idf[0], 0, 0], [full_idf[0], 0, 0, idf[2]]], dtype=np.float32)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    clone = layers.StringLookup.from_config(layer.get_config())
    np.testing.assert_allclose(clone(docs).numpy(), layer(docs).numpy())


def test_string_lookup_mask_invert_and_oov_buckets():
    masked = layers.StringLookup(vocabulary=["a", "b"], mask_token="")
    assert masked.get_vocabulary() == ["", "[UNK]", "a", "b"]
    np.testing.assert_array_equal(masked(["", "b", "q"]).numpy(), [0, 3, 1])
    dropped = layers.StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="multi_hot")
    np.testing.assert_array_equal(dropped([["", "b"]]).numpy(), [[0.0, 0.0, 1.0]])

    inverse = layers.StringLookup(vocabulary=["a", "b"], invert=True)
    np.testing.assert_array_equal(inverse(torch.tensor([[1, 2], [0, 7]])), [["a", "b"], ["[UNK]", "[UNK]"]])

    buckets = layers.StringLookup(vocabulary=["a"], num_oov_indices=3)
    unknown = ["x", "yy", "zzz", "w"]
    expected = [stable_hash.hash_string(t) % 3 for t in unknown]
    np.testing.assert_array_equal(buckets(unknown).numpy(), expected)
    assert buckets(["a"]).tolist() == [3]


def test_string_lookup_errors():
    with pytest.raises(ValueError, match="num_oov_indices=0, so every input must be in the vocabulary"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "b"])
    with pytest.raises(ValueError, match="reserved token '\\[UNK\\]'"):
        layers.StringLookup(vocabulary=["a", "[UNK]"])
    with pytest.raises(ValueError, match="unique vocabulary entries. Received: 'a'"):
        layers.StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="`invert=True` only with output_mode='int'"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(RuntimeError, match="needs its vocabulary to know its output width"):
        layers.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(TypeError, match="expects strings"):
        layers.StringLookup(vocabulary=["a"])(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="needs `idf_weights`"):
        layers.StringLookup(vocabulary=["a"], output_mode="tf_idf")


# ---------------------------------------------------------------------- IntegerLookup
def test_integer_lookup_contract_and_values():
    layer = run_layer_test(
        layers.IntegerLookup, {"vocabulary": [3, 1, 4]}, (4, 2), (4, 2),
        input_dtype=torch.int64, run_training_step=False,
    )
    x = torch.tensor([[3, 7], [4, 1], [-5, 3]])
    index = {3: 1, 1: 2, 4: 3}
    expected = np.vectorize(lambda v: index.get(v, 0))(x.numpy())
    np.testing.assert_array_equal(layer(x).numpy(), expected)
    assert layer.get_vocabulary() == [-1, 3, 1, 4]


def test_integer_lookup_adapt_modes_mask_and_invert():
    assert layers.IntegerLookup(mask_token=0)(torch.tensor([0, 4])).tolist() == [0, 1]  # no vocabulary yet
    layer = layers.IntegerLookup(mask_token=0)
    layer.adapt(np.array([5, 9, 9, 0, 5, 5, 2]))
    assert layer.get_vocabulary() == [0, -1, 5, 9, 2]
    np.testing.assert_array_equal(layer(torch.tensor([0, 5, 9, 8])).numpy(), [0, 2, 3, 1])
    inverse = layers.IntegerLookup(vocabulary=[5, 9], invert=True)
    np.testing.assert_array_equal(inverse(torch.tensor([2, 1, 0, 99])).numpy(), [9, 5, -1, -1])
    count = layers.IntegerLookup(vocabulary=[5, 9], output_mode="count")(torch.tensor([[5, 5, 7], [9, 9, 9]]))
    np.testing.assert_array_equal(count.numpy(), [[1, 2, 0], [0, 0, 3]])
    buckets = layers.IntegerLookup(vocabulary=[1], num_oov_indices=4)
    values = [10, -3, 12345, 77]
    expected = [stable_hash.hash_int(v) % 4 for v in values]
    np.testing.assert_array_equal(buckets(torch.tensor(values)).numpy(), expected)
    with pytest.raises(TypeError, match="expects integer inputs"):
        layers.IntegerLookup(vocabulary=[1])(torch.tensor([1.5]))


def test_lookup_layers_symbolic_output_spec():
    inp = lamina.Input(shape=(3,), dtype="int64")
    assert layers.IntegerLookup(vocabulary=[1, 2], output_mode="multi_hot")(inp).shape == (None, 3)
    text = lamina.Input(shape=(2,), dtype="string")
    out = layers.StringLookup(vocabulary=["a"])(text)
    assert out.shape == (None, 2) and out.dtype == torch.int64


# ---------------------------------------------------------------------- CategoryEncoding
@pytest.mark.parametrize(
    "mode, input_shape, output_shape",
    [("multi_hot", (3, 2), (3, 5)), ("count", (3, 4), (3, 5)), ("one_hot", (3, 1), (3, 5)), ("one_hot", (3,), (3, 5))],
)
def test_category_encoding_contract(mode, input_shape, output_shape):
    run_layer_test(
        layers.CategoryEncoding, {"num_tokens": 5, "output_mode": mode}, input_shape, output_shape,
        input_dtype=torch.int64, run_training_step=False,
    )


def test_category_encoding_matches_numpy():
    x = np.array([[0, 1, 1], [4, 4, 4], [2, 0, 3]])
    count = layers.CategoryEncoding(5, output_mode="count")(torch.tensor(x)).numpy()
    expected = np.stack([np.bincount(r, minlength=5) for r in x]).astype(np.float32)
    np.testing.assert_array_equal(count, expected)
    multi = layers.CategoryEncoding(5)(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(multi, (expected > 0).astype(np.float32))
    one = layers.CategoryEncoding(5, output_mode="one_hot")(torch.tensor([3, 0])).numpy()
    np.testing.assert_array_equal(one, np.eye(5, dtype=np.float32)[[3, 0]])
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    weighted = layers.CategoryEncoding(5, output_mode="count")(torch.tensor(x), count_weights=weights)
    assert weighted[0].tolist() == [0.5, 3.0, 0.0, 0.0, 0.0]


def test_category_encoding_errors():
    with pytest.raises(ValueError, match=r"input values in \[0, num_tokens\) with num_tokens=3. Received: values from 0 to 3"):
        layers.CategoryEncoding(3)(torch.tensor([[0, 3]]))
    with pytest.raises(ValueError, match="uses `count_weights` only with output_mode='count'"):
        layers.CategoryEncoding(3)(torch.tensor([[0]]), count_weights=torch.ones(1, 1))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch,\) or \(batch, n\)"):
        layers.CategoryEncoding(3)(torch.zeros(2, 2, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="expects `num_tokens` to be a positive integer"):
        layers.CategoryEncoding(0)


# ---------------------------------------------------------------------- Discretization
def test_discretization_contract_and_matches_numpy_digitize():
    bins = [-1.0, 0.0, 0.5, 2.0]
    layer = run_layer_test(
        layers.Discretization, {"bin_boundaries": bins}, (4, 3), (4, 3), run_training_step=False
    )
    x = torch.tensor([[-1.5, -1.0, 0.0, 0.25, 0.5, 2.0, 7.0]])
    np.testing.assert_array_equal(layer(x).numpy(), np.digitize(x.numpy(), bins))
    one = layers.Discretization(bin_boundaries=bins, output_mode="one_hot")(torch.tensor([0.3, 9.0]))
    np.testing.assert_array_equal(one.numpy(), np.eye(5, dtype=np.float32)[np.digitize([0.3, 9.0], bins)])


def test_discretization_adapt_uses_quantiles():
    data = RNG.normal(size=1000)
    layer = layers.Discretization(num_bins=4)
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, np.quantile(data, [0.25, 0.5, 0.75]))
    counts = np.bincount(layer(torch.tensor(data)).numpy(), minlength=4)
    assert counts.tolist() == [250, 250, 250, 250]
    clone = layers.Discretization.from_config(layer.get_config())
    assert clone.bin_boundaries == layer.bin_boundaries


def test_discretization_errors():
    with pytest.raises(ValueError, match="needs `bin_boundaries`, or `num_bins`"):
        layers.Discretization()
    with pytest.raises(ValueError, match="`num_bins` to be len\\(bin_boundaries\\) \\+ 1"):
        layers.Discretization(bin_boundaries=[0.0, 1.0], num_bins=5)
    with pytest.raises(ValueError, match="to be a sorted list of numbers"):
        layers.Discretization(bin_boundaries=[1.0, 0.0])
    with pytest.raises(ValueError, match="needs `num_bins`"):
        layers.Discretization(bin_boundaries=[0.0]).adapt([1.0, 2.0])
    with pytest.raises(ValueError, match=r"no bin boundaries yet: call adapt\(data\) first"):
        layers.Discretization(num_bins=3)(torch.ones(2, 1))


# ---------------------------------------------------------------------- Hashing
_REFERENCE_SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("stable_hash", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
words = ["cat", "dog", "héllo", "", "the quick brown fox"]
print(json.dumps({
    "str": [mod.hash_string(w) % 7 for w in words],
    "salted": [mod.hash_string(w, 42) % 7 for w in words],
    "int": [mod.hash_int(v) % 7 for v in [0, 1, -1, 2**40, 123456789]],
}))
"""


def test_hashing_is_stable_across_processes():
    words = ["cat", "dog", "héllo", "", "the quick brown fox"]
    ints = [0, 1, -1, 2**40, 123456789]
    here = {
        "str": layers.Hashing(7)(words).tolist(),
        "salted": layers.Hashing(7, salt=42)(words).tolist(),
        "int": layers.Hashing(7)(torch.tensor(ints)).tolist(),
    }
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [sys.executable, "-c", _REFERENCE_SCRIPT, stable_hash.__file__],
            capture_output=True, text=True, env=env, check=True,
        )
        outputs.append(json.loads(proc.stdout))
    assert outputs[0] == outputs[1] == here
    assert here["str"] != here["salted"]


def test_hashing_contract_range_mask_and_modes():
    layer = run_layer_test(
        layers.Hashing, {"num_bins": 5, "salt": [1, 2]}, (6, 2), (6, 2),
        input_dtype=torch.int64, run_training_step=False,
    )
    x = torch.randint(-10**6, 10**6, (1000,))
    out = layer(x)
    assert out.dtype == torch.int64 and int(out.min()) >= 0 and int(out.max()) < 5
    assert len(torch.unique(out)) == 5  # all bins used
    masked = layers.Hashing(4, mask_value="")
    bins = masked(["", "a", "b", ""]).tolist()
    assert bins[0] == bins[3] == 0 and all(1 <= b < 4 for b in bins[1:3])
    assert bins[1] == 1 + stable_hash.hash_string("a") % 3
    multi = layers.Hashing(4, output_mode="multi_hot")([["a", "b"], ["a", "a"]])
    ids = layers.Hashing(4)([["a", "b"], ["a", "a"]]).numpy()
    expected = np.zeros((2, 4), dtype=np.float32)
    for r in range(2):
        expected[r, ids[r]] = 1.0
    np.testing.assert_array_equal(multi.numpy(), expected)
    with pytest.raises(ValueError, match="expects `salt` to be None, an integer or a pair"):
        layers.Hashing(3, salt="x")
    with pytest.raises(TypeError, match="expects integer inputs"):
        layers.Hashing(3)(torch.tensor([0.5]))
