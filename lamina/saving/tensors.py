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
from dataclasses import dataclass
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from lamina.saving.errors import InvalidFileError
from lamina.saving.limits import MAX_TENSOR_HEADER_BYTES, JSONRefused, parse_json

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

# safetensors' dtype names -> torch dtypes (those this torch build has).
_DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, attr)
    for name, attr in (
        ("BOOL", "bool"), ("U8", "uint8"), ("I8", "int8"), ("I16", "int16"), ("U16", "uint16"),
        ("F16", "float16"), ("BF16", "bfloat16"), ("I32", "int32"), ("U32", "uint32"),
        ("F32", "float32"), ("F64", "float64"), ("I64", "int64"), ("U64", "uint64"),
        ("C64", "complex64"), ("F8_E4M3", "float8_e4m3fn"), ("F8_E5M2", "float8_e5m2"),
        ("F8_E4M3FNUZ", "float8_e4m3fnuz"), ("F8_E5M2FNUZ", "float8_e5m2fnuz"),
    )
    if hasattr(torch, attr)
}

_ITEMSIZE = {name: torch.empty((), dtype=dtype).element_size() for name, dtype in _DTYPES.items()}

_FIX = "The file is damaged or was not written by Lamina; save it again (`model.save(path)` or `model.save_weights(path)`)"


@dataclass(frozen=True)
class TensorInfo:
    """What a safetensors header declares about one tensor (nothing is loaded).

    Attributes:
        dtype: The torch dtype.
        shape: The shape.
        nbytes: The size of its data in bytes (``prod(shape) * itemsize``).
    """

    dtype: torch.dtype
    shape: tuple[int, ...]
    nbytes: int


class HeaderProblem(ValueError):
    """What is wrong with a safetensors header (the message holds no file name; the
    reader that knows the file adds it). ``tensor`` names the entry at fault."""

    def __init__(self, problem: str, tensor: str | None = None) -> None:
        super().__init__(problem)
        self.tensor = tensor


