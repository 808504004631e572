"""`lamina tour`: the whole workflow, end to end, on real bundled data.

On scikit-learn's handwritten digits (1,797 8x8 images, shipped with the
package), in the order a careful practitioner works:

1. split once into train / train-dev / dev / test (stratified), and check that
   no image sits in two sets;
2. score baselines on the dev set (majority class, logistic regression, ...);
3. run the doctor's sanity checks on a freshly compiled network;
4. first attempt: a big MLP without regularisation on the first 100 labelled
   images; it overfits, and the diagnosis says so (variance);
5. second attempt, following the diagnosis: all the training data, shifted
   copies of the images (augmentation), dropout, L2 and early stopping; the
   diagnosis shows the variance shrinking;
6. a learning curve: would more data help?
7. error analysis on the dev set: the confusion matrix, the most confident
   mistakes as images;
8. the test set, used once, at the very end;
9. an HTML report (plots embedded) with a JSON file of every number;
10. ship it: the final network saved to `digits_mlp.lamina` and exported to
    ONNX (`digits_mlp.onnx`), the export checked against the model before it
    is written; the tour ends with the `lamina serve` command that serves it.

It prints a table of train / validation / test accuracy and writes the
training curves of the final network as a PNG, next to the report.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import lamina
from lamina import data, layers, workflow
from lamina.workflow import plots
from lamina.workflow.learning_curves import nested_order
from lamina.workflow.uncertainty import Interval, wilson_interval

#: Human-level error on the digits: people misread about 1 in 100 of these 8x8 scans.
HUMAN_ERROR = 0.01
#: Labelled images the first attempt is trained on.
FIRST_ATTEMPT_SAMPLES = 100
FINAL_NAME = "Lamina MLP"
FIRST_NAME = "MLP, first attempt"


@dataclass
class TourResult:
    """What the tour measured and where it wrote files.

    Attributes:
        accuracies: Accuracy by model and split (`"train"`, `"validation"` = the dev
            set, `"test"`); only the final network and the baselines have a test score.
        curves_path: The final network's training curves (PNG).
        seconds: Wall time of the whole tour.
        report_path: The HTML report.
        report_json_path: The JSON file with every number of the report.
        plots: The PNG files written, by name.
        splits: The `lamina.data.Splits` used.
        leakage: The `LeakageReport` of the split.
        baselines: The `BaselineTable` on the dev set (with both networks added).
        doctor: The `DoctorReport` of the sanity checks before training.
        diagnoses: `{"first attempt": Diagnosis, "regularised": Diagnosis}`.
        learning_curve: The `LearningCurve` of the final architecture.
        error_analysis: The `ErrorAnalysis` of the final network on the dev set.
        test_evaluations: How many times a network was scored on the test set (1).
        quick: Whether the quick mode (fewer epochs, same steps) ran.
    """

    accuracies: dict[str, dict[str, float]] = field(default_factory=dict)
    curves_path: Path | None = None
    seconds: float = 0.0
    report_path: Path | None = None
    report_json_path: Path | None = None
    plots: dict[str, Path] = field(default_factory=dict)
    splits: Any = None
    leakage: Any = None
    baselines: Any = None
    doctor: Any = None
    diagnoses: dict[str, Any] = field(default_factory=dict)
    learning_curve: Any = None
    error_analysis: Any = None
    test_evaluations: int = 0
    quick: bool = False
    model_path: Path | None = None
    onnx_path: Path | None = None
    export: Any = None


class _LockedTestSet:
    """Holds the test split; `score` is the only way to use it, and counts each use."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self._x, self._y = x, y
        self.uses = 0

    @property
    def size(self) -> int:
        return len(self._y)

    def score(self, model: lamina.Model) -> float:
        self.uses += 1
        return float(model.evaluate(self._x, self._y, verbose=0, return_dict=True)["accuracy"])

    def score_baseline(self, predict: Any) -> float:
        return float(np.mean(predict(self._x) == self._y))


