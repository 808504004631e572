"""Keras's weights file (`model.weights.h5` and `.weights.h5`): the HDF5 tree, both ways.

Each layer's variables live in `<path>/vars/0..n`, where a model's layers are
`layers/<snake_case class name>` numbered per class in the order of Keras's
`model.layers` (`dense`, `dense_1`, ...), and sub-objects sit below their owner
(`layers/lstm/cell/vars`, `layers/sequential/layers/dense/vars`). Variables are
converted to and from Lamina's layout by `keras_layout`.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from lamina.saving import limits
from lamina.saving.errors import InvalidFileError
from lamina.saving.file_io import check_regular_file
from lamina.saving.keras_layout import (
    container_names,
    keras_weight_groups,
    named_children,
    set_keras_weight_groups,
)
from lamina.saving.serialization_lib import _overrides


def h5py_module() -> Any:
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a dependency
        raise ImportError("Reading and writing Keras files needs h5py: `pip install h5py`.") from e
    return h5py


_H5_FIX = "Save the weights again with `save_weights('model.weights.h5')`"
# A dataset may expand this much beyond the bytes it stores (compression); small ones
# (up to 64 KiB) always may.
_MIN_DATASET_CHECKED_BYTES = 64 * 2**10


def _invalid(label: str, problem: str, path: Any = None, member: str | None = None) -> InvalidFileError:
    return InvalidFileError(
        f"{label} is not a valid Keras weights file ({problem}). {_H5_FIX}.",
        path=path if isinstance(path, (str, os.PathLike)) else None,
        member=member,
    )


def open_h5(data_or_path: Any, label: str) -> Any:
    """Opens a Keras weights file (a path, bytes, or a binary file object) as HDF5 for
    reading, refusing files that are not regular or that link to other files."""
    h5py = h5py_module()
    if isinstance(data_or_path, (str, os.PathLike)):
        check_regular_file(data_or_path, "a Keras weights file")
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    try:
        h5 = h5py.File(source, "r")
    except Exception as e:  # noqa: BLE001 - OSError, ValueError and whatever a hostile file makes HDF5 raise
        raise _invalid(label, f"not readable HDF5: {_first_line(e)}", data_or_path) from e
    try:
        _refuse_links_out(h5, label, data_or_path)
    except BaseException:
        h5.close()
        raise
    return h5


def _refuse_links_out(h5: Any, label: str, path: Any) -> None:
    """Refuses a file whose links or datasets point at other files (external links,
    external raw storage, virtual datasets): reading it would read those files."""
    h5py = h5py_module()
    found: list[str] = []

    def visit(name: str, link: Any) -> None:
        if isinstance(link, h5py.ExternalLink):
            found.append(f"{name!r} is an external link to {link.filename!r}")

    try:
        visit_links = getattr(h5, "visititems_links", None)
        if visit_links is not None:
            visit_links(visit)
    except Exception as e:  # noqa: BLE001 - a damaged object table
        raise _invalid(label, f"its HDF5 tree cannot be walked: {_first_line(e)}", path) from e
    if found:
        raise _invalid(label, f"{found[0]}; a weights file never refers to other files", path)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0][:300]}" if text else type(e).__name__


def read_dataset(dataset: Any, label: str) -> np.ndarray:
    """The values of an HDF5 dataset, checked before reading: stored in this file
    (no external storage, not virtual), a plain array type, and not declaring more
    than `limits.MAX_WEIGHTS_BYTES` or far more than it stores."""
    h5py = h5py_module()
    name = getattr(dataset, "name", "?")
    if not isinstance(dataset, h5py.Dataset):
        raise _invalid(label, f"{name!r} is a {type(dataset).__name__}, not a dataset of weights")
    try:
        if dataset.is_virtual or dataset.external:
            raise _invalid(label, f"the dataset {name!r} keeps its data in other files; a weights file never does")
        dtype = dataset.dtype
        count = 1
        for d in dataset.shape or ():
            count *= int(d)
        nbytes = count * dtype.itemsize
        stored = dataset.id.get_storage_size()
    except InvalidFileError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged dataset header
        raise _invalid(label, f"the dataset {name!r} cannot be read: {_first_line(e)}") from e
    if dtype.kind not in "biufcSU" and not h5py.check_string_dtype(dtype):
        raise _invalid(label, f"the dataset {name!r} has the type {dtype}, not numbers")
    if nbytes > limits.MAX_WEIGHTS_BYTES or nbytes > max(
        _MIN_DATASET_CHECKED_BYTES, limits.MAX_COMPRESSION_RATIO * stored
    ):
        raise _invalid(
            label,
            f"the dataset {name!r} declares shape {tuple(dataset.shape or ())} of {dtype} "
            f"({nbytes} bytes) but stores {stored} bytes in the file; the file is damaged or hostile",
        )
    try:
        return np.asarray(dataset[()])
    except Exception as e:  # noqa: BLE001 - corrupted chunks, failing filters
        raise _invalid(label, f"the dataset {name!r} cannot be read: {_first_line(e)}") from e


def _vars_of(group: Any, label: str = "the weights file") -> list[np.ndarray]:
    if group is None or "vars" not in group:
        return []
    vars_group = group["vars"]
    return [read_dataset(vars_group[str(i)], label) for i in range(len(vars_group))]


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


def is_model(layer: Any) -> bool:
    from lamina.models.model import Model

    return isinstance(layer, Model) and isinstance(getattr(type(layer), "layers", None), property)


def _load_layer(
    layer: Any, group: Any, where: str, label: str, by_name_first: bool = False
) -> None:
    if is_model(layer):
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
        children = keras_order(layer)
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
                groups[path] = _vars_of(found, label)
    _check_kinds(layer, groups, where, label)
    missing = set_keras_weight_groups(layer, groups)
    if missing:
        raise ValueError(
            f"{label} has no weights for layer '{layer.name}' ({type(layer).__name__}): expected "
            f"them under {[where + p + ('/' if p else '') + 'vars' for p in missing]}. Received a "
            "file whose model differs from this one. Build the same architecture as the model "
            "that wrote the file."
        )


def _check_kinds(layer: Any, groups: dict[str, list[np.ndarray]], where: str, label: str) -> None:
    """Refuses an integer, boolean or string dataset for a floating variable: Lamina's
    own files refuse a dtype mismatch too, and a Keras file always stores a float
    variable as floats. (A float of another precision, e.g. float64 for float32, is
    cast, as Keras's loader does.)"""
    for path, expected in keras_weight_groups(layer):
        for i, (want, got) in enumerate(zip(expected, groups.get(path, []))):
            want_dtype = np.asarray(want).dtype
            if want_dtype.kind in "fc" and got.dtype.kind not in "fc":
                dataset = f"{where}{path + '/' if path else ''}vars/{i}"
                raise InvalidFileError(
                    f"{label}: the dataset {dataset!r} (a weight of layer '{layer.name}', "
                    f"{type(layer).__name__}) is {got.dtype}, but the variable is {want_dtype}; a "
                    "Keras file stores floating variables as floats, so the file is damaged or was "
                    "not written by Keras. Lamina has no option to cast it. Save the weights again "
                    "from the model (`save_weights('model.weights.h5')` or `model.save('model.keras')`).",
                    member=dataset,
                )


def _own_variable_hooks(layer: Any) -> bool:
    """Whether ``layer``'s class (one of the user's) defines `save_own_variables` or
    `load_own_variables`: its variables then go through those hooks, as in Keras."""
    from lamina.layers.layer import Layer

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
    store = {key: read_dataset(vars_group[key], label) for key in vars_group}
    layer.load_own_variables(store)
    for name, child in _hooked_children(layer):
        _load_layer(child, group.get(name), f"{where}{name}/", label)


def _hooked_children(layer: Any) -> list[tuple[str, Any]]:
    from lamina.layers.layer import Layer

    return [(n, c) for n, c in named_children(layer) if isinstance(c, Layer)]


def load_h5_into(model: Any, h5: Any, label: str, by_name_first: bool = False) -> None:
    """Fills ``model`` from an open Keras weights HDF5 file (all layers, Keras layouts)."""
    try:
        _load_layer(model, h5, "", label, by_name_first)
        if not model.state_dict():
            _refuse_unused_weights(model, h5, label)
    except InvalidFileError:
        raise
    except ValueError as e:
        if "expects" in str(e) and "weight arrays" in str(e):
            raise ValueError(f"{label}: {e}") from e
        raise
    except (OSError, KeyError, RuntimeError, IndexError, OverflowError) as e:  # h5py on a damaged file
        raise _invalid(label, f"its HDF5 data cannot be read: {_first_line(e)}") from e


def _refuse_unused_weights(model: Any, h5: Any, label: str) -> None:
    """Refuses a file whose weights match nothing: ``model`` has no variables (a config
    with no layers) while the file holds datasets."""
    h5py = h5py_module()
    found: list[str] = []

    def visit(name: str, obj: Any) -> Any:
        if isinstance(obj, h5py.Dataset):
            found.append(name)
            return True  # stop at the first
        return None

    h5.visititems(visit)
    if found:
        raise ValueError(
            f"{label} holds weights (e.g. the dataset {found[0]!r}) but the model "
            f"'{getattr(model, 'name', '?')}' ({type(model).__name__}) it describes has no layers "
            "with variables, so none of them would be loaded. Received: a model config that yields "
            "no weights. Save the model again (`model.save('model.keras')`), or build the "
            "architecture in code and call `model.load_weights(...)`."
        )


def refuse_legacy(h5: Any, label: str) -> None:
    if "layer_names" in h5.attrs or "model_weights" in h5 or "model_config" in h5.attrs:
        raise ValueError(
            f"{label} is a Keras 2 (legacy HDF5) file, which Lamina does not read. Received: a "
            "file with Keras 2's 'layer_names' / 'model_weights'. Load it in Keras 3 and save it "
            "again as `model.keras` (or `model.weights.h5`)."
        )


def keras_order(model: Any) -> list[Any]:
    from lamina.saving.keras_writer import keras_layer_order

    return keras_layer_order(model)


def _write_layer(layer: Any, group: Any) -> None:
    if is_model(layer):
        own = group.require_group("vars")
        own.attrs["name"] = layer.name
        layers_group = group.require_group("layers")
        children = keras_order(layer)
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


def h5_bytes(model: Any) -> bytes:
    h5py = h5py_module()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        _write_layer(model, h5)
    return buffer.getvalue()
