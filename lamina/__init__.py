"""Lamina: the Keras way of building and training networks, on the PyTorch engine,
plus the practitioner's workflow (baselines, diagnosis, sanity checks, reports).

Example:
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(3)])
"""

__version__ = "0.1.0"

from lamina import (  # noqa: E402
    activations,
    applications,
    callbacks,
    data,
    initializers,
    layers,
    losses,
    metrics,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    workflow,
)
from lamina.layers import Input  # noqa: E402
from lamina.layers.layer import clear_session  # noqa: E402
from lamina.models import Model, Sequential  # noqa: E402
from lamina.runtime import get_device, set_device, set_seed  # noqa: E402
from lamina.saving import load_model, register  # noqa: E402

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "applications",
    "callbacks",
    "clear_session",
    "data",
    "get_device",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "ops",
    "optimizers",
    "random",
    "register",
    "regularizers",
    "saving",
    "set_device",
    "set_seed",
    "workflow",
]
