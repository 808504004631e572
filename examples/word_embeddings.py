"""Word embeddings by skip-gram with negative sampling, on a corpus with known topics.

"You shall know a word by the company it keeps": words that occur in the same
contexts get similar vectors. Skip-gram (Mikolov et al., 2013) learns them by
a classification task: given a word and another word, did the second occur
within a few positions of the first (a real context pair, label 1) or was it
drawn at random from the vocabulary (a negative sample, label 0)? The model
is two `Embedding` tables, one for the centre word and one for the context
word, and the `Dot` of the two vectors is the logit of "real pair".

**The corpus is synthetic**: sentences generated from four topics (animals,
food, vehicles, weather), each sentence about one topic, mixed with function
words shared by all topics ("the", "and", "with") and an occasional word from
another topic. Because we know the topics, we can check what the embeddings
learned: a word's nearest neighbours by cosine similarity should be words of
its own topic. The score is the share of each topic word's 5 nearest
neighbours that are from its topic; picking neighbours at random would give
`(10 - 1) / (50 - 1) = 0.18`. A full run::

    nearest to 'cat'       cow, dog, rabbit, goat, tiger
    nearest to 'bread'     rice, apple, cake, cheese, butter
    nearest to 'car'       boat, scooter, train, truck, bus
    nearest to 'rain'      cloud, thunder, snow, sunshine, fog
    share of the 5 nearest neighbours from the word's own topic:
      random neighbours (baseline)   0.184
      untrained embeddings           0.245
      skip-gram embeddings           1.000

The pair classification itself stays near 0.69 (always answering "negative"
gives 0.67): which word of a topic comes next is random by construction, so
the task cannot be solved, yet solving it partly is enough to place words of
a topic together.

Run it::

    python examples/word_embeddings.py            # about half a minute on a laptop CPU
    python examples/word_embeddings.py --quick    # a few seconds, a smaller corpus
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import lamina
from lamina import layers

TOPICS = {
    "animals": ["cat", "dog", "horse", "cow", "sheep", "goat", "rabbit", "mouse", "lion", "tiger"],
    "food": ["bread", "cheese", "apple", "soup", "rice", "pasta", "salad", "butter", "honey", "cake"],
    "vehicles": ["car", "bus", "train", "bicycle", "truck", "boat", "plane", "tram", "taxi", "scooter"],
    "weather": ["rain", "snow", "wind", "storm", "sunshine", "cloud", "fog", "frost", "thunder", "hail"],
}
FUNCTION_WORDS = ["the", "a", "and", "with", "of", "in", "is", "was", "very", "some"]
VOCABULARY = FUNCTION_WORDS + [w for words in TOPICS.values() for w in words]
WORD_INDEX = {w: i for i, w in enumerate(VOCABULARY)}
TOPIC_OF = {w: topic for topic, words in TOPICS.items() for w in words}
NEIGHBOURS = 5


def make_corpus(sentences: int, length: int = 10, seed: int = 0) -> np.ndarray:
    """Generates ``sentences`` sentences of ``length`` word ids, each about one topic.

    Each position is a function word (probability 0.5), a word of the
    sentence's topic (0.45) or a word of another topic (0.05, noise).

    Returns:
        Int64 array ``(sentences, length)`` of indices into `VOCABULARY`.
    """
    rng = np.random.default_rng(seed)
    topic_ids = [[WORD_INDEX[w] for w in words] for words in TOPICS.values()]
    all_topic_ids = [i for ids in topic_ids for i in ids]
    function_ids = [WORD_INDEX[w] for w in FUNCTION_WORDS]
    corpus = np.empty((sentences, length), dtype=np.int64)
    for s in range(sentences):
        own = topic_ids[rng.integers(len(topic_ids))]
        draw = rng.random(length)
        for p in range(length):
            pool = function_ids if draw[p] < 0.5 else own if draw[p] < 0.95 else all_topic_ids
            corpus[s, p] = pool[rng.integers(len(pool))]
    return corpus


def skipgram_pairs(
    corpus: np.ndarray, window: int = 2, negatives: int = 2, seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Real (centre, context) pairs within ``window`` positions, label 1, and for each
    ``negatives`` pairs with a context drawn from the unigram distribution to the
    power 0.75 (as word2vec), label 0.

    Returns:
        ``({"target": ids, "context": ids}, labels)``, shuffled; ids have shape ``(n, 1)``.
    """
    rng = np.random.default_rng(seed)
    centres, contexts = [], []
    length = corpus.shape[1]
    for offset in range(-window, window + 1):
        if offset == 0:
            continue
        lo, hi = max(0, -offset), min(length, length - offset)
        centres.append(corpus[:, lo:hi].ravel())
        contexts.append(corpus[:, lo + offset:hi + offset].ravel())
    centre, context = np.concatenate(centres), np.concatenate(contexts)
    counts = np.bincount(corpus.ravel(), minlength=len(VOCABULARY)) ** 0.75
    noise = rng.choice(len(VOCABULARY), size=len(centre) * negatives, p=counts / counts.sum())
    target = np.concatenate([centre, np.repeat(centre, negatives)])
    context = np.concatenate([context, noise])
    labels = np.concatenate([np.ones(len(centre)), np.zeros(len(noise))]).astype("float32")
    order = rng.permutation(len(target))
    return {"target": target[order, None], "context": context[order, None]}, labels[order, None]


