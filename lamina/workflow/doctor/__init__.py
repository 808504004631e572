"""`doctor`: quick sanity checks of a compiled model and its data, before long training.

Karpathy's "recipe for training neural networks" as code. Each check gets a
status (``pass``, ``warn``, ``fail``, or ``skip`` when an earlier failure makes it
meaningless) and the numbers behind it:

* ``finite_data``: no NaN or inf in ``x`` or ``y`` (`data_checks`);
* ``label_encoding``: labels match the loss (integer labels for sparse
  crossentropy, one-hot for categorical, values in [0, 1] for binary) and do not
  look off by one (`output_checks`);
* ``output_activation``: outputs are probabilities exactly when the loss expects
  them (``from_logits=False``) (`output_checks`);
* ``class_balance``: the majority share and the smallest class (`output_checks`);
* ``init_loss``: the loss at initialisation is close to its expected value
  (``log(classes)``, ``log 2``, or the loss of predicting the mean of ``y``)
  (`init_checks`);
* ``finite_forward_backward``: no NaN or inf in outputs, loss or gradients
  (`gradient_checks`);
* ``gradient_norms``: no vanishing (< 1e-7) or exploding (> 1e3) layer gradients
  (`gradient_checks`);
* ``dead_relu``: at most half of a ReLU layer's units never fire on a batch
  (`gradient_checks`);
* ``zero_input_baseline``: trained briefly, the model does clearly better on the
  real inputs than on inputs set to zero (so it uses its inputs) (`training_checks`);
* ``overfit_batch``: the model can fit a batch of 32 samples to near-zero loss
  (`training_checks`).

The caller's model is never modified: every check works on copies made with
`lamina.models.clone_model(model, compile=True)` holding the model's weights
(`copies`). `arrays` holds the data helpers `lr_find` shares.
"""

from lamina.workflow.doctor.api import doctor
from lamina.workflow.doctor.arrays import as_numpy, as_tensor
from lamina.workflow.doctor.report import Check, DoctorReport

# The names `lamina.workflow.lr_find` imported before the split, kept for other importers.
_numpy = as_numpy
_tensor = as_tensor

__all__ = ["Check", "DoctorReport", "doctor"]
