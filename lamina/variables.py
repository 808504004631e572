"""`Variable`: a `torch.nn.Parameter` with the Keras variable API.

Layer weights (`Layer.add_weight`) and metric states are `Variable`s. They stay
real `torch.nn.Parameter`s, so `state_dict()`, optimizers, `copy.deepcopy`,
`torch.compile` and safetensors work as for any PyTorch module, and they add
what Keras code expects of a variable: `assign`, `assign_add`, `assign_sub`,
`value`, `numpy()`, `name`, `path` and `trainable`.

Example:

>>> import numpy as np
>>> from lamina.variables import Variable
>>> v = Variable(np.ones((2, 2)), name="w")
>>> v.assign_add(1.0).numpy().tolist()
[[2.0, 2.0], [2.0, 2.0]]
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["Variable", "standardize_dtype"]

_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    # Aliases Keras accepts.
    "half": torch.float16,
    "float": torch.float32,
    "double": torch.float64,
    "int": torch.int64,
}


def standardize_dtype(dtype: Any, default: torch.dtype | None = None) -> torch.dtype:
    """Resolves a dtype given as a Keras string (`"float32"`), a torch dtype or a NumPy dtype.

    Args:
        dtype: The dtype, or None for ``default``.
        default: What None resolves to. Defaults to `None` (torch's default float dtype).

    Returns:
        The `torch.dtype`.
    """
    if dtype is None:
        return default if default is not None else torch.get_default_dtype()
    if isinstance(dtype, torch.dtype):
        return dtype
    key = dtype
    if not isinstance(key, str):
        try:
            key = np.dtype(dtype).name
        except TypeError:
            key = None
    if isinstance(key, str):
        key = key.replace("torch.", "")
        if key in _DTYPES:
            return _DTYPES[key]
    names = ", ".join(k for k in _DTYPES if k not in ("half", "float", "double", "int"))
    raise ValueError(
        f"Expected `dtype` to be one of {names} (or a torch / NumPy dtype). "
        f"Received: dtype={dtype!r}."
    )


def dtype_name(dtype: torch.dtype) -> str:
    """Keras name of a torch dtype (`torch.float32` -> `"float32"`)."""
    return str(dtype).replace("torch.", "")


def _can_require_grad(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point or dtype.is_complex


def _initial_value(initializer: Any, shape: Any, dtype: torch.dtype) -> torch.Tensor:
    """A new tensor of ``shape`` filled by ``initializer`` (a name, an `Initializer`, a
    torch-style in-place function, or a Keras-style ``fn(shape, dtype)``).

    ``shape`` is in Keras's layout (a dense kernel `(in, out)`, a convolution kernel
    `(kh, kw, in, out)`), so fan-based initializers (`he_normal`, `glorot_uniform`,
    ...) draw with Keras's fans."""
    from lamina import initializers

    init = initializers.get(initializer if initializer is not None else "zeros")
    shape = tuple(shape)
    if isinstance(init, initializers.Initializer):
        if len(shape) < 2:
            return init(torch.empty(shape, dtype=dtype))
        # A Keras-layout shape `(*kernel, in, out)`: fill its PyTorch-layout twin
        # `(out, in, *kernel)`, whose fans are Keras's, then lay it out as Keras does.
        n = len(shape)
        twin = init(torch.empty((shape[-1], shape[-2], *shape[:-2]), dtype=dtype))
        return twin.permute(*range(2, n), 1, 0).contiguous()
    tensor = torch.empty(shape, dtype=dtype)
    params = _first_param_name(init)
    if params == "shape":  # Keras style: returns a new value
        value = init(tuple(shape), dtype=dtype_name(dtype))
    else:  # torch style: fills in place (and usually returns the tensor)
        with torch.no_grad():
            value = init(tensor)
        if value is None:
            value = tensor
    value = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    if tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"Expected the initializer to return a value of shape {tuple(shape)}. "
            f"Received: initializer={initializer!r}, which returned shape {tuple(value.shape)}. "
            "A custom initializer `fn(shape, dtype=None)` must return an array of `shape`."
        )
    return value.detach().to(dtype)


