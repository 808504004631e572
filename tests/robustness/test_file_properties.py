"""Property tests of the loaders (hypothesis): whatever the bytes, a loader returns
a model or raises `InvalidFileError` / `ValueError` / `TypeError` / `OSError`
whose message names the file; never any other exception.

Inputs: arbitrary bytes as a `.lamina`, `.weights.safetensors` or backup file;
arbitrary JSON (recursive strategies) as `config.json` / `optimizer.json` of
an otherwise valid archive, or spliced into the valid config; byte flips of
valid files. The loads run in this process, on files of a few KB, under a
temporary address-space limit (the process's size + 1.5 GiB) so that a file
that makes a loader allocate without bound fails its example with a
`MemoryError` instead of exhausting the machine.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import warnings
import zipfile
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness import hostile
from tests.robustness.runner import MEMORY_CAP_BYTES, _vm_size, bases_dir

ALLOWED = (ValueError, TypeError, OSError)  # InvalidFileError is a ValueError
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run (and no example database)
    database=None,
)


@pytest.fixture(scope="module")
def bases():
    return hostile.ensure_bases(bases_dir())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("props"))


@contextmanager
def memory_cap():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _vm_size() + MEMORY_CAP_BYTES
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def check(load, path: str, names: tuple[str, ...]) -> None:
    """``load()`` returns, or raises an allowed error naming one of ``names``."""
    try:
        with memory_cap(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load()
    except ALLOWED as e:
        assert not hostile._chain_has(e, "MemoryError"), (
            f"the loader ran out of memory (cap: this process + 1.5 GiB) on a {os.path.getsize(path) if os.path.isfile(path) else '?'}-byte file "
            f"before refusing it: {type(e).__name__}: {str(e)[:300]}"
        )
        message = str(e)
        assert any(n in message for n in names), (
            f"{type(e).__name__} does not name the file {names[0]!r}: {message[:500]}"
        )
    # any other exception propagates and fails the example


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def load_model(path: str):
    import lamina

    return lambda: lamina.load_model(path)


def load_weights(path: str):
    return lambda: hostile._load_weights(path, "dense")


def restore_backup(folder: str):
    def load():
        try:
            hostile._restore_backup(folder, "backup")
        except AssertionError:
            pass  # fit did not restore (no error, no backup used): allowed

    return load


# ----------------------------------------------------------------- strategies
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["Dense", "Sequential", "lamina", "os.system", "Lambda", "float32", "int64", "__tensor__", "__dict__", "__tuple__"]),
)
json_values = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(["class_name", "config", "units", "layers", "shape", "dtype", "state", "params", "lr", "__tensor__", "__dict__"])),
            children,
            max_size=5,
        ),
    ),
    max_leaves=30,
)


def _paths(value, prefix=()):
    """Every path into a JSON value (for splicing)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def splice(document, path, value):
    if not path:
        return value
    target = document
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return document


def replace_member(source: str, dest: str, member: str, data: bytes) -> None:
    with zipfile.ZipFile(source) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    hostile.write_members(dest, [(n, data if n == member else d) for n, d in members])


def flip(data: bytes, flips: list[tuple[float, int]]) -> bytes:
    buf = bytearray(data)
    for where, value in flips:
        buf[min(len(buf) - 1, int(where * len(buf)))] = value
    return bytes(buf)


flips_strategy = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8)


# ----------------------------------------------------------------- arbitrary bytes
@SETTINGS
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_as_lamina_file(bases, workdir, data):
    path = os.path.join(workdir, "bytes.lamina")
    write(path, data)
    check(load_model(path), path, ("bytes.lamina",))


@SETTINGS
@given(data=st.one_of(st.binary(max_size=4096), st.binary(max_size=2048).map(lambda b: struct.pack("<Q", len(b)) + b)))
def test_arbitrary_bytes_as_weights_file(bases, workdir, data):
    path = os.path.join(workdir, "bytes.weights.safetensors")
    write(path, data)
    check(load_weights(path), path, ("bytes.weights.safetensors",))


@SETTINGS
@given(data=st.one_of(st.binary(max_size=4096), st.binary(max_size=2048).map(lambda b: struct.pack("<Q", len(b)) + b)))
def test_arbitrary_bytes_as_backup(bases, workdir, data):
    folder = os.path.join(workdir, "backup-bytes")
    os.makedirs(folder, exist_ok=True)
    write(os.path.join(folder, "backup.safetensors"), data)
    check(restore_backup(folder), folder, ("backup.safetensors", folder))


