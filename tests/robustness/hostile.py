"""Hostile and broken files, made from small real models that Lamina saved.

`ensure_bases(folder)` saves the originals once: a Dense model (``dense``), a
Conv model (``conv``), an Embedding + LSTM model (``lstm``), a Dense model
compiled with Adam after one training step (``adam``, whose file has
``optimizer.json``, ``optimizer.safetensors`` and ``profile.json``), the
BackupAndRestore backup of that run (``backup/backup.safetensors``), the
Keras files (``dense.keras``, ``conv.keras``, ``dense.weights.h5``) and each
model's predictions on a fixed input.

`CASES` maps a case id to a `Case`: how to write the damaged file into an
empty folder, which loader reads it, and what must happen. `run_case` (used by
the worker in `runner.py`) writes the case, loads it and describes the outcome.

Outcomes a case can expect:

* ``"refused"``: the loader raises a `ValueError` (`InvalidFileError` is one)
  or `TypeError` whose message names the file and matches ``problem``;
  filesystem cases (FIFO, folder, symlink loop, missing file) may raise an
  `OSError` instead.
* ``"loads"``: the loader returns a model whose predictions equal the
  original's (a harmless extra member, advisory metadata).
* ``"either"``: refused as above, or loads as above.
"""

from __future__ import annotations

import base64
import json
import marshal
import os
import random
import re
import shutil
import struct
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("file", "weights", "backup", "keras")
CANARY = "CANARY"
TRUNCATIONS = 40  # offsets per truncation sweep (slow mode)
QUICK_TRUNCATIONS = 5  # offsets of each sweep that always run

# ----------------------------------------------------------------- problem patterns
P_ANY = r"."
P_ZIP = r"zip|truncat|corrupt|damaged|not a |invalid|not valid|archive|incomplete"
P_TRUNC = P_ZIP + r"|safetensors|hdf5|header|could not be read|end of|short|unable|signature"
P_SIZE = r"size|large|bytes|memory|limit|exceed|more than|too |GB|GiB|MB"
P_JSON = r"json|nest|deep|decode|expect|not valid|invalid"
P_MISSING = r"no '|missing|lacks|has no|not found|without|holds"
P_CLASS = r"unknown|not registered|neither|not (a |an )?(lamina|built|known|allowed)|refus|lambda|code"
P_LAMBDA = r"lambda|code|refus|not (registered|allowed)|unknown|neither"
P_ST = r"safetensors|header|truncat|corrupt|invalid|not valid|offset|tensor|size|bytes|dtype|shape"
P_DTYPE = r"dtype|float|type|bool|int"
P_NAN = r"nan|finite|inf"
P_MATCH = r"match|shape|missing|unexpected|expect"
P_CONFIG = r"config|expect|invalid|not valid|must|cannot|could not"
P_OPT = r"optimi[sz]er|learning.rate|lr|state|step|exp_avg|param"
P_DUP = r"duplicat|twice|more than once|same name|ambiguous"
P_NAME = r"name|path|member|unsafe|travers|absolute"
P_FS = r"fifo|pipe|regular file|directory|folder|symbolic|symlink|link|loop|not a file|device|no such|exist"
P_VERSION = r"version|newer|format"
P_KERAS = r"keras|config|hdf5|weights|not valid|invalid|corrupt"

# Seeds and inputs of the base models.
X_DENSE = np.random.default_rng(11).normal(size=(6, 4)).astype("float32")
X_CONV = np.random.default_rng(12).normal(size=(6, 8, 8, 1)).astype("float32")
X_LSTM = np.random.default_rng(13).integers(0, 20, size=(6, 5)).astype("int64")
X_MIXED = np.random.default_rng(14).normal(size=(6, 6, 4)).astype("float32")
BASES_VERSION = 3  # bump when `build` or `ensure_bases` changes
INPUTS = {"dense": X_DENSE, "adam": X_DENSE, "backup": X_DENSE, "func": X_DENSE, "mixed": X_MIXED, "conv": X_CONV, "lstm": X_LSTM}


# ================================================================== base models
def build(base: str, seed: int = 0) -> Any:
    """A fresh model with the architecture of ``base`` (weights from ``seed``)."""
    import lamina

    lamina.set_seed(seed)
    L = lamina.layers
    if base in ("dense", "adam", "backup"):
        model = lamina.Sequential(
            [lamina.Input(shape=(4,)), L.Dense(8, activation="relu", name="hidden"), L.Dense(3, name="out")],
            name="dense_model",
        )
    elif base == "conv":
        model = lamina.Sequential(
            [
                lamina.Input(shape=(8, 8, 1)),
                L.Conv2D(4, 3, activation="relu", name="conv"),
                L.Flatten(name="flat"),
                L.Dense(2, name="out"),
            ],
            name="conv_model",
        )
    elif base == "lstm":
        model = lamina.Sequential(
            [
                lamina.Input(shape=(5,), dtype="int64"),
                L.Embedding(20, 4, name="embed"),
                L.LSTM(6, name="lstm"),
                L.Dense(2, name="out"),
            ],
            name="lstm_model",
        )
    elif base == "mixed":
        model = lamina.Sequential(
            [
                lamina.Input(shape=(6, 4)),
                L.Conv1D(5, 3, name="c1"),
                L.BatchNormalization(name="bn"),
                L.Bidirectional(L.GRU(3, return_sequences=True), name="bi"),
                L.GlobalAveragePooling1D(name="gap"),
                L.Dropout(0.2, name="do"),
                L.Dense(2, name="out"),
            ],
            name="mixed",
        )
    elif base == "func":
        x = lamina.Input(shape=(4,), name="x")
        h = L.Dense(8, activation="relu", name="h")(x)
        out = L.Concatenate(name="cat")([L.Dense(3, name="a")(h), L.Dense(2, name="b")(h)])
        model = lamina.Model(x, out, name="func")
    else:
        raise ValueError(f"unknown base {base!r}")
    if base in ("adam", "backup"):
        model.compile(optimizer="adam", loss="mse")
    return model


def _train_xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")


def ensure_bases(folder: str) -> str:
    """Saves the original files and reference predictions into ``folder`` (once)."""
    done = os.path.join(folder, "bases.done")
    if os.path.exists(done):
        return folder
    import lamina

    os.makedirs(folder, exist_ok=True)
    refs: dict[str, np.ndarray] = {}
    for base in ("dense", "conv", "lstm", "func", "mixed"):
        model = build(base, seed=1)
        model.save(os.path.join(folder, f"{base}.lamina"))
        model.save_weights(os.path.join(folder, f"{base}.weights.safetensors"))
        refs[base] = np.asarray(model.predict(INPUTS[base], verbose=0))
        if base in ("dense", "conv", "func", "mixed"):
            model.save(os.path.join(folder, f"{base}.keras"))
        if base == "dense":
            model.save_weights(os.path.join(folder, "dense.weights.h5"))
    model = build("adam", seed=2)
    x, y = _train_xy()
    backup_dir = os.path.join(folder, "backup")
    cb = lamina.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=False)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[cb])  # one step
    model.save(os.path.join(folder, "adam.lamina"))
    refs["adam"] = refs["backup"] = np.asarray(model.predict(X_DENSE, verbose=0))
    np.savez(os.path.join(folder, "refs.npz"), **refs)
    with open(done, "w") as f:
        f.write("ok")
    return folder


# ================================================================== loaders
def _load_model(path: str, base: str) -> Any:
    import lamina

    return lamina.load_model(path)


def _load_weights(path: str, base: str) -> Any:
    model = build(base, seed=7)
    model.load_weights(path)
    return model


def _restore_backup(path: str, base: str) -> Any:
    """Resumes `fit` from the backup folder ``path`` (the backup says one epoch is
    done, so `fit(epochs=1)` restores and trains nothing)."""
    import lamina

    model = build("backup", seed=7)
    x, y = _train_xy()
    cb = lamina.callbacks.BackupAndRestore(path, delete_checkpoint=False)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[cb])
    if cb.restored_epoch is None:
        raise AssertionError("fit did not restore the backup")
    return model


def _selftest(path: str, base: str) -> Any:
    """Loaders that misbehave on purpose, to check the runner reports them."""
    import signal
    import time

    if base == "sleep":
        time.sleep(60)
    elif base == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif base == "alloc":
        return bytearray(8 * 2**30)  # beyond the cap: MemoryError
    elif base == "write":
        with open(os.path.join(os.path.dirname(path), "written.txt"), "w") as f:
            f.write("x")
    raise ValueError(f"selftest {base} in {os.path.basename(path)!r}")


LOADERS: dict[str, Callable[[str, str], Any]] = {
    "load_model": _load_model,
    "load_weights": _load_weights,
    "backup": _restore_backup,
    "selftest": _selftest,
}


# ================================================================== cases
@dataclass
class Case:
    """One hostile file.

    Attributes:
        name: Unique id (``kind/...``).
        kind: "file" (.lamina), "weights" (.weights.safetensors), "backup" or "keras".
        write: ``write(folder, bases) -> path`` puts the file into the empty
            ``folder`` and returns what the loader gets (a backup folder for backups).
        loader: A key of `LOADERS`.
        base: The base model (architecture for weights/backups, reference predictions).
        expect: "refused", "loads" or "either".
        problem: A regex (case-insensitive) the refusal's message must match.
        filesystem: An OSError (FileNotFoundError, IsADirectoryError, ...) is a
            correct refusal too.
        slow: Run only with LAMINA_SLOW_TESTS=1 (and by the summary).
    """

    name: str
    kind: str
    write: Callable[[str, str], str]
    loader: str
    base: str
    expect: str = "refused"
    problem: str = P_ANY
    filesystem: bool = False
    slow: bool = False


CASES: dict[str, Case] = {}


def add(name: str, kind: str, write: Callable[[str, str], str], loader: str, base: str, **kw: Any) -> None:
    full = f"{kind}/{name}"
    assert full not in CASES, full
    CASES[full] = Case(full, kind, write, loader, base, **kw)


# ----------------------------------------------------------------- zip helpers
def read_members(path: str) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def write_members(path: str, members: list[tuple[str, bytes]]) -> None:
    """A zip of ``members`` in order (duplicates allowed), JSON deflated, the rest stored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members:
                method = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method
                zf.writestr(info, data)


def edit_archive(base_file: str, suffix: str, edit: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]):
    """A writer that rewrites ``base_file``'s members through ``edit``."""

    def write(folder: str, bases: str) -> str:
        members = read_members(os.path.join(bases, base_file))
        path = os.path.join(folder, "model" + suffix)
        write_members(path, edit(members))
        return path

    return write


def member_edit(member: str, fn: Callable[[bytes], bytes | None]):
    """An ``edit`` that replaces ``member``'s bytes by ``fn(bytes)`` (None drops it)."""

    def edit(members: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        out = []
        found = False
        for name, data in members:
            if name == member:
                found = True
                new = fn(data)
                if new is not None:
                    out.append((name, new))
            else:
                out.append((name, data))
        assert found, f"{member} not in archive"
        return out

    return edit


def json_edit(fn: Callable[[Any], Any]):
    """Bytes -> bytes through ``fn(parsed JSON) -> new JSON value`` (fn may edit in place)."""

    def edit(data: bytes) -> bytes:
        value = json.loads(data)
        new = fn(value)
        return json.dumps(value if new is None else new).encode()

    return edit


def raw(text: str | bytes):
    return lambda data: text.encode() if isinstance(text, str) else text


def setpath(path: str, value: Any):
    """A JSON edit setting ``a.b.0.c`` to ``value`` (``...`` deletes it)."""

    def fn(obj: Any) -> Any:
        keys = [int(k) if k.lstrip("-").isdigit() else k for k in path.split(".")]
        target = obj
        for k in keys[:-1]:
            target = target[k]
        if value is ...:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value(target[keys[-1]]) if callable(value) else value
        return obj

    return fn


def copy_file(name: str, dest: str):
    def write(folder: str, bases: str) -> str:
        path = os.path.join(folder, dest)
        shutil.copyfile(os.path.join(bases, name), path)
        return path

    return write


def bytes_file(dest: str, make: Callable[[bytes], bytes], source: str | None = None):
    """A writer of ``make(source bytes)`` as ``folder/dest``."""

    def write(folder: str, bases: str) -> str:
        data = b""
        if source is not None:
            with open(os.path.join(bases, source), "rb") as f:
                data = f.read()
        path = os.path.join(folder, dest)
        with open(path, "wb") as f:
            f.write(make(data))
        return path

    return write


def in_backup(make: Callable[[bytes], bytes]):
    """A backup folder whose backup.safetensors is ``make(original bytes)``."""

    def write(folder: str, bases: str) -> str:
        with open(os.path.join(bases, "backup", "backup.safetensors"), "rb") as f:
            data = f.read()
        with open(os.path.join(folder, "backup.safetensors"), "wb") as f:
            f.write(make(data))
        return folder

    return write


# Big files (bombs, 100k-member archives) are built once, by the parent before the
# workers start (`prebuild`), into a cache kept between runs: deflating 4 GiB of
# zeros takes seconds, and doing it inside a memory-capped worker is fragile.
BUILDERS: dict[str, Callable[[str, str], None]] = {}  # key -> build(bases, tmp_path)


CACHE_VERSION = 1  # bump when a cached file's recipe changes


def cache_dir(bases: str) -> str:
    override = os.environ.get("LAMINA_HOSTILE_CACHE")
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.abspath(bases)), f"cache-v{CACHE_VERSION}")


