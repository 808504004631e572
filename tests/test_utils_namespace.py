"""`lamina.utils` answers to the names of `keras.utils` (Keras 3) and keeps the internal modules."""

import pytest

import lamina
from lamina import utils

KERAS_UTILS = [
    "CustomObjectScope", "Progbar", "PyDataset", "Sequence", "array_to_img", "clear_session",
    "custom_object_scope", "deserialize_keras_object", "get_custom_objects", "get_file",
    "get_registered_name", "get_registered_object", "image_dataset_from_directory", "img_to_array",
    "load_img", "model_to_dot", "normalize", "pack_x_y_sample_weight", "pad_sequences", "plot_model",
    "register_keras_serializable", "save_img", "serialize_keras_object", "set_random_seed",
    "split_dataset", "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical",
    "unpack_x_y_sample_weight",
]


@pytest.mark.parametrize("name", KERAS_UTILS)
def test_utils_namespace_has_keras_name(name):
    assert callable(getattr(utils, name))
    assert name in utils.__all__


def test_utils_namespace_reexports_are_the_same_objects():
    assert utils.register_keras_serializable is lamina.saving.register_keras_serializable
    assert utils.Sequence is utils.PyDataset
    assert utils.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert utils.pack_x_y_sample_weight(1, 2) == (1, 2)


def test_utils_namespace_keeps_internal_modules_and_names_unknown():
    from lamina.utils import serialization, tree, validation  # noqa: F401

    with pytest.raises(AttributeError, match="no attribute 'FeatureSpace'.*to_categorical"):
        utils.FeatureSpace  # noqa: B018


@pytest.mark.parametrize("module", [
    "lamina.utils", "lamina.utils.numerical_utils", "lamina.utils.sequence_utils",
    "lamina.utils.dataset_utils", "lamina.utils.directory_utils", "lamina.utils.image_utils",
    "lamina.utils.py_dataset", "lamina.utils.progbar", "lamina.utils.file_utils", "lamina.utils.plot_model",
])
def test_utils_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
