"""The data helpers `doctor` and `lr_find` share: reading the training data (``(x, y)``
or a `Splits`) into NumPy arrays, moving them to the device, and the mean loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lamina.workflow.inputs import SPLIT_NAMES, split_pairs

__all__ = ["as_numpy", "as_tensor", "training_arrays", "mean_loss", "forward"]


def as_numpy(value: Any, name: str, owner: str = "doctor") -> np.ndarray:
    """``value`` (NumPy, torch, pandas, list) as a numeric NumPy array with a batch axis.

    Args:
        value: One array (a dict of arrays is refused: one input, one output).
        name: Its argument name in error messages (``"x"`` or ``"y"``).
        owner: The function named in error messages. Defaults to `"doctor"`.
    """
    if isinstance(value, dict):
        raise TypeError(
            f"`{owner}` expects `{name}` to be one array (a single-input, single-output model). "
            f"Received: {name} of type dict."
        )
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object or arr.ndim == 0:
        raise TypeError(
            f"`{owner}` expects `{name}` to be a numeric array with a batch axis. "
            f"Received: {name} with dtype={arr.dtype} and shape={arr.shape}."
        )
    return arr


def as_tensor(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    """``arr`` as a tensor on ``device`` (floating values as float32)."""
    t = torch.as_tensor(arr)
    if t.is_floating_point() and t.dtype != torch.float32:
        t = t.float()
    return t.to(device)


def _is_splits(value: Any) -> bool:
    from lamina.data.splits import Splits

    if isinstance(value, Splits):
        return True
    return isinstance(value, Mapping) and bool(value) and set(value) <= set(SPLIT_NAMES)


def training_arrays(
    owner: str, x: Any = None, y: Any = None, splits: Any = None, train: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The training data as NumPy arrays ``(x, y)``, given as the workflow takes data.

    Accepted forms: ``x, y`` arrays; a `Splits` (the result of `lamina.data.split`)
    or a dict of ``(x, y)`` pairs, either as ``splits=`` or in place of ``x``
    (its ``train`` set is used); or ``train=(x, y)``.

    Args:
        owner: The function named in error messages.
        x: The inputs, or a `Splits`. Defaults to `None`.
        y: The targets. Defaults to `None`.
        splits: A `Splits` or a dict with a ``train`` entry. Defaults to `None`.
        train: The training set as an ``(x, y)`` pair. Defaults to `None`.

    Returns:
        ``(x, y)`` as NumPy arrays with as many rows each.
    """
    if y is None and x is not None and _is_splits(x):
        if splits is not None:
            raise ValueError(
                f"`{owner}` got two sets of splits. Received: a {type(x).__name__} as `x` and "
                "`splits=`. Pass the splits once."
            )
        x, splits = None, x
    if x is not None or y is not None:
        if x is None or y is None:
            missing = "y" if y is None else "x"
            raise ValueError(
                f"`{owner}` expects both inputs `x` and targets `y`. Received: {missing}=None. "
                f"Pass `{owner}(model, x, y)`, `{owner}(model, splits)` or `train=(x, y)`."
            )
        if splits is not None or train is not None:
            raise ValueError(
                f"`{owner}` expects the data once: `x, y`, `splits` or `train=(x, y)`. Received: "
                f"x and y together with {'splits' if splits is not None else 'train'}. Pass one form."
            )
        return _pair(owner, x, y)
    pairs = split_pairs(owner, splits, train=train)
    if pairs["train"] is None:
        given = "splits without a train set" if splits is not None else "no data"
        raise ValueError(
            f"`{owner}` expects training data. Received: {given}. "
            f"Pass `{owner}(model, x, y)`, `{owner}(model, splits)` or `train=(x, y)`."
        )
    return _pair(owner, *pairs["train"])


def _pair(owner: str, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x_np, y_np = as_numpy(x, "x", owner), as_numpy(y, "y", owner)
    if len(x_np) != len(y_np):
        raise ValueError(
            f"`{owner}` expects as many labels as inputs. "
            f"Received: {len(x_np)} inputs and {len(y_np)} labels."
        )
    return x_np, y_np


def mean_loss(loss: Any, y: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """The mean data loss (no regularisation), whatever the loss's reduction."""
    return loss.call(y, y_pred).float().mean()


def forward(model: Any, x: torch.Tensor) -> torch.Tensor:
    """The model's outputs on ``x`` in inference mode, without gradients."""
    model.eval()
    with torch.no_grad():
        return model(x, training=False)
