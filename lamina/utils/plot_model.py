"""`plot_model`: the layer graph of a model drawn to an image file.

With Graphviz's `dot` on the PATH the graph is laid out by it (as in Keras);
otherwise Lamina lays it out itself (layers ranked by their distance from the
inputs) and draws it with matplotlib, so no system package is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import Any

_RANKDIRS = ("TB", "LR")


def _graph(model: Any, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
           show_layer_activations: bool, show_trainable: bool) -> tuple[list[str], list[tuple[int, int]]]:
    """Node labels (one per layer) and edges (parent index, child index)."""
    from lamina.models.functional import Functional, model_layers
    from lamina.models.summary import _is_built, _rows

    name = getattr(model, "name", type(model).__name__)
    if not _is_built(model):
        raise ValueError(
            f"`plot_model` needs a built model: model '{name}' has not seen any data, so its layers "
            "have no shapes yet. Received: an unbuilt model. Start it with "
            "`lamina.Input(shape=...)`, or call `model.build(input_shape)` first."
        )
    rows = [row for row, depth in _rows(model, False) if depth == 0]
    layers = model_layers(model)
    labels, names = [], []
    for (title, shape_text, _params, _connected, flag), layer in zip(rows, layers):
        layer_name = getattr(layer, "name", None) or title.split(" ")[0]
        names.append(layer_name)
        kind = type(layer).__name__
        lines = [f"{layer_name} ({kind})" if show_layer_names else kind]
        if show_layer_activations:
            act = getattr(layer, "activation", None)
            if act is not None:
                lines.append(f"activation: {getattr(act, '__name__', act)}")
        if show_dtype:
            lines.append(f"dtype: {_dtype_of(layer)}")
        if show_shapes:
            lines.append(f"output: {shape_text}")
        if show_trainable:
            lines.append(f"trainable: {flag}")
        labels.append("\n".join(lines))
    edges: list[tuple[int, int]] = []
    if isinstance(model, Functional):
        index = {n: i for i, n in enumerate(names)}
        for i, (_title, _shape, _params, connected, _flag) in enumerate(rows):
            for parent in re.findall(r"([^,\s\[]+)\[\d+\]\[\d+\]", connected):
                if parent in index and (index[parent], i) not in edges:
                    edges.append((index[parent], i))
    else:
        edges = [(i, i + 1) for i in range(len(labels) - 1)]
    return labels, edges


def _dtype_of(layer: Any) -> str:
    """The layer's dtype: the one it was given, else that of its first weight."""
    dtype = getattr(layer, "dtype", None) or getattr(layer, "compute_dtype", None)
    if dtype is None:
        dtype = next((w.dtype for w in layer.parameters()), None) if hasattr(layer, "parameters") else None
    return str(dtype or "float32").replace("torch.", "")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200,
                 show_layer_activations: bool = False, show_trainable: bool = False, **kwargs: Any) -> str:
    """The layer graph of `model` as Graphviz DOT source text (arguments as in `plot_model`).

    Keras returns a `pydot.Dot` object; Lamina returns its source text, which
    `dot -Tpng` renders.
    """
    labels, edges = _graph(model, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
    lines = [f"digraph {_quote(getattr(model, 'name', 'model'))} {{", f"  rankdir={rankdir};", f"  dpi={dpi};",
             '  node [shape=box, style="rounded,filled", fillcolor="#e8eef7", fontname="Helvetica"];']
    lines += [f"  n{i} [label={_quote(label)}];" for i, label in enumerate(labels)]
    lines += [f"  n{a} -> n{b};" for a, b in edges]
    return "\n".join(lines + ["}"]) + "\n"


def _ranks(n: int, edges: list[tuple[int, int]]) -> list[int]:
    rank = [0] * n
    for _ in range(n):  # longest path from the inputs (the graph is acyclic)
        changed = False
        for a, b in edges:
            if rank[b] < rank[a] + 1:
                rank[b], changed = rank[a] + 1, True
        if not changed:
            break
    return rank


def _draw_matplotlib(labels: list[str], edges: list[tuple[int, int]], to_file: str, rankdir: str, dpi: int) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    rank = _ranks(len(labels), edges)
    columns: dict[int, list[int]] = {}
    for i, r in enumerate(rank):
        columns.setdefault(r, []).append(i)
    box_w = max(2.2, 0.11 * max(len(line) for label in labels for line in label.split("\n")))
    box_h = 0.32 * max(label.count("\n") + 1 for label in labels) + 0.25
    step_along, step_across = box_h + 0.6, box_w + 0.5
    pos = {}
    for r, members in columns.items():
        for k, i in enumerate(members):
            across = (k - (len(members) - 1) / 2) * step_across
            pos[i] = (across, -r * step_along) if rankdir == "TB" else (r * (box_w + 0.8), -across * box_h / box_w * 1.6)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    width = max(xs) - min(xs) + box_w + 0.6
    height = max(ys) - min(ys) + box_h + 0.6
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(min(xs) - box_w / 2 - 0.3, max(xs) + box_w / 2 + 0.3)
    ax.set_ylim(min(ys) - box_h / 2 - 0.3, max(ys) + box_h / 2 + 0.3)
    ax.axis("off")
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        if rankdir == "TB":
            start, end = (xa, ya - box_h / 2), (xb, yb + box_h / 2)
        else:
            start, end = (xa + box_w / 2, ya), (xb - box_w / 2, yb)
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 1.2})
    for i, label in enumerate(labels):
        x, y = pos[i]
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h, boxstyle="round,pad=0.02",
                                    facecolor="#e8eef7", edgecolor="#333333", lw=1.2))
        ax.text(x, y, label, ha="center", va="center", fontsize=9, family="sans-serif")
    fig.savefig(to_file, dpi=dpi)
    plt.close(fig)