def _points(diagnosis: Any, key: str) -> str:
    """A gap or a split's error of a diagnosis, in points, with its 95% interval."""
    interval = (
        diagnosis.gap_intervals.get(key)
        if key in diagnosis.gap_intervals
        else diagnosis.error_intervals.get(key)
    )
    value = (
        getattr(diagnosis, key)
        if key in diagnosis.gap_intervals
        else getattr(diagnosis, f"{key}_error")
    )
    if interval is None:
        return f"{100 * value:.2f}%"
    return f"{100 * value:.2f}% (95% CI {100 * interval.low:.1f} to {100 * interval.high:.1f})"


def _accuracy_intervals(
    accuracies: dict[str, dict[str, float]], splits: Any, first_train: int
) -> dict[str, dict[str, Any]]:
    """Each accuracy of the table with its Wilson interval and the size of its set
    (the first attempt trained on ``first_train`` images only)."""
    sizes = {"train": splits.sizes["train"], "validation": splits.sizes["dev"]}
    sizes["test"] = splits.sizes["test"]
    out: dict[str, dict[str, Any]] = {}
    for name, per_split in accuracies.items():
        out[name] = {}
        for split_name, accuracy in per_split.items():
            n = first_train if (name == FIRST_NAME and split_name == "train") else sizes[split_name]
            error = wilson_interval(int(round((1.0 - accuracy) * n)), n)
            out[name][split_name] = Interval(
                accuracy, 1.0 - error.high, 1.0 - error.low, n, error.confidence, "wilson"
            )
    return out