def cached(bases: str, key: str) -> str:
    """The cached file ``key``, built now if `prebuild` did not."""
    cache = cache_dir(bases)
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, key)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{random.randrange(10**9)}.tmp"
        try:
            BUILDERS[key](bases, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return path


def cached_keys(case_ids: list[str]) -> list[str]:
    """The cached files the given cases use."""
    keys = (getattr(CASES[c].write, "cache_key", None) for c in case_ids if c in CASES)
    return sorted({k for k in keys if k})


def prebuild(bases: str, keys: list[str] | None = None, threads: int = 2) -> None:
    """Builds the cached files (zlib releases the GIL, so threads run side by side)."""
    from concurrent.futures import ThreadPoolExecutor

    wanted = [k for k in (keys if keys is not None else BUILDERS) if not os.path.exists(os.path.join(cache_dir(bases), k))]
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(lambda k: cached(bases, k), wanted):
            pass


# ----------------------------------------------------------------- safetensors helpers
def st_parse(data: bytes) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def st_pack(header: dict[str, Any] | bytes, body: bytes) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body


def st_entries(data: bytes) -> tuple[list[list[Any]], dict[str, str] | None]:
    """[[name, dtype, shape, bytes], ...] in file order, and the metadata."""
    header, body = st_parse(data)
    meta = header.pop("__metadata__", None)
    items = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    return [[k, v["dtype"], v["shape"], body[v["data_offsets"][0] : v["data_offsets"][1]]] for k, v in items], meta


def st_build(entries: list[list[Any]], meta: dict[str, str] | None) -> bytes:
    header: dict[str, Any] = {}
    if meta is not None:
        header["__metadata__"] = meta
    body = b""
    for name, dtype, shape, blob in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(blob)]}
        body += blob
    return st_pack(header, body)


def _target(entries: list[list[Any]], index: int = 0) -> int:
    """The index of the ``index``-th float32 weight of the model (not optimizer/rng)."""
    picks = [i for i, e in enumerate(entries) if e[1] == "F32" and not e[0].startswith(("optimizer/", "rng/"))]
    return picks[(index + _TARGET_SHIFT) % len(picks)]


def st_tensor_edit(fn: Callable[[list[list[Any]], int], None], index: int = 0):
    def make(data: bytes) -> bytes:
        entries, meta = st_entries(data)
        fn(entries, _target(entries, index))
        return st_build(entries, meta)

    return make


def st_named_edit(fn: Callable[[list[list[Any]], int], None], suffix: str):
    """``fn`` applied to the weight whose name ends with ``suffix`` (file order is not model order)."""

    def make(data: bytes) -> bytes:
        entries, meta = st_entries(data)
        fn(entries, next(i for i, e in enumerate(entries) if e[0].endswith(suffix)))
        return st_build(entries, meta)

    return make


def st_header_edit(fn: Callable[[dict[str, Any]], Any]):
    def make(data: bytes) -> bytes:
        header, body = st_parse(data)
        new = fn(header)
        return st_pack(header if new is None else new, body)

    return make


def _first_key(header: dict[str, Any], index: int = 0) -> str:
    keys = sorted(
        (k for k in header if k != "__metadata__" and header[k]["dtype"] == "F32" and not k.startswith(("optimizer/", "rng/"))),
        key=lambda k: header[k]["data_offsets"][0],
    )
    return keys[(index + _TARGET_SHIFT) % len(keys)]


def _retype(dtype: str, np_dtype: Any, scale: float | None = None):
    def fn(entries: list[list[Any]], i: int) -> None:
        arr = np.frombuffer(entries[i][3], dtype="<f4").astype(np_dtype)
        if scale is not None:
            arr = np.full(arr.shape, scale, dtype=np_dtype)
        entries[i][1] = dtype
        entries[i][3] = arr.tobytes()

    return fn


def _fill(value: float):
    def fn(entries: list[list[Any]], i: int) -> None:
        arr = np.frombuffer(entries[i][3], dtype="<f4").copy()
        arr[0] = value
        entries[i][3] = arr.tobytes()

    return fn


def _fill_all(value: float):
    def fn(entries: list[list[Any]], i: int) -> None:
        arr = np.full(np.frombuffer(entries[i][3], dtype="<f4").shape, value, "<f4")
        entries[i][3] = arr.tobytes()

    return fn


def st_tensor_edit_at(make: Callable[[bytes], bytes], index: int) -> Callable[[bytes], bytes]:
    """``make`` (an `ST_MUTATIONS` entry) applied to the ``index``-th float32 weight
    instead of the first: the mutations read the target through `_target` /
    `_first_key`, so the weights before it are moved out of the way and back."""

    def apply(data: bytes) -> bytes:
        global _TARGET_SHIFT
        _TARGET_SHIFT = index
        try:
            return make(data)
        finally:
            _TARGET_SHIFT = 0

    return apply


_TARGET_SHIFT = 0


def _set_len_prefix(n: int):
    return lambda data: struct.pack("<Q", n) + data[8:]


def _offsets(fn: Callable[[list[int], int], list[int]]):
    def edit(header: dict[str, Any]) -> None:
        k = _first_key(header)
        header[k]["data_offsets"] = fn(header[k]["data_offsets"], 0)

    return edit


def _overlap(header: dict[str, Any]) -> None:
    k0, k1 = _first_key(header, 0), _first_key(header, 1)
    a0, b0 = header[k0]["data_offsets"]
    a1, b1 = header[k1]["data_offsets"]
    n1 = b1 - a1
    header[k1]["data_offsets"] = [a0, a0 + n1]


def _set_shape(shape_fn: Callable[[list[int]], list[int]]):
    def edit(header: dict[str, Any]) -> None:
        k = _first_key(header)
        header[k]["shape"] = shape_fn(header[k]["shape"])

    return edit


def _set_dtype_only(dtype: str):
    def edit(header: dict[str, Any]) -> None:
        header[_first_key(header)]["dtype"] = dtype

    return edit


def _transpose(entries: list[list[Any]], i: int) -> None:
    shape = entries[i][2]
    entries[i][2] = list(reversed(shape)) if len(shape) > 1 and shape[0] != shape[-1] else [1] + shape


def _extra(entries: list[list[Any]], i: int) -> None:
    name = entries[i][0]
    prefix = "model/" if name.startswith("model/") else ""
    entries.append([f"{prefix}intruder.kernel", "F32", [2, 2], np.ones(4, "<f4").tobytes()])


def _drop(entries: list[list[Any]], i: int) -> None:
    del entries[i]


def _zero_rows(entries: list[list[Any]], i: int) -> None:
    entries[i][2] = [0] + entries[i][2][1:]
    entries[i][3] = b""


def _dup_key_header(data: bytes) -> bytes:
    header, body = st_parse(data)
    k = _first_key(header)
    text = json.dumps(header)
    entry = json.dumps({k: header[k]})[1:-1]
    other = dict(header[k])
    other["shape"] = [1]
    other["data_offsets"] = [0, 4]
    text = "{" + entry + ", " + json.dumps({k: other})[1:-1] + ", " + text[1:]
    return st_pack(text.encode(), body)


def _lamina_order_garbage(header: dict[str, Any]) -> None:
    meta = header.setdefault("__metadata__", {})
    meta["lamina_order"] = "[[[not json"


def _meta_not_str(header: dict[str, Any]) -> None:
    header["__metadata__"] = {"format": 1, "producer": ["x"]}


def _deep_header(data: bytes) -> bytes:
    return st_pack(b"[" * 100_000, b"")


ST_MUTATIONS: list[tuple[str, Callable[[bytes], bytes], str, str]] = [
    # (name, bytes -> bytes, expect, problem)
    ("empty", lambda d: b"", "refused", P_TRUNC),
    ("four_bytes", lambda d: d[:4], "refused", P_TRUNC),
    ("header_len_2_63", _set_len_prefix(2**63 - 1), "refused", P_ST + "|" + P_SIZE),
    ("header_len_2_40", _set_len_prefix(2**40), "refused", P_ST + "|" + P_SIZE),
    ("header_len_past_end", lambda d: struct.pack("<Q", len(d)) + d[8:], "refused", P_ST),
    ("header_len_zero", _set_len_prefix(0), "refused", P_ST),
    ("header_json_broken", lambda d: d[:8] + b"{" * (struct.unpack("<Q", d[:8])[0]) + d[8 + struct.unpack("<Q", d[:8])[0]:], "refused", P_ST),
    ("header_not_object", st_header_edit(lambda h: [1, 2, 3]), "refused", P_ST),
    ("header_deep_nesting", _deep_header, "refused", P_ST + "|nest|deep"),
    ("offsets_out_of_range", st_header_edit(_offsets(lambda o, _: [o[0], 10**12])), "refused", P_ST),
    ("offsets_negative", st_header_edit(_offsets(lambda o, _: [-8, o[1]])), "refused", P_ST),
    ("offsets_reversed", st_header_edit(_offsets(lambda o, _: [o[1], o[0]])), "refused", P_ST),
    ("offsets_overlap", st_header_edit(_overlap), "refused", P_ST),
    ("dtype_unknown", st_header_edit(_set_dtype_only("X99")), "refused", P_ST + "|" + P_DTYPE),
    ("dtype_f64", st_tensor_edit(_retype("F64", "<f8")), "refused", P_DTYPE),
    ("dtype_bool", st_tensor_edit(_retype("BOOL", "bool")), "refused", P_DTYPE),
    ("dtype_i64", st_tensor_edit(_retype("I64", "<i8")), "refused", P_DTYPE),
    ("dtype_f16", st_tensor_edit(_retype("F16", "<f2")), "refused", P_DTYPE),
    ("values_1e300_f64", st_tensor_edit(_retype("F64", "<f8", scale=1e300)), "refused", P_DTYPE + "|" + P_NAN),
    ("nan_weight", st_tensor_edit(_fill(float("nan"))), "refused", P_NAN),
    ("inf_weight", st_tensor_edit(_fill(float("inf"))), "refused", P_NAN),
    ("extra_tensor", st_tensor_edit(_extra), "refused", P_MATCH),
    ("missing_tensor", st_tensor_edit(_drop), "refused", P_MATCH),
    ("wrong_shape", st_tensor_edit(_transpose), "refused", P_MATCH),
    ("zero_rows", st_tensor_edit(_zero_rows), "refused", P_MATCH),
    ("shape_huge", st_header_edit(_set_shape(lambda s: [10**9, 10**9])), "refused", P_ST + "|" + P_MATCH),
    ("shape_negative", st_header_edit(_set_shape(lambda s: [-1] + s[1:])), "refused", P_ST + "|" + P_MATCH),
    ("shape_rank_1000", st_header_edit(_set_shape(lambda s: [1] * 1000)), "refused", P_ST + "|" + P_MATCH),
    ("data_truncated", lambda d: d[:-10], "refused", P_ST),
    ("trailing_garbage", lambda d: d + b"\xde\xad" * 64, "either", P_ST),
    ("duplicate_key", _dup_key_header, "either", P_ST + "|" + P_DUP),
    ("metadata_not_strings", st_header_edit(_meta_not_str), "refused", P_ST),
    ("lamina_order_garbage", st_header_edit(_lamina_order_garbage), "loads", P_ANY),
]


# ----------------------------------------------------------------- bombs and lies
ZERO_CHUNK = bytes(1 << 22)


