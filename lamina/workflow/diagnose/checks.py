"""Argument checks of the diagnosis constructors (errors that say what was received)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lamina.utils import validation
from lamina.workflow.diagnose.wording import METRICS, SPLITS


def check_metric(owner: str, task: str, metric: str) -> str:
    """``metric`` resolved for ``task`` (``"auto"``: error or MAE), or a clear error."""
    validation.one_of(owner, "metric", metric, METRICS)
    if metric == "auto":
        return "error" if task == "classification" else "mae"
    if task == "classification" and metric != "error":
        raise ValueError(
            f"`{owner}` expects `metric='error'` (1 − accuracy) for classification. Received: "
            f"metric={metric!r}. Use 'error', or pass `task='regression'`."
        )
    if task == "regression" and metric == "error":
        raise ValueError(
            f"`{owner}` expects `metric` to be 'mae' or 'rmse' for regression. Received: "
            "metric='error'. Use 'mae' or 'rmse', or pass `task='classification'`."
        )
    return metric


def check_error(owner: str, name: str, value: Any, high: float | None, allow_none: bool) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"`{owner}` expects `{name}` to be a finite number. Received: {name}={value!r}. "
            "Check the predictions for NaN (e.g. run lamina.workflow.doctor)."
        )
    validation.number(owner, name, value, low=0.0, high=high, allow_none=allow_none)


def check_references(
    owner: str, task: str, human: Any, baseline: Any, common_sense: Any
) -> dict[str, float | None]:
    high = 1.0 if task == "classification" else None
    refs = {"human": human, "baseline": baseline, "common_sense": common_sense}
    for name, value in refs.items():
        check_error(owner, name, value, high, allow_none=True)
    return {k: None if v is None else float(v) for k, v in refs.items()}


def check_confidence(owner: str, confidence: Any, seed: Any) -> tuple[float, int]:
    validation.number(
        owner,
        "confidence",
        confidence,
        low=0.0,
        high=1.0,
        low_inclusive=False,
        high_inclusive=False,
    )
    return float(confidence), validation.non_negative_int(owner, "seed", seed)


def check_sizes(
    owner: str, sizes: Mapping[str, int] | None, errors: dict[str, float | None]
) -> dict[str, int | None]:
    if sizes is None:
        return {}
    if not isinstance(sizes, Mapping):
        raise TypeError(
            f"`{owner}` expects `sizes` to be a dict of split sizes, e.g. {{'train': 400, 'dev': 400}}. "
            f"Received: sizes of type {type(sizes).__name__}."
        )
    unknown = sorted(set(sizes) - set(SPLITS))
    if unknown:
        raise ValueError(
            f"`{owner}` expects `sizes` keys among {list(SPLITS)}. Received: {unknown}."
        )
    out: dict[str, int | None] = {}
    for name, n in sizes.items():
        if errors[name] is None:
            raise ValueError(
                f"`{owner}` got a size for `{name}` but no `{name}` error. Received: sizes[{name!r}]={n!r}, "
                f"{name}=None. Pass the error too, or drop the size."
            )
        out[name] = validation.positive_int(owner, f"sizes[{name!r}]", n)
    return out
