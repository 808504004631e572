"""Keras's weights file (`model.weights.h5` and `.weights.h5`): the HDF5 tree, both ways.

Each layer's variables live in `<path>/vars/0..n`, where a model's layers are
`layers/<snake_case class name>` numbered per class in the order of Keras's
`model.layers` (`dense`, `dense_1`, ...), and sub-objects sit below their owner
(`layers/lstm/cell/vars`, `layers/sequential/layers/dense/vars`). Variables are
converted to and from Lamina's layout by `keras_layout`.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

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


def open_h5(data_or_path: Any, label: str) -> Any:
    h5py = h5py_module()
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

    return [(n, c) for n, c in named_children(layer) if isinstance(c, Layer)]


def load_h5_into(model: Any, h5: Any, label: str, by_name_first: bool = False) -> None:
    """Fills ``model`` from an open Keras weights HDF5 file (all layers, Keras layouts)."""
    try:
        _load_layer(model, h5, "", label, by_name_first)
    except ValueError as e:
        if "expects" in str(e) and "weight arrays" in str(e):
            raise ValueError(f"{label}: {e}") from e
        raise


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
