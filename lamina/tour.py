"""`lamina tour`: the main job, end to end on real bundled data.

On scikit-learn's handwritten digits (1,797 8x8 images, shipped with the
package): a stratified train / validation / test split, a common-sense
baseline (the majority class) and a classical one (logistic regression), a
Lamina MLP trained with a live progress display, a table of train /
validation / test accuracy, and the training curves saved as a PNG.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import lamina
from lamina import layers


@dataclass
class TourResult:
    """What the tour measured (accuracies by model and split) and where it wrote files."""

    accuracies: dict[str, dict[str, float]] = field(default_factory=dict)
    curves_path: Path | None = None
    seconds: float = 0.0


def _split(x: np.ndarray, y: np.ndarray, seed: int) -> tuple:
    from sklearn.model_selection import train_test_split

    x_tmp, x_test, y_tmp, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_tmp, y_tmp, test_size=0.2, stratify=y_tmp, random_state=seed
    )
    return x_train, y_train, x_val, y_val, x_test, y_test


def build_mlp() -> lamina.Model:
    """The tour's network: 64 pixels -> 256 -> 128 -> 10 classes."""
    return lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    )


def save_curves(history: lamina.callbacks.History, path: Path) -> Path:
    """Plots loss and accuracy per epoch (training and validation) to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = history.history
    epochs = np.arange(1, len(h["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, h["loss"], label="training")
    ax1.plot(epochs, h["val_loss"], label="validation")
    ax1.set(title="Loss", xlabel="epoch", ylabel="cross-entropy")
    ax2.plot(epochs, h["accuracy"], label="training")
    ax2.plot(epochs, h["val_accuracy"], label="validation")
    ax2.set(title="Accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_tour(output_dir: str | Path = "tour_output", epochs: int = 40, seed: int = 0, verbose: int = 1,
             console: Console | None = None) -> TourResult:
    """Runs the tour and returns what it measured.

    Args:
        output_dir: Where the training-curves PNG is written. Defaults to `"tour_output"`.
        epochs: Training epochs of the MLP. Defaults to `40`.
        seed: Seed of the split and the training. Defaults to `0`.
        verbose: 0 prints nothing, 1 prints progress and tables. Defaults to `1`.
    """
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    console = console or Console(highlight=False)
    say = console.print if verbose else (lambda *a, **k: None)
    t0 = time.perf_counter()
    result = TourResult()

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_train, y_train, x_val, y_val, x_test, y_test = _split(x, y, seed)
    say(f"[bold]Lamina tour[/bold] - handwritten digits: {len(x)} images of 8x8 pixels, 10 classes")
    say(f"Split (stratified): train {len(x_train)}, validation {len(x_val)}, test {len(x_test)} "
        "(the test set is used once, at the end)")

    def acc(pred: np.ndarray, truth: np.ndarray) -> float:
        return float((pred == truth).mean())

    majority = np.bincount(y_train).argmax()
    result.accuracies["majority class"] = {
        "train": acc(np.full_like(y_train, majority), y_train),
        "validation": acc(np.full_like(y_val, majority), y_val),
        "test": acc(np.full_like(y_test, majority), y_test),
    }
    logreg = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    result.accuracies["logistic regression"] = {
        "train": acc(logreg.predict(x_train), y_train),
        "validation": acc(logreg.predict(x_val), y_val),
        "test": acc(logreg.predict(x_test), y_test),
    }

    lamina.set_seed(seed)
    model = build_mlp()
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    if verbose:
        model.summary(print_fn=lambda line: say(line)) if hasattr(model, "summary") else None
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_val, y_val),
                        verbose=1 if verbose else 0)
    result.accuracies["Lamina MLP"] = {
        "train": model.evaluate(x_train, y_train, verbose=0, return_dict=True)["accuracy"],
        "validation": model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"],
        "test": model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"],
    }
    result.curves_path = save_curves(history, Path(output_dir) / "training_curves.png")

    table = Table(title="Accuracy by model and split")
    table.add_column("model")
    for split in ("train", "validation", "test"):
        table.add_column(split, justify="right")
    for name, scores in result.accuracies.items():
        table.add_row(name, *(f"{scores[s]:.4f}" for s in ("train", "validation", "test")))
    if verbose:
        console.print(table)
    best_base = max(v["validation"] for k, v in result.accuracies.items() if k != "Lamina MLP")
    net = result.accuracies["Lamina MLP"]["validation"]
    say(f"On validation the network {'beats' if net > best_base else 'does not beat'} the best baseline "
        f"({net:.4f} vs {best_base:.4f}).")
    say(f"Training curves: {result.curves_path}")
    result.seconds = time.perf_counter() - t0
    say(f"Done in {result.seconds:.1f}s.")
    return result
