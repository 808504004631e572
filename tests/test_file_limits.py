"""Tests of the bounds every file read meets: `lamina.saving.limits`, the checked
safetensors header (`tensors.read_safetensors_header`), regular-file checks and
the hardened `file_io.Archive` (zip bombs, lying headers, duplicated and unsafe
member names, FIFOs, deep JSON).
"""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import sys
import warnings
import zipfile
from contextlib import contextmanager

import pytest
import torch

from lamina.saving import InvalidFileError, file_io, limits, tensors
from lamina.saving.tensors import (
    TensorInfo,
    bytes_to_tensors,
    read_safetensors_header,
    tensors_to_bytes,
)

SOURCE = "'model.safetensors' in 'm.lamina'"


# --------------------------------------------------------------------------- helpers
def sample_tensors() -> dict[str, torch.Tensor]:
    return {
        "z.kernel": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "a.bias": torch.tensor([1, 2], dtype=torch.int64),
        "m.empty": torch.empty(0, 4),
    }


def craft(header: dict, buffer: bytes) -> bytes:
    """Safetensors bytes with the given header (any JSON) and tensor buffer."""
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + buffer


def two_f32(**changes) -> bytes:
    """Two float32 vectors of 2 elements; ``changes`` replace fields of entry 'b'."""
    header = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},
    }
    header["b"].update(changes)
    return craft(header, bytes(16))


