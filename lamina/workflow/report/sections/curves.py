"""The curve sections: training curves (a `History` per run), the learning curve
(with its seeds' bands and the intervals of each point) and the learning-rate
range test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lamina.workflow import plots
from lamina.workflow.report.intervals import as_interval, interval_cell
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import INTERVAL_NOTE, _e, _Page, _table


def training_section(page: _Page, histories: Mapping[str, Any]) -> None:
    """The training curves and final values of each run."""
    page.section("training", "Training curves")
    out = {}
    for name, history in histories.items():
        values = plots.history_dict(history)
        epochs = max((len(v) for v in values.values()), default=0)
        final = {k: v[-1] for k, v in values.items() if v}
        out[name] = {"history": values, "epochs": epochs, "final": final}
        if len(histories) > 1 or name != "model":
            page.add(f"<h3>{_e(name)}</h3>")
        page.figure(plots.plot_training_curves(values), f"training curves of {name}")
        page.add(_table(["quantity", "final value"], [(k, v) for k, v in final.items()]))
        page.add(f"<p>{epochs} epoch(s).</p>")
    page.data["training"] = to_jsonable(out)
    page.end()


def _per_size(curve: Any, name: str, count: int) -> list[Any]:
    """``curve.<name>`` (one interval per size) or ``[None] * count`` when absent."""
    values = getattr(curve, name, None)
    if isinstance(values, Sequence) and len(values) == count:
        return list(values)
    return [None] * count


def _curve_rows(curve: Any, data: dict[str, Any], pct: bool) -> tuple[list[tuple], bool]:
    sizes, train, dev = data["sizes"], data["train_errors"], data["dev_errors"]
    train_iv = _per_size(curve, "train_intervals", len(sizes))
    dev_iv = _per_size(curve, "dev_intervals", len(sizes))
    n_dev = data.get("n_dev") or None
    gap_interval = getattr(curve.reading(), "gap_interval", None)
    rows = []
    for i, size in enumerate(sizes):
        gap = None if dev[i] is None or train[i] is None else dev[i] - train[i]
        if i == len(sizes) - 1 and as_interval(gap_interval) is not None:
            gap = gap_interval  # the reading's gap at the largest size, with its interval
        rows.append(
            (
                f"{size:,}",
                interval_cell(train_iv[i] if train_iv[i] is not None else train[i], pct),
                interval_cell(dev_iv[i] if dev_iv[i] is not None else dev[i], pct, n=n_dev),
                interval_cell(gap, pct),
            )
        )
    shown = any(as_interval(v) is not None for v in [*train_iv, *dev_iv])
    return rows, shown


def learning_curve_section(page: _Page, curve: Any) -> None:
    """The curve's plot (bands where it has several seeds), its table and its reading."""
    page.section("learning_curve", "Learning curve: would more data help?")
    page.figure(curve.plot(), "learning curve")
    data = to_jsonable(curve.to_dict())
    for key in ("seeds", "train_intervals", "dev_intervals"):
        if key not in data and getattr(curve, key, None) is not None:
            data[key] = to_jsonable(getattr(curve, key))
    pct = data["metric"] == "error"
    rows, shown = _curve_rows(curve, data, pct)
    page.add(_table(["samples", "train error", "dev error", "gap"], rows, left=1))
    seeds = getattr(curve, "seeds", None)
    if isinstance(seeds, Sequence) and not isinstance(seeds, str) and len(seeds) > 1:
        page.add(
            f'<p class="note">Each size trained with {len(seeds)} seeds ({_e(list(seeds))}).</p>'
        )
    if shown:
        page.add(INTERVAL_NOTE)
    reading = data["reading"]
    slope = as_interval(getattr(curve.reading(), "slope", None))
    if slope is not None:
        page.add(
            "<p>Change of the dev error per doubling of the data (negative: still falling): "
            f"{_e(interval_cell(slope, pct))}.</p>"
        )
    page.verdict(reading["message"], head=f"{str(reading['verdict']).replace('_', ' ')}:")
    page.data["learning_curve"] = data
    page.end()


def lr_find_section(page: _Page, result: Any) -> None:
    """The loss against the learning rate and the suggestion."""
    page.section("lr_find", "Learning-rate range test")
    page.figure(result.plot(), "learning-rate range test")
    page.add(f"<p>{_e(result)}</p>")
    page.data["lr_find"] = to_jsonable(result.to_dict())
    page.end()
