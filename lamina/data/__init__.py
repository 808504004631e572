"""Data for honest evaluation: bundled real datasets, file loaders, train / dev /
test splits, scalers fitted on training data only, leakage checks and
cross-validation.

Example:
    >>> from lamina import data
    >>> x, y = data.load_iris()
    >>> splits = data.split(x, y, dev=0.2, test=0.2)
    >>> splits.sizes
    {'train': 90, 'dev': 30, 'test': 30}
    >>> report = data.check_leakage(splits)  # iris holds a few identical flowers
    >>> report.pairs["train", "test"].count
    1
"""

from lamina.data.cross_validation import CVResult, cross_validate
from lamina.data.datasets import (
    load_breast_cancer,
    load_csv,
    load_diabetes,
    load_digits,
    load_image_folder,
    load_iris,
    load_wine,
)
from lamina.data.leakage import LeakageReport, PairLeakage, check_leakage, find_duplicates
from lamina.data.reviews import load_drug_reviews
from lamina.data.scaling import MinMaxScaler, StandardScaler, fit_scaler_on_train
from lamina.data.splits import Splits, split
from lamina.data.tasks import infer_task

__all__ = [
    "CVResult",
    "LeakageReport",
    "MinMaxScaler",
    "PairLeakage",
    "Splits",
    "StandardScaler",
    "check_leakage",
    "cross_validate",
    "find_duplicates",
    "fit_scaler_on_train",
    "infer_task",
    "load_breast_cancer",
    "load_csv",
    "load_diabetes",
    "load_digits",
    "load_drug_reviews",
    "load_image_folder",
    "load_iris",
    "load_wine",
    "split",
]
