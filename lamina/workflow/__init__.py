"""The practitioner's workflow on top of the model API: baselines to beat (and,
later, diagnosis, sanity checks, error analysis, tuning and reports).

Example:
    >>> from lamina import data, workflow
    >>> x, y = data.load_wine()
    >>> table = workflow.run_baselines(data.split(x, y), include=["majority_class"])
    >>> table.best_baseline()[0]
    'majority_class'
"""

from lamina.workflow.baselines import BaselineRow, BaselineTable, last_value_baseline, run_baselines
from lamina.workflow.diagnose import Diagnosis, diagnose
from lamina.workflow.doctor import DoctorReport, doctor
from lamina.workflow.lr_find import LRFinderResult, lr_find

__all__ = [
    "BaselineRow",
    "BaselineTable",
    "Diagnosis",
    "DoctorReport",
    "LRFinderResult",
    "diagnose",
    "doctor",
    "last_value_baseline",
    "lr_find",
    "run_baselines",
]
