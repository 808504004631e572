"""What the ImageNet architectures share: argument checks, the input, the top and
the weights file, `preprocess_input` in its three modes and `decode_predictions`
(Keras's `keras.applications.imagenet_utils`).

Lamina never downloads: `weights` is `None` or the path of a local weights file
(Keras 3's `.weights.h5`, Lamina's `.weights.safetensors` or `.lamina`), read by
`model.load_weights`.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np
import torch

from lamina import activations, layers
from lamina.layers.input_layer import InputLayer
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model
from lamina.utils import tree, validation

_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR order
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def check_arguments(
    owner: str,
    include_top: Any,
    weights: Any,
    pooling: Any,
    classes: Any,
    classifier_activation: Any,
) -> None:
    """Validates the arguments every application takes (Keras's checks, plus
    Lamina's refusal to download)."""
    validation.boolean(owner, "include_top", include_top)
    if isinstance(weights, str) and weights.lower() == "imagenet":
        raise ValueError(
            f"`{owner}` expects `weights` to be None (random initialization) or the path of a "
            f"local weights file. Received: weights={weights!r}. Lamina never downloads: save "
            "the pretrained weights to a local file (Keras 3's `.weights.h5`, or Lamina's "
            "`.weights.safetensors` or `.lamina`) and pass its path, e.g. "
            f"`{owner}(weights='path/to/file.weights.h5')`."
        )
    if weights is not None:
        if not isinstance(weights, (str, os.PathLike)):
            raise TypeError(
                f"`{owner}` expects `weights` to be None or the path of a local weights file. "
                f"Received: weights={weights!r}."
            )
        if not os.path.isfile(weights):
            raise ValueError(
                f"`{owner}` expects `weights` to be None or the path of an existing weights file. "
                f"Received: weights={os.fspath(weights)!r}, which is not a file. Check the path."
            )
    validation.one_of(owner, "pooling", pooling, (None, "avg", "max"))
    validation.positive_int(owner, "classes", classes)
    activation = activations.get(classifier_activation)
    if weights is not None and include_top and activation not in (activations.softmax, activations.linear):
        raise ValueError(
            f"`{owner}` loads the classifier from `weights`, so `classifier_activation` must be "
            f"None or 'softmax'. Received: classifier_activation={classifier_activation!r}. "
            "Apply another activation on the model's output instead."
        )


def obtain_input_shape(
    owner: str,
    input_shape: Any,
    default_size: int,
    min_size: int,
    require_flatten: bool,
) -> tuple[int | None, int | None, int]:
    """The image shape `(height, width, channels)`: `input_shape` checked, or the default.

    `require_flatten` (the top is included) asks for a fully known shape; without
    the top, height and width may be None (any size).
    """
    if input_shape is None:
        return (default_size, default_size, 3) if require_flatten else (None, None, 3)
    ok = (
        isinstance(input_shape, (tuple, list))
        and len(input_shape) == 3
        and all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in input_shape)
        and input_shape[-1] is not None
    )
    if not ok:
        raise ValueError(
            f"`{owner}` expects `input_shape` to be a tuple of three integers (height, width, "
            f"channels), channels last. Received: input_shape={input_shape!r}. Pass e.g. "
            f"input_shape=({default_size}, {default_size}, 3)."
        )
    height, width, channels = input_shape
    if channels not in (1, 3):
        warnings.warn(
            f"`{owner}` usually expects 1 or 3 input channels. Received: input_shape="
            f"{tuple(input_shape)!r}, with {channels} channels.",
            stacklevel=3,
        )
    if (height is not None and height < min_size) or (width is not None and width < min_size):
        raise ValueError(
            f"`{owner}` expects images of at least {min_size}x{min_size} pixels. "
            f"Received: input_shape={tuple(input_shape)!r}. Pass a larger `input_shape` "
            "(resize the images first)."
        )
    if require_flatten and None in (height, width):
        raise ValueError(
            f"`{owner}` with `include_top=True` needs a fully known `input_shape`. "
            f"Received: input_shape={tuple(input_shape)!r}. Pass the image size, e.g. "
            f"input_shape=({default_size}, {default_size}, {channels}), or set include_top=False."
        )
    return (height, width, channels)


