"""The inference path of `predict`: few Python steps between the caller and the model.

`predict` on in-memory arrays with no callbacks and no progress display (the
call a server or a user's loop makes for a few rows) costs little more than
the forward pass itself:

* `prepare(model, device)` switches the model to inference mode and checks
  where its weights are in one walk over the modules (no `model.eval()` /
  `model.train()` / `model.to(device)` walks when nothing has to change);
  `restore(state)` puts the training flags back as they were (concurrent or
  nested predictions on one model share the switch: the last one restores);
* `as_tensors(x)` converts NumPy arrays / tensors (or a dict / list of them)
  as the data adapter does, or returns None when ``x`` needs the general path
  (text, pandas, datasets, NaN, mismatched lengths: the adapter then explains);
* `predict_arrays(model, x, batch_size)` runs the batches through the model
  and joins the outputs as `predict` does.

Everything here is an optimisation of `Trainer.predict`'s general path and
gives the same outputs; `tests/test_predict_fast_path.py` checks both against
each other.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch
from torch import nn

from lamina.training import data_adapter, loops

_MODULE_TRAIN = nn.Module.train
_NUMERIC_KINDS = frozenset("fiub")


class InferenceState:
    """What `prepare` changed, for `restore`: the modules switched out of training
    mode (or the model's own `train` method when one of its modules overrides it)."""

    __slots__ = ("model", "switched", "was_training", "has_weights")

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.switched: list[nn.Module] | None = []
        self.was_training = model.training
        self.has_weights = False


def _resolve(device: torch.device) -> torch.device:
    """The device with its index, as weights report it (``cuda`` is ``cuda:<current>``)."""
    if device.index is not None or device.type == "cpu":
        return device
    if device.type == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device(device.type, 0)


# Models inside `prepare` ... `restore`: id -> [calls in progress, the first call's state].
# Concurrent (or nested) predictions on one model share the first call's switch, and the
# last one to finish restores the flags, so no thread's forward pass runs in training mode
# because another thread's `predict` ended.
_ACTIVE: dict[int, list[Any]] = {}
_LOCK = threading.Lock()


def prepare(model: nn.Module, device: torch.device) -> InferenceState:
    """Moves ``model`` to ``device`` when any weight or buffer is elsewhere and puts
    every module in inference mode (``training = False``); returns what to restore.

    One walk over the modules (`model.eval()` and `model.to()` take one each, even
    when nothing changes). A module whose class overrides `train()` is honoured:
    the whole model then goes through `model.eval()` and, in `restore`,
    `model.train(was_training)`. Thread-safe: while several calls are in
    progress on one model, only the last `restore` puts the flags back.
    """
    key = id(model)
    with _LOCK:
        active = _ACTIVE.get(key)
        if active is not None and active[1].model is model:
            active[0] += 1
            return active[1]
        state = _switch(model, device)
        _ACTIVE[key] = [1, state]
        return state


def restore(state: InferenceState) -> None:
    """Puts back the training flags `prepare` changed (when the last call in progress ends)."""
    key = id(state.model)
    with _LOCK:
        active = _ACTIVE.get(key)
        if active is not None and active[1] is state:
            active[0] -= 1
            if active[0]:
                return
            del _ACTIVE[key]
        if state.switched is None:
            state.model.train(state.was_training)
            return
        for m in state.switched:
            m.__dict__["training"] = True


def _switch(model: nn.Module, device: torch.device) -> InferenceState:
    state = InferenceState(model)
    device = _resolve(device)
    switched: list[nn.Module] = []
    move = custom_train = has_weights = False
    seen: set[int] = set()
    stack: list[Any] = [model]
    while stack:
        m = stack.pop()
        key = id(m)
        if key in seen or m is None:
            continue
        seen.add(key)
        d = m.__dict__
        params = d["_parameters"]
        if params:
            for p in params.values():
                if p is not None:
                    has_weights = True
                    if p.device != device:
                        move = True
        buffers = d["_buffers"]
        if buffers and not move:
            for b in buffers.values():
                if b is not None and b.device != device:
                    move = True
        if type(m).train is not _MODULE_TRAIN:
            custom_train = True
        if d.get("training", False):
            switched.append(m)
        children = d["_modules"]
        if children:
            stack.extend(children.values())
    state.has_weights = has_weights
    if move:
        model.to(device)
    if custom_train:
        state.switched = None
        model.eval()
        return state
    for m in switched:
        m.__dict__["training"] = False
    state.switched = switched
    return state


def _leaf_tensor(a: Any) -> torch.Tensor | None:
    """One input array as the data adapter converts it, or None for the general path."""
    if type(a) is np.ndarray:
        if a.ndim == 0 or a.dtype.kind not in _NUMERIC_KINDS:
            return None
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return None  # NaN or inf: the adapter finds the first one and explains
        if a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable:
            return torch.from_numpy(a)
        return data_adapter.to_tensor(a, "x")
    if isinstance(a, torch.Tensor):
        if a.ndim == 0:
            return None
        t = data_adapter.to_tensor(a, "x")
        if t.dtype == torch.float32 and t.device.type == "cpu":
            finite = bool(np.isfinite(t.detach().numpy()).all())  # (NumPy's check is quicker on small arrays)
        else:
            finite = not t.is_floating_point() or bool(torch.isfinite(t).all())
        return t if finite else None
    return None


def as_tensors(x: Any) -> tuple[Any, int] | None:
    """``x`` as tensors (the data adapter's conversions) and its number of rows, or
    None when ``x`` is not plain numeric arrays of one length with finite values."""
    if isinstance(x, (np.ndarray, torch.Tensor)):
        t = _leaf_tensor(x)
        return None if t is None else (t, int(t.shape[0]))
    if isinstance(x, dict) and x:
        out: Any = {}
        for k, v in x.items():
            t = _leaf_tensor(v)
            if t is None:
                return None
            out[k] = t
        leaves = list(out.values())
    elif isinstance(x, (list, tuple)) and x:
        out = []
        for v in x:
            t = _leaf_tensor(v)
            if t is None:
                return None
            out.append(t)
        leaves = out
    else:
        return None
    n = int(leaves[0].shape[0])
    if any(int(t.shape[0]) != n for t in leaves):
        return None
    return out, n


def _to_device(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x if x.device == device else x.to(device, non_blocking=True)
    if isinstance(x, dict):
        return {k: _to_device(v, device) for k, v in x.items()}
    return [_to_device(v, device) for v in x]


def _rows(x: Any, start: int, stop: int) -> Any:
    if isinstance(x, torch.Tensor):
        return x[start:stop]
    if isinstance(x, dict):
        return {k: v[start:stop] for k, v in x.items()}
    return [v[start:stop] for v in x]


def predict_arrays(model: Any, x: Any, batch_size: int | None, device: torch.device) -> Any:
    """`predict(x, batch_size, verbose=0)` for in-memory arrays and the default
    `predict_step`, or None when ``x`` or the model needs the general path (an
    unbuilt model, a model without weights, data the adapter must check)."""
    if batch_size is None:
        batch_size = 32
    elif type(batch_size) is not int or batch_size <= 0:
        return None
    if not model.built:
        return None
    converted = as_tensors(x)
    if converted is None or converted[1] == 0:
        return None
    xt, n = converted
    device = _resolve(device)
    state = prepare(model, device)
    try:
        if not state.has_weights:
            return None  # `_ensure_built` decides whether a weightless model needs a build
        xt = _to_device(xt, device)
        with torch.no_grad():
            if n <= batch_size:
                outputs = [model(xt, training=False)]
            elif isinstance(xt, torch.Tensor):
                outputs = [model(chunk, training=False) for chunk in xt.split(batch_size)]
            else:
                outputs = [model(_rows(xt, i, i + batch_size), training=False) for i in range(0, n, batch_size)]
    finally:
        restore(state)
    return loops.concat_to_numpy(outputs)
