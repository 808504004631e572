"""Test-session settings.

The models in the tests are tiny: one intra-op thread is as fast as two for
them, and it keeps the suite steady when the CI machine's two cores are shared.
"""

import torch

torch.set_num_threads(1)
