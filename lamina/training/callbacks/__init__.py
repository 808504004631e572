"""Callbacks observe the training loop through Keras's hooks and may stop it."""

from lamina.training.callbacks.backup_and_restore import BackupAndRestore
from lamina.training.callbacks.base import Callback, CallbackList, LambdaCallback
from lamina.training.callbacks.csv_logger import CSVLogger
from lamina.training.callbacks.early_stopping import EarlyStopping
from lamina.training.callbacks.history import History
from lamina.training.callbacks.lr_scheduler import LearningRateScheduler
from lamina.training.callbacks.model_checkpoint import ModelCheckpoint
from lamina.training.callbacks.progress import ProgbarLogger
from lamina.training.callbacks.reduce_lr import ReduceLROnPlateau
from lamina.training.callbacks.tensorboard import TensorBoard
from lamina.training.callbacks.terminate_on_nan import TerminateOnNaN

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