def image_input(
    owner: str, input_tensor: Any, input_shape: Any, default_size: int, min_size: int, require_flatten: bool
) -> SymbolicTensor:
    """The model's image tensor: `input_tensor` when given (a symbolic 4-D tensor,
    whose shape is checked as `input_shape` would be), else a new `Input` of the
    checked `input_shape` (or the default)."""
    if input_tensor is None:
        shape = obtain_input_shape(owner, input_shape, default_size, min_size, require_flatten)
        return layers.Input(shape=shape)
    if not isinstance(input_tensor, SymbolicTensor) or len(input_tensor.shape) != 4:
        raise ValueError(
            f"`{owner}` expects `input_tensor` to be a symbolic image tensor of shape "
            "(batch, height, width, channels), from `lamina.Input(shape=...)` or an earlier "
            f"layer. Received: input_tensor={input_tensor!r}."
        )
    if input_shape is not None and tuple(input_shape) != tuple(input_tensor.shape[1:]):
        raise ValueError(
            f"`{owner}` expects `input_shape` to match the shape of `input_tensor` (without the "
            f"batch axis). Received: input_shape={input_shape!r} and an input_tensor of shape "
            f"{input_tensor.shape}. Pass only `input_tensor`."
        )
    obtain_input_shape(owner, tuple(input_tensor.shape[1:]), default_size, min_size, require_flatten)
    return input_tensor


def source_inputs(tensor: SymbolicTensor) -> list[SymbolicTensor]:
    """The `Input` tensors a symbolic tensor was computed from, in the order met."""
    found: list[SymbolicTensor] = []
    seen: set[int] = set()
    stack = [tensor]
    while stack:
        t = stack.pop()
        node = t.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.layer, InputLayer):
            found.append(t)
        else:
            stack.extend(reversed([x for x in tree.flatten(node.inputs) if isinstance(x, SymbolicTensor)]))
    return found


