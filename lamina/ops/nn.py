"""Neural-network ops: activations, one-hot, convolution, pooling, normalization, cross-entropies.

Images are channels-last (`data_format="channels_last"`), as in Keras; kernels
use Keras's layout `(*spatial, in_channels, out_channels)`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops._utils import check_axis, float_tensor
from lamina.ops.core import FLOATX, convert_to_tensor, tensors, to_float, to_torch_dtype

_EPS = 1e-7


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
    x = float_tensor(x)
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
    x = float_tensor(x)
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

    As in Keras, for `order=2` the squared norm is floored at `epsilon`; for other
    orders the norm is.

    Args:
        x: Input tensor.
        axis: The axis to normalize along. Defaults to `-1`.
        order: The norm order. Defaults to `2`.
        epsilon: The floor. Defaults to `None` (1e-7, Keras's `epsilon()`).

    Example:
        >>> ops.normalize([3.0, 4.0])
        tensor([0.6000, 0.8000])
    """
    x = float_tensor(x)
    dim = check_axis("normalize", axis, x.ndim)
    eps = 1e-7 if epsilon is None else epsilon
    if order == 2:
        return x * torch.rsqrt(torch.clamp(x.square().sum(dim=dim, keepdim=True), min=eps))
    norm = torch.linalg.vector_norm(x, order, dim=dim, keepdim=True)
    return x / torch.clamp(norm, min=eps)


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


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: int = -1,
                        epsilon: float | None = None) -> torch.Tensor:
    """Normalizes over `axis` to zero mean and unit variance, then scales and shifts.

    Args:
        x: Input tensor.
        gamma: Scale, along `axis`. Defaults to `None` (1).
        beta: Offset, along `axis`. Defaults to `None` (0).
        axis: The normalized axis. Defaults to `-1`.
        epsilon: Added to the variance. Defaults to `None` (1e-7, Keras's `epsilon()`).

    Example:
        >>> ops.layer_normalization([[1.0, 3.0]])
        tensor([[-1.,  1.]])
    """
    x = float_tensor(x)
    eps = 1e-7 if epsilon is None else epsilon
    axis = check_axis("layer_normalization", axis, x.ndim)
    mean = x.mean(dim=axis, keepdim=True)
    var = (x - mean).square().mean(dim=axis, keepdim=True)
    out = (x - mean) * torch.rsqrt(var + eps)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if gamma is not None:
        out = out * tensors(x, gamma)[1].to(x.dtype).reshape(shape)
    if beta is not None:
        out = out + tensors(x, beta)[1].to(x.dtype).reshape(shape)
    return out


def rms_normalization(x: Any, scale: Any = 1, axis: int = -1,
                      epsilon: float | None = None) -> torch.Tensor:
    """Divides by the root mean square over `axis`, then multiplies by `scale`.

    Args:
        x: Input tensor.
        scale: Multiplier, along `axis` or a scalar. Defaults to `1`.
        axis: The normalized axis. Defaults to `-1`.
        epsilon: Added to the mean square. Defaults to `None` (1e-7).

    Example:
        >>> ops.rms_normalization([[3.0, 4.0]])
        tensor([[0.8485, 1.1314]])
    """
    x = float_tensor(x)
    eps = 1e-7 if epsilon is None else epsilon
    axis = check_axis("rms_normalization", axis, x.ndim)
    out = x * torch.rsqrt(x.square().mean(dim=axis, keepdim=True) + eps)
    s = tensors(x, scale)[1].to(x.dtype)
    if s.ndim == 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        s = s.reshape(shape)
    return out * s