def header_length(prefix: bytes, total: int) -> int:
    """The header length that the first 8 bytes of safetensors data declare, checked
    against ``total`` (the size of all the data) and `MAX_TENSOR_HEADER_BYTES`."""
    if total < 8 or len(prefix) < 8:
        raise HeaderProblem(f"it is {total} bytes long, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > MAX_TENSOR_HEADER_BYTES:
        raise HeaderProblem(
            f"its header declares {n} bytes, more than the {MAX_TENSOR_HEADER_BYTES} bytes Lamina reads"
        )
    if 8 + n > total:
        raise HeaderProblem(f"its header declares {n} bytes but only {total - 8} follow; the data is truncated")
    return n


def parse_header(header: bytes, buffer_len: int) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Validates the JSON header of safetensors data whose tensor buffer (what follows
    the header) is ``buffer_len`` bytes; raises `HeaderProblem`. See
    `read_safetensors_header`."""
    try:
        entries = parse_json(header.rstrip(b" "))
    except JSONRefused as e:
        raise HeaderProblem(f"its header is not valid JSON: {e}") from None
    if not isinstance(entries, dict):
        raise HeaderProblem(f"its header is a JSON {type(entries).__name__}, not an object")
    metadata = entries.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise HeaderProblem("its '__metadata__' must map strings to strings")
    infos: dict[str, TensorInfo] = {}
    ranges: list[tuple[int, int, str]] = []
    for name, entry in entries.items():
        infos[name] = _tensor_info(name, entry, buffer_len, ranges)
    ranges.sort()
    position = 0
    for begin, end, name in ranges:
        if begin < position:
            raise HeaderProblem(f"the data of tensor {name!r} overlaps another tensor's", name)
        if begin > position:
            raise HeaderProblem(f"bytes {position}..{begin} before tensor {name!r} belong to no tensor", name)
        position = end
    if position != buffer_len:
        raise HeaderProblem(
            f"its tensors cover {position} bytes of data but {buffer_len} follow the header"
        )
    order = _order_from(metadata)
    if order is not None and len(order) == len(infos) and set(order) == set(infos):
        infos = {k: infos[k] for k in order}
    return infos, metadata


def _tensor_info(name: str, entry: Any, buffer_len: int, ranges: list[tuple[int, int, str]]) -> TensorInfo:
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise HeaderProblem(
            f"the entry of tensor {name!r} must hold exactly 'dtype', 'shape' and 'data_offsets'. "
            f"Received: {keys}",
            name,
        )
    dtype_name, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype_name, str) or dtype_name not in _DTYPES:
        raise HeaderProblem(
            f"tensor {name!r} has an unknown dtype {str(dtype_name)[:40]!r}; expected one of {sorted(_DTYPES)}",
            name,
        )
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise HeaderProblem(f"tensor {name!r} has an invalid shape {str(shape)[:80]}; expected non-negative integers", name)
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= buffer_len
    ):
        raise HeaderProblem(
            f"tensor {name!r} has data_offsets {str(offsets)[:80]}; expected [begin, end] with "
            f"0 <= begin <= end <= {buffer_len} (the bytes after the header)",
            name,
        )
    dtype = _DTYPES[dtype_name]
    itemsize = _ITEMSIZE[dtype_name]
    count = 1
    for d in shape:
        count *= d
    nbytes = count * itemsize
    if nbytes != offsets[1] - offsets[0]:
        raise HeaderProblem(
            f"tensor {name!r} declares shape {shape} of {dtype_name} ({nbytes} bytes) but its "
            f"data_offsets {offsets} span {offsets[1] - offsets[0]} bytes",
            name,
        )
    ranges.append((offsets[0], offsets[1], name))
    return TensorInfo(dtype=dtype, shape=tuple(shape), nbytes=nbytes)


def _order_from(metadata: dict[str, str]) -> list[str] | None:
    if ORDER_KEY not in metadata:
        return None
    try:
        order = parse_json(metadata[ORDER_KEY], max_depth=1)
    except JSONRefused:
        return None
    return order if isinstance(order, list) and all(isinstance(k, str) for k in order) else None


def _check(data: bytes) -> tuple[int, dict[str, TensorInfo], dict[str, str]]:
    n = header_length(data[:8], len(data))
    infos, metadata = parse_header(data[8 : 8 + n], len(data) - 8 - n)
    return n, infos, metadata


def _refusal(source: str, problem: Exception, path: Any, member: str | None, fix: str) -> InvalidFileError:
    tensor = getattr(problem, "tensor", None)
    return InvalidFileError(
        f"{source} is not valid safetensors data: {problem}. {fix}.",
        path=path,
        member=member if member is not None else tensor,
    )


def read_safetensors_header(
    data: bytes, source: str, *, path: str | None = None, member: str | None = None, fix: str = _FIX
) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Reads and validates the header of safetensors ``data`` without creating tensors.

    Checks the 8-byte header length (inside the data, at most
    `MAX_TENSOR_HEADER_BYTES`), that the header is a UTF-8 JSON object without
    repeated keys, that every entry has a known dtype, a shape of non-negative
    integers and ``data_offsets`` inside the data spanning exactly
    ``prod(shape) * itemsize`` bytes, that the tensors' data neither overlap nor
    leave gaps, and that ``__metadata__`` maps strings to strings.

    Args:
        data: The safetensors bytes.
        source: How messages name the data, e.g. ``"'model.safetensors' in 'm.lamina'"``.
        path: The file, recorded on the error. Defaults to `None`.
        member: The archive member, recorded on the error. Defaults to `None`
            (the tensor at fault, when known).
        fix: The last sentence of the error message.

    Returns:
        ``(infos, metadata)``: tensor name -> `TensorInfo` in the order the model
        had when saved (the recorded ``lamina_order``, else the header's order),
        and the metadata.

    Raises:
        InvalidFileError: Naming ``source``, the tensor at fault and the problem.
    """
    try:
        _, infos, metadata = _check(data)
    except HeaderProblem as e:
        raise _refusal(source, e, path, member, fix) from None
    return infos, metadata


def bytes_to_tensors(
    data: bytes, source: str = "the data", *, path: str | None = None, member: str | None = None, fix: str = _FIX
) -> dict[str, torch.Tensor]:
    """Parses safetensors bytes into tensors, in the order they were written when
    recorded. The header is validated first (`read_safetensors_header`).

    Raises:
        InvalidFileError: For invalid data, naming ``source``.
    """
    try:
        return decode_safetensors(data)
    except HeaderProblem as e:
        raise _refusal(source, e, path, member, fix) from e.__cause__


def decode_safetensors(data: bytes) -> dict[str, torch.Tensor]:
    """`bytes_to_tensors` for readers that word the error themselves: any problem is
    a `HeaderProblem` (chained to the library's error, if any)."""
    _, infos, _ = _check(data)
    try:
        tensors = _st_load(bytes(data))
    except Exception as e:  # noqa: BLE001 - SafetensorError, torch errors: all mean a bad file
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise HeaderProblem(f"{type(e).__name__}: {detail[:300]}") from e
    if set(tensors) != set(infos):
        raise HeaderProblem("the tensors it holds differ from those its header lists")
    return {k: tensors[k] for k in infos}


# What `bytes_to_tensors` may raise, for ``except`` clauses written when it raised the
# library's error (new code catches `InvalidFileError`).
SafetensorsError = (SafetensorError, InvalidFileError)


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
