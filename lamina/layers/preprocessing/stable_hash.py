"""Stable hashes for `Hashing` (and OOV buckets of the lookup layers).

Python's `hash()` changes from run to run (`PYTHONHASHSEED`), and Keras's
FarmHash is not available, so Lamina uses two documented hashes that give the
same bucket on every run, process and platform:

* **strings**: BLAKE2b (`hashlib.blake2b`, 8-byte digest) of the UTF-8 bytes,
  read as an unsigned little-endian 64-bit integer, shifted right by one bit.
  With a salt, the salt is the BLAKE2b key (16 bytes: the two halves as unsigned
  little-endian 64-bit integers).
* **integers**: the SplitMix64 finaliser of `x XOR k` (two's complement, 64
  bits), shifted right by one bit, where `k` is 0 without a salt and
  `splitmix64(salt[0]) XOR salt[1]` with one.

The bucket is that 63-bit value modulo the number of bins. This module imports
only the standard library, so any process can recompute a bucket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB


def salt_pair(salt: int | Sequence[int] | None) -> tuple[int, int] | None:
    """The salt as two unsigned 64-bit halves (an int is used for both), or None."""
    if salt is None:
        return None
    if isinstance(salt, int):
        return (salt & MASK64, salt & MASK64)
    return (int(salt[0]) & MASK64, int(salt[1]) & MASK64)


def splitmix64(x: int) -> int:
    """The SplitMix64 finaliser of a 64-bit integer (Python ints, wrapped to 64 bits)."""
    z = (x + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def int_key(salt: int | Sequence[int] | None) -> int:
    """The 64-bit key XOR-ed into integers before hashing (0 without a salt)."""
    pair = salt_pair(salt)
    return 0 if pair is None else splitmix64(pair[0]) ^ pair[1]


def hash_int(value: int, salt: int | Sequence[int] | None = None) -> int:
    """The 63-bit stable hash of an integer."""
    return splitmix64((int(value) & MASK64) ^ int_key(salt)) >> 1


def hash_string(value: str, salt: int | Sequence[int] | None = None) -> int:
    """The 63-bit stable hash of a string (BLAKE2b of its UTF-8 bytes)."""
    pair = salt_pair(salt)
    key = b"" if pair is None else pair[0].to_bytes(8, "little") + pair[1].to_bytes(8, "little")
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8, key=key).digest()
    return int.from_bytes(digest, "little") >> 1
