"""The worst mistakes: the most confident wrong predictions (classification) or
the largest errors (regression), with the inputs kept to look at them.

Example:
    >>> import numpy as np
    >>> from lamina.workflow import worst_mistakes
    >>> probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.45, 0.55]])
    >>> worst_mistakes(probs, None, [1, 0, 0], k=2).n_mistakes
    3
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamina.data.splits import _is_multi, to_numpy
from lamina.utils import validation
from lamina.workflow.error_analysis.common import classes, predictions_for
from lamina.workflow.error_analysis.render import new_table, py, render
from lamina.workflow.predictions import Predictions

__all__ = ["Mistake", "WorstMistakes", "worst_mistakes", "worst_of"]


def _cell(value: Any) -> str:
    """A label as is; a target value (or a row of them) to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    return str(value)


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
                    "true": py(m.true),
                    "predicted": py(m.predicted),
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
        t = new_table(title)
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
                _cell(m.true),
                _cell(m.predicted),
                "-" if score is None else f"{score:.4g}",
            )
        return render(t).rstrip()

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


def _classification_mistakes(
    p: Predictions, k: int, class_names: Sequence[str] | None, owner: str
) -> tuple[list[Mistake], int]:
    labels, names = classes(p, class_names, owner)
    name_of = {v: names[i] for i, v in enumerate(labels)}
    wrong = np.flatnonzero(~p.correct)
    conf = p.confidence[wrong] if p.confidence is not None else np.zeros(len(wrong))
    order = wrong[np.argsort(-conf, kind="stable")][:k]
    mistakes = [
        Mistake(
            int(i),
            name_of.get(py(p.y_true[i]), py(p.y_true[i])),
            name_of.get(py(p.y_pred[i]), py(p.y_pred[i])),
            None if p.confidence is None else float(p.confidence[i]),
        )
        for i in order
    ]
    return mistakes, len(wrong)


def _regression_mistakes(p: Predictions, k: int) -> tuple[list[Mistake], int]:
    per_sample = p.errors  # absolute error, averaged over outputs
    order = np.argsort(-per_sample, kind="stable")[:k]
    y_true, y_pred = np.asarray(p.y_true), np.asarray(p.y_pred)
    mistakes = [
        Mistake(
            int(i),
            py(y_true[i]) if y_true.ndim == 1 else y_true[i].tolist(),
            py(y_pred[i]) if y_pred.ndim == 1 else y_pred[i].tolist(),
            error=float(per_sample[i]),
        )
        for i in order
    ]
    return mistakes, int((per_sample > 0).sum())


def worst_of(
    p: Predictions,
    x: Any,
    k: int,
    class_names: Sequence[str] | None,
    image_shape: tuple[int, ...] | None,
    owner: str,
) -> WorstMistakes:
    """The `WorstMistakes` of decoded predictions (``x``: the inputs, kept for the
    listed samples when they are one array)."""
    if p.task == "classification":
        mistakes, n_wrong = _classification_mistakes(p, k, class_names, owner)
    else:
        mistakes, n_wrong = _regression_mistakes(p, k)
    inputs = None
    if x is not None and not _is_multi(x) and not isinstance(x, dict):
        arr = to_numpy(x)
        if len(arr) == p.n:
            inputs = arr[[m.index for m in mistakes]]
    return WorstMistakes(
        p.task, mistakes, p.n, n_wrong, inputs, tuple(image_shape) if image_shape else None
    )


def worst_mistakes(
    model_or_predictions: Any,
    x: Any = None,
    y: Any = None,
    k: int = 10,
    class_names: Sequence[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    task: str = "auto",
) -> WorstMistakes:
    """The model's ``k`` worst mistakes: the most confident wrong predictions
    (classification) or the largest absolute errors (regression).

    Args:
        model_or_predictions: A `Predictions`, a trained model or its outputs (see
            `confusion_matrix`).
        x: The inputs (kept for the listed samples, to show them). Defaults to `None`.
        y: The true labels or targets (not needed with a `Predictions`). Defaults to `None`.
        k: How many mistakes to list. Defaults to `10`.
        class_names: A display name per class. Defaults to `None`.
        image_shape: Shape to draw each input as an image, e.g. `(8, 8)` for flat
            8x8 digits. Defaults to `None`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (`lamina.data.infer_task`
            on the targets, the outputs and the model's loss). Defaults to `"auto"`.

    Returns:
        A `WorstMistakes`; `.plot()` shows the images with their true and predicted labels.

    Example:
        >>> probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.45, 0.55]])
        >>> [(m.index, m.confidence) for m in worst_mistakes(probs, None, [1, 0, 0], k=2).mistakes]
        [(0, 0.9), (1, 0.7)]
    """
    owner = "worst_mistakes"
    validation.positive_int(owner, "k", k)
    p = predictions_for(model_or_predictions, x, y, task, owner)
    return worst_of(p, x, k, class_names, image_shape, owner)
