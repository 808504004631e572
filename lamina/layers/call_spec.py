"""What `Layer.forward` needs to know about a layer class's `call`, read once per class.

Keras inspects a layer's `call` signature once and passes `training` and `mask`
only to a `call` that takes them. `call_spec(cls)` does the same for Lamina and
caches the answer per class, so the per-call cost is one dict lookup. The module
also holds the other per-call helpers of `Layer.forward` that are off its fast
path: converting NumPy / Python inputs to tensors, building from several
positional inputs, the house-form error for an unexpected keyword, and Keras's
mask rules for custom layers.
"""

from __future__ import annotations

import inspect
import threading
import warnings
from typing import Any

import numpy as np
import torch

MASK_ATTR = "_keras_mask"
LEGACY_MASK_ATTR = "_lamina_mask"


class _TrainingContext(threading.local):
    """The training flag of the outermost call that was given one: a sub-layer called
    without `training=` inherits it, as in Keras. One per thread, so that a server's
    worker thread predicting while another thread trains (or several threads
    predicting at once) never see each other's flag."""

    value: bool | None = None


TRAINING_CONTEXT = _TrainingContext()


class CallSpec:
    """The parts of a `call` signature that `Layer.forward` uses.

    Attributes:
        positional: Names of the parameters that can be passed by position.
        n_required: How many of them have no default.
        max_positional: `len(positional)`, or None when `call` takes `*args`.
        keywords: Names that can be passed by keyword (None when `**kwargs`).
        takes_training: Whether `call` has a `training` parameter.
        takes_mask: Whether `call` has a `mask` parameter.
        keras_rules: Whether Keras's mask rules apply (a user's layer, not one of
            Lamina's, which handle masks themselves).
        text: The signature as text, for error messages.
    """

    def __init__(self, cls: type) -> None:
        try:
            sig = inspect.signature(cls.call)
        except (TypeError, ValueError):  # a builtin or odd callable: accept anything
            sig = None
        params = list(sig.parameters.values())[1:] if sig is not None else []
        kinds = inspect.Parameter
        self.positional = [p.name for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
        self.n_required = sum(
            1 for p in params
            if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        )
        var_pos = sig is None or any(p.kind == kinds.VAR_POSITIONAL for p in params)
        var_kw = sig is None or any(p.kind == kinds.VAR_KEYWORD for p in params)
        self.max_positional = None if var_pos else len(self.positional)
        names = {p.name for p in params if p.kind != kinds.POSITIONAL_ONLY}
        self.keywords: frozenset[str] | None = None if var_kw else frozenset(names)
        self.takes_training = "training" in names
        self.takes_mask = "mask" in names
        self.tensor_args = [n for n in self.positional if n not in ("training", "mask")]
        self.keras_rules = not _derives_from_lamina_layer(cls)
        self.text = f"call{sig}" if sig is not None else "call(...)"


_SPECS: dict[type, CallSpec] = {}


def call_spec(cls: type) -> CallSpec:
    """The (cached) `CallSpec` of a layer class."""
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = CallSpec(cls)
    return spec


def _derives_from_lamina_layer(cls: type) -> bool:
    """Whether ``cls`` is (or extends) one of Lamina's own layers, rather than a user's
    layer written directly on the `Layer` / `Model` bases."""
    bases = {"lamina.layers.layer.Layer", "lamina.models.model.Model"}
    for c in cls.__mro__:
        qual = f"{c.__module__}.{c.__qualname__}"
        if qual in bases:
            return False
        if c.__module__.startswith("lamina.") and "call" in c.__dict__:
            return True
    return False


# ---------------------------------------------------------------------- keywords
def filter_kwargs(layer: Any, spec: CallSpec, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` without the `training` / `mask` that `call` does not take; any other
    unknown keyword raises the house-form error."""
    out = {}
    for key, value in kwargs.items():
        if key in spec.keywords:  # type: ignore[operator]
            out[key] = value
        elif key not in ("training", "mask"):
            raise TypeError(
                f"Layer '{layer.name}' ({type(layer).__name__}) got an unexpected keyword argument "
                f"`{key}`: its `{spec.text}` does not take it. Received: {key}={_short(value)}. "
                "Pass only the arguments its `call` accepts."
            )
    return out


def too_many_positional(layer: Any, spec: CallSpec, n: int) -> TypeError:
    return TypeError(
        f"Layer '{layer.name}' ({type(layer).__name__}) takes at most {spec.max_positional} "
        f"positional input(s) ({', '.join(spec.positional)}) in its `{spec.text}`. Received: "
        f"{n} positional arguments. Pass the others by keyword, or several tensors as one list."
    )


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"<tensor of shape {tuple(value.shape)}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------- inputs
def _is_number_list(x: Any) -> bool:
    if isinstance(x, (list, tuple)):
        return len(x) > 0 and all(_is_number_list(v) for v in x)
    return isinstance(x, (int, float, bool, np.number, np.bool_))


def _convert_leaf(x: Any, device: torch.device | None) -> Any:
    if isinstance(x, np.ndarray) or isinstance(x, np.generic):
        if x.dtype.kind not in "biufc" or isinstance(x, np.ndarray) and type(x) is not np.ndarray:
            return x  # text (and placeholders) stay NumPy for the layers that take text
        arr = np.ascontiguousarray(x)
        t = torch.as_tensor(arr if arr.flags.writeable else arr.copy())
        if t.is_floating_point() and t.dtype != torch.get_default_dtype():
            t = t.to(torch.get_default_dtype())
        return t if device is None else t.to(device)
    return x


def convert_inputs(x: Any, device: torch.device | None) -> Any:
    """NumPy arrays and (nested) Python lists of numbers become tensors (floats as
    float32, as Keras converts inputs to the layer's dtype); lists / tuples / dicts
    of arrays are converted leaf by leaf; tensors and text are left as they are."""
    if isinstance(x, torch.Tensor) or x is None:
        return x
    if isinstance(x, (list, tuple)):
        if _is_number_list(x):
            return _convert_leaf(np.asarray(x), device)
        converted = [convert_inputs(v, device) for v in x]
        return converted if isinstance(x, list) else tuple(converted)
    if isinstance(x, dict):
        return {k: convert_inputs(v, device) for k, v in x.items()}
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return _convert_leaf(np.asarray(x), device)
    if not isinstance(x, (np.ndarray, np.generic, str, bytes)) and hasattr(x, "__array__"):
        x = np.asarray(x)  # pandas objects and other array-likes
    return _convert_leaf(x, device)


def shape_of(x: Any) -> Any:
    """Keras-style shape of a tensor (or nested structure): batch axis as None."""
    if isinstance(x, dict):
        return {k: shape_of(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [shape_of(v) for v in x]
    return (None, *tuple(x.shape[1:]))


def build_shapes(build: Any, spec: CallSpec, inputs: Any, args: tuple) -> dict[str, Any] | None:
    """Keyword shapes for a `build(self, a_shape, b_shape)` of a layer called with several
    positional tensors (`{name}_shape` after `call`'s parameter names), as Keras does;
    None when `build` takes a single shape (it then gets the first input's)."""
    try:
        params = [p for p in list(inspect.signature(build).parameters.values())]
    except (TypeError, ValueError):
        return None
    if len([p for p in params if p.kind != p.VAR_KEYWORD]) <= 1:
        return None
    values = (inputs, *args)
    return {f"{name}_shape": shape_of(v) for name, v in zip(spec.positional, values) if v is not None}


# ---------------------------------------------------------------------- masks
def read_mask(x: Any) -> Any:
    """The mask of ``x``: a tensor's `_keras_mask` (or `_lamina_mask`); for a list of
    tensors, the list of their masks (None when none has one)."""
    if isinstance(x, (list, tuple)):
        masks = [read_mask(v) for v in x]
        return masks if any(m is not None for m in masks) else None
    mask = getattr(x, MASK_ATTR, None)
    return getattr(x, LEGACY_MASK_ATTR, None) if mask is None else mask


def write_mask(x: Any, mask: Any) -> None:
    if isinstance(x, torch.Tensor):
        setattr(x, MASK_ATTR, mask)
        setattr(x, LEGACY_MASK_ATTR, mask)


def apply_keras_mask_rules(layer: Any, inputs: Any, outputs: Any, previous_mask: Any) -> None:
    """Keras 3's mask rules after a custom layer's call: a layer that supports masking
    sets the outputs' masks from `compute_mask(inputs, previous_mask)` (unless `call`
    set them); one that does not drops an incoming mask with Keras's warning (not
    given when `call` attached its own masks to every output)."""
    flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if all(read_mask(o) is not None for o in flat if isinstance(o, torch.Tensor)):
        return  # `call` set the masks itself (then nothing is destroyed: no warning)
    if layer.supports_masking:
        masks = layer.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        masks = masks if isinstance(masks, (list, tuple)) and isinstance(outputs, (list, tuple)) else [masks]
        for out, mask in zip(flat, masks):
            if mask is not None and isinstance(out, torch.Tensor) and read_mask(out) is None:
                write_mask(out, mask)
    elif previous_mask is not None:
        warnings.warn(
            f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a "
            "mask attached to it. However, this layer does not support masking and will "
            "therefore destroy the mask information. Downstream layers will not see the mask.",
            stacklevel=4,
        )
