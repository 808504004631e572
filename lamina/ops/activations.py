"""Activation functions as ops: `relu`, `sigmoid`, `gelu`, `softmax`, ...; integer inputs are cast to float32.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops._utils import check_axis, float_tensor


def relu(x: Any) -> torch.Tensor:
    """Rectified linear unit, `max(x, 0)`.

    Example:
        >>> ops.relu([-1.0, 2.0])
        tensor([0., 2.])
    """
    return F.relu(float_tensor(x))


def relu6(x: Any) -> torch.Tensor:
    """`min(max(x, 0), 6)`.

    Example:
        >>> ops.relu6([-1.0, 8.0])
        tensor([0., 6.])
    """
    return F.relu6(float_tensor(x))


def sigmoid(x: Any) -> torch.Tensor:
    """Logistic sigmoid, `1 / (1 + exp(-x))`.

    Example:
        >>> ops.sigmoid([0.0])
        tensor([0.5000])
    """
    return torch.sigmoid(float_tensor(x))


def log_sigmoid(x: Any) -> torch.Tensor:
    """`log(sigmoid(x))`, computed stably.

    Example:
        >>> ops.log_sigmoid([0.0])
        tensor([-0.6931])
    """
    return F.logsigmoid(float_tensor(x))


def softplus(x: Any) -> torch.Tensor:
    """`log(exp(x) + 1)`.

    Example:
        >>> ops.softplus([0.0])
        tensor([0.6931])
    """
    return F.softplus(float_tensor(x))


def softsign(x: Any) -> torch.Tensor:
    """`x / (abs(x) + 1)`.

    Example:
        >>> ops.softsign([1.0])
        tensor([0.5000])
    """
    return F.softsign(float_tensor(x))


def silu(x: Any) -> torch.Tensor:
    """Sigmoid linear unit (swish), `x * sigmoid(x)`.

    Example:
        >>> ops.silu([0.0])
        tensor([0.])
    """
    return F.silu(float_tensor(x))


swish = silu


def hard_sigmoid(x: Any) -> torch.Tensor:
    """Piecewise-linear sigmoid, `relu6(x + 3) / 6` (Keras 3's definition).

    Example:
        >>> ops.hard_sigmoid([0.0])
        tensor([0.5000])
    """
    return F.hardsigmoid(float_tensor(x))


def hard_silu(x: Any) -> torch.Tensor:
    """`x * hard_sigmoid(x)` (hard swish).

    Example:
        >>> ops.hard_silu([3.0])
        tensor([3.])
    """
    return F.hardswish(float_tensor(x))


hard_swish = hard_silu


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """`x` for positive values, `negative_slope * x` otherwise. `negative_slope` defaults to `0.2`.

    Example:
        >>> ops.leaky_relu([-1.0, 1.0])
        tensor([-0.2000,  1.0000])
    """
    return F.leaky_relu(float_tensor(x), negative_slope)


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit, `alpha * (exp(x) - 1)` for negative values. `alpha` defaults to `1.0`.

    Example:
        >>> ops.elu([0.0])
        tensor([0.])
    """
    return F.elu(float_tensor(x), alpha)


def selu(x: Any) -> torch.Tensor:
    """Scaled exponential linear unit.

    Example:
        >>> ops.selu([0.0])
        tensor([0.])
    """
    return F.selu(float_tensor(x))


def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Continuously differentiable ELU. `alpha` defaults to `1.0`.

    Example:
        >>> ops.celu([0.0])
        tensor([0.])
    """
    return F.celu(float_tensor(x), alpha)


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """Gaussian error linear unit; the tanh approximation by default, as Keras.

    Args:
        x: Input tensor.
        approximate: Use the tanh approximation. Defaults to `True`.

    Example:
        >>> ops.gelu([0.0])
        tensor([0.])
    """
    return F.gelu(float_tensor(x), approximate="tanh" if approximate else "none")


def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: halves `x` along `axis` into `a, b`, returns `a * sigmoid(b)`.

    Example:
        >>> ops.glu([1.0, 0.0])
        tensor([0.5000])
    """
    x = float_tensor(x)
    return F.glu(x, dim=check_axis("glu", axis, x.ndim))


def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Softmax along `axis`. `axis` defaults to `-1`.

    Example:
        >>> ops.softmax([0.0, 0.0])
        tensor([0.5000, 0.5000])
    """
    x = float_tensor(x)
    return torch.softmax(x, dim=check_axis("softmax", axis, x.ndim))


def log_softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Log of the softmax along `axis`, computed stably. `axis` defaults to `-1`.

    Example:
        >>> ops.log_softmax([0.0, 0.0])
        tensor([-0.6931, -0.6931])
    """
    x = float_tensor(x)
    return torch.log_softmax(x, dim=check_axis("log_softmax", axis, x.ndim))


def hard_tanh(x: Any) -> torch.Tensor:
    """`clip(x, -1, 1)`.

    Example:
        >>> ops.hard_tanh([-2.0, 0.5])
        tensor([-1.0000,  0.5000])
    """
    return F.hardtanh(float_tensor(x))


def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """`x` where `|x| > threshold`, else 0. `threshold` defaults to `0.5`.

    Example:
        >>> ops.hard_shrink([-1.0, 0.2])
        tensor([-1.,  0.])
    """
    return F.hardshrink(float_tensor(x), threshold)


def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """Moves `x` towards 0 by `threshold`, zeroing `|x| <= threshold`. Defaults to `0.5`.

    Example:
        >>> ops.soft_shrink([-1.0, 0.2])
        tensor([-0.5000,  0.0000])
    """
    return F.softshrink(float_tensor(x), threshold)


def tanh_shrink(x: Any) -> torch.Tensor:
    """`x - tanh(x)`.

    Example:
        >>> ops.tanh_shrink([0.0])
        tensor([0.])
    """
    return F.tanhshrink(float_tensor(x))


def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """`x` where `x > threshold`, else `default_value`.

    Example:
        >>> ops.threshold([1.0, 3.0], 2.0, 0.0)
        tensor([0., 3.])
    """
    return F.threshold(float_tensor(x), threshold, default_value)


def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    """`(x + sqrt(x**2 + b)) / 2`, a smooth ReLU. `b` defaults to `4`.

    Example:
        >>> ops.squareplus([0.0])
        tensor([1.])
    """
    x = float_tensor(x)
    return (x + torch.sqrt(x.square() + b)) / 2


def sparse_plus(x: Any) -> torch.Tensor:
    """0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)**2 / 4` in between.

    Example:
        >>> ops.sparse_plus([-2.0, 0.0, 2.0])
        tensor([0.0000, 0.2500, 2.0000])
    """
    x = float_tensor(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, (x + 1).square() / 4))


def sparse_sigmoid(x: Any) -> torch.Tensor:
    """0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` in between.

    Example:
        >>> ops.sparse_sigmoid([-2.0, 0.0, 2.0])
        tensor([0.0000, 0.5000, 1.0000])
    """
    return ((float_tensor(x) + 1) / 2).clamp(0, 1)


def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`.

    Example:
        >>> ops.sparsemax([1.0, 0.0, -2.0])
        tensor([1., 0., 0.])
    """
    x = float_tensor(x)
    axis = check_axis("sparsemax", axis, x.ndim)
    z = torch.movedim(x, axis, -1)
    srt = torch.sort(z, dim=-1, descending=True).values
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cum = srt.cumsum(-1)
    support = (1 + k * srt) > cum
    k_z = support.sum(-1, keepdim=True)
    tau = (cum.gather(-1, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.movedim(torch.clamp(z - tau, min=0), -1, axis)
