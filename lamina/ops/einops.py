"""`ops.rearrange`: einops-style axis reordering, splitting and merging, as Keras's `ops.einops`."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.core import convert_to_tensor


def _einops_side(op: str, side: str) -> list[list[str]]:
    groups: list[list[str]] = []
    current: list[str] | None = None
    for token in side.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if current is not None:
                raise ValueError(f"`ops.{op}` does not allow nested parentheses. Received: {side!r}.")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"`ops.{op}` found an unmatched ')'. Received: {side!r}.")
            groups.append(current)
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    if current is not None:
        raise ValueError(f"`ops.{op}` found an unmatched '('. Received: {side!r}.")
    return groups


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> torch.Tensor:
    """Reorders, splits and merges axes with an einops pattern, e.g. `"b (h w) c -> b h w c"`.

    Args:
        tensor: Input tensor.
        pattern: `"<input axes> -> <output axes>"`; parentheses group axes that are
            merged (output) or split (input); `...` stands for the other axes.
        **axes_lengths: Sizes of split axes that cannot be inferred, e.g. `h=2`.

    Example:
        >>> ops.rearrange(ops.zeros((2, 6, 3)), "b (h w) c -> b h w c", h=2).shape
        torch.Size([2, 2, 3, 3])
    """
    x = convert_to_tensor(tensor)
    if pattern.count("->") != 1:
        raise ValueError(
            f"`ops.rearrange` expects a pattern '<input> -> <output>'. Received: pattern={pattern!r}."
        )
    lhs, rhs = (_einops_side("rearrange", side) for side in pattern.split("->"))
    n_ellipsis = sum(g == ["..."] for g in lhs)
    extra = x.ndim - (len(lhs) - n_ellipsis)
    if n_ellipsis > 1 or (n_ellipsis == 0 and extra != 0) or extra < 0:
        raise ValueError(
            f"`ops.rearrange` pattern {pattern!r} does not match an input of rank {x.ndim}. "
            f"Received: shape={tuple(x.shape)}."
        )
    ellipsis = [f"...{i}" for i in range(extra)]

    def expand(groups: list[list[str]]) -> list[list[str]]:
        out = []
        for g in groups:
            out += [[e] for e in ellipsis] if g == ["..."] else [[e for n in g for e in (ellipsis if n == "..." else [n])]]
        return out

    lhs, rhs = expand(lhs), expand(rhs)
    sizes: dict[str, int] = dict(axes_lengths)
    for group, dim in zip(lhs, x.shape):
        unknown = [n for n in group if n not in sizes]
        known = 1
        for n in group:
            known *= sizes.get(n, 1)
        if len(unknown) > 1 or (not unknown and known != dim) or (unknown and dim % known):
            raise ValueError(
                f"`ops.rearrange` cannot split an axis of size {dim} into {group}. "
                f"Received: axes_lengths={axes_lengths}. Give all but one of the group's sizes."
            )
        if unknown:
            sizes[unknown[0]] = dim // known
    names = [n for g in lhs for n in g]
    out_names = [n for g in rhs for n in g]
    if sorted(names) != sorted(out_names):
        raise ValueError(
            f"`ops.rearrange` needs the same axes on both sides. Received: pattern={pattern!r}."
        )
    x = x.reshape([sizes[n] for n in names]).permute([names.index(n) for n in out_names])
    shape = []
    for g in rhs:
        size = 1
        for n in g:
            size *= sizes[n]
        shape.append(size)
    return x.reshape(shape)
