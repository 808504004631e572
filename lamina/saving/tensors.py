"""Tensors to and from safetensors bytes, and optimizer state without pickle.

A model's `state_dict` (parameters and buffers) is written as safetensors.
An optimizer's state is split in two: its tensors (Adam's moments, step
counts) go to safetensors, and everything else (hyper-parameters, parameter
indices, iteration count) to JSON, with tuples and integer keys tagged so they
come back exactly. Nothing is ever pickled.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

_TAGS = ("__tensor__", "__tuple__", "__dict__")


def tensors_to_bytes(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """Serialises named tensors to safetensors bytes.

    Tensors are detached, moved to the CPU and made contiguous; tensors that
    share memory with another entry (tied weights) or are views of a larger
    storage are copied, as safetensors requires.
    """
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, tensor in tensors.items():
        t = tensor.detach().to("cpu").contiguous()
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        whole = storage.nbytes() == t.numel() * t.element_size()
        if (ptr in seen and t.numel() > 0) or not whole:
            t = t.clone()
            ptr = t.untyped_storage().data_ptr()
        if t.numel() > 0:
            seen.add(ptr)
        out[name] = t
    # safetensors sorts its entries; keep the model's order so weights can be
    # matched by structure when only the names differ (see weights.apply_state).
    metadata = {**(metadata or {}), ORDER_KEY: json.dumps(list(tensors))}
    return _st_save(out, metadata=metadata)


ORDER_KEY = "lamina_order"


def bytes_to_tensors(data: bytes) -> dict[str, torch.Tensor]:
    """Parses safetensors bytes, in the order they were written when recorded;
    raises SafetensorError for invalid data."""
    tensors = _st_load(data)
    order = _recorded_order(data)
    if order is not None and sorted(order) == sorted(tensors):
        return {k: tensors[k] for k in order}
    return tensors


def _recorded_order(data: bytes) -> list[str] | None:
    try:
        (n,) = struct.unpack("<Q", data[:8])
        meta = json.loads(data[8 : 8 + n]).get("__metadata__") or {}
        order = json.loads(meta[ORDER_KEY]) if ORDER_KEY in meta else None
    except (ValueError, struct.error, TypeError):
        return None
    return order if isinstance(order, list) and all(isinstance(k, str) for k in order) else None


SafetensorsError = SafetensorError


# --------------------------------------------------------------------------- JSON + tensors
def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def encode_state(value: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """Turns nested state (dicts, lists, tuples, tensors, numbers) into JSON values,
    moving every tensor into ``tensors`` under its dotted path.

    Raises:
        TypeError: For a value that is neither JSON-able nor a tensor.
    """
    if isinstance(value, torch.Tensor):
        path = path or "tensor"
        while path in tensors:  # keys such as "a.b" and {"a": {"b"}} collide
            path += "_"
        tensors[path] = value
        return {"__tensor__": path}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode_state(v, tensors, _join(path, i)) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode_state(v, tensors, _join(path, i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not (len(value) == 1 and next(iter(value)) in _TAGS):
            return {k: encode_state(v, tensors, _join(path, k)) for k, v in value.items()}
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(
                    f"Cannot save the state entry {path!r}: its keys must be strings or integers. "
                    f"Received a key of type {type(k).__name__}: {k!r}."
                )
            items.append([k, encode_state(v, tensors, _join(path, k))])
        return {"__dict__": items}
    raise TypeError(
        f"Cannot save the state entry {path!r} without pickle: expected tensors, numbers, "
        f"strings, None, lists, tuples or dicts. Received a value of type {type(value).__name__}."
    )


def decode_state(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of `encode_state`.

    Raises:
        ValueError: When the JSON refers to a tensor that is not in ``tensors``
            or is malformed.
    """
    if isinstance(value, list):
        return [decode_state(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key == "__tensor__":
            if not isinstance(inner, str) or inner not in tensors:
                raise ValueError(f"the state refers to a tensor {inner!r} that was not saved")
            return tensors[inner]
        if key == "__tuple__":
            if not isinstance(inner, list):
                raise ValueError(f"a saved tuple must be a list. Received: {inner!r}")
            return tuple(decode_state(v, tensors) for v in inner)
        if key == "__dict__":
            if not isinstance(inner, list) or not all(isinstance(p, list) and len(p) == 2 for p in inner):
                raise ValueError(f"a saved dict must be a list of [key, value] pairs. Received: {inner!r}")
            return {k: decode_state(v, tensors) for k, v in inner}
    return {k: decode_state(v, tensors) for k, v in value.items()}