# ----------------------------------------------------------------- arbitrary JSON in a valid archive
@SETTINGS
@given(value=json_values)
def test_arbitrary_json_as_config(bases, workdir, value):
    path = os.path.join(workdir, "json-config.lamina")
    replace_member(os.path.join(bases, "dense.lamina"), path, "config.json", json.dumps(value).encode())
    check(load_model(path), path, ("json-config.lamina",))


@SETTINGS
@given(value=json_values, pick=st.integers(0, 10**6))
def test_arbitrary_json_spliced_into_config(bases, workdir, value, pick):
    with zipfile.ZipFile(os.path.join(bases, "adam.lamina")) as zf:
        config = json.loads(zf.read("config.json"))
    paths = list(_paths(config))
    config = splice(config, paths[pick % len(paths)], value)
    path = os.path.join(workdir, "spliced.lamina")
    replace_member(os.path.join(bases, "adam.lamina"), path, "config.json", json.dumps(config).encode())
    check(load_model(path), path, ("spliced.lamina",))


@SETTINGS
@given(value=json_values, pick=st.integers(0, 10**6), whole=st.booleans())
def test_arbitrary_json_as_optimizer_state(bases, workdir, value, pick, whole):
    with zipfile.ZipFile(os.path.join(bases, "adam.lamina")) as zf:
        state = json.loads(zf.read("optimizer.json"))
    if whole:
        state = value
    else:
        paths = list(_paths(state))
        state = splice(state, paths[pick % len(paths)], value)
    path = os.path.join(workdir, "optimizer-json.lamina")
    replace_member(os.path.join(bases, "adam.lamina"), path, "optimizer.json", json.dumps(state).encode())
    check(load_model(path), path, ("optimizer-json.lamina",))


# ----------------------------------------------------------------- byte flips of valid files
@SETTINGS
@given(flips=flips_strategy, source=st.sampled_from(["dense.lamina", "adam.lamina", "lstm.lamina"]))
def test_byte_flips_of_lamina_file(bases, workdir, flips, source):
    with open(os.path.join(bases, source), "rb") as f:
        data = f.read()
    path = os.path.join(workdir, "flipped.lamina")
    write(path, flip(data, flips))
    check(load_model(path), path, ("flipped.lamina",))


@SETTINGS
@given(flips=flips_strategy)
def test_byte_flips_of_weights_file(bases, workdir, flips):
    with open(os.path.join(bases, "dense.weights.safetensors"), "rb") as f:
        data = f.read()
    path = os.path.join(workdir, "flipped.weights.safetensors")
    write(path, flip(data, flips))
    check(load_weights(path), path, ("flipped.weights.safetensors",))


@SETTINGS
@given(flips=flips_strategy)
def test_byte_flips_of_backup(bases, workdir, flips):
    with open(os.path.join(bases, "backup", "backup.safetensors"), "rb") as f:
        data = f.read()
    folder = os.path.join(workdir, "backup-flipped")
    os.makedirs(folder, exist_ok=True)
    write(os.path.join(folder, "backup.safetensors"), flip(data, flips))
    check(restore_backup(folder), folder, ("backup.safetensors", folder))


@SETTINGS
@given(flips=flips_strategy)
def test_byte_flips_of_keras_file(bases, workdir, flips):
    with open(os.path.join(bases, "dense.keras"), "rb") as f:
        data = f.read()
    path = os.path.join(workdir, "flipped.keras")
    write(path, flip(data, flips))
    check(load_model(path), path, ("flipped.keras",))


@SETTINGS
@given(value=json_values, pick=st.integers(0, 10**6))
def test_arbitrary_json_spliced_into_keras_config(bases, workdir, value, pick):
    with zipfile.ZipFile(os.path.join(bases, "dense.keras")) as zf:
        config = json.loads(zf.read("config.json"))
    paths = list(_paths(config))
    config = splice(config, paths[pick % len(paths)], value)
    path = os.path.join(workdir, "spliced.keras")
    replace_member(os.path.join(bases, "dense.keras"), path, "config.json", json.dumps(config).encode())
    check(load_model(path), path, ("spliced.keras",))
