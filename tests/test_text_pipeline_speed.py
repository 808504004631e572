"""TextVectorization's fast path (issue #15): scikit-learn's TF-IDF variants against
`TfidfVectorizer`, the per-string row cache (same outputs as uncached, emptied by
`adapt` / `set_vocabulary`, never stale across fits on other data), and sparse
outputs through `Dense` in `fit`."""

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

import lamina
from lamina import layers
from lamina.layers.preprocessing.text_vectorization import _standardize

# Real sentences (the opening of scikit-learn's own README and docstrings, typed here).
CORPUS = [
    "scikit-learn is a Python module for machine learning built on top of SciPy.",
    "The project was started in 2007 as a Google Summer of Code project.",
    "It is currently maintained by a team of volunteers.",
    "Convert a collection of raw documents to a matrix of TF-IDF features.",
    "Equivalent to CountVectorizer followed by TfidfTransformer.",
    "Logistic Regression classifier, also known as logit or MaxEnt.",
    "This class implements regularized logistic regression.",
    "Transform a count matrix to a normalized tf or tf-idf representation.",
    "The formula that is used to compute the tf-idf for a term t of a document d.",
    "Apply sublinear tf scaling, i.e. replace tf with 1 + log(tf).",
]
NEW_TEXTS = ["a matrix of tf-idf features for the document", "logistic regression of raw documents"]


def _standardized(text):
    # TfidfVectorizer's default token pattern drops 1-letter words and splits "tf-idf"; give
    # it Lamina's standardised text and whitespace split, so only the weighting is compared.
    return _standardize("lower_and_strip_punctuation", text)


@pytest.mark.parametrize(
    "sublinear_tf, norm, smooth_idf, ngrams",
    [
        (False, None, True, 1),
        (True, "l2", True, 2),
        (False, "l2", False, 2),
        (True, "l1", True, 1),
        (True, None, False, (1, 2)),
    ],
)
def test_tf_idf_variants_equal_sklearn_tfidf_vectorizer(sublinear_tf, norm, smooth_idf, ngrams):
    layer = layers.TextVectorization(
        output_mode="tf_idf",
        ngrams=ngrams,
        sublinear_tf=sublinear_tf,
        norm=norm,
        idf_formula="smooth" if smooth_idf else "unsmoothed",
    )
    layer.adapt(CORPUS)
    high = max(ngrams) if isinstance(ngrams, tuple) else ngrams
    reference = TfidfVectorizer(
        ngram_range=(1, high),
        sublinear_tf=sublinear_tf,
        norm=norm,
        smooth_idf=smooth_idf,
        preprocessor=_standardized,
        tokenizer=str.split,
        token_pattern=None,
        lowercase=False,
        dtype=np.float64,
    )
    reference.fit(CORPUS)
    texts = CORPUS[:4] + NEW_TEXTS
    # Map sklearn's alphabetical columns onto Lamina's frequency order (index 0: OOV).
    vocab = layer.get_vocabulary()
    assert sorted(vocab[1:]) == sorted(reference.vocabulary_)
    order = [reference.vocabulary_[t] for t in vocab[1:]]
    expected = reference.transform(texts).toarray()[:, order]
    out = layer(texts).numpy()
    # scikit-learn drops unknown terms; Lamina counts them in the OOV column (and the
    # norm), so the rows are compared where every term is known.
    known = out[:, 0] == 0
    assert known[:4].all() and known.sum() >= 4 + (high == 1) * 2
    np.testing.assert_allclose(out[known, 1:], expected[known], atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(layer.get_config()["idf_weights"])[1:], reference.idf_[order], rtol=1e-6
    )


def test_default_idf_stays_keras_formula_and_variants_round_trip_config():
    layer = layers.TextVectorization(output_mode="tf_idf")
    layer.adapt(CORPUS[:3])
    tokens = layer.get_vocabulary()[1:]
    docs = [set(_standardized(d).split()) for d in CORPUS[:3]]
    df = np.array([sum(t in d for d in docs) for t in tokens])
    np.testing.assert_allclose(
        np.asarray(layer.get_config()["idf_weights"])[1:], np.log(1 + 3 / (1 + df)), rtol=1e-6
    )
    # Without the variants the config keeps Keras's keys only.
    assert not {"sublinear_tf", "norm", "idf_formula"} & set(layer.get_config())
    assert layer.get_config()["sparse"] is False
    tuned = layers.TextVectorization(
        output_mode="tf_idf", sublinear_tf=True, norm="l2", idf_formula="smooth", sparse=True
    )
    tuned.adapt(CORPUS)
    config = tuned.get_config()
    assert (config["sublinear_tf"], config["norm"], config["idf_formula"], config["sparse"]) == (
        True,
        "l2",
        "smooth",
        True,
    )
    clone = layers.TextVectorization.from_config(config)
    np.testing.assert_allclose(
        clone(NEW_TEXTS).to_dense().numpy(), tuned(NEW_TEXTS).to_dense().numpy()
    )


