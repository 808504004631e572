"""Models: `Model` (training API and subclassing), `Sequential`, the functional graph,
and Keras's model helpers (`clone_model`, `load_model`, `save_model`, `model_from_json`)."""

from lamina.models.cloning import clone_model, model_from_json
from lamina.models.model import Model
from lamina.models.sequential import Sequential
from lamina.saving.model_io import load_model, save_model

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
