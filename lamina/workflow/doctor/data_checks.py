"""The data check of `doctor`: no NaN or inf in the inputs or the targets."""

from __future__ import annotations

import numpy as np

from lamina.workflow.doctor.report import Check

__all__ = ["finite_data"]


def finite_data(x: np.ndarray, y: np.ndarray) -> Check:
    """``finite_data``: counts NaN and inf in ``x`` and ``y``; fails on any."""
    counts = {}
    for name, arr in (("x", x), ("y", y)):
        if np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating):
            counts[f"{name}_nan"] = int(np.isnan(arr).sum())
            counts[f"{name}_inf"] = int(np.isinf(arr).sum())
        else:
            counts[f"{name}_nan"] = counts[f"{name}_inf"] = 0
    bad = {k: v for k, v in counts.items() if v}
    if bad:
        where = ", ".join(f"{v} {k.split('_')[1]} in {k.split('_')[0]}" for k, v in bad.items())
        return Check(
            "finite_data",
            "fail",
            f"The data holds non-finite values: {where}.",
            counts,
            "Remove or impute the missing values (e.g. with the column mean) before training; "
            "a single NaN makes the loss and every weight NaN.",
        )
    return Check("finite_data", "pass", "No NaN or inf in x or y.", counts)
