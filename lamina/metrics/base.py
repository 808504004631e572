"""The metric base class, :class:`Metric`: state in tensors on the device,
updated per batch under ``torch.no_grad`` and read at the end of the epoch."""

from __future__ import annotations

from typing import Any

import torch

from lamina import losses
from lamina.metrics.utils import _dtype_name, _move_in_place, _no_grad, _resolve_dtype
from lamina.utils import validation
from lamina.variables import Variable


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