def _bomb_zip(path: str, members: list[tuple[str, bytes]], bomb_name: str, gib: float, replace: bool = True) -> None:
    """A zip with ``members`` where ``bomb_name`` is a deflated member of ``gib`` GiB of zeros."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            if name == bomb_name and replace:
                continue
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            zf.writestr(info, data)
        info = zipfile.ZipInfo(bomb_name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = 1  # zeros deflate ~230:1 at level 1, ~1000:1 at 9 (3x slower)
        with zf.open(info, "w", force_zip64=True) as f:
            for _ in range(int(gib * 1024 / 4)):
                f.write(ZERO_CHUNK)


def bomb(base_file: str, suffix: str, member: str, gib: float, replace: bool = True):
    key = f"bomb-{base_file}-{member}-{gib}-{replace}"
    BUILDERS[key] = lambda bases, tmp: _bomb_zip(tmp, read_members(os.path.join(bases, base_file)), member, gib, replace)

    def write(folder: str, bases: str) -> str:
        src = cached(bases, key)
        path = os.path.join(folder, "model" + suffix)
        shutil.copyfile(src, path)
        return path

    write.cache_key = key  # type: ignore[attr-defined]
    return write


def _patch_sizes(data: bytes, member: str, size: int | None = None, csize: int | None = None, where: str = "both") -> bytes:
    """Rewrites the declared (uncompressed / compressed) size of ``member`` in the
    local header and / or the central directory of a (non-zip64) archive."""
    buf = bytearray(data)
    name = member.encode()
    if where in ("both", "local"):
        i = buf.find(b"PK\x03\x04" + b"")
        while i != -1:
            n = struct.unpack_from("<H", buf, i + 26)[0]
            if bytes(buf[i + 30 : i + 30 + n]) == name:
                if csize is not None:
                    struct.pack_into("<I", buf, i + 18, csize)
                if size is not None:
                    struct.pack_into("<I", buf, i + 22, size)
            i = buf.find(b"PK\x03\x04", i + 4)
    if where in ("both", "central"):
        i = buf.find(b"PK\x01\x02")
        while i != -1:
            n = struct.unpack_from("<H", buf, i + 28)[0]
            if bytes(buf[i + 46 : i + 46 + n]) == name:
                if csize is not None:
                    struct.pack_into("<I", buf, i + 20, csize)
                if size is not None:
                    struct.pack_into("<I", buf, i + 24, size)
            i = buf.find(b"PK\x01\x02", i + 4)
    return bytes(buf)


def lying_bomb(base_file: str, suffix: str, member: str, declared: int, gib: float = 1.0):
    """``member`` declares ``declared`` bytes in both headers but inflates to ``gib`` GiB."""
    key = f"liebomb-{base_file}-{member}-{gib}"

    def build_it(bases: str, tmp: str) -> None:
        members = read_members(os.path.join(bases, base_file))
        with zipfile.ZipFile(tmp, "w") as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                if name == member:
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info._compresslevel = 9
                    # < 4 GiB so plain (non-zip64) headers can be patched afterwards
                    with zf.open(info, "w") as f:
                        for _ in range(int(gib * 1024 / 4)):
                            f.write(ZERO_CHUNK)
                else:
                    info.compress_type = zipfile.ZIP_STORED
                    zf.writestr(info, data)

    BUILDERS[key] = build_it

    def write(folder: str, bases: str) -> str:
        src = cached(bases, key)
        with open(src, "rb") as f:
            data = f.read()
        path = os.path.join(folder, "model" + suffix)
        with open(path, "wb") as f:
            f.write(_patch_sizes(data, member, size=declared))
        return path

    write.cache_key = key  # type: ignore[attr-defined]
    return write


def _patch_header_field(data: bytes, member: str, local_at: int, central_at: int, value: int) -> bytes:
    """Sets a 2-byte field (flags: local 6 / central 8; method: local 8 / central 10) of
    ``member``'s local header and central directory entry."""
    buf = bytearray(data)
    name = member.encode()
    for sig, name_len_at, name_at, field in ((b"PK\x03\x04", 26, 30, local_at), (b"PK\x01\x02", 28, 46, central_at)):
        i = buf.find(sig)
        while i != -1:
            n = struct.unpack_from("<H", buf, i + name_len_at)[0]
            if bytes(buf[i + name_at : i + name_at + n]) == name:
                struct.pack_into("<H", buf, i + field, value)
            i = buf.find(sig, i + 4)
    return bytes(buf)


def header_field(base_file: str, suffix: str, member: str, field: str, value: int):
    local_at, central_at = {"flags": (6, 8), "method": (8, 10)}[field]

    def write(folder: str, bases: str) -> str:
        path = os.path.join(folder, "model" + suffix)
        write_members(path, read_members(os.path.join(bases, base_file)))
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(_patch_header_field(data, member, local_at, central_at, value))
        return path

    return write


def recompressed(base_file: str, suffix: str, member: str, method: int):
    """``member`` compressed with another method zipfile reads (bzip2, LZMA)."""

    def write(folder: str, bases: str) -> str:
        path = os.path.join(folder, "model" + suffix)
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in read_members(os.path.join(bases, base_file)):
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method if name == member else zipfile.ZIP_STORED
                zf.writestr(info, data)
        return path

    return write


def size_lie(base_file: str, suffix: str, member: str, size: int | None = None, csize: int | None = None, where: str = "both"):
    def write(folder: str, bases: str) -> str:
        members = read_members(os.path.join(bases, base_file))
        path = os.path.join(folder, "model" + suffix)
        write_members(path, members)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(_patch_sizes(data, member, size=size, csize=csize, where=where))
        return path

    return write


def many_members(base_file: str, suffix: str, count: int):
    key = f"many-{base_file}-{count}"

    def build_it(bases: str, tmp: str) -> None:
        members = read_members(os.path.join(bases, base_file))
        with zipfile.ZipFile(tmp, "w") as zf:
            for name, data in members:
                zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
            for i in range(count):
                zf.writestr(zipfile.ZipInfo(f"x/{i}", date_time=(1980, 1, 1, 0, 0, 0)), b"")

    BUILDERS[key] = build_it

    def write(folder: str, bases: str) -> str:
        src = cached(bases, key)
        path = os.path.join(folder, "model" + suffix)
        shutil.copyfile(src, path)
        return path

    write.cache_key = key  # type: ignore[attr-defined]
    return write


# ----------------------------------------------------------------- filesystem oddities
P_LOOP = r"symbolic|symlink|link|loop|levels"  # a loop is not "no such file"


def fs_problem(what: str, other: str) -> str:
    return P_LOOP if "loop" in what else P_FS + "|" + other


def fs_case(what: str, dest: str, backup: bool = False):
    def write(folder: str, bases: str) -> str:
        path = os.path.join(folder, dest)
        if what == "fifo":
            os.mkfifo(path)
        elif what == "directory":
            os.mkdir(path)
        elif what == "symlink_loop":
            os.symlink(os.path.basename(path), path)
        elif what == "symlink_pair_loop":
            other = path + ".other"
            os.symlink(os.path.basename(other), path)
            os.symlink(os.path.basename(path), other)
        elif what == "dangling_symlink":
            os.symlink("does-not-exist", path)
        elif what == "dev_zero":
            os.symlink("/dev/zero", path)
        elif what == "dev_urandom":
            os.symlink("/dev/urandom", path)
        elif what == "missing":
            pass
        elif what == "sparse_4g":
            with open(path, "wb") as f:
                f.truncate(4 * 2**30)
        else:
            raise ValueError(what)
        return folder if backup else path

    return write


FS_KINDS = ["fifo", "directory", "symlink_loop", "symlink_pair_loop", "dangling_symlink", "dev_zero", "dev_urandom", "missing", "sparse_4g"]


# ----------------------------------------------------------------- payloads
def _payload_code(folder: str) -> str:
    canary = os.path.join(folder, CANARY)
    fn = eval(f"lambda x: (__import__('os').system('touch {canary}'), x)[1]")  # noqa: S307 - the payload a hostile file carries
    return base64.b64encode(marshal.dumps(fn.__code__)).decode()


def _touch_command(folder: str) -> str:
    return f"touch {os.path.join(folder, CANARY)}"


def lamina_config_payload(kind: str):
    """config.json edits that try to run code; the folder is known only when writing."""

    def write(folder: str, bases: str) -> str:
        members = read_members(os.path.join(bases, "dense.lamina"))
        cmd = _touch_command(folder)
        lam = {
            "class_name": "Lambda",
            "config": {
                "name": "evil",
                "function": {"class_name": "__lambda__", "config": {"code": _payload_code(folder), "defaults": None, "closure": None}},
            },
        }

        def fn(cfg: Any) -> None:
            layers = cfg["config"]["layers"]
            if kind == "lambda_layer":
                layers.insert(0, lam)
            elif kind == "os_system_layer":
                layers.insert(0, {"class_name": "os.system", "config": {"command": cmd}})
            elif kind == "builtins_eval_layer":
                layers.insert(0, {"class_name": "builtins.eval", "config": {"source": f"__import__('os').system('{cmd}')"}})
            elif kind == "module_os_system":
                layers.insert(0, {"module": "os", "class_name": "system", "config": {"command": cmd}, "registered_name": "os>system"})
            elif kind == "subprocess_popen":
                layers.insert(0, {"module": "subprocess", "class_name": "Popen", "config": {"args": ["touch", os.path.join(folder, CANARY)]}})
            elif kind == "dotted_subprocess_run":
                layers.insert(0, {"class_name": "subprocess.run", "config": {"args": ["touch", os.path.join(folder, CANARY)]}})
            elif kind == "module_os_makedirs":
                layers.insert(0, {"module": "os", "class_name": "makedirs", "config": {"name": os.path.join(folder, CANARY)}, "registered_name": None})
            elif kind == "loss_subprocess_run":
                cfg["compile_config"] = {"optimizer": "adam", "loss": {"module": "subprocess", "class_name": "run", "config": {"args": ["touch", os.path.join(folder, CANARY)]}}}
            elif kind == "activation_function_module":
                layers[0]["config"]["activation"] = {"class_name": "function", "config": "system", "module": "os", "registered_name": None}
            elif kind == "activation_dotted_eval":
                layers[0]["config"]["activation"] = "builtins.eval"
            elif kind == "initializer_os_system":
                layers[0]["config"]["kernel_initializer"] = {"module": "os", "class_name": "system", "config": {"command": cmd}, "registered_name": None}
            elif kind == "model_class_os_system":
                cfg["class_name"] = "os.system"
            elif kind == "model_class_dunder_import":
                cfg["class_name"] = "__import__"
            elif kind == "loss_builtins_exec":
                cfg["compile_config"] = {"optimizer": None, "loss": {"class_name": "builtins.exec", "config": {"source": f"import os; os.system('{cmd}')"}}}
            elif kind == "optimizer_os_system":
                cfg["compile_config"] = {"optimizer": {"module": "os", "class_name": "system", "config": {"command": cmd}}, "loss": "mse"}
            elif kind == "registered_name_eval":
                layers[0]["registered_name"] = "builtins>eval"
            else:
                raise ValueError(kind)

        edited = member_edit("config.json", json_edit(fn))(members)
        path = os.path.join(folder, "model.lamina")
        write_members(path, edited)
        return path

    return write


# ----------------------------------------------------------------- wrong types everywhere
NOTES: dict[str, str] = {}  # what a writer chose (the JSON path it damaged), by folder


def _json_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _json_paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:8]):  # long lists (RNG states) are sampled at their head
            out += _json_paths(v, prefix + (i,))
    return out


def _wrong_type(value: Any) -> Any:
    if isinstance(value, dict):
        return []
    if isinstance(value, list):
        return {"0": value[:1]}
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return [value]
    if isinstance(value, str):
        return 12345
    return {"class_name": "os.system", "config": {}}  # None


def typeswap_json(document: Any, index: int, folder: str) -> Any:
    paths = _json_paths(document)
    path = paths[index % len(paths)]
    target = document
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = _wrong_type(target[path[-1]])
    NOTES[folder] = ".".join(map(str, path))
    return document


def typeswap_member(base_file: str, suffix: str, member: str, index: int):
    def write(folder: str, bases: str) -> str:
        edited = member_edit(member, lambda d: json.dumps(typeswap_json(json.loads(d), index, folder)).encode())(
            read_members(os.path.join(bases, base_file))
        )
        path = os.path.join(folder, "model" + suffix)
        write_members(path, edited)
        return path

    return write


def typeswap_backup(index: int):
    def make_in(folder: str):
        def make(data: bytes) -> bytes:
            header, body = st_parse(data)
            meta = json.loads(header["__metadata__"]["lamina_backup"])
            header["__metadata__"]["lamina_backup"] = json.dumps(typeswap_json(meta, index, folder))
            return st_pack(header, body)
        return make

    def write(folder: str, bases: str) -> str:
        return in_backup(make_in(folder))(folder, bases)

    return write


# ================================================================== the catalogue
def _truncations() -> list[tuple[str, Callable[[int], int]]]:
    """``TRUNCATIONS`` cut points: small absolute offsets, offsets from the end
    (the zip end-of-central-directory record is 22 bytes) and fractions of the size."""
    cuts: list[tuple[str, Callable[[int], int]]] = []
    for n in (1, 7, 8, 30, 100):
        cuts.append((f"at_{n}", (lambda k: lambda size: min(k, size - 1))(n)))
    for n in (1, 22, 100):
        cuts.append((f"end_minus_{n}", (lambda k: lambda size: max(1, size - k))(n)))
    steps = TRUNCATIONS - len(cuts)
    for i in range(steps):
        frac = (i + 0.5) / steps
        cuts.append((f"frac_{frac:.3f}", (lambda f: lambda size: max(1, int(size * f)))(frac)))
    return cuts


