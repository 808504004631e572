"""Neural-network ops: activations, one-hot, convolution, pooling, normalization, cross-entropies.

Images are channels-last (`data_format="channels_last"`), as in Keras; kernels
use Keras's layout `(*spatial, in_channels, out_channels)`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops._utils import check_axis
from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_float, to_torch_dtype

_EPS = 1e-7


def _f(x: Any) -> torch.Tensor:
    return to_float(convert_to_tensor(x))


def relu(x: Any) -> torch.Tensor:
    """Rectified linear unit, `max(x, 0)`.

    Example:
        >>> ops.relu([-1.0, 2.0])
        tensor([0., 2.])
    """
    return F.relu(_f(x))


def relu6(x: Any) -> torch.Tensor:
    """`min(max(x, 0), 6)`.

    Example:
        >>> ops.relu6([-1.0, 8.0])
        tensor([0., 6.])
    """
    return F.relu6(_f(x))


def sigmoid(x: Any) -> torch.Tensor:
    """Logistic sigmoid, `1 / (1 + exp(-x))`.

    Example:
        >>> ops.sigmoid([0.0])
        tensor([0.5000])
    """
    return torch.sigmoid(_f(x))


def log_sigmoid(x: Any) -> torch.Tensor:
    """`log(sigmoid(x))`, computed stably.

    Example:
        >>> ops.log_sigmoid([0.0])
        tensor([-0.6931])
    """
    return F.logsigmoid(_f(x))


def softplus(x: Any) -> torch.Tensor:
    """`log(exp(x) + 1)`.

    Example:
        >>> ops.softplus([0.0])
        tensor([0.6931])
    """
    return F.softplus(_f(x))


def softsign(x: Any) -> torch.Tensor:
    """`x / (abs(x) + 1)`.

    Example:
        >>> ops.softsign([1.0])
        tensor([0.5000])
    """
    return F.softsign(_f(x))


def silu(x: Any) -> torch.Tensor:
    """Sigmoid linear unit (swish), `x * sigmoid(x)`.

    Example:
        >>> ops.silu([0.0])
        tensor([0.])
    """
    return F.silu(_f(x))


swish = silu


def hard_sigmoid(x: Any) -> torch.Tensor:
    """Piecewise-linear sigmoid, `relu6(x + 3) / 6` (Keras 3's definition).

    Example:
        >>> ops.hard_sigmoid([0.0])
        tensor([0.5000])
    """
    return F.hardsigmoid(_f(x))


def hard_silu(x: Any) -> torch.Tensor:
    """`x * hard_sigmoid(x)` (hard swish).

    Example:
        >>> ops.hard_silu([3.0])
        tensor([3.])
    """
    return F.hardswish(_f(x))


hard_swish = hard_silu


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """`x` for positive values, `negative_slope * x` otherwise. `negative_slope` defaults to `0.2`.

    Example:
        >>> ops.leaky_relu([-1.0, 1.0])
        tensor([-0.2000,  1.0000])
    """
    return F.leaky_relu(_f(x), negative_slope)


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit, `alpha * (exp(x) - 1)` for negative values. `alpha` defaults to `1.0`.

    Example:
        >>> ops.elu([0.0])
        tensor([0.])
    """
    return F.elu(_f(x), alpha)


def selu(x: Any) -> torch.Tensor:
    """Scaled exponential linear unit.

    Example:
        >>> ops.selu([0.0])
        tensor([0.])
    """
    return F.selu(_f(x))


def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Continuously differentiable ELU. `alpha` defaults to `1.0`.

    Example:
        >>> ops.celu([0.0])
        tensor([0.])
    """
    return F.celu(_f(x), alpha)


def gelu(x: Any, approximate: bool = True) -> torch.Tensor:
    """Gaussian error linear unit; the tanh approximation by default, as Keras.

    Args:
        x: Input tensor.
        approximate: Use the tanh approximation. Defaults to `True`.

    Example:
        >>> ops.gelu([0.0])
        tensor([0.])
    """
    return F.gelu(_f(x), approximate="tanh" if approximate else "none")


def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: halves `x` along `axis` into `a, b`, returns `a * sigmoid(b)`.

    Example:
        >>> ops.glu([1.0, 0.0])
        tensor([0.5000])
    """
    x = _f(x)
    return F.glu(x, dim=check_axis("glu", axis, x.ndim))


def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Softmax along `axis`. `axis` defaults to `-1`.

    Example:
        >>> ops.softmax([0.0, 0.0])
        tensor([0.5000, 0.5000])
    """
    x = _f(x)
    return torch.softmax(x, dim=check_axis("softmax", axis, x.ndim))


def log_softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """Log of the softmax along `axis`, computed stably. `axis` defaults to `-1`.

    Example:
        >>> ops.log_softmax([0.0, 0.0])
        tensor([-0.6931, -0.6931])
    """
    x = _f(x)
    return torch.log_softmax(x, dim=check_axis("log_softmax", axis, x.ndim))


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None,
            sparse: bool = False) -> torch.Tensor:
    """One-hot encodes integer labels; out-of-range labels (e.g. -1) give all-zero rows.

    Args:
        x: Integer tensor of class indices.
        num_classes: Number of classes.
        axis: Where the class axis goes. Defaults to `-1`.
        dtype: Output dtype. Defaults to `None` (float32).
        sparse: Not supported (dense only). Defaults to `False`.

    Example:
        >>> ops.one_hot([0, 2], 3)
        tensor([[1., 0., 0.],
                [0., 0., 1.]])
    """
    x = convert_to_tensor(x).long()
    valid = (x >= 0) & (x < num_classes)
    out = F.one_hot(torch.where(valid, x, 0), num_classes) * valid.unsqueeze(-1)
    out = out.to(to_torch_dtype(dtype) or FLOATX)
    axis = check_axis("one_hot", axis, out.ndim)
    return torch.movedim(out, -1, axis)


def multi_hot(inputs: Any, num_classes: int, axis: int = -1, dtype: Any = None,
              sparse: bool = False) -> torch.Tensor:
    """Encodes each row of integer labels as one vector with a 1 for each label present.

    Example:
        >>> ops.multi_hot([[0, 2]], 3)
        tensor([[1., 0., 1.]])
    """
    x = convert_to_tensor(inputs)
    squeeze = x.ndim == 1
    oh = one_hot(x.unsqueeze(0) if squeeze else x, num_classes, axis=-1, dtype=dtype)
    out = oh.amax(dim=-2)
    out = out.squeeze(0) if squeeze else out
    return torch.movedim(out, -1, check_axis("multi_hot", axis, out.ndim))


def moments(x: Any, axes: Any, keepdims: bool = False,
            synchronized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (population) variance over `axes`.

    Example:
        >>> ops.moments([1.0, 3.0], axes=[0])
        (tensor(2.), tensor(1.))
    """
    x = _f(x)
    dims = tuple(check_axis("moments", a, x.ndim) for a in (axes if isinstance(axes, (list, tuple)) else [axes]))
    mean = x.mean(dim=dims, keepdim=True)
    var = (x - mean).square().mean(dim=dims, keepdim=True)
    if not keepdims:
        mean, var = mean.squeeze(dims), var.squeeze(dims)
    return mean, var


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None,
                        scale: Any = None, epsilon: float = 1e-3) -> torch.Tensor:
    """Normalizes `x` with given statistics: `(x - mean) / sqrt(variance + epsilon) * scale + offset`.

    `mean`, `variance`, `offset` and `scale` are 1-D, along `axis`.

    Example:
        >>> ops.batch_normalization([[1.0, 2.0]], [1.0, 2.0], [1.0, 1.0], axis=-1, epsilon=0.0)
        tensor([[0., 0.]])
    """
    x = _f(x)
    axis = check_axis("batch_normalization", axis, x.ndim)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def vec(v: Any) -> torch.Tensor:
        return tensors(x, v)[1].to(x.dtype).reshape(shape)

    out = (x - vec(mean)) * torch.rsqrt(vec(variance) + epsilon)
    if scale is not None:
        out = out * vec(scale)
    if offset is not None:
        out = out + vec(offset)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> torch.Tensor:
    """Divides `x` by its `order`-norm along `axis`.

    Example:
        >>> ops.normalize([3.0, 4.0])
        tensor([0.6000, 0.8000])
    """
    x = _f(x)
    norm = torch.linalg.vector_norm(x, order, dim=check_axis("normalize", axis, x.ndim), keepdim=True)
    return x / torch.clamp(norm, min=epsilon if epsilon is not None else 1e-12)


