"""Core ops: tensor conversion, dtypes, control flow, slicing and scattering.

These are the backend-level pieces of the Keras ops API, on torch tensors. The
conversion rules of the whole `lamina.ops` package live here:

- a torch tensor keeps its dtype and device;
- a NumPy array keeps its dtype, except float64 which becomes float32 (Keras's
  `floatx`), so `convert_to_tensor(np.array([1.0]))` is float32;
- a Python float (or list of floats) becomes float32, a Python int becomes
  int32, a Python bool becomes bool;
- new tensors go on `lamina.get_device()` unless another operand of the same op
  already lives on a device.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from lamina.runtime import get_device

FLOATX = torch.float32

_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "uint32": torch.uint32,
    "uint64": torch.uint64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}


_NAMES = {v: k for k, v in _DTYPES.items()}


_PYTHON = {bool: "bool", int: "int32", float: "float32", complex: "complex64"}


def standardize_dtype(dtype: Any) -> str:
    """Returns the Keras name of a dtype (`"float32"`, `"int32"`, ...).

    Args:
        dtype: A string, a `torch.dtype`, a NumPy dtype or a Python type
            (`float` -> `"float32"`, `int` -> `"int32"`). None gives `"float32"`.

    Example:
        >>> standardize_dtype(torch.int64)
        'int64'
    """
    if dtype is None:
        return "float32"
    if isinstance(dtype, torch.dtype):
        if dtype in _NAMES:
            return _NAMES[dtype]
    elif dtype in _PYTHON:
        return _PYTHON[dtype]
    else:
        name = getattr(dtype, "name", dtype)
        if isinstance(name, str):
            name = {"float": "float32", "int": "int32", "double": "float64", "half": "float16"}.get(
                name, name
            )
            if name in _DTYPES:
                return name
        try:
            np_name = np.dtype(dtype).name
        except TypeError:
            np_name = None
        if np_name in _DTYPES:
            return np_name
    raise ValueError(
        f"`dtype` must be one of {', '.join(_DTYPES)}. Received: dtype={dtype!r}. "
        "Pass a dtype name such as 'float32'."
    )


def to_torch_dtype(dtype: Any) -> torch.dtype | None:
    """Resolves a dtype argument to a `torch.dtype` (None stays None)."""
    if dtype is None:
        return None
    return _DTYPES[standardize_dtype(dtype)]


def is_tensor(x: Any) -> bool:
    """Returns whether `x` is a torch tensor (the native tensor of Lamina).

    Args:
        x: Any object.

    Example:
        >>> is_tensor(torch.zeros(2)), is_tensor(np.zeros(2))
        (True, False)
    """
    return isinstance(x, torch.Tensor)


def _python_dtype(x: Any) -> torch.dtype:
    """The dtype a (nested) Python scalar/list converts to."""
    flat = np.asarray(x)
    if flat.dtype == np.bool_:
        return torch.bool
    if np.issubdtype(flat.dtype, np.integer):
        return torch.int32
    if np.issubdtype(flat.dtype, np.complexfloating):
        return torch.complex64
    return FLOATX


def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None,
                      device: Any = None) -> torch.Tensor:
    """Converts a NumPy array, Python scalar or list, or tensor to a torch tensor.

    Float64 NumPy arrays and Python floats become float32 (Keras's `floatx`)
    unless `dtype` says otherwise. A tensor that already has the right dtype is
    returned as is, so gradients flow through it.

    Args:
        x: The value to convert.
        dtype: The target dtype. Defaults to `None` (inferred as above).
        sparse: Accepted for Keras compatibility; only dense tensors exist.
            Defaults to `None`.
        ragged: Accepted for Keras compatibility. Defaults to `None`.
        device: Where a new tensor goes. Defaults to `lamina.get_device()`.

    Example:
        >>> convert_to_tensor(np.array([1.0, 2.0])).dtype
        torch.float32
    """
    if x.__class__ is torch.Tensor and dtype is None and device is None:
        return x
    if sparse or ragged:
        raise ValueError(
            "`convert_to_tensor` creates dense tensors only. "
            f"Received: sparse={sparse!r}, ragged={ragged!r}. Pass sparse=None and ragged=None."
        )
    target = to_torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        if device is not None and x.device != torch.device(device):
            x = x.to(device)
        return x if target is None or x.dtype == target else x.to(target)
    if hasattr(x, "value") and isinstance(getattr(x, "value", None), torch.Tensor):
        return convert_to_tensor(x.value, dtype=dtype, device=device)
    dev = torch.device(device) if device is not None else get_device()
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        arr = np.asarray(x)
        if target is None:
            if arr.dtype == np.float64:
                target = FLOATX
            elif arr.dtype.name not in _DTYPES:
                raise TypeError(
                    "`convert_to_tensor` expects a numeric or boolean array. "
                    f"Received: an array of dtype {arr.dtype}. Convert it to numbers first."
                )
        return torch.as_tensor(np.ascontiguousarray(arr), device=dev, dtype=target)
    if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
        return torch.stack([convert_to_tensor(v, dtype=dtype, device=device) for v in x])
    if isinstance(x, (numbers.Number, list, tuple)):
        try:
            inferred = _python_dtype(x)
        except ValueError as e:
            raise ValueError(
                "`convert_to_tensor` expects a scalar or a rectangular nested list. "
                f"Received: x={x!r}. Make every row the same length."
            ) from e
        return torch.tensor(x, dtype=target or inferred, device=dev)
    try:
        arr = np.asarray(x)
    except Exception as e:  # noqa: BLE001 - any failure is a user type error
        raise TypeError(
            "`convert_to_tensor` expects a tensor, a NumPy array, a Python number or list. "
            f"Received: x of type {type(x).__name__}."
        ) from e
    return convert_to_tensor(arr, dtype=dtype, device=device)


def convert_to_numpy(x: Any) -> np.ndarray:
    """Converts a tensor (or anything array-like) to a NumPy array.

    Args:
        x: A tensor, which may require grad or live on an accelerator.

    Example:
        >>> convert_to_numpy(torch.ones(2))
        array([1., 1.], dtype=float32)
    """
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.cpu().numpy()
    return np.asarray(x)


def tensors(*xs: Any) -> list[torch.Tensor]:
    """Converts each operand, putting all on one device: an accelerator one if any is.

    Python scalars next to tensors take part weakly in type promotion, as in
    Keras and NumPy 2: `int32_tensor + 1.5` is float32, `int8_tensor + 1` int8.
    """
    ref = None
    plain = True
    for x in xs:
        if isinstance(x, torch.Tensor):
            if ref is None or (ref.device.type == "cpu" and x.device.type != "cpu"):
                ref = x
            plain = plain and x.__class__ is torch.Tensor
        else:
            plain = False
    if ref is None:
        return [convert_to_tensor(x) for x in xs]
    device = ref.device
    if plain:
        return [x if x.device == device else x.to(device) for x in xs]
    kind = None  # the promoted dtype of the tensor operands, for weak scalars
    for x in xs:
        if isinstance(x, torch.Tensor):
            kind = x.dtype if kind is None else torch.promote_types(kind, x.dtype)
    out = []
    for x in xs:
        if isinstance(x, torch.Tensor):
            out.append(x if x.device == device else x.to(device))
        elif isinstance(x, (bool, int, float)):
            if isinstance(x, bool):
                dt = kind
            elif isinstance(x, int):
                dt = kind if kind != torch.bool else torch.int32
            else:
                dt = kind if kind.is_floating_point or kind.is_complex else FLOATX
            out.append(torch.tensor(x, dtype=dt, device=device))
        else:
            out.append(convert_to_tensor(x, device=device))
    return out


def to_float(x: torch.Tensor) -> torch.Tensor:
    """Casts integer and boolean tensors to floatx; floats are kept."""
    return x if x.is_floating_point() or x.is_complex() else x.to(FLOATX)


def cast(x: Any, dtype: Any) -> torch.Tensor:
    """Casts a tensor to the given dtype.

    Args:
        x: A tensor or array-like.
        dtype: The target dtype, e.g. `"float16"`.

    Example:
        >>> cast(torch.tensor([1.7, -1.7]), "int32")
        tensor([ 1, -1], dtype=torch.int32)
    """
    return convert_to_tensor(x).to(to_torch_dtype(dtype))


def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """Casts to `dtype`, clipping values to the target's range first.

    Args:
        x: A tensor or array-like.
        dtype: The target dtype.

    Example:
        >>> saturate_cast(torch.tensor([-1.0, 300.0]), "uint8")
        tensor([  0, 255], dtype=torch.uint8)
    """
    x = convert_to_tensor(x)
    target = to_torch_dtype(dtype)
    if not target.is_floating_point and target != torch.bool:
        info = torch.iinfo(target)
        x = x.clamp(info.min, info.max)
    return x.to(target)


def shape(x: Any) -> tuple[int, ...]:
    """Returns the shape of a tensor as a tuple of ints.

    Example:
        >>> shape(torch.zeros(2, 3))
        (2, 3)
    """
    if isinstance(x, torch.Tensor) or (hasattr(x, "shape") and not isinstance(x, np.ndarray)):
        return tuple(x.shape)  # also a symbolic tensor's shape, None for the batch axis
    return tuple(np.shape(x))


def dtype(x: Any) -> str:
    """Returns the Keras name of a tensor's dtype, e.g. `"float32"`.

    Example:
        >>> dtype(torch.zeros(2))
        'float32'
    """
    if isinstance(x, (torch.Tensor, np.ndarray)) or hasattr(x, "dtype"):
        return standardize_dtype(x.dtype)
    return standardize_dtype(convert_to_tensor(x).dtype)


def stop_gradient(variable: Any) -> torch.Tensor:
    """Returns the value with gradients blocked (`tensor.detach()`).

    Example:
        >>> stop_gradient(torch.ones(2, requires_grad=True)).requires_grad
        False
    """
    return convert_to_tensor(variable).detach()


def view(x: Any, dtype: Any = None) -> torch.Tensor:
    """Reinterprets the bytes of `x` as `dtype` (NumPy's `ndarray.view`); the last axis
    scales by the ratio of the item sizes.

    Example:
        >>> view(torch.tensor([1.0]), "int32")
        tensor([1065353216], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    if dtype is None:
        return x.view(x.shape)
    return x.contiguous().view(to_torch_dtype(dtype))
