"""How many examples a set needs before a gap of a given size stands out from noise.

Error rates use `lamina.workflow.uncertainty.samples_needed` (two independent
proportions). Mean errors (MAE, the MSE behind an RMSE) and any other linear
combination of set means use the normal approximation

.. math::

    n = (z_{1-\\alpha/2} + z_{\\text{power}})^2 \\, \\sum_i c_i^2 \\sigma_i^2 / \\delta^2

examples in each set, where :math:`\\delta = \\sum_i c_i \\mu_i` is the difference
to detect and :math:`\\sigma_i` the standard deviation of one example's error in
set :math:`i`. For two sets (:math:`c = (1, -1)`) and a pooled deviation
:math:`s`, this is :math:`n = 2 (z_{0.975} + z_{0.8})^2 s^2 / \\delta^2`.

Example:
    >>> from lamina.workflow.diagnose.sizes import samples_needed_means
    >>> samples_needed_means(delta=0.5, sd=2.0)
    252
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

__all__ = ["pooled_sd", "samples_needed_contrast", "samples_needed_means"]


def _check(owner: str, power: float, alpha: float, delta: float) -> None:
    for name, value in (("power", power), ("alpha", alpha)):
        if not 0.0 < float(value) < 1.0:
            raise ValueError(f"`{owner}` expects `{name}` in (0, 1). Received: {name}={value!r}.")
    if not math.isfinite(delta) or delta == 0.0:
        raise ValueError(
            f"`{owner}` needs a finite, non-zero difference to detect: no sample size tells equal "
            f"values apart. Received: delta={delta!r}."
        )


def samples_needed_contrast(
    coefficients: Sequence[float],
    variances: Sequence[float],
    delta: float,
    power: float = 0.8,
    alpha: float = 0.05,
) -> int:
    """Examples needed in EACH set to detect ``sum(c_i * mean_i) = delta`` with a
    two-sided test at level ``alpha`` and the given ``power`` (normal approximation,
    independent sets of equal size).

    Args:
        coefficients: The weight of each set's mean (``(1, -1)`` for a difference).
        variances: The variance of one example's value in each set.
        delta: The value of the combination to detect (non-zero).
        power: Probability of detecting it. Defaults to 0.8.
        alpha: Significance level. Defaults to 0.05.

    Returns:
        The number of examples per set, rounded up (at least 2).
    """
    owner = "samples_needed_contrast"
    _check(owner, power, alpha, delta)
    if len(coefficients) != len(variances):
        raise ValueError(
            f"`{owner}` expects one variance per coefficient. Received {len(coefficients)} "
            f"coefficients and {len(variances)} variances."
        )
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    spread = sum(c * c * max(float(v), 0.0) for c, v in zip(coefficients, variances))
    return max(2, int(math.ceil(z * z * spread / (delta * delta) - 1e-9)))


def samples_needed_means(delta: float, sd: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """Examples needed in EACH of two independent sets to detect a difference
    ``delta`` between their mean errors: ``n = 2 (z_{1-α/2} + z_power)^2 sd^2 / delta^2``.

    Args:
        delta: The difference of the means to detect (non-zero).
        sd: The pooled standard deviation of one example's error.
        power: Probability of detecting it. Defaults to 0.8.
        alpha: Significance level. Defaults to 0.05.

    Returns:
        The number of examples per set, rounded up (at least 2).
    """
    return samples_needed_contrast((1.0, -1.0), (sd * sd, sd * sd), delta, power, alpha)


def pooled_sd(a: Any, b: Any) -> float:
    """The pooled standard deviation of two samples:
    ``sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2))``."""
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    dof = len(a) + len(b) - 2
    if dof <= 0:
        return 0.0
    ss = float(((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum())
    return math.sqrt(ss / dof)
