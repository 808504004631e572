"""Connectionist Temporal Classification (Graves et al., 2006), for sequence
labels not aligned with the inputs (speech, handwriting): :func:`ctc` and :class:`CTC`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.losses.base import LossFunctionWrapper


def ctc(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Connectionist Temporal Classification loss (Graves et al., 2006), as Keras computes it.

    Class 0 is the blank and also pads the labels: a sample's label length is
    its number of non-zero entries, and every sample uses all ``time`` steps
    of ``y_pred``. Computed by ``torch.nn.functional.ctc_loss`` on
    ``log_softmax(y_pred)``.

    Args:
        y_true: Integer labels, shape ``(batch, max_label_length)``, padded
            with 0 (so real classes are ``1 .. num_classes - 1``).
        y_pred: Logits (not softmax outputs), shape ``(batch, time, num_classes)``.

    Returns:
        The per-sample loss (negative log-likelihood), shape ``(batch,)``.
    """
    y_pred = torch.as_tensor(y_pred)
    y_true = torch.as_tensor(y_true, device=y_pred.device)
    if y_true.ndim != 2:
        raise ValueError(
            "`ctc` expects `y_true` to be integer labels of shape (batch_size, max_length). "
            f"Received: y_true.shape={tuple(y_true.shape)}."
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "`ctc` expects `y_pred` to be logits of shape (batch_size, max_length, "
            f"num_classes). Received: y_pred.shape={tuple(y_pred.shape)}."
        )
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "`ctc` expects `y_true` and `y_pred` to have the same batch size. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}."
        )
    if y_pred.dtype in (torch.float16, torch.bfloat16) or not y_pred.is_floating_point():
        y_pred = y_pred.float()
    labels = y_true.long()
    batch, time = y_pred.shape[0], y_pred.shape[1]
    input_lengths = torch.full((batch,), time, dtype=torch.long, device=y_pred.device)
    label_lengths = (labels != 0).sum(dim=-1)
    log_probs = F.log_softmax(y_pred, dim=-1).transpose(0, 1)
    return F.ctc_loss(log_probs, labels, input_lengths, label_lengths, blank=0, reduction="none")


class CTC(LossFunctionWrapper):
    """CTC loss for unaligned sequence labels (speech, handwriting); see :func:`ctc`.

    Args:
        reduction: See :class:`lamina.losses.Loss`. Defaults to `"sum_over_batch_size"`.
        name: Defaults to `"ctc"`.

    Example:

    >>> import torch
    >>> labels = torch.tensor([[1, 2, 0]])          # "1 2", padded with the blank 0
    >>> logits = torch.zeros(1, 5, 3)                # 5 time steps, 3 classes
    >>> CTC()(labels, logits).shape
    torch.Size([])
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "ctc"):
        super().__init__(ctc, name=name, reduction=reduction)
