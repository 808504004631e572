"""`get_file`: only the local cache, with hash checks; a clear error instead of a download."""

import hashlib
import tarfile

import pytest

from lamina.utils import get_file, validate_file


def test_get_file_returns_a_cached_file_and_checks_its_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    target = tmp_path / "datasets" / "data.npz"
    target.write_bytes(b"12345")
    sha = hashlib.sha256(b"12345").hexdigest()
    assert get_file("data.npz", "https://example.com/data.npz") == str(target)
    assert get_file(origin="https://example.com/data.npz?raw=1", file_hash=sha) == str(target)
    assert get_file("data.npz", md5_hash=hashlib.md5(b"12345").hexdigest()) == str(target)
    assert validate_file(target, sha) and not validate_file(target, "0" * 64)
    with pytest.raises(ValueError, match="hash does not match"):
        get_file("data.npz", file_hash="0" * 32)


def test_get_file_missing_says_lamina_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads") as info:
        get_file("mnist.npz", origin="https://host/mnist.npz", cache_dir=tmp_path, cache_subdir="data")
    assert str(tmp_path / "data" / "mnist.npz") in str(info.value)
    with pytest.raises(ValueError, match="Received: force_download=True"):
        get_file("x", cache_dir=tmp_path, force_download=True)


def test_get_file_extracts_a_cached_archive(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("hello")
    (tmp_path / "datasets").mkdir()
    archive = tmp_path / "datasets" / "pack.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "a.txt", arcname="pack/a.txt")
    out = get_file("pack.tar.gz", cache_dir=tmp_path, extract=True)
    assert out == str(tmp_path / "datasets" / "pack_extracted")
    assert (tmp_path / "datasets" / "pack_extracted" / "pack" / "a.txt").read_text() == "hello"
    # Without an extension (or without fname) Keras caches the archive as `<name>_archive`.
    (tmp_path / "datasets" / "flowers_archive").write_bytes(archive.read_bytes())
    out = get_file(origin="https://host/flowers", cache_dir=tmp_path, extract=True)
    assert out == str(tmp_path / "datasets" / "flowers")
    assert (tmp_path / "datasets" / "flowers" / "pack" / "a.txt").is_file()


def test_get_file_rejects_paths_as_fname(tmp_path):
    with pytest.raises(ValueError, match="not a path.*Pass the folder as `cache_dir`"):
        get_file("sub/data.npz", cache_dir=tmp_path)
