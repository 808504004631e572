"""`TerminateOnNaN`: stop training as soon as the loss becomes NaN or infinite."""

from __future__ import annotations

import math

from lamina.training.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stops `fit` at the end of the batch where the loss became NaN or infinite.

    It reads ``logs["loss"]`` at every batch end: the mean loss of the epoch
    so far, which is NaN or infinite from the first bad batch on. Cost: reading
    batch logs makes the host wait for the device, so with this callback every
    step has one host sync (on a GPU that costs some throughput; without the
    callback `fit` never waits per step). The epoch still ends with validation
    and the epoch-end callbacks, then `fit` returns.

    Attributes:
        stopped_batch: The 0-based batch where training stopped, or None.

    Example:
        >>> import lamina
        >>> # model.fit(x, y, epochs=10, callbacks=[lamina.callbacks.TerminateOnNaN()])
    """

    def __init__(self) -> None:
        super().__init__()
        self.stopped_batch: int | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.stopped_batch = None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.stopped_batch = batch
            self.model.stop_training = True
