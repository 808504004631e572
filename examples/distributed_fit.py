"""Data-parallel training with `torchrun`: the same script on one process or many

Nothing in this script mentions processes or devices. Run it as usual:

    python examples/distributed_fit.py

or on every GPU of a machine (or, without GPUs, on several CPU processes):

    torchrun --nproc_per_node=4 examples/distributed_fit.py

Under `torchrun`, `fit` runs the model in PyTorch's `DistributedDataParallel`:
each process takes its part of every batch (the global batch is `batch_size`
times the number of processes), the gradients are averaged, and every process
takes the same step. Metrics are summed over the processes, so the logs,
`EarlyStopping` and `ModelCheckpoint` see the numbers a single process would;
the progress display and every file (the checkpoint, `model.save`) come from
rank 0 only. `evaluate` returns the metrics over the whole test set and
`predict` the full predictions on every process.

On several machines, start the same command on each, pointing at one of them:

    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=host0.example.com:29500 --rdzv-id=digits \\
        examples/distributed_fit.py

The script trains a classifier on scikit-learn's 8x8 digits and prints the
test accuracy (from rank 0).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import lamina


def build_model() -> lamina.Model:
    model = lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            lamina.layers.Dense(128, activation="relu"),
            lamina.layers.Dropout(0.1),
            lamina.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(quick: bool = False, out_dir: str = "distributed_fit_output") -> dict[str, Any]:
    """Trains, evaluates and saves the model; returns the test accuracy and what was written."""
    lamina.set_seed(0)  # the same initial weights and shuffles on every process
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )

    model = build_model()
    os.makedirs(out_dir, exist_ok=True)
    best = os.path.join(out_dir, "best.lamina")
    callbacks = [
        lamina.callbacks.ModelCheckpoint(best, monitor="val_accuracy", save_best_only=True),
        lamina.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
    ]
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=4 if quick else 30,
        validation_split=0.1,
        callbacks=callbacks,
        verbose=0 if quick else 2,
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test, verbose=0)  # every process: all rows, in order
    model.save(os.path.join(out_dir, "final.lamina"))  # written by rank 0

    ctx = lamina.distributed.get_context()
    processes = 1 if ctx is None else ctx.world_size
    if lamina.distributed.is_chief():
        print(
            f"processes: {processes}   epochs: {len(history.history['loss'])}   "
            f"test accuracy: {accuracy:.3f}   predictions: {predictions.shape}"
        )
    return {
        "processes": processes,
        "test_accuracy": float(accuracy),
        "predicted_accuracy": float(np.mean(predictions.argmax(axis=1) == y_test)),
        "epochs": len(history.history["loss"]),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 epochs, silent (for the tests)")
    parser.add_argument(
        "--out", default="distributed_fit_output", help="folder for the saved models"
    )
    args = parser.parse_args()
    main(quick=args.quick, out_dir=args.out)
