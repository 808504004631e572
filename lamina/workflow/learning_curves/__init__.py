"""Learning curves: would more data help? Several seeds per size, intervals, and a
reading drawn from the slope of the dev error and its uncertainty.

* `learning_curve` (run.py) trains fresh models on nested, stratified subsets,
  several seeds per size, and measures their errors through `Predictions`;
* `LearningCurve` (curve.py) holds every seed's errors, their means, standard
  deviations and intervals, and plots them with bands;
* `LearningCurveReading` (reading.py) is the verdict, read from the slope's
  interval (intervals.py) so that it never contradicts the numbers it prints;
* `nested_order` (subsets.py) is the stratified order whose prefixes nest.
"""

from lamina.workflow.learning_curves.curve import LearningCurve
from lamina.workflow.learning_curves.reading import VERDICTS, LearningCurveReading
from lamina.workflow.learning_curves.run import learning_curve
from lamina.workflow.learning_curves.subsets import nested_order

__all__ = ["LearningCurve", "LearningCurveReading", "VERDICTS", "learning_curve", "nested_order"]
