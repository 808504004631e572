"""Sequence classification with recurrent layers: digits read one row at a time.

A recurrent layer reads a sequence step by step and carries a state, so it
can classify a sequence from what it saw in what order. To see this on real
data, each bundled 8x8 digit image is read as a sequence of 8 steps (its rows,
top to bottom), each step a vector of 8 pixel values: the network never sees
the whole image at once, only one row plus its own memory of the rows above.

Three recurrent classifiers are trained on the same stratified split:

* `GRU(64)`: a gated recurrent unit, its last state feeds the classifier;
* `LSTM(64)`: a long short-term memory layer, same head;
* `Bidirectional(GRU(32))`: one GRU reads the rows top to bottom, another
  bottom to top, and their last states are concatenated.

The baseline to beat is the majority class of the training set. The script
prints the test accuracy of each model. A full run::

    majority class (baseline)        0.103
    GRU(64)                          0.961
    LSTM(64)                         0.964
    Bidirectional(GRU(32))           0.969

Run it::

    python examples/sequence_gru.py            # under a minute on a laptop CPU
    python examples/sequence_gru.py --quick    # a few seconds, fewer epochs
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from sklearn.datasets import load_digits

import lamina
from lamina import layers

STEPS, FEATURES = 8, 8


def load_sequences() -> tuple[np.ndarray, np.ndarray]:
    """The digits as float32 sequences ``(n, 8 steps, 8 features)`` in [0, 1] and int labels."""
    digits = load_digits()
    return (digits.images / 16.0).astype("float32"), digits.target.astype("int64")


def _classifier(recurrent: layers.Layer, name: str) -> lamina.Sequential:
    return lamina.Sequential(
        [lamina.Input(shape=(STEPS, FEATURES)), recurrent, layers.Dense(10, activation="softmax")], name=name
    )


def make_gru() -> lamina.Sequential:
    """Rows ``(batch, 8, 8)`` -> GRU(64) last state -> 10 class probabilities."""
    return _classifier(layers.GRU(64), "gru")


def make_lstm() -> lamina.Sequential:
    """Rows ``(batch, 8, 8)`` -> LSTM(64) last state -> 10 class probabilities."""
    return _classifier(layers.LSTM(64), "lstm")


def make_bidirectional_gru() -> lamina.Sequential:
    """Rows ``(batch, 8, 8)`` read both ways by two GRU(32) -> 64 features -> 10 classes."""
    return _classifier(layers.Bidirectional(layers.GRU(32)), "bidirectional_gru")


VARIANTS: dict[str, Callable[[], lamina.Sequential]] = {
    "GRU(64)": make_gru,
    "LSTM(64)": make_lstm,
    "Bidirectional(GRU(32))": make_bidirectional_gru,
}


def main(quick: bool = False) -> dict[str, float]:
    """Trains the three recurrent classifiers; returns their test accuracies and the baseline's.

    Args:
        quick: Fewer epochs (for the tests). Defaults to `False`.

    Returns:
        ``{"majority_baseline": ..., "GRU(64)": ..., "LSTM(64)": ..., "Bidirectional(GRU(32))": ...}``.
    """
    x, y = load_sequences()
    splits = lamina.data.split(x, y, dev=0.15, test=0.2, seed=0)
    (x_train, y_train), (x_dev, y_dev), (x_test, y_test) = splits.train, splits.dev, splits.test
    majority = int(np.bincount(y_train).argmax())
    results = {"majority_baseline": float(np.mean(y_test == majority))}
    epochs = 8 if quick else 40
    for name, make in VARIANTS.items():
        lamina.set_seed(0)
        model = make()
        model.compile(optimizer=lamina.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_dev, y_dev), verbose=0)
        results[name] = float(model.evaluate(x_test, y_test, verbose=0)[1])

    print(f"digits read row by row: sequences of {STEPS} steps x {FEATURES} features; "
          f"{splits.sizes['train']} train / {splits.sizes['test']} test" + (" (quick mode)" if quick else ""))
    print(f"{'model':<33}test accuracy")
    print(f"{'majority class (baseline)':<33}{results['majority_baseline']:.3f}")
    for name in VARIANTS:
        print(f"{name:<33}{results[name]:.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    main(quick=parser.parse_args().quick)