# ----------------------------------------------------------------------------- cross-entropies


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Element-wise binary cross-entropy (no reduction).

    Probabilities are clipped to `[1e-7, 1 - 1e-7]` as in Keras.

    Example:
        >>> ops.binary_crossentropy([1.0], [0.5])
        tensor([0.6931])
    """
    t, o = tensors(target, output)
    o = to_float(o)
    t = t.to(o.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(o, t, reduction="none")
    o = o.clamp(_EPS, 1 - _EPS)
    return -(t * torch.log(o) + (1 - t) * torch.log(1 - o))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                             axis: int = -1) -> torch.Tensor:
    """Cross-entropy between one-hot `target` and `output` along `axis`.

    Probabilities are renormalised to sum to 1 and clipped, as in Keras.

    Example:
        >>> ops.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])
        tensor([0.6931])
    """
    t, o = tensors(target, output)
    o = to_float(o)
    t = t.to(o.dtype)
    axis = check_axis("categorical_crossentropy", axis, o.ndim)
    if t.shape != o.shape:
        raise ValueError(
            "`ops.categorical_crossentropy` expects `target` and `output` of the same shape. "
            f"Received: target.shape={tuple(t.shape)}, output.shape={tuple(o.shape)}. "
            "For integer labels use `ops.sparse_categorical_crossentropy`."
        )
    if from_logits:
        logp = torch.log_softmax(o, dim=axis)
    else:
        o = o / o.sum(dim=axis, keepdim=True)
        logp = torch.log(o.clamp(_EPS, 1 - _EPS))
    return -(t * logp).sum(dim=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> torch.Tensor:
    """Cross-entropy between integer `target` labels and `output` along `axis`.

    Example:
        >>> ops.sparse_categorical_crossentropy([1], [[0.5, 0.5]])
        tensor([0.6931])
    """
    t, o = tensors(target, output)
    o = to_float(o)
    axis = check_axis("sparse_categorical_crossentropy", axis, o.ndim)
    if t.ndim == o.ndim and t.shape[axis] == 1:
        t = t.squeeze(axis)
    if from_logits:
        logp = torch.log_softmax(o, dim=axis)
    else:
        o = o / o.sum(dim=axis, keepdim=True)
        logp = torch.log(o.clamp(_EPS, 1 - _EPS))
    logp = torch.movedim(logp, axis, -1)
    return -torch.gather(logp, -1, t.long().unsqueeze(-1)).squeeze(-1)


# ----------------------------------------------------------------------------- conv and pooling


def _ntuple(name: str, value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(
            f"`{name}` expects an int or {n} ints for a {n}-D operation. Received: {name}={value}."
        )
    return value


def _padding(op: str, padding: str) -> str:
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(
            f"`ops.{op}` expects `padding` to be 'valid' or 'same'. Received: padding={padding!r}."
        )
    return padding


def _same_pads(size: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
               dilation: tuple[int, ...]) -> list[int]:
    """TF-style 'same' pads (extra on the right), in F.pad order (last axis first)."""
    pads: list[int] = []
    for n, k, s, d in reversed(list(zip(size, kernel, strides, dilation))):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


def _to_cf(x: torch.Tensor, data_format: str | None) -> torch.Tensor:
    return torch.movedim(x, -1, 1) if data_format in (None, "channels_last") else x


def _from_cf(x: torch.Tensor, data_format: str | None) -> torch.Tensor:
    return torch.movedim(x, 1, -1) if data_format in (None, "channels_last") else x


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """N-D convolution (N = 1, 2, 3) with a Keras-layout kernel.

    Args:
        inputs: Tensor of shape `(batch, *spatial, in_channels)` (channels-last).
        kernel: Tensor of shape `(*kernel_size, in_channels // groups, out_channels)`.
        strides: An int or N ints. Defaults to `1`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`
            (channels-last).
        dilation_rate: An int or N ints. Defaults to `1`.

    Example:
        >>> ops.conv(ops.ones((1, 5, 5, 2)), ops.ones((3, 3, 2, 4)), padding="same").shape
        torch.Size([1, 5, 5, 4])
    """
    x, k = tensors(inputs, kernel)
    x = to_float(x)
    k = k.to(x.dtype)
    n = x.ndim - 2
    if n not in _CONV or k.ndim != n + 2:
        raise ValueError(
            "`ops.conv` expects a 3-D, 4-D or 5-D input and a kernel of the same rank. "
            f"Received: inputs.shape={tuple(x.shape)}, kernel.shape={tuple(k.shape)}."
        )
    strides, dil = _ntuple("strides", strides, n), _ntuple("dilation_rate", dilation_rate, n)
    x = _to_cf(x, data_format)
    in_ch = x.shape[1]
    if in_ch % k.shape[-2]:
        raise ValueError(
            f"`ops.conv` expects the input channels ({in_ch}) to be a multiple of the kernel's "
            f"input channels. Received: kernel.shape={tuple(k.shape)}."
        )
    weight = k.permute(n + 1, n, *range(n))  # (out, in/groups, *spatial)
    if _padding("conv", padding) == "same":
        x = F.pad(x, _same_pads(tuple(x.shape[2:]), tuple(k.shape[:n]), strides, dil))
    out = _CONV[n](x, weight, stride=strides, dilation=dil, groups=in_ch // k.shape[-2])
    return _from_cf(out, data_format)


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> torch.Tensor:
    """Depthwise convolution; `kernel` is `(*kernel_size, in_channels, depth_multiplier)`.

    Example:
        >>> ops.depthwise_conv(ops.ones((1, 5, 5, 2)), ops.ones((3, 3, 2, 1))).shape
        torch.Size([1, 3, 3, 2])
    """
    k = convert_to_tensor(kernel)
    n = k.ndim - 2
    full = k.reshape(*k.shape[:n], 1, k.shape[-2] * k.shape[-1])
    return conv(inputs, full, strides, padding, data_format, dilation_rate)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Any = 1) -> torch.Tensor:
    """Depthwise convolution followed by a pointwise (1x1) convolution.

    Example:
        >>> ops.separable_conv(ops.ones((1, 5, 5, 2)), ops.ones((3, 3, 2, 1)),
        ...                    ops.ones((1, 1, 2, 4))).shape
        torch.Size([1, 3, 3, 4])
    """
    out = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(out, pointwise_kernel, 1, "valid", data_format, 1)


def _pool(op: str, inputs: Any, pool_size: Any, strides: Any, padding: str,
          data_format: str | None) -> torch.Tensor:
    x = _f(inputs)
    n = x.ndim - 2
    if n not in (1, 2, 3):
        raise ValueError(
            f"`ops.{op}` expects a 3-D, 4-D or 5-D input. Received: inputs.shape={tuple(x.shape)}."
        )
    size = _ntuple("pool_size", pool_size, n)
    strides = size if strides is None else _ntuple("strides", strides, n)
    x = _to_cf(x, data_format)
    same = _padding(op, padding) == "same"
    pads = _same_pads(tuple(x.shape[2:]), size, strides, (1,) * n) if same else None
    if op == "max_pool":
        if same:
            x = F.pad(x, pads, value=-math.inf)
        out = getattr(F, f"max_pool{n}d")(x, size, strides)
    else:
        avg = getattr(F, f"avg_pool{n}d")
        if same:  # like Keras, the padded zeros do not count in the average
            count = avg(F.pad(torch.ones_like(x[:1, :1]), pads), size, strides)
            out = avg(F.pad(x, pads), size, strides) / count
        else:
            out = avg(x, size, strides)
    return _from_cf(out, data_format)


def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str | None = None) -> torch.Tensor:
    """Max pooling over 1-3 spatial axes (channels-last by default).

    Args:
        inputs: Tensor of shape `(batch, *spatial, channels)`.
        pool_size: An int or one int per spatial axis.
        strides: An int, ints, or None (= `pool_size`). Defaults to `None`.
        padding: `"valid"` or `"same"`. Defaults to `"valid"`.
        data_format: `"channels_last"` or `"channels_first"`. Defaults to `None`.

    Example:
        >>> ops.max_pool(ops.ones((1, 4, 4, 3)), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None) -> torch.Tensor:
    """Average pooling over 1-3 spatial axes; see `max_pool` for the arguments.

    Example:
        >>> ops.average_pool(ops.ones((1, 4, 4, 3)), 2).shape
        torch.Size([1, 2, 2, 3])
    """
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format)
