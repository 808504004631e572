"""TextVectorization on a hand-checked tiny corpus (every output mode, n-grams,
sequence padding/truncation, tf-idf against the formula), string inputs in
Sequential / functional models through fit, predict and save/load."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving import registry

CORPUS = ["The cat sat.", "The dog sat!", "A cat, a dog; the end"]
# Standardised: "the cat sat" / "the dog sat" / "a cat a dog the end".
# Counts: the 3; cat, sat, dog, a 2 (ties in order of first appearance); end 1.
INT_VOCAB = ["", "[UNK]", "the", "cat", "sat", "dog", "a", "end"]
BAG_VOCAB = ["[UNK]", "the", "cat", "sat", "dog", "a", "end"]


def _adapted(**kwargs):
    layer = layers.TextVectorization(**kwargs)
    layer.adapt(CORPUS)
    return layer


def test_text_vectorization_vocabulary_by_frequency_then_first_appearance():
    layer = _adapted()
    assert layer.get_vocabulary() == INT_VOCAB
    assert layer.vocabulary_size() == 8
    assert layer.get_vocabulary(include_special_tokens=False) == INT_VOCAB[2:]
    assert _adapted(output_mode="count").get_vocabulary() == BAG_VOCAB
    assert _adapted(max_tokens=4).get_vocabulary() == ["", "[UNK]", "the", "cat"]


def test_text_vectorization_int_mode_pads_to_longest_or_to_output_sequence_length():
    layer = _adapted()
    out = layer(["the cat ate", "DOG"])
    assert out.dtype == torch.int64
    assert out.tolist() == [[2, 3, 1], [5, 0, 0]]
    assert _adapted(output_sequence_length=2)(["the cat ate", "dog"]).tolist() == [[2, 3], [5, 0]]
    assert _adapted(output_sequence_length=5)(np.array([["the cat ate"], ["dog"]])).tolist() == [
        [2, 3, 1, 0, 0],
        [5, 0, 0, 0, 0],
    ]


def test_text_vectorization_multi_hot_and_count():
    texts = np.array(["the cat ate the", "end end"])
    multi = _adapted(output_mode="multi_hot")(texts)
    count = _adapted(output_mode="count")(texts)
    assert multi.dtype == torch.float32 and tuple(multi.shape) == (2, 7)
    assert multi.tolist() == [[1, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1]]
    assert count.tolist() == [[1, 2, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 2]]
    padded = _adapted(output_mode="multi_hot", max_tokens=10, pad_to_max_tokens=True)(texts)
    assert tuple(padded.shape) == (2, 10) and padded[:, 7:].sum() == 0


def test_text_vectorization_tf_idf_matches_keras_formula():
    layer = _adapted(output_mode="tf_idf")
    doc_freq = np.array([3, 2, 2, 2, 1, 1])  # the, cat, sat, dog, a, end
    idf = np.log(1 + 3 / (1 + doc_freq))
    idf = np.concatenate([[idf.mean()], idf])  # OOV weight: the mean idf
    counts = np.array([[1, 2, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1, 2]], dtype=np.float64)
    out = layer(["the cat ate the", "a end end"]).numpy()
    np.testing.assert_allclose(out, counts * idf, rtol=1e-6)
    config = layer.get_config()
    np.testing.assert_allclose(config["idf_weights"], idf, rtol=1e-6)
    clone = layers.TextVectorization.from_config(config)
    np.testing.assert_allclose(clone(["the cat ate the"]).numpy(), out[:1], rtol=1e-6)


def test_text_vectorization_bigrams():
    layer = layers.TextVectorization(ngrams=2)
    layer.adapt(["a b a b"])
    # Unigrams a, b, a, b then bigrams "a b", "b a", "a b": a 2, b 2, "a b" 2, "b a" 1.
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "a b", "b a"]
    # "a b c" -> a, b, c, "a b", "b c"
    assert layer(["a b c"]).tolist() == [[2, 3, 1, 4, 1]]
    only_bigrams = layers.TextVectorization(ngrams=(2,), vocabulary=["a b", "b c"], output_mode="count")
    assert only_bigrams(["a b c a b"]).tolist() == [[1.0, 2.0, 1.0]]  # "a b" twice, "b c", OOV "c a"


def test_text_vectorization_standardize_and_split_options():
    text = ["Hi, THERE friend!"]
    lower = layers.TextVectorization(standardize="lower", vocabulary=["hi,", "there"])
    assert lower(text).tolist() == [[2, 3, 1]]
    strip = layers.TextVectorization(standardize="strip_punctuation", vocabulary=["Hi", "THERE"])
    assert strip(text).tolist() == [[2, 3, 1]]
    whole = layers.TextVectorization(standardize=None, split=None, vocabulary=["Hi, THERE friend!"])
    assert whole(text + ["other"]).tolist() == [[2], [1]]
    chars = layers.TextVectorization(split="character", vocabulary=["a", "b"])
    assert chars(["abca"]).tolist() == [[2, 3, 1, 2]]

    def halves(s):
        return [s[: len(s) // 2], s[len(s) // 2 :]]

    custom = layers.TextVectorization(standardize=str.upper, split=halves, vocabulary=["AB", "CD"])
    assert custom(["abcd", "cdab"]).tolist() == [[2, 3], [3, 2]]


def test_text_vectorization_config_round_trip_and_registered_callables():
    layer = _adapted(output_mode="count", ngrams=2, max_tokens=20)
    config = json.loads(json.dumps(layer.get_config()))
    clone = layers.TextVectorization.from_config(config)
    assert clone.get_config() == config
    np.testing.assert_array_equal(clone(CORPUS).numpy(), layer(CORPUS).numpy())

    def shout(s):
        return s.upper()

    with pytest.raises(ValueError, match="not registered. Decorate it with @lamina.register"):
        layers.TextVectorization(standardize=shout).get_config()
    lamina.register(shout, name="shout_for_text_test")
    try:
        config = layers.TextVectorization(standardize=shout, vocabulary=["HI"]).get_config()
        assert config["standardize"] == "shout_for_text_test"
        assert layers.TextVectorization.from_config(config)(["hi"]).tolist() == [[2]]
    finally:
        registry.unregister("shout_for_text_test")


def test_text_vectorization_set_vocabulary_with_idf():
    layer = layers.TextVectorization(output_mode="tf_idf")
    layer.set_vocabulary(["x", "y"], idf_weights=[0.5, 2.0])
    assert layer.get_vocabulary() == ["[UNK]", "x", "y"] and layer.vocabulary_size() == 3
    assert layer(["y y z"]).tolist() == [[1.25, 0.0, 4.0]]  # OOV weight: mean(0.5, 2.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"output_mode": "multi_hot", "output_sequence_length": 4}, ValueError,
         "uses `output_sequence_length` only with output_mode='int'"),
        ({"ngrams": 0}, ValueError, "expects `ngrams` to be None, a positive integer"),
        ({"standardize": "upper"}, ValueError, "expects `standardize` to be one of 'lower_and_strip_punctuation'"),
        ({"output_mode": "one_hot"}, ValueError, "expects `output_mode` to be one of 'int', 'multi_hot'"),
        ({"output_mode": "count", "pad_to_max_tokens": True}, ValueError,
         "`TextVectorization` uses `pad_to_max_tokens=True` only with `max_tokens` set"),
        ({"max_tokens": 2}, ValueError, "`TextVectorization` expects `max_tokens` to leave room"),
    ],
)
def test_text_vectorization_bad_arguments_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        layers.TextVectorization(**kwargs)


def test_text_vectorization_bad_inputs_raise():
    with pytest.raises(RuntimeError, match=r"call `adapt\(data\)` first"):
        layers.TextVectorization(output_mode="multi_hot")(["a b"])
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 1\). Received: an array of shape \(2, 2\)"):
        _adapted()(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(TypeError, match="expects strings"):
        _adapted()(torch.ones(2, 1))
    with pytest.raises(TypeError, match=r"Received: a single string 'a b'. Wrap it in a list"):
        _adapted()("a b")


# ---------------------------------------------------------------------- in models
POSITIVE = ["good movie", "great film", "loved it", "wonderful acting", "great fun", "good story",
            "really good", "loved the film"]
NEGATIVE = ["bad movie", "awful film", "hated it", "terrible acting", "boring mess", "bad story",
            "really bad", "hated the film"]


def _sentiment():
    texts = np.array(POSITIVE + NEGATIVE)
    labels = np.array([1] * len(POSITIVE) + [0] * len(NEGATIVE))
    return texts, labels


def test_sequential_with_text_vectorization_fits_and_predicts_on_string_arrays():
    lamina.set_seed(0)
    texts, labels = _sentiment()
    vectorizer = layers.TextVectorization(output_mode="multi_hot", max_tokens=30)
    vectorizer.adapt(texts)
    dense = layers.Dense(2, activation="softmax")
    model = lamina.Sequential([vectorizer, dense])
    model.compile(lamina.optimizers.Adam(learning_rate=0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(texts, labels, epochs=15, batch_size=4, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    probs = model.predict(texts, verbose=0)
    assert probs.shape == (16, 2)
    reference = torch.softmax(torch.nn.functional.linear(vectorizer(texts), dense.kernel, dense.bias), -1)
    np.testing.assert_allclose(probs, reference.detach().numpy(), atol=1e-6)
    assert model.predict(np.array(["great great movie", "awful boring"]), verbose=0).argmax(1).tolist() == [1, 0]
    loss, accuracy = model.evaluate(texts, labels, verbose=0)
    assert accuracy == 1.0


def test_functional_string_input_trains_and_survives_save_and_load(tmp_path):
    lamina.set_seed(0)
    texts, labels = _sentiment()
    inputs = lamina.Input(shape=(1,), dtype="string")
    vectorizer = layers.TextVectorization(output_sequence_length=3)
    vectorizer.adapt(texts)
    ids = vectorizer(inputs)
    assert ids.shape == (None, 3) and ids.dtype == torch.int64
    x = layers.Embedding(vectorizer.vocabulary_size(), 4)(ids)
    outputs = layers.Dense(1, activation="sigmoid")(layers.Flatten()(x))
    model = lamina.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy")
    model.fit(texts[:, None], labels, epochs=2, batch_size=8, verbose=0)
    before = model.predict(texts[:, None], verbose=0)
    model.save(tmp_path / "text.lamina")
    loaded = lamina.load_model(tmp_path / "text.lamina")
    np.testing.assert_allclose(loaded.predict(texts[:, None], verbose=0), before, atol=1e-6)
    assert loaded.layers[1].get_vocabulary() == vectorizer.get_vocabulary()


def test_sequential_with_string_input_builds_before_fit():
    texts, labels = _sentiment()
    vectorizer = layers.TextVectorization(output_mode="count")
    vectorizer.adapt(texts)
    model = lamina.Sequential([lamina.Input(shape=(1,), dtype="string"), vectorizer, layers.Dense(1)])
    assert model.count_params() == vectorizer.vocabulary_size() + 1
    assert model.predict(texts[:3, None], verbose=0).shape == (3, 1)
    lines = []
    model.summary(print_fn=lines.append)
    assert f"(None, {vectorizer.vocabulary_size()})" in lines[0]


def test_data_adapter_keeps_string_errors_for_targets_and_numeric_models():
    texts, labels = _sentiment()
    vectorizer = layers.TextVectorization(output_mode="multi_hot")
    vectorizer.adapt(texts)
    model = lamina.Sequential([vectorizer, layers.Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(TypeError, match=r"`y` must hold numbers; received an array of dtype <U\d+"):
        model.fit(texts, texts, verbose=0)
    numeric = lamina.Sequential([layers.Dense(1)])
    numeric.compile("adam", "mse")
    with pytest.raises(TypeError, match=r"`x` must hold numbers; received an array of dtype <U\d+.*TextVectorization"):
        numeric.fit(texts[:, None], labels, verbose=0)
    with pytest.raises(TypeError, match="`x` must hold numbers; received an array of dtype object"):
        numeric.fit(np.array([{"a": 1}, None], dtype=object), np.zeros(2), verbose=0)