def write_archive(path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> None:
    with zipfile.ZipFile(path, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        for name, data in members.items() if isinstance(members, dict) else members:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)


def patch_sizes(path, name: bytes, *, file_size: int | None = None, compress_size: int | None = None) -> None:
    """Makes the central directory (and local header) of member ``name`` declare other sizes."""
    data = bytearray(path.read_bytes())
    for signature, compress_at, size_at, name_at in ((b"PK\x01\x02", 20, 24, 46), (b"PK\x03\x04", 18, 22, 30)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at : start + name_at + len(name)] == name:
                if compress_size is not None:
                    data[start + compress_at : start + compress_at + 4] = struct.pack("<I", compress_size)
                if file_size is not None:
                    data[start + size_at : start + size_at + 4] = struct.pack("<I", file_size)
            start += 4
    path.write_bytes(bytes(data))


@contextmanager
def deadline(seconds: int):
    """Fails the test instead of hanging when the body blocks (a FIFO opened for reading)."""

    def expire(*_):
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- bounded JSON
def test_parse_json_depth_is_checked_before_parsing():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(limits.JSONRefused, match=r"nests 100000 levels deep; Lamina reads at most 200"):
        limits.parse_json(deep)
    # brackets inside strings (escaped quotes included) do not count
    text = json.dumps({"a": ["[[[[\"[", {"b": "\\\"{{{"}]}).encode()
    assert limits.json_depth(text) == 3
    assert limits.parse_json(text) == {"a": ["[[[[\"[", {"b": "\\\"{{{"}]}


def test_parse_json_refuses_repeated_keys_and_huge_integers():
    with pytest.raises(limits.JSONRefused, match=r"the key 'units' appears twice in one object"):
        limits.parse_json(b'{"layer": {"units": 3, "units": 4}}')
    with pytest.raises(limits.JSONRefused, match=r"Exceeds the limit \(4300 digits\)"):
        limits.parse_json(b"1" * 5000)
    with pytest.raises(limits.JSONRefused, match=r"not UTF-8 text"):
        limits.parse_json(b'{"a": "\xff"}')


def test_real_configs_sit_far_below_the_depth_limit():
    here = os.path.join(os.path.dirname(__file__), "fixtures", "keras")
    depths = []
    for name in os.listdir(here):
        if name.endswith(".keras"):
            with zipfile.ZipFile(os.path.join(here, name)) as zf:
                depths.append(limits.json_depth(zf.read("config.json")))
    assert depths and max(depths) * 5 < limits.MAX_JSON_DEPTH


# --------------------------------------------------------------------------- safetensors header
def test_read_safetensors_header_describes_tensors_in_saved_order():
    data = tensors_to_bytes(sample_tensors(), metadata={"producer": "lamina"})
    infos, metadata = read_safetensors_header(data, SOURCE)
    assert list(infos) == ["z.kernel", "a.bias", "m.empty"]  # the model's order, not sorted
    assert infos["z.kernel"] == TensorInfo(dtype=torch.float32, shape=(2, 3), nbytes=24)
    assert infos["a.bias"] == TensorInfo(dtype=torch.int64, shape=(2,), nbytes=16)
    assert infos["m.empty"].nbytes == 0
    assert metadata["producer"] == "lamina"
    loaded = bytes_to_tensors(data)
    assert list(loaded) == list(infos)
    for name, tensor in sample_tensors().items():
        assert torch.equal(loaded[name], tensor)


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"\x10\x00", r"it is 2 bytes long, shorter than the 8-byte header length"),
        (struct.pack("<Q", 2**64 - 1) + b"{}", r"its header declares 18446744073709551615 bytes, more than"),
        (struct.pack("<Q", 500) + b"{}", r"its header declares 500 bytes but only 2 follow; the data is truncated"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", r"its header is not valid JSON: it is not UTF-8 text"),
        (craft([1, 2], b""), r"its header is a JSON list, not an object"),
        (
            struct.pack("<Q", 43) + b'{"a": {"dtype": "F32", "shape": [0], "a": 1}',
            r"its header is not valid JSON",
        ),
        (two_f32(dtype="F128"), r"tensor 'b' has an unknown dtype 'F128'"),
        (two_f32(shape=[-2]), r"tensor 'b' has an invalid shape \[-2\]"),
        (two_f32(shape=[2.0]), r"tensor 'b' has an invalid shape"),
        (two_f32(data_offsets=[8, 2**70]), r"tensor 'b' has data_offsets \[8, \d+\]; expected \[begin, end\] with 0 <= begin <= end <= 16"),
        (two_f32(data_offsets=[8]), r"tensor 'b' has data_offsets \[8\]"),
        (two_f32(shape=[3]), r"tensor 'b' declares shape \[3\] of F32 \(12 bytes\) but its data_offsets \[8, 16\] span 8 bytes"),
        (two_f32(data_offsets=[4, 12]), r"the data of tensor 'b' overlaps another tensor's|bytes 12\.\.16"),
        (two_f32(extra=1), r"the entry of tensor 'b' must hold exactly 'dtype', 'shape' and 'data_offsets'"),
        (
            craft({"__metadata__": {"k": 1}, "a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}, b""),
            r"its '__metadata__' must map strings to strings",
        ),
        (
            craft({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}, b"\x00" * 5),
            r"its tensors cover 2 bytes of data but 5 follow the header",
        ),
    ],
)
def test_read_safetensors_header_refuses_lies(data, problem):
    with pytest.raises(InvalidFileError, match=r"^'model\.safetensors' in 'm\.lamina' is not valid safetensors data: " + problem) as info:
        read_safetensors_header(data, SOURCE)
    assert "save it again" in str(info.value)
    with pytest.raises(InvalidFileError, match=problem):
        bytes_to_tensors(data, SOURCE)


def test_read_safetensors_header_refuses_repeated_tensor_names():
    raw = b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}'
    with pytest.raises(InvalidFileError, match=r"its header is not valid JSON: the key 'a' appears twice"):
        read_safetensors_header(struct.pack("<Q", len(raw)) + raw + b"\x00\x00", SOURCE)


def test_read_safetensors_header_refuses_overlapping_tensors():
    header = {
        "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
        "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]},
    }
    with pytest.raises(InvalidFileError, match=r"the data of tensor 'b' overlaps another tensor's") as info:
        read_safetensors_header(craft(header, bytes(6)), SOURCE)
    assert info.value.member == "b"


