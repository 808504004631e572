"""The input specification of an export: names, shapes (None for the batch and
free axes), dtypes, and how to draw valid inputs from it.

The spec comes from the model's `Input` layers (functional models, Sequential
with an `Input`), else from the shapes the model was built with; an
``input_signature`` passed to the export overrides both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from lamina.saving.export.errors import ExportError


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, shape (batch axis first, None where the size
    is free) and dtype. ``high`` bounds integer inputs: ids are drawn in
    ``[0, high)``."""

    name: str
    shape: tuple[int | None, ...]
    dtype: torch.dtype
    high: int | None = None
    loc: torch.Tensor | None = dataclasses.field(default=None, compare=False, repr=False)
    scale: torch.Tensor | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def free_axes(self) -> list[int]:
        """The axes after the batch axis whose size is free (None)."""
        return [i for i, d in enumerate(self.shape) if d is None and i > 0]

    def to_json(self) -> dict[str, Any]:
        from lamina.layers.symbolic import dtype_name

        return {"name": self.name, "shape": list(self.shape), "dtype": dtype_name(self.dtype)}


@dataclasses.dataclass
class Signature:
    """The model's inputs, and the structure the model takes them in: one tensor
    (``"single"``), a list (``"list"``) or a dict keyed by input name (``"dict"``)."""

    specs: list[TensorSpec]
    structure: str = "single"

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def has_free_axes(self) -> bool:
        return any(s.free_axes for s in self.specs)

    def pack(self, tensors: Any) -> Any:
        """The model's input structure from a flat sequence of tensors."""
        tensors = list(tensors)
        if self.structure == "dict":
            return dict(zip(self.names, tensors))
        if self.structure == "list":
            return tensors
        return tensors[0]

    def dynamic_shapes(self, ranges: dict[str, tuple[int | None, int | None]] | None = None) -> tuple[dict[int, Any], ...]:
        """`torch.export` dynamic shapes: the batch axis, and each free axis (one
        dimension per axis position, ``axis1``, ..., shared by the inputs), within
        ``ranges`` (name -> (min, max), None for no bound) where given."""
        from torch.export import Dim

        def dim(name: str) -> Any:
            low, high = (ranges or {}).get(name, (None, None))
            bounds = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
            return Dim(name, **bounds)

        batch = dim("batch")
        free: dict[int, Any] = {}
        out = []
        for spec in self.specs:
            dims = {0: batch}
            for axis in spec.free_axes:
                if axis not in free:
                    free[axis] = dim(f"axis{axis}")
                dims[axis] = free[axis]
            out.append(dims)
        return tuple(out)

    def sample(self, batch: int, length: int | None, generator: torch.Generator) -> list[torch.Tensor]:
        """A batch drawn from the spec: floats from a standard normal (moved to ``loc``
        and ``scale`` when set), integer ids in ``[0, high)``, free axes of size ``length``."""
        tensors = []
        for spec in self.specs:
            shape = [batch] + [length if d is None else d for d in spec.shape[1:]]
            if any(d is None for d in shape):
                raise ExportError(f"Input '{spec.name}' has a free axis but no length was given.")
            if spec.dtype.is_floating_point:
                x = torch.randn(shape, generator=generator)
                if spec.loc is not None and spec.scale is not None:
                    x = x * spec.scale + spec.loc
                tensors.append(x.to(spec.dtype))
            elif spec.dtype == torch.bool:
                tensors.append(torch.randint(0, 2, shape, generator=generator).bool())
            else:
                high = spec.high if spec.high is not None else 2
                tensors.append(torch.randint(0, high, shape, generator=generator).to(spec.dtype))
        return tensors


def _check_dtype(dtype: Any, where: str) -> torch.dtype:
    from lamina.layers.symbolic import to_torch_dtype

    try:
        return to_torch_dtype(dtype)
    except (ValueError, TypeError, KeyError) as e:
        raise ExportError(f"`input_signature` {where} has an unknown dtype. Received: dtype={dtype!r}.") from e


def _is_shape(value: Any) -> bool:
    return isinstance(value, (tuple, list, torch.Size)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value
    )


def _spec_from(value: Any, name: str, default_dtype: torch.dtype) -> TensorSpec:
    if _is_shape(value):
        shape, dtype = tuple(value), default_dtype
    elif hasattr(value, "shape") and hasattr(value, "dtype"):
        shape, dtype = tuple(value.shape), _check_dtype(value.dtype, f"entry '{name}'")
        name = getattr(value, "name", None) or name
    else:
        raise ExportError(
            "`input_signature` expects a shape tuple with the batch axis first (such as "
            "`(None, 8)`), an object with `shape` and `dtype` (such as `lamina.Input(...)`), or "
            f"a list or dict of them. Received: {value!r} for input '{name}'."
        )
    if len(shape) < 1:
        raise ExportError(f"Input '{name}' needs a batch axis in its shape. Received: shape={shape}.")
    return TensorSpec(str(name), (None, *shape[1:]), dtype)


