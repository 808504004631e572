"""Sizes a model described by a file before anything is allocated for it.

A `.lamina` file's ``config.json`` decides how large the rebuilt model is: a
hostile or damaged one saying ``Dense(units=10**8)`` next to a 5 KB weights
member would make `load_model` allocate gigabytes (and run a forward pass
over them) before the weights could be found not to match. `check_model_size`
rebuilds and builds the model on PyTorch's ``meta`` device, where tensors have
shapes and dtypes but no storage (milliseconds, no memory), and compares:

* the bytes of its `state_dict` with what the weights member declares in its
  header (a model needing more than `MAX_UNBACKED_BYTES` beyond the file's
  tensors is refused, naming its largest weights the file lacks);
* the activations of the build pass (every module's outputs, summed) with
  `MAX_BUILD_ACTIVATION_BYTES`, and the dummy input of the saved input shape
  with the same cap.

When the meta build fails for a reason of its own (a custom layer that reads
values, calls `.numpy()`, ...), the cheap `check_config_ints` runs instead: no
single integer in the layer configs may exceed the number of values the file
holds (plus a floor), since a weight sized by it would not fit in the file.

The global random states (Python's, NumPy's, torch's CPU generator) and
Lamina's automatic layer-name counters are restored afterwards, so a load with
the preflight gives the same names and random streams as one without.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from lamina.saving.errors import InvalidFileError

MAX_BUILD_ACTIVATION_BYTES = 2 * 2**30
"""Most bytes the outputs of all modules may take together in the build pass (on
the build's small batch of 2 or 3 rows): 2 GiB; raise this for
larger inputs (``lamina.saving.preflight.MAX_BUILD_ACTIVATION_BYTES = ...``)."""

MAX_UNBACKED_BYTES = 64 * 2**20
"""Most bytes of weights a file's config may ask for beyond the values its weights
member holds: 64 MiB. A real file holds every weight (loading is strict), so any
excess is an error; below this it is reported by the exact name-and-shape
comparison after building, above it before anything is allocated."""

MIN_INT_FLOOR = 2**24
"""`check_config_ints` accepts any integer up to this (16,777,216), whatever the file
holds: vocabulary sizes, sequence lengths and the like need no weight of their size."""


def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KB'`` (powers of 1000, as file managers show sizes)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{int(n):,} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


@contextmanager
def _isolated() -> Any:
    """Runs a meta build without leaving a trace: random states and layer-name counters
    are restored afterwards."""
    from lamina.layers import layer as layer_mod

    counts = dict(layer_mod._NAME_COUNTS)
    py_state = random.getstate()
    np_state = np.random.get_state()
    torch_state = torch.random.get_rng_state()
    try:
        with torch.device("meta"):
            yield
    finally:
        torch.random.set_rng_state(torch_state)
        np.random.set_state(np_state)
        random.setstate(py_state)
        layer_mod._NAME_COUNTS.clear()
        layer_mod._NAME_COUNTS.update(counts)


def _tensors(value: Any, depth: int = 0) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if depth > 8:
        return []
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v, depth + 1)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v, depth + 1)]
    return []


class _ActivationMeter:
    """Sums the bytes of meta tensors that modules return while installed (a global
    forward hook; tensors of other threads, on real devices, are not counted)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.total = 0
        self.largest: tuple[int, str, tuple[int, ...]] = (0, "", ())
        self.exceeded = False
        # Every meta parameter and buffer registered during the build, by id: what the
        # model holds so far, also when the build fails halfway.
        self.weights: dict[int, tuple[str, torch.Tensor]] = {}

    def registered(self, module: torch.nn.Module, name: str, value: Any) -> None:
        if isinstance(value, torch.Tensor) and value.device.type == "meta":
            owner = getattr(module, "name", None) or type(module).__name__
            self.weights[id(value)] = (f"{owner}.{name}", value)

    def weights_state(self) -> dict[str, torch.Tensor]:
        """The registered weights as a state dict (names made unique)."""
        state: dict[str, torch.Tensor] = {}
        for name, value in self.weights.values():
            key, n = name, 1
            while key in state:
                key, n = f"{name}#{n}", n + 1
            state[key] = value
        return state

    def __call__(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        for t in _tensors(output):
            if t.device.type != "meta":
                continue
            nbytes = t.numel() * t.element_size()
            self.total += nbytes
            if nbytes > self.largest[0]:
                name = getattr(module, "name", None) or type(module).__name__
                self.largest = (nbytes, str(name), tuple(t.shape))
        if self.total > self.cap:
            self.exceeded = True
            raise _TooLarge()


class _TooLarge(Exception):
    """Stops a meta build as soon as its activations pass the cap."""


def check_input_size(shape: Any, dtype: torch.dtype, label: str, fix: str) -> None:
    """Refuses a saved input shape whose dummy build batch (3 rows, free axes 3) alone
    is larger than `MAX_BUILD_ACTIVATION_BYTES`."""
    total = 0
    stack = [shape]
    while stack:
        s = stack.pop()
        if isinstance(s, dict):
            stack.extend(s.values())
        elif isinstance(s, (list, tuple)) and all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in s):
            n = 1
            for d in s:
                n *= 3 if d is None else max(int(d), 0)
            total += n * (dtype.itemsize if isinstance(dtype, torch.dtype) else 8)
        elif isinstance(s, (list, tuple)):
            stack.extend(s)
    if total > MAX_BUILD_ACTIVATION_BYTES:
        raise InvalidFileError(
            f"{label} saves the input shape {shape}, whose build batch alone takes {human_bytes(total)}, "
            f"more than the {human_bytes(MAX_BUILD_ACTIVATION_BYTES)} Lamina allows for building a model "
            "(lamina.saving.preflight.MAX_BUILD_ACTIVATION_BYTES). " + fix
        )


def meta_build(build: Callable[[], Any], label: str, fix: str) -> tuple[Any | None, BaseException | None, _ActivationMeter]:
    """Runs ``build()`` (rebuild the model and build it) on the meta device.

    Returns:
        ``(model, None, meter)`` on success, ``(None, error, meter)`` when the build
        failed for a reason of its own. Raises `InvalidFileError` when the build
        pass's activations exceed `MAX_BUILD_ACTIVATION_BYTES`.
    """
    meter = _ActivationMeter(MAX_BUILD_ACTIVATION_BYTES)
    handles = [
        torch.nn.modules.module.register_module_forward_hook(meter),
        torch.nn.modules.module.register_module_parameter_registration_hook(meter.registered),
        torch.nn.modules.module.register_module_buffer_registration_hook(meter.registered),
    ]
    try:
        with _isolated():
            model = build()
    except Exception as e:  # noqa: BLE001 - the caller falls back to `check_config_ints`
        if not meter.exceeded:  # (a layer may wrap the hook's exception in its own)
            return None, e, meter
        size, name, shape = meter.largest
        raise InvalidFileError(
            f"Building the model described in {label} runs activations of more than "
            f"{human_bytes(MAX_BUILD_ACTIVATION_BYTES)} (the largest: layer {name!r} returns "
            f"{list(shape)}, {human_bytes(size)}), more than Lamina allows for building a model "
            "(lamina.saving.preflight.MAX_BUILD_ACTIVATION_BYTES). " + fix
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    return model, None, meter


def _numel(shape: Any) -> int:
    return math.prod(int(d) for d in shape)


def check_state_size(
    model_state: dict[str, torch.Tensor],
    header: dict[str, Any],
    config_label: str,
    weights_label: str,
    fix: str,
) -> None:
    """Refuses a (meta) model whose `state_dict` needs far more values than the
    weights header declares (see `MAX_UNBACKED_BYTES`).

    Args:
        model_state: The meta model's `state_dict`.
        header: Tensor name -> info with ``shape`` (and ``dtype``), from the header.
        config_label: How to name the config in messages, e.g. ``"'config.json' in 'm.lamina'"``.
        weights_label: How to name the weights, e.g. ``"'model.safetensors'"``.
        fix: The last sentence of the message.
    """
    model_numel = sum(t.numel() for t in model_state.values())
    model_bytes = sum(t.numel() * t.element_size() for t in model_state.values())
    file_numel = sum(_numel(info.shape) for info in header.values())
    file_bytes = sum(int(getattr(info, "nbytes", 4 * _numel(info.shape))) for info in header.values())
    widest = max((t.element_size() for t in model_state.values()), default=4)
    if (model_numel - file_numel) * widest <= MAX_UNBACKED_BYTES:
        return
    lacking = sorted(
        (
            (t.numel() * t.element_size(), name, tuple(t.shape))
            for name, t in model_state.items()
            if name not in header or tuple(header[name].shape) != tuple(t.shape)
        ),
        reverse=True,
    )[:3]
    listed = ", ".join(f"{name!r} {list(shape)} ({human_bytes(size)})" for size, name, shape in lacking)
    raise InvalidFileError(
        f"{config_label} asks for {model_numel:,} values ({human_bytes(model_bytes)}) but "
        f"{weights_label} holds {file_numel:,} ({human_bytes(file_bytes)}); the largest weights the file "
        f"lacks: {listed}. The config does not describe these weights: the file is damaged or "
        f"hand-made. {fix}",
        member=lacking[0][1] if lacking else None,
    )


def header_values(header: dict[str, Any]) -> int:
    """How many values the tensors a safetensors header lists hold together."""
    return sum(_numel(info.shape) for info in header.values())


def check_state_bytes(model_state: dict[str, torch.Tensor], file_bytes: int, config_label: str,
                      weights_label: str, fix: str) -> None:
    """`check_state_size` for a weights member whose header is not read (a Keras
    ``model.weights.h5``): a (meta) model with more values than the member has bytes
    (every stored value takes at least one), plus `MAX_UNBACKED_BYTES`, is refused."""
    model_numel = sum(t.numel() for t in model_state.values())
    if model_numel <= file_bytes + MAX_UNBACKED_BYTES:
        return
    model_bytes = sum(t.numel() * t.element_size() for t in model_state.values())
    largest = sorted(((t.numel() * t.element_size(), n, tuple(t.shape)) for n, t in model_state.items()), reverse=True)[:3]
    listed = ", ".join(f"{name!r} {list(shape)} ({human_bytes(size)})" for size, name, shape in largest)
    raise InvalidFileError(
        f"{config_label} asks for {model_numel:,} values ({human_bytes(model_bytes)}) but {weights_label} "
        f"is {human_bytes(file_bytes)}; the largest weights: {listed}. The config does not describe the "
        f"file's weights: the file is damaged or hand-made. {fix}",
        member=largest[0][1] if largest else None,
    )


def check_config_ints(config: Any, file_numel: int, config_label: str, weights_label: str, fix: str) -> None:
    """The cheap check when a meta build is not possible: refuses any integer in the
    layer configs above both `MIN_INT_FLOOR` and ``file_numel``, the number of values
    the weights hold (seeds and ids excepted), since a weight sized by it would not
    fit in the file."""
    limit = max(MIN_INT_FLOOR, file_numel)
    stack: list[tuple[str, Any, int]] = [("config", config, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > 200:
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                key = str(k).lower()
                if "seed" not in key and not key.endswith("id"):  # seeds, Keras's shared_object_id
                    stack.append((f"{path}.{k}", v, depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and value > limit:
            raise InvalidFileError(
                f"{config_label} sets {path} = {value:,}, more than the {file_numel:,} values "
                f"{weights_label} holds; a layer sized by it would not match the file. The file is "
                f"damaged or hand-made. {fix}"
            )
