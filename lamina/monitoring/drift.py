"""`DriftMonitor`: a sliding window of live inputs and predictions, tested against a profile.

Per watched feature: PSI on the profile's bins, and a two-sample test (KS for
numeric features, chi-squared for categorical ones; see
`lamina.monitoring.statistics`). The predictions are tested the same way (the
predicted classes with chi-squared for a classifier, the predicted value with
KS for a regressor). The p-values of the features and the predictions are
adjusted together with Benjamini–Hochberg; the monitor raises an alarm when
any adjusted p-value is below ``alpha``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from lamina.monitoring import features as feats
from lamina.monitoring import statistics as st
from lamina.monitoring.feature_profile import FeatureProfile
from lamina.monitoring.reference import ReferenceProfile

MIN_ROWS = 50


class DriftMonitor:
    """Tests the most recent ``window`` rows of live traffic against a reference profile.

    Args:
        profile: The model's `ReferenceProfile` (``model.reference_profile``).
        window: Rows kept (the most recent ones). Defaults to `500`.
        alpha: False discovery rate of the Benjamini–Hochberg procedure; a feature
            drifts when its adjusted p-value is below it. Defaults to `0.01`.
        min_rows: Rows needed before any test is run (p-values are None and
            there is no alarm before). Defaults to `50`.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(2000, 3))
        >>> monitor = DriftMonitor(ReferenceProfile.from_data(x, x.sum(axis=1)), window=500)
        >>> live = rng.normal(size=(500, 3)) + np.array([0.0, 1.0, 0.0])
        >>> monitor.update(live, live.sum(axis=1))
        >>> report = monitor.report()
        >>> report["alarm"], [f["name"] for f in report["features"] if f["drift"]]
        (True, ['x[1]'])
    """

    def __init__(self, profile: ReferenceProfile, window: int = 500, alpha: float = 0.01, min_rows: int = MIN_ROWS) -> None:
        if not isinstance(profile, ReferenceProfile):
            raise TypeError(
                "`DriftMonitor` expects a `lamina.monitoring.ReferenceProfile` (`model.reference_profile`). "
                f"Received: {type(profile).__name__}. A model has a profile once trained with `fit` "
                "(or loaded from a file saved after `fit`)."
            )
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise ValueError(f"`window` must be an integer >= 2. Received: window={window!r}.")
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0.0 < alpha < 1.0:
            raise ValueError(f"`alpha` must be a number in (0, 1). Received: alpha={alpha!r}.")
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or not 1 <= min_rows <= window:
            raise ValueError(f"`min_rows` must be an integer in [1, window]. Received: min_rows={min_rows!r}.")
        self.profile = profile
        self.window = window
        self.alpha = float(alpha)
        self.min_rows = min_rows
        self._watched: list[FeatureProfile] = list(profile.features)
        if profile.prediction is not None:
            self._watched.append(profile.prediction)
        self._values = np.full((window, len(self._watched)), np.nan)
        self._pos = 0
        self._rows = 0
        self.rows_seen = 0
        self._lock = threading.Lock()

    def update(self, inputs: Any, predictions: Any = None) -> None:
        """Adds rows of live inputs (as the model takes them: an array, or a dict /
        list of arrays) and the model's predictions on them (None: inputs only)."""
        profile = self.profile
        columns = [_encode(f, feats.raw_values(inputs, profile.inputs, f.source)) for f in profile.features]
        n = len(columns[0])
        if profile.prediction is not None:
            if predictions is None:
                columns.append(np.full(n, np.nan))
            else:
                values = feats.prediction_values(predictions, profile.task or "regression", profile.prediction_transform)
                columns.append(_encode(profile.prediction, values["value" if profile.task == "regression" else "class"]))
        if any(len(c) != n for c in columns):
            raise ValueError(
                "`update` expects one prediction per input row and the same rows in every input. "
                f"Received: {sorted({len(c) for c in columns})} rows."
            )
        rows = np.column_stack(columns) if n else np.zeros((0, len(columns)))
        with self._lock:
            if n >= self.window:
                self._values[:] = rows[-self.window:]
                self._pos = 0
            elif n:
                idx = (self._pos + np.arange(n)) % self.window
                self._values[idx] = rows
                self._pos = (self._pos + n) % self.window
            self._rows = min(self._rows + n, self.window)
            self.rows_seen += n

    def reset(self) -> None:
        """Empties the window."""
        with self._lock:
            self._values[:] = np.nan
            self._pos = self._rows = 0

    def report(self) -> dict[str, Any]:
        """The drift report of the current window (JSON-able; see the module docstring)."""
        with self._lock:
            snapshot = self._values[: self._rows].copy()
            rows = self._rows
        tested = rows >= self.min_rows
        entries = [_test(f, snapshot[:, j], tested) for j, f in enumerate(self._watched)]
        p_values = np.array([e["p_value"] for e in entries if e["p_value"] is not None])
        adjusted = iter(st.benjamini_hochberg(p_values).tolist())
        for e in entries:
            if e["p_value"] is not None:
                e["p_adjusted"] = float(next(adjusted))
                e["drift"] = e["p_adjusted"] < self.alpha
        n_features = len(self.profile.features)
        return {
            "window_rows": rows,
            "window": self.window,
            "rows_seen": self.rows_seen,
            "alarm": any(e["drift"] for e in entries),
            "alpha": self.alpha,
            "features": entries[:n_features],
            "predictions": entries[n_features] if len(entries) > n_features else None,
            "prediction_distribution": self._distribution(snapshot[:, n_features] if len(entries) > n_features else None),
        }

    def _distribution(self, live: np.ndarray | None) -> dict[str, Any] | None:
        f = self.profile.prediction
        if f is None or live is None:
            return None
        live = live[np.isfinite(live)]
        if f.kind == "categorical":
            names = self.profile.class_names
            labels = [names[int(v)] if names and isinstance(v, int) and int(v) < len(names) else str(v) for v in f.labels]
            ref = f.reference_fractions()
            cur = np.bincount(live.astype(np.int64), minlength=len(f.labels) + 1) / max(len(live), 1)
            if ref[-1] == 0 and cur[-1] == 0:
                ref, cur = ref[:-1], cur[:-1]
            else:
                labels.append("other")
            return {"kind": "classes", "labels": labels, "reference": ref.tolist(), "live": cur.tolist()}
        edges = f.edges
        labels = [f"< {edges[0]:.4g}"] + [f"{a:.4g} to {b:.4g}" for a, b in zip(edges, edges[1:])] + [f">= {edges[-1]:.4g}"] if edges else ["all"]
        return {"kind": "values", "labels": labels, "reference": f.reference_fractions().tolist(),
                "live": st.bin_fractions(live, np.asarray(edges)).tolist()}


