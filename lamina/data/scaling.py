"""Feature scalers fitted on the training data only.

Statistics computed on the whole data (mean, min, max) leak the dev and test
sets into training. `StandardScaler` and `MinMaxScaler` are fitted on the
training set and then applied unchanged to the other sets; `fit_scaler_on_train`
does exactly that for a `Splits`.

The in-model alternative is the `lamina.layers.Normalization` layer, adapted on
the training data (`layer.adapt(x_train)`): the scaling then travels inside the
saved model, so serving needs no separate scaler.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from lamina.data.splits import Splits
from lamina.utils import validation


class _Scaler:
    """Shared machinery: per-feature statistics over every axis but ``axis``."""

    def __init__(self, axis: int | None = -1) -> None:
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
            raise ValueError(
                f"`{type(self).__name__}` expects `axis` to be an integer or None. Received: axis={axis!r}."
            )
        self.axis = axis
        self._feature_shape: tuple[int, ...] | None = None

    # -- conversions ---------------------------------------------------------------
    def _array(self, x: Any, method: str) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            arr = x.detach().cpu().numpy()
        elif hasattr(x, "to_numpy"):
            arr = x.to_numpy()
        else:
            arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"`{type(self).__name__}.{method}` expects numeric features. Received: an array "
                f"of dtype {arr.dtype}. Encode text or categories first."
            )
        if arr.ndim < 2:
            raise ValueError(
                f"`{type(self).__name__}.{method}` expects an array of shape (samples, features...). "
                f"Received: shape {arr.shape}. Reshape a single feature with `x.reshape(-1, 1)`."
            )
        return arr

    def _reduce_axes(self, ndim: int) -> tuple[int, ...]:
        if self.axis is None:
            return tuple(range(ndim))
        keep = self.axis % ndim
        if keep == 0:
            raise ValueError(
                f"`{type(self).__name__}` cannot keep the sample axis 0 as the feature axis. "
                f"Received: axis={self.axis!r}. Use axis=-1 (features or channels last)."
            )
        return tuple(i for i in range(ndim) if i != keep)

    @staticmethod
    def _output(result: np.ndarray, like: Any, arr: np.ndarray) -> Any:
        dtype = arr.dtype if arr.dtype.kind == "f" else np.float32
        result = result.astype(dtype, copy=False)
        if isinstance(like, torch.Tensor):
            return torch.from_numpy(np.ascontiguousarray(result)).to(like.device)
        return result

    def _check_fitted(self, method: str) -> None:
        if self._feature_shape is None:
            raise RuntimeError(
                f"This `{type(self).__name__}` is not fitted yet, so `{method}` has no statistics "
                "to use. Call `fit(x_train)` on the training data first (never on dev or test data)."
            )

    def _stat_shape(self, arr: np.ndarray) -> tuple[int, ...]:
        axes = self._reduce_axes(arr.ndim)
        return tuple(1 if i in axes else d for i, d in enumerate(arr.shape))

    def _check_shape(self, arr: np.ndarray, method: str) -> None:
        if arr.ndim != len(self._feature_shape) or self._stat_shape(arr)[1:] != self._feature_shape[1:]:
            raise ValueError(
                f"`{type(self).__name__}` was fitted on samples of shape {self._fit_shape}; "
                f"`{method}` received samples of shape {tuple(arr.shape[1:])}. Pass data with "
                "the same features as the training data."
            )

    def _fit_array(self, x: Any) -> np.ndarray:
        arr = self._array(x, "fit")
        if arr.shape[0] == 0:
            raise ValueError(f"`{type(self).__name__}.fit` received no samples. Received: shape {arr.shape}.")
        bad = ~np.isfinite(arr.astype(np.float64, copy=False))
        if bad.any():
            raise ValueError(
                f"`{type(self).__name__}.fit` found {int(bad.sum())} NaN or infinite value(s) "
                f"(first at index {tuple(int(i) for i in np.argwhere(bad)[0])}). Received: shape "
                f"{arr.shape}. Impute or drop the missing values before scaling."
            )
        self._feature_shape = self._stat_shape(arr)
        self._fit_shape = tuple(arr.shape[1:])
        return arr.astype(np.float64, copy=False)

    def fit_transform(self, x: Any) -> Any:
        """Fits the scaler on ``x`` (training data) and returns ``x`` scaled."""
        return self.fit(x).transform(x)

    def fit(self, x: Any) -> _Scaler:  # pragma: no cover - overridden
        raise NotImplementedError


class StandardScaler(_Scaler):
    """Scales each feature to zero mean and unit variance, with training statistics.

    ``transform(x) = (x - mean_) / scale_`` where `mean_` and `scale_` (the
    population standard deviation, as `sklearn.preprocessing.StandardScaler`)
    come from the data given to `fit`. A constant feature gets `scale_ = 1`.

    Args:
        axis: The feature axis kept apart; statistics are taken over all other
            axes. With 2-D data this is per column; with images
            `(samples, height, width, channels)` it is per channel. None takes
            one mean and one deviation over everything. Defaults to `-1`.

    Attributes:
        mean_: Per-feature mean of the training data (after `fit`).
        scale_: Per-feature standard deviation (1 where it is 0).
        n_samples_seen_: Number of training samples.

    Example:
        >>> import numpy as np
        >>> from lamina.data import StandardScaler
        >>> scaler = StandardScaler().fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> scaler.transform(np.array([[1.0, 20.0]]))
        array([[0., 0.]])
    """

    def fit(self, x: Any) -> StandardScaler:
        """Computes the mean and standard deviation of ``x`` (the training data). Returns self."""
        arr = self._fit_array(x)
        axes = self._reduce_axes(arr.ndim)
        self.mean_ = arr.mean(axis=axes, keepdims=True)
        std = arr.std(axis=axes, keepdims=True)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.n_samples_seen_ = int(arr.shape[0])
        return self

    def transform(self, x: Any) -> Any:
        """Returns ``(x - mean_) / scale_``, same kind as ``x`` (NumPy or torch), float."""
        self._check_fitted("transform")
        arr = self._array(x, "transform")
        self._check_shape(arr, "transform")
        return self._output((arr - self.mean_) / self.scale_, x, arr)

    def inverse_transform(self, x: Any) -> Any:
        """Undoes `transform`: returns ``x * scale_ + mean_``."""
        self._check_fitted("inverse_transform")
        arr = self._array(x, "inverse_transform")
        self._check_shape(arr, "inverse_transform")
        return self._output(arr * self.scale_ + self.mean_, x, arr)


class MinMaxScaler(_Scaler):
    """Maps each feature's training range onto ``feature_range``.

    ``transform(x) = (x - data_min_) / (data_max_ - data_min_) * (high - low) + low``,
    as `sklearn.preprocessing.MinMaxScaler`. Dev and test values outside the
    training range map outside ``feature_range`` (they are not clipped). A
    constant feature maps to ``low``.

    Args:
        feature_range: The target `(low, high)` range. Defaults to `(0, 1)`.
        axis: The feature axis kept apart (see `StandardScaler`). Defaults to `-1`.

    Attributes:
        data_min_: Per-feature minimum of the training data (after `fit`).
        data_max_: Per-feature maximum of the training data.
        n_samples_seen_: Number of training samples.

    Example:
        >>> import numpy as np
        >>> from lamina.data import MinMaxScaler
        >>> scaler = MinMaxScaler().fit(np.array([[0.0], [4.0]]))
        >>> scaler.transform(np.array([[1.0], [8.0]]))
        array([[0.25],
               [2.  ]])
    """

    def __init__(self, feature_range: tuple[float, float] = (0, 1), axis: int | None = -1) -> None:
        super().__init__(axis)
        ok = (
            isinstance(feature_range, (tuple, list))
            and len(feature_range) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in feature_range)
            and feature_range[0] < feature_range[1]
        )
        if not ok:
            raise ValueError(
                "`MinMaxScaler` expects `feature_range` to be a pair (low, high) with low < high. "
                f"Received: feature_range={feature_range!r}."
            )
        self.feature_range = feature_range

    def fit(self, x: Any) -> MinMaxScaler:
        """Computes the per-feature minimum and maximum of ``x`` (the training data). Returns self."""
        arr = self._fit_array(x)
        axes = self._reduce_axes(arr.ndim)
        self.data_min_ = arr.min(axis=axes, keepdims=True)
        self.data_max_ = arr.max(axis=axes, keepdims=True)
        data_range = self.data_max_ - self.data_min_
        low, high = self.feature_range
        self.scale_ = (high - low) / np.where(data_range > 0, data_range, 1.0)
        self.min_ = low - self.data_min_ * self.scale_
        self.n_samples_seen_ = int(arr.shape[0])
        return self

    def transform(self, x: Any) -> Any:
        """Returns ``x * scale_ + min_``, same kind as ``x`` (NumPy or torch), float."""
        self._check_fitted("transform")
        arr = self._array(x, "transform")
        self._check_shape(arr, "transform")
        return self._output(arr * self.scale_ + self.min_, x, arr)

    def inverse_transform(self, x: Any) -> Any:
        """Undoes `transform`: returns ``(x - min_) / scale_``."""
        self._check_fitted("inverse_transform")
        arr = self._array(x, "inverse_transform")
        self._check_shape(arr, "inverse_transform")
        return self._output((arr - self.min_) / self.scale_, x, arr)


_KINDS = {"standard": StandardScaler, "minmax": MinMaxScaler}


def fit_scaler_on_train(splits: Splits, kind: Any = "standard") -> tuple[Splits, Any]:
    """Fits a scaler on the training inputs only and scales every set with it.

    The dev, test and train-dev sets are transformed with the training
    statistics, never refitted, so nothing about them leaks into training.
    Targets are left untouched. Inside a model, a `lamina.layers.Normalization`
    layer adapted on the training data does the same job.

    Args:
        splits: The `Splits` returned by `lamina.data.split` (array inputs).
        kind: `"standard"` (`StandardScaler`), `"minmax"` (`MinMaxScaler`), or an
            unfitted scaler instance with `fit` / `transform`. Defaults to `"standard"`.

    Returns:
        ``(scaled_splits, scaler)``: a new `Splits` with scaled inputs, and the
        fitted scaler (keep it to scale new data the same way).

    Example:
        >>> from sklearn.datasets import load_wine
        >>> from lamina.data import split, fit_scaler_on_train
        >>> x, y = load_wine(return_X_y=True)
        >>> scaled, scaler = fit_scaler_on_train(split(x, y))
        >>> bool(abs(scaled.train[0].mean()) < 1e-6)
        True
    """
    if not isinstance(splits, Splits):
        raise TypeError(
            "`fit_scaler_on_train` expects the `Splits` returned by `lamina.data.split`. "
            f"Received: splits of type {type(splits).__name__}."
        )
    if isinstance(kind, str):
        scaler = validation.lookup("scaler", kind, _KINDS)()
    elif hasattr(kind, "fit") and hasattr(kind, "transform"):
        scaler = kind
    else:
        raise ValueError(
            "`fit_scaler_on_train` expects `kind` to be 'standard', 'minmax' or a scaler with "
            f"`fit` and `transform`. Received: kind={kind!r}."
        )
    x_train, _ = splits.train
    scaler.fit(x_train)
    changes = {
        name: (scaler.transform(data[0]), data[1]) for name, data in splits.sets().items()
    }
    return dataclasses.replace(splits, **changes), scaler
