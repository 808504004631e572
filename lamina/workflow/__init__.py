"""The practitioner's workflow on top of the model API: baselines to beat (and,
later, diagnosis, sanity checks, error analysis, tuning and reports).

Example:
    >>> from lamina import data, workflow
    >>> x, y = data.load_wine()
    >>> table = workflow.run_baselines(data.split(x, y), include=["majority_class"])
    >>> table.best_baseline()[0]
    'majority_class'
"""

from lamina.data.tasks import infer_task
from lamina.workflow import uncertainty
from lamina.workflow.baselines import (
    BaselineComparison,
    BaselineRow,
    BaselineTable,
    last_value_baseline,
    run_baselines,
)
from lamina.workflow.diagnose import Diagnosis, diagnose
from lamina.workflow.doctor import DoctorReport, doctor
from lamina.workflow.error_analysis import (
    ClassificationReport,
    ConfusionMatrix,
    ErrorAnalysis,
    GroupMetrics,
    Mistake,
    WorstMistakes,
    analyze_errors,
    classification_report,
    confusion_matrix,
    per_group_metrics,
    worst_mistakes,
)
from lamina.workflow.learning_curves import LearningCurve, LearningCurveReading, learning_curve
from lamina.workflow.lr_find import LRFinderResult, lr_find
from lamina.workflow.predictions import Predictions
from lamina.workflow.report import ReportFiles, report
from lamina.workflow.uncertainty import Interval

__all__ = [
    "BaselineComparison",
    "BaselineRow",
    "BaselineTable",
    "ClassificationReport",
    "ConfusionMatrix",
    "Diagnosis",
    "DoctorReport",
    "ErrorAnalysis",
    "GroupMetrics",
    "Interval",
    "LRFinderResult",
    "LearningCurve",
    "LearningCurveReading",
    "Mistake",
    "Predictions",
    "ReportFiles",
    "WorstMistakes",
    "analyze_errors",
    "classification_report",
    "confusion_matrix",
    "diagnose",
    "doctor",
    "last_value_baseline",
    "infer_task",
    "learning_curve",
    "lr_find",
    "per_group_metrics",
    "report",
    "run_baselines",
    "uncertainty",
    "worst_mistakes",
]
