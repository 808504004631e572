"""Metrics that accumulate over an epoch, on the device, without host syncs.

A metric keeps its state in torch tensors (on the device of the first batch it
sees). ``update_state`` adds a batch to the state under ``torch.no_grad`` and
never reads a value on the host; ``result`` returns a tensor computed from the
whole state (accuracy is total correct / total count over all batches, not a
mean of per-batch values); ``reset_state`` starts a new epoch.

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.BinaryAccuracy()
>>> m.update_state(torch.tensor([1, 0]), torch.tensor([0.9, 0.8]))
>>> m.update_state(torch.tensor([1, 1]), torch.tensor([0.7, 0.6]))
>>> m.result()
tensor(0.7500)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import torch

from lamina import losses
from lamina.saving import registry
from lamina.utils import serialization, validation
from lamina.variables import Variable

_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def _resolve_dtype(owner: str, dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype) and dtype.is_floating_point:
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise ValueError(
        f"`{owner}` expects `dtype` to be None or a floating dtype "
        f"({', '.join(_DTYPES)}). Received: dtype={dtype!r}."
    )


def _dtype_name(dtype: Any) -> str | None:
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    return dtype


def _no_grad(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args and args[0].__dict__.get("_variables"):
            # Variables from `add_variable` follow the data, as `add_state` ones do.
            args[0]._variables_follow(args[1:], kwargs)
        with torch.no_grad():
            return method(*args, **kwargs)

    wrapper._lamina_no_grad = True  # type: ignore[attr-defined]
    return wrapper


def _move_in_place(var: torch.Tensor, device: torch.device) -> None:
    """Moves a state variable to ``device`` keeping the same Python object, so that
    attributes pointing at it (``self.true_positives``) stay valid."""
    moved = var.data.to(device)
    try:
        var.data = moved  # what `nn.Module.to` does; works between CPU and GPU
    except RuntimeError:  # tensor types that cannot share the object (e.g. "meta")
        other = torch.Tensor._make_subclass(type(var), moved, var.requires_grad)
        other.__dict__.update(var.__dict__)
        torch.utils.swap_tensors(var, other)


def _divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / b``, with 0 where ``b == 0`` (as Keras' ``divide_no_nan``)."""
    nonzero = b != 0
    return torch.where(
        nonzero, a / torch.where(nonzero, b, torch.ones_like(b)), torch.zeros_like(a)
    )


def _broadcast_weights(owner: str, sample_weight: Any, values: torch.Tensor) -> torch.Tensor:
    """Broadcasts weights of shape ``(batch,)``, ``(batch, 1)``, ... to ``values``' shape."""
    w = torch.as_tensor(sample_weight, device=values.device).detach()
    w = w.to(values.dtype if values.is_floating_point() else torch.float32)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = w.squeeze(-1)
    while w.ndim < values.ndim:
        w = w.unsqueeze(-1)
    try:
        return torch.broadcast_to(w, values.shape)
    except RuntimeError:
        raise ValueError(
            f"`{owner}` cannot apply `sample_weight` of shape {tuple(torch.as_tensor(sample_weight).shape)} "
            f"to values of shape {tuple(values.shape)}. Pass one weight per sample, shape (batch,)."
        ) from None


