"""What `fit` and `evaluate` remember for the model's reference profile.

`Trainer.fit` calls `remember_training_data` once the training data is adapted
and `remember_fit_logs` when training ends; `Trainer.evaluate` calls
`remember_evaluation`. Each must be cheap: the profile itself is computed
lazily (at save time or when asked for), never inside the training loop.
"""

from __future__ import annotations

from typing import Any


def remember_training_data(model: Any, adapter: Any) -> None:
    """Keeps a bounded sample of the training inputs held by `adapter`."""


def remember_fit_logs(model: Any, logs: dict[str, Any]) -> None:
    """Keeps the last epoch's logs (held-out `val_*` scores)."""


def remember_evaluation(model: Any, logs: dict[str, Any]) -> None:
    """Keeps the scores of the latest `evaluate` call."""


def reference_profile(model: Any) -> Any:
    """The model's `ReferenceProfile` (computed on first use), or None."""
    return None
