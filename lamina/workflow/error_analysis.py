"""Error analysis: which classes, samples and groups the model gets wrong.

After the diagnosis says *how much* is wrong, error analysis says *what*: the
confusion matrix (which classes are mistaken for which), per-class precision,
recall and F1, the most confident mistakes (often mislabelled or ambiguous
samples: look at them), and the metrics per group of samples (a device, a
region, a demographic) with the largest gap between groups.

Every function takes a trained model (it calls `model.predict(x)`) or the
predictions themselves (`model.predict` output: probabilities or logits, or
predicted labels), so a model is predicted once and analysed many ways;
`analyze_errors` does all of it in one call.

Example:
    >>> import numpy as np
    >>> from lamina.workflow import confusion_matrix
    >>> cm = confusion_matrix(np.array([0, 1, 1, 2]), None, np.array([0, 1, 2, 2]))
    >>> cm.counts.tolist()
    [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from lamina.data.splits import _is_multi, label_vector, num_samples, to_numpy
from lamina.utils import validation
from lamina.workflow.diagnose import _infer_task, _loss_of

__all__ = [
    "ClassificationReport",
    "ConfusionMatrix",
    "ErrorAnalysis",
    "GroupMetrics",
    "Mistake",
    "WorstMistakes",
    "analyze_errors",
    "classification_report",
    "confusion_matrix",
    "per_group_metrics",
    "worst_mistakes",
]


def _render(table: Table, width: int = 100) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, force_terminal=False, no_color=True).print(
        table
    )
    return buffer.getvalue()


def _py(value: Any) -> Any:
    """A NumPy scalar as the Python value (for JSON)."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------- predictions


@dataclass
class _Predicted:
    """Decoded predictions: task, true and predicted values, confidences."""

    task: str
    y_true: np.ndarray
    y_pred: np.ndarray  # labels (classification) or values (regression)
    confidence: np.ndarray | None  # probability of the predicted class
    n_outputs: int  # columns of the model's output (classes for probabilities)


def _raw_predictions(model_or_predictions: Any, x: Any, owner: str) -> tuple[np.ndarray, Any]:
    if callable(getattr(model_or_predictions, "predict", None)):
        if x is None:
            raise ValueError(
                f"`{owner}` needs the inputs `x` to run the model. Received: x=None. Pass the "
                "inputs, or pass the predictions instead of the model."
            )
        y_pred = model_or_predictions.predict(x, verbose=0)
        if isinstance(y_pred, (list, tuple, dict)):
            raise ValueError(
                f"`{owner}` supports models with one output. Received a model with {len(y_pred)} "
                "outputs. Pass the predictions of one output instead."
            )
        return np.asarray(y_pred), _loss_of(model_or_predictions)
    if model_or_predictions is None:
        raise TypeError(f"`{owner}` expects a trained model or its predictions. Received: None.")
    return to_numpy(model_or_predictions), None


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _predict(model_or_predictions: Any, x: Any, y: Any, task: str, owner: str) -> _Predicted:
    validation.one_of(owner, "task", task, ("auto", "classification", "regression"))
    raw, loss = _raw_predictions(model_or_predictions, x, owner)
    y_arr = to_numpy(y)
    if len(raw) != len(y_arr):
        raise ValueError(
            f"`{owner}` expects one prediction per label. Received: {len(raw)} predictions and "
            f"{len(y_arr)} labels."
        )
    n_outputs = raw.shape[1] if raw.ndim == 2 else 1
    if task == "auto":
        if raw.dtype.kind in "biuUSO" and raw.ndim == 1:
            task = "classification"  # predicted labels
        else:
            numeric = y_arr.dtype.kind in "biuf"
            task = _infer_task(loss, y_arr, raw) if numeric else "classification"
    if task == "regression":
        y_true = y_arr.astype(np.float64).reshape(len(y_arr), -1)
        values = raw.astype(np.float64).reshape(len(raw), -1)
        if y_true.shape != values.shape:
            raise ValueError(
                f"`{owner}` expects as many predicted values as targets per sample. Received: "
                f"predictions of shape {raw.shape}, targets of shape {y_arr.shape}."
            )
        if values.shape[1] == 1:
            y_true, values = y_true[:, 0], values[:, 0]
        return _Predicted("regression", y_true, values, None, n_outputs)

    if getattr(loss, "kind", None) == "binary_crossentropy" and n_outputs > 1:
        raise ValueError(
            f"`{owner}` analyses single-label classification. Received: a model with "
            f"{n_outputs} sigmoid outputs (multi-label). Analyse each label as its own binary task."
        )
    from_logits = bool(getattr(loss, "from_logits", False))
    y_true = label_vector(y_arr)
    if raw.ndim == 2 and n_outputs > 1:
        probs = raw.astype(np.float64)
        looks_like_probs = probs.min() >= 0 and np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
        if from_logits or not looks_like_probs:
            probs = _softmax(probs)
        pred = probs.argmax(axis=1)
        confidence = probs.max(axis=1)
        if (
            y_true.dtype.kind in "iub"
            and len(y_true)
            and (y_true.min() < 0 or y_true.max() >= n_outputs)
        ):
            raise ValueError(
                f"`{owner}` expects labels in 0..{n_outputs - 1} for a model with {n_outputs} "
                f"outputs. Received: labels from {y_true.min()} to {y_true.max()}."
            )
        return _Predicted("classification", y_true, pred, confidence, n_outputs)
    flat = raw.reshape(len(raw))
    if flat.dtype.kind in "biuUSO" or (
        flat.dtype.kind == "f" and np.all(flat == np.round(flat)) and flat.size and flat.max() > 1
    ):
        return _Predicted("classification", y_true, flat, None, 1)  # predicted labels
    scores = flat.astype(np.float64)
    if from_logits or scores.min(initial=0.0) < 0.0 or scores.max(initial=0.0) > 1.0:
        scores = 1.0 / (1.0 + np.exp(-scores))
    pred = (scores > 0.5).astype(np.int64)
    return _Predicted(
        "classification",
        y_true.astype(np.int64) if y_true.dtype.kind == "f" else y_true,
        pred,
        np.where(pred == 1, scores, 1.0 - scores),
        2,
    )