def _encode(f: FeatureProfile, values: np.ndarray) -> np.ndarray:
    if f.kind == "categorical":
        return f.encode(values).astype(np.float64)
    v = np.asarray(values)
    if v.dtype.kind not in "biuf":
        try:
            v = v.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"The feature {f.name!r} was numeric in training; the live values are not numbers. "
                f"Received: dtype {v.dtype}. Pass inputs encoded as in training."
            ) from None
    return v.astype(np.float64).reshape(-1)


def _test(f: FeatureProfile, column: np.ndarray, tested: bool) -> dict[str, Any]:
    live = column[np.isfinite(column)]
    entry: dict[str, Any] = {"name": f.name, "kind": f.kind, "psi": None, "test": "ks" if f.kind == "numeric" else "chi2",
                             "statistic": None, "p_value": None, "p_adjusted": None, "drift": False}
    if live.size == 0:
        return entry
    if f.kind == "numeric":
        entry["psi"] = st.psi(f.reference_fractions(), st.bin_fractions(live, np.asarray(f.edges)))
        if tested:
            entry["statistic"], entry["p_value"] = st.ks_against_quantiles(live, np.asarray(f.quantiles), f.count)
    else:
        ref_counts = np.array([*f.counts, f.other], dtype=np.float64)
        cur_counts = np.bincount(live.astype(np.int64), minlength=len(f.labels) + 1).astype(np.float64)
        entry["psi"] = st.psi(ref_counts / max(ref_counts.sum(), 1.0), cur_counts / cur_counts.sum())
        if tested:
            entry["statistic"], entry["p_value"] = st.chi2_two_sample(ref_counts, cur_counts)
    return entry
