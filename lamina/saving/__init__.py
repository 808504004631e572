"""Saving and loading models, safely: JSON plus safetensors, never pickle.

* `model.save("m.lamina")` / `lamina.saving.load_model("m.lamina")`: the whole
  model (architecture, weights, compile configuration, optimizer state) in one
  file;
* `model.save_weights("m.weights.safetensors")` / `model.load_weights(...)`:
  the weights only;
* `@lamina.saving.register_keras_serializable(package, name)` (or
  `@lamina.register`): makes a custom layer, model, loss, metric or function
  loadable. Loading only instantiates Lamina's built-in classes and registered
  ones, and never imports a module named in a file;
* `serialize_keras_object` / `deserialize_keras_object`: any object to and
  from its Keras config dict, through the one registry (`registry`).
"""

from lamina.saving.errors import InvalidFileError
from lamina.saving.export import export_model
from lamina.saving.model_io import load_model, save_model
from lamina.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from lamina.saving.registry import (
    get_class,
    register,
    registered_objects,
    unregister,
)
from lamina.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)
from lamina.saving.weights import WeightsReport, load_weights, save_weights

__all__ = [
    "CustomObjectScope",
    "InvalidFileError",
    "WeightsReport",
    "custom_object_scope",
    "deserialize_keras_object",
    "export_model",
    "get_class",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "register",
    "register_keras_serializable",
    "registered_objects",
    "save_model",
    "save_weights",
    "serialize_keras_object",
    "unregister",
]
