"""`save_weights` / `load_weights`: a model's `state_dict` as one safetensors file.

The file holds every parameter and buffer (batch-norm statistics included)
under its `state_dict` name. Loading compares names and shapes first and
reports every difference at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from lamina.saving import file_io
from lamina.saving.tensors import SafetensorsError, bytes_to_tensors, tensors_to_bytes

WEIGHTS_SUFFIX = ".weights.safetensors"


@dataclass
class WeightsReport:
    """What `load_weights` matched between a model and a weights file.

    Attributes:
        loaded: Names of the weights that were loaded.
        missing: Names the model has but the file lacks (left unchanged).
        unexpected: Names the file has but the model lacks (ignored), sorted.
        mismatched: `(name, expected_shape, found_shape)` for weights whose shape
            in the file differs from the model's (left unchanged).
    """

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every weight matched."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self) -> str:
        """The differences, one per line."""
        lines: list[str] = []
        if self.missing:
            lines.append(f"Missing from the file ({len(self.missing)}): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append(
                f"Unexpected in the file ({len(self.unexpected)}): " + ", ".join(self.unexpected)
            )
        if self.mismatched:
            lines.append(f"Shape mismatches ({len(self.mismatched)}):")
            lines.extend(
                f"  {name}: the model expects {list(exp)}, the file has {list(got)}"
                for name, exp, got in self.mismatched
            )
        return "\n".join(lines)


def check_suffix(path: str | os.PathLike, suffix: str, role: str, example: str) -> str:
    """Returns ``path`` as a string, or raises when it does not end with ``suffix``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"`{role}` expects a file path (str or os.PathLike). Received: filepath={path!r}."
        )
    text = os.fspath(path)
    if not text.endswith(suffix):
        raise ValueError(
            f"`{role}` expects a file name ending with {suffix!r}. Received: filepath={text!r}. "
            f"Use e.g. {example!r}."
        )
    return text


def compare(
    model_state: dict[str, torch.Tensor], file_state: dict[str, torch.Tensor]
) -> WeightsReport:
    """Matches a file's tensors against a model's `state_dict` by name and shape."""
    report = WeightsReport()
    for name, target in model_state.items():
        if name not in file_state:
            report.missing.append(name)
        elif tuple(file_state[name].shape) != tuple(target.shape):
            report.mismatched.append(
                (name, tuple(target.shape), tuple(file_state[name].shape))
            )
        else:
            report.loaded.append(name)
    report.unexpected = sorted(name for name in file_state if name not in model_state)
    return report


def _same_structure(model_state: dict[str, torch.Tensor], file_state: dict[str, torch.Tensor]) -> bool:
    """True when both hold the same number of tensors with the same shapes in order,
    and each name differs at most in its first component (the layer name)."""
    if len(model_state) != len(file_state):
        return False
    for (a, ta), (b, tb) in zip(model_state.items(), file_state.items()):
        if tuple(ta.shape) != tuple(tb.shape) or a.split(".")[1:] != b.split(".")[1:]:
            return False
    return True


def apply_state(
    model: torch.nn.Module,
    file_state: dict[str, torch.Tensor],
    strict: bool,
    source: str,
) -> WeightsReport:
    """Copies matching tensors into ``model``; with ``strict`` any difference is an error.

    Args:
        model: The model to fill.
        file_state: Tensors read from a file.
        strict: Raise one ValueError listing every missing, unexpected and
            mis-shaped weight instead of loading what matches.
        source: How to name the file in messages.
    """
    model_state = model.state_dict()
    report = compare(model_state, file_state)
    if not report.ok and _same_structure(model_state, file_state):
        # Only the names differ (e.g. automatic layer names `dense_3` vs `dense` after
        # building the same architecture twice): match by position and shape, as Keras
        # matches weights by structure.
        file_state = dict(zip(model_state, file_state.values()))
        report = compare(model_state, file_state)
    if strict and not report.ok:
        hint = ""
        if not model_state:
            hint = (
                " The model has no weights yet: build it first (call it on a batch, give it an "
                "`Input(shape=...)`, or call `model.build(input_shape)`)."
            )
        raise ValueError(
            f"The weights in {source} do not match the model "
            f"'{getattr(model, 'name', type(model).__name__)}'.\n{report.describe()}\n"
            f"Load them into a model built with the same architecture, or pass strict=False "
            f"to load only the weights that match.{hint}"
        )
    with torch.no_grad():
        for name in report.loaded:
            model_state[name].copy_(file_state[name])
    return report


