"""The data side of `automl`: which model family suits the inputs, the inputs and
targets as that family's model reads them, and its `build_model(hp)`, with tabular
inputs standardised and regression outputs rescaled inside the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lamina.data.splits import label_vector, to_numpy

__all__ = [
    "FAMILIES",
    "baseline_features",
    "builder",
    "infer_family",
    "inputs_for",
    "moments_of",
    "standardised",
    "targets_for",
]

#: The families `automl` searches, by name: the kind of data each is for.
FAMILIES = {
    "mlp": "tabular data, (samples, features)",
    "convnet": "images, (samples, height, width, channels)",
    "recurrent": "sequences, (samples, timesteps, features)",
    "text": "texts, one string per sample",
}


def _is_text(arr: np.ndarray) -> bool:
    if arr.dtype.kind in "US":
        return True
    return arr.dtype.kind == "O" and all(isinstance(v, str) for v in arr.reshape(-1))


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, (dict, list, tuple)) and x and not all(isinstance(v, str) for v in x):
        if isinstance(x, dict) or all(hasattr(v, "shape") for v in x):
            raise TypeError(
                "`automl` searches models with one input. Received: x with several inputs "
                f"({type(x).__name__} of {len(x)}). Concatenate the features, or write a "
                "`build_model(hp)` and use `lamina.tuning.Tuner`."
            )
    return to_numpy(x)


def infer_family(x: Any) -> str:
    """The model family `automl` searches for inputs ``x``, from their shape and type.

    The rule: one string per sample (a 1-D array or list of `str`) is `"text"`;
    numeric inputs of shape `(samples, features)` are tabular (`"mlp"`),
    `(samples, timesteps, features)` sequences (`"recurrent"`) and
    `(samples, height, width, channels)` images (`"convnet"`). Grey images of
    shape `(samples, height, width)` read as sequences by this rule: pass
    `family="convnet"` to `automl` (it adds the channel axis), or add the axis
    yourself (`x[..., None]`).

    Args:
        x: The inputs: a NumPy array, torch tensor, pandas object or a list of strings.

    Returns:
        One of `"mlp"`, `"convnet"`, `"recurrent"`, `"text"`.

    Raises:
        ValueError: For inputs of another rank (a 1-D numeric array, 5-D arrays).
        TypeError: For non-numeric inputs that are not texts (mixed objects).

    Example:
        >>> import numpy as np
        >>> from lamina.tuning.auto import infer_family
        >>> infer_family(np.zeros((10, 4))), infer_family(np.zeros((10, 8, 8, 1)))
        ('mlp', 'convnet')
        >>> infer_family(["a good film", "a bad one"])
        'text'
    """
    arr = _as_array(x)
    if arr.ndim == 1 and _is_text(arr):
        return "text"
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            "`automl` expects numeric inputs (tabular, images, sequences) or one string per "
            f"sample (texts). Received: x of dtype {arr.dtype} and shape {arr.shape}"
            + (" holding non-string objects" if arr.dtype.kind == "O" else "")
            + ". Encode categories as numbers, or pass the texts as a 1-D array of str."
        )
    family = {2: "mlp", 3: "recurrent", 4: "convnet"}.get(arr.ndim)
    if family is None:
        hint = (
            "Reshape one feature per sample to (samples, 1)."
            if arr.ndim == 1
            else "Reshape the inputs to one of these, or write a `build_model(hp)` for "
            "`lamina.tuning.Tuner`."
        )
        raise ValueError(
            "`automl` picks the model family from the input's rank: 2-D (samples, features) "
            "-> mlp, 3-D (samples, timesteps, features) -> recurrent, 4-D (samples, height, "
            f"width, channels) -> convnet, 1-D strings -> text. Received: x of shape {arr.shape}. "
            + hint
        )
    return family


def inputs_for(family: str, x: Any) -> np.ndarray:
    """``x`` as the family's model reads it (float32 arrays; strings for text)."""
    arr = _as_array(x)
    detected = infer_family(arr)
    if family == "text":
        if detected != "text":
            raise ValueError(
                "`automl(family='text')` expects one string per sample. Received: x of dtype "
                f"{arr.dtype} and shape {arr.shape}. Pass texts, or family='auto'."
            )
        return arr.astype(str)
    if detected == "text":
        raise ValueError(
            f"`automl(family={family!r})` expects numeric inputs. Received: texts (1-D strings). "
            "Pass family='text' or family='auto'."
        )
    arr = arr.astype(np.float32, copy=False)
    if family == "convnet" and arr.ndim == 3:
        arr = arr[..., None]  # grey images: add the channel axis
    if family == "mlp" and arr.ndim > 2:
        arr = arr.reshape(len(arr), -1)
    needs = {"convnet": 4, "recurrent": 3}.get(family)
    if needs is not None and arr.ndim != needs:
        raise ValueError(
            f"`automl(family={family!r})` expects inputs of shape "
            f"{FAMILIES[family].split(', ', 1)[1]}. "
            f"Received: x of shape {arr.shape}. Reshape x, or pass family='auto'."
        )
    return arr


