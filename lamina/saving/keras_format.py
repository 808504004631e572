"""Keras 3 files, both ways: `.keras` models and `.weights.h5` weights.

A `.keras` file is a zip archive of `config.json` (the model's Keras config),
`metadata.json` (Keras version, date) and `model.weights.h5`, an HDF5 file that
keeps each layer's variables in `layers/<name>/vars/0..n` (`<name>` is the
snake-cased class name, numbered per class: `dense`, `dense_1`, ...), with
sub-objects below (`layers/lstm/cell/vars`, `layers/sequential/layers/dense/vars`).

Reading builds the Lamina model the config describes (see `keras_config`) and
converts every variable to Lamina's layout (see `keras_layout`); writing does
the reverse, so Keras 3's `keras.saving.load_model` reads Lamina's files.
Nothing is unpickled and no code from the file runs: `Lambda` layers and
unregistered classes are refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import torch

from lamina.saving import file_io, limits
from lamina.saving.errors import InvalidFileError, guard_file_errors
from lamina.saving.keras_compile import compile_from_keras, compile_to_keras
from lamina.saving.keras_config import check_keras_config, model_from_keras_config
from lamina.saving.keras_h5 import (
    h5_bytes,
    is_model,
    keras_order,
    load_h5_into,
    open_h5,
    refuse_legacy,
)
from lamina.saving.keras_layout import container_names, named_children
from lamina.saving.keras_writer import keras_model_config
from lamina.saving.object_registration import CustomObjectScope
from lamina.saving.serialization_lib import _overrides

KERAS_SUFFIX = ".keras"
KERAS_WEIGHTS_SUFFIX = ".weights.h5"
KERAS_FORMAT_VERSION = "3.15.1"  # the Keras version whose file layout this module writes
MAX_JSON_BYTES = limits.MAX_JSON_BYTES  # read at call time (tests lower it)
MAX_WEIGHTS_BYTES = limits.MAX_WEIGHTS_BYTES
KERAS_FILE_WHAT = "a Keras model file"
KERAS_FIX = "Save the model again with Keras's `model.save('model.keras')`"


# =================================================================== reading
# The archive is a `file_io.Archive`: a regular file only, its directory checked
# (member count, names, sizes, compression ratios) when opened, members streamed
# with a cap. Its errors are `InvalidFileError`s naming the file and the member.
def _member_info(zf: file_io.Archive, name: str, cap: int, label: str) -> zipfile.ZipInfo:
    """The entry ``name`` of the archive, checked to exist and to declare at most ``cap`` bytes."""
    info = zf.info(name)
    if info.file_size > cap:
        raise zf.error(
            f"the member {name!r} is {info.file_size} bytes, more than the {cap} bytes Lamina "
            f"reads for it. Received: file_size={info.file_size}",
            "Check that the file is a Keras model",
            member=name,
        )
    return info


def _corrupted(label: str, name: str, e: Exception) -> InvalidFileError:
    return InvalidFileError(
        f"{label} is not a valid Keras model file (the member {name!r} is corrupted or "
        f"truncated: {e}). Save the model again.",
        member=name,
    )


def _read_member(zf: file_io.Archive, name: str, cap: int, label: str) -> bytes:
    """The bytes of ``name`` (at most ``cap``), streamed and checked against its declared size."""
    _member_info(zf, name, cap, label)
    return zf.read(name, cap)


@contextlib.contextmanager
def _weights_member(zf: file_io.Archive, label: str) -> Iterator[Any]:
    """The archive's `model.weights.h5`, open as HDF5 and read in place (never copied
    whole into memory); a damaged member is an `InvalidFileError`."""
    name = "model.weights.h5"
    _member_info(zf, name, MAX_WEIGHTS_BYTES, label)
    with zf.open(name, MAX_WEIGHTS_BYTES) as f, open_h5(f, label) as h5:
        yield h5


def _open_zip(path: str) -> file_io.Archive:
    """``path`` opened as a checked archive (see `file_io.Archive`), worded for Keras files."""
    return file_io.Archive(path, KERAS_FILE_WHAT, KERAS_FIX)


_LOAD_FIX = "Save the model again (Keras's `model.save('model.keras')`), or load a copy you trust."


def load_keras_model(
    filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True
) -> Any:
    """Loads a Keras 3 `.keras` file as a Lamina model, without running code from the file.

    The Keras config is translated to Lamina's layers (weights converted to
    PyTorch's layout); `Lambda` layers and classes that are neither Lamina's
    nor registered are refused.

    Args:
        filepath: A `.keras` file written by Keras 3 (or by Lamina).
        custom_objects: Extra classes by name, e.g. `{"MyLayer": MyLayer}`.
            Defaults to `None`.
        compile: Whether to compile the model with the optimizer, loss and
            metrics saved in the file (a warning, and an uncompiled model, when
            they have no Lamina counterpart). The optimizer's state is not
            restored. Defaults to `True`.

    Returns:
        The Lamina model, in inference mode.

    Example:
        >>> model = lamina.load_model("model.keras")  # doctest: +SKIP
        >>> model.predict(x)  # doctest: +SKIP
    """
    path = os.fspath(filepath)
    label = repr(os.path.basename(path))
    if path.endswith(".h5"):
        raise ValueError(
            f"`load_model` reads Keras 3 `.keras` files and Lamina's `.lamina` files; {label} is "
            f"an HDF5 file (Keras 2's format, or only weights). Received: filepath={path!r}. "
            "Re-save the model in Keras 3 as `model.keras`, or build the model in code and call "
            "`model.load_weights(path)` for a `.weights.h5` file."
        )
    with guard_file_errors(path, "a Keras 3 model file", _LOAD_FIX):
        with _open_zip(path) as zf:
            config_bytes = _read_member(zf, "config.json", MAX_JSON_BYTES, label)
            try:
                config = limits.parse_json(config_bytes)
            except limits.JSONRefused as e:
                raise InvalidFileError(
                    f"{label}: 'config.json' is not valid JSON ({e}). Save the model again.",
                    path=path,
                    member="config.json",
                ) from None
            if not isinstance(config, dict) or "class_name" not in config:
                raise ValueError(
                    f"{label}: 'config.json' does not describe a Keras model (no 'class_name'). "
                    "Save the model again with Keras's `model.save('model.keras')`."
                )
            try:
                check_keras_config(config)
            except ValueError as e:
                raise InvalidFileError(f"{label}: {e}", path=path, member="config.json") from None
            with CustomObjectScope(custom_objects):
                _preflight(zf, config, custom_objects, label)
                model = model_from_keras_config(config, custom_objects)
                compile_config = config.get("compile_config")
                hooked_compile = "compile_from_config" in _overrides(type(model))
                if compile and hooked_compile and compile_config:
                    model.compile_from_config(compile_config)  # the class's own way, as in Keras
            with _weights_member(zf, label) as h5:
                load_h5_into(model, h5, label, by_name_first=True)
            _check_finite(model, f"'model.weights.h5' in {label}", path)
            with CustomObjectScope(custom_objects):
                _load_assets(model, zf, label)
    model.eval()
    if compile and not hooked_compile and isinstance(compile_config, dict) and compile_config:
        try:
            with CustomObjectScope(custom_objects):
                compile_from_keras(model, config["compile_config"])
        except (TypeError, ValueError) as e:
            warnings.warn(
                f"{label}: the model loaded, but its compile configuration could not be restored "
                f"({e}). It is returned uncompiled: call `model.compile(...)` before training, or "
                "pass compile=False to silence this warning.",
                stacklevel=2,
            )
    return model


def _preflight(zf: file_io.Archive, config: dict[str, Any], custom_objects: Any, label: str) -> None:
    """Sizes the model on the meta device against the weights member's size before
    building it for real (see `lamina.saving.preflight`)."""
    from lamina.saving import preflight

    name = "model.weights.h5"
    if not zf.has(name):
        return  # reading the weights reports it
    file_bytes = zf.info(name).file_size
    config_label = f"'config.json' in {label}"
    try:
        model, _, meter = preflight.meta_build(
            lambda: model_from_keras_config(config, custom_objects), config_label, _LOAD_FIX
        )
        if model is not None:
            preflight.check_state_bytes(model.state_dict(), file_bytes, config_label, repr(name), _LOAD_FIX)
        else:  # the weights created before the build failed, then the cheap check
            preflight.check_state_bytes(meter.weights_state(), file_bytes, config_label, repr(name), _LOAD_FIX)
            preflight.check_config_ints(config.get("config"), file_bytes, config_label, repr(name), _LOAD_FIX)
    except InvalidFileError as e:
        e.path = zf.path
        e.member = e.member or "config.json"
        raise


def load_keras_weights(model: Any, filepath: str | os.PathLike) -> Any:
    """Loads a Keras `.weights.h5` file (or the weights of a `.keras` file) into ``model``.

    Args:
        model: A built Lamina model with the architecture of the one that wrote
            the file.
        filepath: A `.weights.h5` file from Keras's (or Lamina's) `save_weights`.

    Returns:
        A `WeightsReport` listing the loaded weights (a file that does not fit
        the model raises instead).
    """
    from lamina.saving.weights import WeightsReport

    path = os.fspath(filepath)
    label = repr(os.path.basename(path))
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    try:
        if path.endswith(KERAS_SUFFIX):
            with guard_file_errors(path, "a Keras 3 model file", _LOAD_FIX):
                with _open_zip(path) as zf, _weights_member(zf, label) as h5:
                    load_h5_into(model, h5, label)
                _check_finite(model, f"'model.weights.h5' in {label}", path)
            return WeightsReport(loaded=list(model.state_dict()))
        with guard_file_errors(path, "a Keras weights file", _LOAD_FIX):
            file_io.check_regular_file(path, "a Keras weights file")  # missing, a directory, a FIFO, a link loop
            with open_h5(path, label) as h5:
                refuse_legacy(h5, label)
                load_h5_into(model, h5, label)
            _check_finite(model, label, path)
    except BaseException:
        with torch.no_grad():  # a refused file leaves the model as it was
            for k, v in model.state_dict().items():
                if k in before and v.shape == before[k].shape:
                    v.copy_(before[k])
        raise
    return WeightsReport(loaded=list(model.state_dict()))


def _check_finite(model: Any, source: str, path: str) -> None:
    """Refuses NaN or infinite values in the weights just read from a Keras file."""
    from lamina.saving.weights import check_finite

    state = model.state_dict()
    check_finite(state, list(state), source, path)


# =================================================================== writing
def _asset_layers(layer: Any, path: str = "") -> list[tuple[Any, str]]:
    """Every layer of ``layer`` (itself included) with its path in the file, named as
    in the weights file (`layers/dense`, `layers/dense/inner`, ...)."""
    from lamina.layers.layer import Layer

    out = [(layer, path)]
    if is_model(layer):
        children = keras_order(layer)
        pairs = [(f"layers/{n}", c) for c, n in zip(children, container_names(children))]
    else:
        pairs = named_children(layer)
    for name, child in pairs:
        if isinstance(child, Layer):
            out.extend(_asset_layers(child, f"{path}/{name}" if path else name))
    return out


def _asset_members(model: Any) -> dict[str, bytes]:
    """The files that layers with `save_assets(dir)` write, as `assets/<layer path>/...`."""
    members: dict[str, bytes] = {}
    for layer, path in _asset_layers(model):
        if not callable(getattr(layer, "save_assets", None)):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            layer.save_assets(tmp)
            for root, _, files in os.walk(tmp):
                for file in sorted(files):
                    full = os.path.join(root, file)
                    rel = os.path.relpath(full, tmp).replace(os.sep, "/")
                    with open(full, "rb") as f:
                        members["/".join(p for p in ("assets", path, rel) if p)] = f.read()
    return members


def _load_assets(model: Any, zf: zipfile.ZipFile, label: str) -> None:
    """Gives each layer with `load_assets(dir)` a directory holding the files its
    `save_assets` wrote (the file's `assets/<layer path>/` entries)."""
    names = zf.namelist()
    for layer, path in _asset_layers(model):
        if not callable(getattr(layer, "load_assets", None)):
            continue
        prefix = "/".join(p for p in ("assets", path) if p) + "/"
        with tempfile.TemporaryDirectory() as tmp:
            for name in names:
                if not name.startswith(prefix) or name.endswith("/"):
                    continue
                parts = name[len(prefix) :].split("/")
                if any(p in ("", ".", "..") for p in parts) or name.startswith("/"):
                    raise ValueError(
                        f"{label}: the asset {name!r} has an unsafe path. Received a corrupted "
                        "or hand-made file. Save the model again."
                    )
                if len(parts) > 1 and parts[0] == "layers" and is_model(layer):
                    continue  # a sub-layer's assets
                target = os.path.join(tmp, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(_read_member(zf, name, MAX_WEIGHTS_BYTES, label))
            layer.load_assets(tmp)


def _check_built(model: Any, what: str) -> None:
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model '{getattr(model, 'name', '?')}' is not built, so it has no weights to "
            f"write to {what}. Received: an unbuilt model. Give it an `Input(shape=...)` or call "
            "it on data first."
        )


def save_keras_weights(model: Any, filepath: str | os.PathLike) -> None:
    """Writes ``model``'s weights as a Keras 3 `.weights.h5` file (Keras's layouts),
    which Keras's `model.load_weights` reads into the same architecture.

    Args:
        model: A built Lamina model.
        filepath: A path ending with `.weights.h5`.
    """
    _check_built(model, "a weights file")
    data = h5_bytes(model)
    file_io.atomic_write(os.fspath(filepath), lambda f: f.write(data))


def save_keras_model(model: Any, filepath: str | os.PathLike) -> None:
    """Writes ``model`` as a Keras 3 `.keras` file (config, weights, metadata) that
    Keras's `keras.saving.load_model` and Lamina's `load_model` read.

    Only layers Keras also has can be written. The compile configuration
    (optimizer, loss, metrics) is written when Keras can rebuild it; the
    optimizer's state is not.

    Args:
        model: A built Lamina `Sequential` or functional model.
        filepath: A path ending with `.keras`.

    Example:
        >>> model.save("model.keras")  # doctest: +SKIP
    """
    _check_built(model, "a .keras file")
    config = keras_model_config(model)
    compile_config = None if "compile_config" in config else compile_to_keras(model)
    if compile_config is not None:  # (a class's own `get_compile_config` came first)
        config["compile_config"] = compile_config
    import lamina

    metadata = {
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": datetime.now(timezone.utc).strftime("%Y-%m-%d@%H:%M:%S"),
        "producer": f"lamina {lamina.__version__}",
    }
    members = {
        "metadata.json": json.dumps(metadata).encode("utf-8"),
        "config.json": json.dumps(config).encode("utf-8"),
        "model.weights.h5": h5_bytes(model),
        **_asset_members(model),
    }
    file_io.atomic_write(os.fspath(filepath), lambda f: file_io.write_zip(f, members))
