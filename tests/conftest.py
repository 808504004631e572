"""Test-session settings.

The models in the tests are tiny: one intra-op thread is as fast as two for
them, and it keeps the suite steady when the CI machine's two cores are shared.
"""

import torch

torch.set_num_threads(1)


import pytest  # noqa: E402

from lamina.layers.call_spec import TRAINING_CONTEXT  # noqa: E402


@pytest.fixture(autouse=True)
def _training_context_is_restored():
    """Every call that sets Keras's training call context restores it: a test that
    leaves it set would silently switch dropout / batch norm in the tests after it."""
    yield
    leaked, TRAINING_CONTEXT.value = TRAINING_CONTEXT.value, None
    assert leaked is None, f"the layer training context was left at {leaked!r}"