def _classes(
    p: _Predicted, class_names: Sequence[str] | None, owner: str
) -> tuple[list[Any], list[str]]:
    if p.confidence is not None:  # scores: one class per output column
        labels: list[Any] = list(range(max(p.n_outputs, 2)))
        present = set(np.unique(p.y_true).tolist())
        if not present <= set(labels):
            raise ValueError(
                f"`{owner}` expects integer labels 0..{len(labels) - 1}. Received: labels "
                f"{sorted(present - set(labels))[:5]} outside that range."
            )
    else:
        labels = sorted(
            set(np.unique(p.y_true).tolist()) | set(np.unique(p.y_pred).tolist()), key=str
        )
        if all(isinstance(v, (int, float)) for v in labels):
            labels = sorted(labels)
    if class_names is None:
        return labels, [str(_py(v)) for v in labels]
    names = [str(n) for n in class_names]
    if len(names) != len(labels):
        raise ValueError(
            f"`{owner}` expects one class name per class ({len(labels)} classes). Received: "
            f"{len(names)} class_names."
        )
    return labels, names


# --------------------------------------------------------------------------- confusion matrix


@dataclass
class ConfusionMatrix:
    """Counts of (true class, predicted class) pairs.

    Attributes:
        counts: Integer array of shape `(classes, classes)`: `counts[i, j]` samples of
            true class `i` were predicted as class `j` (rows: truth, columns: prediction).
        labels: The class values, in row order.
        class_names: A display name per class.
    """

    counts: np.ndarray
    labels: list[Any]
    class_names: list[str]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.counts if dtype is None else self.counts.astype(dtype)

    @property
    def accuracy(self) -> float:
        """Share of samples on the diagonal."""
        total = self.counts.sum()
        return float(np.trace(self.counts) / total) if total else 0.0

    def normalized(self) -> np.ndarray:
        """Each row divided by its total: the share of each true class predicted as each class."""
        rows = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, rows, out=np.zeros(self.counts.shape), where=rows > 0)

    def most_confused(self, n: int = 5) -> list[tuple[str, str, int]]:
        """The ``n`` largest off-diagonal cells as `(true name, predicted name, count)`."""
        off = self.counts.copy()
        np.fill_diagonal(off, 0)
        order = np.argsort(-off, axis=None, kind="stable")[:n]
        out = []
        for flat in order:
            i, j = np.unravel_index(flat, off.shape)
            if off[i, j] > 0:
                out.append((self.class_names[i], self.class_names[j], int(off[i, j])))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Returns the counts, labels, names and most confused pairs as JSON-serialisable values."""
        return {
            "labels": [_py(v) for v in self.labels],
            "class_names": list(self.class_names),
            "counts": self.counts.astype(int).tolist(),
            "accuracy": self.accuracy,
            "most_confused": [list(t) for t in self.most_confused()],
        }

    def __str__(self) -> str:
        t = Table(
            title="Confusion matrix (rows: true class, columns: predicted)", box=box.SIMPLE_HEAD
        )
        t.add_column("true \\ predicted")
        for name in self.class_names:
            t.add_column(name, justify="right")
        for name, row in zip(self.class_names, self.counts):
            t.add_row(name, *(str(int(v)) for v in row))
        text = _render(t, width=max(100, 12 + 7 * len(self.class_names))).rstrip()
        pairs = self.most_confused(3)
        if pairs:
            text += "\nMost confused: " + ", ".join(f"{a} as {b} ({c})" for a, b, c in pairs)
        return text

    def plot(self, path: str | os.PathLike | None = None, normalize: bool = False) -> Any:
        """Draws the matrix as a heat map with the counts (or row shares) written in.

        Args:
            path: Where to save the figure as PNG. Defaults to `None` (not saved).
            normalize: Colour and label by row share (recall) instead of counts.
                Defaults to `False`.

        Returns:
            The matplotlib `Figure`.
        """
        from lamina.workflow import plots

        k = len(self.class_names)
        size = min(10.0, 2.5 + 0.45 * k)
        fig, ax = plots.new_figure(size + 1.0, size)
        values = self.normalized() if normalize else self.counts
        image = ax.imshow(values, cmap="Blues")
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(
            self.class_names, rotation=45 if max(map(len, self.class_names)) > 3 else 0
        )
        ax.set_yticklabels(self.class_names)
        ax.set(
            xlabel="predicted class",
            ylabel="true class",
            title="Confusion matrix" + (" (row share)" if normalize else ""),
        )
        if k <= 20:
            high = values.max() if values.size else 0
            for i in range(k):
                for j in range(k):
                    text = f"{values[i, j]:.2f}" if normalize else str(int(values[i, j]))
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if high and values[i, j] > 0.6 * high else "black",
                    )
        fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig


def _confusion(p: _Predicted, class_names: Sequence[str] | None, owner: str) -> ConfusionMatrix:
    if p.task != "classification":
        raise ValueError(
            f"`{owner}` is for classification. Received: predictions of a regression task. Use "
            "`worst_mistakes` or `per_group_metrics` for regression errors."
        )
    labels, names = _classes(p, class_names, owner)
    index = {v: i for i, v in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    rows = np.array([index[v] for v in p.y_true.tolist()], dtype=np.int64)
    cols = np.array([index[v] for v in p.y_pred.tolist()], dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    return ConfusionMatrix(counts, labels, names)


def confusion_matrix(
    model_or_predictions: Any,
    x: Any,
    y: Any,
    class_names: Sequence[str] | None = None,
) -> ConfusionMatrix:
    """Counts how often each true class is predicted as each class.

    Args:
        model_or_predictions: A trained model (its `predict(x)` is used) or its
            predictions: class scores of shape `(n, classes)` (probabilities or
            logits), one score per sample for a binary task, or predicted labels.
        x: The inputs (None when predictions are given).
        y: The true labels (integers, strings, or one-hot rows).
        class_names: A display name per class, in label order. Defaults to `None`
            (the labels themselves).

    Returns:
        A `ConfusionMatrix`: `.counts` (rows: truth, columns: prediction),
        `.most_confused()`, `.plot()`.

    Example:
        >>> import numpy as np
        >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> confusion_matrix(probs, None, [0, 1, 1], class_names=["cat", "dog"]).most_confused()
        [('dog', 'cat', 1)]
    """
    p = _predict(model_or_predictions, x, y, "auto", "confusion_matrix")
    return _confusion(p, class_names, "confusion_matrix")


# --------------------------------------------------------------------------- per-class report


@dataclass
class ClassificationReport:
    """Per-class precision, recall, F1 and support, with their averages.

    Classes that appear neither in the labels nor in the predictions are left
    out (as in scikit-learn). A precision or recall with a zero denominator is 0.

    Attributes:
        per_class: `{class name: {"precision", "recall", "f1", "support"}}`.
        accuracy: Share of correct predictions.
        macro_avg: Unweighted mean of the per-class values (support: the total).
        weighted_avg: Mean weighted by support.
    """

    per_class: dict[str, dict[str, float]]
    accuracy: float
    macro_avg: dict[str, float]
    weighted_avg: dict[str, float]

    def worst_classes(self, n: int = 3, by: str = "f1") -> list[tuple[str, float]]:
        """The ``n`` classes with the lowest ``by`` (``"f1"``, ``"precision"`` or ``"recall"``)."""
        validation.one_of("worst_classes", "by", by, ("f1", "precision", "recall"))
        rows = sorted(self.per_class.items(), key=lambda kv: kv[1][by])
        return [(name, values[by]) for name, values in rows[:n]]

    def to_dict(self) -> dict[str, Any]:
        """Returns every number as JSON-serialisable values."""
        return {
            "per_class": {k: dict(v) for k, v in self.per_class.items()},
            "accuracy": self.accuracy,
            "macro_avg": dict(self.macro_avg),
            "weighted_avg": dict(self.weighted_avg),
        }

    def __str__(self) -> str:
        t = Table(title="Per-class precision, recall and F1", box=box.SIMPLE_HEAD)
        t.add_column("class")
        for col in ("precision", "recall", "f1", "support"):
            t.add_column(col, justify="right")
        for name, v in self.per_class.items():
            t.add_row(
                name,
                f"{v['precision']:.4f}",
                f"{v['recall']:.4f}",
                f"{v['f1']:.4f}",
                str(int(v["support"])),
            )
        t.add_section()
        for name, v in (("macro avg", self.macro_avg), ("weighted avg", self.weighted_avg)):
            t.add_row(
                name,
                f"{v['precision']:.4f}",
                f"{v['recall']:.4f}",
                f"{v['f1']:.4f}",
                str(int(v["support"])),
            )
        return _render(t).rstrip() + f"\nAccuracy: {self.accuracy:.4f}"


def _report_from(cm: ConfusionMatrix) -> ClassificationReport:
    counts = cm.counts.astype(np.float64)
    tp = np.diag(counts)
    support = counts.sum(axis=1)
    predicted = counts.sum(axis=0)
    keep = (support > 0) | (predicted > 0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    per_class = {
        cm.class_names[i]: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in np.flatnonzero(keep)
    }
    total = float(support.sum())
    weights = support[keep] / total if total else np.zeros(int(keep.sum()))

    def avg(values: np.ndarray, w: np.ndarray | None) -> float:
        v = values[keep]
        return float(v.mean()) if w is None else float((v * w).sum())

    macro = {
        "precision": avg(precision, None),
        "recall": avg(recall, None),
        "f1": avg(f1, None),
        "support": int(total),
    }
    weighted = {
        "precision": avg(precision, weights),
        "recall": avg(recall, weights),
        "f1": avg(f1, weights),
        "support": int(total),
    }
    return ClassificationReport(per_class, cm.accuracy, macro, weighted)


def classification_report(
    model_or_predictions: Any,
    x: Any,
    y: Any,
    class_names: Sequence[str] | None = None,
) -> ClassificationReport:
    """Per-class precision, recall and F1 (the numbers of scikit-learn's report).

    Precision of class c: of the samples predicted as c, the share that are c.
    Recall: of the samples of class c, the share predicted as c. F1: their
    harmonic mean. Macro average: the plain mean over classes; weighted average:
    weighted by each class's support (number of true samples).

    Args:
        model_or_predictions: A trained model or its predictions (see `confusion_matrix`).
        x: The inputs (None when predictions are given).
        y: The true labels.
        class_names: A display name per class. Defaults to `None`.

    Returns:
        A `ClassificationReport`.

    Example:
        >>> report = classification_report(np.array([0, 1, 1]), None, np.array([0, 1, 0]))
        >>> report.per_class["0"]["recall"], report.per_class["1"]["precision"]
        (0.5, 0.5)
    """
    p = _predict(model_or_predictions, x, y, "auto", "classification_report")
    return _report_from(_confusion(p, class_names, "classification_report"))


# --------------------------------------------------------------------------- worst mistakes


@dataclass
class Mistake:
    """One wrong prediction.

    Attributes:
        index: Row of the sample in the data given.
        true: The true label (class name) or target value.
        predicted: The predicted label (class name) or value.
        confidence: Classification: the probability the model gave its (wrong)
            prediction; None for regression or when only labels were given.
        error: Regression: the absolute error; None for classification.
    """

    index: int
    true: Any
    predicted: Any
    confidence: float | None = None
    error: float | None = None


@dataclass
class WorstMistakes:
    """The model's worst mistakes on a data set, worst first.

    Classification: wrong predictions ordered by the model's confidence in them
    (a confident mistake is often a mislabelled or ambiguous sample). Regression:
    the largest absolute errors.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        mistakes: The `Mistake`s, worst first.
        n_samples: Samples analysed.
        n_mistakes: Wrong predictions in all (classification) or samples with a
            non-zero error (regression).
        inputs: The inputs of the listed samples (NumPy, one row per mistake), or
            None for models with several inputs.
        image_shape: Shape to draw each input as an image (e.g. `(8, 8)`), or None.
    """

    task: str
    mistakes: list[Mistake]
    n_samples: int
    n_mistakes: int
    inputs: np.ndarray | None = None
    image_shape: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.mistakes)

    def to_dict(self) -> dict[str, Any]:
        """Returns the mistakes (without the inputs) as JSON-serialisable values."""
        return {
            "task": self.task,
            "n_samples": self.n_samples,
            "n_mistakes": self.n_mistakes,
            "mistakes": [
                {
                    "index": m.index,
                    "true": _py(m.true),
                    "predicted": _py(m.predicted),
                    "confidence": m.confidence,
                    "error": m.error,
                }
                for m in self.mistakes
            ],
        }

    def _caption(self, m: Mistake) -> str:
        if self.task == "regression":
            return f"#{m.index}: true {m.true:.3g}\npred {m.predicted:.3g}"
        conf = "" if m.confidence is None else f" ({m.confidence:.0%})"
        return f"#{m.index}: true {m.true}\npred {m.predicted}{conf}"

    def __str__(self) -> str:
        if self.task == "classification":
            title = f"Most confident mistakes ({self.n_mistakes} of {self.n_samples} wrong)"
        else:
            title = f"Largest errors ({len(self.mistakes)} of {self.n_samples} samples)"
        t = Table(title=title, box=box.SIMPLE_HEAD)
        for col in (
            "index",
            "true",
            "predicted",
            "confidence" if self.task == "classification" else "abs error",
        ):
            t.add_column(col, justify="right")
        for m in self.mistakes:
            score = m.confidence if self.task == "classification" else m.error
            t.add_row(
                str(m.index),
                str(m.true),
                str(m.predicted),
                "-" if score is None else f"{score:.4g}",
            )
        return _render(t).rstrip()

    def _images(self, images: Any, image_shape: tuple[int, ...] | None) -> np.ndarray | None:
        shape = image_shape or self.image_shape
        if images is None:
            arr = self.inputs
            if arr is None or (arr.ndim < 3 and shape is None):
                return None
        else:
            arr = to_numpy(images)
            if len(arr) == self.n_samples:
                arr = arr[[m.index for m in self.mistakes]]
            elif len(arr) != len(self.mistakes):
                raise ValueError(
                    f"`WorstMistakes.plot` expects `images` for all {self.n_samples} samples analysed "
                    f"or for the {len(self.mistakes)} mistakes. Received: {len(arr)} images."
                )
        if shape is not None:
            arr = arr.reshape(len(arr), *shape)
        if arr.ndim not in (3, 4):
            raise ValueError(
                "`WorstMistakes.plot` draws images of shape (height, width) or (height, width, "
                f"channels). Received: samples of shape {arr.shape[1:]}. Pass `image_shape=`, e.g. (8, 8)."
            )
        return arr

    def plot(
        self,
        images: Any = None,
        image_shape: tuple[int, ...] | None = None,
        path: str | os.PathLike | None = None,
        ncols: int = 5,
    ) -> Any:
        """Shows the mistakes: as images with true / predicted captions when the
        inputs are images, else as a bar chart of confidence (or absolute error).

        Args:
            images: Images to show: one per sample analysed (indexed by each
                mistake's `index`) or one per mistake. Defaults to `None`: the
                stored inputs, when they are images or `image_shape` is known.
            image_shape: Reshape each flat input to this shape, e.g. `(8, 8)` for
                the digits. Defaults to `None` (the shape given to `worst_mistakes`).
            path: Where to save the figure as PNG. Defaults to `None`.
            ncols: Images per row. Defaults to `5`.

        Returns:
            The matplotlib `Figure`.
        """
        from lamina.workflow import plots

        arr = self._images(images, image_shape) if self.mistakes else None
        title = "Most confident mistakes" if self.task == "classification" else "Largest errors"
        if arr is not None:
            fig = plots.plot_image_grid(
                arr, [self._caption(m) for m in self.mistakes], ncols=ncols, title=title
            )
        else:
            fig, ax = plots.new_figure(7.0, 0.8 + 0.35 * max(1, len(self.mistakes)))
            values = [
                (m.confidence if self.task == "classification" else m.error) or 0.0
                for m in self.mistakes
            ]
            names = [self._caption(m).replace("\n", ", ") for m in self.mistakes]
            ax.barh(range(len(values)), values, color="#c0504d")
            ax.set_yticks(range(len(values)))
            ax.set_yticklabels(names, fontsize=8)
            ax.invert_yaxis()
            ax.set(
                title=title,
                xlabel="confidence" if self.task == "classification" else "absolute error",
            )
            if not self.mistakes:
                ax.text(0.5, 0.5, "no mistakes", ha="center", va="center", transform=ax.transAxes)
            fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig


def _worst(
    p: _Predicted,
    x: Any,
    k: int,
    class_names: Sequence[str] | None,
    image_shape: tuple[int, ...] | None,
    owner: str,
) -> WorstMistakes:
    n = len(p.y_true)
    if p.task == "classification":
        labels, names = _classes(p, class_names, owner)
        name_of = {v: names[i] for i, v in enumerate(labels)}
        wrong = np.flatnonzero(p.y_true != p.y_pred)
        conf = p.confidence[wrong] if p.confidence is not None else np.zeros(len(wrong))
        order = wrong[np.argsort(-conf, kind="stable")][:k]
        mistakes = [
            Mistake(
                int(i),
                name_of.get(_py(p.y_true[i]), _py(p.y_true[i])),
                name_of.get(_py(p.y_pred[i]), _py(p.y_pred[i])),
                None if p.confidence is None else float(p.confidence[i]),
            )
            for i in order
        ]
        n_wrong = len(wrong)
    else:
        diff = np.abs(p.y_pred - p.y_true)
        per_sample = diff if diff.ndim == 1 else diff.mean(axis=1)
        order = np.argsort(-per_sample, kind="stable")[:k]
        mistakes = [
            Mistake(
                int(i),
                _py(p.y_true[i]) if p.y_true.ndim == 1 else p.y_true[i].tolist(),
                _py(p.y_pred[i]) if p.y_pred.ndim == 1 else p.y_pred[i].tolist(),
                error=float(per_sample[i]),
            )
            for i in order
        ]
        n_wrong = int((per_sample > 0).sum())
    inputs = None
    if x is not None and not _is_multi(x) and not isinstance(x, dict):
        arr = to_numpy(x)
        if len(arr) == n:
            inputs = arr[[m.index for m in mistakes]]
    return WorstMistakes(
        p.task, mistakes, n, n_wrong, inputs, tuple(image_shape) if image_shape else None
    )


def worst_mistakes(
    model_or_predictions: Any,
    x: Any,
    y: Any,
    k: int = 10,
    class_names: Sequence[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    task: str = "auto",
) -> WorstMistakes:
    """The model's ``k`` worst mistakes: the most confident wrong predictions
    (classification) or the largest absolute errors (regression).

    Args:
        model_or_predictions: A trained model or its predictions (see `confusion_matrix`).
        x: The inputs (kept for the listed samples, to show them).
        y: The true labels or targets.
        k: How many mistakes to list. Defaults to `10`.
        class_names: A display name per class. Defaults to `None`.
        image_shape: Shape to draw each input as an image, e.g. `(8, 8)` for flat
            8x8 digits. Defaults to `None`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (from the model's
            loss, else the labels). Defaults to `"auto"`.

    Returns:
        A `WorstMistakes`; `.plot()` shows the images with their true and predicted labels.

    Example:
        >>> probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.45, 0.55]])
        >>> [(m.index, m.confidence) for m in worst_mistakes(probs, None, [1, 0, 0], k=2).mistakes]
        [(0, 0.9), (1, 0.7)]
    """
    validation.positive_int("worst_mistakes", "k", k)
    p = _predict(model_or_predictions, x, y, task, "worst_mistakes")
    return _worst(p, x, k, class_names, image_shape, "worst_mistakes")


# --------------------------------------------------------------------------- groups


@dataclass
class GroupMetrics:
    """Metrics per group of samples and the largest gap between groups.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        metric: The compared error: ``"error_rate"`` or ``"mae"``.
        rows: One dict per group: `group`, `n`, and `accuracy` + `error_rate`
            (classification) or `mae` (regression); sorted worst first.
        overall: The same metrics (and `n`) on all samples.
        largest_gap: Worst group's error minus best group's error.
        worst_group: The group with the highest error.
        best_group: The group with the lowest error.
    """

    task: str
    metric: str
    rows: list[dict[str, Any]]
    overall: dict[str, Any]
    largest_gap: float
    worst_group: Any
    best_group: Any

    def to_dict(self) -> dict[str, Any]:
        """Returns every number as JSON-serialisable values."""
        return {
            "task": self.task,
            "metric": self.metric,
            "rows": [{k: _py(v) for k, v in r.items()} for r in self.rows],
            "overall": dict(self.overall),
            "largest_gap": self.largest_gap,
            "worst_group": _py(self.worst_group),
            "best_group": _py(self.best_group),
        }

    def __str__(self) -> str:
        t = Table(
            title=f"Metrics per group (largest gap in {self.metric}: {self.largest_gap:.4g}, "
            f"{self.worst_group} vs {self.best_group})",
            box=box.SIMPLE_HEAD,
        )
        cols = ["group", "n"] + (
            ["accuracy", "error_rate"] if self.task == "classification" else ["mae"]
        )
        for col in cols:
            t.add_column(col, justify="left" if col == "group" else "right")
        for r in [*self.rows, {"group": "(all)", **self.overall}]:
            t.add_row(*(f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
        return _render(t).rstrip()

    def plot(self, path: str | os.PathLike | None = None) -> Any:
        """Bar chart of the error per group, with the overall error as a line."""
        from lamina.workflow import plots

        fig, ax = plots.new_figure(max(5.0, 0.6 * len(self.rows) + 2.0), 3.8)
        names = [str(r["group"]) for r in self.rows]
        values = [r[self.metric] for r in self.rows]
        ax.bar(names, values, color="#4f81bd")
        ax.axhline(self.overall[self.metric], color="black", ls="--", lw=1, label="all samples")
        ax.set(title=f"{self.metric} per group", ylabel=self.metric, xlabel="group")
        ax.legend()
        fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig


def _groups(p: _Predicted, groups: Any, owner: str) -> GroupMetrics:
    g = to_numpy(groups)
    if g.ndim != 1 or len(g) != len(p.y_true):
        raise ValueError(
            f"`{owner}` expects one group id per sample ({len(p.y_true)} samples). Received: groups "
            f"of shape {g.shape}."
        )

    def metrics(mask: np.ndarray) -> dict[str, float]:
        if p.task == "classification":
            acc = float(np.mean(p.y_true[mask] == p.y_pred[mask]))
            return {"accuracy": acc, "error_rate": 1.0 - acc}
        return {"mae": float(np.mean(np.abs(p.y_pred[mask] - p.y_true[mask])))}

    metric = "error_rate" if p.task == "classification" else "mae"
    rows = [{"group": _py(v), "n": int((g == v).sum()), **metrics(g == v)} for v in np.unique(g)]
    rows.sort(key=lambda r: -r[metric])
    overall = {"n": len(g), **metrics(np.ones(len(g), dtype=bool))}
    return GroupMetrics(
        p.task,
        metric,
        rows,
        overall,
        float(rows[0][metric] - rows[-1][metric]),
        rows[0]["group"],
        rows[-1]["group"],
    )


def per_group_metrics(
    model_or_predictions: Any, x: Any, y: Any, groups: Any, task: str = "auto"
) -> GroupMetrics:
    """Accuracy and error rate (classification) or MAE (regression) per group of samples.

    A model can be good on average and bad on one group (a device, a site, a
    speaker). The largest gap between groups says whether that happens.

    Args:
        model_or_predictions: A trained model or its predictions (see `confusion_matrix`).
        x: The inputs (None when predictions are given).
        y: The true labels or targets.
        groups: One group id per sample.
        task: ``"classification"``, ``"regression"`` or ``"auto"``. Defaults to `"auto"`.

    Returns:
        A `GroupMetrics`, worst group first, with `largest_gap`.

    Example:
        >>> m = per_group_metrics(np.array([0, 1, 1, 1]), None, [0, 1, 0, 0], groups=["a", "a", "b", "b"])
        >>> m.worst_group, m.largest_gap
        ('b', 1.0)
    """
    p = _predict(model_or_predictions, x, y, task, "per_group_metrics")
    return _groups(p, groups, "per_group_metrics")


# --------------------------------------------------------------------------- all at once


@dataclass
class ErrorAnalysis:
    """The results of `analyze_errors` (each None when it does not apply).

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        confusion_matrix: A `ConfusionMatrix` (classification).
        classification_report: A `ClassificationReport` (classification).
        worst_mistakes: A `WorstMistakes`.
        group_metrics: A `GroupMetrics` (when groups were given).
    """

    task: str
    confusion_matrix: ConfusionMatrix | None = None
    classification_report: ClassificationReport | None = None
    worst_mistakes: WorstMistakes | None = None
    group_metrics: GroupMetrics | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Returns every part as JSON-serialisable values (missing parts omitted)."""
        out: dict[str, Any] = {"task": self.task}
        for name in (
            "confusion_matrix",
            "classification_report",
            "worst_mistakes",
            "group_metrics",
        ):
            part = getattr(self, name)
            if part is not None:
                out[name] = part.to_dict()
        return out

    def __str__(self) -> str:
        parts = [
            self.confusion_matrix,
            self.classification_report,
            self.worst_mistakes,
            self.group_metrics,
        ]
        return "\n\n".join(str(p) for p in parts if p is not None)


