"""Baselines to beat: common-sense predictors and classical scikit-learn models.

A network's score means little on its own. `run_baselines` scores, on the same
split and with the same metric, the common-sense baseline (the majority class,
the training mean, or the last value of a series) and a few classical models
(logistic / ridge regression, random forest, gradient boosting, an RBF SVM),
each with the interval of its score. Add the network with
`table.add_model(name, model)` (or its predictions on the evaluation set) and
`table.compare(name)` tests it against the best baseline on the same examples:
McNemar's exact test for classifiers, a paired bootstrap for regression.
`table.verdict(name)` says it in words.

Modules: `run` (`run_baselines`, `last_value_baseline`), `models` (the
predictors), `table` (`BaselineTable`, `BaselineRow`), `comparison`
(`BaselineComparison`), `scoring` and `verdict`.

Example:
    >>> import numpy as np
    >>> from lamina.data import load_breast_cancer, split
    >>> from lamina.workflow.baselines import run_baselines
    >>> x, y = load_breast_cancer()
    >>> s = split(x, y, dev=0.4, test=0.1, seed=0)
    >>> table = run_baselines(s, include=["majority_class", "logistic_regression"])
    >>> x_dev, y_dev = s.dev
    >>> comparison = table.add_model("rule", np.zeros(len(y_dev), dtype=int)).compare("rule")
    >>> comparison.baseline, comparison.outcome
    ('logistic_regression', 'worse')
"""

from lamina.workflow.baselines.comparison import BaselineComparison
from lamina.workflow.baselines.models import SVM_MAX_SIZE
from lamina.workflow.baselines.run import last_value_baseline, run_baselines
from lamina.workflow.baselines.table import BaselineRow, BaselineTable

__all__ = [
    "SVM_MAX_SIZE",
    "BaselineComparison",
    "BaselineRow",
    "BaselineTable",
    "last_value_baseline",
    "run_baselines",
]
