"""Metrics that accumulate over an epoch, on the device, without host syncs.

A metric keeps its state in torch tensors (on the device of the first batch it
sees). ``update_state`` adds a batch to the state under ``torch.no_grad`` and
never reads a value on the host; ``result`` returns a tensor computed from the
whole state (accuracy is total correct / total count over all batches, not a
mean of per-batch values); ``reset_state`` starts a new epoch.

One module per family: :mod:`~lamina.metrics.base` (:class:`Metric`),
:mod:`~lamina.metrics.reduction` (:class:`Mean`, :class:`Sum`,
:class:`MeanMetricWrapper`), :mod:`~lamina.metrics.accuracy_metrics`,
:mod:`~lamina.metrics.confusion`, :mod:`~lamina.metrics.f_score`,
:mod:`~lamina.metrics.curves` (AUC and operating points),
:mod:`~lamina.metrics.iou`, :mod:`~lamina.metrics.probabilistic`,
:mod:`~lamina.metrics.regression`, :mod:`~lamina.metrics.correlation`, and
:mod:`~lamina.metrics.lookup` (:func:`get`, :func:`serialize`, :func:`deserialize`).

Example:

>>> import torch
>>> from lamina import metrics
>>> m = metrics.BinaryAccuracy()
>>> m.update_state(torch.tensor([1, 0]), torch.tensor([0.9, 0.8]))
>>> m.update_state(torch.tensor([1, 1]), torch.tensor([0.7, 0.6]))
>>> m.result()
tensor(0.7500)
"""

# ruff: noqa: F401 - this module re-exports the names of its submodules, and the private
# helpers custom metrics import from `lamina.metrics` (`_broadcast_weights`, ...).

# The loss functions Keras also lists as metrics.
from lamina.losses import (
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
)
from lamina.metrics.accuracy_metrics import (
    Accuracy,
    AutoAccuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lamina.metrics.base import Metric
from lamina.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
    _check_thresholds,
)
from lamina.metrics.correlation import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from lamina.metrics.curves import (
    AUC,
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)
from lamina.metrics.f_score import F1Score, FBetaScore
from lamina.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from lamina.metrics.lookup import deserialize, get, serialize
from lamina.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from lamina.metrics.reduction import Mean, MeanMetricWrapper, Sum
from lamina.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)
from lamina.metrics.utils import (
    _broadcast_weights,
    _divide_no_nan,
)
