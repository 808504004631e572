"""Pretrained weights from local files: PyTorch state dicts into Lamina models.

Lamina layers are `torch.nn.Module`s whose weights are kept in PyTorch's layout
(`Dense.kernel` is `(units, input_dim)` like `torch.nn.Linear.weight`,
`Conv2D.kernel` is `(filters, in_channels // groups, kh, kw)` like
`torch.nn.Conv2d.weight`, `DepthwiseConv2D.kernel` is
`(channels * depth_multiplier, 1, kh, kw)` like a grouped `Conv2d`,
`Conv2DTranspose.kernel` is `(in_channels, filters, kh, kw)` like
`torch.nn.ConvTranspose2d.weight`), so a torchvision, timm or Hugging Face state
dict copies in tensor for tensor once the names are mapped. Only the names
differ: PyTorch's `weight` / `bias` / `running_mean` / `running_var` are
Lamina's `kernel` (or `gamma`, `embeddings`) / `bias` (or `beta`) /
`moving_mean` / `moving_variance`, and `load_torch_weights` translates those
last components itself.

* `read_state_dict(path)`: the tensors of a `.pth` / `.pt` / `.bin` file (read
  with `torch.load(..., weights_only=True)`: never unpickled code) or a
  `.safetensors` file.
* `load_torch_weights(model, state_dict_or_path, mapping=None)`: copies them
  into a model's variables, every shape checked, and returns a
  `WeightLoadReport` of what was loaded, unused, left unfilled or mis-shaped.
* `resolve_weights(owner, weights, names)`: Keras's `weights=` argument
  (`None`, a name resolved offline, or a local path) for the builders.

Lamina never downloads: every weight comes from a local file, either one the
user saved or one an installed package ships.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from lamina.saving.tensors import bytes_to_tensors

TORCH_SUFFIXES = (".pth", ".pt", ".bin")
SAFETENSORS_SUFFIXES = (".safetensors",)

# PyTorch's name for the last component of a key -> Lamina's names for it, tried in order.
_TORCH_TO_LAMINA = {
    "weight": ("kernel", "gamma", "embeddings"),
    "bias": ("bias", "beta"),
    "running_mean": ("moving_mean",),
    "running_var": ("moving_variance",),
}

# Sub-dicts that training checkpoints commonly hold the model's tensors under.
_NESTED_KEYS = ("state_dict", "model", "model_state_dict")

_SHOWN = 10  # entries listed per category in error messages


@dataclass
class WeightLoadReport:
    """What `load_torch_weights` did with each tensor.

    Attributes:
        loaded: `(source_key, target_key)` pairs that were copied.
        unmatched_source: Source tensors no model variable received.
        missing_target: Model variables that no source tensor filled (and that
            `ignore_missing` did not name).
        shape_mismatch: `(source_key, target_key, source_shape, target_shape)`
            for tensors whose shapes differ (after any layout conversion).
        skipped: Source tensors deliberately not loaded: those the mapping sent
            to `None`, and BatchNorm's `num_batches_tracked` counters (Lamina
            keeps no such counter).
        kept: Model variables deliberately left as they were (`ignore_missing`).
        converted: Target keys whose tensor was converted from PyTorch's layout
            (a convolution subclass that keeps Keras's kernel layout).
    """

    loaded: list[tuple[str, str]] = field(default_factory=list)
    unmatched_source: list[str] = field(default_factory=list)
    missing_target: list[str] = field(default_factory=list)
    shape_mismatch: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=list
    )
    skipped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every source tensor was used or deliberately skipped, every
        model variable was filled or deliberately kept, and no shape differed."""
        return not (self.unmatched_source or self.missing_target or self.shape_mismatch)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with the same entries (tuples become lists) and
        `complete`."""
        return {
            "loaded": [list(pair) for pair in self.loaded],
            "unmatched_source": list(self.unmatched_source),
            "missing_target": list(self.missing_target),
            "shape_mismatch": [[s, t, list(ss), list(ts)] for s, t, ss, ts in self.shape_mismatch],
            "skipped": list(self.skipped),
            "kept": list(self.kept),
            "converted": list(self.converted),
            "complete": self.complete,
        }

    def problems(self) -> list[str]:
        """One line per category of problem, listing the first entries and the count."""
        lines = []
        if self.unmatched_source:
            lines.append(
                _listing("source tensors used by no model variable", self.unmatched_source)
            )
        if self.missing_target:
            lines.append(_listing("model variables no source tensor filled", self.missing_target))
        if self.shape_mismatch:
            shown = [
                f"{s} {tuple(ss)} -> {t} {tuple(ts)}{_layout_hint(ss, ts)}"
                for s, t, ss, ts in self.shape_mismatch
            ]
            lines.append(_listing("shape mismatches", shown))
        return lines

    def __str__(self) -> str:
        head = (
            f"WeightLoadReport: {len(self.loaded)} tensors loaded, {len(self.skipped)} skipped, "
            f"{len(self.unmatched_source)} unmatched, {len(self.missing_target)} variables "
            f"missing, {len(self.shape_mismatch)} shape mismatches"
        )
        if self.kept:
            head += f", {len(self.kept)} variables kept"
        if self.converted:
            head += f", {len(self.converted)} kernels converted to Keras's layout"
        return "\n".join([head + ".", *("  " + line for line in self.problems())])


def _listing(what: str, items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    more = f", ... ({len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return f"{len(items)} {what}: {shown}{more}"


def _layout_hint(source: tuple[int, ...], target: tuple[int, ...]) -> str:
    if len(source) == len(target) and sorted(source) == sorted(target):
        return " (same sizes in another order: the source may be in another layout, e.g. (in, out))"
    return ""


# --------------------------------------------------------------------------- reading
def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Reads the tensors of a PyTorch weights file, without running any code in it.

    `.pth`, `.pt` and `.bin` files are read with
    `torch.load(path, map_location="cpu", weights_only=True)`, which refuses
    pickled objects other than tensors and plain containers; the file must hold a
    state dict (`{name: tensor}`), or a training checkpoint holding one under
    `"state_dict"`, `"model"` or `"model_state_dict"`. `.safetensors` files are
    validated and read by Lamina's safetensors reader.

    Args:
        path: The local file.

    Returns:
        A dict `{name: tensor}` of CPU tensors, in the file's order.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: For an unknown suffix, a file that is not a state dict (for
            example a whole pickled model), or values that are not tensors.

    Example:

    >>> import tempfile, os, torch
    >>> path = os.path.join(tempfile.mkdtemp(), "w.pth")
    >>> torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    >>> sorted(read_state_dict(path))
    ['bias', 'weight']
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(
            "`read_state_dict` expects the path of a local weights file (.pth, .pt, .bin or "
            f".safetensors). Received: {type(path).__name__} {path!r}."
        )
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`read_state_dict` found no file at {path!r}. Check the path (Lamina never "
            "downloads weights: the file must exist locally)."
        )
    suffix = os.path.splitext(path)[1].lower()
    if suffix in SAFETENSORS_SUFFIXES:
        with open(path, "rb") as f:
            data = f.read()
        return bytes_to_tensors(
            data,
            f"'{path}'",
            path=path,
            fix="Check that the file was written completely (safetensors' `save_file`)",
        )
    if suffix not in TORCH_SUFFIXES:
        raise ValueError(
            "`read_state_dict` reads PyTorch state dicts (.pth, .pt, .bin) and safetensors "
            f"files (.safetensors). Received: {path!r} (suffix {suffix or 'none'!r}). Rename "
            "the file if it is one of those formats, or save the weights with "
            "`torch.save(model.state_dict(), 'weights.pth')`."
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ValueError(
            f"`read_state_dict` could not read {path!r} as a state dict: it holds pickled "
            "objects other than tensors (a whole pickled model, most likely), which only "
            "`torch.load(..., weights_only=False)` would read, and that runs code from the "
            "file: Lamina refuses. Where the model was trained, save its weights alone with "
            "`torch.save(model.state_dict(), 'weights.pth')` (or as .safetensors) and load "
            f"that file. ({str(e).strip().splitlines()[0][:200]})"
        ) from None
    except (RuntimeError, EOFError, OSError) as e:
        raise ValueError(
            f"`read_state_dict` could not read {path!r} as a PyTorch file: {type(e).__name__}: "
            f"{str(e).strip()[:200]}. Check that it is a complete file written by `torch.save`."
        ) from None
    return _as_state_dict(obj, repr(path))


def _as_state_dict(obj: Any, source: str) -> dict[str, torch.Tensor]:
    """`obj` as `{str: tensor}`, taking the state dict out of a checkpoint dict."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"`load_torch_weights` expects a state dict ({{name: tensor}}). {source} holds a "
            f"{type(obj).__name__}. Save the weights with `torch.save(model.state_dict(), path)`."
        )
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _NESTED_KEYS:
            if isinstance(obj.get(key), Mapping):
                return _as_state_dict(obj[key], f"{source}[{key!r}]")
    bad = [(k, type(v).__name__) for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        shown = ", ".join(f"{k!r} ({t})" for k, t in bad[:_SHOWN])
        raise ValueError(
            f"`load_torch_weights` expects a state dict whose values are all tensors. {source} "
            f"has {len(bad)} other values: {shown}. Pass the dict of tensors itself (a "
            f"checkpoint's `{_NESTED_KEYS[0]}` / `{_NESTED_KEYS[1]}` entry is found "
            "automatically)."
        )
    non_str = [k for k in obj if not isinstance(k, str)]
    if non_str:
        raise ValueError(
            f"`load_torch_weights` expects string keys in the state dict. {source} has keys "
            f"{non_str[:_SHOWN]!r}."
        )
    return dict(obj)


# --------------------------------------------------------------------------- loading
def load_torch_weights(
    model: torch.nn.Module,
    state_dict_or_path: Any,
    mapping: Mapping[str, str | None] | Callable[[str], str | None] | None = None,
    *,
    strict: bool = True,
    transpose: str | bool = "auto",
    ignore_missing: Iterable[str] = (),
) -> WeightLoadReport:
    """Copies the tensors of a PyTorch state dict into a Lamina model's variables.

    Each source key is mapped to a key of `model.state_dict()` (a layer name and
    a variable name, e.g. `"stem_conv.kernel"`). When the mapped key does not
    exist but ends with one of PyTorch's names (`weight`, `bias`, `running_mean`,
    `running_var`), Lamina's name for it in that layer is used (`kernel`,
    `gamma` or `embeddings`; `bias` or `beta`; `moving_mean`;
    `moving_variance`), so a mapping need only rename modules. BatchNorm's
    `num_batches_tracked` counters are skipped. Every shape is checked; tensors
    are cast to the variable's dtype and device.

    Lamina's layers keep PyTorch's weight layouts (see the module docstring), so
    tensors are copied as they are. With `transpose="auto"`, the kernel of a
    convolution subclass written outside Lamina, which keeps Keras's layout
    `(*kernel_size, in_channels // groups, filters)`, is permuted from PyTorch's
    `(filters, in_channels // groups, *kernel_size)`.

    Note that PyTorch's BatchNorm uses `eps=1e-5` where Keras's
    `BatchNormalization` defaults to `epsilon=1e-3`: build the Lamina layers with
    the epsilon the weights were trained with.

    Args:
        model: A built Lamina model (or any `torch.nn.Module`).
        state_dict_or_path: A state dict (`{name: tensor}`), a `torch.nn.Module`
            whose state dict is taken, or the path of a `.pth` / `.pt` / `.bin` /
            `.safetensors` file (read with `read_state_dict`).
        mapping: How source keys name model variables: `None` (the same names), a
            dict `{source_key: target_key}` (keys it does not list keep their
            name; a value `None` skips that tensor), or a callable
            `source_key -> target_key` returning `None` to skip a tensor.
            Defaults to `None`.
        strict: If True, raise a `ValueError` listing the unmatched, missing and
            mis-shaped tensors and load nothing; if False, load what matches and
            report the rest. Defaults to `True`.
        transpose: `"auto"` (convert to the layout of layers that keep Keras's
            layout, see above) or `False` (copy every tensor as it is).
            Defaults to `"auto"`.
        ignore_missing: Model variables that may stay as they are: keys of
            `model.state_dict()`, or layer names (every variable of that layer).
            Defaults to `()`.

    Returns:
        A `WeightLoadReport`.

    Raises:
        ValueError: With `strict=True`, if anything is unmatched, missing or
            mis-shaped; always, if two source tensors map to the same variable.

    Example:

    >>> import torch, lamina
    >>> torch_model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> inputs = lamina.layers.Input((4,))
    >>> model = lamina.Model(inputs, lamina.layers.Dense(3, name="fc")(inputs))
    >>> report = load_torch_weights(model, torch_model.state_dict(), {"0.weight": "fc.weight",
    ...                                                             "0.bias": "fc.bias"})
    >>> report.loaded
    [('0.weight', 'fc.kernel'), ('0.bias', 'fc.bias')]
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(
            "`load_torch_weights` expects a Lamina model (a `torch.nn.Module`). "
            f"Received: {type(model).__name__}."
        )
    if transpose not in ("auto", False):
        raise ValueError(
            "`load_torch_weights` expects `transpose` to be 'auto' or False. "
            f"Received: transpose={transpose!r}."
        )
    if not (mapping is None or isinstance(mapping, Mapping) or callable(mapping)):
        raise ValueError(
            "`load_torch_weights` expects `mapping` to be None, a dict {source_key: target_key} "
            f"or a callable source_key -> target_key. Received: {type(mapping).__name__}."
        )
    if isinstance(state_dict_or_path, (str, os.PathLike)):
        source = read_state_dict(state_dict_or_path)
    else:
        source = _as_state_dict(state_dict_or_path, "The given object")
    targets = model.state_dict(keep_vars=True)
    if not targets:
        raise ValueError(
            "`load_torch_weights` found no variables in the model: it is not built yet. Call "
            "it once on an input (or build it with an input shape) before loading weights."
        )
    ignored = _ignored(targets, ignore_missing)

    report = WeightLoadReport()
    planned: list[tuple[str, str, torch.Tensor]] = []
    owners: dict[str, str] = {}
    for key, tensor in source.items():
        target = _map_key(mapping, key)
        if target is None:
            report.skipped.append(key)
            continue
        target = _lamina_name(target, targets)
        if target not in targets:
            if key.rsplit(".", 1)[-1] == "num_batches_tracked":
                report.skipped.append(key)
            else:
                report.unmatched_source.append(key)
            continue
        if target in owners:
            raise ValueError(
                f"`load_torch_weights` maps two source tensors to the model variable {target!r}: "
                f"{owners[target]!r} and {key!r}. Map each source tensor to its own variable "
                "(or to None to skip it)."
            )
        owners[target] = key
        value = tensor.detach()
        if transpose == "auto" and _keeps_keras_layout(model, target, value):
            value = value.permute(*range(2, value.ndim), 1, 0)
            report.converted.append(target)
        if tuple(value.shape) != tuple(targets[target].shape):
            report.shape_mismatch.append(
                (key, target, tuple(value.shape), tuple(targets[target].shape))
            )
            continue
        planned.append((key, target, value))
    for name in targets:
        if name not in owners:
            (report.kept if name in ignored else report.missing_target).append(name)

    if strict and not report.complete:
        raise ValueError(
            "`load_torch_weights` (strict=True) could not match every tensor, so nothing was "
            "loaded:\n  " + "\n  ".join(report.problems()) + "\n" + _fix_hint(report)
        )
    with torch.no_grad():
        for key, target, value in planned:
            variable = targets[target]
            variable.copy_(value.to(dtype=variable.dtype, device=variable.device))
            report.loaded.append((key, target))
    return report


def _map_key(mapping: Any, key: str) -> str | None:
    if mapping is None:
        return key
    target = mapping.get(key, key) if isinstance(mapping, Mapping) else mapping(key)
    if target is not None and not isinstance(target, str):
        raise ValueError(
            "`load_torch_weights` expects `mapping` to give a model variable name (str) or None "
            f"for each source key. Received: {target!r} for {key!r}."
        )
    return target


def _lamina_name(target: str, targets: Mapping[str, Any]) -> str:
    """`target`, or Lamina's name for its PyTorch-named last component in that layer."""
    if target in targets:
        return target
    prefix, _, last = target.rpartition(".")
    for name in _TORCH_TO_LAMINA.get(last, ()):
        candidate = f"{prefix}.{name}" if prefix else name
        if candidate in targets:
            return candidate
    return target


def _keeps_keras_layout(model: torch.nn.Module, target: str, value: torch.Tensor) -> bool:
    path, _, name = target.rpartition(".")
    if name != "kernel" or value.ndim < 3:
        return False
    try:
        layer = model.get_submodule(path)
    except AttributeError:
        return False
    return bool(getattr(layer, "_keras_kernel", False))


def _ignored(targets: Mapping[str, Any], names: Iterable[str]) -> set[str]:
    if isinstance(names, str):
        names = (names,)
    names = list(names)
    out = set()
    for name in names:
        hits = [k for k in targets if k == name or k.startswith(name + ".")]
        if not hits:
            raise ValueError(
                "`load_torch_weights` expects `ignore_missing` to name model variables or "
                f"layers. Received: {name!r}, which names neither. The model's variables "
                f"include: {', '.join(list(targets)[:_SHOWN])}."
            )
        out.update(hits)
    return out


def _fix_hint(report: WeightLoadReport) -> str:
    hint = (
        "Pass a `mapping` that names each source tensor's model variable (a dict, or a "
        "callable returning None to skip a tensor), `ignore_missing=` for variables that "
        "should keep their values, or strict=False to load what matches and read the report."
    )
    if report.unmatched_source and all(k.startswith("module.") for k in report.unmatched_source):
        hint += (
            " The source keys start with 'module.' (saved from DataParallel/DDP): strip it in "
            "the mapping, e.g. `mapping=lambda k: k.removeprefix('module.')`."
        )
    return hint


# --------------------------------------------------------------------------- weights=
def resolve_weights(
    owner: str, weights: Any, names: Mapping[str, Callable[[], str | os.PathLike]]
) -> str | None:
    """Resolves a builder's Keras-style `weights=` argument to a local path, offline.

    Args:
        owner: The builder's name, for messages (e.g. `"EfficientNetLite0"`).
        weights: `None` (random initialization), one of `names` (pretrained
            weights an installed package ships; matched case-insensitively), or
            the path of an existing local file or folder.
        names: `{name: resolver}`; a resolver returns the local path of those
            weights, or raises an error naming the package to install.

    Returns:
        `None` for `weights=None`, else the path as a string.

    Raises:
        ValueError: For anything else, listing the valid names.

    Example:

    >>> resolve_weights("MyNet", None, {"imagenet": lambda: "/nowhere"}) is None
    True
    >>> resolve_weights("MyNet", "ImageNet", {"imagenet": lambda: "/pkg/w.pth"})
    '/pkg/w.pth'
    """
    if weights is None:
        return None
    if isinstance(weights, str):
        for name, resolver in names.items():
            if weights.lower() == name.lower():
                return os.fspath(resolver())
    if isinstance(weights, (str, os.PathLike)) and os.path.exists(weights):
        return os.fspath(weights)
    valid = ", ".join(repr(n) for n in names)
    what = (
        "a path that does not exist"
        if isinstance(weights, (str, os.PathLike))
        else type(weights).__name__
    )
    raise ValueError(
        f"`{owner}` expects `weights` to be None (random initialization), "
        f"{'one of ' + valid + ' (weights shipped by an installed package)' if names else ''}"
        f"{', or ' if names else ''}the path of an existing local weights file. Received: "
        f"weights={weights!r} ({what}). Lamina never downloads weights: pass a name above, or "
        "save the weights to a local file and pass its path."
    )
