"""`Predictions`: a model's outputs on one set, with the targets, the task and
the error of every example.

The workflow computes predictions once and passes this object around:
`diagnose`, `analyze_errors`, `learning_curve`, `cross_validate`, the baselines
and the report all read the task, the per-example errors and the intervals
from it instead of re-running the model and re-deciding the task.

Example:
    >>> import numpy as np
    >>> from lamina.workflow import Predictions
    >>> p = Predictions(np.array([0, 1, 1, 0]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]]))
    >>> p.task, p.n, p.error()
    ('classification', 4, 0.25)
    >>> print(p.error_interval())
    0.25 (95% CI 0.0456 to 0.699, n=4)
"""

from lamina.workflow.predictions.core import METRICS, Predictions, task_of
from lamina.workflow.predictions.decode import loss_of

__all__ = ["METRICS", "Predictions", "loss_of", "task_of"]
