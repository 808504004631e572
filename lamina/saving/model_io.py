"""`save_model` / `load_model`: the whole model in one `.lamina` file.

A `.lamina` file is a zip archive holding:

* ``config.json``: the format version, the model's class name and
  `get_config()`, its compile configuration (optimizer, loss and metrics as
  ``{"class_name", "config"}`` dicts) and metadata (Lamina and PyTorch
  versions, creation time in UTC, the input shape and dtype);
* ``model.safetensors``: the `state_dict` (parameters and buffers);
* ``optimizer.json`` and ``optimizer.safetensors``: the optimizer's state, its
  tensors (e.g. Adam's moments) in safetensors and the rest in JSON;
* ``profile.json`` (after `fit`): the reference profile of the training data
  and predictions (`lamina.monitoring.ReferenceProfile`, at most 5 MB).

Loading reads only these members, never unpickles anything and only
instantiates Lamina's built-in classes and classes registered with
`@lamina.register`.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
from datetime import datetime, timezone
from typing import Any

import torch

from lamina.saving import file_io, preflight, registry, serialization_lib
from lamina.saving.errors import InvalidFileError, guard_file_errors
from lamina.saving.object_registration import CustomObjectScope
from lamina.saving.optimizer_checks import check_optimizer_config, check_optimizer_state
from lamina.saving.tensors import (
    decode_state,
    encode_state,
    tensors_to_bytes,
)
from lamina.saving.weights import apply_state, check_flag, check_suffix

FORMAT_NAME = "lamina"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".lamina"
MODEL_FILE_WHAT = "a Lamina model file"
CONFIG_MEMBER = "config.json"
WEIGHTS_MEMBER = "model.safetensors"
OPTIMIZER_STATE_MEMBER = "optimizer.json"
OPTIMIZER_TENSORS_MEMBER = "optimizer.safetensors"
LOAD_FIX = "Save the model again with `model.save(path)`, or load a copy you trust."
PROFILE_MEMBER = "profile.json"  # the reference profile for drift monitoring (lamina.monitoring)


# =========================================================================== save
def save_model(model: Any, filepath: str | os.PathLike) -> None:
    """Saves a model (architecture, weights, compile configuration and optimizer
    state) to one `.lamina` file, atomically.

    The model's class must be built into Lamina or registered with
    `@lamina.register` (or `@lamina.saving.register_keras_serializable`), and
    so must every custom layer, loss, metric, activation and optimizer it uses;
    otherwise this raises before writing anything, since the file could not be
    loaded back. Layers and other objects that a custom `get_config()` returns
    are serialised with `lamina.saving.serialize_keras_object`.

    Args:
        model: A `lamina.Model`.
        filepath: A path ending with `.lamina` (or `.keras` for a Keras 3 file).

    Example:
        >>> import lamina, tempfile, os
        >>> model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(2)])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.lamina")
        >>> model.save(path)
        >>> lamina.load_model(path).count_params()
        8
    """
    if isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith(".keras"):
        from lamina.saving.keras_format import save_keras_model

        return save_keras_model(model, filepath)  # a Keras 3 file
    from lamina.models.model import Model

    if not isinstance(model, Model):
        raise TypeError(
            f"`save_model` expects a `lamina.Model`. Received: {type(model).__name__}. "
            "Save a plain torch module's weights with `safetensors.torch.save_file`."
        )
    if isinstance(filepath, (str, os.PathLike)) and not os.fspath(filepath).endswith(MODEL_SUFFIX):
        raise ValueError(
            "`save` expects a file name ending with '.lamina' (Lamina's format) or '.keras' (a "
            f"Keras 3 file). Received: filepath={os.fspath(filepath)!r}. Use e.g. 'model.keras'."
        )
    path = check_suffix(filepath, MODEL_SUFFIX, "save", "model.lamina")
    class_name = _model_class_name(model)
    config = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class_name": class_name,
        "config": serialization_lib.serialize_keras_object(_model_config(model)),
        "compile_config": _compile_config(model),
        "metadata": _metadata(model),
    }
    _check_classes_loadable(config["config"], model)
    if config["compile_config"] is not None:
        try:
            decode_compile_config(config["compile_config"])
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"The compile configuration of model '{model.name}' could not be loaded back "
                f"from the file, so it is not saved: {e} Register custom losses, metrics and "
                "optimizers with @lamina.register, or save only the weights with "
                "`model.save_weights(...)`."
            ) from e
    try:
        config_bytes = file_io.dumps_json(config)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"The configuration of model '{model.name}' is not JSON-able: {e}. `get_config()` of "
            "the model and its layers must return plain values (numbers, strings, lists, dicts, "
            "None)."
        ) from e
    members = {
        CONFIG_MEMBER: config_bytes,
        WEIGHTS_MEMBER: tensors_to_bytes(
            model.state_dict(), metadata={"format": "pt", "producer": "lamina"}
        ),
    }
    if config["compile_config"] is not None and model.optimizer is not None:
        tensors: dict[str, torch.Tensor] = {}
        state = encode_state(model.optimizer.state_dict(), tensors)
        members[OPTIMIZER_STATE_MEMBER] = file_io.dumps_json({"state": state}, indent=None)
        members[OPTIMIZER_TENSORS_MEMBER] = tensors_to_bytes(tensors)
    profile = _profile_bytes(model)
    if profile is not None:
        members[PROFILE_MEMBER] = profile
    file_io.atomic_write(path, lambda f: file_io.write_zip(f, members))


def _profile_bytes(model: Any) -> bytes | None:
    from lamina.monitoring import recording

    profile = recording.reference_profile(model)
    return None if profile is None else profile.to_json().encode("utf-8")


def _model_class_name(model: Any) -> str:
    cls = type(model)
    name = registry.get_registered_name(cls)
    if name is None:
        raise ValueError(
            f"The model class `{cls.__name__}` is not registered, so a saved file could not be "
            f"loaded back. Received: a `{cls.__module__}.{cls.__name__}` instance. Decorate the "
            "class with @lamina.register (and import it before calling load_model)."
        )
    return name


def _model_config(model: Any) -> dict[str, Any]:
    cls = type(model)
    if registry.has_custom_get_config(cls):
        config = model.get_config()
        if not isinstance(config, dict):
            raise TypeError(
                f"`{cls.__name__}.get_config()` must return a dict. Received: {config!r}."
            )
        return config
    required = [
        p.name
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if required:
        raise ValueError(
            f"The model class `{cls.__name__}` takes constructor arguments ({', '.join(required)}) "
            "but does not define `get_config()`, so it could not be rebuilt from the file. "
            f"Received: a `{cls.__name__}` without get_config. Implement `get_config()` returning "
            "those arguments (and `from_config(config)` if they need converting)."
        )
    return {"name": model.name, "trainable": model.trainable}


def _walk_class_names(value: Any) -> list[str]:
    """The class names in a config, and `function:<name>` for each function entry."""
    names: list[str] = []
    if isinstance(value, dict):
        if value.get("class_name") == "function" and "config" in value:
            names.append(f"function:{value.get('registered_name') or value['config']}")
        elif isinstance(value.get("class_name"), str) and isinstance(value.get("config"), dict):
            names.append(value.get("registered_name") or value["class_name"])
        for v in value.values():
            names.extend(_walk_class_names(v))
    elif isinstance(value, (list, tuple)):
        for v in value:
            names.extend(_walk_class_names(v))
    return names


def _check_classes_loadable(config: Any, model: Any) -> None:
    for name in _walk_class_names(config):
        try:
            if name.startswith("function:"):
                registry.get_function(name[len("function:"):])
            else:
                registry.get_class(name)
        except ValueError as e:
            raise ValueError(
                f"Model '{model.name}' uses the class '{name}', which is neither built into Lamina "
                "nor registered, so the file could not be loaded back. Decorate the class with "
                "@lamina.register before saving."
            ) from e


def _compile_config(model: Any) -> dict[str, Any] | None:
    from lamina import optimizers

    cc = getattr(model, "_compile_config", None)
    if not getattr(model, "compiled", False) or cc is None:
        return None
    return {
        "optimizer": None if model.optimizer is None else optimizers.serialize(model.optimizer),
        "loss": cc.get("loss"),
        "metrics": _encode_metrics(cc.get("metrics")),
        "weighted_metrics": _encode_metrics(cc.get("weighted_metrics")),
        "loss_weights": cc.get("loss_weights"),
        "jit_compile": bool(cc.get("jit_compile", False)),
        **({"precision": cc["precision"]} if cc.get("precision") is not None else {}),
    }


def _encode_metrics(spec: Any) -> Any:
    from lamina import metrics

    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, metrics.Metric):
        return metrics.serialize(spec)
    if isinstance(spec, (list, tuple)):
        return [_encode_metrics(s) for s in spec]
    if isinstance(spec, dict):
        return {"outputs": {k: _encode_metrics(v) for k, v in spec.items()}}
    if callable(spec):
        name = registry.get_registered_name(spec)
        if name is None:
            raise ValueError(
                f"The metric function {getattr(spec, '__name__', spec)!r} is not registered, so "
                "it could not be loaded back. Decorate it with @lamina.register before saving."
            )
        return {"function": name}
    raise ValueError(f"Cannot save the metric {spec!r}: expected a name, a Metric or a function.")


def _metadata(model: Any) -> dict[str, Any]:
    import lamina
    from lamina.layers.symbolic import dtype_name

    return {
        "lamina_version": lamina.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "created": datetime.now(timezone.utc).isoformat(),
        "input": {
            "shape": _shape_to_json(model._build_input_shape),
            "dtype": dtype_name(model._input_dtype()),
        },
    }


def _shape_to_json(shape: Any) -> Any:
    if isinstance(shape, dict):
        return {k: _shape_to_json(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        return [_shape_to_json(v) for v in shape]
    return shape


def _shape_from_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape_from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        if all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value):
            return tuple(value)
        return [_shape_from_json(v) for v in value]
    return value


# =========================================================================== compile config
def _objects_for(*bases: type) -> dict[str, Any]:
    """Registered functions, and registered classes deriving from ``bases``."""
    return {
        k: v
        for k, v in registry.registered_objects().items()
        if inspect.isfunction(v) or (inspect.isclass(v) and issubclass(v, bases))
    }


def _decode_loss(value: Any) -> Any:
    from lamina import losses

    if value is None:
        return None
    if isinstance(value, dict) and "class_name" in value:
        return losses.deserialize(value, _objects_for(losses.Loss))
    if isinstance(value, list):
        return [_decode_loss(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode_loss(v) for k, v in value.items()}
    raise ValueError(f"A saved loss must be a class_name/config dict. Received: {value!r}.")


def _decode_metrics(value: Any) -> Any:
    from lamina import metrics

    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_decode_metrics(v) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        return metrics.deserialize(value, _objects_for(metrics.Metric))
    if isinstance(value, dict) and set(value) == {"function"}:
        fn = _objects_for(metrics.Metric).get(value["function"])
        if fn is None or inspect.isclass(fn):
            raise ValueError(
                f"Unknown metric function {value['function']!r} in the saved file. Register it "
                "with @lamina.register before calling load_model."
            )
        return fn
    if isinstance(value, dict) and set(value) == {"outputs"} and isinstance(value["outputs"], dict):
        return {k: _decode_metrics(v) for k, v in value["outputs"].items()}
    raise ValueError(f"Cannot read the saved metrics entry {value!r}.")


def decode_compile_config(cc: dict[str, Any]) -> dict[str, Any]:
    """Turns a saved compile configuration into `Model.compile` keyword arguments,
    instantiating only built-in and registered classes."""
    from lamina import optimizers, schedules

    if not isinstance(cc, dict):
        raise ValueError(f"The compile configuration must be a dict. Received: {cc!r}.")
    opt_config = cc.get("optimizer")
    optimizer = (
        None
        if opt_config is None
        else optimizers.deserialize(
            opt_config, _objects_for(optimizers.Optimizer, schedules.LearningRateSchedule)
        )
    )
    return {
        "optimizer": optimizer,
        "loss": _decode_loss(cc.get("loss")),
        "metrics": _decode_metrics(cc.get("metrics")),
        "weighted_metrics": _decode_metrics(cc.get("weighted_metrics")),
        "loss_weights": cc.get("loss_weights"),
        "jit_compile": bool(cc.get("jit_compile", False)),
        **({"precision": cc["precision"]} if isinstance(cc.get("precision"), str) else {}),
    }


# =========================================================================== load
def load_model(
    filepath: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
    *,
    allow_dtype_cast: bool = False,
    allow_nonfinite: bool = False,
) -> Any:
    """Loads a model saved with `model.save(...)`, without executing code from the file.

    Only Lamina's built-in classes and classes registered with `@lamina.register`
    or `@lamina.saving.register_keras_serializable` (or passed in
    ``custom_objects``) are instantiated; nothing is unpickled and
    no module named in the file is imported. The model is rebuilt from its
    config (a registered subclass whose class does not define `get_config` is
    created as `cls()` with no arguments, so its constructor must not need
    any), built for the saved input shape (with the saved input dtype, falling
    back to integer inputs when float inputs fail, for models that start with an
    `Embedding`), filled with the saved weights (every name and shape must
    match), and, with ``compile=True``, compiled as it was saved with the
    optimizer state restored, so training continues where it stopped.

    Before anything is allocated, the model the config describes is sized on
    PyTorch's ``meta`` device (`lamina.saving.preflight`): a config asking for
    far more weights than the file holds, or a build pass larger than
    `preflight.MAX_BUILD_ACTIVATION_BYTES`, is refused. Weights whose dtype
    differs from the model's, NaN or infinite weights, and an optimizer state
    that does not fit the model (`optimizer_checks.check_optimizer_state`) are
    refused too.

    Args:
        filepath: A `.lamina` file, or a Keras 3 `.keras` file.
        custom_objects: Extra classes or functions by name, e.g.
            ``{"MyLayer": MyLayer}``, used in addition to the registered ones.
            Defaults to `None`.
        compile: Whether to compile the model as saved and restore the
            optimizer state. Defaults to `True`.
        safe_mode: Keras's switch for running `lambda` code from a file.
            Lamina never runs code from a file, so a `lambda` is refused
            whatever its value. Defaults to `True`.
        allow_dtype_cast: Cast weights saved with another dtype than the
            model's (e.g. float64 into float32) when every value survives the
            cast (stays finite, integers exact). Defaults to `False`.
        allow_nonfinite: Load NaN or infinite values in weights and buffers
            (e.g. a ``-inf`` attention mask saved as a buffer). Defaults to
            `False`.

    Returns:
        The model (on the CPU).

    Raises:
        InvalidFileError: (a `ValueError`) If the file is not a valid
            `.lamina` file (not a zip, truncated, missing a member, invalid
            JSON, a newer format, a model larger than its weights), names a
            class that is neither built in nor registered, or its weights or
            optimizer state do not match the rebuilt model.
    """
    check_flag("load_model", "allow_dtype_cast", allow_dtype_cast)
    check_flag("load_model", "allow_nonfinite", allow_nonfinite)
    if isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith((".keras", ".h5")):
        from lamina.saving.keras_format import load_keras_model

        if allow_dtype_cast or allow_nonfinite:
            raise ValueError(
                "`load_model` accepts `allow_dtype_cast` and `allow_nonfinite` for Lamina's `.lamina` "
                f"files only. Received: allow_dtype_cast={allow_dtype_cast}, allow_nonfinite="
                f"{allow_nonfinite} for {os.fspath(filepath)!r}. Load the Keras file without them."
            )
        return load_keras_model(filepath, custom_objects, compile)  # a Keras 3 file
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"`load_model` expects a file path. Received: filepath={filepath!r}.")
    path = os.fspath(filepath)
    if path.endswith(".weights.safetensors"):
        raise ValueError(
            f"`load_model` reads `.lamina` files; {path!r} holds only weights. Received: "
            f"filepath={path!r}. Build the model in code and call `model.load_weights(path)`."
        )
    if not isinstance(compile, bool):
        raise ValueError(f"`load_model` expects `compile` to be True or False. Received: compile={compile!r}.")
    if not isinstance(safe_mode, bool):
        raise ValueError(f"`load_model` expects `safe_mode` to be True or False. Received: safe_mode={safe_mode!r}.")
    with guard_file_errors(path, MODEL_FILE_WHAT, LOAD_FIX):
        return _load(path, custom_objects, compile, allow_dtype_cast, allow_nonfinite)


def _load(
    path: str, custom_objects: Any, compile: bool, allow_dtype_cast: bool, allow_nonfinite: bool
) -> Any:
    with file_io.Archive(path, MODEL_FILE_WHAT) as archive, CustomObjectScope(custom_objects):
        config = archive.read_json(CONFIG_MEMBER)
        _check_header(config, archive)
        restore_compile = compile and config.get("compile_config") is not None
        if restore_compile:
            _check_compile_config(config["compile_config"], archive)
        header, _ = archive.tensor_header(WEIGHTS_MEMBER)
        _preflight(config, header, archive)
        model = _rebuild(config, archive)
        _build_if_needed(model, config, archive)
        if config["config"].get("trainable", True) is False:
            model.trainable = False  # after building, so every weight is frozen
        weights = archive.read_tensors(WEIGHTS_MEMBER)
        apply_state(
            model, weights, strict=True, source=f"{WEIGHTS_MEMBER!r} in {archive.label}",
            allow_dtype_cast=allow_dtype_cast, allow_nonfinite=allow_nonfinite, path=archive.path,
        )
        del weights
        if archive.has(PROFILE_MEMBER):
            _load_profile(model, archive)
        if restore_compile:
            try:
                model.compile(**decode_compile_config(config["compile_config"]))
            except (TypeError, ValueError) as e:
                raise ValueError(
                    f"The compile configuration saved in {archive.label} could not be restored: "
                    f"{e} Pass compile=False to load the model uncompiled."
                ) from e
            if model.optimizer is not None and archive.has(OPTIMIZER_STATE_MEMBER):
                _load_optimizer_state(model, archive)
    return model


def _check_compile_config(cc: Any, archive: file_io.Archive) -> None:
    if not isinstance(cc, dict):
        raise archive.error(f"its 'compile_config' in {CONFIG_MEMBER!r} must be a dict. Received: {cc!r:.200}", member=CONFIG_MEMBER)
    try:
        check_optimizer_config(cc.get("optimizer"), f"{CONFIG_MEMBER!r}")
    except InvalidFileError as e:
        text = str(e)
        raise InvalidFileError(
            f"{archive.label}: {text[:1].lower()}{text[1:]}", path=archive.path, member=CONFIG_MEMBER
        ) from None


def _preflight(config: dict[str, Any], header: dict[str, Any], archive: file_io.Archive) -> None:
    """Sizes the model on the meta device before building it for real (see
    `lamina.saving.preflight`)."""
    from lamina.layers.symbolic import to_torch_dtype

    config_label = f"{CONFIG_MEMBER!r} in {archive.label}"
    weights_label = repr(WEIGHTS_MEMBER)
    fix = LOAD_FIX
    spec = config["metadata"]["input"]
    shape = _shape_from_json(spec.get("shape"))
    try:
        dtype = to_torch_dtype(spec.get("dtype"))
    except ValueError as e:
        raise archive.error(f"its input dtype is not valid: {e}") from e
    try:
        if shape is not None:
            preflight.check_input_size(shape, dtype, config_label, fix)

        def build() -> Any:
            model = _rebuild(config, archive)
            _build_if_needed(model, config, archive)
            return model

        model, _, meter = preflight.meta_build(build, config_label, fix)
        if model is not None:
            preflight.check_state_size(model.state_dict(), header, config_label, weights_label, fix)
        else:  # the weights created before the build failed, then the cheap check
            preflight.check_state_size(meter.weights_state(), header, config_label, weights_label, fix)
            preflight.check_config_ints(
                config["config"], preflight.header_values(header), config_label, weights_label, fix
            )
    except InvalidFileError as e:
        e.path = archive.path
        e.member = e.member or CONFIG_MEMBER
        raise


def _check_header(config: Any, archive: file_io.Archive) -> None:
    if not isinstance(config, dict) or config.get("format") != FORMAT_NAME:
        raise archive.error(f"{CONFIG_MEMBER!r} does not describe a Lamina model")
    version = config.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise archive.error(f"its format version {version!r} is not valid")
    if version > FORMAT_VERSION:
        import lamina

        saved_with = (config.get("metadata") or {}).get("lamina_version", "unknown")
        raise ValueError(
            f"{archive.label} was written by a newer Lamina (file format version {version}, "
            f"Lamina {saved_with}); this Lamina {lamina.__version__} reads format versions up to "
            f"{FORMAT_VERSION}. Received: format_version={version}. Upgrade Lamina "
            "(pip install -U lamina) to load it."
        )
    if not isinstance(config.get("class_name"), str) or not isinstance(config.get("config"), dict):
        raise archive.error(f"{CONFIG_MEMBER!r} lacks the model's 'class_name' or 'config'")
    metadata = config.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("input"), dict):
        raise archive.error(f"{CONFIG_MEMBER!r} lacks the model's input specification")


def _rebuild(config: dict[str, Any], archive: file_io.Archive) -> Any:
    from lamina.models.model import Model

    name = config["class_name"]
    cls = registry.get_class(name, family="model")
    if not (inspect.isclass(cls) and issubclass(cls, Model)):
        raise archive.error(f"the saved class {name!r} is not a model")
    try:
        if registry.has_custom_get_config(cls):
            model = serialization_lib.from_config(cls, dict(config["config"]))
        else:
            model = cls()
            saved = config["config"]
            if isinstance(saved.get("name"), str):
                model.name = saved["name"]
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
        raise InvalidFileError(
            f"Could not rebuild the model '{name}' saved in {archive.label}: {e}",
            path=archive.path,
            member=CONFIG_MEMBER,
        ) from e
    if not isinstance(model, Model):
        raise ValueError(
            f"`{cls.__name__}.from_config` returned {type(model).__name__}, not a model. "
            f"Received it while loading {archive.label}. Make `from_config` return `cls(...)`."
        )
    return model


def _build_if_needed(model: Any, config: dict[str, Any], archive: file_io.Archive) -> None:
    from lamina.layers.symbolic import to_torch_dtype

    spec = config["metadata"]["input"]
    shape = _shape_from_json(spec.get("shape"))
    if shape is None:
        return
    try:
        dtype = to_torch_dtype(spec.get("dtype"))
    except ValueError as e:
        raise archive.error(f"its input dtype is not valid: {e}") from e
    if model.built and len(model.state_dict()) > 0:
        return
    try:
        _build(model, shape, dtype)
    except Exception as first:  # noqa: BLE001 - retried, then reported with its cause
        if not dtype.is_floating_point:
            raise _build_error(model, shape, archive, first) from first
        try:
            _build(model, shape, torch.int64)
        except Exception:  # noqa: BLE001
            raise _build_error(model, shape, archive, first) from first


def _build_error(model: Any, shape: Any, archive: file_io.Archive, cause: Exception) -> ValueError:
    return InvalidFileError(
        f"Could not build the model '{model.name}' loaded from {archive.label} for its saved input "
        f"shape {shape}: {type(cause).__name__}: {cause}. Check that the model's class builds "
        "the same layers as when it was saved.",
        path=archive.path,
        member=CONFIG_MEMBER,
    )


def _build(model: Any, shape: Any, dtype: torch.dtype) -> None:
    if dtype == model._input_dtype():
        model.build(shape)
        return
    from lamina.layers.symbolic import _dummy

    def is_shape(s: Any) -> bool:
        return isinstance(s, tuple)

    def dummy(s: Any) -> Any:
        if is_shape(s):
            return _dummy(s, dtype, 3)
        if isinstance(s, dict):
            return {k: dummy(v) for k, v in s.items()}
        return [dummy(v) for v in s]

    x = dummy(shape)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
    model._build_input_shape = shape
    model.built = True


def _load_profile(model: Any, archive: file_io.Archive) -> None:
    from lamina.monitoring import ReferenceProfile, recording
    from lamina.monitoring.feature_profile import MAX_JSON_BYTES

    size = archive._zip.getinfo(PROFILE_MEMBER).file_size
    if size > MAX_JSON_BYTES:
        raise archive.error(
            f"its {PROFILE_MEMBER!r} holds {size} bytes; a reference profile has at most {MAX_JSON_BYTES}"
        )
    profile = ReferenceProfile.from_json(archive.read(PROFILE_MEMBER), f"{PROFILE_MEMBER!r} in {archive.label}")
    recording.set_profile(model, profile)


def _load_optimizer_state(model: Any, archive: file_io.Archive) -> None:
    fix = "Load the model with compile=False to skip the optimizer state, or save it again"
    saved = archive.read_json(OPTIMIZER_STATE_MEMBER)
    if not isinstance(saved, dict) or "state" not in saved:
        raise archive.error(f"its {OPTIMIZER_STATE_MEMBER!r} has no 'state' entry", fix, member=OPTIMIZER_STATE_MEMBER)
    if archive.has(OPTIMIZER_TENSORS_MEMBER):
        tensors = archive.read_tensors(OPTIMIZER_TENSORS_MEMBER)
    elif '"__tensor__"' in json.dumps(saved["state"]):
        raise archive.error(
            f"its {OPTIMIZER_STATE_MEMBER!r} refers to tensors but the archive has no "
            f"{OPTIMIZER_TENSORS_MEMBER!r}; it holds {sorted(archive.names())}",
            fix,
            member=OPTIMIZER_TENSORS_MEMBER,
        )
    else:
        tensors = {}
    try:
        state = decode_state(saved["state"], tensors)
    except (ValueError, TypeError, KeyError) as e:
        raise archive.error(
            f"the optimizer state in {OPTIMIZER_STATE_MEMBER!r} is invalid: {e}", fix, member=OPTIMIZER_STATE_MEMBER
        ) from e
    try:
        check_optimizer_state(model.optimizer, state, repr(OPTIMIZER_STATE_MEMBER), params=model)
    except InvalidFileError as e:
        text = str(e)
        raise InvalidFileError(
            f"{archive.label}: {text[:1].lower()}{text[1:]}", path=archive.path, member=OPTIMIZER_STATE_MEMBER
        ) from None
    try:
        model.optimizer.load_state_dict(state)
    except (ValueError, TypeError, KeyError, RuntimeError, IndexError) as e:
        raise archive.error(
            f"the optimizer state in {OPTIMIZER_STATE_MEMBER!r} is invalid: {e}", fix, member=OPTIMIZER_STATE_MEMBER
        ) from e
