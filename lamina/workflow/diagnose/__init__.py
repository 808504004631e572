"""`diagnose`: what is wrong with a trained model, how sure that is, and what to try next.

The error decomposition of Andrew Ng's *Machine Learning Yearning*: compare the
error on each data split and name the largest gap.

==================  ====================================  ===========================
gap                 computed as                           means
==================  ====================================  ===========================
avoidable bias      train − human-level (or baseline)     the model underfits
variance            train-dev − train (or dev − train)    it does not generalise
data mismatch       dev − train-dev                       dev data differs from train
dev overfitting     test − dev                            tuning overfit the dev set
==================  ====================================  ===========================

Every error carries a 95 % interval (Wilson for error rates, a seeded bootstrap
for the MAE / RMSE) and every gap the interval of a difference of errors on two
independent sets. A gap is *established* when its interval lies above the
tolerance, and the primary problem is the largest established gap. When the
sets are too small to say, the verdict is ``"inconclusive"`` and says how many
examples each set needs.

A model that does not beat the common-sense baseline (majority class, mean
prediction) is flagged first: then something is broken, and the gaps say little.

The package: `api` (`diagnose`), `result` (`Diagnosis`), `gaps` (the gap
arithmetic and intervals), `verdict` (the primary problem in words), `evidence`
(one set's errors and the bootstrap), `sizes` (examples needed at 80 % power),
`errors` (`classification_error`, `regression_error`), `wording` (problems,
remedies, number formats).

Example:
    >>> from lamina.workflow import Diagnosis
    >>> d = Diagnosis.from_errors(train=0.08, dev=0.10, human=0.01)
    >>> d.primary
    'avoidable_bias'
    >>> d = Diagnosis.from_errors(train=0.0, train_dev=0.0, dev=0.07, sizes={"train": 400, "train_dev": 30, "dev": 400})
    >>> d.primary, d.samples_needed["per_set"]
    ('inconclusive', 108)
"""

from __future__ import annotations

from typing import Any

from lamina.data.tasks import infer_task
from lamina.workflow.diagnose.api import diagnose
from lamina.workflow.diagnose.errors import classification_error, regression_error
from lamina.workflow.diagnose.result import Diagnosis
from lamina.workflow.diagnose.sizes import pooled_sd, samples_needed_contrast, samples_needed_means
from lamina.workflow.diagnose.wording import METRICS, PROBLEMS, REMEDIES, TASKS
from lamina.workflow.predictions import loss_of

__all__ = [
    "Diagnosis",
    "diagnose",
    "classification_error",
    "regression_error",
    "samples_needed_means",
    "samples_needed_contrast",
    "pooled_sd",
    "PROBLEMS",
    "REMEDIES",
    "TASKS",
    "METRICS",
]

#: The model's compiled loss (kept for `lamina.workflow.error_analysis` and
#: `lamina.workflow.learning_curves`; use `lamina.workflow.predictions.loss_of`).
_loss_of = loss_of


def _infer_task(loss: Any, y: Any, y_pred: Any) -> str:
    """The task by `lamina.data.infer_task` (old argument order, kept for the modules
    that still import it)."""
    return infer_task(y, y_pred, loss)
