"""Models: `Model` (training API and subclassing), `Sequential`, the functional graph."""

from lamina.models.model import Model
from lamina.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
