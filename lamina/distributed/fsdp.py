"""Fully sharded data parallelism (PyTorch's FSDP2, `fully_shard`) for `fit`.

`shard_model` shards the parameters of each top-level layer, then of the
model, over the processes (every process keeps 1/world_size of each
parameter; the full ones are gathered for each forward and backward pass),
moves the optimizer onto the sharded parameters and scales the gradient of
each process's part of the batch so that the averaged gradient is the
gradient of the global batch (short last batch included).

The model stays sharded after `fit`: `evaluate` and `predict` then run on all
the data on every process (the forward pass is a collective operation), and
`model.save` / `save_weights` gather the full weights on every process (all
must call them) and write an ordinary file from rank 0 (`gathered`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist

from lamina.distributed.context import DistributedContext
from lamina.distributed.sharding import StepWeight
from lamina.utils.tree import map_structure


def is_sharded(model: Any) -> bool:
    """Whether ``model`` was sharded by `fully_shard` (no import when FSDP was never used)."""
    if "torch.distributed.fsdp" not in sys.modules:
        return False
    from torch.distributed.fsdp import FSDPModule

    return isinstance(model, FSDPModule)


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, t: torch.Tensor, scale: float) -> torch.Tensor:  # noqa: D102
        ctx.scale = scale
        return t.view_as(t)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        return grad * ctx.scale, None


class ScaledForward:
    """The model's forward pass whose outputs pass back their gradient times
    ``world_size × n_rank / n_global`` (FSDP then averages over the processes)."""

    def __init__(self, model: Any, weight: StepWeight, world_size: int) -> None:
        self.model = model
        self.weight = weight
        self.world_size = world_size

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.model(*args, **kwargs)
        scale = self.weight.value * self.world_size
        if not torch.is_grad_enabled() or scale == 1.0:
            return out
        return map_structure(
            lambda t: (
                _ScaleGrad.apply(t, scale) if isinstance(t, torch.Tensor) and t.requires_grad else t
            ),
            out,
        )


def _optimizers(model: Any) -> list[Any]:
    from lamina.optimizers import Optimizer

    found = [v for v in vars(model).values() if isinstance(v, Optimizer)]
    return [
        o for o in found if getattr(o, "built", False) and getattr(o, "_torch", None) is not None
    ]


def _rebind(optimizer: Any, new_for_old: dict[int, torch.nn.Parameter]) -> None:
    """Points ``optimizer`` at the sharded parameters; its state is sharded alike."""
    from torch.distributed.tensor import distribute_tensor

    if optimizer._constrained:
        raise ValueError(
            "`FullyShardedDataParallel` cannot train weights with a `constraint` (the projection "
            "needs the full weight). Received: a model with constrained weights. Use "
            "`lamina.distributed.DataParallel()` for this model."
        )
    torch_opt = optimizer._torch
    for group in torch_opt.param_groups:
        group["params"] = [new_for_old.get(id(p), p) for p in group["params"]]
    state = {}
    for old, entry in torch_opt.state.items():
        new = new_for_old.get(id(old), old)
        converted = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor) and value.shape == old.shape and new is not old:
                value = distribute_tensor(value.detach(), new.device_mesh, new.placements)
            converted[key] = value
        state[new] = converted
    torch_opt.state.clear()
    torch_opt.state.update(state)
    optimizer._params = [new_for_old.get(id(p), p) for p in optimizer._params]


def shard_model(model: Any, ctx: DistributedContext) -> None:
    """Shards ``model`` in place with `fully_shard` (once) and moves its optimizers over."""
    if is_sharded(model):
        return
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    with torch.no_grad():  # every process starts from rank 0's weights, as with DDP
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor.data, src=0)
    old = dict(model.named_parameters())
    mesh = init_device_mesh(ctx.device.type, (ctx.world_size,))
    for layer in getattr(model, "layers", []):
        if any(p.requires_grad for p in layer.parameters()):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    new = dict(model.named_parameters())
    new_for_old = {id(p): new[name] for name, p in old.items() if name in new}
    for optimizer in _optimizers(model):
        _rebind(optimizer, new_for_old)


@contextlib.contextmanager
def gathered(model: Any) -> Iterator[None]:
    """Within it, a sharded ``model`` holds its full weights (and its optimizers their
    full state): a collective operation, every process must enter it."""
    if not is_sharded(model):
        yield
        return
    from torch.distributed.fsdp import FSDPModule
    from torch.distributed.tensor import DTensor

    classes: list[tuple[torch.nn.Module, type]] = []
    for module in model.modules():
        if isinstance(module, FSDPModule):  # `fully_shard` made its class `FSDP<Class>`
            classes.append((module, type(module)))
            module.__class__ = next(c for c in type(module).__bases__ if c is not FSDPModule)
    hooks: list[tuple[torch.nn.Module, str, Any]] = []
    for module in model.modules():  # no all-gather in a forward pass now (a profile, a trace)
        for attr in ("_forward_pre_hooks", "_forward_hooks"):
            if getattr(module, attr):
                hooks.append((module, attr, getattr(module, attr)))
                setattr(module, attr, type(getattr(module, attr))())
    swaps: list[tuple[torch.nn.Module, str, torch.nn.Parameter]] = []
    states: list[tuple[dict, str, Any]] = []
    full_for: dict[int, torch.nn.Parameter] = {}
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if isinstance(p, DTensor):
                if id(p) not in full_for:
                    full_for[id(p)] = torch.nn.Parameter(
                        p.full_tensor().detach(), requires_grad=p.requires_grad
                    )
                swaps.append((module, name, p))
                module._parameters[name] = full_for[id(p)]
    for optimizer in _optimizers(model):
        for entry in optimizer._torch.state.values():
            for key, value in entry.items():
                if isinstance(value, DTensor):
                    states.append((entry, key, value))
                    entry[key] = value.full_tensor()
    try:
        yield
    finally:
        for module, name, p in swaps:
            module._parameters[name] = p
        for entry, key, value in states:
            entry[key] = value
        for module, cls in classes:
            module.__class__ = cls
        for module, attr, value in hooks:
            setattr(module, attr, value)
