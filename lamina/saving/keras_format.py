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

import io
import json
import os
import tempfile
import warnings
import zipfile
from datetime import datetime, timezone
from typing import Any

import numpy as np

from lamina.saving import file_io
from lamina.saving.keras_compile import compile_from_keras, compile_to_keras
from lamina.saving.keras_config import model_from_keras_config
from lamina.saving.keras_layout import container_names, keras_weight_groups, set_keras_weight_groups
from lamina.saving.keras_writer import keras_model_config
from lamina.saving.object_registration import CustomObjectScope
from lamina.saving.serialization_lib import _overrides

KERAS_SUFFIX = ".keras"
KERAS_WEIGHTS_SUFFIX = ".weights.h5"
KERAS_FORMAT_VERSION = "3.15.1"  # the Keras version whose file layout this module writes
MAX_JSON_BYTES = 64 * 2**20
MAX_WEIGHTS_BYTES = 16 * 2**30


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a dependency
        raise ImportError("Reading and writing Keras files needs h5py: `pip install h5py`.") from e
    return h5py


# =================================================================== reading
def _read_member(zf: zipfile.ZipFile, name: str, cap: int, label: str) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(
            f"{label} is not a Keras model file (the archive has no {name!r}; it holds "
            f"{sorted(zf.namelist())[:10]}). Received: a zip without {name!r}. Save the model "
            "again with Keras's `model.save('model.keras')`."
        ) from None
    if info.file_size > cap:
        raise ValueError(
            f"{label}: the member {name!r} is {info.file_size} bytes, more than the {cap} bytes "
            f"Lamina reads. Received: file_size={info.file_size}. Check that the file is a Keras model."
        )
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
        raise ValueError(
            f"{label} is not a valid Keras model file (the member {name!r} is corrupted or "
            f"truncated: {e}). Save the model again."
        ) from e
    if len(data) > cap:
        raise ValueError(
            f"{label}: the member {name!r} is larger than its declared size. Received a corrupted file."
        )
    return data


