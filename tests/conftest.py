"""Test-session settings.

The models in the tests are tiny: one intra-op thread is as fast as two for
them, and it keeps the suite steady when the CI machine's two cores are shared.
"""

import torch

torch.set_num_threads(1)


import pytest  # noqa: E402

from lamina.layers.call_spec import TRAINING_CONTEXT  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Skips the tests marked `@pytest.mark.cuda` (registered in pyproject.toml) when
    PyTorch sees no CUDA device, so the GPU subset is collected everywhere, runs with
    `pytest -m cuda` on a GPU machine (scripts/gpu_check.sh) and skips cleanly on CPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _training_context_is_restored():
    """Every call that sets Keras's training call context restores it: a test that
    leaves it set would silently switch dropout / batch norm in the tests after it."""
    yield
    leaked, TRAINING_CONTEXT.value = TRAINING_CONTEXT.value, None
    assert leaked is None, f"the layer training context was left at {leaked!r}"
