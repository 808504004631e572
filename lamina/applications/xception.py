"""Xception (Chollet, 2017), with Keras's layer names."""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import imagenet_utils
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model


def _sepconv_bn(x: SymbolicTensor, filters: int, name: str) -> SymbolicTensor:
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def _projection(x: SymbolicTensor, filters: int) -> SymbolicTensor:
    """The strided 1x1 convolution (and batch norm) of a downsampling block's shortcut."""
    residual = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization()(residual)


def _entry_block(x: SymbolicTensor, filters: tuple[int, int], block: int, first_relu: bool) -> SymbolicTensor:
    """relu -> sepconv -> relu -> sepconv -> max pool (stride 2), plus the projected shortcut."""
    residual = _projection(x, filters[1])
    prefix = f"block{block}"
    if first_relu:
        x = layers.Activation("relu", name=f"{prefix}_sepconv1_act")(x)
    x = _sepconv_bn(x, filters[0], f"{prefix}_sepconv1")
    x = layers.Activation("relu", name=f"{prefix}_sepconv2_act")(x)
    x = _sepconv_bn(x, filters[1], f"{prefix}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{prefix}_pool")(x)
    return layers.add([x, residual])


def Xception(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "xception",
) -> Model:
    """Instantiates the Xception architecture (depthwise separable convolutions with residual links).

    Expects images preprocessed by `lamina.applications.xception.preprocess_input`
    ("tf" mode: scaled to [-1, 1]) when loading weights trained that way.

    Args:
        include_top: Whether to include the global average pooling (`avg_pool`)
            and the dense classifier (`predictions`). Defaults to `True`.
        weights: `None` (random initialization) or the path of a local weights
            file for this architecture: Keras 3's `.weights.h5`, or Lamina's
            `.weights.safetensors` or `.lamina`.
            Lamina never downloads, so `"imagenet"` is refused. Defaults to `None`.
        input_tensor: Optional symbolic tensor (output of `lamina.Input()`) to
            use as the image input. Defaults to `None`.
        input_shape: Optional image shape `(height, width, channels)`, at least
            71x71. With the top it must be fully known (the default is
            `(299, 299, 3)`); without it height and width may be `None`.
            Defaults to `None`.
        pooling: Feature pooling when `include_top=False`: `None` (the 4-D output
            of the last block), `"avg"` or `"max"` (global pooling, a 2-D output).
            Defaults to `None`.
        classes: Number of classes of the classifier. Defaults to `1000`.
        classifier_activation: Activation of the `predictions` layer; `None`
            gives logits. Defaults to `"softmax"`.
        name: Name of the model. Defaults to `"xception"`.

    Returns:
        A functional `lamina.Model`: images `(batch, height, width, channels)` ->
        `(batch, classes)` (or features with 2048 channels without the top).

    Example:
        >>> import lamina
        >>> model = lamina.applications.Xception(include_top=False, input_shape=(71, 71, 3), pooling="avg")
        >>> model.outputs[0].shape
        (None, 2048)
    """
    owner = "Xception"
    imagenet_utils.check_arguments(owner, include_top, weights, pooling, classes, classifier_activation)
    img_input = imagenet_utils.image_input(owner, input_tensor, input_shape, 299, 71, include_top)

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # Entry flow. Keras names block 2's only activation "block2_sepconv2_act".
    x = _entry_block(x, (128, 128), 2, first_relu=False)
    x = _entry_block(x, (256, 256), 3, first_relu=True)
    x = _entry_block(x, (728, 728), 4, first_relu=True)

    # Middle flow: 8 blocks of three separable convolutions with identity shortcuts.
    for i in range(8):
        residual = x
        prefix = f"block{i + 5}"
        for j in (1, 2, 3):
            x = layers.Activation("relu", name=f"{prefix}_sepconv{j}_act")(x)
            x = _sepconv_bn(x, 728, f"{prefix}_sepconv{j}")
        x = layers.add([x, residual])

    # Exit flow.
    x = _entry_block(x, (728, 1024), 13, first_relu=True)
    x = _sepconv_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sepconv_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    x = imagenet_utils.pooled_top(x, include_top, pooling, classes, classifier_activation, top_pool_name="avg_pool")
    return imagenet_utils.finish(img_input, input_tensor, x, name, weights)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Preprocesses images for Xception ("tf" mode: pixels scaled from [0, 255]
    to [-1, 1]). See `lamina.applications.imagenet_utils.preprocess_input`.

    Args:
        x: NumPy array or torch tensor of images in [0, 255], 3-D or 4-D.
        data_format: `"channels_last"`, `"channels_first"` or None (channels-last).
            Defaults to `None`.

    Returns:
        The preprocessed float images.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
