"""`Normalization` (feature-wise standardisation learned with `adapt`) and
`Rescaling` (a fixed affine map, e.g. pixels from [0, 255] to [0, 1])."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing.base import PreprocessingLayer, json_value
from lamina.utils import validation

_EPSILON = 1e-7  # Keras's backend epsilon: the smallest standard deviation divided by


def _float_dtype(dtype: Any) -> torch.dtype:
    """The output dtype for an input dtype: floats are kept, anything else is float32."""
    return dtype if isinstance(dtype, torch.dtype) and dtype.is_floating_point else torch.float32


def _as_float_array(data: Any, owner: str) -> np.ndarray:
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    elif hasattr(data, "to_numpy"):
        data = data.to_numpy()
    arr = np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"`{owner}.adapt` expects numbers (a NumPy array, tensor or DataFrame). "
            f"Received: an array of dtype {arr.dtype}."
        )
    return arr.astype(np.float64, copy=False)


def _batches(data: Any, batch_size: int | None, owner: str) -> Iterable[np.ndarray]:
    """The adapt data as float64 arrays, in batches when asked or when ``data``
    is a DataLoader / iterable of batches."""
    array_like = isinstance(data, (np.ndarray, torch.Tensor, list, tuple)) or hasattr(data, "to_numpy")
    if array_like:
        arr = _as_float_array(data, owner)
        if batch_size is None:
            yield arr
        else:
            for start in range(0, len(arr), batch_size):
                yield arr[start : start + batch_size]
        return
    try:
        iterator = iter(data)
    except TypeError:
        raise TypeError(
            f"`{owner}.adapt` expects a NumPy array, a tensor, a DataFrame or an iterable of "
            f"batches (e.g. a DataLoader). Received: {type(data).__name__}."
        ) from None
    for batch in iterator:
        if isinstance(batch, (tuple, list, dict)) and not isinstance(batch, np.ndarray):
            raise ValueError(
                f"`{owner}.adapt` expects batches of inputs only. Received: a batch of type "
                f"{type(batch).__name__} (e.g. `(x, y)`). Yield only `x`, e.g. "
                "`(x for x, _ in loader)`."
            )
        yield _as_float_array(batch, owner)


class Normalization(PreprocessingLayer):
    """Standardises features: `(inputs - mean) / sqrt(variance)`.

    The mean and variance are either given (`mean=`, `variance=`) or learned from
    data with `adapt(data)` (per feature, population variance as in Keras). They
    are stored as buffers (`mean`, `variance`, and `count`, the number of values
    averaged per feature), so they are saved with the model's `state_dict`; given
    values are also in `get_config()`. The standard deviation is floored at 1e-7.

    Args:
        axis: The axis or axes that keep separate statistics (the feature axes);
            the others are reduced. `None` uses one scalar mean and variance.
            Defaults to `-1` (one mean and variance per last-axis feature).
        mean: Optional mean, a number or an array broadcastable to the kept axes.
        variance: Optional variance, given together with `mean`.
        invert: Undo a normalisation instead: `inputs * sqrt(variance) + mean`.
            Defaults to `False`.

    Input shape: any, float or integer (the kept axes must be known).
    Output shape: the same, float32.

    Using the layer before `adapt` (without `mean`/`variance`) raises an error;
    the zero batches Lamina uses to infer shapes pass through unchanged.

    Example:
        >>> import numpy as np, torch, lamina
        >>> norm = lamina.layers.Normalization()
        >>> norm.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
        >>> norm(torch.tensor([[2.0, 20.0]])).tolist()
        [[0.0, 0.0]]
    """

    def __init__(
        self,
        axis: int | tuple[int, ...] | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if axis is not None:
            axes = (axis,) if isinstance(axis, numbers.Integral) else axis
            if not isinstance(axes, (tuple, list)) or not all(
                isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes
            ):
                raise ValueError(
                    "`Normalization` expects `axis` to be an integer, a tuple of integers, or None. "
                    f"Received: axis={axis!r}."
                )
            if 0 in axes:
                raise ValueError(
                    "`Normalization` expects `axis` to name feature axes, not the batch axis 0. "
                    f"Received: axis={axis!r}. Use axis=-1 for the last axis."
                )
        if (mean is None) != (variance is None):
            raise ValueError(
                "`Normalization` expects `mean` and `variance` to be given together (or neither, "
                f"then call adapt). Received: mean={mean!r}, variance={variance!r}."
            )
        for name, value in (("mean", mean), ("variance", variance)):
            try:
                np.asarray(json_value(value), dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"`Normalization` expects `{name}` to be a number or an array of numbers. "
                    f"Received: {name}={value!r}."
                ) from None
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = validation.boolean("Normalization", "invert", invert)
        self._ready = mean is not None
        self._keep_axes: tuple[int, ...] = ()
        self._broadcast_shape: list[int] = []

    # ------------------------------------------------------------------ build
    def build(self, input_shape: Any) -> None:
        ndim = len(input_shape)
        axes: tuple[int, ...] = () if self.axis is None else (
            (self.axis,) if isinstance(self.axis, numbers.Integral) else tuple(self.axis)
        )
        if any(a < -ndim or a >= ndim for a in axes):
            raise ValueError(
                f"`Normalization` expects `axis` values in [-{ndim}, {ndim}) for inputs with "
                f"{ndim} axes. Received: axis={self.axis!r} for input shape {tuple(input_shape)}."
            )
        keep = tuple(sorted(a % ndim for a in axes))
        if 0 in keep:
            raise ValueError(
                "`Normalization` cannot keep statistics per batch index (axis 0). "
                f"Received: axis={self.axis!r} for input shape {tuple(input_shape)}. Pass axis=None "
                "for one scalar mean and variance."
            )
        unknown = [a for a in keep if input_shape[a] is None]
        if unknown:
            raise ValueError(
                f"`Normalization` needs the size of every kept axis. Received: axis={self.axis!r} "
                f"and input shape {tuple(input_shape)}, where axis {unknown[0]} is unknown."
            )
        self._keep_axes = keep
        self._broadcast_shape = [input_shape[a] if a in keep else 1 for a in range(ndim)]
        stat_shape = tuple(input_shape[a] for a in keep)
        if self.input_mean is not None:
            mean = self._given(self.input_mean, "mean", stat_shape)
            variance = self._given(self.input_variance, "variance", stat_shape)
        else:
            mean, variance = torch.zeros(stat_shape), torch.ones(stat_shape)
        device = self._device
        self.register_buffer("mean", mean.to(device))
        self.register_buffer("variance", variance.to(device))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64, device=device))
        if keep and keep[-1] == ndim - 1 and len(keep) == 1:
            self._expected_last_dim = input_shape[-1]
        self.built = True

    def _given(self, value: Any, name: str, stat_shape: tuple[int, ...]) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(value, dtype=np.float32))
        try:
            return t.expand(stat_shape).clone()
        except RuntimeError:
            raise ValueError(
                f"`Normalization` expects `{name}` to broadcast to the kept axes' shape "
                f"{stat_shape}. Received: {name} with shape {tuple(t.shape)}."
            ) from None

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        return tuple(input_shape), _float_dtype(input_dtype)

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any, batch_size: int | None = None) -> None:
        """Computes the per-feature mean and (population) variance of ``data``.

        Args:
            data: A NumPy array, tensor or DataFrame of shape `(samples, ...)`, or an
                iterable of such batches (e.g. a `DataLoader` that yields inputs).
            batch_size: Optional: read an array in batches of this many samples
                (the statistics are combined exactly). Defaults to `None` (all at once).
        """
        if self.input_mean is not None:
            raise ValueError(
                "`Normalization.adapt` cannot be used when `mean` and `variance` were given. "
                f"Received: mean={self.input_mean!r}. Create the layer without them to learn "
                "the statistics."
            )
        validation.positive_int("Normalization.adapt", "batch_size", batch_size, allow_none=True)
        total = 0
        mean = m2 = None
        for batch in _batches(data, batch_size, "Normalization"):
            if batch.ndim == 0 or batch.shape[0] == 0:
                continue
            if not self.built:
                self.build_from_shape((None, *batch.shape[1:]))
            if batch.ndim != len(self._broadcast_shape) or any(
                batch.shape[a] != self._broadcast_shape[a] for a in self._keep_axes
            ):
                raise ValueError(
                    f"`Normalization` was built for inputs of shape {self._build_input_shape}; "
                    f"adapt received a batch of shape {tuple(batch.shape)}. Pass data with the "
                    "same feature axes."
                )
            reduce = tuple(a for a in range(batch.ndim) if a not in self._keep_axes)
            n = int(np.prod([batch.shape[a] for a in reduce]))
            b_mean = batch.mean(axis=reduce)
            b_m2 = ((batch - batch.mean(axis=reduce, keepdims=True)) ** 2).sum(axis=reduce)
            if mean is None:
                total, mean, m2 = n, b_mean, b_m2
            else:  # Chan et al.'s pairwise combination of means and sums of squares
                delta = b_mean - mean
                new_total = total + n
                mean = mean + delta * (n / new_total)
                m2 = m2 + b_m2 + delta**2 * (total * n / new_total)
                total = new_total
        if mean is None:
            raise ValueError("`Normalization.adapt` received no samples. Pass a non-empty array.")
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.variance.copy_(torch.as_tensor(m2 / total, dtype=torch.float32))
            self.count.fill_(total)
        self._ready = True

    # ------------------------------------------------------------------ call
    def _is_ready(self) -> bool:
        if not self._ready and self.built and int(self.count) > 0:  # e.g. weights loaded from a file
            self._ready = True
        return self._ready

    def _convert_inputs(self, inputs: Any) -> Any:
        if isinstance(inputs, torch.Tensor):
            return inputs
        return torch.as_tensor(np.asarray(inputs), device=self._device)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        x = inputs if inputs.is_floating_point() else inputs.to(torch.float32)
        if not self._is_ready():
            if getattr(inputs, "_lamina_placeholder", False):
                return x
            raise ValueError(
                f"Layer '{self.name}' (Normalization) has no statistics yet: call adapt(...) first "
                "or pass mean= and variance= to the constructor. Received: a call on inputs of "
                f"shape {tuple(inputs.shape)} before either."
            )
        mean = self.mean.reshape(self._broadcast_shape).to(x.dtype)
        std = torch.sqrt(self.variance.reshape(self._broadcast_shape).to(x.dtype)).clamp_min(_EPSILON)
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            axis=list(self.axis) if isinstance(self.axis, tuple) else self.axis,
            mean=json_value(self.input_mean),
            variance=json_value(self.input_variance),
            invert=self.invert,
        )
        return config


class Rescaling(PreprocessingLayer):
    """Multiplies the inputs by `scale` and adds `offset`: `inputs * scale + offset`.

    Args:
        scale: A number, or a list broadcast over the last axis (e.g. per channel).
            `1 / 255` maps pixels to [0, 1]; with `offset=-1`, `1 / 127.5` maps to [-1, 1].
        offset: A number or a list like `scale`. Defaults to `0.0`.

    Input shape: any. Output shape: the same; integer inputs become float32.

    Example:
        >>> import torch, lamina
        >>> lamina.layers.Rescaling(1 / 255)(torch.tensor([[0, 255]], dtype=torch.uint8)).tolist()
        [[0.0, 1.0]]
    """

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            arr = np.asarray(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()
            if arr.dtype.kind not in "biuf" or arr.ndim > 1 or isinstance(value, bool):
                raise ValueError(
                    f"`Rescaling` expects `{name}` to be a number or a list of numbers. "
                    f"Received: {name}={value!r}."
                )
        self.scale = scale
        self.offset = offset
        self._cache: dict[tuple[Any, Any], tuple[Any, Any]] = {}

    def _factors(self, x: torch.Tensor) -> tuple[Any, Any]:
        key = (x.device, x.dtype)
        if key not in self._cache:
            def as_factor(v: Any) -> Any:
                if isinstance(v, numbers.Real):
                    return float(v)
                return torch.as_tensor(np.asarray(json_value(v)), dtype=x.dtype, device=x.device)

            self._cache[key] = (as_factor(self.scale), as_factor(self.offset))
        return self._cache[key]

    def _convert_inputs(self, inputs: Any) -> Any:
        if isinstance(inputs, torch.Tensor):
            return inputs
        return torch.as_tensor(np.asarray(inputs), device=self._device)

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        return tuple(input_shape), _float_dtype(input_dtype)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        x = inputs if inputs.is_floating_point() else inputs.to(torch.float32)
        scale, offset = self._factors(x)
        return x * scale + offset

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(scale=json_value(self.scale), offset=json_value(self.offset))
        return config
