"""`get_file`: a file from the local Keras-style cache. Lamina never downloads."""

from __future__ import annotations

import hashlib
import os
import tarfile
import urllib.parse
import zipfile
from typing import Any


def cache_root(cache_dir: str | os.PathLike | None = None) -> str:
    """The cache folder: `cache_dir`, else `$LAMINA_HOME`, else `$KERAS_HOME`, else `~/.keras`."""
    if cache_dir is not None:
        return os.fspath(cache_dir)
    return os.environ.get("LAMINA_HOME") or os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _hash_file(path: str, algorithm: str) -> str:
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(65535), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto") -> bool:
    """Whether the file at `fpath` has the sha256 or md5 hash `file_hash`.

    Args:
        fpath: Path to the file.
        file_hash: The expected hex digest.
        algorithm: `"sha256"`, `"md5"` or `"auto"` (sha256 for a 64-character
            hash, else md5). Defaults to `"auto"`.
    """
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(
            f"`validate_file` expects `algorithm` to be 'auto', 'sha256' or 'md5'. Received: algorithm={algorithm!r}."
        )
    if algorithm == "auto":
        algorithm = "sha256" if len(file_hash) == 64 else "md5"
    return _hash_file(os.fspath(fpath), algorithm) == str(file_hash).lower()


def _extract(path: str, into: str, archive_format: Any) -> bool:
    formats = ["tar", "zip"] if archive_format in ("auto", None) else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(path):
            with tarfile.open(path) as archive:
                archive.extractall(into, filter="data")
            return True
        if fmt == "zip" and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                archive.extractall(into)
            return True
    return False


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: str = "auto",
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
) -> str:
    """Returns the path of a file from the local cache (Lamina never downloads).

    Keras's `get_file` downloads `origin` into `~/.keras/<cache_subdir>/`. Lamina
    only looks there (or in `$LAMINA_HOME/<cache_subdir>/`, or
    `<cache_dir>/<cache_subdir>/`): a file already in place is checked against
    `file_hash` when given and returned; a missing file raises an error that says
    where to put it. Place files there yourself (e.g. with `curl -L -o`), once.

    Args:
        fname: File name in the cache (not a path: use `cache_dir`). Defaults to
            `None` (the last part of `origin`).
        origin: The file's URL; only used to name the file and in the message.
            Defaults to `None`.
        untar: Deprecated Keras spelling of `extract=True` for tar files.
            Defaults to `False`.
        md5_hash: Deprecated Keras spelling of `file_hash` for md5. Defaults to `None`.
        file_hash: Expected sha256 or md5 hex digest of the file. Defaults to
            `None` (no check).
        cache_subdir: Sub-folder of the cache. Defaults to `"datasets"`.
        hash_algorithm: `"sha256"`, `"md5"` or `"auto"`. Defaults to `"auto"`.
        extract: Whether the file is an archive (tar or zip) to extract next to
            it, with Keras 3's names: `name.tar.gz` into `name_extracted/`, or an
            archive cached as `name_archive` (for `fname` without extension, or no
            `fname`) into `name/`. That folder's path is returned. Defaults to `False`.
        archive_format: `"auto"`, `"tar"`, `"zip"` or a list of them.
            Defaults to `"auto"`.
        cache_dir: Cache root. Defaults to `None` (`$LAMINA_HOME`, `$KERAS_HOME`
            or `~/.keras`).
        force_download: Must stay `False`: Lamina never downloads. Defaults to `False`.

    Returns:
        The path of the file (or of the extracted folder).

    Example:
        >>> path = get_file("mnist.npz", origin="https://storage.googleapis.com/"
        ...                 "tensorflow/tf-keras-datasets/mnist.npz")  # doctest: +SKIP
    """
    if fname is None and origin is None:
        raise ValueError(
            "`get_file` expects `fname` or `origin`. Received: fname=None, origin=None. "
            "Pass the file name, e.g. `get_file('mnist.npz', origin=...)`."
        )
    if force_download:
        raise ValueError(
            "`get_file` never downloads. Received: force_download=True. Place the file in the "
            "cache yourself and call `get_file` without `force_download`."
        )
    provided = fname is not None
    if fname is None:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)  # type: ignore[arg-type]
        if not fname:
            raise ValueError(
                f"`get_file` cannot take a file name from the origin. Received: origin={origin!r}. "
                "Pass `fname`."
            )
    fname = os.fspath(fname)
    if os.sep in fname:
        raise ValueError(
            "`get_file` expects `fname` to be a file name, not a path. Received: "
            f"fname={fname!r}. Pass the folder as `cache_dir` (or an absolute `cache_subdir`)."
        )
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = os.path.join(os.path.expanduser(cache_root(cache_dir)), cache_subdir)
    extract = extract or untar
    # Keras 3's names: `name.tar.gz` is extracted into `name_extracted/`; a name without an
    # extension is the extraction folder and its archive is cached as `name_archive`.
    if extract and provided and "." in fname:
        fpath = os.path.join(datadir, fname)
        extracted = os.path.join(datadir, f"{fname[: fname.find('.')]}_extracted")
    elif extract:
        fpath = os.path.join(datadir, f"{fname}_archive")
        extracted = os.path.join(datadir, fname)
    else:
        fpath = extracted = os.path.join(datadir, fname)
    if not os.path.exists(fpath):
        if extract and os.path.isdir(extracted):
            return extracted
        where = f" from {origin!r}" if origin else ""
        raise FileNotFoundError(
            f"`get_file` found no cached copy of {os.path.basename(fpath)!r} at {fpath!r}. Received: "
            f"fname={fname!r}, origin={origin!r}. Lamina never downloads files: download it{where} "
            f"yourself and save it as {fpath!r} (e.g. `curl -L -o {fpath} <url>`)"
            + (f" or extract it into {extracted!r}" if extract else "")
            + ", or point `LAMINA_HOME` / `cache_dir=` at a folder whose "
            f"'{cache_subdir}' sub-folder holds it."
        )
    if file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        raise ValueError(
            f"`get_file` found {fpath!r}, but its hash does not match. Received: "
            f"file_hash={file_hash!r}. The file is incomplete or a different version: replace it with "
            "the right one, or drop `file_hash` to skip the check."
        )
    if extract:
        if untar:
            archive_format = "tar"
        if not os.path.isdir(extracted):
            os.makedirs(extracted, exist_ok=True)
            if not _extract(fpath, extracted, archive_format):
                os.rmdir(extracted)
                raise ValueError(
                    f"`get_file` could not extract {fpath!r} as {archive_format!r}. Received: "
                    f"archive_format={archive_format!r}. Pass `extract=False` for a plain file."
                )
        return extracted
    return fpath
