"""`Callback`, the base class with Keras's hooks, and `CallbackList`, which calls them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class for objects that watch (and may stop) `fit`, `evaluate` and `predict`.

    Override any of the hooks below. `self.model` is the model being trained;
    setting `self.model.stop_training = True` ends `fit` after the current batch.
    `logs` at the end of an epoch are plain floats (`loss`, metrics, `val_*`).
    Batch-level `logs` are computed on demand: reading them waits for the device,
    so a callback that does not read them costs nothing.
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # As in Keras: the training-batch hooks default to the generic batch hooks.
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs: dict | None = None) -> None: ...
    def on_test_end(self, logs: dict | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_begin(self, logs: dict | None = None) -> None: ...
    def on_predict_end(self, logs: dict | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


# A training-batch hook also fires when only the generic one (Keras's
# `on_batch_begin` / `on_batch_end`) is overridden.
_GENERIC = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(cb: Callback, hook: str) -> bool:
    if getattr(cb, "skip_batch_hooks", False):
        return False
    names = (hook, _GENERIC[hook]) if hook in _GENERIC else (hook,)
    for name in names:
        if name in vars(cb):  # a function set on the instance (LambdaCallback)
            return True
        if getattr(type(cb), name, None) is not getattr(Callback, name):
            return True
    return False


class CallbackList:
    """Calls a hook on every callback. Batch hooks are dispatched only to the
    callbacks that override them, so an empty hook costs nothing per step."""

    def __init__(self, callbacks: Iterable[Callback] | None, model: Any, params: dict[str, Any]) -> None:
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "Every element of `callbacks` must be a `lamina.callbacks.Callback`. "
                    f"Received: {cb!r} of type {type(cb).__name__}."
                )
            cb.set_model(model)
            cb.set_params(params)
        self._batch = {h: [cb for cb in self.callbacks if _overrides(cb, h)] for h in _BATCH_HOOKS}
        # True when at least one callback listens to a batch hook of that phase.
        self.train_batch_hooks = bool(self._batch["on_train_batch_begin"] or self._batch["on_train_batch_end"])
        self.test_batch_hooks = bool(self._batch["on_test_batch_begin"] or self._batch["on_test_batch_end"])
        self.predict_batch_hooks = bool(
            self._batch["on_predict_batch_begin"] or self._batch["on_predict_batch_end"]
        )

    def _call(self, hook: str, *args: Any) -> None:
        # Every hook receives a dict (an empty one when there is nothing to log), as in Keras.
        *head, logs = args
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            getattr(cb, hook)(*head, logs)

    def _call_batch(self, hook: str, batch: int, logs: Any) -> None:
        logs = {} if logs is None else logs
        for cb in self._batch[hook]:
            getattr(cb, hook)(batch, logs)

    def on_train_begin(self, logs: Any = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: Any = None) -> None:
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs: Any = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: Any = None) -> None:
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs: Any = None) -> None:
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs: Any = None) -> None:
        self._call("on_predict_end", logs)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        self._call_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        self._call_batch("on_predict_batch_end", batch, logs)


class LambdaCallback(Callback):
    """A callback made of plain functions, for quick one-off hooks.

    Args:
        on_epoch_begin, on_epoch_end: `f(epoch, logs)`.
        on_train_batch_begin, on_train_batch_end: `f(batch, logs)`.
        on_train_begin, on_train_end: `f(logs)`.
        **kwargs: Any other hook by its name (`on_batch_end=f`, `on_test_begin=f`, ...).
    """

    def __init__(
        self,
        on_epoch_begin: Callable | None = None,
        on_epoch_end: Callable | None = None,
        on_train_batch_begin: Callable | None = None,
        on_train_batch_end: Callable | None = None,
        on_train_begin: Callable | None = None,
        on_train_end: Callable | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        from lamina.utils.validation import no_unknown_kwargs

        hooks = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("on_") and callable(getattr(Callback, k, None))}
        no_unknown_kwargs("LambdaCallback", kwargs)
        given = {**hooks,
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
        }
        for hook, fn in given.items():
            if fn is not None:
                setattr(self, hook, fn)
