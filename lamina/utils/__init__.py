"""`lamina.utils`: the Keras utilities (`keras.utils`) on PyTorch.

Data: `to_categorical`, `normalize`, `pad_sequences`, `timeseries_dataset_from_array`,
`image_dataset_from_directory`, `text_dataset_from_directory`, `split_dataset`,
`PyDataset`. Images: `load_img`, `img_to_array`, `array_to_img`, `save_img`.
Also `plot_model`, `get_file` (local cache only), `set_random_seed`, `Progbar`, and
the names Keras re-exports here from saving (`register_keras_serializable`, ...) and
training (`pack_x_y_sample_weight`, `unpack_x_y_sample_weight`).

The internal helpers (`validation`, `tree`, `serialization`) stay importable as
sub-modules.

Example:
    >>> from lamina import utils
    >>> utils.to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

from typing import Any

from lamina.utils.dataset_utils import split_dataset, timeseries_dataset_from_array
from lamina.utils.directory_utils import image_dataset_from_directory, text_dataset_from_directory
from lamina.utils.file_utils import get_file, validate_file
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from lamina.utils.numerical_utils import normalize, to_categorical
from lamina.utils.plot_model import model_to_dot, plot_model
from lamina.utils.progbar import Progbar
from lamina.utils.py_dataset import PyDataset
from lamina.utils.sequence_utils import pad_sequences

Sequence = PyDataset  # the Keras 2 name, still exported by Keras 3


def set_random_seed(seed: int) -> None:
    """Sets all random seeds (Python, NumPy, PyTorch) so that a run is repeatable.

    The same as `lamina.set_seed`, under its Keras name.

    Args:
        seed: A non-negative integer.

    Example:
        >>> set_random_seed(1337)
    """
    from lamina.runtime import set_seed

    set_seed(seed)


# Keras exports these from `keras.utils` too; they live in other Lamina packages
# (imported on first use, since those packages import `lamina.utils` themselves).
_ELSEWHERE = {
    "clear_session": "lamina.layers.layer",
    "pack_x_y_sample_weight": "lamina.training.data_adapter",
    "unpack_x_y_sample_weight": "lamina.training.data_adapter",
    **{
        name: "lamina.saving"
        for name in (
            "CustomObjectScope",
            "custom_object_scope",
            "deserialize_keras_object",
            "get_custom_objects",
            "get_registered_name",
            "get_registered_object",
            "register_keras_serializable",
            "serialize_keras_object",
        )
    },
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        import importlib

        value = getattr(importlib.import_module(_ELSEWHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(
        f"module 'lamina.utils' has no attribute {name!r}. The Keras utilities it offers are: "
        f"{', '.join(__all__)}."
    )


__all__ = [
    "CustomObjectScope",
    "PyDataset",
    "Progbar",
    "Sequence",
    "array_to_img",
    "clear_session",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_file",
    "get_registered_name",
    "get_registered_object",
    "image_dataset_from_directory",
    "img_to_array",
    "load_img",
    "model_to_dot",
    "normalize",
    "pack_x_y_sample_weight",
    "pad_sequences",
    "plot_model",
    "register_keras_serializable",
    "save_img",
    "serialize_keras_object",
    "set_random_seed",
    "split_dataset",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
    "unpack_x_y_sample_weight",
    "validate_file",
]
