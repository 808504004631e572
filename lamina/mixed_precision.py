"""Dtype policies and mixed precision, as Keras 3's `keras.mixed_precision`.

A `DTypePolicy` names two dtypes: the *variable* dtype layers create their
weights in, and the *compute* dtype their forward pass runs in. `"float32"`,
`"float64"`, `"bfloat16"` and `"float16"` use one dtype for both;
`"mixed_bfloat16"` and `"mixed_float16"` keep float32 weights and compute in
bfloat16 / float16 (through `torch.autocast`).

Every layer takes its policy from `dtype=` (a policy, its name or a torch
dtype), else from the global policy when it is constructed. A model whose
compute dtype is reduced runs each call (`model(x)`, and the forward pass of
`train_step`, `test_step`, `predict_step`) under `torch.autocast`; losses and
metrics are computed in float32. `model.compile(..., precision="mixed_bfloat16")`
sets the compute policy of the whole model at compile time instead.
A float16 compute dtype on CUDA trains with dynamic loss scaling (a
`torch.amp.GradScaler`, Keras's `LossScaleOptimizer`): steps whose gradients
overflow are skipped, and the scale and the skipped steps appear in the logs
as `loss_scale` and `skipped_steps`.

Example:

>>> import lamina
>>> lamina.mixed_precision.set_global_policy("mixed_bfloat16")
>>> layer = lamina.layers.Dense(4)
>>> layer.compute_dtype, layer.variable_dtype
('bfloat16', 'float32')
>>> lamina.mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "DTypePolicy",
    "LossScaler",
    "Policy",
    "dtype_policy",
    "global_policy",
    "set_dtype_policy",
    "set_global_policy",
]

# Policy name -> (compute dtype, variable dtype).
_POLICIES: dict[str, tuple[str, str]] = {
    "float32": ("float32", "float32"),
    "float64": ("float64", "float64"),
    "bfloat16": ("bfloat16", "bfloat16"),
    "float16": ("float16", "float16"),
    "mixed_float16": ("float16", "float32"),
    "mixed_bfloat16": ("bfloat16", "float32"),
}
_TORCH = {
    "float32": torch.float32,
    "float64": torch.float64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
}
_NAMES = {v: k for k, v in _TORCH.items()}
#: Compute dtypes that run under `torch.autocast`.
REDUCED = (torch.bfloat16, torch.float16)


def _valid() -> str:
    return ", ".join(repr(n) for n in _POLICIES)


class DTypePolicy:
    """A layer's dtype policy: the dtype of its variables and of its computation.

    Args:
        name: The policy name: `"float32"`, `"float64"`, `"bfloat16"`,
            `"float16"` (variables and computation in that dtype),
            `"mixed_bfloat16"` or `"mixed_float16"` (float32 variables,
            computation in bfloat16 / float16). A torch floating dtype is
            accepted too. Defaults to `None`: the global policy's name.

    Raises:
        ValueError: For a name that is not one of the above.

    Example:

    >>> policy = DTypePolicy("mixed_bfloat16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('bfloat16', 'float32')
    """

    def __init__(self, name: Any = None) -> None:
        if name is None:
            name = global_policy().name
        if isinstance(name, torch.dtype) and name in _NAMES:
            name = _NAMES[name]
        if not isinstance(name, str) or name not in _POLICIES:
            shown = (
                f"{name!r}"
                if isinstance(name, (str, torch.dtype))
                else f"{name!r} (of type {type(name).__name__})"
            )
            raise ValueError(
                f"Cannot convert {shown} to a dtype policy. Valid policies are {_valid()} "
                "(or a `lamina.mixed_precision.DTypePolicy`, or a torch floating dtype). "
                f"Received: name={shown}. Pass one of the valid names, e.g. dtype='mixed_bfloat16'."
            )
        self._name = name
        self._compute_dtype, self._variable_dtype = _POLICIES[name]

    @property
    def name(self) -> str:
        """The policy's name."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype layers compute in (their outputs' dtype), as a string."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype layers create their variables in, as a string."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> None:
        """Keras's quantization mode: Lamina's policies are never quantized (None)."""
        return None

    @property
    def torch_compute_dtype(self) -> torch.dtype:
        """`compute_dtype` as a `torch.dtype`."""
        return _TORCH[self._compute_dtype]

    @property
    def torch_variable_dtype(self) -> torch.dtype:
        """`variable_dtype` as a `torch.dtype`."""
        return _TORCH[self._variable_dtype]

    def get_config(self) -> dict[str, Any]:
        """`{"name": ...}`, as Keras."""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DTypePolicy:
        """Rebuilds the policy from `get_config()`'s output."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DTypePolicy) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy  # Keras 2's `keras.mixed_precision.Policy`
FloatDTypePolicy = DTypePolicy

_GLOBAL: list[DTypePolicy | None] = [None]


def set_global_policy(policy: Any) -> None:
    """Sets the policy of the layers constructed from now on without `dtype=`.

    Args:
        policy: A `DTypePolicy` or a policy name (`"mixed_bfloat16"`, ...);
            None goes back to the default (`lamina.config.floatx()`, `"float32"`).

    Raises:
        ValueError: For an unknown policy name.

    Example:

    >>> set_global_policy("mixed_bfloat16")
    >>> global_policy()
    <DTypePolicy "mixed_bfloat16">
    >>> set_global_policy("float32")
    """
    _GLOBAL[0] = None if policy is None else get(policy)


def global_policy() -> DTypePolicy:
    """The global policy: the one `set_global_policy` set, else, as in Keras, the
    policy named by `lamina.config.floatx()` (torch's default dtype; `"float32"`)."""
    policy = _GLOBAL[0]
    if policy is None:
        policy = DTypePolicy(_NAMES.get(torch.get_default_dtype(), "float32"))
    return policy


set_dtype_policy = set_global_policy  # Keras 3's names
dtype_policy = global_policy


def get(identifier: Any) -> DTypePolicy:
    """A policy from a policy, its name, its config dict or a torch dtype; None: the global one.

    Raises:
        ValueError: For anything else, listing the valid names.
    """
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict) and "name" in (identifier.get("config") or identifier):
        return DTypePolicy((identifier.get("config") or identifier)["name"])
    return DTypePolicy(identifier)


