"""K-fold and iterated K-fold cross-validation for any compiled Lamina model.

With little data, one dev set gives a noisy score. K-fold validation trains K
fresh models, each holding out a different fold, and reports the mean and the
spread of their scores; iterated K-fold repeats this with a new shuffle each
time (the protocol of Chollet's *Deep Learning with Python*, chapter 5). The
folds' training sets overlap, so `CVResult.interval` and `CVResult.compare`
use Nadeau and Bengio's corrected resampled t interval and paired t-test.

Modules: `run` (`cross_validate`) and `result` (`CVResult`).

Example:
    >>> import numpy as np
    >>> from lamina.data.cross_validation import CVResult
    >>> folds = [(np.arange(8, 40), np.arange(0, 8))] * 5  # 32 train / 8 held out
    >>> result = CVResult([{"accuracy": a} for a in (0.8, 0.9, 0.85, 0.75, 0.95)], folds, 5, 1)
    >>> print(result.interval("accuracy"))
    0.85 (95% CI 0.703 to 0.997, n=5)
"""

from lamina.data.cross_validation.result import CVResult
from lamina.data.cross_validation.run import cross_validate

__all__ = ["CVResult", "cross_validate"]