def from_argument(input_signature: Any, default_dtype: torch.dtype) -> Signature:
    """The signature described by an export's ``input_signature`` argument."""
    if isinstance(input_signature, dict):
        specs = [_spec_from(v, str(k), default_dtype) for k, v in input_signature.items()]
        specs = [dataclasses.replace(s, name=str(k)) for s, k in zip(specs, input_signature)]
        return Signature(specs, "dict")
    if _is_shape(input_signature) or hasattr(input_signature, "shape"):
        return Signature([_spec_from(input_signature, "input", default_dtype)], "single")
    if isinstance(input_signature, (list, tuple)) and input_signature:
        return Signature(
            [_spec_from(v, f"input_{i}", default_dtype) for i, v in enumerate(input_signature)], "list"
        )
    return Signature([_spec_from(input_signature, "input", default_dtype)])


def from_model(model: nn.Module) -> Signature | None:
    """The signature the model declares (functional inputs, a Sequential's `Input`,
    or its build shapes), or None when it does not know its inputs."""
    inputs = getattr(model, "_inputs_struct", None)
    if inputs is not None and hasattr(model, "input_names"):  # functional
        names = list(model.input_names)
        specs = [TensorSpec(n, (None, *tuple(t.shape)[1:]), t.dtype) for n, t in zip(names, model.inputs)]
        structure = "dict" if isinstance(inputs, dict) else "list" if isinstance(inputs, (list, tuple)) else "single"
        return Signature(specs, structure)
    declared = model._declared_input() if hasattr(model, "_declared_input") else None
    if declared is not None:
        layer = getattr(model, "_input_layer", None)
        name = layer.name if layer is not None else "input"
        return Signature([TensorSpec(name, tuple(declared[0]), declared[1])])
    shape = getattr(model, "_build_input_shape", None)
    if shape is None or not getattr(model, "built", False):
        return None
    dtype = model._input_dtype() if hasattr(model, "_input_dtype") else torch.float32
    if _is_shape(shape):
        return Signature([TensorSpec("input", (None, *tuple(shape)[1:]), dtype)])
    if isinstance(shape, dict):
        return Signature([TensorSpec(str(k), (None, *tuple(v)[1:]), dtype) for k, v in shape.items()], "dict")
    if isinstance(shape, (list, tuple)) and all(_is_shape(s) for s in shape):
        return Signature([TensorSpec(f"input_{i}", (None, *tuple(s)[1:]), dtype) for i, s in enumerate(shape)], "list")
    return None


def _vocabulary_size(model: nn.Module) -> int | None:
    from lamina.layers.core import Embedding

    sizes = [m.input_dim for m in model.modules() if isinstance(m, Embedding)]
    return min(sizes) if sizes else None


def _input_statistics(model: nn.Module, spec: TensorSpec) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The mean and standard deviation of a `Normalization` layer that takes the
    model's only input directly (a Sequential's first layer), when they broadcast."""
    from lamina.layers.preprocessing.normalization import Normalization

    stack = getattr(model, "_stack", None)
    first = stack[0] if stack else None
    if not isinstance(first, Normalization) or first.invert or getattr(first, "mean", None) is None:
        return None
    try:
        mean = first.mean.detach().float().reshape(first._broadcast_shape).cpu()
        std = first.variance.detach().float().reshape(first._broadcast_shape).sqrt().cpu()
        torch.broadcast_shapes(mean.shape, tuple(3 if d is None else d for d in spec.shape))
    except (AttributeError, RuntimeError, TypeError):
        return None
    return mean, std


def resolve(model: nn.Module, input_signature: Any = None) -> Signature:
    """The export's input signature: ``input_signature`` if given, else the model's
    own. Integer inputs get the vocabulary bound of the model's embeddings."""
    if input_signature is not None:
        default = model._input_dtype() if hasattr(model, "_input_dtype") else torch.float32
        signature = from_argument(input_signature, default)
    else:
        signature = from_model(model)
    if signature is None:
        raise ExportError(
            f"The model '{getattr(model, 'name', type(model).__name__)}' does not know its input "
            "shape, so it cannot be exported. Call it once on data (for example "
            "`model.predict(x[:1])`), give it an `Input(shape=...)`, or pass "
            "`input_signature=(None, ...)` to `export`."
        )
    high = _vocabulary_size(model)
    signature.specs = [
        dataclasses.replace(s, high=high) if not s.dtype.is_floating_point and s.dtype != torch.bool else s
        for s in signature.specs
    ]
    if len(signature.specs) == 1 and signature.specs[0].dtype.is_floating_point:
        stats = _input_statistics(model, signature.specs[0])
        if stats is not None:
            signature.specs = [dataclasses.replace(signature.specs[0], loc=stats[0], scale=stats[1])]
    return signature


def output_names(model: nn.Module, count: int) -> list[str]:
    """One name per flat output: the functional model's output names, a
    Sequential's last layer, else ``output_0``, ... (``output`` when there is one)."""
    names: list[str] | None = None
    try:
        names = list(model.output_names) if getattr(model, "output_names", None) else None
    except (AttributeError, ValueError):
        names = None
    if names is None and hasattr(model, "_stack") and model._stack and count == 1:
        names = [getattr(model._stack[-1], "name", "output")]
    if names is None or len(names) != count or len(set(names)) != count:
        names = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
    return [str(n) for n in names]