def make_skipgram(embedding_dim: int = 16) -> tuple[lamina.Model, layers.Embedding]:
    """(target id, context id) -> sigmoid(target vector . context vector).

    Returns:
        The model and its target `Embedding` (the word vectors to keep).
    """
    target = lamina.Input(shape=(1,), dtype="int64", name="target")
    context = lamina.Input(shape=(1,), dtype="int64", name="context")
    target_embedding = layers.Embedding(len(VOCABULARY), embedding_dim, name="word_vectors")
    context_embedding = layers.Embedding(len(VOCABULARY), embedding_dim, name="context_vectors")
    t = layers.Flatten()(target_embedding(target))
    c = layers.Flatten()(context_embedding(context))
    logit = layers.Dot(axes=1)([t, c])
    probability = layers.Activation("sigmoid")(logit)
    return lamina.Model({"target": target, "context": context}, probability, name="skipgram"), target_embedding


def nearest_neighbours(vectors: np.ndarray, word: str, k: int = NEIGHBOURS) -> list[str]:
    """The ``k`` words whose vectors have the largest cosine similarity with ``word``'s."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit[WORD_INDEX[word]]
    similarity[WORD_INDEX[word]] = -np.inf
    return [VOCABULARY[i] for i in np.argsort(-similarity)[:k]]


def topic_purity(vectors: np.ndarray, k: int = NEIGHBOURS) -> float:
    """Mean share, over the topic words, of their ``k`` nearest neighbours from the same topic."""
    shares = [
        np.mean([TOPIC_OF.get(n) == TOPIC_OF[w] for n in nearest_neighbours(vectors, w, k)]) for w in TOPIC_OF
    ]
    return float(np.mean(shares))


def main(quick: bool = False) -> dict[str, Any]:
    """Trains skip-gram embeddings and scores their nearest neighbours against the topics.

    Args:
        quick: A smaller corpus and fewer epochs (for the tests). Defaults to `False`.

    Returns:
        ``"purity"`` (trained vectors), ``"purity_untrained"`` (the same model before
        training), ``"random_baseline"`` (expected purity of random neighbours),
        ``"neighbours"`` (word -> its nearest neighbours, for one word per topic) and
        ``"final_accuracy"`` (real-vs-negative pair accuracy in the last epoch).
    """
    corpus = make_corpus(600 if quick else 3000, seed=0)
    inputs, labels = skipgram_pairs(corpus, window=2, negatives=2, seed=0)
    lamina.set_seed(0)
    model, word_vectors = make_skipgram(embedding_dim=16)

    def vectors() -> np.ndarray:
        return word_vectors.embeddings.detach().cpu().numpy()

    untrained = topic_purity(vectors())
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(inputs, labels, batch_size=512, epochs=3 if quick else 10, verbose=0)
    topic_words = len(TOPIC_OF)
    results: dict[str, Any] = {
        "purity": topic_purity(vectors()),
        "purity_untrained": untrained,
        "random_baseline": (len(next(iter(TOPICS.values()))) - 1) / (len(VOCABULARY) - 1),
        "neighbours": {words[0]: nearest_neighbours(vectors(), words[0]) for words in TOPICS.values()},
        "final_accuracy": history.history["accuracy"][-1],
    }

    print(f"SYNTHETIC corpus: {corpus.shape[0]} sentences of {corpus.shape[1]} words, {len(TOPICS)} topics "
          f"x {topic_words // len(TOPICS)} words + {len(FUNCTION_WORDS)} function words; "
          f"{len(labels):,} skip-gram pairs (1 real : 2 negative)" + (" (quick mode)" if quick else ""))
    print(f"pair classification accuracy in the last epoch: {results['final_accuracy']:.3f}")
    for word, neighbours in results["neighbours"].items():
        print(f"  nearest to {word!r:<11} {', '.join(neighbours)}")
    print(f"share of the {NEIGHBOURS} nearest neighbours from the word's own topic:")
    print(f"  random neighbours (baseline)   {results['random_baseline']:.3f}")
    print(f"  untrained embeddings           {results['purity_untrained']:.3f}")
    print(f"  skip-gram embeddings           {results['purity']:.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and fewer epochs")
    main(quick=parser.parse_args().quick)
