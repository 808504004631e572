"""MobileNetV2 (Sandler et al., 2018), with Keras's layer names."""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import imagenet_utils
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model
from lamina.utils import validation

# (filters, stride, expansion) of the 17 inverted residual blocks, in order.
_BLOCKS = (
    (16, 1, 1),
    (24, 2, 6), (24, 1, 6),
    (32, 2, 6), (32, 1, 6), (32, 1, 6),
    (64, 2, 6), (64, 1, 6), (64, 1, 6), (64, 1, 6),
    (96, 1, 6), (96, 1, 6), (96, 1, 6),
    (160, 2, 6), (160, 1, 6), (160, 1, 6),
    (320, 1, 6),
)  # fmt: skip


def _make_divisible(v: float, divisor: int = 8) -> int:
    """`v` rounded to a multiple of `divisor`, never more than 10% below `v`."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=name)


def _inverted_res_block(
    inputs: SymbolicTensor, expansion: int, stride: int, alpha: float, filters: int, block_id: int
) -> SymbolicTensor:
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, linear), plus the identity when shapes allow."""
    in_channels = inputs.shape[-1]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = _bn(f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(
        3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise"
    )(x)
    x = _bn(f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def MobileNetV2(  # noqa: N802 - Keras's spelling of model builders
    input_shape: Any = None,
    alpha: float = 1.0,
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str | None = None,
) -> Model:
    """Instantiates the MobileNetV2 architecture (inverted residual blocks with linear bottlenecks).

    Expects images preprocessed by `lamina.applications.mobilenet_v2.preprocess_input`
    ("tf" mode: scaled to [-1, 1]) when loading weights trained that way.

    Args:
        input_shape: Optional image shape `(height, width, channels)`, at least
            32x32. With the top it must be fully known (the default is
            `(224, 224, 3)`); without it height and width may be `None`.
            Defaults to `None`.
        alpha: Width multiplier: scales the number of filters of every block
            (`< 1.0` thinner, `> 1.0` wider; the last convolution keeps 1280
            filters unless `alpha > 1.0`). Defaults to `1.0`.
        include_top: Whether to include the global average pooling and the dense
            classifier (`predictions`). Defaults to `True`.
        weights: `None` (random initialization) or the path of a local weights
            file for this architecture: Keras 3's `.weights.h5`, or Lamina's
            `.weights.safetensors` or `.lamina`.
            Lamina never downloads, so `"imagenet"` is refused. Defaults to `None`.
        input_tensor: Optional symbolic tensor (output of `lamina.Input()`) to
            use as the image input. Defaults to `None`.
        pooling: Feature pooling when `include_top=False`: `None` (the 4-D output
            of the last convolution), `"avg"` or `"max"` (global pooling, a 2-D
            output). Defaults to `None`.
        classes: Number of classes of the classifier. Defaults to `1000`.
        classifier_activation: Activation of the `predictions` layer; `None`
            gives logits. Defaults to `"softmax"`.
        name: Name of the model; `None` gives `"mobilenetv2_{alpha}_{rows}"` with
            `_` for the decimal point (e.g. `"mobilenetv2_1_00_224"`; Keras writes
            `"mobilenetv2_1.00_224"`, but Lamina names cannot hold `.`).
            Defaults to `None`.

    Returns:
        A functional `lamina.Model`: images `(batch, height, width, channels)` ->
        `(batch, classes)` (or features `(batch, height / 32, width / 32, 1280)`
        without the top).

    Example:
        >>> import lamina
        >>> model = lamina.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False)
        >>> model.outputs[0].shape
        (None, 1, 1, 1280)
    """
    owner = "MobileNetV2"
    imagenet_utils.check_arguments(owner, include_top, weights, pooling, classes, classifier_activation)
    alpha = validation.number(owner, "alpha", alpha, low=0.0, low_inclusive=False)
    img_input = imagenet_utils.image_input(owner, input_tensor, input_shape, 224, 32, include_top)
    rows = img_input.shape[1]

    x = layers.Conv2D(
        _make_divisible(32 * alpha, 8), 3, strides=(2, 2), padding="same", use_bias=False, name="Conv1"
    )(img_input)
    x = _bn("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id)
    last_block_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_block_filters, 1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = imagenet_utils.pooled_top(x, include_top, pooling, classes, classifier_activation)
    if name is None:
        # Keras's "mobilenetv2_1.00_224"; Lamina names cannot hold '.'.
        name = f"mobilenetv2_{alpha:0.2f}_{rows if rows is not None else 224}".replace(".", "_")
    return imagenet_utils.finish(img_input, input_tensor, x, name, weights)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Preprocesses images for MobileNetV2 ("tf" mode: pixels scaled from [0, 255]
    to [-1, 1]). See `lamina.applications.imagenet_utils.preprocess_input`.

    Args:
        x: NumPy array or torch tensor of images in [0, 255], 3-D or 4-D.
        data_format: `"channels_last"`, `"channels_first"` or None (channels-last).
            Defaults to `None`.

    Returns:
        The preprocessed float images.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
