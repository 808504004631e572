"""Callbacks observe the training loop through Keras's hooks and may stop it."""

from lamina.training.callbacks.base import Callback, CallbackList, LambdaCallback
from lamina.training.callbacks.history import History
from lamina.training.callbacks.progress import ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "LambdaCallback", "ProgbarLogger"]
