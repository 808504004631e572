"""`lamina.backend`: the few `keras.backend` functions Keras 3 scripts still call."""

from __future__ import annotations

from lamina.config import backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx
from lamina.layers.layer import clear_session

__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx"]
