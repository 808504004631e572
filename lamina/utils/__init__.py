"""`lamina.utils`: the Keras utilities (`keras.utils`) on PyTorch.

Data: `to_categorical`, `normalize`, `pad_sequences`, `timeseries_dataset_from_array`,
`image_dataset_from_directory`, `text_dataset_from_directory`, `split_dataset`,
`PyDataset`. Images: `load_img`, `img_to_array`, `array_to_img`, `save_img`.
Also `plot_model`, `get_file` (local cache only), `set_random_seed`, `Progbar`.

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


def __getattr__(name: str) -> Any:
    raise AttributeError(
        f"module 'lamina.utils' has no attribute {name!r}. The Keras utilities it offers are: "
        f"{', '.join(__all__)}."
    )


__all__ = [
    "PyDataset",
    "Progbar",
    "Sequence",
    "array_to_img",
    "get_file",
    "image_dataset_from_directory",
    "img_to_array",
    "load_img",
    "model_to_dot",
    "normalize",
    "pad_sequences",
    "plot_model",
    "save_img",
    "set_random_seed",
    "split_dataset",
    "text_dataset_from_directory",
    "timeseries_dataset_from_array",
    "to_categorical",
    "validate_file",
]
