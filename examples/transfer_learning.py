"""Transfer learning: reuse a convnet trained on digits 0-4 to learn digits 5-9 from few images.

A convnet's early layers learn features (strokes, curves, corners) that are
useful beyond the classes it was trained on. With few labelled images of a
new task, training from scratch overfits; reusing a network trained on a
related task with plenty of data works better. The classic recipe (Keras's
transfer-learning guide):

1. **Pretrain** a base (convolutions + a dense feature layer) with a head on
   the large task: here all the training images of digits 0-4.
2. **Freeze** the base (`base.trainable = False`), put a new head on it, and
   train only the head on the small task: here 10 images per class of
   digits 5-9 (50 images in all).
3. **Fine-tune**: unfreeze the base (`base.trainable = True`), `compile` again
   (needed for the change to take effect on the optimizer) with a lower
   learning rate, and train a few more epochs, so the features adapt a
   little without forgetting what they learned.

The same network trained from scratch on the same 50 images is the
comparison; the majority class is the baseline. Everything is scored on the
held-out images of digits 5-9. The data is scikit-learn's bundled digits.
A full run::

    majority class (baseline)               0.203
    same convnet from scratch               0.952
    pretrained base frozen + new head       0.923
    then fine-tuned (learning rate 0.001)   0.933

Fine-tuning beats the frozen base, and both are far above the baseline, but
**here transfer does not beat training from scratch**: 8x8 digits are so
simple that a small convnet learns them well from 50 images, and features
learned to tell 0-4 apart describe 5-9 less well than features learned on
5-9 themselves. Transfer pays off when the pretraining task is large and
broad (ImageNet features for photographs) and the new data are scarce or
hard; compare with a model trained from scratch, as here, before assuming it
helps.

Run it::

    python examples/transfer_learning.py            # about ten seconds on a laptop CPU
    python examples/transfer_learning.py --quick    # a few seconds, fewer epochs
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_digits

import lamina
from lamina import layers

SHOTS = 10  # labelled images per new class
HEAD_LEARNING_RATE = 3e-3
TUNE_LEARNING_RATE = 1e-3  # lower, so fine-tuning adapts the features without wiping them out


def load_images() -> tuple[np.ndarray, np.ndarray]:
    """The digits as float32 images ``(n, 8, 8, 1)`` in [0, 1] and int64 labels."""
    digits = load_digits()
    return (digits.images / 16.0).astype("float32")[..., None], digits.target.astype("int64")


def make_base() -> lamina.Sequential:
    """Images ``(batch, 8, 8, 1)`` -> 256 features: two conv + pool blocks, flattened.

    Like Keras's applications with `include_top=False`, the base stops at the
    convolutional features; every dense layer belongs to a task's head.
    """
    return lamina.Sequential(
        [
            lamina.Input(shape=(8, 8, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
        ],
        name="base",
    )


def with_head(base: lamina.Sequential, classes: int, name: str) -> lamina.Model:
    """The base followed by dropout and a new softmax layer of ``classes`` units."""
    inputs = lamina.Input(shape=(8, 8, 1), name="image")
    features = base(inputs)
    outputs = layers.Dense(classes, activation="softmax", name=f"{name}_head")(layers.Dropout(0.3)(features))
    return lamina.Model(inputs, outputs, name=name)


def _compile(model: lamina.Model, learning_rate: float) -> None:
    model.compile(optimizer=lamina.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def _accuracy(model: lamina.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(model.evaluate(x, y, verbose=0)[1])


def _weights(model: lamina.Model) -> list[np.ndarray]:
    return [w.detach().cpu().numpy().copy() for w in model.weights]


def _largest_change(before: list[np.ndarray], model: lamina.Model) -> float:
    """The largest absolute change of any weight of ``model`` since ``before``."""
    return float(max(np.abs(a - b).max() for a, b in zip(before, _weights(model))))


def main(quick: bool = False) -> dict[str, float]:
    """Pretrains on digits 0-4, transfers to 5-9 with `SHOTS` images per class; returns the accuracies.

    Args:
        quick: Fewer epochs (for the tests). Defaults to `False`.

    Returns:
        Accuracies on the held-out images of digits 5-9: ``"majority_baseline"``,
        ``"from_scratch"``, ``"frozen_base"`` (new head on the frozen base) and
        ``"fine_tuned"``; ``"pretrain_accuracy"`` on held-out digits 0-4; and the
        largest change of a base weight while frozen (``"base_change_while_frozen"``,
        0) and after fine-tuning (``"base_change_fine_tuning"``).
    """
    images, labels = load_images()
    rng = np.random.default_rng(0)
    old = labels < 5
    # Task A (digits 0-4): plenty of data, 80 % to train, the rest to check the pretraining.
    old_idx = rng.permutation(np.flatnonzero(old))
    cut = int(0.8 * len(old_idx))
    xa, ya = images[old_idx[:cut]], labels[old_idx[:cut]]
    xa_test, ya_test = images[old_idx[cut:]], labels[old_idx[cut:]]
    # Task B (digits 5-9, relabelled 0-4): SHOTS images per class to train, all others to test.
    few = np.concatenate([rng.choice(np.flatnonzero(labels == c), SHOTS, replace=False) for c in range(5, 10)])
    rest = np.setdiff1d(np.flatnonzero(~old), few)
    xb, yb = images[few], labels[few] - 5
    xb_test, yb_test = images[rest], labels[rest] - 5

    # Few images make short epochs (4 steps), hence many of them.
    pretrain_epochs, head_epochs, tune_epochs = (5, 100, 50) if quick else (20, 100, 50)
    results: dict[str, float] = {"majority_baseline": float(np.mean(yb_test == np.bincount(yb).argmax()))}

    # 1. Pretrain base + head on digits 0-4.
    lamina.set_seed(0)
    base = make_base()
    pretrain = with_head(base, 5, "pretrain")
    _compile(pretrain, 2e-3)
    pretrain.fit(xa, ya, batch_size=32, epochs=pretrain_epochs, verbose=0)
    results["pretrain_accuracy"] = _accuracy(pretrain, xa_test, ya_test)

    # 2. Freeze the base; train a new head on the 50 images of digits 5-9.
    base.trainable = False
    transfer = with_head(base, 5, "transfer")
    _compile(transfer, HEAD_LEARNING_RATE)
    pretrained = _weights(base)
    transfer.fit(xb, yb, batch_size=16, epochs=head_epochs, verbose=0)
    results["frozen_base"] = _accuracy(transfer, xb_test, yb_test)
    results["base_change_while_frozen"] = _largest_change(pretrained, base)

    # 3. Unfreeze and fine-tune everything with a lower learning rate (compile again after the change).
    base.trainable = True
    _compile(transfer, TUNE_LEARNING_RATE)
    transfer.fit(xb, yb, batch_size=16, epochs=tune_epochs, verbose=0)
    results["fine_tuned"] = _accuracy(transfer, xb_test, yb_test)
    results["base_change_fine_tuning"] = _largest_change(pretrained, base)

    # The comparison: the same network from random weights, on the same 50 images, as many epochs.
    lamina.set_seed(1)
    scratch = with_head(make_base(), 5, "scratch")
    _compile(scratch, HEAD_LEARNING_RATE)
    scratch.fit(xb, yb, batch_size=16, epochs=head_epochs + tune_epochs, verbose=0)
    results["from_scratch"] = _accuracy(scratch, xb_test, yb_test)

    print(f"pretraining on digits 0-4: {len(xa)} images, held-out accuracy {results['pretrain_accuracy']:.3f}")
    print(f"new task, digits 5-9: {len(xb)} training images ({SHOTS} per class), {len(xb_test)} test images"
          + (" (quick mode)" if quick else ""))
    print(f"{'model':<40}test accuracy")
    print(f"{'majority class (baseline)':<40}{results['majority_baseline']:.3f}")
    print(f"{'same convnet from scratch':<40}{results['from_scratch']:.3f}")
    print(f"{'pretrained base frozen + new head':<40}{results['frozen_base']:.3f}")
    print(f"{f'then fine-tuned (learning rate {TUNE_LEARNING_RATE:g})':<40}{results['fine_tuned']:.3f}")
    print(f"largest change of a base weight: {results['base_change_while_frozen']:.4f} while frozen, "
          f"{results['base_change_fine_tuning']:.4f} after fine-tuning")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few epochs only")
    main(quick=parser.parse_args().quick)
