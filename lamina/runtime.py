"""Process-wide settings: the random seed and the device models train on."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

_device: torch.device | None = None


def set_seed(seed: int) -> None:
    """Seeds Python, NumPy and PyTorch so a run is repeatable.

    With the same seed and the same data, weight initialisation, shuffling and
    dropout masks repeat, so `fit` ends with the same weights.

    Args:
        seed: A non-negative integer.

    Example:
        >>> import lamina
        >>> lamina.set_seed(0)
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(
            f"`set_seed` expects `seed` to be a non-negative integer. Received: seed={seed!r}."
        )
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def set_device(device: str | torch.device | None) -> None:
    """Chooses where models and data live during `fit`, `evaluate` and `predict`.

    Args:
        device: "cpu", "cuda", "cuda:1", "mps", a `torch.device`, or None to go
            back to the automatic choice (CUDA when available, else CPU).
    """
    global _device
    if device is None:
        _device = None
        return
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(
            f"`set_device` expects a device such as 'cpu' or 'cuda'. Received: device={device!r}."
        ) from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "`set_device('cuda')` was requested but PyTorch sees no CUDA device. "
            f"Received: device={device!r}. Use 'cpu', or install a CUDA build of PyTorch."
        )
    _device = dev


def get_device() -> torch.device:
    """Returns the device chosen by `set_device`, or CUDA when available, else CPU."""
    if _device is not None:
        return _device
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
