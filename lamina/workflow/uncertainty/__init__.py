"""How sure a workflow number is: intervals, paired comparisons and sample sizes.

The building blocks the workflow uses to put an interval on every number it
reports and to draw verdicts only from differences that sampling noise cannot
explain (issue #14):

* `wilson_interval`: a classification error rate (or any proportion), with the
  Wilson score interval, which keeps its coverage for small sets and rates near
  0 or 1 where the textbook normal interval does not;
* `bootstrap_interval`: any other statistic (a regression metric), with a
  seeded percentile bootstrap;
* `difference_interval`: the difference of two error rates measured on two
  independent sets (Newcombe's hybrid score interval), the gap of a diagnosis;
* `mcnemar_test` and `paired_bootstrap_difference`: two models compared on the
  same examples;
* `corrected_resampled_t_interval` / `corrected_paired_t_test`: K-fold scores,
  whose training sets overlap (Nadeau and Bengio's correction);
* `samples_needed`: how many examples each set needs to tell two error rates
  apart (80 % power by default).

Every function returns an `Interval` (or a result holding one) that prints as
``0.125 (95% CI 0.091 to 0.168, n=200)`` and says whether it `excludes` a value.

Example:
    >>> from lamina.workflow import uncertainty
    >>> print(uncertainty.wilson_interval(errors=3, n=30))
    0.1 (95% CI 0.0346 to 0.256, n=30)
    >>> uncertainty.samples_needed(0.10, 0.20)
    199
"""

from lamina.workflow.uncertainty.bootstrap import (
    bootstrap_interval,
    bootstrap_mean_difference,
    bootstrap_mean_interval,
    paired_bootstrap_difference,
)
from lamina.workflow.uncertainty.interval import Interval
from lamina.workflow.uncertainty.kfold import (
    PairedTTestResult,
    corrected_paired_t_test,
    corrected_resampled_t_interval,
)
from lamina.workflow.uncertainty.paired import McNemarResult, mcnemar_test
from lamina.workflow.uncertainty.proportions import (
    difference_interval,
    samples_needed,
    wilson_interval,
)

__all__ = [
    "Interval",
    "McNemarResult",
    "PairedTTestResult",
    "bootstrap_interval",
    "bootstrap_mean_difference",
    "bootstrap_mean_interval",
    "corrected_paired_t_test",
    "corrected_resampled_t_interval",
    "difference_interval",
    "mcnemar_test",
    "paired_bootstrap_difference",
    "samples_needed",
    "wilson_interval",
]