@contextlib.contextmanager
def _cpu_threads(n: int) -> Iterator[None]:
    """Tiny networks train fastest on few CPU threads: at this size thread
    synchronisation costs more than it saves. Restores the setting afterwards."""
    before = torch.get_num_threads()
    if lamina.get_device().type == "cpu":
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def shift_images(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shifts flat 8x8 images by ``(dy, dx)`` pixels, filling with zeros."""
    img = x.reshape(-1, 8, 8)
    out = np.zeros_like(img)
    src_y = slice(max(-dy, 0), 8 - max(dy, 0))
    dst_y = slice(max(dy, 0), 8 - max(-dy, 0))
    src_x = slice(max(-dx, 0), 8 - max(dx, 0))
    dst_x = slice(max(dx, 0), 8 - max(-dx, 0))
    out[:, dst_y, dst_x] = img[:, src_y, src_x]
    return out.reshape(len(x), 64)


def augment(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images plus copies shifted one pixel up, down, left and right (5x the data)."""
    shifted = [shift_images(x, dy, dx) for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    return np.concatenate([x, *shifted]), np.concatenate([y] * 5)


def build_first_attempt() -> lamina.Model:
    """A big MLP without any regularisation: 64 -> 512 -> 512 -> 10."""
    return lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            layers.Dense(512, activation="relu"),
            layers.Dense(512, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp_first_attempt",
    )


def build_mlp() -> lamina.Model:
    """The tour's final network: 64 pixels -> 256 -> 128 -> 10 classes, with dropout and L2."""
    l2 = lamina.regularizers.L2(1e-4)
    return lamina.Sequential(
        [
            lamina.Input(shape=(64,)),
            layers.Dense(256, activation="relu", kernel_regularizer=l2),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu", kernel_regularizer=l2),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ],
        name="digits_mlp",
    )


def _compiled(model: lamina.Model) -> lamina.Model:
    model.compile(
        optimizer=lamina.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def save_curves(history: lamina.callbacks.History, path: Path) -> Path:
    """Plots loss and accuracy per epoch (training and validation) to a PNG."""
    return plots.save_figure(plots.plot_training_curves(history), path)


def _accuracy_table(accuracies: dict[str, dict[str, float]]) -> Table:
    table = Table(title="Accuracy by model and split")
    table.add_column("model")
    for split in ("train", "validation", "test"):
        table.add_column(split, justify="right")
    for name, scores in accuracies.items():
        table.add_row(
            name,
            *(f"{scores[s]:.4f}" if s in scores else "-" for s in ("train", "validation", "test")),
        )
    return table


def run_tour(
    output_dir: str | Path = "tour_output",
    epochs: int = 40,
    seed: int = 0,
    verbose: int = 1,
    console: Console | None = None,
    quick: bool = False,
) -> TourResult:
    """Runs the whole workflow on the digits and returns what it measured.

    Args:
        output_dir: Where the plots and the report are written. Defaults to `"tour_output"`.
        epochs: Most training epochs of the final network (early stopping may end
            it sooner). Defaults to `40`.
        seed: Seed of the split and the training. Defaults to `0`.
        verbose: 0 prints nothing, 1 prints each step, the progress and the tables.
            Defaults to `1`.
        console: The `rich` console to print to. Defaults to `None` (standard output).
        quick: Fewer epochs everywhere (at most 15 for the final network), the same
            steps; for tests. Defaults to `False`.
    """
    console = console or Console(highlight=False)
    with _cpu_threads(1):
        return _run(Path(output_dir), epochs, seed, verbose, console, quick)


def _run(
    out: Path, epochs: int, seed: int, verbose: int, console: Console, quick: bool
) -> TourResult:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def say(*args: Any, **kwargs: Any) -> None:
        if verbose:
            console.print(*args, **kwargs)

    def show(text: Any) -> None:
        """Prints a pre-rendered table or report as it is (no markup, no re-wrapping)."""
        if verbose:
            console.print(str(text).rstrip(), markup=False, highlight=False, soft_wrap=True)

    def step(title: str) -> None:
        if verbose:
            console.rule(f"[bold]{title}")

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    result = TourResult(quick=quick)
    first_epochs = 40 if quick else 100
    final_epochs = min(epochs, 15) if quick else epochs
    curve_epochs = 10 if quick else 25
    fractions = (0.25, 1.0) if quick else (0.1, 0.25, 0.5, 1.0)
    curve_seeds = 3  # each size trained with several seeds: bands, not lines

    # 1. Data: one split, a leakage check, the test set locked away.
    step("1. Data: split once, check for leakage")
    x, y = data.load_digits()
    x = (x / 16.0).astype(np.float32)
    splits = data.split(x, y, dev=0.15, test=0.15, train_dev=0.1, seed=seed)
    result.splits = splits
    (x_train, y_train), (x_dev, y_dev) = splits.train, splits.dev
    test_set = _LockedTestSet(*splits.test)
    say(f"Handwritten digits: {len(x)} images of 8x8 pixels, 10 classes.")
    show(splits.summary())
    say(
        "train-dev: images from the training distribution never trained on (tells variance from "
        "data mismatch); dev (shown as 'validation'): for every choice; test: used once, at the end."
    )
    result.leakage = data.check_leakage(splits)
    show(result.leakage)

    # 2. Baselines to beat, on the dev set.
    step("2. Baselines on the dev set")
    result.baselines = workflow.run_baselines(
        splits,
        include=["majority_class", "logistic_regression", "random_forest", "svm_rbf"],
        seed=seed,
    )
    majority = np.bincount(y_train).argmax()
    logreg = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    logreg.fit(x_train, y_train)
    for name, predict in (
        ("majority class", lambda a: np.full(len(a), majority)),
        ("logistic regression", logreg.predict),
    ):
        result.accuracies[name] = {
            "train": float(np.mean(predict(x_train) == y_train)),
            "validation": float(np.mean(predict(x_dev) == y_dev)),
        }
    majority_error = 1.0 - result.accuracies["majority class"]["validation"]
    show(result.baselines)

    # 3. Sanity checks on the first network, before any training.
    step("3. Doctor: sanity checks before training")
    lamina.set_seed(seed)
    first = _compiled(build_first_attempt())
    result.doctor = workflow.doctor(
        first, x_train, y_train, steps=20 if quick else 50, seed=seed, verbose=0
    )
    show(result.doctor)

    # 4. First attempt: a big network, no regularisation, the first labelled images.
    step(f"4. First attempt: a big MLP, no regularisation, {FIRST_ATTEMPT_SAMPLES} training images")
    subset = np.sort(nested_order(y_train, "classification", seed)[:FIRST_ATTEMPT_SAMPLES])
    x_small, y_small = x_train[subset], y_train[subset]
    history_first = first.fit(
        x_small,
        y_small,
        batch_size=32,
        epochs=first_epochs,
        validation_data=(x_dev, y_dev),
        verbose=0,
    )
    say(f"Trained {first_epochs} epochs on {len(y_small)} images (stratified).")
    result.diagnoses["first attempt"] = workflow.diagnose(
        first,
        train=(x_small, y_small),
        train_dev=splits.train_dev,
        dev=(x_dev, y_dev),
        human_error=HUMAN_ERROR,
        common_sense_error=majority_error,
    )
    show(result.diagnoses["first attempt"])
    result.accuracies[FIRST_NAME] = {
        "train": 1.0 - result.diagnoses["first attempt"].train_error,
        "validation": 1.0 - result.diagnoses["first attempt"].dev_error,
    }

    # 5. Second attempt, following the diagnosis.
    step("5. Second attempt: more data, augmentation, dropout, L2, early stopping")
    say(
        "Following the recommendations: all the training images, plus copies shifted by one pixel "
        "(augmentation, 5x the data), dropout 0.3, L2 1e-4 on the weights, and early stopping on "
        "the dev loss (best weights restored)."
    )
    x_aug, y_aug = augment(x_train, y_train)
    lamina.set_seed(seed)
    model = _compiled(build_mlp())
    if verbose:
        model.summary(print_fn=lambda line, *a, **k: say(line))
    stop = lamina.callbacks.EarlyStopping(monitor="val_loss", patience=6, restore_best_weights=True)
    history = model.fit(
        x_aug,
        y_aug,
        batch_size=64,
        epochs=final_epochs,
        validation_data=(x_dev, y_dev),
        callbacks=[stop],
        verbose=1 if verbose else 0,
    )
    # Training saw shifted copies (80 % of x_aug); live traffic looks like the real images,
    # so the reference profile that `lamina serve` watches for drift is made of those.
    lamina.monitoring.set_reference_data(model, x_train)
    result.curves_path = save_curves(history, out / "training_curves.png")
    result.plots["training_curves"] = result.curves_path
    final = result.diagnoses["regularised"] = workflow.diagnose(
        model,
        train=splits.train,
        train_dev=splits.train_dev,
        dev=(x_dev, y_dev),
        human_error=HUMAN_ERROR,
        common_sense_error=majority_error,
    )
    show(final)
    before = result.diagnoses["first attempt"]
    say(
        f"[bold]Variance {_points(before, 'variance')} -> {_points(final, 'variance')}; dev error "
        f"{_points(before, 'dev')} -> {_points(final, 'dev')}.[/bold] (Early stopping chose "
        "the epoch on the dev set, so the dev error is a little optimistic; the train-dev set took part "
        "in no choice.)"
    )
    result.accuracies[FINAL_NAME] = {
        "train": 1.0 - final.train_error,
        "validation": 1.0 - final.dev_error,
    }
    # The networks join the table with their predictions on the dev set, so each is
    # compared with the best baseline on the same images (McNemar's exact test).
    result.baselines.add_model(FIRST_NAME, first)
    result.baselines.add_model(FINAL_NAME, model)
    show(result.baselines.verdict(FINAL_NAME))

    # 6. Learning curve; 7. error analysis on the dev set.
    step("6. Learning curve: would more data help?")

    def build() -> lamina.Model:
        return _compiled(build_mlp())

    result.learning_curve = workflow.learning_curve(
        build,
        x_train,
        y_train,
        x_dev,
        y_dev,
        fractions=fractions,
        fit_kwargs={"epochs": curve_epochs, "batch_size": 32},
        seed=seed,
        seeds=curve_seeds,
    )
    show(result.learning_curve)
    result.plots["learning_curve"] = out / "learning_curve.png"
    result.learning_curve.plot(result.plots["learning_curve"])

    step("7. Error analysis on the dev set")
    result.error_analysis = workflow.analyze_errors(model, x_dev, y_dev, k=10, image_shape=(8, 8))
    show(result.error_analysis.confusion_matrix)
    show(result.error_analysis.worst_mistakes)
    result.plots["confusion_matrix"] = out / "confusion_matrix.png"
    result.plots["worst_mistakes"] = out / "worst_mistakes.png"
    result.error_analysis.confusion_matrix.plot(result.plots["confusion_matrix"])
    result.error_analysis.worst_mistakes.plot(path=result.plots["worst_mistakes"])

    # 8. The test set, once, at the very end.
    step("8. The test set, once, at the very end")
    result.accuracies[FINAL_NAME]["test"] = test_set.score(model)
    result.accuracies["majority class"]["test"] = test_set.score_baseline(
        lambda a: np.full(len(a), majority)
    )
    result.accuracies["logistic regression"]["test"] = test_set.score_baseline(logreg.predict)
    result.test_evaluations = test_set.uses
    if verbose:
        console.print(_accuracy_table(result.accuracies))
    comparison = result.baselines.compare(FINAL_NAME)
    test_accuracy = wilson_interval(
        int(round((1.0 - result.accuracies[FINAL_NAME]["test"]) * test_set.size)), test_set.size
    )
    say(
        f"On validation, paired on the same images: {comparison.text} Test accuracy "
        f"{result.accuracies[FINAL_NAME]['test']:.4f} (95% CI {1 - test_accuracy.high:.4f} to "
        f"{1 - test_accuracy.low:.4f}, n={test_set.size}): the number to report. Any change made "
        "now would turn the test set into a second dev set."
    )

    # 9. The report.
    step("9. Report")
    files = workflow.report(
        out / "report.html",
        model=model,
        splits=splits,
        history={
            f"first attempt ({FIRST_ATTEMPT_SAMPLES} images, no regularisation)": history_first,
            "regularised (all images, augmentation, dropout, L2, early stopping)": history,
        },
        baselines=result.baselines,
        diagnosis=result.diagnoses,
        doctor=result.doctor,
        learning_curve=result.learning_curve,
        error_analysis=result.error_analysis,
        data_summary={
            "dataset": "handwritten digits (scikit-learn, bundled)",
            "samples": len(x),
            "features": "64 pixels (8x8), scaled to [0, 1]",
            "classes": 10,
            "human-level error (assumed)": HUMAN_ERROR,
            "leakage check": result.leakage,
        },
        scores=_accuracy_intervals(result.accuracies, splits, first_train=len(y_small)),
        title="Lamina tour: handwritten digits",
    )
    result.report_path, result.report_json_path = files.html, files.json
    say(f"Training curves: {result.curves_path}")
    say(
        f"Report: [bold]{files.html}[/bold] (open it in a browser; every number is also in {files.json.name})"
    )

    # 10. Ship it.
    step("10. Ship it: save, export to ONNX (checked against the model), serve")
    model.class_names = [str(digit) for digit in range(10)]
    result.model_path = out / "digits_mlp.lamina"
    model.save(result.model_path)
    result.onnx_path = out / "digits_mlp.onnx"
    result.export = model.export(result.onnx_path, format="onnx", verbose=bool(verbose))
    say(f"Model: {result.model_path}; ONNX: {result.onnx_path}")
    say(
        f"Serve it (HTTP on 127.0.0.1:8000, monitoring page at /): [bold]lamina serve {result.model_path}[/bold]"
    )
    result.seconds = time.perf_counter() - t0
    say(f"Done in {result.seconds:.1f}s.")
    return result
