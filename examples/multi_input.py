"""A functional model with two inputs and two outputs: digit images + a noisy hint -> digit and parity.

The functional API builds graphs that `Sequential` cannot: here two inputs
that enter through different branches and two outputs trained together.

* Input `image`: a bundled 8x8 digit, read by a small convnet.
* Input `hint`: 10 numbers from a second, unreliable source (think of an
  OCR guess from another system): the one-hot code of the digit, *but of a
  random digit 40 % of the time*, plus Gaussian noise. It is synthetic,
  generated from the labels by `make_hints`.
* Output `digit`: the 10 class probabilities (`sparse_categorical_crossentropy`).
* Output `parity`: the probability that the digit is odd (`binary_crossentropy`).

The branches are concatenated into a shared layer that feeds both heads.
`compile` takes a loss per output (a dict keyed by output name) and
`loss_weights` that set each loss's share of the total, here 1.0 for the
digit and 0.5 for the parity; metrics are per output too, and `fit` /
`evaluate` report `digit_accuracy` and `parity_accuracy`.

Each output is compared with two baselines on the test set: the majority
class of the training set, and the hint alone (its largest entry as the
digit, and that digit's parity). A full run::

    test accuracy                    digit  parity
    majority class (baseline)        0.103   0.504
    hint alone (baseline)            0.487   0.708
    image + hint network             0.981   0.983

Run it::

    python examples/multi_input.py            # about half a minute on a laptop CPU
    python examples/multi_input.py --quick    # a few seconds, fewer epochs
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits

import lamina
from lamina import layers

HINT_RELIABILITY = 0.6  # probability that the hint points at the true digit
HINT_NOISE = 0.5  # standard deviation of the Gaussian noise added to the hint


def make_hints(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """A noisy one-hot hint per label: the true digit with probability `HINT_RELIABILITY`,
    else a uniformly random digit, plus normal noise of standard deviation `HINT_NOISE`.

    Returns:
        Float32 array ``(n, 10)``.
    """
    rng = np.random.default_rng(seed)
    pointed = np.where(rng.random(len(labels)) < HINT_RELIABILITY, labels, rng.integers(0, 10, len(labels)))
    hints = np.eye(10)[pointed] + rng.normal(0.0, HINT_NOISE, size=(len(labels), 10))
    return hints.astype("float32")


def make_model() -> lamina.Model:
    """``{"image": (batch, 8, 8, 1), "hint": (batch, 10)}`` ->
    ``{"digit": (batch, 10) probabilities, "parity": (batch, 1) probability of odd}``."""
    image = lamina.Input(shape=(8, 8, 1), name="image")
    hint = lamina.Input(shape=(10,), name="hint")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(image)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    image_features = layers.Flatten()(x)
    hint_features = layers.Dense(16, activation="relu")(hint)
    shared = layers.Concatenate()([image_features, hint_features])
    shared = layers.Dropout(0.2)(layers.Dense(64, activation="relu")(shared))
    digit = layers.Dense(10, activation="softmax", name="digit")(shared)
    parity = layers.Dense(1, activation="sigmoid", name="parity")(shared)
    return lamina.Model({"image": image, "hint": hint}, {"digit": digit, "parity": parity}, name="digit_and_parity")


def main(quick: bool = False) -> dict[str, float]:
    """Trains the two-input, two-output model; returns per-output test accuracies and baselines.

    Args:
        quick: Fewer epochs (for the tests). Defaults to `False`.

    Returns:
        ``"digit_accuracy"``, ``"parity_accuracy"`` (the network), ``"digit_majority"``,
        ``"parity_majority"``, ``"digit_hint_only"``, ``"parity_hint_only"`` (baselines),
        and the test losses ``"loss"``, ``"digit_loss"``, ``"parity_loss"``.
    """
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    labels = digits.target.astype("int64")
    x = {"image": images, "hint": make_hints(labels, seed=0)}
    splits = lamina.data.split(x, labels, dev=0.15, test=0.2, seed=0)

    def targets(y: np.ndarray) -> dict[str, np.ndarray]:
        return {"digit": y, "parity": (y % 2).astype("float32")[:, None]}

    (x_train, y_train), (x_dev, y_dev), (x_test, y_test) = splits.train, splits.dev, splits.test
    lamina.set_seed(0)
    model = make_model()
    model.compile(
        optimizer=lamina.optimizers.Adam(2e-3),
        loss={"digit": "sparse_categorical_crossentropy", "parity": "binary_crossentropy"},
        loss_weights={"digit": 1.0, "parity": 0.5},
        metrics={"digit": ["accuracy"], "parity": ["accuracy"]},
    )
    model.fit(x_train, targets(y_train), batch_size=32, epochs=8 if quick else 30,
              validation_data=(x_dev, targets(y_dev)), verbose=0)
    results = {k: float(v) for k, v in model.evaluate(x_test, targets(y_test), verbose=0, return_dict=True).items()}

    hint_digit = x_test["hint"].argmax(axis=1)
    results["digit_majority"] = float(np.mean(y_test == np.bincount(y_train).argmax()))
    results["parity_majority"] = float(np.mean(y_test % 2 == np.bincount(y_train % 2).argmax()))
    results["digit_hint_only"] = float(np.mean(hint_digit == y_test))
    results["parity_hint_only"] = float(np.mean(hint_digit % 2 == y_test % 2))

    print(f"digits 8x8 + a SYNTHETIC noisy hint (right {HINT_RELIABILITY:.0%} of the time); "
          f"{splits.sizes['train']} train / {splits.sizes['test']} test" + (" (quick mode)" if quick else ""))
    print(f"test loss {results['loss']:.4f} = digit_loss {results['digit_loss']:.4f} "
          f"+ 0.5 * parity_loss {results['parity_loss']:.4f}")
    print(f"{'test accuracy':<30}{'digit':>8}{'parity':>8}")
    print(f"{'majority class (baseline)':<30}{results['digit_majority']:>8.3f}{results['parity_majority']:>8.3f}")
    print(f"{'hint alone (baseline)':<30}{results['digit_hint_only']:>8.3f}{results['parity_hint_only']:>8.3f}")
    print(f"{'image + hint network':<30}{results['digit_accuracy']:>8.3f}{results['parity_accuracy']:>8.3f}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    main(quick=parser.parse_args().quick)
