"""The confusion matrix: which classes are mistaken for which.

Example:
    >>> import numpy as np
    >>> from lamina.workflow import confusion_matrix
    >>> cm = confusion_matrix(np.array([0, 1, 1, 2]), None, np.array([0, 1, 2, 2]))
    >>> cm.counts.tolist()
    [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.workflow import uncertainty
from lamina.workflow.error_analysis.common import classes, need_classification, predictions_for
from lamina.workflow.error_analysis.render import interval_dict, new_table, py, render
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

__all__ = ["ConfusionMatrix", "confusion_matrix", "confusion_of"]


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
    def n(self) -> int:
        """Number of samples counted."""
        return int(self.counts.sum())

    @property
    def accuracy(self) -> float:
        """Share of samples on the diagonal."""
        total = self.counts.sum()
        return float(np.trace(self.counts) / total) if total else 0.0

    def accuracy_interval(self, confidence: float = 0.95) -> Interval | None:
        """The accuracy with its Wilson score interval (None when nothing was counted)."""
        if self.n == 0:
            return None
        return uncertainty.wilson_interval(int(np.trace(self.counts)), self.n, confidence)

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
        """Returns the counts, labels, names, accuracy (with its interval) and most
        confused pairs as JSON-serialisable values."""
        return {
            "labels": [py(v) for v in self.labels],
            "class_names": list(self.class_names),
            "counts": self.counts.astype(int).tolist(),
            "n": self.n,
            "accuracy": self.accuracy,
            "accuracy_interval": interval_dict(self.accuracy_interval()),
            "most_confused": [list(t) for t in self.most_confused()],
        }

    def __str__(self) -> str:
        t = new_table("Confusion matrix (rows: true class, columns: predicted)")
        t.add_column("true \\ predicted")
        for name in self.class_names:
            t.add_column(name, justify="right")
        for name, row in zip(self.class_names, self.counts):
            t.add_row(name, *(str(int(v)) for v in row))
        text = render(t, width=max(100, 12 + 7 * len(self.class_names))).rstrip()
        interval = self.accuracy_interval()
        if interval is not None:
            text += f"\nAccuracy: {interval}"
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
                    color = "white" if high and values[i, j] > 0.6 * high else "black"
                    ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
        fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig


def confusion_of(p: Predictions, class_names: Sequence[str] | None, owner: str) -> ConfusionMatrix:
    """The `ConfusionMatrix` of decoded classification predictions."""
    need_classification(
        p, owner, "Use `worst_mistakes` or `per_group_metrics` for regression errors."
    )
    labels, names = classes(p, class_names, owner)
    index = {v: i for i, v in enumerate(labels)}
    counts = np.zeros((len(labels), len(labels)), dtype=np.int64)
    rows = np.array([index[v] for v in np.asarray(p.y_true).tolist()], dtype=np.int64)
    cols = np.array([index[v] for v in np.asarray(p.y_pred).tolist()], dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    return ConfusionMatrix(counts, labels, names)


def confusion_matrix(
    model_or_predictions: Any,
    x: Any = None,
    y: Any = None,
    class_names: Sequence[str] | None = None,
    task: str = "auto",
) -> ConfusionMatrix:
    """Counts how often each true class is predicted as each class.

    Args:
        model_or_predictions: A `Predictions`, a trained model (its `predict(x)` is
            used) or its outputs: class scores of shape `(n, classes)`
            (probabilities or logits), one score per sample for a binary task, or
            predicted labels.
        x: The inputs (None when predictions are given). Defaults to `None`.
        y: The true labels (integers, strings, or one-hot rows); not needed with a
            `Predictions`. Defaults to `None`.
        class_names: A display name per class, in label order. Defaults to `None`
            (the labels themselves).
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (`lamina.data.infer_task`
            on the labels, the outputs and the model's loss). Defaults to `"auto"`.

    Returns:
        A `ConfusionMatrix`: `.counts` (rows: truth, columns: prediction),
        `.most_confused()`, `.accuracy_interval()`, `.plot()`.

    Example:
        >>> import numpy as np
        >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> confusion_matrix(probs, None, [0, 1, 1], class_names=["cat", "dog"]).most_confused()
        [('dog', 'cat', 1)]
    """
    owner = "confusion_matrix"
    p = predictions_for(model_or_predictions, x, y, task, owner)
    return confusion_of(p, class_names, owner)
