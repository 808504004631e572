"""`save_weights` / `load_weights`: a model's `state_dict` as one safetensors file.

The file holds every parameter and buffer (batch-norm statistics included)
under its `state_dict` name. Loading compares names and shapes first and
reports every difference at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from lamina.saving import file_io, limits
from lamina.saving.errors import InvalidFileError, guard_file_errors
from lamina.saving.tensors import (
    HeaderProblem,
    TensorInfo,
    decode_safetensors,
    header_length,
    parse_header,
    tensors_to_bytes,
)

WEIGHTS_SUFFIX = ".weights.safetensors"
WEIGHTS_FILE_WHAT = "a Lamina weights file"
LOAD_FIX = "Save the weights again with `model.save_weights(path)`, or load a copy you trust."


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


def check_flag(owner: str, name: str, value: object) -> None:
    """Raises the house ValueError unless ``value`` is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"`{owner}` expects `{name}` to be True or False. Received: {name}={value!r}.")


def _survives_cast(value: torch.Tensor, target: torch.dtype) -> str | None:
    """None when every value of ``value`` survives a cast to ``target`` (finite values
    stay finite, integers and booleans stay exact); otherwise what goes wrong."""
    if value.numel() == 0:
        return None
    cast = value.to(target)
    if target.is_floating_point or target.is_complex:
        if value.dtype.is_floating_point or value.dtype.is_complex:
            was_finite = torch.isfinite(value)
            lost = int((was_finite & ~torch.isfinite(cast)).sum())
            if lost:
                return f"{lost:,} finite value(s) become infinite in {target}"
            return None
        back = cast.to(value.dtype)
        wrong = int((back != value).sum())
        return f"{wrong:,} integer value(s) are not exact in {target}" if wrong else None
    # an integer or boolean target
    if value.dtype.is_floating_point or value.dtype.is_complex:
        if not bool(torch.isfinite(value).all()):
            return f"NaN or infinite values have no {target} value"
    back = cast.to(value.dtype)
    wrong = int((back != value).sum())
    return f"{wrong:,} value(s) change when cast to {target}" if wrong else None


def _check_dtypes(
    model_state: dict[str, torch.Tensor],
    file_state: dict[str, torch.Tensor],
    names: list[str],
    source: str,
    allow_dtype_cast: bool,
    path: str | None,
) -> None:
    differ = [n for n in names if file_state[n].dtype != model_state[n].dtype]
    if not differ:
        return
    if not allow_dtype_cast:
        listed = "; ".join(
            f"{n!r} is {file_state[n].dtype} in the file but {model_state[n].dtype} in the model" for n in differ[:5]
        )
        more = f" (and {len(differ) - 5} more)" if len(differ) > 5 else ""
        raise InvalidFileError(
            f"The weights in {source} do not have the model's dtypes: {listed}{more}. Lamina does not "
            "cast weights silently (a cast can turn 1e300 into inf or 2.5 into 2). Pass "
            "allow_dtype_cast=True to cast them when every value survives the cast, or save the weights "
            "from a model with the same dtypes.",
            path=path,
            member=differ[0],
        )
    for n in differ:
        problem = _survives_cast(file_state[n], model_state[n].dtype)
        if problem is not None:
            raise InvalidFileError(
                f"The weight {n!r} in {source} is {file_state[n].dtype} and cannot be cast to the model's "
                f"{model_state[n].dtype} even with allow_dtype_cast=True: {problem}. Save the weights from a "
                f"model whose {n!r} is {model_state[n].dtype}.",
                path=path,
                member=n,
            )


def check_finite(
    file_state: dict[str, torch.Tensor], names: list[str], source: str, path: str | None
) -> None:
    """Raises `InvalidFileError` naming the tensors among ``names`` that hold NaN or
    infinite values, and how many."""
    bad: list[tuple[str, int, int]] = []
    for n in names:
        t = file_state[n]
        if not (t.dtype.is_floating_point or t.dtype.is_complex) or t.numel() == 0:
            continue
        if bool(torch.isfinite(t).all()):
            continue
        nan = int(torch.isnan(t).sum())
        bad.append((n, nan, int((~torch.isfinite(t)).sum()) - nan))
    if bad:
        listed = "; ".join(f"{n!r} holds {nan:,} NaN and {inf:,} infinite value(s)" for n, nan, inf in bad[:5])
        more = f" (and {len(bad) - 5} more tensors)" if len(bad) > 5 else ""
        raise InvalidFileError(
            f"The weights in {source} are not finite: {listed}{more}. A model with such weights "
            "predicts NaN. Load an earlier copy of the weights, or pass allow_nonfinite=True if the "
            "values are meant (e.g. a -inf mask saved as a buffer).",
            path=path,
            member=bad[0][0],
        )


