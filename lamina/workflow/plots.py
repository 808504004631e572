"""Shared matplotlib helpers for the workflow's plots.

Every figure is drawn on matplotlib's Agg canvas (no window, no global `pyplot`
state, safe in threads and on machines without a display). Plot functions
return a `matplotlib.figure.Figure`; `figure_to_png` turns one into PNG bytes,
`save_figure` writes it to a file and `png_data_uri` embeds PNG bytes in HTML.

Example:
    >>> from lamina.workflow import plots
    >>> fig = plots.plot_training_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]})
    >>> plots.figure_to_png(fig)[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "figure_to_png",
    "history_dict",
    "new_figure",
    "plot_image_grid",
    "plot_training_curves",
    "png_data_uri",
    "save_figure",
]

#: Resolution of saved and embedded figures.
DPI = 100


def new_figure(
    width: float = 6.0, height: float = 4.0, ncols: int = 1, nrows: int = 1
) -> tuple[Any, Any]:
    """A figure on an Agg canvas and its axes (one `Axes`, or an array for a grid).

    Args:
        width: Figure width in inches. Defaults to `6.0`.
        height: Figure height in inches. Defaults to `4.0`.
        ncols: Columns of subplots. Defaults to `1`.
        nrows: Rows of subplots. Defaults to `1`.

    Returns:
        `(figure, axes)`; `axes` is one `Axes` for a 1x1 grid, else a NumPy array.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def figure_to_png(fig: Any, dpi: int = DPI) -> bytes:
    """Renders a figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = DPI) -> Path:
    """Writes a figure to a PNG file (creating its folder); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_to_png(fig, dpi))
    return path


def png_data_uri(png: bytes) -> str:
    """PNG bytes as a `data:image/png;base64,...` URI, to embed in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def history_dict(history: Any) -> dict[str, list[float]]:
    """The per-epoch values of a `History` (or of its `.history` dict) as float lists.

    Raises a TypeError for anything else.
    """
    values = getattr(history, "history", history)
    if not isinstance(values, Mapping):
        raise TypeError(
            "Expected a `History` (returned by `fit`) or a dict of per-epoch values. "
            f"Received: {type(history).__name__}."
        )
    return {str(k): [float(v) for v in vs] for k, vs in values.items() if isinstance(vs, Sequence)}


def plot_training_curves(history: Any, title: str | None = None) -> Any:
    """Plots each quantity of a training history per epoch, training next to validation.

    One panel per quantity (`loss`, `accuracy`, ...); the `val_` series is drawn in
    the same panel as its training series.

    Args:
        history: A `History` from `fit`, or its `.history` dict.
        title: Optional title over the panels. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.
    """
    values = history_dict(history)
    names = [k for k in values if not k.startswith("val_") and k not in ("lr", "learning_rate")]
    names += [k[4:] for k in values if k.startswith("val_") and k[4:] not in values]
    names = names or ["loss"]
    fig, axes = new_figure(4.5 * len(names), 3.6, ncols=len(names))
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, names):
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            if key in values and values[key]:
                epochs = np.arange(1, len(values[key]) + 1)
                ax.plot(
                    epochs, values[key], marker="o" if len(epochs) < 15 else None, ms=3, label=label
                )
        ax.set(title=name.replace("_", " "), xlabel="epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_image_grid(
    images: np.ndarray,
    captions: Sequence[str],
    ncols: int = 5,
    title: str | None = None,
) -> Any:
    """Shows images in a grid with one caption each (grey-scale for one channel).

    Args:
        images: Array of shape `(n, height, width)` or `(n, height, width, channels)`
            (channels-last, 1, 3 or 4 channels).
        captions: One caption per image.
        ncols: Images per row. Defaults to `5`.
        title: Optional title. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.
    """
    images = np.asarray(images)
    n = len(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            "`plot_image_grid` expects images of shape (n, height, width) or (n, height, width, "
            f"channels). Received: shape {images.shape}."
        )
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = new_figure(
        2.0 * ncols, 2.3 * nrows + (0.4 if title else 0.0), ncols=ncols, nrows=nrows
    )
    axes = np.atleast_1d(axes).reshape(-1)
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        img = images[i]
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.ndim == 3:
            img = img.astype(np.float64)
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
            ax.imshow(img, interpolation="nearest")
        else:
            ax.imshow(img, cmap="gray_r", interpolation="nearest")
        ax.set_title(captions[i] if i < len(captions) else "", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