def _first_param_name(fn: Any) -> str | None:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return None
    return params[0] if params else None


def _to_tensor(value: Any, dtype: torch.dtype | None, device: torch.device | None = None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        value = value.detach()
        return value.to(dtype=dtype or value.dtype, device=device or value.device)
    if dtype is None:
        arr = np.asarray(value)
        float_dtype = torch.get_default_dtype() if arr.dtype.kind == "f" else None
        return torch.as_tensor(arr, dtype=float_dtype, device=device)
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device)


class Variable(nn.Parameter):
    """A weight or state: a `torch.nn.Parameter` with Keras's variable API.

    Args:
        initializer: The initial value (a tensor, NumPy array or Python number), or
            an initializer (a name such as `"zeros"`, an `Initializer`, or a
            callable `fn(shape, dtype=None)`) together with `shape`.
        shape: The shape, needed when `initializer` is not a value.
            Defaults to `None`.
        dtype: A dtype name such as `"float32"` or `"int64"`, or a torch dtype.
            Defaults to `None`: a tensor's own dtype, else `"float32"`.
        trainable: Whether training updates it (its `requires_grad`); only
            floating-point variables can be trainable. Defaults to `True`.
        autocast: Accepted for Keras compatibility (Lamina does not autocast
            variables). Defaults to `True`.
        aggregation: Accepted for Keras compatibility (one device: nothing to
            aggregate). Defaults to `"none"`.
        synchronization: Accepted for Keras compatibility. Defaults to `"auto"`.
        name: The variable's name. Defaults to `None` (`"variable"`).
        path: Where it lives, as `"layer_name/variable_name"`. Defaults to `None`
            (the name).

    Example:

    >>> v = Variable("zeros", shape=(2,), name="count", trainable=False)
    >>> v.assign([1.0, 2.0]).numpy().tolist()
    [1.0, 2.0]
    >>> v.path
    'count'
    """

    def __new__(
        cls,
        initializer: Any = None,
        shape: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str = "none",
        synchronization: str = "auto",
        name: str | None = None,
        *,
        path: str | None = None,
        constraint: Any = None,
        regularizer: Any = None,
    ) -> Variable:
        if isinstance(shape, bool):  # torch's `Parameter(data, requires_grad)` order
            trainable, shape = shape, None
        torch_dtype = None if dtype is None else standardize_dtype(dtype)
        is_value = isinstance(initializer, (torch.Tensor, np.ndarray, np.generic, int, float, bool, list, tuple))
        if initializer is None and shape is None:
            data = torch.empty(0)
        elif is_value:
            data = _to_tensor(initializer, torch_dtype)
            if shape is not None and tuple(data.shape) != tuple(shape):
                raise ValueError(
                    f"Expected the initial value of `Variable` to have shape {tuple(shape)}. "
                    f"Received: value.shape={tuple(data.shape)}. Pass a value of that shape, "
                    "or leave `shape` out."
                )
        else:
            if shape is None:
                raise ValueError(
                    "`Variable` needs `shape` when `initializer` is not a value. "
                    f"Received: initializer={initializer!r}, shape=None. "
                    "Pass `shape=(...)`, or pass the initial value itself."
                )
            data = _initial_value(initializer, shape, torch_dtype or torch.get_default_dtype())
        if type(data) is not torch.Tensor:
            data = data.as_subclass(torch.Tensor)
        requires_grad = bool(trainable) and _can_require_grad(data.dtype)
        var = torch.Tensor._make_subclass(cls, data, requires_grad)
        var._lamina_name = name if name is not None else "variable"
        var._lamina_path = path
        var._declared_trainable = bool(trainable)
        var.constraint = constraint
        var.regularizer = regularizer
        var.aggregation = aggregation
        return var

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # everything is done in __new__
        pass

    # ------------------------------------------------------------------ Keras API
    @property
    def name(self) -> str:  # type: ignore[override]
        """The variable's name, e.g. `"kernel"`."""
        return self.__dict__.get("_lamina_name", "variable")

    @property
    def path(self) -> str:
        """Where the variable lives, e.g. `"dense/kernel"`."""
        return self.__dict__.get("_lamina_path") or self.name

    @property
    def value(self) -> torch.Tensor:
        """The variable as a tensor (gradients flow through it)."""
        return self

    @property
    def trainable(self) -> bool:
        """Whether training updates the variable (`requires_grad`)."""
        return self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise ValueError(f"Expected `trainable` to be a boolean. Received: trainable={value!r}.")
        if value and not _can_require_grad(self.dtype):
            raise ValueError(
                f"Variable '{self.path}' has dtype {dtype_name(self.dtype)}, which cannot be "
                "trainable (gradients need a floating-point dtype). Received: trainable=True."
            )
        self._declared_trainable = value
        self.requires_grad_(value)

    def numpy(self, *, force: bool = False) -> np.ndarray:  # type: ignore[override]
        """A NumPy copy of the value (no `.detach()` needed); bfloat16 comes back as
        float32 (NumPy has no bfloat16)."""
        t = self.detach().cpu()
        return (t.float() if t.dtype is torch.bfloat16 else t).numpy().copy()

    def _checked_value(self, value: Any, method: str) -> torch.Tensor:
        v = _to_tensor(value, self.dtype, self.device)
        if tuple(v.shape) != tuple(self.shape):
            try:
                ok = tuple(torch.broadcast_shapes(v.shape, self.shape)) == tuple(self.shape)
            except RuntimeError:
                ok = False
            if not ok or method == "assign":
                raise ValueError(
                    f"`Variable.{method}` expects a value of the variable's shape "
                    f"{tuple(self.shape)}{'' if method == 'assign' else ' (or one that broadcasts to it)'}. "
                    f"Received: value.shape={tuple(v.shape)} for variable '{self.path}'. "
                    "Reshape the value (a transposed kernel is a common cause)."
                )
        return v

    def assign(self, value: Any) -> Variable:
        """Sets the value in place (not recorded by autograd).

        Args:
            value: A tensor, NumPy array or number of the variable's shape; it is
                cast to the variable's dtype.

        Returns:
            The variable.
        """
        v = self._checked_value(value, "assign")
        with torch.no_grad():
            self.copy_(v)
        return self

    def assign_add(self, delta: Any) -> Variable:
        """Adds ``delta`` in place (not recorded by autograd); ``delta`` may broadcast.

        Returns:
            The variable.
        """
        v = self._checked_value(delta, "assign_add")
        with torch.no_grad():
            self.add_(v)
        return self

    def assign_sub(self, delta: Any) -> Variable:
        """Subtracts ``delta`` in place (not recorded by autograd); ``delta`` may broadcast.

        Returns:
            The variable.
        """
        v = self._checked_value(delta, "assign_sub")
        with torch.no_grad():
            self.sub_(v)
        return self

    # ------------------------------------------------------------------ torch protocol
    def __deepcopy__(self, memo: dict[int, Any]) -> Variable:
        if id(self) in memo:
            return memo[id(self)]
        data = self.data.clone(memory_format=torch.preserve_format)
        result = torch.Tensor._make_subclass(type(self), data, self.requires_grad)
        memo[id(self)] = result
        result.__dict__.update(copy.deepcopy(_public_state(self), memo))
        return result

    def __reduce_ex__(self, proto: int) -> Any:
        return (_rebuild_variable, (type(self), self.data, self.requires_grad, _public_state(self)))

    def __repr__(self) -> str:  # type: ignore[override]
        return (
            f"<Variable path={self.path}, shape={tuple(self.shape)}, dtype={dtype_name(self.dtype)}, "
            f"value={self.numpy()!r}>"
        )


def _public_state(var: Variable) -> dict[str, Any]:
    return {k: v for k, v in var.__dict__.items() if not k.startswith("_backward")}


def _rebuild_variable(cls: type, data: torch.Tensor, requires_grad: bool, state: dict[str, Any]) -> Variable:
    var = torch.Tensor._make_subclass(cls, data, requires_grad)
    var.__dict__.update(state)
    return var