def analyze_errors(
    model_or_predictions: Any,
    x: Any,
    y: Any,
    class_names: Sequence[str] | None = None,
    groups: Any = None,
    k: int = 10,
    image_shape: tuple[int, ...] | None = None,
    task: str = "auto",
) -> ErrorAnalysis:
    """Runs the whole error analysis with one prediction pass.

    Classification: confusion matrix, per-class report, most confident mistakes
    and (with ``groups``) metrics per group. Regression: largest errors and
    metrics per group.

    Args:
        model_or_predictions: A trained model or its predictions.
        x: The inputs (dev set, usually: keep the test set for the final number).
        y: The true labels or targets.
        class_names: A display name per class. Defaults to `None`.
        groups: One group id per sample, or None. Defaults to `None`.
        k: How many worst mistakes to keep. Defaults to `10`.
        image_shape: Shape to draw each input as an image. Defaults to `None`.
        task: ``"classification"``, ``"regression"`` or ``"auto"``. Defaults to `"auto"`.

    Returns:
        An `ErrorAnalysis`.
    """
    owner = "analyze_errors"
    validation.positive_int(owner, "k", k)
    if num_samples(y, "y") == 0:
        raise ValueError(f"`{owner}` needs at least one sample. Received: 0 labels.")
    p = _predict(model_or_predictions, x, y, task, owner)
    out = ErrorAnalysis(p.task)
    if p.task == "classification":
        out.confusion_matrix = _confusion(p, class_names, owner)
        out.classification_report = _report_from(out.confusion_matrix)
    out.worst_mistakes = _worst(p, x, k, class_names, image_shape, owner)
    if groups is not None:
        out.group_metrics = _groups(p, groups, owner)
    return out
