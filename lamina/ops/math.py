"""Math ops beyond NumPy: top-k, segment reductions, special functions, FFTs."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops._utils import check_axis
from lamina.ops.core import convert_to_tensor, tensors, to_float
from lamina.ops.reductions import logsumexp

__all__ = [
    "erf", "erfinv", "extract_sequences", "fft", "fft2", "in_top_k", "irfft", "logsumexp",
    "rfft", "rsqrt", "segment_max", "segment_sum", "top_k", "ifft2", "view_as_complex", "view_as_real",
    "stft", "istft",
]


def erf(x: Any) -> torch.Tensor:
    """The Gauss error function, element-wise.

    Example:
        >>> ops.erf([0.0])
        tensor([0.])
    """
    return torch.erf(to_float(convert_to_tensor(x)))


def erfinv(x: Any) -> torch.Tensor:
    """The inverse error function, element-wise.

    Example:
        >>> ops.erfinv([0.0])
        tensor([0.])
    """
    return torch.erfinv(to_float(convert_to_tensor(x)))


def rsqrt(x: Any) -> torch.Tensor:
    """`1 / sqrt(x)`, element-wise.

    Example:
        >>> ops.rsqrt([4.0])
        tensor([0.5000])
    """
    return torch.rsqrt(to_float(convert_to_tensor(x)))


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: A002
    """The `k` largest values along the last axis and their int32 indices.

    Args:
        x: Input tensor.
        k: How many values to return.
        sorted: Return them in descending order. Defaults to `True`.

    Example:
        >>> values, indices = ops.top_k([1.0, 3.0, 2.0], 2)
        >>> values, indices
        (tensor([3., 2.]), tensor([1, 2], dtype=torch.int32))
    """
    x = convert_to_tensor(x)
    if not 0 < k <= x.shape[-1]:
        raise ValueError(
            f"`ops.top_k` expects `k` in [1, {x.shape[-1]}] (the size of the last axis). "
            f"Received: k={k}."
        )
    values, indices = torch.topk(x, k, dim=-1, sorted=sorted)
    return values, indices.to(torch.int32)


def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """Whether each target class is among the `k` highest predictions of its row.

    Args:
        targets: Integer class labels, shape `(batch,)`.
        predictions: Scores, shape `(batch, num_classes)`.
        k: Number of top predictions to consider.

    Example:
        >>> ops.in_top_k([1, 0], [[0.1, 0.9], [0.1, 0.9]], 1)
        tensor([ True, False])
    """
    t, p = tensors(targets, predictions)
    target_score = torch.gather(p, 1, t.long().unsqueeze(1))
    # Ties count in favour of the target, as in TensorFlow.
    return (p > target_score).sum(dim=1) < k


def _segments(op: str, data: Any, segment_ids: Any, num_segments: int | None
              ) -> tuple[torch.Tensor, torch.Tensor, int]:
    d, ids = tensors(data, segment_ids)
    ids = ids.long()
    if ids.ndim != 1 or ids.shape[0] != d.shape[0]:
        raise ValueError(
            f"`ops.{op}` expects 1-D `segment_ids` with one id per row of `data`. "
            f"Received: segment_ids.shape={tuple(ids.shape)}, data.shape={tuple(d.shape)}."
        )
    n = int(ids.max().item()) + 1 if num_segments is None else int(num_segments)
    return d, ids, n


def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Sums the rows of `data` that share a segment id.

    Args:
        data: Tensor whose first axis is segmented.
        segment_ids: 1-D integer ids, one per row.
        num_segments: Number of output rows. Defaults to `None` (max id + 1).
        sorted: Accepted for Keras compatibility. Defaults to `False`.

    Example:
        >>> ops.segment_sum([1.0, 2.0, 3.0], [0, 0, 1])
        tensor([3., 3.])
    """
    d, ids, n = _segments("segment_sum", data, segment_ids, num_segments)
    out = torch.zeros((n, *d.shape[1:]), dtype=d.dtype, device=d.device)
    keep = (ids >= 0) & (ids < n)
    return out.index_add(0, ids[keep], d[keep])


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> torch.Tensor:  # noqa: A002
    """Maximum of the rows of `data` that share a segment id.

    Empty segments hold `-inf` for floats (as Keras's JAX and PyTorch backends) and
    the lowest value for integers.

    Example:
        >>> ops.segment_max([1.0, 2.0, 3.0], [0, 0, 1])
        tensor([2., 3.])
    """
    d, ids, n = _segments("segment_max", data, segment_ids, num_segments)
    low = -torch.inf if d.is_floating_point() else torch.iinfo(d.dtype).min
    out = torch.full((n, *d.shape[1:]), low, dtype=d.dtype, device=d.device)
    keep = (ids >= 0) & (ids < n)
    index = ids[keep].reshape(-1, *([1] * (d.ndim - 1))).expand_as(d[keep])
    return out.scatter_reduce(0, index, d[keep], reduce="amax", include_self=True)


