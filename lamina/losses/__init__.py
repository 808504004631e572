"""Loss functions and loss classes, Keras-style, computed with PyTorch kernels.

Every loss function takes ``(y_true, y_pred)`` and reduces the last axis only,
as Keras's functions do: ``(batch, d)`` inputs give ``(batch,)``, images
``(batch, h, w, c)`` give ``(batch, h, w)``. Loss classes wrap these functions,
average the rest per sample and reduce the per-sample values to one scalar,
applying optional sample weights.

Nothing in the per-step path reads a tensor value on the host (no ``.item()``,
no Python branching on values), so a training step never waits for the device.
Only :func:`check_sparse_labels`, meant to run once before training, does.

One module per family: :mod:`~lamina.losses.base` (:class:`Loss`,
:class:`LossFunctionWrapper`, reductions), :mod:`~lamina.losses.crossentropy`,
:mod:`~lamina.losses.sparse_crossentropy`, :mod:`~lamina.losses.focal`,
:mod:`~lamina.losses.margin`, :mod:`~lamina.losses.regression`,
:mod:`~lamina.losses.segmentation`, :mod:`~lamina.losses.sequence`, and
:mod:`~lamina.losses.lookup` (:func:`get`, :func:`serialize`, :func:`deserialize`).

Example:

>>> import torch
>>> from lamina import losses
>>> loss = losses.get("mse")
>>> loss(torch.zeros(4, 1), torch.ones(4, 1))
tensor(1.)
"""

# ruff: noqa: F401 - this module re-exports the names of its submodules, and the private
# helpers other modules import from `lamina.losses` (`_align_shapes`, `_per_sample`, ...).

from lamina.losses.base import (
    REDUCTIONS,
    Loss,
    LossFn,
    LossFunctionWrapper,
    _snake_case,
)
from lamina.losses.crossentropy import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
)
from lamina.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from lamina.losses.lookup import _FUNCTION_KINDS, deserialize, get, serialize
from lamina.losses.margin import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from lamina.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
)
from lamina.losses.segmentation import Dice, Tversky, dice, tversky
from lamina.losses.sequence import CTC, ctc
from lamina.losses.sparse_crossentropy import (
    SparseCategoricalCrossentropy,
    check_sparse_labels,
    sparse_categorical_crossentropy,
)
from lamina.losses.utils import (
    EPSILON,
    _align_shapes,
    _last_axis_mean,
    _per_sample,
    _prepare,
    _shape_error,
)
