"""`History`: records the epoch logs of `fit`; returned by `fit` as in Keras."""

from __future__ import annotations

from typing import Any

from lamina.training.callbacks.base import Callback


class History(Callback):
    """Collects `history.history[name] = [value per epoch]` and `history.epoch`."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        # Continuing training (initial_epoch > 0) appends to the same record.
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}