def targets_for(y: Any, task: str) -> tuple[np.ndarray, list[Any] | None]:
    """Class indices 0..k-1 (and the class labels), or float32 values of shape (n, outputs)."""
    if task == "classification":
        classes, index = np.unique(label_vector(y), return_inverse=True)
        return index.astype(np.int64), classes.tolist()
    values = to_numpy(y).astype(np.float32)
    return (values.reshape(-1, 1) if values.ndim == 1 else values), None


def builder(
    family: str, x_fit: np.ndarray, y_fit: np.ndarray, num_outputs: int, task: str
) -> Callable[[Any], Any]:
    """`build_model(hp)` for the family's search space, standardised on the fit data
    (``x_fit``, ``y_fit``: the training set in the search, train + dev for the retraining)."""
    from lamina.tuning import spaces

    if family == "text":  # the text space adapts its vocabulary to the fit texts
        space = lambda hp: spaces.text(hp, x_fit, num_outputs, task=task)  # noqa: E731
    else:
        shape = tuple(int(d) for d in x_fit.shape[1:])
        space = lambda hp: getattr(spaces, family)(hp, shape, num_outputs, task=task)  # noqa: E731
    moments = {
        "x": moments_of(x_fit) if family == "mlp" else None,
        "y": moments_of(y_fit) if task == "regression" else None,
    }
    return lambda hp: standardised(space(hp), moments)


def moments_of(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and variance; a constant column gets variance 1 (left as it is)."""
    a = a.astype(np.float64)
    variance = a.var(axis=0)
    return a.mean(axis=0), np.where(variance > 0, variance, 1.0)


def standardised(model: Any, moments: dict[str, Any]) -> Any:
    """``model`` with its tabular inputs standardised and its regression outputs
    brought back to the targets' scale (frozen `Normalization` layers), recompiled
    as it was: the network sees unit-scale numbers, its user the data's own."""
    import lamina
    from lamina import layers

    if moments["x"] is None and moments["y"] is None:
        return model
    inputs, outputs = model.inputs[0], model.outputs[0]
    if moments["x"] is not None:
        mean, variance = moments["x"]
        inputs = lamina.Input(shape=tuple(model.inputs[0].shape[1:]))
        outputs = model(layers.Normalization(mean=mean, variance=variance)(inputs))
    if moments["y"] is not None:
        mean, variance = moments["y"]
        outputs = layers.Normalization(mean=mean, variance=variance, invert=True)(outputs)
    wrapped = lamina.Model(inputs, outputs, name=model.name)
    metrics = model.get_compile_config().get("metrics")
    wrapped.compile(optimizer=model.optimizer, loss=model.loss, metrics=metrics)
    return wrapped


def baseline_features(family: str, fit_x: np.ndarray, x_test: np.ndarray) -> tuple[Any, Any]:
    """Inputs for the classical baselines: TF-IDF for texts (fitted on the training texts)."""
    if family != "text":
        return fit_x, x_test
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(max_features=5000).fit(fit_x)
    return (
        vectorizer.transform(fit_x).toarray().astype(np.float32),
        vectorizer.transform(x_test).toarray().astype(np.float32),
    )