def save_weights(model: torch.nn.Module, filepath: str | os.PathLike) -> None:
    """Writes the model's `state_dict` (parameters and buffers) to a safetensors file.

    Args:
        model: The model.
        filepath: A path ending with `.weights.safetensors`.

    Example:
        >>> import lamina, tempfile, os
        >>> model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(2)])
        >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.safetensors")
        >>> model.save_weights(path)
        >>> model.load_weights(path).ok
        True
    """
    if isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith(".h5"):
        from lamina.saving.keras_format import save_keras_weights

        return save_keras_weights(model, filepath)  # Keras's `.weights.h5`
    path = check_suffix(filepath, WEIGHTS_SUFFIX, "save_weights", "model.weights.safetensors")
    data = tensors_to_bytes(model.state_dict(), metadata={"format": "pt", "producer": "lamina"})
    file_io.atomic_write(path, lambda f: f.write(data))


def read_weights_file(path: str) -> dict[str, torch.Tensor]:
    """Reads a `.weights.safetensors` file, or the weights of a `.lamina` file."""
    if path.endswith(".lamina"):
        from lamina.saving.model_io import MODEL_FILE_WHAT, WEIGHTS_MEMBER

        with file_io.Archive(path, MODEL_FILE_WHAT) as archive:
            data = archive.read(WEIGHTS_MEMBER)
            try:
                return bytes_to_tensors(data)
            except SafetensorsError as e:
                raise archive.error(f"{WEIGHTS_MEMBER!r} is not valid safetensors data: {e}") from e
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path!r}. Check the path.")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return bytes_to_tensors(data)
    except SafetensorsError as e:
        raise ValueError(
            f"{os.path.basename(path)!r} is not a weights file (not valid safetensors data: {e}). "
            "Write it with `model.save_weights(path)`."
        ) from e


def load_weights(model: torch.nn.Module, filepath: str | os.PathLike, strict: bool = True) -> WeightsReport:
    """Loads weights saved by `save_weights` (or from a `.lamina` file) into ``model``.

    Args:
        model: A built model with the same architecture.
        filepath: A `.weights.safetensors` or `.lamina` file.
        strict: When True, any missing, unexpected or mis-shaped weight raises
            one `ValueError` that lists them all and nothing is loaded; when
            False, the weights that match are loaded and the rest reported.
            Defaults to `True`.

    Returns:
        A `WeightsReport` saying what was loaded, missing, unexpected or mis-shaped.
    """
    if isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith((".h5", ".keras")):
        from lamina.saving.keras_format import load_keras_weights

        return load_keras_weights(model, filepath)  # Keras's `.weights.h5` (or a `.keras` file)
    if not isinstance(strict, bool):
        raise ValueError(f"`load_weights` expects `strict` to be True or False. Received: strict={strict!r}.")
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"`load_weights` expects a file path. Received: filepath={filepath!r}.")
    path = os.fspath(filepath)
    if not (path.endswith(WEIGHTS_SUFFIX) or path.endswith(".lamina")):
        raise ValueError(
            f"`load_weights` expects a file ending with {WEIGHTS_SUFFIX!r} (from `save_weights`) "
            f"or '.lamina' (from `save`). Received: filepath={path!r}."
        )
    state = read_weights_file(path)
    return apply_state(model, state, strict, repr(os.path.basename(path)))