def correct_pad(x: SymbolicTensor, kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Zero padding before a strided 'valid' convolution that matches TensorFlow's 'same'."""
    height, width = x.shape[1:3]
    adjust = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    correct = kernel_size // 2
    return ((correct - adjust[0], correct), (correct - adjust[1], correct))


def pooled_top(
    x: SymbolicTensor,
    include_top: bool,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    pool_names: tuple[str | None, str | None] = (None, None),
    top_pool_name: str | None = None,
    before_dense: Callable[[SymbolicTensor], SymbolicTensor] | None = None,
) -> SymbolicTensor:
    """Global average pooling and the `predictions` classifier, or the optional
    pooling of the features (`pool_names`: the avg / max pooling layers' names)."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=top_pool_name)(x)
        if before_dense is not None:
            x = before_dense(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=pool_names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=pool_names[1])(x)
    return x


def finish(
    img_input: SymbolicTensor, input_tensor: Any, outputs: SymbolicTensor, name: str, weights: Any
) -> Model:
    """The functional model, with the weights file loaded when one is given."""
    inputs = img_input if input_tensor is None else source_inputs(input_tensor)
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    model = Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(os.fspath(weights))
    return model


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Preprocesses a batch of images (values in [0, 255]) as an ImageNet model expects.

    Args:
        x: NumPy array or torch tensor, 3-D or 4-D, with 3 colour channels (RGB)
            for the `"caffe"` and `"torch"` modes. It is never modified in place.
        data_format: `"channels_last"` or `"channels_first"`; None means channels-last.
            Defaults to `None`.
        mode: `"caffe"` (RGB to BGR, then minus the ImageNet mean pixel, no scaling),
            `"tf"` (scaled to [-1, 1]) or `"torch"` (scaled to [0, 1], then standardised
            per channel with the ImageNet mean and standard deviation).
            Defaults to `"caffe"`.

    Returns:
        The preprocessed images, float (float32 unless they were another float type).

    Example:
        >>> import numpy as np
        >>> from lamina.applications.imagenet_utils import preprocess_input
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0), mode="tf")[0, 0, 0].tolist()
        [1.0, 1.0, 1.0]
    """
    validation.one_of("preprocess_input", "mode", mode, ("caffe", "tf", "torch"))
    validation.one_of("preprocess_input", "data_format", data_format, (None, "channels_last", "channels_first"))
    channels_first = data_format == "channels_first"
    is_numpy = isinstance(x, np.ndarray)
    if not is_numpy and not isinstance(x, torch.Tensor):
        x = np.asarray(x)
        is_numpy = True
    if x.ndim not in (3, 4):
        raise ValueError(
            "`preprocess_input` expects a 3-D image or a 4-D batch of images. "
            f"Received: x with shape {tuple(x.shape)}."
        )
    axis = (0 if x.ndim == 3 else 1) if channels_first else x.ndim - 1
    if mode != "tf" and x.shape[axis] != 3:
        raise ValueError(
            "`preprocess_input` expects 3 colour channels (RGB) on the channel axis "
            f"({'channels_first' if channels_first else 'channels_last'}). "
            f"Received: x with shape {tuple(x.shape)}."
        )
    if is_numpy:
        if not issubclass(x.dtype.type, np.floating):
            x = x.astype(np.float32)
    elif not x.is_floating_point():
        x = x.float()
    if mode == "tf":
        return x / 127.5 - 1.0
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        mean, std = np.array(_TORCH_MEAN), np.array(_TORCH_STD)
        x = x / 255.0
    else:
        x = x.flip(axis) if not is_numpy else np.flip(x, axis)
        mean, std = np.array(_CAFFE_MEAN), None
    if is_numpy:
        x = x - mean.reshape(shape).astype(x.dtype)
        return x if std is None else x / std.reshape(shape).astype(x.dtype)
    x = x - torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(shape)
    return x if std is None else x / torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(shape)


_CLASSES_FILE = "imagenet_classes.json"


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """The 1000 ImageNet classes as `(wordnet_id, name)`, in class-index order.

    Read from the package data `lamina/applications/imagenet_classes.json` (Keras's
    `imagenet_class_index.json`, with its source and licence noted in the file).

    Example:
        >>> from lamina.applications.imagenet_utils import imagenet_classes
        >>> imagenet_classes()[985]
        ('n11939491', 'daisy')
    """
    data = resources.files("lamina.applications").joinpath(_CLASSES_FILE)
    text = data.read_text(encoding="utf-8")
    return tuple((wnid, name) for wnid, name in json.loads(text)["classes"])


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` ImageNet classes of each prediction, most probable first (Keras's
    `decode_predictions`).

    Args:
        preds: Scores of an ImageNet classifier, shape `(samples, 1000)` (NumPy
            array, torch tensor or nested lists): probabilities or logits.
        top: How many classes to return per sample, 1 to 1000. Defaults to `5`.

    Returns:
        One list per sample of `(wordnet_id, class_name, score)` tuples, by
        decreasing score.

    Example:
        >>> import numpy as np
        >>> from lamina.applications.imagenet_utils import decode_predictions
        >>> preds = np.zeros((1, 1000)); preds[0, 985] = 0.9
        >>> decode_predictions(preds, top=1)
        [[('n11939491', 'daisy', 0.9)]]
    """
    if isinstance(preds, torch.Tensor):
        preds = preds.detach().cpu().numpy()
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of ImageNet predictions, an array of shape "
            f"(samples, 1000). Received: preds with shape {tuple(preds.shape)}. Pass the output "
            "of a 1000-class ImageNet classifier (e.g. `model.predict(images)`)."
        )
    top = validation.positive_int("decode_predictions", "top", top)
    if top > 1000:
        raise ValueError(f"`decode_predictions` expects `top` <= 1000. Received: top={top}.")
    classes = imagenet_classes()
    results = []
    for row in preds:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(*classes[i], float(row[i])) for i in order])
    return results
