"""Copies of the caller's model for `doctor` and `lr_find`, so that theirs stays untouched.

A copy is `lamina.models.clone_model(model)` compiled with `compile_like` (what
`clone_model(model, compile=True)` does: the same loss, metrics and loss weights,
a fresh optimizer of the same configuration) but without `jit_compile`, since a
few dozen steps gain nothing from `torch.compile`'s compilation; the original's
weights are copied in with `set_weights`. So the checks describe the model as it
was given, and training a copy changes neither the caller's weights nor its
optimizer's state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.models.cloning import clone_model, compile_like

__all__ = ["model_copy", "ready_to_train", "trainable_copy"]


def _clone(model: Any, owner: str) -> Any:
    try:
        clone = clone_model(model)
        compile_like(clone, model, jit_compile=False)
        return clone
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"`{owner}` works on a copy of the model, made with "
            "`lamina.models.clone_model(model, compile=True)` and the model's weights, so that "
            f"yours stays untouched; but the model could not be cloned. Received: a "
            f"`{type(model).__name__}`; clone_model said: {e} For a subclassed model, give its "
            "class a `get_config()` that returns its constructor arguments (and, when it "
            "overrides `compile`, `get_compile_config()` / `compile_from_config()`)."
        ) from e


def model_copy(model: Any, x: np.ndarray, owner: str = "doctor") -> Any:
    """A compiled copy of ``model`` holding its weights, built and on the device.

    A model that is not built yet is built on two rows of ``x`` (its copy then
    starts from the clone's fresh weights, as the model itself would).

    Args:
        model: A compiled Lamina model.
        x: Inputs, to build the copy when needed.
        owner: The function named in error messages. Defaults to `"doctor"`.
    """
    copy = _clone(model, owner)
    copy.predict(x[:2], verbose=0)  # builds an unbuilt copy and moves it to the device
    weights = model.get_weights()
    if weights:
        copy.set_weights(weights)
    return copy


def ready_to_train(model: Any, x: Any, y: Any, optimizer: Any = None) -> Any:
    """``model`` (a compiled copy) with its compiled loss and optimizer built, in training mode.

    Args:
        model: A built, compiled copy.
        x: A batch of inputs (a tensor on the device), to build the compiled loss.
        y: Its targets.
        optimizer: An optimizer to use instead of the copy's own (a fresh one of the
            original's configuration). Defaults to `None`.
    """
    if optimizer is not None:
        model.optimizer = optimizer
    # evaluate() builds the compiled loss on a real batch; then the optimizer.
    model.evaluate(x, y, batch_size=len(x), verbose=0)
    model.optimizer.build(list(model.parameters()))
    model.train()
    return model


def trainable_copy(base: Any, x: Any, y: Any, optimizer: Any = None) -> Any:
    """A copy of ``base`` (itself a `model_copy`) holding its weights, ready for `train_step`.

    Args:
        base: A built, compiled copy whose weights every copy starts from.
        x: A batch of inputs (a tensor on the device), to build the compiled loss.
        y: Its targets.
        optimizer: An optimizer to use instead of the fresh one of the same
            configuration as the original's. Defaults to `None`.
    """
    m = _clone(base, "doctor")
    m.predict(x[:2], verbose=0)
    m.set_weights(base.get_weights())
    return ready_to_train(m, x, y, optimizer)
