"""The baseline predictors: common-sense rules and classical scikit-learn models,
and the conversion of the inputs into the 2-D feature matrix they need."""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.data.splits import _is_multi, to_numpy

#: An RBF SVM is fitted only when n_train * n_features is at most this.
SVM_MAX_SIZE = 1_000_000

COMMON_SENSE = {
    "classification": ("majority_class",),
    "regression": ("mean", "last_value"),
}
CLASSICAL = {
    "classification": ("logistic_regression", "random_forest", "gradient_boosting", "svm_rbf"),
    "regression": ("ridge", "random_forest", "gradient_boosting", "svm_rbf"),
}


def classical_model(name: str, task: str, seed: int, multi_output: bool) -> Any:
    """A fresh, unfitted scikit-learn estimator for the baseline ``name``."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.multioutput import MultiOutputRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, SVR

    if name == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    if name == "ridge":
        return make_pipeline(StandardScaler(), Ridge())
    if name == "random_forest":
        cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
        return cls(n_estimators=100, random_state=seed)
    if name == "gradient_boosting":
        if task == "classification":
            return HistGradientBoostingClassifier(random_state=seed)
        model = HistGradientBoostingRegressor(random_state=seed)
        return MultiOutputRegressor(model) if multi_output else model
    if name == "svm_rbf":
        if task == "classification":
            return make_pipeline(StandardScaler(), SVC(kernel="rbf"))
        model = make_pipeline(StandardScaler(), SVR(kernel="rbf"))
        return MultiOutputRegressor(model) if multi_output else model
    raise AssertionError(name)  # pragma: no cover - names are validated


def features(x: Any, what: str) -> np.ndarray:
    """Inputs as a 2-D float matrix: images and sequences are flattened, several
    inputs concatenated."""
    if _is_multi(x):
        values = list(x.values()) if isinstance(x, dict) else list(x)
        return np.concatenate([features(v, what) for v in values], axis=1)
    arr = to_numpy(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"`run_baselines` expects numeric inputs. Received: {what} of dtype {arr.dtype}. "
            "Encode text or categories first."
        )
    arr = arr.reshape(len(arr), -1).astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"`run_baselines` found NaN or infinite values in {what}. Received: "
            f"{int((~np.isfinite(arr)).sum())} such value(s). Impute or drop them first."
        )
    return arr


def last_values(x: Any, series_feature: int | None) -> np.ndarray:
    """The last value of each input window: the naive forecast of the next one."""
    arr = to_numpy(x)
    if arr.ndim == 2:
        return arr[:, -1].astype(np.float64)
    if arr.ndim == 3:
        if series_feature is None:
            if arr.shape[2] != 1:
                raise ValueError(
                    "`run_baselines(series=True)` needs `series_feature`: the inputs have "
                    f"{arr.shape[2]} features per time step. Received: series_feature=None. Pass "
                    "the index of the feature that is being forecast."
                )
            series_feature = 0
        return arr[:, -1, series_feature].astype(np.float64)
    raise ValueError(
        "`run_baselines(series=True)` expects windows of shape (samples, time) or "
        f"(samples, time, features). Received: inputs of shape {arr.shape}."
    )
