"""The Cross-validation section: each metric's mean, standard deviation and the
Nadeau–Bengio corrected interval of the mean (which accounts for the overlap of
the training sets between folds), then the score of every fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.workflow.report.intervals import interval_cell
from lamina.workflow.report.jsonable import to_jsonable
from lamina.workflow.report.page import _e, _Page, _table


def _interval(result: Any, metric: str) -> Any:
    """``result.interval(metric)`` when the result has it, else None."""
    method = getattr(result, "interval", None)
    if not callable(method):
        return None
    try:
        return method(metric)
    except ValueError:  # a NaN score: no interval
        return None


def _one(page: _Page, name: str, result: Any, titled: bool) -> dict[str, Any]:
    data = to_jsonable(result.to_dict()) if callable(getattr(result, "to_dict", None)) else {}
    if titled:
        page.add(f"<h3>{_e(name)}</h3>")
    mean, std = result.mean, result.std
    fits = len(result.scores)
    rows = [
        (metric, mean[metric], std[metric], interval_cell(_interval(result, metric), n=fits))
        for metric in mean
    ]
    page.add(
        f"<p>{result.folds} folds x {result.repeats} repeat(s): {fits} fits.</p>"
        + _table(["metric", "mean", "std", "mean (95% CI, corrected)"], rows)
        + '<p class="note">The interval is the Nadeau–Bengio corrected resampled t interval: '
        "the folds' training sets overlap, so their scores are not independent and the plain "
        "t interval would be too narrow; n is the number of fits.</p>"
    )
    metrics = list(mean)
    fold_rows = []
    for i, (score, (train, held_out)) in enumerate(zip(result.scores, result.fold_indices)):
        repeat, fold = divmod(i, result.folds)
        sizes = (f"{len(train):,}", f"{len(held_out):,}")
        fold_rows.append((str(repeat + 1), str(fold + 1), *sizes, *(score[m] for m in metrics)))
    page.add(_table(["repeat", "fold", "train", "held out", *metrics], fold_rows, left=0))
    if not data:
        data = to_jsonable({"scores": result.scores, "mean": mean, "std": std})
    return data


def cross_validation_section(page: _Page, results: Mapping[str, Any]) -> None:
    """One summary and one per-fit table per `CVResult` (from `cross_validate`), by name."""
    page.section("cross_validation", "Cross-validation")
    titled = len(results) > 1 or "model" not in results
    page.data["cross_validation"] = {
        name: _one(page, name, result, titled) for name, result in results.items()
    }
    page.end()
