"""Error analysis: which classes, samples and groups the model gets wrong.

After the diagnosis says *how much* is wrong, error analysis says *what*: the
confusion matrix (which classes are mistaken for which), per-class precision,
recall and F1 (recall and precision with Wilson intervals), the most confident
mistakes (often mislabelled or ambiguous samples: look at them), and the
metrics per group of samples (a device, a region, a demographic), each with
its interval and its gap to the rest; a group is flagged only when its gap is
established.

Every function takes a `Predictions`, a trained model (it calls
`model.predict(x)` once) or the model's outputs (probabilities or logits, or
predicted labels), and ``task=`` (``"auto"``: `lamina.data.infer_task` on the
targets, the outputs and the model's loss). `analyze_errors` does all of it in
one call.

Modules: `confusion` (the confusion matrix), `per_class` (the classification report),
`mistakes` (the worst mistakes), `groups` (metrics per group), `analysis`
(`analyze_errors`), `common` (decoding and classes) and `render` (text).

Example:
    >>> import numpy as np
    >>> from lamina.workflow import confusion_matrix
    >>> cm = confusion_matrix(np.array([0, 1, 1, 2]), None, np.array([0, 1, 2, 2]))
    >>> cm.counts.tolist()
    [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
"""

from lamina.workflow.error_analysis.analysis import ErrorAnalysis, analyze_errors
from lamina.workflow.error_analysis.confusion import ConfusionMatrix, confusion_matrix
from lamina.workflow.error_analysis.groups import GroupMetrics, per_group_metrics
from lamina.workflow.error_analysis.mistakes import Mistake, WorstMistakes, worst_mistakes
from lamina.workflow.error_analysis.per_class import (
    ClassificationReport,
    classification_report,
)

__all__ = [
    "ClassificationReport",
    "ConfusionMatrix",
    "ErrorAnalysis",
    "GroupMetrics",
    "Mistake",
    "WorstMistakes",
    "analyze_errors",
    "classification_report",
    "confusion_matrix",
    "per_group_metrics",
    "worst_mistakes",
]