def to_float32(tree: Any) -> Any:
    """Casts the bfloat16 / float16 tensors of a (nested) structure to float32."""
    if isinstance(tree, torch.Tensor):
        return tree.float() if tree.dtype in REDUCED else tree
    if isinstance(tree, (list, tuple)):
        out = [to_float32(t) for t in tree]
        return (
            type(tree)(out) if isinstance(tree, list) or type(tree) is tuple else type(tree)(*out)
        )
    if isinstance(tree, dict):
        return {k: to_float32(v) for k, v in tree.items()}
    return tree


class LossScaler:
    """Dynamic loss scaling for float16 training (Keras's `LossScaleOptimizer`).

    The loss is multiplied by `scale` before the backward pass and the
    gradients divided by it before the update; a step whose gradients hold an
    inf or NaN is skipped and halves the scale, and `growth_interval` finite
    steps in a row double it. Built on `torch.amp.GradScaler`, but the update
    itself is Lamina's optimizer step (schedules, clipping, constraints).

    Args:
        device_type: `"cuda"` (or `"cpu"`, for tests).
        initial_scale: The first scale. Defaults to `2.0 ** 15`, as Keras.
        growth_interval: Finite steps before the scale doubles. Defaults to `2000`.

    Attributes:
        skipped_steps: Steps skipped because a gradient overflowed.
    """

    def __init__(
        self, device_type: str, initial_scale: float = 2.0**15, growth_interval: int = 2000
    ) -> None:
        self._scaler = torch.amp.GradScaler(
            device_type, init_scale=initial_scale, growth_interval=growth_interval
        )
        self.skipped_steps = 0

    @property
    def scale(self) -> float:
        """The current loss scale."""
        return float(self._scaler.get_scale())

    def backward_and_step(self, loss: torch.Tensor, optimizer: Any) -> bool:
        """Scaled backward pass, then the update unless a gradient overflowed.

        Args:
            loss: The step's (unscaled) loss.
            optimizer: A built Lamina optimizer (gradients already zeroed).

        Returns:
            Whether the update was applied.
        """
        self._scaler.scale(loss).backward()
        torch_opt = optimizer._torch
        self._scaler.unscale_(torch_opt)
        found = self._scaler._found_inf_per_device(torch_opt)
        applied = not any(bool(v.item()) for v in found.values())
        if applied:
            optimizer.step()
        else:
            self.skipped_steps += 1
        self._scaler.update()
        return applied


def autocast_active() -> bool:
    """Whether a `torch.autocast` context is active (on any device type)."""
    return torch._C._is_any_autocast_enabled()


def refresh_autocast_cache() -> None:
    """Drops autocast's cached low-precision copies of the weights when an autocast
    context is active. Autocast keeps one copy per weight until its outermost
    context exits; inside a user's `with torch.autocast(...)` around `fit`, the
    steps would otherwise compute with the first step's weights forever."""
    if torch._C._is_any_autocast_enabled():
        torch.clear_autocast_cache()


def precision_policy(precision: Any) -> DTypePolicy | None:
    """The policy of `compile(precision=...)`: None, or a policy computing in float32,
    bfloat16 or float16 over the model's existing variables.

    Raises:
        ValueError: For an unknown name, or a float64 compute dtype (which needs
            float64 variables: pass `dtype="float64"` to the layers instead).
    """
    if precision is None:
        return None
    try:
        policy = get(precision)
    except ValueError as err:
        raise ValueError(f"`compile` got an invalid `precision`. {err}") from None
    if policy.compute_dtype == "float64":
        raise ValueError(
            "`compile(precision=...)` sets the compute dtype of a model whose variables already "
            "exist, and float64 computation needs float64 variables. Received: "
            f"precision={precision!r}. Build the model with `dtype='float64'` on its layers "
            "(or `lamina.mixed_precision.set_global_policy('float64')` before building it)."
        )
    return policy


# True inside `float32_path()`: mixed-precision layers skip autocast.
FLOAT32_PATH = [False]


@contextlib.contextmanager
def float32_path() -> Iterator[None]:
    """Runs mixed-precision models (float32 variables) entirely in float32: no
    autocast, no input casts to a reduced dtype. Export uses it, so an ONNX file of
    a `"mixed_bfloat16"` model is a float32 graph that runs everywhere, checked
    against the model's float32 computation. Layers whose variables themselves
    are bfloat16 / float16 (policy `"bfloat16"` / `"float16"`) keep their dtype.

    Example:

    >>> import torch, lamina
    >>> layer = lamina.layers.Dense(2, dtype="mixed_bfloat16")
    >>> with float32_path():
    ...     layer(torch.ones(1, 3)).dtype
    torch.float32
    """
    previous = FLOAT32_PATH[0]
    FLOAT32_PATH[0] = True
    try:
        yield
    finally:
        FLOAT32_PATH[0] = previous
