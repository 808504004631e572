"""Callbacks: objects that watch `fit`, `evaluate` and `predict` through Keras's hooks.

The public namespace ``lamina.callbacks``; the classes live in
``lamina.training.callbacks``. Pass instances to ``fit(callbacks=[...])``.

Example:
    >>> import lamina
    >>> cbs = [
    ...     lamina.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
    ...     lamina.callbacks.CSVLogger("log.csv"),
    ... ]
"""

from lamina.training.callbacks import (
    BackupAndRestore,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgbarLogger,
    ReduceLROnPlateau,
    TensorBoard,
    TerminateOnNaN,
)

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