def psnr(x1: Any, x2: Any, max_val: float) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB: `20 * log10(max_val) - 10 * log10(mse)`.

    Example:
        >>> ops.psnr([[0.0, 1.0]], [[0.0, 0.9]], max_val=1.0)
        tensor(23.0103)
    """
    a, b = tensors(x1, x2)
    a, b = to_float(a), to_float(b)
    if a.shape != b.shape:
        raise ValueError(
            "`ops.psnr` expects `x1` and `x2` of the same shape. "
            f"Received: x1.shape={tuple(a.shape)}, x2.shape={tuple(b.shape)}."
        )
    mse = (a - b).square().mean()
    return 20 * torch.log10(torch.tensor(float(max_val), device=a.device)) - 10 * torch.log10(mse)


def polar(abs_: Any, angle: Any) -> torch.Tensor:
    """Builds complex numbers from magnitude and angle.

    Example:
        >>> ops.polar([2.0], [0.0])
        tensor([2.+0.j])
    """
    a, t = tensors(abs_, angle)
    return torch.polar(to_float(a), to_float(t))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False,
                          flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> torch.Tensor:
    """Scaled dot-product attention, `softmax(q @ k.T * scale + bias) @ v`.

    Args:
        query: Tensor of shape `(batch, target_len, num_heads, head_dim)`.
        key: Tensor of shape `(batch, source_len, num_kv_heads, head_dim)`;
            `num_heads` must be a multiple of `num_kv_heads` (grouped-query attention).
        value: Tensor of shape `(batch, source_len, num_kv_heads, head_dim)`.
        bias: Added to the logits, broadcastable to `(batch, num_heads, target_len,
            source_len)`. Defaults to `None`.
        mask: Boolean, True where attention is allowed, same broadcast shape.
            Defaults to `None`.
        scale: Logit scale. Defaults to `None` (`1 / sqrt(head_dim)`).
        is_causal: Apply a causal mask. Defaults to `False`.
        flash_attention: Accepted for Keras compatibility; PyTorch picks the kernel.
            Defaults to `None`.
        attn_logits_soft_cap: If set, logits become `cap * tanh(logits / cap)`.
            Defaults to `None`.

    Returns:
        Tensor of the shape of `query`.

    Example:
        >>> q = ops.ones((2, 5, 4, 8))
        >>> ops.dot_product_attention(q, q, q).shape
        torch.Size([2, 5, 4, 8])
    """
    q, k, v = tensors(query, key, value)
    q, k, v = to_float(q), to_float(k), to_float(v)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(
            "`ops.dot_product_attention` expects 4-D query, key and value "
            "(batch, length, heads, head_dim). Received: "
            f"query.shape={tuple(q.shape)}, key.shape={tuple(k.shape)}, value.shape={tuple(v.shape)}."
        )
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (batch, heads, length, dim)
    if k.shape[1] != q.shape[1]:
        reps = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(reps, dim=1), v.repeat_interleave(reps, dim=1)
    scale = 1.0 / float(q.shape[-1]) ** 0.5 if scale is None else scale
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensors(logits, bias)[1].to(logits.dtype)
    allowed = None
    if mask is not None:
        allowed = tensors(logits, mask)[1].bool()
    if is_causal:
        t, s = logits.shape[-2:]
        causal = torch.ones((t, s), dtype=torch.bool, device=logits.device).tril()
        allowed = causal if allowed is None else allowed & causal
    if allowed is not None:
        logits = logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)
    weights = torch.softmax(logits, dim=-1)
    return torch.matmul(weights, v).transpose(1, 2)


def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any,
             mask_index: int = 0) -> torch.Tensor:
    """Connectionist temporal classification loss, per sample.

    Args:
        target: Integer labels, shape `(batch, max_label_length)`.
        output: Logits, shape `(batch, max_time, num_classes)`.
        target_length: Label lengths, shape `(batch,)`.
        output_length: Output lengths, shape `(batch,)`.
        mask_index: The blank class. Defaults to `0`.

    Example:
        >>> loss = ops.ctc_loss([[1, 2]], ops.zeros((1, 5, 3)), [2], [5])
        >>> loss.shape
        torch.Size([1])
    """
    t, o, tl, ol = tensors(target, output, target_length, output_length)
    log_probs = torch.log_softmax(to_float(o), dim=-1).transpose(0, 1)  # (time, batch, classes)
    return F.ctc_loss(log_probs, t.long(), ol.long(), tl.long(), blank=mask_index,
                      reduction="none", zero_infinity=False)


def ctc_decode(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True,
               mask_index: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Decodes CTC outputs greedily (best class per step, repeats merged, blanks removed).

    Args:
        inputs: Logits, shape `(batch, max_time, num_classes)`.
        sequence_lengths: Valid steps per sample, shape `(batch,)`.
        strategy: Only `"greedy"` is available. Defaults to `"greedy"`.
        beam_width: Used by `"beam_search"` (not available). Defaults to `100`.
        top_paths: Must be 1 for greedy decoding. Defaults to `1`.
        merge_repeated: Merge repeated classes. Defaults to `True`.
        mask_index: The blank class. Defaults to `0`.

    Returns:
        `(decoded, scores)`: int32 labels of shape `(1, batch, max_time)` padded
        with -1, and scores of shape `(batch, 1)` (minus the summed best log-probabilities).

    Example:
        >>> logits = torch.log(torch.tensor([[[0.1, 0.9], [0.1, 0.9], [0.9, 0.1]]]))
        >>> decoded, _ = ops.ctc_decode(logits, [3])
        >>> decoded
        tensor([[[ 1, -1, -1]]], dtype=torch.int32)
    """
    if strategy != "greedy":
        raise ValueError(
            "`ops.ctc_decode` supports strategy='greedy' only. "
            f"Received: strategy={strategy!r}. Use greedy decoding."
        )
    if top_paths != 1:
        raise ValueError(f"Greedy `ops.ctc_decode` returns one path. Received: top_paths={top_paths}.")
    x, lengths = tensors(inputs, sequence_lengths)
    logp = torch.log_softmax(to_float(x), dim=-1)
    scores, indices = logp.max(dim=-1)
    steps = torch.arange(x.shape[1], device=x.device)
    beyond = steps[None, :] >= lengths.long()[:, None]
    indices = torch.where(beyond, mask_index, indices)
    scores = torch.where(beyond, 0.0, scores)
    if merge_repeated:
        repeat = torch.zeros_like(indices, dtype=torch.bool)
        repeat[:, 1:] = indices[:, 1:] == indices[:, :-1]
        indices = torch.where(repeat, mask_index, indices)
    invalid = indices == mask_index
    indices = torch.where(invalid, -1, indices)
    order = torch.where(invalid, x.shape[1], steps[None, :].expand_as(indices))
    order = torch.sort(order, dim=-1, stable=True).indices  # valid labels first, in order
    decoded = torch.gather(indices, 1, order).to(torch.int32)
    return decoded.unsqueeze(0), -scores.sum(dim=1, keepdim=True)


# The flat `keras.ops.nn` namespace, split by concept into activations and convolution.
from lamina.ops.activations import (  # noqa: E402, F401, A004 - keras.ops.nn holds these too
    celu,
    elu,
    gelu,
    glu,
    hard_shrink,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    soft_shrink,
    softmax,
    softplus,
    softsign,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    swish,
    tanh_shrink,
    threshold,
)
from lamina.ops.convolution import (  # noqa: E402, F401, A004 - keras.ops.nn holds these too
    adaptive_average_pool,
    adaptive_max_pool,
    average_pool,
    conv,
    conv_transpose,
    depth_to_space,
    depthwise_conv,
    max_pool,
    separable_conv,
    space_to_depth,
)