def _complex(op: str, x: Any) -> torch.Tensor:
    if not (isinstance(x, (tuple, list)) and len(x) == 2):
        raise ValueError(
            f"`ops.{op}` expects a tuple `(real, imag)` of two float tensors, as in Keras. "
            f"Received: x of type {type(x).__name__}."
        )
    real, imag = tensors(*x)
    return torch.complex(to_float(real), to_float(imag).to(to_float(real).dtype))


def fft(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """FFT along the last axis of `x = (real, imag)`; returns `(real, imag)`.

    Example:
        >>> real, imag = ops.fft((ops.ones(4), ops.zeros(4)))
        >>> real
        tensor([4., 0., 0., 0.])
    """
    out = torch.fft.fft(_complex("fft", x))
    return out.real, out.imag


def fft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """2-D FFT over the last two axes of `x = (real, imag)`; returns `(real, imag)`.

    Example:
        >>> real, imag = ops.fft2((ops.ones((2, 2)), ops.zeros((2, 2))))
    """
    out = torch.fft.fft2(_complex("fft2", x))
    return out.real, out.imag


def rfft(x: Any, fft_length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """FFT of a real signal along the last axis; returns `(real, imag)`.

    Example:
        >>> real, imag = ops.rfft(ops.ones(4))
        >>> real
        tensor([4., 0., 0.])
    """
    out = torch.fft.rfft(to_float(convert_to_tensor(x)), n=fft_length)
    return out.real, out.imag


def irfft(x: Any, fft_length: int | None = None) -> torch.Tensor:
    """Inverse of `rfft`: from `(real, imag)` back to a real signal.

    Example:
        >>> ops.irfft(ops.rfft([1.0, 2.0, 3.0, 4.0]))
        tensor([1., 2., 3., 4.])
    """
    return torch.fft.irfft(_complex("irfft", x), n=fft_length)


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> torch.Tensor:
    """Frames the last axis into overlapping windows.

    Output shape: `(*x.shape[:-1], num_sequences, sequence_length)`.

    Example:
        >>> ops.extract_sequences([1, 2, 3, 4], 2, 2)
        tensor([[1, 2],
                [3, 4]], dtype=torch.int32)
    """
    x = convert_to_tensor(x)
    check_axis("extract_sequences", -1, x.ndim)
    return x.unfold(-1, sequence_length, sequence_stride)


def ifft2(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse 2-D FFT over the last two axes of `x = (real, imag)`; returns `(real, imag)`.

    Example:
        >>> real, imag = ops.ifft2(ops.fft2((ops.ones((2, 2)), ops.zeros((2, 2)))))
        >>> real
        tensor([[1., 1.],
                [1., 1.]])
    """
    out = torch.fft.ifft2(_complex("ifft2", x))
    return out.real, out.imag


def view_as_complex(x: Any) -> torch.Tensor:
    """Views a real tensor whose last axis has size 2 as complex numbers.

    Example:
        >>> ops.view_as_complex([[1.0, 2.0]])
        tensor([1.+2.j])
    """
    x = to_float(convert_to_tensor(x))
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(
            "`ops.view_as_complex` expects a last axis of size 2 (real, imaginary). "
            f"Received: x.shape={tuple(x.shape)}."
        )
    return torch.view_as_complex(x.contiguous())


def view_as_real(x: Any) -> torch.Tensor:
    """Views complex numbers as a real tensor with a last axis of size 2.

    Example:
        >>> ops.view_as_real(ops.view_as_complex([[1.0, 2.0]]))
        tensor([[1., 2.]])
    """
    return torch.view_as_real(convert_to_tensor(x))


def _stft_window(window: Any, sequence_length: int, like: torch.Tensor) -> torch.Tensor | None:
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(
                "`window` must be 'hann', 'hamming', a 1-D tensor or None. "
                f"Received: window={window!r}."
            )
        fn = torch.hann_window if window == "hann" else torch.hamming_window
        return fn(sequence_length, periodic=True, dtype=like.dtype, device=like.device)
    w = convert_to_tensor(window, device=like.device).to(like.dtype)
    if w.shape != (sequence_length,):
        raise ValueError(
            f"`window` must have shape ({sequence_length},) (the sequence length). "
            f"Received: window.shape={tuple(w.shape)}."
        )
    return w


def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int,
         window: Any = "hann", center: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Short-time Fourier transform along the last axis; returns `(real, imag)`.

    Args:
        x: Real signal, shape `(..., samples)`.
        sequence_length: Window length.
        sequence_stride: Hop between windows.
        fft_length: FFT size (>= `sequence_length`; the window is centred in it).
        window: `"hann"`, `"hamming"` (periodic), a 1-D tensor or None.
            Defaults to `"hann"`.
        center: Reflect-pad the signal by `fft_length // 2` on both sides.
            Defaults to `True`.

    Returns:
        Two tensors of shape `(..., num_frames, fft_length // 2 + 1)`.

    Example:
        >>> real, imag = ops.stft(ops.ones(16), 8, 4, 8)
        >>> real.shape
        torch.Size([5, 5])
    """
    x = to_float(convert_to_tensor(x))
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    w = _stft_window(window, sequence_length, flat)
    if w is None:
        w = torch.ones(sequence_length, dtype=flat.dtype, device=flat.device)
    out = torch.stft(flat, n_fft=fft_length, hop_length=sequence_stride, win_length=sequence_length,
                     window=w, center=center, pad_mode="reflect", return_complex=True)
    out = out.transpose(-1, -2).reshape(*shape[:-1], -1, fft_length // 2 + 1)
    return out.real, out.imag


def istft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int,
          length: int | None = None, window: Any = "hann", center: bool = True) -> torch.Tensor:
    """Inverse of `stft`: rebuilds the signal from `x = (real, imag)` by overlap-add.

    Args:
        x: `(real, imag)`, each of shape `(..., num_frames, fft_length // 2 + 1)`.
        sequence_length: Window length used by `stft`.
        sequence_stride: Hop used by `stft`.
        fft_length: FFT size used by `stft`.
        length: Samples to return. Defaults to `None` (all).
        window: The `stft` window. Defaults to `"hann"`.
        center: Whether `stft` padded the signal. Defaults to `True`.

    Example:
        >>> signal = ops.sin(ops.arange(32.0))
        >>> back = ops.istft(ops.stft(signal, 8, 2, 8), 8, 2, 8, length=32)
        >>> bool(ops.all(ops.abs(back - signal) < 1e-5))
        True
    """
    z = _complex("istft", x)
    shape = z.shape
    flat = z.reshape(-1, shape[-2], shape[-1]).transpose(-1, -2)
    w = _stft_window(window, sequence_length, flat.real)
    if w is None:
        w = torch.ones(sequence_length, dtype=flat.real.dtype, device=flat.device)
    out = torch.istft(flat, n_fft=fft_length, hop_length=sequence_stride, win_length=sequence_length,
                      window=w, center=center, length=length)
    return out.reshape(*shape[:-2], out.shape[-1])