def plot_model(
    model: Any,
    to_file: str | os.PathLike = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    **kwargs: Any,
) -> Any:
    """Draws the layer graph of a model (boxes for layers, arrows for tensors) to an image.

    Works for `Sequential`, functional and built subclassed models (the last
    drawn as the chain of their layers). Graphviz's `dot` is used when it is
    installed, otherwise matplotlib.

    Args:
        model: A built Lamina model.
        to_file: File name of the image; its extension (`.png`, `.svg`, `.pdf`)
            picks the format. Defaults to `"model.png"`.
        show_shapes: Whether to show each layer's output shape. Defaults to `False`.
        show_dtype: Whether to show each layer's dtype. Defaults to `False`.
        show_layer_names: Whether to show layer names. Defaults to `True`.
        rankdir: `"TB"` (vertical) or `"LR"` (horizontal). Defaults to `"TB"`.
        expand_nested: Keras draws nested models inside clusters; Lamina draws
            them as one box and refuses `True`. Defaults to `False`.
        dpi: Image resolution in dots per inch. Defaults to `200`.
        show_layer_activations: Whether to show the activation of layers that
            have one. Defaults to `False`.
        show_trainable: Whether to show if a layer is trainable. Defaults to `False`.

    Returns:
        An `IPython.display.Image` of the file when IPython is installed (so a
        notebook shows it), else `None`.

    Example:
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])  # doctest: +SKIP
        >>> lamina.utils.plot_model(model, "model.png", show_shapes=True)  # doctest: +SKIP
    """
    unknown = set(kwargs) - {"layer_range", "show_layer_activations"}
    if unknown:
        raise TypeError(f"`plot_model` got unexpected keyword arguments: {sorted(unknown)}. Received: {kwargs!r}.")
    if kwargs.get("layer_range") is not None:
        raise ValueError("`plot_model` does not support `layer_range`. Received: "
                         f"layer_range={kwargs['layer_range']!r}. Plot the whole model.")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"`plot_model` expects `rankdir` to be 'TB' or 'LR'. Received: rankdir={rankdir!r}.")
    if expand_nested:
        raise ValueError("`plot_model` draws nested models as one box. Received: expand_nested=True. "
                         "Plot the nested model on its own: `plot_model(model.get_layer(name))`.")
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1][1:].lower() or "png"
    if ext not in ("png", "svg", "pdf", "jpg", "jpeg"):
        raise ValueError(f"`plot_model` writes png, svg, pdf or jpg files. Received: to_file={to_file!r}.")
    dot = shutil.which("dot")
    if dot is not None:
        source = model_to_dot(model, show_shapes, show_dtype, show_layer_names, rankdir, dpi=dpi,
                              show_layer_activations=show_layer_activations, show_trainable=show_trainable)
        subprocess.run([dot, f"-T{'jpeg' if ext == 'jpg' else ext}", "-o", to_file], input=source.encode(), check=True)
    else:
        labels, edges = _graph(model, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
        _draw_matplotlib(labels, edges, to_file, rankdir, dpi)
    if ext != "pdf":
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
