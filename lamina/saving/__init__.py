"""Saving and loading models, safely: JSON plus safetensors, never pickle.

* `model.save("m.lamina")` / `lamina.load_model("m.lamina")`: the whole model
  (architecture, weights, compile configuration, optimizer state) in one file;
* `model.save_weights("m.weights.safetensors")` / `model.load_weights(...)`:
  the weights only;
* `@lamina.register`: makes a custom layer, model, loss, metric or function
  loadable. Loading only instantiates Lamina's built-in classes and registered
  ones, and never imports a module named in a file.
"""

from lamina.saving.model_io import load_model, save_model
from lamina.saving.registry import (
    custom_object_scope,
    get_class,
    get_registered_name,
    register,
    registered_objects,
    unregister,
)
from lamina.saving.weights import WeightsReport, load_weights, save_weights

__all__ = [
    "WeightsReport",
    "custom_object_scope",
    "get_class",
    "get_registered_name",
    "load_model",
    "load_weights",
    "register",
    "registered_objects",
    "save_model",
    "save_weights",
    "unregister",
]