def test_read_safetensors_header_limit_is_read_at_call_time(monkeypatch):
    data = tensors_to_bytes(sample_tensors())
    monkeypatch.setattr(tensors, "MAX_TENSOR_HEADER_BYTES", 16)
    with pytest.raises(InvalidFileError, match=r"more than the 16 bytes Lamina reads"):
        read_safetensors_header(data, SOURCE)


# --------------------------------------------------------------------------- regular files
def test_check_regular_file_refuses_missing_paths_and_directories(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No such file: .*absent\.lamina'\. Check the path"):
        file_io.check_regular_file(tmp_path / "absent.lamina", "a Lamina model file")
    with pytest.raises(IsADirectoryError, match=r"is a directory, not a Lamina model file"):
        file_io.check_regular_file(tmp_path, "a Lamina model file")
    (tmp_path / "ok.lamina").write_bytes(b"x" * 7)
    assert file_io.check_regular_file(tmp_path / "ok.lamina", "a Lamina model file").st_size == 7


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.lamina"
    os.mkfifo(fifo)
    with deadline(10):
        with pytest.raises(InvalidFileError, match=r"'pipe\.lamina' is a FIFO, not a Lamina model file"):
            file_io.check_regular_file(fifo, "a Lamina model file")
        with pytest.raises(InvalidFileError, match=r"'pipe\.lamina' is a FIFO"):
            file_io.read_regular_file(fifo, "a Lamina model file", 100)
        with pytest.raises(InvalidFileError, match=r"'pipe\.lamina' is a FIFO"):
            file_io.Archive(fifo, "a Lamina model file")


def test_open_regular_file_rechecks_the_opened_file(tmp_path, monkeypatch):
    path = tmp_path / "swapped.lamina"
    path.write_bytes(b"data")
    real_fstat = os.fstat

    def fifo_stat(fd):  # the file was swapped for a FIFO between stat and open
        st = list(real_fstat(fd))
        st[0] = 0o010644
        return os.stat_result(st)

    monkeypatch.setattr(os, "fstat", fifo_stat)
    with pytest.raises(InvalidFileError, match=r"'swapped\.lamina' is a FIFO"):
        file_io.open_regular_file(path, "a Lamina model file")


def test_read_regular_file_is_bounded(tmp_path):
    path = tmp_path / "big.weights.safetensors"
    path.write_bytes(b"\x00" * 1000)
    assert file_io.read_regular_file(path, "a weights file", 1000) == b"\x00" * 1000
    with pytest.raises(InvalidFileError, match=r"'big\.weights\.safetensors' is 1000 bytes, more than the 999 bytes Lamina reads as a weights file"):
        file_io.read_regular_file(path, "a weights file", 999)


# --------------------------------------------------------------------------- archives
def test_archive_reads_tensors_headers_and_json(tmp_path):
    path = tmp_path / "m.lamina"
    weights = tensors_to_bytes(sample_tensors())
    with open(path, "wb") as f:
        file_io.write_zip(f, {"config.json": b'{"a": [1, 2]}', "model.safetensors": weights})
    with file_io.Archive(path, "a Lamina model file") as archive:
        assert archive.read_json("config.json") == {"a": [1, 2]}
        infos, _ = archive.tensor_header("model.safetensors")
        loaded = archive.read_tensors("model.safetensors")
    assert list(infos) == list(loaded) == list(sample_tensors())
    assert infos["z.kernel"].shape == (2, 3)
    assert torch.equal(loaded["z.kernel"], sample_tensors()["z.kernel"])


def test_archive_refuses_invalid_safetensors_naming_member_and_file(tmp_path):
    path = tmp_path / "m.lamina"
    with open(path, "wb") as f:
        file_io.write_zip(f, {"model.safetensors": two_f32(shape=[3])})
    with file_io.Archive(path, "a Lamina model file") as archive:
        for read in (archive.read_tensors, archive.tensor_header):
            with pytest.raises(
                InvalidFileError,
                match=r"^'m\.lamina' is not a Lamina model file \('model\.safetensors' is not valid safetensors data: tensor 'b' declares shape \[3\]",
            ) as info:
                read("model.safetensors")
            assert info.value.member == "model.safetensors"
            assert info.value.path == str(path)


def test_archive_refuses_a_zip_bomb_before_inflating_it(tmp_path):
    path = tmp_path / "bomb.lamina"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("config.json", "w") as member:
            chunk = b" " * 2**20
            for _ in range(200):  # 200 MB of spaces, about 200 KB deflated
                member.write(chunk)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(
        InvalidFileError,
        match=r"'bomb\.lamina' is not a Lamina model file \(the member 'config\.json' declares 209715200 bytes compressed into \d+, a ratio above the 200:1",
    ) as info:
        file_io.Archive(path, "a Lamina model file")
    assert info.value.member == "config.json"


def test_archive_refuses_a_member_inflating_past_its_declared_size(tmp_path):
    path = tmp_path / "liar.lamina"
    write_archive(path, {"config.json": b"[" + b"1," * 50_000 + b"1]"})
    patch_sizes(path, b"config.json", file_size=1000)  # declares 1000 bytes, inflates to 100 KB
    with file_io.Archive(path, "a Lamina model file") as archive:
        with pytest.raises(InvalidFileError, match=r"the member 'config\.json' (is corrupted: BadZipFile: Bad CRC|inflates past)"):
            archive.read("config.json")


def test_archive_refuses_a_stored_member_whose_sizes_disagree(tmp_path):
    path = tmp_path / "liar.lamina"
    write_archive(path, {"model.safetensors": b"\x00" * 64}, method=zipfile.ZIP_STORED)
    patch_sizes(path, b"model.safetensors", file_size=10**9)
    with pytest.raises(InvalidFileError, match=r"the member 'model\.safetensors' is stored uncompressed but declares 1000000000 bytes in 64; its header lies"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_member_data_outside_the_file(tmp_path):
    path = tmp_path / "cut.lamina"
    write_archive(path, {"model.safetensors": b"\x00" * 64}, method=zipfile.ZIP_STORED)
    patch_sizes(path, b"model.safetensors", file_size=10**6, compress_size=10**6)
    with pytest.raises(InvalidFileError, match=r"the member 'model\.safetensors' declares 1000000 stored bytes at offset 0, outside the \d+-byte file"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_encrypted_members(tmp_path):
    path = tmp_path / "secret.lamina"
    write_archive(path, {"config.json": b"{}"})
    data = bytearray(path.read_bytes())
    entry = data.find(b"PK\x01\x02")
    data[entry + 8] |= 0x1  # the "encrypted" flag of the central directory entry
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidFileError, match=r"the member 'config\.json' is encrypted; Lamina and Keras never encrypt"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_duplicated_members(tmp_path):
    path = tmp_path / "twice.lamina"
    write_archive(path, [("config.json", b"{}"), ("config.json", b'{"evil": 1}')])
    with pytest.raises(InvalidFileError, match=r"'twice\.lamina' is not a Lamina model file \(the member 'config\.json' appears twice"):
        file_io.Archive(path, "a Lamina model file")


@pytest.mark.parametrize(
    "name, problem",
    [
        ("../../etc/cron.d/x", r"it has a '\.\.' component"),
        ("assets/../../x", r"it has a '\.\.' component"),
        ("/etc/passwd", r"it is an absolute path"),
        ("assets\\..\\x", r"it holds a backslash"),
        ("C:/Windows/x", r"it starts with a drive letter"),
    ],
)
def test_archive_refuses_unsafe_member_names(tmp_path, name, problem):
    path = tmp_path / "evil.lamina"
    write_archive(path, {"config.json": b"{}", name: b"x"})
    with pytest.raises(InvalidFileError, match=r"'evil\.lamina' is not a Lamina model file \(the member name .* is unsafe: " + problem):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_a_nul_in_a_member_name(tmp_path):
    path = tmp_path / "nul.lamina"
    write_archive(path, {"config.json": b"{}", "config.jsonXevil": b"[]"})
    data = path.read_bytes().replace(b"config.jsonXevil", b"config.json\x00evil")
    path.write_bytes(data)
    with pytest.raises(InvalidFileError, match=r"is unsafe: it holds a NUL character"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_too_many_members(tmp_path):
    path = tmp_path / "many.lamina"
    write_archive(path, {f"m{i}": b"" for i in range(limits.MAX_MEMBERS + 1)}, method=zipfile.ZIP_STORED)
    with pytest.raises(InvalidFileError, match=r"'many\.lamina' is not a Lamina model file \(its directory lists 10001 members"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_counts_members_even_when_the_end_record_lies(tmp_path, monkeypatch):
    path = tmp_path / "many.lamina"
    write_archive(path, {f"m{i}": b"" for i in range(6)})
    monkeypatch.setattr(file_io.Archive, "_check_directory_size", lambda self: None)
    monkeypatch.setattr(limits, "MAX_MEMBERS", 5)
    with pytest.raises(InvalidFileError, match=r"it holds 6 members; Lamina reads archives of at most 5"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_deep_and_duplicated_json(tmp_path):
    path = tmp_path / "deep.lamina"
    write_archive(path, {"config.json": b"[" * 5000 + b"]" * 5000, "optimizer.json": b'{"lr": 1, "lr": 2}'})
    with file_io.Archive(path, "a Lamina model file") as archive:
        with pytest.raises(InvalidFileError, match=r"'deep\.lamina' is not a Lamina model file \('config\.json' is not valid JSON: it nests 5000 levels deep; Lamina reads at most 200\)"):
            archive.read_json("config.json")
        with pytest.raises(InvalidFileError, match=r"'optimizer\.json' is not valid JSON: the key 'lr' appears twice in one object"):
            archive.read_json("optimizer.json")
        with pytest.raises(InvalidFileError, match=r"the member 'config\.json' is 10000 bytes, more than the 100 bytes Lamina reads for it"):
            archive.read_json("config.json", cap=100)


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_archive_refuses_truncated_files(tmp_path, cut):
    path = tmp_path / "cut.lamina"
    with open(path, "wb") as f:
        file_io.write_zip(f, {"config.json": b"{}" * 100, "model.safetensors": tensors_to_bytes(sample_tensors())})
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(InvalidFileError, match=r"'cut\.lamina' is not a Lamina model file \(not a zip archive; the file is truncated"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_refuses_zip64_sentinel_sizes_without_their_record(tmp_path):
    path = tmp_path / "z64.lamina"
    write_archive(path, {"config.json": b"{}"})
    patch_sizes(path, b"config.json", file_size=0xFFFFFFFF, compress_size=0xFFFFFFFF)
    with pytest.raises(InvalidFileError, match=r"'z64\.lamina' is not a Lamina model file \(the member 'config\.json' declares 4294967295 stored bytes at offset 0, outside the \d+-byte file"):
        file_io.Archive(path, "a Lamina model file")


def test_archive_turns_odd_zip64_headers_into_invalid_file_errors(tmp_path, monkeypatch):
    path = tmp_path / "odd.lamina"
    write_archive(path, {"config.json": b"{}"})

    def broken(*args, **kwargs):
        raise struct.error("unpack requires a buffer of 20 bytes")

    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", broken)
    with pytest.raises(InvalidFileError, match=r"'odd\.lamina' is not a Lamina model file \(not a zip archive"):
        file_io.Archive(path, "a Lamina model file")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_archive_missing_member_names_what_it_holds(tmp_path):
    path = tmp_path / "m.lamina"
    write_archive(path, {"config.json": b"{}"})
    with file_io.Archive(path, "a Lamina model file") as archive:
        with pytest.raises(InvalidFileError, match=r"the archive has no 'model\.safetensors'; it holds \['config\.json'\]"):
            archive.read("model.safetensors")


# --------------------------------------------------------------------------- Keras files
KERAS = os.path.join(os.path.dirname(__file__), "fixtures", "keras")


def keras_model():
    import lamina

    return lamina.load_model(os.path.join(KERAS, "mlp.keras"))


def edited_weights(tmp_path, edit) -> str:
    """A copy of the mlp fixture's `.weights.h5` changed by ``edit(h5)``."""
    import h5py

    path = tmp_path / "w.weights.h5"
    path.write_bytes(open(os.path.join(KERAS, "mlp.weights.h5"), "rb").read())
    with h5py.File(path, "a") as h5:
        edit(h5)
    return str(path)


def test_keras_dataset_declaring_far_more_than_it_stores_is_refused(tmp_path):
    def huge(h5):
        del h5["layers/dense/vars/1"]
        # 400 MB of float32 that the file never stores (chunked, nothing written)
        h5["layers/dense/vars"].create_dataset("1", shape=(100_000_000,), dtype="f4", chunks=(1_000_000,), compression="gzip")

    path = edited_weights(tmp_path, huge)
    assert os.path.getsize(path) < 100_000
    with pytest.raises(
        InvalidFileError,
        match=r"'w\.weights\.h5' is not a valid Keras weights file \(the dataset '/layers/dense/vars/1' declares shape \(100000000,\) of float32 \(400000000 bytes\) but stores 0 bytes",
    ):
        keras_model().load_weights(path)


def test_keras_external_links_are_refused(tmp_path):
    import h5py

    def link_out(h5):
        h5["layers/dense/elsewhere"] = h5py.ExternalLink("/etc/secret.h5", "/")

    with pytest.raises(InvalidFileError, match=r"'w\.weights\.h5' is not a valid Keras weights file \('layers/dense/elsewhere' is an external link to '/etc/secret\.h5'"):
        keras_model().load_weights(edited_weights(tmp_path, link_out))


def test_keras_dataset_of_records_is_refused(tmp_path):
    import numpy as np

    def compound(h5):
        del h5["layers/dense/vars/1"]
        h5["layers/dense/vars"].create_dataset("1", data=np.zeros(3, dtype=[("a", "f4"), ("b", "i4")]))

    with pytest.raises(InvalidFileError, match=r"the dataset '/layers/dense/vars/1' has the type .*, not numbers"):
        keras_model().load_weights(edited_weights(tmp_path, compound))


def test_keras_weights_garbage_is_an_invalid_file_error(tmp_path):
    path = tmp_path / "bad.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200))
    with pytest.raises(InvalidFileError, match=r"'bad\.weights\.h5' is not a valid Keras weights file \(not readable HDF5"):
        keras_model().load_weights(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name", ["pipe.keras", "pipe.weights.h5"])
def test_keras_fifo_is_refused_without_blocking(tmp_path, name):
    import lamina

    fifo = tmp_path / name
    os.mkfifo(fifo)
    model = keras_model()
    with deadline(20), pytest.raises(InvalidFileError, match=re.escape(repr(name)) + r" is a FIFO"):
        if name.endswith(".keras"):
            lamina.load_model(fifo)
        else:
            model.load_weights(fifo)


def test_keras_archive_bomb_and_duplicates_are_refused(tmp_path):
    import lamina

    with zipfile.ZipFile(os.path.join(KERAS, "mlp.keras")) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    twice = tmp_path / "twice.keras"
    write_archive(twice, [*members.items(), ("config.json", b'{"class_name": "Evil"}')])
    with pytest.raises(InvalidFileError, match=r"'twice\.keras' is not a Keras model file \(the member 'config\.json' appears twice"):
        lamina.load_model(twice)
    bomb = tmp_path / "bomb.keras"
    write_archive(bomb, {**members, "assets/big.txt": b"a" * 50_000_000})
    with pytest.raises(InvalidFileError, match=r"'bomb\.keras' is not a Keras model file \(the member 'assets/big\.txt' declares 50000000 bytes compressed into \d+, a ratio above"):
        lamina.load_model(bomb)