def check_value_rules(
    model: torch.nn.Module, file_state: dict[str, torch.Tensor], names: list[str], source: str, path: str | None
) -> None:
    """Raises `InvalidFileError` for values that no trained model can hold, before
    anything is copied. One rule, always true: the `moving_variance` buffer of a
    `BatchNormalization` layer is a variance, so it is never negative (a negative
    one makes every prediction NaN through its square root)."""
    from lamina.layers.normalization import BatchNormalization

    for n in names:
        owner_name, _, attr = n.rpartition(".")
        if attr != "moving_variance":
            continue
        try:
            owner = model.get_submodule(owner_name) if owner_name else model
        except AttributeError:
            continue
        if not isinstance(owner, BatchNormalization):
            continue
        t = file_state[n]
        if not t.dtype.is_floating_point:
            continue
        negative = int((t < 0).sum())
        if negative:
            raise InvalidFileError(
                f"The weights in {source} are not valid: the BatchNormalization variance {n!r} holds "
                f"{negative:,} negative value(s) of {t.numel():,} (minimum {float(t.min()):g}); a variance "
                "is never negative, and such a layer predicts NaN. Load an earlier copy of the weights.",
                path=path,
                member=n,
            )


def _same_structure(model_state: dict[str, torch.Tensor], file_state: dict[str, torch.Tensor]) -> bool:
    """True when both hold the same number of tensors with the same shapes in order,
    and each name differs at most in its first component (the layer name)."""
    if len(model_state) != len(file_state):
        return False
    for (a, ta), (b, tb) in zip(model_state.items(), file_state.items()):
        if tuple(ta.shape) != tuple(tb.shape) or a.split(".")[1:] != b.split(".")[1:]:
            return False
    return True


def _mismatch_error(
    model: torch.nn.Module, model_state: dict[str, torch.Tensor], report: WeightsReport, source: str
) -> ValueError:
    hint = ""
    if not model_state:
        hint = (
            " The model has no weights yet: build it first (call it on a batch, give it an "
            "`Input(shape=...)`, or call `model.build(input_shape)`)."
        )
    return ValueError(
        f"The weights in {source} do not match the model "
        f"'{getattr(model, 'name', type(model).__name__)}'.\n{report.describe()}\n"
        f"Load them into a model built with the same architecture, or pass strict=False "
        f"to load only the weights that match.{hint}"
    )