def test_variant_arguments_are_checked():
    with pytest.raises(ValueError, match=r"`norm`.*Received: norm='l3'"):
        layers.TextVectorization(output_mode="tf_idf", norm="l3")
    with pytest.raises(
        ValueError, match=r"`sublinear_tf` only with output_mode.*output_mode='int'"
    ):
        layers.TextVectorization(sublinear_tf=True)
    with pytest.raises(ValueError, match=r"`idf_formula` only with output_mode"):
        layers.TextVectorization(output_mode="count", idf_formula="smooth")
    with pytest.raises(ValueError, match=r"`idf_formula`.*Received: idf_formula='bm25'"):
        layers.TextVectorization(output_mode="tf_idf", idf_formula="bm25")
    with pytest.raises(ValueError, match=r"`sparse` only with output_mode"):
        layers.TextVectorization(sparse=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(output_mode="int"),
        dict(output_mode="int", output_sequence_length=5, ngrams=2),
        dict(output_mode="multi_hot", max_tokens=12),
        dict(output_mode="count", norm="l1"),
        dict(output_mode="tf_idf", ngrams=2, sublinear_tf=True, norm="l2"),
    ],
)
def test_cached_rows_give_the_uncached_outputs(kwargs):
    cached = layers.TextVectorization(**kwargs)
    uncached = layers.TextVectorization(**kwargs)
    uncached.cache_size = 0
    cached.adapt(CORPUS)
    uncached.adapt(CORPUS)
    batches = [CORPUS[:4], CORPUS[2:7] + NEW_TEXTS, NEW_TEXTS + CORPUS[:1], CORPUS[:4]]
    for batch in batches:
        a, b = cached(np.array(batch, dtype=object)), uncached(batch)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert torch.equal(a, b)
    assert len(cached._cache.rows) == len(set(CORPUS[:7] + NEW_TEXTS))
    assert uncached._cache.rows == {}


def test_cache_is_emptied_by_adapt_and_set_vocabulary():
    layer = layers.TextVectorization(output_mode="count")
    layer.adapt(["red green", "green"])
    first = layer(["red green green blue"]).tolist()
    assert first == [[1, 2, 1]]  # [UNK] blue, green, red
    assert len(layer._cache.rows) == 1
    layer.adapt(["blue blue red", "blue"])  # new vocabulary: [UNK], blue, red
    assert layer._cache.rows == {}
    assert layer(["red green green blue"]).tolist() == [[2, 1, 1]]
    layer.set_vocabulary(["green"])
    assert layer(["red green green blue"]).tolist() == [[2, 2]]
    # A vocabulary set on the inner lookup directly is noticed too.
    layer._lookup.set_vocabulary(["blue", "green"])
    assert layer(["red green green blue"]).tolist() == [[1, 1, 2]]


def _bag_model(**kwargs):
    vec = layers.TextVectorization(output_mode="tf_idf", norm="l2", **kwargs)
    vec.adapt(CORPUS)
    model = lamina.Sequential(
        [lamina.Input(shape=(1,), dtype="string"), vec, layers.Dense(2, activation="softmax")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model, vec


def test_fit_with_cache_equals_fit_without_and_second_fit_sees_new_data():
    x1 = np.array(CORPUS, dtype=object)
    y1 = np.arange(len(CORPUS)) % 2
    x2 = np.array(NEW_TEXTS * 5, dtype=object)
    y2 = np.arange(len(x2)) % 2
    results = []
    for cache_size in (200_000, 0):
        lamina.utils.set_random_seed(3)
        model, vec = _bag_model()
        vec.cache_size = cache_size
        h1 = model.fit(x1, y1, epochs=3, batch_size=4, verbose=0).history["loss"]
        h2 = model.fit(x2, y2, epochs=2, batch_size=4, verbose=0).history["loss"]
        results.append((h1, h2, model.predict(x2[:2], verbose=0), set(vec._cache.rows)))
    (c1, c2, cp, n_rows), (u1, u2, up, n_none) = results
    assert c1 == u1 and c2 == u2
    np.testing.assert_array_equal(cp, up)
    # (the empty string is the model's shape-inference batch)
    assert n_rows - {""} == set(CORPUS) | set(NEW_TEXTS) and n_none == set()
    # The second fit's rows are its own strings, not the first fit's: outputs on the
    # new texts equal a fresh, never-cached layer's.
    fresh = layers.TextVectorization(output_mode="tf_idf", norm="l2")
    fresh.adapt(CORPUS)
    fresh.cache_size = 0
    np.testing.assert_array_equal(vec(NEW_TEXTS).numpy(), fresh(NEW_TEXTS).numpy())


def test_sparse_output_trains_dense_layer_like_dense_output():
    x = np.array(CORPUS, dtype=object)
    y = np.arange(len(CORPUS)) % 2
    losses, preds = [], []
    for sparse in (False, True):
        lamina.utils.set_random_seed(5)
        model, vec = _bag_model(sparse=sparse)
        out = vec(NEW_TEXTS)
        assert out.layout == (torch.sparse_coo if sparse else torch.strided)
        losses.append(model.fit(x, y, epochs=3, batch_size=4, verbose=0).history["loss"])
        preds.append(model.predict(x, verbose=0))
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    np.testing.assert_allclose(preds[0], preds[1], rtol=1e-5, atol=1e-6)


def test_adapt_keeps_frequency_then_first_appearance_order_with_max_tokens():
    layer = layers.TextVectorization(max_tokens=6, ngrams=2)
    layer.adapt(["b a b", "c a", "d"])
    # Counts: b 2, a 2, c 1, d 1, "b a" 1, "a b" 1, "c a" 1 (ties in order of first appearance).
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "a", "b a", "a b"]


def test_adapt_ranks_and_weights_tokens_as_the_lookup_did():
    from lamina.layers.preprocessing.index_lookup import rank_tokens

    layer = layers.TextVectorization(output_mode="tf_idf", ngrams=2, max_tokens=40)
    layer.adapt(CORPUS)
    docs = [layer._tokens(t) for t in CORPUS]
    flat = np.array([t for d in docs for t in d])
    doc_ids = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    tokens, idf = rank_tokens(flat, doc_ids, len(docs), 39)
    assert layer.get_vocabulary()[1:] == tokens
    # Stored as float32, as before.
    np.testing.assert_array_equal(
        np.asarray(layer.get_config()["idf_weights"], dtype=np.float32)[1:], idf.astype(np.float32)
    )