def _one_hot(labels: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    # Compared with arange rather than F.one_hot, which checks the label range on the host.
    classes = torch.arange(num_classes, device=labels.device)
    return (labels.long().unsqueeze(-1) == classes).to(dtype)


def _labels_like(
    owner: str, y_true: torch.Tensor, y_pred: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Makes ``y_true`` the shape of ``y_pred``: one-hot encodes integer labels
    against multi-column scores, else drops or adds a trailing axis of size 1."""
    if y_pred.ndim >= 1 and y_pred.shape[-1] > 1 and y_true.shape != y_pred.shape:
        if y_true.shape in (y_pred.shape[:-1], (*y_pred.shape[:-1], 1)):
            labels = y_true.reshape(y_pred.shape[:-1])
            return _one_hot(labels, y_pred.shape[-1], y_pred.dtype), y_pred
    return losses._align_shapes(owner, y_true, y_pred)


# --------------------------------------------------------------------------- functions


def _tensors(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = torch.as_tensor(y_pred)
    return torch.as_tensor(y_true, device=y_pred.device), y_pred


def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sample fraction of entries where ``y_pred`` equals ``y_true`` exactly.

    Args:
        y_true: Targets.
        y_pred: Predicted values (already labels, not scores).

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = losses._align_shapes("accuracy", *_tensors(y_true, y_pred))
    return losses._per_sample((y_true == y_pred).float())


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """Per-sample fraction of entries where ``y_pred > threshold`` matches the 0/1 target.

    Args:
        y_true: 0/1 targets, same shape as ``y_pred`` (a trailing axis of size 1 may differ).
        y_pred: Probabilities (or logits with ``threshold=0.0``).
        threshold: Decision threshold. Defaults to `0.5`.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = losses._align_shapes("binary_accuracy", *_tensors(y_true, y_pred))
    predicted = (y_pred > threshold).float()
    return losses._per_sample((y_true.float() == predicted).float())


def _check_one_hot(owner: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    if y_true.shape != y_pred.shape:
        hint = f"For integer labels use `sparse_{owner}`."
        raise losses._shape_error(owner, y_true, y_pred, hint, exact=True)


def _sparse_labels(owner: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    if y_pred.ndim >= 1 and y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_pred.ndim < 1 or y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"`{owner}` expects integer labels of shape (batch, ...) or (batch, ..., 1) and "
            f"scores of shape (batch, ..., num_classes). Received: y_true.shape="
            f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
        )
    return y_true.long()


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sample fraction of rows where ``argmax(y_pred)`` equals ``argmax(y_true)``.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Class scores, same shape.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    _check_one_hot("categorical_accuracy", y_true, y_pred)
    return losses._per_sample((y_true.argmax(-1) == y_pred.argmax(-1)).float())


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sample fraction of rows where ``argmax(y_pred)`` equals the integer label.

    Args:
        y_true: Integer labels, shape ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: Class scores, shape ``(batch, ..., num_classes)``.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    labels = _sparse_labels("sparse_categorical_accuracy", y_true, y_pred)
    return losses._per_sample((labels == y_pred.argmax(-1)).float())


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """Per-sample fraction of rows whose integer label is among the ``k`` highest scores.

    Args:
        y_true: Integer labels, shape ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: Class scores, shape ``(batch, ..., num_classes)``.
        k: How many top scores count as a hit. Defaults to `5`.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    labels = _sparse_labels("sparse_top_k_categorical_accuracy", y_true, y_pred)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return losses._per_sample((top == labels.unsqueeze(-1)).any(dim=-1).float())


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """Per-sample fraction of rows whose one-hot class is among the ``k`` highest scores.

    Args:
        y_true: One-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: Class scores, same shape.
        k: How many top scores count as a hit. Defaults to `5`.

    Returns:
        Shape ``(batch,)``, values in ``[0, 1]``.
    """
    y_true, y_pred = _tensors(y_true, y_pred)
    _check_one_hot("top_k_categorical_accuracy", y_true, y_pred)
    return sparse_top_k_categorical_accuracy(y_true.argmax(-1), y_pred, k=k)


# --------------------------------------------------------------------------- base classes


class Metric:
    """Base class for metrics: state in tensors, updated per batch, read at the end.

    Subclasses create their state with :meth:`add_state` (or Keras'
    :meth:`add_variable` / :meth:`add_weight`), implement ``update_state``
    (automatically run under ``torch.no_grad``) and ``result``. States are
    non-trainable :class:`lamina.variables.Variable` s (``assign``,
    ``assign_add``, ``.value``, ``.numpy()``) and follow the device of the
    data they are given.

    Example (a Keras-style custom metric):

    >>> import torch
    >>> class Positives(Metric):
    ...     def __init__(self, name="positives", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.count = self.add_variable(shape=(), initializer="zeros", name="count")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.count.assign_add((torch.as_tensor(y_pred) > 0.5).sum())
    ...     def result(self):
    ...         return self.count.value
    >>> m = Positives()
    >>> m.update_state(None, torch.tensor([0.2, 0.9, 0.7]))
    >>> float(m.result())
    2.0

    Args:
        name: Name shown in logs. Defaults to the class name in snake case.
        dtype: Dtype of the state, ``"float32"`` or ``"float64"`` (a string or
            a ``torch.dtype``). Defaults to `None` (float32).
    """

    def __init__(self, name: str | None = None, dtype: Any = None):
        self._state_dtype = _resolve_dtype(type(self).__name__, dtype)
        self.name = name if name is not None else losses._snake_case(type(self).__name__)
        self.dtype = dtype
        self._states: dict[str, float] = {}
        self._constants: list[str] = []
        self._variables: list[Variable] = []
        self._variable_initial: list[torch.Tensor] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        method = cls.__dict__.get("update_state")
        if method is not None and not getattr(method, "_lamina_no_grad", False):
            cls.update_state = _no_grad(method)

    def add_state(
        self, name: str, shape: tuple[int, ...] = (), initial_value: float = 0.0, device: Any = None
    ) -> torch.Tensor:
        """Creates a state tensor, stored as attribute ``name`` and reset to ``initial_value``.

        Args:
            name: Attribute name of the state.
            shape: Shape of the state. Defaults to `()`.
            initial_value: Value after creation and after :meth:`reset_state`. Defaults to `0.0`.
            device: Device to create it on; it moves to the data's device on
                the first update anyway. Defaults to `None` (CPU).
        """
        tensor = torch.full(tuple(shape), initial_value, dtype=self._state_dtype, device=device)
        state = Variable(tensor, trainable=False, name=name, path=f"{self.name}/{name}")
        setattr(self, name, state)
        self._states[name] = initial_value
        return state

    def add_variable(
        self,
        shape: tuple[int, ...],
        initializer: Any,
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Variable:
        """Creates a state variable, as Keras' ``Metric.add_variable``.

        The variable is non-trainable, is reset to its initial value by
        :meth:`reset_state` and moves to the device of the data passed to
        ``update_state``. Update it with ``assign`` / ``assign_add`` /
        ``assign_sub`` and read it with ``.value`` or ``.numpy()``.

        Args:
            shape: The variable's shape, e.g. ``()`` for a scalar.
            initializer: An initializer name (``"zeros"``), an initializer
                object, or an initial value.
            dtype: The dtype. Defaults to `None` (the metric's dtype).
            aggregation: How replicas combine it: ``"sum"``, ``"mean"``,
                ``"none"`` or ``"only_first_replica"`` (recorded for Keras
                compatibility; metrics are not aggregated across processes
                yet). Defaults to `"sum"`.
            name: The variable's name. Defaults to `None` (``"variable"``).

        Returns:
            The new :class:`lamina.variables.Variable`.
        """
        owner = type(self).__name__
        validation.one_of(
            owner, "aggregation", aggregation, ("sum", "mean", "none", "only_first_replica")
        )
        if not hasattr(self, "_variables"):
            raise RuntimeError(
                f"`{owner}.add_variable` was called before `Metric.__init__`. "
                "Call `super().__init__(name=name, dtype=dtype)` first in your `__init__`."
            )
        var = Variable(
            initializer,
            shape=tuple(shape),
            dtype=dtype if dtype is not None else self._state_dtype,
            trainable=False,
            name=name,
            path=f"{self.name}/{name or 'variable'}",
        )
        var.aggregation = aggregation
        self._variables.append(var)
        self._variable_initial.append(var.detach().clone())
        return var

    def add_weight(
        self,
        shape: tuple[int, ...] = (),
        initializer: Any = None,
        dtype: Any = None,
        name: str | None = None,
    ) -> Variable:
        """Creates a state variable; Keras' older name for :meth:`add_variable`.

        Args:
            shape: The variable's shape. Defaults to `()`.
            initializer: An initializer name, object or initial value.
                Defaults to `None` (``"zeros"``).
            dtype: The dtype. Defaults to `None` (the metric's dtype).
            name: The variable's name. Defaults to `None`.
        """
        return self.add_variable(
            shape, initializer if initializer is not None else "zeros", dtype=dtype, name=name
        )

    @property
    def variables(self) -> list[torch.Tensor]:
        """The metric's state variables (those of ``add_state`` and ``add_variable``)."""
        return [getattr(self, name) for name in self._states] + list(self._variables)

    def _variables_follow(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Moves ``add_variable`` variables to the device of the first tensor argument."""
        for value in (*args, *kwargs.values()):
            if isinstance(value, torch.Tensor):
                device = value.device
                for i, var in enumerate(self._variables):
                    if var.device != device:
                        _move_in_place(var, device)
                        self._variable_initial[i] = self._variable_initial[i].to(device)
                return

    def _to_device(self, device: torch.device) -> None:
        """Moves state (and constant) tensors to ``device``; a no-op once they are there."""
        for name in (*self._states, *self._constants):
            tensor = getattr(self, name)
            if tensor.device != device:
                if isinstance(tensor, Variable):
                    _move_in_place(tensor, device)  # same object: user references stay valid
                else:
                    setattr(self, name, tensor.to(device))

    def _inputs(self, y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
        y_pred = torch.as_tensor(y_pred).detach()
        y_true = torch.as_tensor(y_true, device=y_pred.device).detach()
        self._to_device(y_pred.device)
        return y_true, y_pred

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Adds one batch to the state."""
        raise NotImplementedError(f"`{type(self).__name__}` must implement `update_state`.")

    def result(self) -> torch.Tensor:
        """Returns the metric over everything seen since the last reset, as a tensor."""
        raise NotImplementedError(f"`{type(self).__name__}` must implement `result`.")

    def reset_state(self) -> None:
        """Resets every state tensor in place to its initial value."""
        with torch.no_grad():
            for name, value in self._states.items():
                getattr(self, name).fill_(value)
            for var, initial in zip(self._variables, self._variable_initial):
                var.copy_(initial)

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Updates the state with one batch and returns the running result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor arguments as JSON-able values."""
        return {"name": self.name, "dtype": _dtype_name(self.dtype)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """Rebuilds a metric from :meth:`get_config` output."""
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Mean(Metric):
    """Weighted mean of all values seen: ``sum(values * w) / sum(w)``.

    Args:
        name: Defaults to `"mean"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        # Unweighted batches add their size to this Python int, folded into the
        # `count` tensor when it is read: one device op less per training step.
        self._uncounted = 0
        self.add_state("total")
        self.add_state("count")

    @property
    def count(self) -> torch.Tensor:
        """The summed weights (sample count when unweighted), as a state tensor."""
        if self._uncounted:
            with torch.no_grad():
                self._count += self._uncounted
            self._uncounted = 0
        return self._count

    @count.setter
    def count(self, value: torch.Tensor) -> None:
        self._count = value

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Adds ``values`` (any shape) with optional weights broadcastable to them."""
        values = torch.as_tensor(values).detach()
        if not values.is_floating_point():
            values = values.float()
        self._to_device(values.device)
        if sample_weight is None:
            self.total += values.sum()
            self._uncounted += values.numel()
        else:
            w = _broadcast_weights(self.name, sample_weight, values)
            self.total += (values * w).sum()
            self.count += w.sum()

    def result(self) -> torch.Tensor:
        return _divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """Mean over samples of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: Function returning one value per sample, shape ``(batch,)``.
        name: Defaults to ``fn.__name__``.
        dtype: See :class:`Metric`. Defaults to `None`.
        **kwargs: Extra keyword arguments passed to ``fn``.
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ):
        if not callable(fn):
            raise TypeError(
                "`MeanMetricWrapper` expects `fn` to be a callable f(y_true, y_pred). "
                f"Received: fn={fn!r}."
            )
        if name is None:
            name = getattr(fn, "__name__", None) or losses._snake_case(type(fn).__name__)
        super().__init__(name=name, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch: ``fn`` per sample, weighted by ``sample_weight``."""
        y_true, y_pred = self._inputs(y_true, y_pred)
        # Loss functions keep Keras's shape (`(batch, ...)`): one value per sample here.
        values = losses._per_sample(self.fn(y_true, y_pred, **self._fn_kwargs))
        super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        if cls is MeanMetricWrapper and isinstance(config.get("fn"), str):
            config = dict(config)
            config["fn"] = serialization.resolve_function("metric", config["fn"], "metric")
        return cls(**config)


# --------------------------------------------------------------------------- accuracy


class Accuracy(MeanMetricWrapper):
    """How often predictions equal targets exactly; see :func:`accuracy`.

    Args:
        name: Defaults to `"accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches 0/1 targets; see :func:`binary_accuracy`.

    For logits use ``threshold=0.0``: the same decision as 0.5 on probabilities.

    Args:
        name: Defaults to `"binary_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
        threshold: Decision threshold. Defaults to `0.5`.
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        validation.number("BinaryAccuracy", "threshold", threshold)
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the top class matches the one-hot target; see :func:`categorical_accuracy`.

    Args:
        name: Defaults to `"categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the top class matches the integer label; see :func:`sparse_categorical_accuracy`.

    Args:
        name: Defaults to `"sparse_categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch. The training loop's common case (scores (batch, classes),
        integer labels (batch,), no weights) takes three device ops and no checks:
        argmax, compare and sum, added in place to the state. Their results carry
        no gradient, so this path needs no ``no_grad`` context."""
        if (
            sample_weight is None
            and type(y_pred) is torch.Tensor
            and type(y_true) is torch.Tensor
            and y_pred.ndim == 2
            and y_true.ndim == 1
            and y_true.shape[0] == y_pred.shape[0]
            and not y_true.is_floating_point()
        ):
            if self.total.device != y_pred.device:
                self._to_device(y_pred.device)
            self.total += (y_pred.argmax(-1) == y_true).sum()
            self._uncounted += y_true.shape[0]
            return
        super().update_state(y_true, y_pred, sample_weight)  # MeanMetricWrapper's, under no_grad

    update_state._lamina_no_grad = True  # type: ignore[attr-defined]  # see the docstring


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot class is among the top ``k`` scores.

    Args:
        k: Number of top scores that count. Defaults to `5`.
        name: Defaults to `"top_k_categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        validation.positive_int("TopKCategoricalAccuracy", "k", k)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top ``k`` scores.

    Args:
        k: Number of top scores that count. Defaults to `5`.
        name: Defaults to `"sparse_top_k_categorical_accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None
    ):
        validation.positive_int("SparseTopKCategoricalAccuracy", "k", k)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class AutoAccuracy(Metric):
    """Accuracy whose kind is decided from the shapes of the first batch (Keras 3 rule).

    Used by :func:`get` for ``"accuracy"`` when neither the loss nor the output
    shape decides it: a single output column gives :class:`BinaryAccuracy`
    (with ``threshold``), labels with fewer axes than the scores (or a last
    axis of 1) give :class:`SparseCategoricalAccuracy`, otherwise
    :class:`CategoricalAccuracy`. The chosen metric is in ``self.metric``.

    Args:
        threshold: Threshold for the binary case. Defaults to `0.5`.
        name: Defaults to `"accuracy"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, threshold: float = 0.5, name: str = "accuracy", dtype: Any = None):
        validation.number("AutoAccuracy", "threshold", threshold)
        super().__init__(name=name, dtype=dtype)
        self.threshold = threshold
        self.metric: Metric | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        if self.metric is None:
            if y_pred.ndim <= 1 or y_pred.shape[-1] == 1:
                self.metric = BinaryAccuracy(self.name, self.dtype, threshold=self.threshold)
            elif y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
                self.metric = SparseCategoricalAccuracy(self.name, self.dtype)
            else:
                self.metric = CategoricalAccuracy(self.name, self.dtype)
        self.metric.update_state(y_true, y_pred, sample_weight)

    def result(self) -> torch.Tensor:
        if self.metric is None:
            return torch.zeros((), dtype=self._state_dtype)
        return self.metric.result()

    def reset_state(self) -> None:
        if self.metric is not None:
            self.metric.reset_state()

    def get_config(self) -> dict[str, Any]:
        return {"threshold": self.threshold, **super().get_config()}


# --------------------------------------------------------------------------- confusion-based


def _check_thresholds(owner: str, thresholds: Any) -> list[float]:
    if thresholds is None:
        return [0.5]
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    if not values:
        raise ValueError(
            f"`{owner}` expects `thresholds` to be a number or a non-empty list of numbers. "
            f"Received: thresholds={thresholds!r}."
        )
    for value in values:
        validation.number(owner, "thresholds", value)
    return [float(v) for v in values]


class _ConfusionMetric(Metric):
    """Shared state of :class:`Precision` and :class:`Recall`: counts per threshold."""

    def __init__(
        self,
        thresholds: Any = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ):
        owner = type(self).__name__
        values = _check_thresholds(owner, thresholds)
        if class_id is not None:
            validation.non_negative_int(owner, "class_id", class_id)
        super().__init__(name=name, dtype=dtype)
        self.thresholds = thresholds
        self.class_id = class_id
        self._threshold_values = torch.tensor(values, dtype=torch.float32)
        self._constants.append("_threshold_values")
        for state in ("true_positives", "false_positives", "false_negatives"):
            self.add_state(state, (len(values),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Adds one batch; entries with ``y_true != 0`` are positives, ``y_pred > t`` predicted ones.

        Integer labels against multi-column scores are one-hot encoded first.
        """
        y_true, y_pred = self._inputs(y_true, y_pred)
        y_true, y_pred = _labels_like(self.name, y_true, y_pred)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        dtype = self._state_dtype
        if sample_weight is None:
            w = torch.ones(y_pred.shape, dtype=dtype, device=y_pred.device)
        else:
            w = _broadcast_weights(self.name, sample_weight, y_pred.to(dtype))
        w = w.reshape(-1).to(dtype)
        positive = (y_true.reshape(-1) != 0).to(dtype)
        predicted = (y_pred.reshape(1, -1) > self._threshold_values.view(-1, 1)).to(dtype)
        self.true_positives += predicted @ (w * positive)
        self.false_positives += predicted @ (w * (1 - positive))
        self.false_negatives += (1 - predicted) @ (w * positive)

    def _maybe_scalar(self, values: torch.Tensor) -> torch.Tensor:
        return values if isinstance(self.thresholds, (list, tuple)) else values[0]

    def get_config(self) -> dict[str, Any]:
        thresholds = (
            list(self.thresholds) if isinstance(self.thresholds, tuple) else self.thresholds
        )
        return {"thresholds": thresholds, "class_id": self.class_id, **super().get_config()}


class Precision(_ConfusionMetric):
    """Precision, ``tp / (tp + fp)``, over all entries (or one class).

    Every entry of ``y_pred`` is a prediction (Keras semantics): for one-hot
    or multi-label outputs the entries are flattened unless ``class_id`` picks
    a column. Integer labels against multi-column scores are one-hot encoded.

    Args:
        thresholds: A threshold, or a list of them (then ``result()`` has one
            value per threshold); ``y_pred > threshold`` is a positive
            prediction. Use `0.0` for logits. Defaults to `None` (0.5).
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `"precision"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self,
        thresholds: Any = None,
        class_id: int | None = None,
        name: str = "precision",
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        return self._maybe_scalar(_divide_no_nan(tp, tp + self.false_positives))


class Recall(_ConfusionMetric):
    """Recall, ``tp / (tp + fn)``, over all entries (or one class).

    Args:
        thresholds: A threshold, or a list of them (then ``result()`` has one
            value per threshold); ``y_pred > threshold`` is a positive
            prediction. Use `0.0` for logits. Defaults to `None` (0.5).
        class_id: Only score this column of the last axis. Defaults to `None`.
        name: Defaults to `"recall"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self,
        thresholds: Any = None,
        class_id: int | None = None,
        name: str = "recall",
        dtype: Any = None,
    ):
        super().__init__(thresholds=thresholds, class_id=class_id, name=name, dtype=dtype)

    def result(self) -> torch.Tensor:
        tp = self.true_positives
        return self._maybe_scalar(_divide_no_nan(tp, tp + self.false_negatives))


class F1Score(Metric):
    """F1 score per class, ``2 tp / (2 tp + fp + fn)``, optionally averaged.

    ``y_pred`` has shape ``(batch, num_classes)`` (or ``(batch,)`` / ``(batch, 1)``
    for a binary output). Targets are one-hot (or 0/1 multi-label) rows, or
    integer labels, which are one-hot encoded. A row's predicted classes are
    ``y_pred > threshold``; with ``threshold=None`` it is the top class, except
    for a single column, where 0.5 is used (Keras would predict every row positive).

    Args:
        average: `None` (one score per class), ``"micro"`` (pool the counts),
            ``"macro"`` (mean of the class scores) or ``"weighted"`` (mean
            weighted by class support). Defaults to `None`.
        threshold: Decision threshold, or `None` for the top class. Use `0.0`
            for logits. Defaults to `None`.
        name: Defaults to `"f1_score"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ):
        validation.one_of("F1Score", "average", average, (None, "micro", "macro", "weighted"))
        validation.number("F1Score", "threshold", threshold, allow_none=True)
        super().__init__(name=name, dtype=dtype)
        self.average = average
        self.threshold = threshold
        self._num_classes: int | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        if y_pred.ndim <= 1:
            y_pred = y_pred.reshape(-1, 1)
        y_true, y_pred = _labels_like(self.name, y_true, y_pred)
        num_classes = y_pred.shape[-1]
        if self._num_classes is None:
            self._num_classes = num_classes
            for state in ("true_positives", "false_positives", "false_negatives"):
                self.add_state(state, (num_classes,), device=y_pred.device)
        elif num_classes != self._num_classes:
            raise ValueError(
                f"`{self.name}` was first updated with {self._num_classes} classes, now with "
                f"{num_classes}. Received: y_pred.shape={tuple(y_pred.shape)}."
            )
        dtype = self._state_dtype
        threshold = self.threshold if self.threshold is not None or num_classes > 1 else 0.5
        scores = y_pred.reshape(-1, num_classes)
        if threshold is None:
            predicted = _one_hot(scores.argmax(-1), num_classes, dtype)
        else:
            predicted = (scores > threshold).to(dtype)
        truth = y_true.reshape(-1, num_classes).to(dtype)
        if sample_weight is not None:
            w = _broadcast_weights(self.name, sample_weight, y_pred[..., 0].to(dtype))
            w = w.reshape(-1, 1)
            truth_w, predicted_w = truth * w, predicted * w
        else:
            truth_w, predicted_w = truth, predicted
        self.true_positives += (predicted_w * truth).sum(0)
        self.false_positives += (predicted_w * (1 - truth)).sum(0)
        self.false_negatives += ((1 - predicted) * truth_w).sum(0)

    def result(self) -> torch.Tensor:
        if self._num_classes is None:
            return torch.zeros((), dtype=self._state_dtype)
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        f1 = _divide_no_nan(2 * tp, 2 * tp + fp + fn)
        if self.average == "macro":
            return f1.mean()
        if self.average == "weighted":
            support = tp + fn
            return _divide_no_nan((f1 * support).sum(), support.sum())
        return f1

    def get_config(self) -> dict[str, Any]:
        return {"average": self.average, "threshold": self.threshold, **super().get_config()}


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at fixed thresholds.

    As in Keras, predictions are bucketed against ``num_thresholds`` evenly
    spaced thresholds in ``[0, 1]``; true/false positive/negative counts per
    threshold accumulate on the device, and the area is a Riemann sum over
    them (``"interpolation"``: trapezoids for ROC and the Davis & Goadrich
    interpolation for PR). All entries are pooled (micro-average); integer
    labels against multi-column scores are one-hot encoded.

    Args:
        num_thresholds: Number of thresholds, > 1; more is closer to the exact
            area. Defaults to `200`.
        curve: ``"ROC"`` or ``"PR"``. Defaults to `"ROC"`.
        summation_method: ``"interpolation"``, ``"minoring"`` (lower sum) or
            ``"majoring"`` (upper sum). Defaults to `"interpolation"`.
        name: Defaults to `"auc"`.
        dtype: See :class:`Metric`. Defaults to `None`.
        from_logits: Whether ``y_pred`` holds logits (a sigmoid is applied).
            Defaults to `False`.
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str = "auc",
        dtype: Any = None,
        from_logits: bool = False,
    ):
        validation.positive_int("AUC", "num_thresholds", num_thresholds)
        validation.number("AUC", "num_thresholds", num_thresholds, low=1, low_inclusive=False)
        validation.one_of("AUC", "curve", curve, ("ROC", "PR"))
        validation.one_of(
            "AUC", "summation_method", summation_method, ("interpolation", "minoring", "majoring")
        )
        validation.boolean("AUC", "from_logits", from_logits)
        super().__init__(name=name, dtype=dtype)
        self.num_thresholds = num_thresholds
        self.curve = curve
        self.summation_method = summation_method
        self.from_logits = from_logits
        inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._threshold_values = torch.tensor([-losses.EPSILON, *inner, 1.0 + losses.EPSILON])
        self._constants.append("_threshold_values")
        for state in ("true_positives", "false_positives", "true_negatives", "false_negatives"):
            self.add_state(state, (num_thresholds,))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        y_true, y_pred = _labels_like(self.name, y_true, y_pred)
        dtype = self._state_dtype
        scores = y_pred.float()
        if self.from_logits:
            scores = torch.sigmoid(scores)
        truth = y_true.reshape(-1).to(dtype)
        if sample_weight is None:
            w = torch.ones_like(truth)
        else:
            w = _broadcast_weights(self.name, sample_weight, scores.to(dtype)).reshape(-1)
        # bucket b = number of thresholds strictly below the score; the score is a
        # positive prediction at threshold j exactly when j < b.
        buckets = torch.bucketize(scores.reshape(-1), self._threshold_values.to(scores.dtype))
        n = self.num_thresholds
        pos = torch.zeros(n + 1, dtype=dtype, device=truth.device).scatter_add_(
            0, buckets, truth * w
        )
        neg = torch.zeros(n + 1, dtype=dtype, device=truth.device).scatter_add_(
            0, buckets, (1 - truth) * w
        )
        pos_above = pos.flip(0).cumsum(0).flip(0)  # [k] = weight of positives in buckets >= k
        neg_above = neg.flip(0).cumsum(0).flip(0)
        self.true_positives += pos_above[1:]
        self.false_positives += neg_above[1:]
        self.false_negatives += pos_above[0] - pos_above[1:]
        self.true_negatives += neg_above[0] - neg_above[1:]

    def _interpolate_pr_auc(self) -> torch.Tensor:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, dp.clamp_min(0))
        intercept = tp[1:] - slope * p[1:]
        both_positive = (p[:-1] > 0) & (p[1:] > 0)
        ratio = torch.where(
            both_positive, _divide_no_nan(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:])
        )
        increment = _divide_no_nan(
            slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0)
        )
        return increment.sum()

    def result(self) -> torch.Tensor:
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), _divide_no_nan(tp, tp + fn)
        else:
            x, y = _divide_no_nan(tp, tp + fn), _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum()

    def get_config(self) -> dict[str, Any]:
        return {
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "from_logits": self.from_logits,
            **super().get_config(),
        }


# --------------------------------------------------------------------------- regression


class MeanSquaredError(MeanMetricWrapper):
    """Mean of ``(y_true - y_pred) ** 2``; see :func:`lamina.losses.mean_squared_error`.

    Args:
        name: Defaults to `"mean_squared_error"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of ``|y_true - y_pred|``; see :func:`lamina.losses.mean_absolute_error`.

    Args:
        name: Defaults to `"mean_absolute_error"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """Square root of the mean squared error over everything seen.

    Args:
        name: Defaults to `"root_mean_squared_error"`.
        dtype: See :class:`Metric`. Defaults to `None`.
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = self._inputs(y_true, y_pred)
        super().update_state(losses._per_sample(losses.mean_squared_error(y_true, y_pred)), sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


# The rest of the Keras catalogue lives in sibling modules, re-exported here so that
# `lamina.metrics.<name>` works for every metric.
from lamina.losses import (  # noqa: E402, F401
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
)
from lamina.metrics_confusion import (  # noqa: E402, F401
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from lamina.metrics_iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: E402, F401
from lamina.metrics_probabilistic import (  # noqa: E402, F401
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from lamina.metrics_regression import (  # noqa: E402, F401
    ConcordanceCorrelation,
    CosineSimilarity,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    PearsonCorrelation,
    R2Score,
    Sum,
    concordance_correlation,
    pearson_correlation,
)

# --------------------------------------------------------------------------- registry


class _Context(NamedTuple):
    """What the loss and shapes tell about the task, for resolving metric names."""

    kind: str | None
    binary: bool
    from_logits: bool
    output_shape: tuple[Any, ...] | None
    target_shape: tuple[Any, ...] | None

    @property
    def threshold(self) -> float:
        """Decision threshold on ``y_pred``: 0.0 for logits, else 0.5."""
        return 0.0 if self.from_logits else 0.5


def _context(loss: Any, output_shape: Any, target_shape: Any) -> _Context:
    loss = losses.get(loss)
    kind = getattr(loss, "kind", None)
    from_logits = bool(getattr(loss, "from_logits", False))
    output_shape = None if output_shape is None else tuple(output_shape)
    target_shape = None if target_shape is None else tuple(target_shape)
    one_column = bool(output_shape) and output_shape[-1] == 1
    return _Context(
        kind, kind == "binary_crossentropy" or one_column, from_logits, output_shape, target_shape
    )


def _accuracy(name: str, ctx: _Context) -> Metric:
    if ctx.binary:
        return BinaryAccuracy(name=name, threshold=ctx.threshold)
    if ctx.kind == "sparse_categorical_crossentropy":
        return SparseCategoricalAccuracy(name=name)
    if ctx.kind == "categorical_crossentropy":
        return CategoricalAccuracy(name=name)
    if ctx.output_shape and ctx.target_shape:
        out, target = ctx.output_shape, ctx.target_shape
        if len(target) < len(out) or (target and target[-1] == 1):
            return SparseCategoricalAccuracy(name=name)
        return CategoricalAccuracy(name=name)
    return AutoAccuracy(threshold=ctx.threshold, name=name)


def _binary_threshold(ctx: _Context) -> float | None:
    return ctx.threshold if ctx.binary else None


_NAMES: dict[str, Callable[[str, _Context], Metric]] = {
    "accuracy": _accuracy,
    "acc": _accuracy,
    "binary_accuracy": lambda name, ctx: BinaryAccuracy(
        name=name, threshold=ctx.threshold if ctx.binary else 0.5
    ),
    "categorical_accuracy": lambda name, ctx: CategoricalAccuracy(name=name),
    "sparse_categorical_accuracy": lambda name, ctx: SparseCategoricalAccuracy(name=name),
    "top_k_categorical_accuracy": lambda name, ctx: TopKCategoricalAccuracy(name=name),
    "sparse_top_k_categorical_accuracy": lambda name, ctx: SparseTopKCategoricalAccuracy(name=name),
    "precision": lambda name, ctx: Precision(thresholds=_binary_threshold(ctx), name=name),
    "recall": lambda name, ctx: Recall(thresholds=_binary_threshold(ctx), name=name),
    "f1": lambda name, ctx: F1Score(average="macro", threshold=_binary_threshold(ctx), name=name),
    "f1_score": lambda name, ctx: F1Score(
        average="macro", threshold=_binary_threshold(ctx), name=name
    ),
    "auc": lambda name, ctx: AUC(name=name, from_logits=ctx.from_logits and ctx.binary),
    "mse": lambda name, ctx: MeanSquaredError(name=name),
    "mean_squared_error": lambda name, ctx: MeanSquaredError(name=name),
    "mae": lambda name, ctx: MeanAbsoluteError(name=name),
    "mean_absolute_error": lambda name, ctx: MeanAbsoluteError(name=name),
    "rmse": lambda name, ctx: RootMeanSquaredError(name=name),
    "root_mean_squared_error": lambda name, ctx: RootMeanSquaredError(name=name),
}


def get(
    identifier: Any,
    loss: Any = None,
    output_shape: Any = None,
    target_shape: Any = None,
) -> Metric | None:
    """Resolves a metric from a name, an instance, a config dict or a function.

    Names are resolved with what the loss and shapes say about the task, as
    Keras does. ``"accuracy"`` / ``"acc"`` becomes :class:`BinaryAccuracy` for
    a binary crossentropy loss or a one-column output, else
    :class:`SparseCategoricalAccuracy` or :class:`CategoricalAccuracy` after
    the loss; for another loss it follows the shapes (Keras 3 rule), deciding
    at the first batch (:class:`AutoAccuracy`) when they are not given.
    For a binary task whose loss has ``from_logits=True``, thresholds become
    0.0 (the same decision as 0.5 on probabilities) and ``"auc"`` applies a
    sigmoid. ``"f1"`` gives the macro-averaged :class:`F1Score` (for one
    output column that is the usual binary F1). The metric's name is the
    string given, so logs show ``"accuracy"`` or ``"acc"`` as written.

    Args:
        identifier: `None`; a :class:`Metric` (returned as is); a
            :class:`Metric` subclass or class name (default instance); a
            name: ``"accuracy"``, ``"acc"``, ``"binary_accuracy"``,
            ``"categorical_accuracy"``, ``"sparse_categorical_accuracy"``,
            ``"top_k_categorical_accuracy"``,
            ``"sparse_top_k_categorical_accuracy"``, ``"precision"``,
            ``"recall"``, ``"f1"``, ``"f1_score"``, ``"auc"``, ``"mse"``,
            ``"mae"``, ``"rmse"`` (and long forms); a dict from
            :func:`serialize`; a :class:`lamina.losses.Loss` (its per-sample
            values are averaged); or a function ``f(y_true, y_pred)``
            returning per-sample values (wrapped in :class:`MeanMetricWrapper`).
        loss: The model's loss (name, instance or function), or `None`.
            Defaults to `None`.
        output_shape: Shape of the model output, with the batch axis; only
            its last axis is used to spot a one-column output. Defaults to `None`.
        target_shape: Shape of the targets, with the batch axis. Defaults to `None`.

    Returns:
        A :class:`Metric`, or `None`.

    Raises:
        ValueError: For an unknown name (the message lists the valid names).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        factory = _NAMES.get(identifier.lower())  # names whose meaning depends on the task
        if factory is not None and identifier not in registry.builtin_classes("metric"):
            return factory(identifier, _context(loss, output_shape, target_shape))
        found = registry.lookup("metric", identifier, "metric")
        if inspect.isclass(found) and issubclass(found, Metric):
            if identifier in registry.builtin_classes("metric"):
                return found()
            return found(name=identifier) if "name" in inspect.signature(found).parameters else found()
        if callable(found) and not inspect.isclass(found):
            return MeanMetricWrapper(found, name=identifier)
    found = serialization.get(identifier, family="metric", kind="metric", base=Metric)
    if isinstance(found, Metric):
        return found
    if isinstance(identifier, losses.Loss):
        return MeanMetricWrapper(identifier.call, name=identifier.name)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(
        "A metric must be a metric name, a `Metric` instance or a function f(y_true, y_pred). "
        f"Received: metric={identifier!r}."
    )


def serialize(metric: Metric | None) -> dict[str, Any] | None:
    """Returns the Keras config of a :class:`Metric` (see `lamina.saving.serialize_keras_object`).

    Args:
        metric: The metric to describe (`None` gives `None`).
    """
    if metric is None:
        return None
    if not isinstance(metric, Metric) and not inspect.isfunction(metric):
        raise TypeError(f"`serialize` expects a `Metric` instance. Received: metric={metric!r}.")
    return serialization.class_config(metric)


def deserialize(
    config: dict[str, Any] | None, custom_objects: dict[str, Any] | None = None
) -> Metric | None:
    """Rebuilds a metric from :func:`serialize` output, without importing anything.

    Args:
        config: A dict with ``"class_name"`` and ``"config"`` (`None` gives `None`).
        custom_objects: Names of user-defined :class:`Metric` classes or metric
            functions (for a :class:`MeanMetricWrapper`). Defaults to `None`.

    Raises:
        ValueError: For an unknown class name or function name.
    """
    if config is None:
        return None
    return serialization.deserialize(
        config, family="metric", kind="metric", custom_objects=custom_objects, wrapper=MeanMetricWrapper
    )