def apply_state(
    model: torch.nn.Module,
    file_state: dict[str, torch.Tensor],
    strict: bool,
    source: str,
    *,
    allow_dtype_cast: bool = False,
    allow_nonfinite: bool = False,
    path: str | None = None,
) -> WeightsReport:
    """Copies matching tensors into ``model``; with ``strict`` any difference is an error.

    Every check runs before anything is copied, so a refused file leaves the
    model unchanged.

    Args:
        model: The model to fill.
        file_state: Tensors read from a file.
        strict: Raise one ValueError listing every missing, unexpected and
            mis-shaped weight instead of loading what matches.
        source: How to name the file in messages.
        allow_dtype_cast: Cast a tensor whose dtype differs from the model's
            when every value survives the cast; otherwise such a tensor raises
            `InvalidFileError`. Defaults to `False`.
        allow_nonfinite: Load NaN and infinite values; otherwise they raise
            `InvalidFileError` naming the tensors and counts. Defaults to `False`.
        path: The file, recorded on the errors raised. Defaults to `None`.
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
        raise _mismatch_error(model, model_state, report, source)
    _check_dtypes(model_state, file_state, report.loaded, source, allow_dtype_cast, path)
    if not allow_nonfinite:
        check_finite(file_state, report.loaded, source, path)
    check_value_rules(model, file_state, report.loaded, source, path)
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


def _not_weights(path: str, problem: HeaderProblem) -> InvalidFileError:
    return InvalidFileError(
        f"{os.path.basename(path)!r} is not a weights file (not valid safetensors data: {problem}). "
        "Write it with `model.save_weights(path)`.",
        path=path,
        member=problem.tensor,
    )


def read_weights_header(path: str) -> dict[str, TensorInfo]:
    """The tensors (name -> `TensorInfo`) a `.weights.safetensors` file, or the weights
    of a `.lamina` file, declare, read from the header alone."""
    if path.endswith(".lamina"):
        from lamina.saving.model_io import MODEL_FILE_WHAT, WEIGHTS_MEMBER

        with file_io.Archive(path, MODEL_FILE_WHAT) as archive:
            return archive.tensor_header(WEIGHTS_MEMBER)[0]
    with file_io.open_regular_file(path, WEIGHTS_FILE_WHAT) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            n = header_length(f.read(8), size)
            header = f.read(n)
            if len(header) != n:
                raise HeaderProblem(f"its header declares {n} bytes but the file ends after {len(header)}")
            return parse_header(header, size - 8 - n)[0]
        except HeaderProblem as e:
            raise _not_weights(path, e) from None


def read_weights_file(path: str) -> dict[str, torch.Tensor]:
    """Reads a `.weights.safetensors` file, or the weights of a `.lamina` file."""
    if path.endswith(".lamina"):
        from lamina.saving.model_io import MODEL_FILE_WHAT, WEIGHTS_MEMBER

        with file_io.Archive(path, MODEL_FILE_WHAT) as archive:
            return archive.read_tensors(WEIGHTS_MEMBER)
    size = file_io.check_regular_file(path, WEIGHTS_FILE_WHAT).st_size
    # A cap just above the file's size: `read(cap + 1)` reserves the whole cap up front.
    cap = limits.MAX_WEIGHTS_BYTES if size > limits.MAX_WEIGHTS_BYTES else size + 1
    data = file_io.read_regular_file(path, WEIGHTS_FILE_WHAT, cap)
    try:
        return decode_safetensors(data)
    except HeaderProblem as e:
        raise _not_weights(path, e) from e.__cause__


def load_weights(
    model: torch.nn.Module,
    filepath: str | os.PathLike,
    strict: bool = True,
    *,
    allow_dtype_cast: bool = False,
    allow_nonfinite: bool = False,
) -> WeightsReport:
    """Loads weights saved by `save_weights` (or from a `.lamina` file) into ``model``.

    The file is checked before anything is copied: a tensor whose dtype differs
    from the model's, or holding NaN or infinite values, raises
    `InvalidFileError` naming it, and the model is left unchanged.

    Args:
        model: A built model with the same architecture.
        filepath: A `.weights.safetensors` or `.lamina` file.
        strict: When True, any missing, unexpected or mis-shaped weight raises
            one `ValueError` that lists them all and nothing is loaded; when
            False, the weights that match are loaded and the rest reported.
            Defaults to `True`.
        allow_dtype_cast: Cast weights saved with another dtype (e.g. float64
            into a float32 model) when every value survives the cast (finite
            values stay finite, integers exact). Defaults to `False`.
        allow_nonfinite: Load NaN and infinite values (e.g. a ``-inf`` mask
            buffer). Defaults to `False`.

    Returns:
        A `WeightsReport` saying what was loaded, missing, unexpected or mis-shaped.
    """
    check_flag("load_weights", "allow_dtype_cast", allow_dtype_cast)
    check_flag("load_weights", "allow_nonfinite", allow_nonfinite)
    if isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith((".h5", ".keras")):
        from lamina.saving.keras_format import load_keras_weights

        if allow_dtype_cast or allow_nonfinite:
            raise ValueError(
                "`load_weights` accepts `allow_dtype_cast` and `allow_nonfinite` for Lamina's "
                f"`.weights.safetensors` and `.lamina` files only. Received: allow_dtype_cast={allow_dtype_cast}, "
                f"allow_nonfinite={allow_nonfinite} for {os.fspath(filepath)!r}. Load the Keras file without them."
            )
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
    what = WEIGHTS_FILE_WHAT if path.endswith(WEIGHTS_SUFFIX) else "a Lamina model file"
    with guard_file_errors(path, what, LOAD_FIX):
        source = repr(os.path.basename(path))
        if strict:  # names and shapes from the header first: no tensor data is read for a mismatch
            model_state = model.state_dict()
            header = read_weights_header(path)
            report = compare(model_state, header)  # type: ignore[arg-type]
            if not report.ok and not _same_structure(model_state, header):  # type: ignore[arg-type]
                raise _mismatch_error(model, model_state, report, source)
        state = read_weights_file(path)
        return apply_state(
            model, state, strict, source,
            allow_dtype_cast=allow_dtype_cast, allow_nonfinite=allow_nonfinite, path=path,
        )