def _open_zip(path: str) -> zipfile.ZipFile:
    label = repr(os.path.basename(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}. Check the path.")
    try:
        return zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise ValueError(
            f"{label} is not a Keras model file (not a zip archive; the file is truncated, "
            "corrupted, or in another format). Received: filepath="
            f"{path!r}. Save the model again with `model.save('model.keras')`."
        ) from e


def _open_h5(data_or_path: Any, label: str) -> Any:
    h5py = _h5py()
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as e:
        raise ValueError(
            f"{label} is not a valid Keras weights file (not readable HDF5: {e}). "
            "Save the weights again with `save_weights('model.weights.h5')`."
        ) from e


def _vars_of(group: Any) -> list[np.ndarray]:
    if group is None or "vars" not in group:
        return []
    vars_group = group["vars"]
    return [np.asarray(vars_group[str(i)][()]) for i in range(len(vars_group))]


def _child(group: Any, path: str) -> Any:
    """``group[path]``, also under the other spelling Keras versions used (`_query_dense`)."""
    if not path:
        return group
    for candidate in (
        path,
        "/".join(p.lstrip("_") for p in path.split("/")),
        "/".join("_" + p if not p.startswith("_") else p for p in path.split("/")),
    ):
        if candidate in group:
            return group[candidate]
    return None


def _is_model(layer: Any) -> bool:
    from lamina.models.model import Model

    return isinstance(layer, Model) and isinstance(getattr(type(layer), "layers", None), property)


def _load_layer(
    layer: Any, group: Any, where: str, label: str, by_name_first: bool = False
) -> None:
    if _is_model(layer):
        # Weights loaded into a model are found by their place (`dense`, `dense_1`, ... in
        # the order of Keras's `model.layers`), as Keras does, else by the layer name the file
        # records; a whole `.keras` file, whose config and weights were saved together, is
        # matched by name first.
        layers_group = group.get("layers") if group is not None else None
        by_name: dict[str, str] = {}
        for key in layers_group if layers_group is not None else ():
            vars_group = layers_group[key].get("vars")
            if vars_group is not None and "name" in vars_group.attrs:
                by_name[str(vars_group.attrs["name"])] = key
        children = _keras_order(layer)
        for child, key in zip(children, container_names(children)):
            if layers_group is not None and (by_name_first or key not in layers_group):
                key = by_name.get(getattr(child, "name", ""), key)
            sub = layers_group[key] if layers_group is not None and key in layers_group else None
            _load_layer(child, sub, f"{where}layers/{key}/", label, by_name_first)
        return
    if _own_variable_hooks(layer):
        _load_hooked(layer, group, where, label)
        return
    groups: dict[str, list[np.ndarray]] = {}
    for path, arrays in keras_weight_groups(layer):
        if arrays:
            found = _child(group, path) if group is not None else None
            if found is not None and "vars" in found:
                groups[path] = _vars_of(found)
    missing = set_keras_weight_groups(layer, groups)
    if missing:
        raise ValueError(
            f"{label} has no weights for layer '{layer.name}' ({type(layer).__name__}): expected "
            f"them under {[where + p + ('/' if p else '') + 'vars' for p in missing]}. Received a "
            "file whose model differs from this one. Build the same architecture as the model "
            "that wrote the file."
        )


def _own_variable_hooks(layer: Any) -> bool:
    """Whether ``layer``'s class (one of the user's) defines `save_own_variables` or
    `load_own_variables`: its variables then go through those hooks, as in Keras."""
    from lamina.layers.layer import Layer
    from lamina.saving.serialization_lib import _overrides

    if not isinstance(layer, Layer):
        return False
    return bool({"save_own_variables", "load_own_variables"} & _overrides(type(layer)))


def _load_hooked(layer: Any, group: Any, where: str, label: str) -> None:
    if group is None or "vars" not in group:
        raise ValueError(
            f"{label} has no variables for layer '{layer.name}' ({type(layer).__name__}): expected "
            f"them under {where + 'vars'!r}. Received a file whose model differs from this one. "
            "Build the same architecture as the model that wrote the file."
        )
    vars_group = group["vars"]
    store = {key: np.asarray(vars_group[key][()]) for key in vars_group}
    layer.load_own_variables(store)
    for name, child in _hooked_children(layer):
        _load_layer(child, group.get(name), f"{where}{name}/", label)


def _hooked_children(layer: Any) -> list[tuple[str, Any]]:
    from lamina.layers.layer import Layer

    return [(n, c) for n, c in layer.named_children() if isinstance(c, Layer)]


def load_h5_into(model: Any, h5: Any, label: str, by_name_first: bool = False) -> None:
    """Fills ``model`` from an open Keras weights HDF5 file (all layers, Keras layouts)."""
    try:
        _load_layer(model, h5, "", label, by_name_first)
    except ValueError as e:
        if "expects" in str(e) and "weight arrays" in str(e):
            raise ValueError(f"{label}: {e}") from e
        raise


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
    with _open_zip(path) as zf:
        config_bytes = _read_member(zf, "config.json", MAX_JSON_BYTES, label)
        try:
            config = json.loads(config_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
            raise ValueError(
                f"{label}: 'config.json' is not valid JSON ({e}). Save the model again."
            ) from e
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(
                f"{label}: 'config.json' does not describe a Keras model (no 'class_name'). "
                "Save the model again with Keras's `model.save('model.keras')`."
            )
        with CustomObjectScope(custom_objects):
            model = model_from_keras_config(config, custom_objects)
            compile_config = config.get("compile_config")
            hooked_compile = "compile_from_config" in _overrides(type(model))
            if compile and hooked_compile and compile_config:
                model.compile_from_config(compile_config)  # the class's own way, as in Keras
        weights = _read_member(zf, "model.weights.h5", MAX_WEIGHTS_BYTES, label)
        with _open_h5(weights, label) as h5:
            load_h5_into(model, h5, label, by_name_first=True)
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
    if path.endswith(KERAS_SUFFIX):
        with _open_zip(path) as zf:
            data: Any = _read_member(zf, "model.weights.h5", MAX_WEIGHTS_BYTES, label)
    else:
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such file: {path!r}. Check the path.")
        data = path
    with _open_h5(data, label) as h5:
        _refuse_legacy(h5, label)
        load_h5_into(model, h5, label)
    return WeightsReport(loaded=list(model.state_dict()))


def _refuse_legacy(h5: Any, label: str) -> None:
    if "layer_names" in h5.attrs or "model_weights" in h5 or "model_config" in h5.attrs:
        raise ValueError(
            f"{label} is a Keras 2 (legacy HDF5) file, which Lamina does not read. Received: a "
            "file with Keras 2's 'layer_names' / 'model_weights'. Load it in Keras 3 and save it "
            "again as `model.keras` (or `model.weights.h5`)."
        )


# =================================================================== writing
def _keras_order(model: Any) -> list[Any]:
    from lamina.saving.keras_writer import keras_layer_order

    return keras_layer_order(model)


def _write_layer(layer: Any, group: Any) -> None:
    if _is_model(layer):
        own = group.require_group("vars")
        own.attrs["name"] = layer.name
        layers_group = group.require_group("layers")
        children = _keras_order(layer)
        for child, key in zip(children, container_names(children)):
            _write_layer(child, layers_group.require_group(key))
        return
    if _own_variable_hooks(layer):
        store: dict[str, Any] = {}
        layer.save_own_variables(store)
        vars_group = group.require_group("vars")
        vars_group.attrs["name"] = getattr(layer, "name", "")
        for key, value in store.items():
            vars_group.create_dataset(str(key), data=np.asarray(value))
        for name, child in _hooked_children(layer):
            _write_layer(child, group.require_group(name))
        return
    wrote_own = False
    for path, arrays in keras_weight_groups(layer):
        target = group.require_group(path) if path else group
        vars_group = target.require_group("vars")
        vars_group.attrs["name"] = getattr(layer, "name", "") if not path else path.split("/")[-1]
        for i, array in enumerate(arrays):
            vars_group.create_dataset(str(i), data=np.asarray(array))
        wrote_own = wrote_own or not path
    if not wrote_own:
        group.require_group("vars").attrs["name"] = getattr(layer, "name", "")


def _asset_layers(layer: Any, path: str = "") -> list[tuple[Any, str]]:
    """Every layer of ``layer`` (itself included) with its path in the file, named as
    in the weights file (`layers/dense`, `layers/dense/inner`, ...)."""
    from lamina.layers.layer import Layer

    out = [(layer, path)]
    if _is_model(layer):
        children = _keras_order(layer)
        pairs = [(f"layers/{n}", c) for c, n in zip(children, container_names(children))]
    else:
        pairs = [(n, c) for n, c in layer.named_children()]
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
                if any(p.startswith("layers") for p in parts[:1]) and _is_model(layer):
                    continue  # a sub-layer's assets
                target = os.path.join(tmp, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(_read_member(zf, name, MAX_WEIGHTS_BYTES, label))
            layer.load_assets(tmp)


def _h5_bytes(model: Any) -> bytes:
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        _write_layer(model, h5)
    return buffer.getvalue()


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
    data = _h5_bytes(model)
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
        "model.weights.h5": _h5_bytes(model),
        **_asset_members(model),
    }
    file_io.atomic_write(os.fspath(filepath), lambda f: file_io.write_zip(f, members))
