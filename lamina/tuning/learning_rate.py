"""`lr_range`: seed a search's learning-rate range with the learning-rate range test.

`lamina.workflow.lr_find` trains a copy of the model while the learning rate
grows geometrically and suggests a rate on the steep part of the loss curve.
`lr_range` turns that one number into a ``(low, high)`` range to search::

    low  = suggestion / factor_low
    high = min(min_loss_lr, suggestion * factor_high)

``min_loss_lr`` is the rate at the minimum of the smoothed loss: beyond it the
loss rises, so the range never reaches past it. The suggestion always lies
strictly below ``min_loss_lr`` (on the descent before the minimum, or a tenth
of it), so ``low < suggestion < high``.

Why these defaults (``factor_low=10``, ``factor_high=3``): on the bundled digits
(`spaces.mlp` with Adam, SGD and RMSprop, 10 epochs, a grid of rates) the rate
with the best dev accuracy lay between a tenth of the suggestion and the
suggestion, while rates near ``min_loss_lr`` often diverged in full training.
The range keeps a little room above the suggestion and stays well under
``min_loss_lr``.

Example::

    low, high = lr_range(build_model, x_train, y_train)
    tuner = Tuner(lambda hp: spaces.mlp(hp, (64,), 10, lr_range=(low, high)), ...)
"""

from __future__ import annotations

import math
from typing import Any

from lamina.tuning.hp import HyperParameters
from lamina.workflow.lr_find import LRFinderResult, lr_find

__all__ = ["lr_range", "range_from_result"]


def _check_factors(factor_low: Any, factor_high: Any) -> None:
    for name, factor in (("factor_low", factor_low), ("factor_high", factor_high)):
        if (
            isinstance(factor, bool)
            or not isinstance(factor, (int, float))
            or not math.isfinite(factor)
            or factor <= 1
        ):
            raise ValueError(
                f"`lr_range` expects `{name}` to be a finite number > 1. Received: "
                f"{name}={factor!r}. Pass e.g. {name}=10."
            )


def range_from_result(
    result: LRFinderResult, *, factor_low: float = 10.0, factor_high: float = 3.0
) -> tuple[float, float]:
    """The ``(low, high)`` learning-rate range around an `lr_find` result's suggestion.

    ``low = suggestion / factor_low`` and
    ``high = min(result.min_loss_lr, suggestion * factor_high)``.

    Args:
        result: The `LRFinderResult` of `lamina.workflow.lr_find`.
        factor_low: How far below the suggestion the range starts, > 1.
            Defaults to `10.0`.
        factor_high: How far above the suggestion the range may end, > 1 (it
            never ends past the minimum-loss rate). Defaults to `3.0`.

    Returns:
        ``(low, high)`` with ``0 < low < suggestion < high``.

    Raises:
        ValueError: If the test was too short to suggest a rate, or a factor is
            not a number > 1.
    """
    _check_factors(factor_low, factor_high)
    if result.suggestion is None or result.min_loss_lr is None:
        raise ValueError(
            f"`lr_range` needs a learning-rate suggestion, but the range test ran only "
            f"{len(result.lrs)} steps{' before the loss diverged' if result.diverged else ''}, "
            "too few to suggest one. Pass a smaller start_lr, a larger num_steps, or check that "
            "the loss is finite on this data."
        )
    suggestion = float(result.suggestion)
    low = suggestion / float(factor_low)
    high = min(float(result.min_loss_lr), suggestion * float(factor_high))
    return low, high


def lr_range(
    model: Any,
    x: Any = None,
    y: Any = None,
    *,
    splits: Any = None,
    train: Any = None,
    factor_low: float = 10.0,
    factor_high: float = 3.0,
    **lr_find_kwargs: Any,
) -> tuple[float, float]:
    """Runs `lamina.workflow.lr_find` and returns a learning-rate range around its suggestion.

    The range is ``(suggestion / factor_low, min(min_loss_lr, suggestion *
    factor_high))`` (see `range_from_result`), for
    ``hp.Float("learning_rate", low, high, log=True)`` or
    ``spaces.optimizer(hp, lr_range=(low, high))``. The model is left unchanged
    (`lr_find` trains a copy).

    Args:
        model: A compiled Lamina model, or a ``build_model(hp)`` function: it is
            called once with every parameter at its default
            (``HyperParameters()``) and must return a compiled model.
        x: Training inputs, or a `Splits`. Defaults to `None`.
        y: Training targets. Defaults to `None`.
        splits: A `Splits` or a dict of ``(x, y)`` pairs; its ``train`` set is
            used. Defaults to `None`.
        train: The training set as an ``(x, y)`` pair. Defaults to `None`.
        factor_low: ``low = suggestion / factor_low``. Defaults to `10.0`.
        factor_high: ``high <= suggestion * factor_high``. Defaults to `3.0`.
        **lr_find_kwargs: Passed to `lr_find` (``start_lr``, ``end_lr``,
            ``num_steps``, ``batch_size``, ``smooth``, ``diverge_factor``, ``seed``).

    Returns:
        ``(low, high)``, two floats with ``0 < low < suggestion < high``.

    Raises:
        TypeError: If ``model`` is neither a model nor a callable, or
            ``build_model`` does not return a model.
        ValueError: If the range test cannot suggest a rate (see `range_from_result`),
            or as `lr_find` for bad data or arguments.
    """
    if not hasattr(model, "fit"):
        if not callable(model):
            raise TypeError(
                "`lr_range` expects a compiled Lamina model or a build_model(hp) function. "
                f"Received: {type(model).__name__}. Pass e.g. lr_range(build_model, x, y)."
            )
        build_model, model = model, model(HyperParameters())
        if not hasattr(model, "fit"):
            raise TypeError(
                "`lr_range` expects build_model(hp) to return a compiled Lamina model. Received: "
                f"{type(model).__name__} from {getattr(build_model, '__name__', build_model)!r}. "
                "Return the model after model.compile(...)."
            )
    _check_factors(factor_low, factor_high)  # before the (slower) range test
    result = lr_find(model, x, y, splits=splits, train=train, **lr_find_kwargs)
    return range_from_result(result, factor_low=factor_low, factor_high=factor_high)