QUICK_CUTS = {"at_8", "end_minus_1", "end_minus_22", "frac_0.234", "frac_0.516"}


def _cut(at: Callable[[int], int]) -> Callable[[bytes], bytes]:
    return lambda data: data[: at(len(data))]


def truncation_sweep(kind: str, source: str, dest: str, loader: str, base: str, backup: bool = False, prefix: str = "", all_slow: bool = False) -> None:
    for tag, at in _truncations():
        write = in_backup(_cut(at)) if backup else bytes_file(dest, _cut(at), source)
        add(f"{prefix}truncated_{tag}", kind, write, loader, base, problem=P_TRUNC, slow=all_slow or tag not in QUICK_CUTS)


TYPESWAPS = {"config": 140, "optimizer": 48, "backup": 60, "keras": 100, "func": 70, "func_keras": 70, "mixed": 120, "mixed_keras": 90, "profile": 80}  # cases (path index modulo the paths)


def _register() -> None:
    # ---------------------------------------------------------------- .lamina files
    K, LM = "file", "load_model"
    simple_bytes = {
        "empty": b"",
        "one_byte": b"P",
        "text": b"hello, this is not a model\n",
        "random_100": random.Random(1).randbytes(100),
        "random_10k": random.Random(2).randbytes(10_000),
        "zip_magic_only": b"PK\x03\x04" + bytes(26),
        "end_of_central_dir_only": b"PK\x05\x06" + bytes(18),
        "gzip": b"\x1f\x8b\x08\x00" + bytes(20),
        "pickle": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94.",
        "json_not_zip": b'{"format": "lamina"}',
    }
    for name, data in simple_bytes.items():
        add(name, K, bytes_file("model.lamina", raw(data)), LM, "dense", problem=P_ZIP)
    add("empty_zip", K, edit_archive("dense.lamina", ".lamina", lambda m: []), LM, "dense", problem=P_MISSING)
    add("keras_file_named_lamina", K, copy_file("dense.keras", "model.lamina"), LM, "dense", problem=P_MISSING + "|lamina")

    # bombs and size lies
    add("bomb_config_1gib", K, bomb("dense.lamina", ".lamina", "config.json", 1), LM, "dense", problem=P_SIZE)
    add("bomb_weights_4gib", K, bomb("dense.lamina", ".lamina", "model.safetensors", 4), LM, "dense", problem=P_SIZE)
    add("bomb_profile_1gib", K, bomb("adam.lamina", ".lamina", "profile.json", 1), LM, "adam", problem=P_SIZE)
    add("bomb_optimizer_json_1gib", K, bomb("adam.lamina", ".lamina", "optimizer.json", 1), LM, "adam", problem=P_SIZE)
    add("bomb_optimizer_tensors_1gib", K, bomb("adam.lamina", ".lamina", "optimizer.safetensors", 1), LM, "adam", problem=P_SIZE)
    add("bomb_extra_member_1gib", K, bomb("dense.lamina", ".lamina", "notes.bin", 1, replace=False), LM, "dense", expect="either", problem=P_SIZE)
    add("bomb_config_declares_1k", K, lying_bomb("dense.lamina", ".lamina", "config.json", 1000), LM, "dense", problem=P_ZIP + "|" + P_SIZE + "|crc|json")
    add("config_size_declared_4gib", K, size_lie("dense.lamina", ".lamina", "config.json", size=2**32 - 1), LM, "dense", problem=P_SIZE + "|" + P_ZIP)
    add("weights_size_declared_small", K, size_lie("dense.lamina", ".lamina", "model.safetensors", size=10), LM, "dense", problem=P_ZIP + "|crc|" + P_ST)
    add("weights_csize_huge_central", K, size_lie("dense.lamina", ".lamina", "model.safetensors", csize=2**31, where="central"), LM, "dense", problem=P_ZIP + "|" + P_SIZE)
    add("weights_local_header_disagrees", K, size_lie("dense.lamina", ".lamina", "model.safetensors", size=7, where="local"), LM, "dense", expect="either", problem=P_ZIP)
    add("config_encrypted_flag", K, header_field("dense.lamina", ".lamina", "config.json", "flags", 1), LM, "dense", problem=P_ZIP + "|encrypt|password")
    add("weights_encrypted_flag", K, header_field("dense.lamina", ".lamina", "model.safetensors", "flags", 1), LM, "dense", problem=P_ZIP + "|encrypt|password")
    add("config_method_99_aes", K, header_field("dense.lamina", ".lamina", "config.json", "method", 99), LM, "dense", problem=P_ZIP + "|compress|method|support")
    add("weights_method_unknown", K, header_field("dense.lamina", ".lamina", "model.safetensors", "method", 77), LM, "dense", problem=P_ZIP + "|compress|method|support")
    add("config_bzip2", K, recompressed("dense.lamina", ".lamina", "config.json", zipfile.ZIP_BZIP2), LM, "dense", expect="either", problem=P_ZIP + "|compress|method|support")
    add("weights_lzma", K, recompressed("dense.lamina", ".lamina", "model.safetensors", zipfile.ZIP_LZMA), LM, "dense", expect="either", problem=P_ZIP + "|compress|method|support")
    add("members_100k", K, many_members("dense.lamina", ".lamina", 100_000), LM, "dense", problem=r"member|entries|too many|" + P_SIZE)

    # duplicated, traversal, missing, extra members
    def dup(member: str, replacement: bytes | None = None):
        def edit(m):
            orig = dict(m)[member]
            return m + [(member, replacement if replacement is not None else orig)]
        return edit

    add("duplicate_config_same", K, edit_archive("dense.lamina", ".lamina", dup("config.json")), LM, "dense", problem=P_DUP)
    add("duplicate_config_other", K, edit_archive("dense.lamina", ".lamina", dup("config.json", b'{"format": "lamina", "format_version": 1, "class_name": "os.system", "config": {}}')), LM, "dense", problem=P_DUP)
    add("duplicate_weights", K, edit_archive("dense.lamina", ".lamina", dup("model.safetensors")), LM, "dense", problem=P_DUP)
    for name, member in [("traversal_member", "../evil"), ("absolute_member", "/tmp/lamina-evil-abs"), ("traversal_deep_member", "a/../../../evil"), ("backslash_member", "..\\evil")]:
        add(name, K, edit_archive("dense.lamina", ".lamina", (lambda mm: lambda m: m + [(mm, b"x")])(member)), LM, "dense", expect="either", problem=P_NAME)
    add("traversal_named_config", K, edit_archive("dense.lamina", ".lamina", lambda m: [("../config.json" if n == "config.json" else n, d) for n, d in m]), LM, "dense", problem=P_MISSING + "|" + P_NAME)
    add("missing_config", K, edit_archive("dense.lamina", ".lamina", member_edit("config.json", lambda d: None)), LM, "dense", problem=P_MISSING)
    add("missing_weights", K, edit_archive("dense.lamina", ".lamina", member_edit("model.safetensors", lambda d: None)), LM, "dense", problem=P_MISSING)
    add("missing_profile", K, edit_archive("adam.lamina", ".lamina", member_edit("profile.json", lambda d: None)), LM, "adam", expect="loads")
    add("extra_unknown_member", K, edit_archive("dense.lamina", ".lamina", lambda m: m + [("README.txt", b"hello")]), LM, "dense", expect="loads")
    add("extra_pickle_member", K, edit_archive("dense.lamina", ".lamina", lambda m: m + [("data.pkl", simple_bytes["pickle"])]), LM, "dense", expect="loads")
    add("directory_member", K, edit_archive("dense.lamina", ".lamina", lambda m: m + [("folder/", b"")]), LM, "dense", expect="loads")
    add("config_member_is_dir", K, edit_archive("dense.lamina", ".lamina", lambda m: [("config.json/" if n == "config.json" else n, d if n != "config.json" else b"") for n, d in m]), LM, "dense", problem=P_MISSING)

    # config.json: not JSON
    cfg = lambda edit, base="dense.lamina": edit_archive(base, ".lamina", member_edit("config.json", edit))  # noqa: E731
    for name, text in {
        "config_invalid_json": b'{"format": "lamina", ',
        "config_empty": b"",
        "config_null": b"null",
        "config_list": b"[]",
        "config_string": b'"lamina"',
        "config_number": b"1e999",
        "config_binary": bytes(range(256)),
        "config_utf16": '{"format": "lamina"}'.encode("utf-16"),
        "config_deep_list_100k": b"[" * 100_000 + b"]" * 100_000,
        "config_deep_dict_100k": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "config_huge_int_digits": b'{"format": "lamina", "format_version": ' + b"9" * 100_000 + b"}",
    }.items():
        add(name, K, cfg(raw(text)), LM, "dense", problem=P_JSON + "|" + P_CONFIG + "|lamina|digits")

    def deep_inside(data: bytes) -> bytes:
        obj = json.loads(data)
        obj["config"]["layers"][0]["config"]["kernel_initializer"]["config"] = "@DEEP@"
        return json.dumps(obj).replace('"@DEEP@"', '{"a": ' * 50_000 + "1" + "}" * 50_000).encode()

    add("config_deep_inside_layer", K, cfg(deep_inside), LM, "dense", problem=P_JSON + "|" + P_CONFIG)

    # config.json: wrong values and types at every level
    L0 = "config.layers.0.config"
    wrong = {
        "format_missing": ("format", ...),
        "format_other": ("format", "keras"),
        "version_string": ("format_version", "1"),
        "version_float": ("format_version", 1.5),
        "version_bool": ("format_version", True),
        "version_newer": ("format_version", 2),
        "version_zero": ("format_version", 0),
        "version_huge": ("format_version", 10**30),
        "version_nan": ("format_version", float("nan")),
        "class_name_int": ("class_name", 7),
        "class_name_null": ("class_name", None),
        "class_name_list": ("class_name", ["Sequential"]),
        "class_name_unknown": ("class_name", "NoSuchModel"),
        "class_name_layer_not_model": ("class_name", "Dense"),
        "config_is_list": ("config", []),
        "config_is_string": ("config", "x"),
        "config_missing": ("config", ...),
        "layers_is_dict": ("config.layers", {}),
        "layers_is_string": ("config.layers", "Dense"),
        "layers_null": ("config.layers", None),
        "layer_entry_int": ("config.layers.0", 5),
        "layer_entry_string": ("config.layers.0", "Dense"),
        "layer_entry_empty": ("config.layers.0", {}),
        "layer_config_missing": ("config.layers.0.config", ...),
        "layer_config_list": ("config.layers.0.config", [1, 2]),
        "layer_class_unknown": ("config.layers.0.class_name", "NoSuchLayer"),
        "layer_class_int": ("config.layers.0.class_name", 3),
        "units_string": (L0 + ".units", "8"),
        "units_float": (L0 + ".units", 3.5),
        "units_negative": (L0 + ".units", -1),
        "units_zero": (L0 + ".units", 0),
        "units_bool": (L0 + ".units", True),
        "units_null": (L0 + ".units", None),
        "units_nan": (L0 + ".units", float("nan")),
        "units_inf": (L0 + ".units", float("inf")),
        "units_10e30": (L0 + ".units", 10**30),
        "units_2e63": (L0 + ".units", 2**63),
        "units_mismatch_weights": (L0 + ".units", 16),
        "units_1e8": (L0 + ".units", 10**8),
        "units_list": (L0 + ".units", [8]),
        "activation_unknown": (L0 + ".activation", "no_such_activation"),
        "activation_int": (L0 + ".activation", 12),
        "use_bias_string": (L0 + ".use_bias", "yes"),
        "unknown_layer_kwarg": (L0 + ".evil_kwarg", 1),
        "initializer_unknown": (L0 + ".kernel_initializer.class_name", "NoSuchInit"),
        "layer_name_huge": (L0 + ".name", "n" * 1_000_000),
        "layer_name_slash": (L0 + ".name", "../../evil"),
        "input_shape_string": ("config.input.shape", "abc"),
        "config_input_shape_1e9": ("config.input.shape", [10**9]),
        "config_input_shape_zero": ("config.input.shape", [0]),
        "config_input_shape_negative": ("config.input.shape", [-4]),
        "config_input_shape_rank_3_huge": ("config.input.shape", [10**5, 10**5, 4]),
        "config_input_batch_size_1e12": ("config.input.batch_size", 10**12),
        "metadata_missing": ("metadata", ...),
        "metadata_list": ("metadata", []),
        "input_spec_missing": ("metadata.input", ...),
        "input_shape_nested": ("metadata.input.shape", [[[[]]]]),
        "input_shape_negative": ("metadata.input.shape", [None, -5]),
        "input_shape_float": ("metadata.input.shape", [None, 1.5]),
        "input_shape_string_dims": ("metadata.input.shape", [None, "4"]),
        "input_shape_1e9": ("metadata.input.shape", [None, 10**9]),
        "input_shape_rank_100": ("metadata.input.shape", [None] + [2] * 100),
        "input_shape_dict": ("metadata.input.shape", {"a": [None, 4]}),
        "input_shape_mismatch": ("metadata.input.shape", [None, 7]),
        "input_dtype_unknown": ("metadata.input.dtype", "evil"),
        "input_dtype_int": ("metadata.input.dtype", 5),
        "input_dtype_os_system": ("metadata.input.dtype", "os.system"),
        "trainable_string": ("config.trainable", "no"),
        "compile_config_list": ("compile_config", [1]),
        "compile_optimizer_unknown": ("compile_config", {"optimizer": {"class_name": "NoSuchOptimizer", "config": {}}, "loss": "mse"}),
        "compile_loss_unknown": ("compile_config", {"optimizer": "adam", "loss": {"class_name": "NoSuchLoss", "config": {}}}),
        "compile_metrics_int": ("compile_config", {"optimizer": None, "loss": None, "metrics": 5}),
    }
    # Values Lamina may ignore: the model's own config builds it (metadata.input is a
    # fallback) and a 1 MB layer name is odd but harmless. Loading them is fine when
    # the predictions are the original's.
    harmless = {"layer_name_huge", "input_shape_nested", "input_shape_negative", "input_shape_float", "input_shape_string_dims", "input_shape_dict", "input_shape_mismatch", "input_shape_rank_100", "config_input_batch_size_1e12"}
    for name, (path, value) in wrong.items():
        problem = P_CONFIG + "|" + P_CLASS + "|" + P_MATCH + "|" + P_VERSION + "|" + P_SIZE + "|" + P_DTYPE
        if name in ("units_1e8", "config_input_shape_1e9", "config_input_shape_rank_3_huge"):
            problem = P_SIZE
        add(name, K, cfg(json_edit(setpath(path, value))), LM, "dense", problem=problem, expect="either" if name in harmless else "refused")

    # oversized layers in other models
    add("conv_filters_1e6", K, cfg(json_edit(setpath("config.layers.0.config.filters", 10**6)), "conv.lamina"), LM, "conv", problem=P_SIZE)
    add("conv_kernel_size_1e5", K, cfg(json_edit(setpath("config.layers.0.config.kernel_size", [10**5, 10**5])), "conv.lamina"), LM, "conv", problem=P_SIZE + "|" + P_CONFIG + "|" + P_MATCH)
    add("conv_input_1e5_square", K, cfg(json_edit(setpath("metadata.input.shape", [None, 10**5, 10**5, 1])), "conv.lamina"), LM, "conv", problem=P_SIZE + "|" + P_MATCH)
    add("embedding_input_dim_1e9", K, cfg(json_edit(setpath("config.layers.0.config.input_dim", 10**9)), "lstm.lamina"), LM, "lstm", problem=P_SIZE)
    add("embedding_output_dim_1e8", K, cfg(json_edit(setpath("config.layers.0.config.output_dim", 10**8)), "lstm.lamina"), LM, "lstm", problem=P_SIZE)
    add("lstm_units_1e6", K, cfg(json_edit(setpath("config.layers.1.config.units", 10**6)), "lstm.lamina"), LM, "lstm", problem=P_SIZE)
    add("lstm_input_length_1e9", K, cfg(json_edit(setpath("metadata.input.shape", [None, 10**9])), "lstm.lamina"), LM, "lstm", problem=P_SIZE + "|" + P_MATCH)
    add("batch_dim_1e9", K, cfg(json_edit(setpath("metadata.input.shape", [10**9, 4]))), LM, "dense", problem=P_SIZE + "|" + P_MATCH)

    # functional graphs: cycles, dangling references, absurd indices, deep and
    # exponentially-shared graphs (a walk without memo would take 2**60 steps)
    def ref(name, node=0, index=0):
        return {"__tensor__": [name, node, index]}

    def layer_named(cfg, name):
        return next(layer for layer in cfg["config"]["layers"] if layer["name"] == name)

    def inbound(name, args):
        def fn(cfg):
            layer_named(cfg, name)["inbound_nodes"] = [{"args": args, "kwargs": {}}]
        return fn

    def dup_layer(layer):
        # a second layer named 'a', with another width: which one gets a's weights?
        other = json.loads(json.dumps(layer))
        other["config"]["units"] = 5
        return other

    def chain(kind: str, n: int):
        def fn(cfg):
            layers = cfg["config"]["layers"]
            prev = "x"
            extra = []
            for i in range(n):
                if kind == "max":
                    extra.append({"class_name": "Maximum", "config": {"name": f"m{i}", "trainable": True}, "name": f"m{i}", "inbound_nodes": [{"args": [ref(prev), ref(prev)], "kwargs": {}}]})
                else:
                    extra.append({"class_name": "Dense", "config": {"name": f"d{i}", "units": 4, "trainable": True}, "name": f"d{i}", "inbound_nodes": [{"args": ref(prev), "kwargs": {}}]})
                prev = extra[-1]["name"]
            layers[1:1] = extra
            layer_named(cfg, "h")["inbound_nodes"] = [{"args": ref(prev), "kwargs": {}}]
        return fn

    fcfg = lambda fn: cfg(json_edit(fn), "func.lamina")  # noqa: E731
    P_GRAPH = r"describe|cycle|loop|unknown|no layer|not found|refer|node|index|graph|input|output|missing|duplicat|" + P_MATCH + "|" + P_CONFIG
    for name, fn, expect in [
        ("cycle", inbound("h", ref("cat")), "refused"),
        ("self_loop", inbound("h", ref("h")), "refused"),
        ("unknown_layer_ref", inbound("h", ref("nosuch")), "refused"),
        ("node_index_1e9", inbound("h", ref("x", 10**9, 0)), "refused"),
        ("tensor_index_1e9", inbound("h", ref("x", 0, 10**9)), "refused"),
        ("node_index_negative", inbound("h", ref("x", -1, 0)), "refused"),
        ("ref_not_a_list", inbound("h", {"__tensor__": "x"}), "refused"),
        ("ref_too_short", inbound("h", {"__tensor__": ["x"]}), "refused"),
        ("output_unknown", lambda c: c["config"].__setitem__("output_layers", ref("nosuch")), "refused"),
        ("input_is_dense", lambda c: c["config"].__setitem__("input_layers", ref("h")), "refused"),
        ("inputs_missing", lambda c: c["config"].pop("input_layers"), "refused"),
        ("duplicate_layer_name", lambda c: c["config"]["layers"].insert(2, dup_layer(layer_named(c, "a"))), "refused"),
        ("inbound_nodes_1000", lambda c: layer_named(c, "h").__setitem__("inbound_nodes", [{"args": ref("x"), "kwargs": {}}] * 1000), "either"),
        ("kwargs_unknown", lambda c: layer_named(c, "h")["inbound_nodes"][0].__setitem__("kwargs", {"evil": 1}), "refused"),
        ("kwargs_training_string", lambda c: layer_named(c, "h")["inbound_nodes"][0].__setitem__("kwargs", {"training": "yes"}), "either"),
        ("identity_diamond_60", chain("max", 60), "either"),
        ("chain_1500_dense", chain("dense", 1500), "refused"),
    ]:
        add(f"func_{name}", K, fcfg(fn), LM, "func", expect=expect, problem=P_GRAPH + ("|" + P_SIZE + "|nest|deep" if "1500" in name else ""))
    for i in range(TYPESWAPS["func"]):
        add(f"typeswap_func_{i:03d}", K, typeswap_member("func.lamina", ".lamina", "config.json", i), LM, "func", expect="either", problem=P_GRAPH + "|" + P_CLASS + "|" + P_DTYPE)

    # a model with more kinds of layers (Conv1D, BatchNormalization, Bidirectional GRU,
    # pooling, Dropout): every config value type-swapped, and its weights damaged
    for i in range(TYPESWAPS["mixed"]):
        add(f"typeswap_mixed_{i:03d}", K, typeswap_member("mixed.lamina", ".lamina", "config.json", i), LM, "mixed", expect="either", problem=P_CONFIG + "|" + P_CLASS + "|" + P_MATCH + "|" + P_DTYPE + "|" + P_SIZE)
    MIXED_ST = ("wrong_shape", "missing_tensor", "extra_tensor", "dtype_f64", "nan_weight", "inf_weight", "zero_rows", "offsets_overlap")
    for name, make, expect, problem in ST_MUTATIONS:
        if name in MIXED_ST:
            for index in (0, 2, 4, 7):  # c1.kernel, bn.gamma, bn.moving_mean, bi.layer.recurrent_kernel
                add(f"mixed_st_{name}_{index}", K, edit_archive("mixed.lamina", ".lamina", member_edit("model.safetensors", st_tensor_edit_at(make, index))), LM, "mixed", expect=expect, problem=problem)
    # a negative moving variance makes every prediction NaN (sqrt of a negative),
    # as Adam's negative second moment does for training
    add("mixed_moving_variance_negative", K, edit_archive("mixed.lamina", ".lamina", member_edit("model.safetensors", st_named_edit(_fill_all(-1.0), "moving_variance"))), LM, "mixed", problem=r"variance|negative")

    # code-execution attempts
    # The subprocess / makedirs payloads take keyword arguments, so a loader that
    # resolved the name and called it with the config would create the canary.
    for kind in ["dotted_subprocess_run", "module_os_makedirs", "loss_subprocess_run", "lambda_layer", "os_system_layer", "builtins_eval_layer", "module_os_system", "subprocess_popen", "activation_function_module", "activation_dotted_eval", "initializer_os_system", "model_class_os_system", "model_class_dunder_import", "loss_builtins_exec", "optimizer_os_system", "registered_name_eval"]:
        # registered_name on a built-in class is ignored (the class is found by class_name):
        # loading is fine as long as nothing ran.
        expect = "either" if kind == "registered_name_eval" else "refused"
        add(f"payload_{kind}", K, lamina_config_payload(kind), LM, "dense", problem=P_CLASS + "|" + P_LAMBDA + "|" + P_CONFIG, expect=expect)

    # model.safetensors inside the archive
    for name, make, expect, problem in ST_MUTATIONS:
        add(f"st_{name}", K, edit_archive("dense.lamina", ".lamina", member_edit("model.safetensors", make)), LM, "dense", expect=expect, problem=problem)
    for name in ("wrong_shape", "dtype_f64", "nan_weight"):
        make = dict((n, m) for n, m, _, _ in ST_MUTATIONS)[name]
        prob = dict((n, p) for n, _, _, p in ST_MUTATIONS)[name]
        add(f"conv_st_{name}", K, edit_archive("conv.lamina", ".lamina", member_edit("model.safetensors", make)), LM, "conv", problem=prob)
        add(f"lstm_st_{name}", K, edit_archive("lstm.lamina", ".lamina", member_edit("model.safetensors", make)), LM, "lstm", problem=prob)

    # optimizer state (adam.lamina)
    OJ, OS = "optimizer.json", "optimizer.safetensors"
    opt = lambda member, edit: edit_archive("adam.lamina", ".lamina", member_edit(member, edit))  # noqa: E731
    LRP = "compile_config.optimizer.config.learning_rate"
    for name, value in {"lr_nan": float("nan"), "lr_inf": float("inf"), "lr_negative": -1.0, "lr_string": "fast", "lr_huge": 1e308}.items():
        expect = "either" if name == "lr_huge" else "refused"  # finite, if absurd
        add(f"compile_{name}", K, opt("config.json", json_edit(setpath(LRP, value))), LM, "adam", problem=P_OPT + "|" + P_NAN + "|" + P_CONFIG, expect=expect)
    add("compile_beta_1_nan", K, opt("config.json", json_edit(setpath("compile_config.optimizer.config.beta_1", float("nan")))), LM, "adam", problem=P_OPT + "|" + P_NAN + "|beta")
    add("compile_epsilon_negative", K, opt("config.json", json_edit(setpath("compile_config.optimizer.config.epsilon", -1.0))), LM, "adam", problem=P_OPT + "|epsilon")
    PG = "state.optimizer.param_groups.0"
    for name, (path, value) in {
        "group_lr_nan": (PG + ".lr", float("nan")),
        "group_lr_inf": (PG + ".lr", float("inf")),
        "group_lr_negative": (PG + ".lr", -1.0),
        "group_lr_string": (PG + ".lr", "x"),
        "group_eps_negative": (PG + ".eps", -1.0),
        "group_betas_out_of_range": (PG + ".betas", {"__tuple__": [5.0, -1.0]}),
        "group_params_out_of_range": (PG + ".params", [0, 1, 2, 99]),
        "group_params_negative": (PG + ".params", [0, 1, 2, -1]),
        "group_params_duplicate": (PG + ".params", [0, 0, 1, 2]),
        "group_params_too_few": (PG + ".params", [0, 1]),
        "group_params_strings": (PG + ".params", ["a", "b", "c", "d"]),
        "param_groups_empty": ("state.optimizer.param_groups", []),
        "param_groups_not_list": ("state.optimizer.param_groups", {"a": 1}),
        "iterations_negative": ("state.iterations", -5),
        "iterations_string": ("state.iterations", "x"),
        "iterations_inf": ("state.iterations", float("inf")),
        "iterations_huge": ("state.iterations", 10**40),
        "state_missing": ("state", ...),
        "state_is_list": ("state", [1]),
        "tensor_ref_missing": ("state.optimizer.state.__dict__.0.1.exp_avg", {"__tensor__": "no.such.tensor"}),
        "tensor_ref_int": ("state.optimizer.state.__dict__.0.1.exp_avg", {"__tensor__": 5}),
        "dict_tag_not_list": ("state.optimizer.state.__dict__", 5),
        "tuple_tag_dict": (PG + ".betas", {"__tuple__": {"a": 1}}),
        "state_entry_for_param_99": ("state.optimizer.state.__dict__.0.0", 99),
    }.items():
        add(f"optjson_{name}", K, opt(OJ, json_edit(setpath(path, value))), LM, "adam", problem=P_OPT + "|" + P_NAN + "|" + P_MATCH + "|" + P_CONFIG)
    for name, text in {"invalid_json": b"{", "null": b"null", "deep_100k": b"[" * 100_000 + b"]" * 100_000, "binary": bytes(range(256))}.items():
        add(f"optjson_{name}", K, opt(OJ, raw(text)), LM, "adam", problem=P_JSON + "|" + P_OPT)
    add("optimizer_tensors_missing", K, edit_archive("adam.lamina", ".lamina", member_edit(OS, lambda d: None)), LM, "adam", problem=P_MISSING + "|" + P_OPT)
    add("optimizer_json_missing", K, edit_archive("adam.lamina", ".lamina", member_edit(OJ, lambda d: None)), LM, "adam", expect="either", problem=P_MISSING + "|" + P_OPT)

    step_fill = lambda v: lambda a: ("F32", [], np.full((), v, "<f4").tobytes())  # noqa: E731
    for name, key, fn in [
        ("step_inf", "optimizer.state.0.step", step_fill(float("inf"))),
        ("step_nan", "optimizer.state.0.step", step_fill(float("nan"))),
        ("step_negative", "optimizer.state.0.step", step_fill(-3.0)),
        ("step_huge", "optimizer.state.0.step", step_fill(3e38)),
        ("exp_avg_wrong_shape", "optimizer.state.0.exp_avg", lambda a: ("F32", [2], np.zeros(2, "<f4").tobytes())),
        ("exp_avg_nan", "optimizer.state.0.exp_avg", lambda a: ("F32", list(a.shape) if a.ndim else [], np.full(a.shape, np.nan, "<f4").tobytes())),
        ("exp_avg_sq_negative", "optimizer.state.0.exp_avg_sq", lambda a: ("F32", list(a.shape), np.full(a.shape, -1.0, "<f4").tobytes())),
        ("exp_avg_f64", "optimizer.state.0.exp_avg", lambda a: ("F64", list(a.shape), a.astype("<f8").tobytes())),
        ("exp_avg_bool", "optimizer.state.0.exp_avg", lambda a: ("BOOL", list(a.shape), a.astype(bool).tobytes())),
    ]:
        def fix_shape(fn=fn, key=key):
            def make(data: bytes) -> bytes:
                entries, meta = st_entries(data)
                for e in entries:
                    if e[0] == key:
                        dt = {"F32": "<f4"}[e[1]]
                        arr = np.frombuffer(e[3], dtype=dt).reshape(e[2])
                        e[1], e[2], e[3] = fn(arr.copy())
                        break
                else:
                    raise AssertionError(key)
                return st_build(entries, meta)
            return make
        expect = "either" if name == "exp_avg_f64" else "refused"  # torch casts float state to the parameter's dtype
        add(f"optst_{name}", K, opt(OS, fix_shape()), LM, "adam", problem=P_OPT + "|" + P_NAN + "|" + P_MATCH + "|" + P_DTYPE, expect=expect)
    for name, make, expect, problem in ST_MUTATIONS[:10]:
        add(f"optst_{name}", K, opt(OS, make), LM, "adam", expect=expect, problem=problem + "|" + P_OPT)

    # profile.json
    for name, text in {"invalid_json": b"{", "deep_100k": b"[" * 100_000 + b"]" * 100_000, "null": b"null", "list": b"[1,2]"}.items():
        add(f"profile_{name}", K, opt("profile.json", raw(text)), LM, "adam", problem=P_JSON + r"|profile")

    for fs in FS_KINDS:
        add(f"fs_{fs}", K, fs_case(fs, "model.lamina"), LM, "dense", filesystem=True, problem=fs_problem(fs, P_SIZE + "|" + P_ZIP))
    truncation_sweep(K, "dense.lamina", "model.lamina", LM, "dense")
    truncation_sweep(K, "adam.lamina", "model.lamina", LM, "adam", prefix="adam_", all_slow=True)
    truncation_sweep(K, "lstm.lamina", "model.lamina", LM, "lstm", prefix="lstm_", all_slow=True)

    # every value of the config / optimizer state replaced by one of another type:
    # refused with a clear error, or (for fields Lamina ignores) loaded unchanged
    for i in range(TYPESWAPS["config"]):
        add(f"typeswap_config_{i:03d}", K, typeswap_member("adam.lamina", ".lamina", "config.json", i), LM, "adam", expect="either", problem=P_CONFIG + "|" + P_CLASS + "|" + P_MATCH + "|" + P_VERSION + "|" + P_DTYPE + "|" + P_OPT + "|" + P_MISSING)
    for i in range(TYPESWAPS["profile"]):
        add(f"typeswap_profile_{i:03d}", K, typeswap_member("adam.lamina", ".lamina", "profile.json", i), LM, "adam", expect="either", problem=r"profile|" + P_CONFIG + "|" + P_JSON + "|" + P_DTYPE)
    # learning-rate schedules that would break training after a clean load
    SCHED = {"module": "lamina.schedules", "class_name": "ExponentialDecay", "registered_name": None}
    for name, conf in {
        "decay_steps_zero": {"initial_learning_rate": 0.01, "decay_steps": 0, "decay_rate": 0.9},
        "decay_rate_nan": {"initial_learning_rate": 0.01, "decay_steps": 10, "decay_rate": float("nan")},
        "initial_lr_inf": {"initial_learning_rate": float("inf"), "decay_steps": 10, "decay_rate": 0.9},
        "initial_lr_negative": {"initial_learning_rate": -1.0, "decay_steps": 10, "decay_rate": 0.9},
        "unknown_argument": {"initial_learning_rate": 0.01, "decay_steps": 10, "decay_rate": 0.9, "evil": 1},
    }.items():
        add(f"schedule_{name}", K, opt("config.json", json_edit(setpath(LRP, {**SCHED, "config": conf}))), LM, "adam", problem=P_OPT + "|" + P_NAN + "|decay|schedule|" + P_CONFIG)
    for i in range(TYPESWAPS["optimizer"]):
        add(f"typeswap_optimizer_{i:03d}", K, typeswap_member("adam.lamina", ".lamina", "optimizer.json", i), LM, "adam", expect="either", problem=P_OPT + "|" + P_CONFIG + "|" + P_MATCH + "|" + P_DTYPE)

    # ---------------------------------------------------------------- .weights.safetensors
    K, LW = "weights", "load_weights"
    for name, data in {k: simple_bytes[k] for k in ("empty", "one_byte", "text", "random_100", "random_10k", "pickle")}.items():
        add(name, K, bytes_file("model.weights.safetensors", raw(data)), LW, "dense", problem=P_TRUNC + "|" + P_ST)
    add("zip_named_weights", K, copy_file("dense.lamina", "model.weights.safetensors"), LW, "dense", problem=P_ST)
    for name, make, expect, problem in ST_MUTATIONS:
        add(f"st_{name}", K, bytes_file("model.weights.safetensors", make, "dense.weights.safetensors"), LW, "dense", expect=expect, problem=problem)
    for base in ("conv", "lstm"):
        for name in ("wrong_shape", "missing_tensor", "dtype_f64", "nan_weight", "header_len_2_63"):
            make, expect, problem = [(m, e, p) for n, m, e, p in ST_MUTATIONS if n == name][0]
            add(f"{base}_st_{name}", K, bytes_file("model.weights.safetensors", make, f"{base}.weights.safetensors"), LW, base, expect=expect, problem=problem)
    add("conv_weights_into_dense", K, copy_file("conv.weights.safetensors", "model.weights.safetensors"), LW, "dense", problem=P_MATCH)

    def sparse_huge(folder: str, bases: str) -> str:
        # A valid header declaring one 4 GiB tensor; the data is a sparse hole.
        n = 2**30
        header = st_pack({"hidden.kernel": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}, b"")
        path = os.path.join(folder, "model.weights.safetensors")
        with open(path, "wb") as f:
            f.write(header)
            f.truncate(len(header) + 4 * n)
        return path

    add("sparse_4gib_tensor", K, sparse_huge, LW, "dense", problem=P_SIZE + "|" + P_MATCH)
    for fs in FS_KINDS:
        add(f"fs_{fs}", K, fs_case(fs, "model.weights.safetensors"), LW, "dense", filesystem=True, problem=fs_problem(fs, P_SIZE + "|" + P_ST))
    truncation_sweep(K, "dense.weights.safetensors", "model.weights.safetensors", LW, "dense")

    # ---------------------------------------------------------------- backups
    K, LB = "backup", "backup"
    for name, data in {k: simple_bytes[k] for k in ("empty", "one_byte", "text", "random_10k", "pickle")}.items():
        add(name, K, in_backup(raw(data)), LB, "backup", problem=P_TRUNC + "|" + P_ST + "|backup")
    for name, make, expect, problem in ST_MUTATIONS:
        add(f"st_{name}", K, in_backup(make), LB, "backup", expect=expect, problem=problem + "|backup")

    def meta_edit(fn: Callable[[Any], Any], raw_text: str | None = None):
        def make(data: bytes) -> bytes:
            header, body = st_parse(data)
            meta = header["__metadata__"]
            if raw_text is not None:
                meta["lamina_backup"] = raw_text
            else:
                value = json.loads(meta["lamina_backup"])
                new = fn(value)
                meta["lamina_backup"] = json.dumps(value if new is None else new)
            return st_pack(header, body)
        return make

    for name, text in {"meta_invalid_json": "{", "meta_deep_100k": "[" * 100_000 + "]" * 100_000, "meta_null": "null", "meta_list": "[]", "meta_empty": ""}.items():
        add(name, K, in_backup(meta_edit(None, text)), LB, "backup", problem=P_JSON + "|backup")
    add("meta_missing", K, in_backup(st_header_edit(lambda h: h.pop("__metadata__") and None)), LB, "backup", problem=r"backup")
    RNGP = "rng.__dict__"
    for name, (path, value) in {
        "format_other": ("format", "other"),
        "version_newer": ("version", 99),
        "version_string": ("version", "1"),
        "epoch_string": ("epoch", "abc"),
        "epoch_negative": ("epoch", -1),
        "epoch_inf": ("epoch", float("inf")),
        "epoch_nan": ("epoch", float("nan")),
        "epoch_huge": ("epoch", 10**100),
        "epoch_float": ("epoch", 1.5),
        "epoch_missing": ("epoch", ...),
        "model_keys_not_list": ("model_keys", 5),
        "optimizers_not_dict": ("optimizers", [1]),
        "optimizers_missing": ("optimizers", ...),
        "optimizer_unknown_name": ("optimizers", {"d_optimizer": {}}),
        "optimizer_tensor_ref_missing": ("optimizers.optimizer.__dict__.1.1.__dict__.0.1.__dict__.0.1.__dict__.1.1", {"__tensor__": "no/such"}),
        "optimizer_state_garbage": ("optimizers.optimizer", {"__dict__": 5}),
        "optimizer_lr_nan": ("optimizers.optimizer.__dict__.1.1.__dict__.1.1.0.__dict__.0.1", float("nan")),
        "optimizer_lr_negative": ("optimizers.optimizer.__dict__.1.1.__dict__.1.1.0.__dict__.0.1", -1.0),
        "rng_missing": ("rng", ...),
        "rng_garbage": ("rng", 5),
        "rng_python_wrong": (RNGP + ".0.1", {"__tuple__": [3, {"__tuple__": [1, 2]}, None]}),
        "rng_numpy_wrong": (RNGP + ".1.1", {"__tuple__": ["MT19937", 5]}),
        "rng_torch_missing_tensor": (RNGP + ".2.1", {"__tensor__": "rng/999"}),
        "unknown_tag": ("rng", {"__evil__": 1}),
        "ndarray_dtype_object": (RNGP + ".1.1.__tuple__.1", {"__ndarray__": "rng/16", "dtype": "object"}),
    }.items():
        add(name, K, in_backup(meta_edit(setpath(path, value))), LB, "backup", problem=r"backup|" + P_CONFIG + "|" + P_OPT + "|" + P_NAN + "|epoch|version|format|rng|random")

    def rng_tensor(fn: Callable[[list[Any]], None]):
        def make(data: bytes) -> bytes:
            entries, meta = st_entries(data)
            meta_obj = json.loads(meta["lamina_backup"])
            key = meta_obj["rng"]["__dict__"][2][1]["__tensor__"]
            for e in entries:
                if e[0] == key:
                    fn(e)
            return st_build(entries, meta)
        return make

    add("rng_torch_state_short", K, in_backup(rng_tensor(lambda e: e.__setitem__(2, [3]) or e.__setitem__(3, b"abc"))), LB, "backup", problem=r"backup|rng|random|state|size")
    add("rng_torch_state_f32", K, in_backup(rng_tensor(lambda e: e.__setitem__(1, "F32") or e.__setitem__(2, [len(e[3]) // 4]) or e.__setitem__(3, e[3][: len(e[3]) // 4 * 4]))), LB, "backup", problem=r"backup|rng|random|state|dtype")
    for fs in ("fifo", "directory", "symlink_loop", "dangling_symlink", "dev_zero", "dev_urandom", "sparse_4g"):
        add(f"fs_{fs}", K, fs_case(fs, "backup.safetensors", backup=True), LB, "backup", filesystem=True, problem=fs_problem(fs, P_SIZE + "|" + P_ST + "|backup"))

    def backup_dir_is_file(folder: str, bases: str) -> str:
        path = os.path.join(folder, "backup_dir")
        with open(path, "wb") as f:
            f.write(b"x")
        return path

    add("backup_dir_is_a_file", K, backup_dir_is_file, LB, "backup", filesystem=True, problem=P_FS + "|backup")
    truncation_sweep(K, "", "", LB, "backup", backup=True)
    for i in range(TYPESWAPS["backup"]):
        add(f"typeswap_meta_{i:03d}", K, typeswap_backup(i), LB, "backup", expect="either", problem=r"backup|" + P_CONFIG + "|" + P_OPT + "|epoch|version|format|rng|random|state")

    # ---------------------------------------------------------------- Keras files
    K, LK, KW = "keras", "load_model", "load_weights"
    for name, data in {k: simple_bytes[k] for k in ("empty", "text", "random_10k", "zip_magic_only", "pickle")}.items():
        add(name, K, bytes_file("model.keras", raw(data)), LK, "dense", problem=P_ZIP + "|" + P_KERAS)
    kcfg = lambda edit, base="dense.keras": edit_archive(base, ".keras", member_edit("config.json", edit))  # noqa: E731
    kh5 = lambda edit, base="dense.keras": edit_archive(base, ".keras", member_edit("model.weights.h5", edit))  # noqa: E731
    add("missing_config", K, edit_archive("dense.keras", ".keras", member_edit("config.json", lambda d: None)), LK, "dense", problem=P_MISSING)
    add("missing_weights", K, edit_archive("dense.keras", ".keras", member_edit("model.weights.h5", lambda d: None)), LK, "dense", problem=P_MISSING)
    add("missing_metadata", K, edit_archive("dense.keras", ".keras", member_edit("metadata.json", lambda d: None)), LK, "dense", expect="either", problem=P_MISSING)
    add("extra_member", K, edit_archive("dense.keras", ".keras", lambda m: m + [("assets/readme.txt", b"hi")]), LK, "dense", expect="either", problem=P_KERAS)
    add("config_encrypted_flag", K, header_field("dense.keras", ".keras", "config.json", "flags", 1), LK, "dense", problem=P_ZIP + "|encrypt|password")
    add("weights_method_unknown", K, header_field("dense.keras", ".keras", "model.weights.h5", "method", 77), LK, "dense", problem=P_ZIP + "|compress|method|support")
    add("duplicate_config", K, edit_archive("dense.keras", ".keras", lambda m: m + [("config.json", b'{"class_name": "os.system"}')]), LK, "dense", problem=P_DUP)
    add("traversal_member", K, edit_archive("dense.keras", ".keras", lambda m: m + [("../evil", b"x")]), LK, "dense", expect="either", problem=P_NAME)
    for name, text in {"config_invalid_json": b"{", "config_null": b"null", "config_list": b"[]", "config_deep_100k": b"[" * 100_000 + b"]" * 100_000, "config_deep_dict_100k": b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "config_huge_int": b'{"class_name": "Sequential", "config": {"layers": ' + b"9" * 50_000 + b"}}"}.items():
        add(name, K, kcfg(raw(text)), LK, "dense", problem=P_JSON + "|" + P_KERAS)
    KL = "config.layers"
    for name, (path, value) in {
        "class_unknown": ("class_name", "NoSuchModel"),
        "class_os_system": ("class_name", "os.system"),
        "layer_class_unknown": (KL + ".1.class_name", "NoSuchLayer"),
        "layer_module_os": (KL + ".1", {"module": "os", "class_name": "system", "config": {"command": "true"}, "registered_name": "os>system"}),
        "layer_builtins_eval": (KL + ".1.class_name", "builtins.eval"),
        "layer_subprocess_popen": (KL + ".1", {"module": "subprocess", "class_name": "Popen", "config": {"args": ["true"]}, "registered_name": None}),
        "layers_not_list": (KL, {"a": 1}),
        "layer_entry_int": (KL + ".1", 5),
        "units_string": (KL + ".1.config.units", "8"),
        "units_negative": (KL + ".1.config.units", -3),
        "units_nan": (KL + ".1.config.units", float("nan")),
        "units_1e8": (KL + ".1.config.units", 10**8),
        "units_mismatch_weights": (KL + ".1.config.units", 16),
        "input_shape_1e9": (KL + ".0.config.batch_shape", [None, 10**9]),
        "input_shape_negative": (KL + ".0.config.batch_shape", [None, -4]),
        "input_shape_string": (KL + ".0.config.batch_shape", "abc"),
        "activation_os_system": (KL + ".1.config.activation", {"module": "os", "class_name": "function", "config": "system", "registered_name": "function"}),
        "dtype_policy_unknown": (KL + ".1.config.dtype", {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "evil"}, "registered_name": None}),
        "compile_optimizer_os": ("compile_config", {"optimizer": {"module": "os", "class_name": "system", "config": {}}, "loss": "mse"}),
    }.items():
        problem = P_KERAS + "|" + P_CLASS + "|" + P_MATCH + "|" + P_SIZE
        if name == "units_1e8" or name == "input_shape_1e9":
            problem = P_SIZE
        # Keras's own loader warns and returns the model uncompiled for a compile
        # config it cannot restore, and ignores the dtype policy's name for float32
        # weights; loading is fine as long as nothing ran and the predictions match.
        expect = "either" if name in ("compile_optimizer_os", "dtype_policy_unknown") else "refused"
        add(name, K, kcfg(json_edit(setpath(path, value))), LK, "dense", problem=problem, expect=expect)

    def keras_lambda(folder: str, bases: str) -> str:
        members = read_members(os.path.join(bases, "dense.keras"))

        def fn(cfg: Any) -> None:
            cfg["config"]["layers"].insert(1, {
                "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": _payload_code(folder), "defaults": None, "closure": None}}},
            })

        path = os.path.join(folder, "model.keras")
        write_members(path, member_edit("config.json", json_edit(fn))(members))
        return path

    add("payload_lambda_layer", K, keras_lambda, LK, "dense", problem=P_LAMBDA)
    # Keras functional graphs
    def kref(name, node=0, index=0, shape=(None, 8)):
        return {"class_name": "__keras_tensor__", "config": {"shape": list(shape), "dtype": "float32", "keras_history": [name, node, index]}}

    def klayer(cfg, name):
        return next(layer for layer in cfg["config"]["layers"] if layer["name"] == name)

    def kin(name, args):
        def fn(cfg):
            klayer(cfg, name)["inbound_nodes"] = [{"args": args, "kwargs": {}}]
        return fn

    def kchain(n: int):
        def fn(cfg):
            prev = "x"
            extra = []
            for i in range(n):
                extra.append({"module": "keras.layers", "class_name": "Maximum", "registered_name": None, "name": f"m{i}",
                              "config": {"name": f"m{i}", "trainable": True},
                              "inbound_nodes": [{"args": [[kref(prev, shape=(None, 4)), kref(prev, shape=(None, 4))]], "kwargs": {}}]})
                prev = extra[-1]["name"]
            cfg["config"]["layers"][1:1] = extra
            klayer(cfg, "h")["inbound_nodes"] = [{"args": [kref(prev, shape=(None, 4))], "kwargs": {}}]
        return fn

    def kdup(cfg):
        other = json.loads(json.dumps(klayer(cfg, "a")))
        other["config"]["units"] = 5
        cfg["config"]["layers"].insert(2, other)

    kf = lambda fn: edit_archive("func.keras", ".keras", member_edit("config.json", json_edit(fn)))  # noqa: E731
    P_KGRAPH = r"cycle|loop|unknown|no layer|not found|refer|node|index|graph|input|output|missing|duplicat|history|" + P_MATCH + "|" + P_KERAS
    for name, fn, expect in [
        ("cycle", kin("h", [kref("cat")]), "refused"),
        ("self_loop", kin("h", [kref("h")]), "refused"),
        ("unknown_layer_ref", kin("h", [kref("nosuch")]), "refused"),
        ("node_index_1e9", kin("h", [kref("x", 10**9, 0)]), "refused"),
        ("tensor_index_1e9", kin("h", [kref("x", 0, 10**9)]), "refused"),
        ("node_index_negative", kin("h", [kref("x", -1, 0)]), "refused"),
        ("history_too_short", kin("h", [{"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "float32", "keras_history": ["x"]}}]), "refused"),
        ("output_unknown", lambda c: c["config"].__setitem__("output_layers", ["nosuch", 0, 0]), "refused"),
        ("input_is_dense", lambda c: c["config"].__setitem__("input_layers", ["h", 0, 0]), "refused"),
        ("duplicate_layer_name", kdup, "refused"),
        ("inbound_nodes_1000", lambda c: klayer(c, "h").__setitem__("inbound_nodes", [{"args": [kref("x", shape=(None, 4))], "kwargs": {}}] * 1000), "either"),
        ("identity_diamond_60", kchain(60), "either"),
    ]:
        add(f"func_{name}", K, kf(fn), LK, "func", expect=expect, problem=P_KGRAPH)
    for i in range(TYPESWAPS["mixed_keras"]):
        add(f"typeswap_mixed_{i:03d}", K, typeswap_member("mixed.keras", ".keras", "config.json", i), LK, "mixed", expect="either", problem=P_KERAS + "|" + P_CLASS + "|" + P_MATCH + "|" + P_DTYPE + "|expect")
    for i in range(TYPESWAPS["func_keras"]):
        add(f"typeswap_func_{i:03d}", K, typeswap_member("func.keras", ".keras", "config.json", i), LK, "func", expect="either", problem=P_KERAS + "|" + P_CLASS + "|" + P_MATCH + "|" + P_DTYPE + "|expect|node|layer|input|output")
    for i in range(TYPESWAPS["keras"]):
        add(f"typeswap_config_{i:03d}", K, typeswap_member("dense.keras", ".keras", "config.json", i), LK, "dense", expect="either", problem=P_KERAS + "|" + P_CLASS + "|" + P_MATCH + "|" + P_DTYPE + "|expect")
    add("conv_filters_1e6", K, kcfg(json_edit(setpath(KL + ".1.config.filters", 10**6)), "conv.keras"), LK, "conv", problem=P_SIZE + "|" + P_MATCH)
    add("bomb_config_1gib", K, bomb("dense.keras", ".keras", "config.json", 1), LK, "dense", problem=P_SIZE)
    add("bomb_weights_2gib", K, bomb("dense.keras", ".keras", "model.weights.h5", 2), LK, "dense", problem=P_SIZE + "|" + P_KERAS)
    add("bomb_config_declares_1k", K, lying_bomb("dense.keras", ".keras", "config.json", 1000), LK, "dense", problem=P_ZIP + "|" + P_SIZE + "|crc|json")
    add("h5_garbage", K, kh5(raw(random.Random(3).randbytes(5000))), LK, "dense", problem=P_KERAS)
    add("h5_empty", K, kh5(raw(b"")), LK, "dense", problem=P_KERAS)
    add("h5_truncated_half", K, kh5(lambda d: d[: len(d) // 2]), LK, "dense", problem=P_KERAS + "|" + P_TRUNC)
    for name, mutate in H5_MUTATIONS.items():
        add(f"h5_{name}", K, kh5(_h5_mutation(mutate)), LK, "dense", problem=H5_PROBLEMS.get(name, P_KERAS + "|" + P_MATCH + "|" + P_SIZE), expect=H5_EXPECT.get(name, "refused"))
    for fs in ("fifo", "directory", "symlink_loop", "dangling_symlink", "dev_zero"):
        add(f"fs_{fs}", K, fs_case(fs, "model.keras"), LK, "dense", filesystem=True, problem=fs_problem(fs, P_ZIP + "|" + P_KERAS))
    truncation_sweep(K, "dense.keras", "model.keras", LK, "dense")

    # Keras .weights.h5 files
    for name, mutate in H5_MUTATIONS.items():
        add(f"weights_h5_{name}", K, bytes_file("model.weights.h5", _h5_mutation(mutate), "dense.weights.h5"), KW, "dense", problem=H5_PROBLEMS.get(name, P_KERAS + "|" + P_MATCH + "|" + P_SIZE), expect=H5_EXPECT.get(name, "refused"))
    for name, data in {k: simple_bytes[k] for k in ("empty", "text", "random_10k")}.items():
        add(f"weights_h5_{name}", K, bytes_file("model.weights.h5", raw(data)), KW, "dense", problem=P_KERAS + "|hdf5")
    for fs in ("fifo", "directory", "symlink_loop", "dev_zero"):
        add(f"weights_h5_fs_{fs}", K, fs_case(fs, "model.weights.h5"), KW, "dense", filesystem=True, problem=fs_problem(fs, P_KERAS))
    truncation_sweep(K, "dense.weights.h5", "model.weights.h5", KW, "dense", prefix="weights_h5_", all_slow=True)


# ----------------------------------------------------------------- HDF5 damage
def _h5_mutation(mutate: Callable[[Any], None]):
    def make(data: bytes) -> bytes:
        import io

        import h5py

        buf = io.BytesIO(data)
        with h5py.File(buf, "r+") as f:
            mutate(f)
        return buf.getvalue()

    return make


def _h5_first(f: Any) -> str:
    return "layers/dense/vars/0"


def _h5_replace(value_fn: Callable[[Any], Any]):
    def mutate(f: Any) -> None:
        name = _h5_first(f)
        old = f[name][()]
        del f[name]
        value_fn((f, name, old))

    return mutate


H5_MUTATIONS: dict[str, Callable[[Any], None]] = {
    "huge_shape_dataset": _h5_replace(lambda a: a[0].create_dataset(a[1], shape=(10**6, 10**6), dtype="f4", chunks=(1, 1024))),
    "huge_1d_dataset": _h5_replace(lambda a: a[0].create_dataset(a[1], shape=(2**40,), dtype="f4", chunks=(1024,))),
    "wrong_shape": _h5_replace(lambda a: a[0].create_dataset(a[1], data=a[2].T.copy())),
    "float64": _h5_replace(lambda a: a[0].create_dataset(a[1], data=a[2].astype("f8"))),
    "int64": _h5_replace(lambda a: a[0].create_dataset(a[1], data=a[2].astype("i8"))),
    "strings": _h5_replace(lambda a: a[0].create_dataset(a[1], data=np.array([b"evil"] * 4))),
    "nan_values": _h5_replace(lambda a: a[0].create_dataset(a[1], data=np.full(a[2].shape, np.nan, "f4"))),
    "scalar": _h5_replace(lambda a: a[0].create_dataset(a[1], data=np.float32(1.0))),
    "group_not_dataset": _h5_replace(lambda a: a[0].create_group(a[1])),
    "external_link": _h5_replace(lambda a: a[0].__setitem__(a[1], __import__("h5py").ExternalLink("/etc/passwd", "/x"))),
    "soft_link_loop": _h5_replace(lambda a: a[0].__setitem__(a[1], __import__("h5py").SoftLink("/" + a[1]))),
    "missing_var": _h5_replace(lambda a: None),
    "layers_group_missing": lambda f: f.__delitem__("layers"),
    "extra_layer": lambda f: f.create_group("layers/dense_9/vars").create_dataset("0", data=np.ones(3, "f4")),
}
# Keras casts float64 variables to the layer's dtype and ignores groups no layer
# claims; Lamina may do the same (the predictions must then be the original's).
H5_EXPECT = {"float64": "either", "extra_layer": "either"}
H5_PROBLEMS = {
    "huge_shape_dataset": P_SIZE + "|" + P_MATCH,
    "huge_1d_dataset": P_SIZE + "|" + P_MATCH,
    "float64": P_DTYPE,
    "int64": P_DTYPE,
    "strings": P_DTYPE + "|" + P_KERAS,
    "nan_values": P_NAN,
    "external_link": r"link|external|" + P_KERAS + "|" + P_MISSING,
}


_register()

# Not part of the catalogue: cases whose loader misbehaves on purpose (runner tests).
SELFTESTS = {
    f"selftest/{what}": Case(f"selftest/{what}", "file", bytes_file("model.lamina", raw(b"x")), "selftest", what)
    for what in ("sleep", "kill", "alloc", "write", "plain")
}


# ================================================================== running one case
def listing(folder: str) -> list[tuple[str, int, int]]:
    """Every entry below ``folder`` (name, size, mtime ns), without following links."""
    out = []
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            try:
                st = os.lstat(p)
                out.append((os.path.relpath(p, folder), st.st_size, st.st_mtime_ns))
            except OSError:
                pass
    return sorted(out)


def _mro_names(e: BaseException) -> list[str]:
    return [c.__name__ for c in type(e).__mro__]


def _chain_has(e: BaseException | None, name: str) -> bool:
    seen = 0
    while e is not None and seen < 20:
        if name in _mro_names(e):
            return True
        e = e.__cause__ or e.__context__
        seen += 1
    return False


def _origin(e: BaseException | None) -> str | None:
    """The module whose code raised ``e`` (its innermost traceback frame)."""
    if e is None or e.__traceback__ is None:
        return None
    tb = e.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "")


def run_case(case_id: str, folder: str, bases: str, written: Callable[[], None] | None = None) -> dict[str, Any]:
    """Writes the case into ``folder``, loads it and describes what happened.

    ``written()`` is called between writing the file and loading it (the runner
    times the load alone: a big bomb takes seconds to write the first time)."""
    import time

    case = CASES[case_id] if case_id in CASES else SELFTESTS[case_id]
    t_write = time.perf_counter()
    path = case.write(folder, bases)
    t_write = time.perf_counter() - t_write
    if written is not None:
        written()
    before = listing(folder)
    box = os.path.dirname(folder)  # the folder's parent holds only the folder
    outside = set(os.listdir(box))
    result: dict[str, Any] = {"id": case_id, "path": path, "write_time": t_write}
    if folder in NOTES:
        result["note"] = NOTES.pop(folder)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LOADERS[case.loader](path, case.base)
        result["outcome"] = "loaded"
        try:
            refs = np.load(os.path.join(bases, "refs.npz"))
            pred = np.asarray(model.predict(INPUTS[case.base], verbose=0))
            result["same_predictions"] = bool(pred.shape == refs[case.base].shape and np.allclose(pred, refs[case.base], atol=1e-5))
        except Exception as e:  # noqa: BLE001 - reported
            result["same_predictions"] = False
            result["predict_error"] = f"{type(e).__name__}: {e}"[:500]
    except BaseException as e:  # noqa: BLE001 - every outcome is reported
        result["outcome"] = "raised"
        result["type"] = type(e).__name__
        result["module"] = type(e).__module__
        result["mro"] = _mro_names(e)
        result["message"] = str(e)[:3000]
        result["memory_in_chain"] = _chain_has(e, "MemoryError")
        result["cause_type"] = type(e.__cause__).__name__ if e.__cause__ is not None else None
        result["cause_origin"] = _origin(e.__cause__)
    result["elapsed"] = time.perf_counter() - t0
    after = listing(folder)
    result["folder_changed"] = before != after
    result["folder_diff"] = sorted(set(map(tuple, after)) ^ set(map(tuple, before)))[:10] if before != after else []
    result["canary"] = os.path.exists(os.path.join(folder, CANARY))
    result["outside_changed"] = sorted(set(os.listdir(box)) - outside)[:10]
    return result


# ================================================================== judging
def names_file(message: str, case: Case, path: str) -> bool:
    names = {os.path.basename(path.rstrip("/")), path}
    if case.kind == "backup":
        names |= {"backup.safetensors", os.path.join(path, "backup.safetensors")}
    return any(n and n in message for n in names)


# Python's own errors raised in Lamina's code (a subscript, an attribute, a call on
# a value of the wrong type) say nothing about the file: a refusal whose message
# only carries "KeyError: 'layers'" came from a catch-all wrapper, not from a check
# that knows what is wrong. The same types raised inside a library (h5py, zipfile)
# carry the library's own description and are not counted.
GENERIC_CAUSES = {
    "KeyError", "IndexError", "AttributeError", "TypeError", "OverflowError", "ZeroDivisionError",
    "RuntimeError", "AssertionError", "StopIteration", "error", "UnboundLocalError",
    "NameError", "UnicodeDecodeError", "UnicodeEncodeError", "SystemError",
}
_QUOTED_FILE = re.compile(r"'[^']*\.(json|h5|safetensors|keras|lamina|tmp)'")


def problem_text(message: str, path: str) -> str:
    """The message without the file and member names (a regex for 'weights' must
    not match 'model.weights.h5')."""
    text = message.replace(path, "").replace(os.path.basename(path.rstrip("/")), "")
    return _QUOTED_FILE.sub("", text)


def judge(case: Case, result: dict[str, Any]) -> tuple[str, str]:
    """("held" | "generic" | "failed", why). "generic": refused, naming the file, but
    only by the catch-all guard wrapping one of Python's own errors."""
    status, why = _judge(case, result)
    if result.get("note"):
        why = f"[{result['note']}] {why}"
    return status, why


def _judge(case: Case, result: dict[str, Any]) -> tuple[str, str]:
    outcome = result.get("outcome")
    if outcome in ("timeout", "crashed", "memory_cap", "case_error"):
        return "failed", f"{outcome}: {result.get('detail', '')}"[:400]
    if result.get("canary"):
        return "failed", "the payload ran (canary file created)"
    if result.get("outside_changed"):
        return "failed", f"files appeared outside the case folder: {result['outside_changed']}"
    if outcome == "loaded":
        if case.expect == "refused":
            return "failed", f"loaded (same predictions: {result.get('same_predictions')}) but should be refused"
        if not result.get("same_predictions"):
            return "failed", f"loaded but predictions differ from the original ({result.get('predict_error', '')})"
        if result.get("folder_changed") and case.kind != "backup":
            return "failed", f"loading changed the folder: {result.get('folder_diff')}"
        return "held", "loaded"
    if outcome != "raised":
        return "failed", f"unknown outcome {outcome!r}"
    kind = f"{result['type']}: {result['message'][:300]}"
    if result.get("folder_changed"):
        return "failed", f"folder changed ({result.get('folder_diff')}); {kind}"
    if case.expect == "loads":
        return "failed", f"should load; raised {kind}"
    mro = result.get("mro", [])
    ok_types = ("ValueError", "TypeError") + (("OSError",) if case.filesystem else ())
    if not any(t in mro for t in ok_types):
        return "failed", f"wrong error type {kind}"
    if result.get("memory_in_chain"):
        return "failed", f"hit the memory cap before refusing; {kind}"
    if not names_file(result["message"], case, result["path"]):
        return "failed", f"message does not name the file; {kind}"
    cause = result.get("cause_type")
    wrapped = result["message"].split(f"({cause}", 1)[-1] if cause else ""
    # Lamina's own checks say "... expects ... Received: ..." even when wrapped
    own_words = "Received" in wrapped or " expects " in wrapped
    origin = result.get("cause_origin") or ""
    if cause in GENERIC_CAUSES and origin.startswith("lamina") and not own_words:
        return "generic", f"refused only by a catch-all wrapper ({cause} raised in {origin}); {kind}"
    if not re.search(case.problem, problem_text(result["message"], result["path"]), re.IGNORECASE):
        return "failed", f"message does not say the problem (/{case.problem[:60]}.../); {kind}"
    return "held", "refused"
