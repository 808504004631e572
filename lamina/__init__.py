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
    backend,
    callbacks,
    config,
    constraints,
    data,
    distributed,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
    workflow,
)

# Keras 3's top-level class names, so `keras.Layer`, `keras.Loss`, ... port unchanged.
from lamina.initializers import Initializer  # noqa: E402
from lamina.layers import (
    Input,  # noqa: E402
    Layer,  # noqa: E402
)
from lamina.layers.layer import clear_session  # noqa: E402
from lamina.layers.symbolic import SymbolicTensor as KerasTensor  # noqa: E402
from lamina.losses import Loss  # noqa: E402
from lamina.metrics import Metric  # noqa: E402
from lamina.models import Model, Sequential  # noqa: E402
from lamina.optimizers import Optimizer  # noqa: E402
from lamina.regularizers import Regularizer  # noqa: E402
from lamina.runtime import get_device, set_device, set_seed  # noqa: E402
from lamina.saving import load_model, register  # noqa: E402
from lamina.variables import Variable  # noqa: E402


def version() -> str:
    """Lamina's version string (Keras's `keras.version()`)."""
    return __version__

__all__ = [
    "Initializer",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Optimizer",
    "Regularizer",
    "backend",
    "config",
    "models",
    "utils",
    "version",
    "Input",
    "Model",
    "Sequential",
    "Variable",
    "activations",
    "applications",
    "callbacks",
    "clear_session",
    "constraints",
    "data",
    "distributed",
    "dtype_policies",
    "get_device",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "mixed_precision",
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
