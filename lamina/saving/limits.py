"""The bounds Lamina puts on every file it reads, and the bounded JSON parser.

A file may be damaged or hand-made to hurt the reader: a zip member that
inflates a thousandfold (a "zip bomb"), JSON nested a million levels deep, a
safetensors header that claims more data than the file holds. Every reader in
`lamina.saving` checks what a file *declares* against these limits before it
allocates or parses anything, and checks again while reading that the file
keeps its word. The limits sit far above anything a real model needs (see
each constant), so only broken or hostile files meet them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_MEMBERS = 10_000
"""Most entries a zip archive (`.lamina`, `.keras`) may list. A `.lamina` file holds
five members and a `.keras` file three plus its layers' assets (vocabularies,
lookup tables); ten thousand leaves room for many assets while refusing archives
whose central directory alone would cost seconds and memory to walk."""

MAX_JSON_BYTES = 64 * 2**20
"""Largest JSON member (config, optimizer state, profile) read: 64 MiB. The biggest
real configs are a few hundred kilobytes."""

MAX_JSON_DEPTH = 200
"""Deepest nesting of JSON arrays and objects read. The deepest config among the
Keras fixtures and Lamina's examples is 13 levels (a model shared inside another);
every nested model adds about five. Python's parser (and the code that walks the
result) recurses once per level, so a file nested thousands of levels deep would
raise RecursionError or exhaust the stack; it is refused by a linear scan first."""

MAX_COMPRESSION_RATIO = 200
"""Most a compressed (deflated) zip member may expand: its declared size may be at
most this many times its compressed size (or 1 MiB, whichever is larger). Real
JSON members compress about 10 times; a zip bomb expands about 1000 times."""

MIN_RATIO_CHECKED_BYTES = 2**20
"""Compressed members declaring at most this many bytes (1 MiB) are never refused for
their compression ratio: a small, very repetitive config is harmless."""

MAX_TENSOR_HEADER_BYTES = 100 * 2**20
"""Largest safetensors header (the JSON that lists tensor names, dtypes, shapes and
offsets): 100 MiB, the bound the safetensors library itself uses. A model with a
hundred thousand tensors needs about 10 MiB."""

MAX_WEIGHTS_BYTES = 16 * 2**30
"""Largest single member (weights, an HDF5 weights file, a dataset inside it) read:
16 GiB. Larger models are out of scope for single-file archives."""

MAX_ARCHIVE_BYTES = 2 * MAX_WEIGHTS_BYTES
"""Most all members of one archive may declare together (32 GiB): room for the
weights and an optimizer state (Adam keeps two tensors per weight) at the largest
size Lamina reads."""


class JSONRefused(ValueError):
    """Raised by `parse_json`; its message is the problem alone (no file name), for
    the caller to place in its own message."""


# A JSON string: a quote, then runs of plain characters and escapes, then a quote
# (the unrolled form never backtracks, so it is linear in the input).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """How deeply the arrays and objects of the JSON text ``data`` nest, by a linear
    scan that skips strings (a ``[`` inside a string does not count)."""
    brackets = _STRING.sub(b'""', data).translate(None, delete=_NOT_BRACKETS)
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int64)
    return int(np.cumsum(steps).max())


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONRefused(f"the key {key[:100]!r} appears twice in one object")
            seen.add(key)
    return result


def parse_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parses UTF-8 JSON within Lamina's bounds.

    The nesting depth is checked before parsing, a key repeated in one object is
    refused (the two values would silently shadow each other), and every other
    failure (invalid UTF-8, invalid JSON, an integer too long to convert,
    recursion) becomes a `JSONRefused` whose message says what is wrong.

    Args:
        data: The JSON text, bytes (UTF-8) or str.
        max_depth: Deepest nesting accepted. Defaults to `MAX_JSON_DEPTH`.

    Returns:
        The parsed value (NaN and infinities read as Python reads them).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    depth = json_depth(raw)
    if depth > max_depth:
        raise JSONRefused(f"it nests {depth} levels deep; Lamina reads at most {max_depth}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JSONRefused(f"it is not UTF-8 text ({e})") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except JSONRefused:
        raise
    except RecursionError:
        raise JSONRefused("it is nested too deeply to parse") from None
    except (ValueError, TypeError, OverflowError) as e:  # JSONDecodeError, "Exceeds the limit (4300 digits)"
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise JSONRefused(detail[:300]) from None
