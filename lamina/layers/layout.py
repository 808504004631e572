"""Channels-first runs: consecutive spatial layers computed on one channels-first view.

Lamina's image and sequence layers are channels-last at the API and compute
with `torch.nn.functional` on a channels-first view of their input (see
`conv_utils`). Called one by one, a stack conv -> pool -> conv -> pool
permutes into and out of channels-first around every layer: two view ops and
two autograd nodes per layer, which on small images cost about as much as the
pooling itself (benchmarks/RESULTS.md). Models (`Sequential` and functional
graphs) find runs of such layers called one after the other and call each run
as a `ChannelsFirstRun`: the input is permuted once, each layer's
`_call_channels_first` computes on the channels-first tensor, and the result is
permuted back once (not at all when the run ends with a global pooling). The
numbers are the layers' own; only the view ops between them are gone.

A layer takes part by returning its number of spatial axes from
`_channels_first_rank()` (`ANY_RANK` for layers that act on each value alone,
such as `Dropout` or `Activation("relu")`) and implementing
`_call_channels_first(x, training)`. A run falls back to calling its layers one
by one (same results, each layer's own checks and error messages) whenever
its input is not the plain case: not a floating-point tensor of the rank and
channel count the run was built for, carrying a padding mask, or with hooks
registered on any of its layers (as `summary()` and the doctor do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.nn.modules import module as _torch_module

from lamina.layers import conv_utils
from lamina.layers.layer import ANY_RANK, Layer

# The private torch internals `DirectCall` and `ChannelsFirstRun` read to know that
# `nn.Module.__call__` would do nothing but call `forward`. tests/test_layout.py
# checks each of them (names, types, filled in place by the public hook APIs), so
# a torch version that changes them fails that test loudly; at run time, if any is
# missing, `INTERNALS_OK` is False, every layer's hook dicts read as "has hooks",
# and layers are called the ordinary way (same numbers, no shortcut).
GLOBAL_HOOK_NAMES = (
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)
MODULE_HOOK_NAMES = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _internals_ok() -> bool:
    probe = torch.nn.Module()
    return (
        all(isinstance(getattr(_torch_module, name, None), dict) for name in GLOBAL_HOOK_NAMES)
        and all(isinstance(getattr(probe, name, None), dict) for name in MODULE_HOOK_NAMES)
        and getattr(probe, "_compiled_call_impl", "missing") is None
        and callable(getattr(torch._C, "_get_tracing_state", None))
    )


INTERNALS_OK = _internals_ok()
_GLOBAL_HOOKS = tuple(getattr(_torch_module, name, {}) for name in GLOBAL_HOOK_NAMES)


def _hook_dicts(layer: torch.nn.Module) -> tuple[dict, ...]:
    """The hook dicts of ``layer`` that torch fills in place when hooks are registered.

    (The global ones are read from `_GLOBAL_HOOKS` at call time, never kept on an
    object: a `copy.deepcopy` of the model would copy them.)"""
    if not INTERNALS_OK:
        return (_ALWAYS_HOOKED,)
    return tuple(getattr(layer, name) for name in MODULE_HOOK_NAMES)


_ALWAYS_HOOKED = {"torch internals changed": True}


class DirectCall:
    """Calls a layer's `forward` directly, skipping `nn.Module.__call__`'s dispatch.

    `nn.Module.__call__` only looks for hooks, a `Module.compile()`d call and
    tracing before it calls `forward` (about 1 % of a small model's step); a
    model's steps know the answer ahead:
    while none of them is present, and the input is a tensor (not a symbolic
    one, which `Layer.__call__` handles), this calls `forward` itself; otherwise
    the layer is called as usual.
    """

    def __init__(self, layer: Layer) -> None:
        self.layer = layer
        self._hook_dicts = _hook_dicts(layer)

    def __repr__(self) -> str:
        return f"DirectCall({self.layer.name})"

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        layer = self.layer
        if (
            type(x) is not torch.Tensor
            or any(self._hook_dicts)
            or any(_GLOBAL_HOOKS)
            or layer._compiled_call_impl is not None
            or torch._C._get_tracing_state()
        ):
            return layer(x) if training is None else layer(x, training=training)
        return layer.forward(x) if training is None else layer.forward(x, training=training)


def _capability(layer: Any) -> tuple[int, bool] | None:
    """(rank, ends the run) of a built Lamina layer that can join a run, else None."""
    if not isinstance(layer, Layer) or not layer.built:
        return None
    rank = layer._channels_first_rank()
    if rank is None:
        return None
    return rank, bool(getattr(layer, "_exits_channels_first", False))


def find_runs(layers: Sequence[Any]) -> list[tuple[int, int, int]]:
    """The runs worth fusing among ``layers`` called one after the other.

    Returns ``(start, stop, rank)`` for each run ``layers[start:stop]``: layers
    of one rank (or `ANY_RANK`) that save at least one permutation pair when
    called as a `ChannelsFirstRun` (a run's only global pooling comes last).
    """
    runs = []
    i, n = 0, len(layers)
    while i < n:
        rank, j, permuting, exits = None, i, 0, False
        while j < n and not exits:
            cap = _capability(layers[j])
            if cap is None or (cap[0] != ANY_RANK and rank is not None and cap[0] != rank):
                break
            if cap[0] != ANY_RANK:
                rank = cap[0]
                exits = cap[1]
                permuting += 0 if exits else 1
            j += 1
        # One by one, each spatial layer permutes twice (a global pooling never);
        # a run permutes once in and once out (only in when it ends with a global pooling).
        saved = 2 * permuting - (1 if exits else 2)
        if rank is not None and saved > 0:
            runs.append((i, j, rank))
            i = j
        else:
            i += 1
    return runs


class ChannelsFirstRun:
    """Calls consecutive channels-last spatial layers on one channels-first view.

    Args:
        layers: The run's built layers, in call order (see `find_runs`).
        rank: Their number of spatial axes.

    Called as `run(x, training=None)` with the first layer's channels-last
    input; returns what the last layer would return.
    """

    def __init__(self, layers: Sequence[Layer], rank: int) -> None:
        self.layers = tuple(layers)
        self.rank = rank
        self._to_cf = conv_utils.to_channels_first(rank)
        self._to_cl = conv_utils.to_channels_last(rank)
        self._exits = bool(getattr(self.layers[-1], "_exits_channels_first", False))
        shape = self.layers[0]._build_input_shape
        self._channels = tuple(shape)[-1] if isinstance(shape, (tuple, list)) and shape else None
        # The hook dicts torch fills in place when hooks are registered: any non-empty
        # one (or a global hook) means the layers must be called one by one.
        self._hook_dicts = tuple(hooks for layer in self.layers for hooks in _hook_dicts(layer))

    def __repr__(self) -> str:
        names = ", ".join(layer.name for layer in self.layers)
        return f"ChannelsFirstRun([{names}], rank={self.rank})"

    def _plain(self, x: Any) -> bool:
        """Whether ``x`` is the case the run computes itself (else: layer by layer)."""
        return (
            isinstance(x, torch.Tensor)
            and x.ndim == self.rank + 2
            and x.is_floating_point()
            and (self._channels is None or x.shape[-1] == self._channels)
            and getattr(x, "_lamina_mask", None) is None
            and not any(self._hook_dicts)
            and not any(_GLOBAL_HOOKS)
        )

    def __call__(self, x: Any, training: bool | None = None) -> Any:
        if not self._plain(x):
            for layer in self.layers:
                x = layer(x) if training is None else layer(x, training=training)
            return x
        x = x.permute(self._to_cf)
        for layer in self.layers:
            x = layer._call_channels_first(x, training)
        return x if self._exits else x.permute(self._to_cl)


def stack_steps(layers: Sequence[Any], flags: Sequence[bool]) -> tuple[list[tuple[Any, bool]], bool]:
    """The call steps of a stack of ``layers`` (``flags``: whether each takes
    `training=`), with runs replaced by `ChannelsFirstRun`s and the other Lamina
    layers wrapped in `DirectCall`s.

    Returns the steps and whether they are final (every layer built; the
    caller may keep them until the stack changes).
    """
    steps = list(zip(layers, flags))
    if not all(getattr(layer, "built", True) for layer in layers):
        return steps, False
    for i, (layer, takes_training) in enumerate(steps):
        if isinstance(layer, Layer):
            steps[i] = (DirectCall(layer), takes_training)
    for start, stop, rank in reversed(find_runs(layers)):
        steps[start:stop] = [(ChannelsFirstRun(layers[start:stop], rank), True)]
    return steps, True
