"""Reference profiles of the training data, drift monitoring and live feedback.

* `ReferenceProfile`: what the training inputs and predictions looked like
  (`model.reference_profile` after `fit`; saved in the `.lamina` file);
  `set_reference_data(model, x)` profiles ``x`` instead of the data `fit` saw.
* `DriftMonitor`: a sliding window of live traffic tested against the profile
  (PSI, KS / chi-squared, Benjamini–Hochberg).
* `FeedbackTracker`: live accuracy / error from labels that arrive later.
"""

from lamina.monitoring.drift import DriftMonitor
from lamina.monitoring.feature_profile import FeatureProfile
from lamina.monitoring.feedback import FeedbackTracker, UnknownRequestError
from lamina.monitoring.recording import set_reference_data
from lamina.monitoring.reference import ReferenceProfile

__all__ = ["DriftMonitor", "FeatureProfile", "FeedbackTracker", "ReferenceProfile", "UnknownRequestError", "set_reference_data"]
