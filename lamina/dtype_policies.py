"""Keras 3's `keras.dtype_policies` namespace: the classes of `lamina.mixed_precision`.

Example:

>>> import lamina
>>> lamina.dtype_policies.DTypePolicy("mixed_float16").compute_dtype
'float16'
"""

from lamina.mixed_precision import DTypePolicy, FloatDTypePolicy, get

__all__ = ["DTypePolicy", "FloatDTypePolicy", "get"]
