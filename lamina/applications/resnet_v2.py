"""ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016, "Identity Mappings in Deep
Residual Networks": pre-activation blocks), with Keras's layer names
(`keras.applications.resnet_v2`)."""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import imagenet_utils
from lamina.applications.resnet_v1 import _DOC_ARGS
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model

_EPSILON = 1.001e-5


def _preact_bottleneck(x: SymbolicTensor, filters: int, stride: int, conv_shortcut: bool,
                       name: str) -> SymbolicTensor:
    """Keras's `residual_block_v2`: batch norm and ReLU first (shared by the projection
    shortcut), then 1x1 -> padded 3x3 (strided) -> 1x1 (4 * filters), added to the shortcut."""
    preact = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def _stack(x: SymbolicTensor, filters: int, blocks: int, stride1: int, name: str) -> SymbolicTensor:
    """Keras's `stack_residual_blocks_v2`: the projection block first, the stride on the last."""
    x = _preact_bottleneck(x, filters, 1, True, f"{name}_block1")
    for i in range(2, blocks):
        x = _preact_bottleneck(x, filters, 1, False, f"{name}_block{i}")
    return _preact_bottleneck(x, filters, stride1, False, f"{name}_block{blocks}")


def _resnet_v2(
    owner: str,
    blocks: tuple[int, int, int, int],
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    name: str,
) -> Model:
    imagenet_utils.check_arguments(owner, include_top, weights, pooling, classes, classifier_activation)
    img_input = imagenet_utils.image_input(owner, input_tensor, input_shape, 224, 32, include_top)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        x = _stack(x, filters, count, 2 if stage < 3 else 1, f"conv{stage + 2}")
    x = layers.BatchNormalization(epsilon=_EPSILON, name="post_bn")(x)
    x = layers.Activation("relu", name="post_relu")(x)
    x = imagenet_utils.pooled_top(
        x, include_top, pooling, classes, classifier_activation,
        pool_names=("avg_pool", "max_pool"), top_pool_name="avg_pool",
    )
    return imagenet_utils.finish(img_input, input_tensor, x, name, weights)


def ResNet50V2(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50v2",
) -> Model:
    """Instantiates the ResNet50V2 architecture (pre-activation bottleneck blocks 3-4-6-3).

    Expects images preprocessed by `lamina.applications.resnet_v2.preprocess_input`
    ("tf" mode, values in [-1, 1]) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNet50V2(include_top=False, input_shape=(64, 64, 3), pooling="avg")
        >>> model.outputs[0].shape
        (None, 2048)
    """
    return _resnet_v2("ResNet50V2", (3, 4, 6, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name)


def ResNet101V2(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101v2",
) -> Model:
    """Instantiates the ResNet101V2 architecture (pre-activation bottleneck blocks 3-4-23-3).

    Expects images preprocessed by `lamina.applications.resnet_v2.preprocess_input`
    ("tf" mode, values in [-1, 1]) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNet101V2(include_top=False, input_shape=(32, 32, 3))
        >>> model.outputs[0].shape
        (None, 1, 1, 2048)
    """
    return _resnet_v2("ResNet101V2", (3, 4, 23, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name)


def ResNet152V2(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152v2",
) -> Model:
    """Instantiates the ResNet152V2 architecture (pre-activation bottleneck blocks 3-8-36-3).

    Expects images preprocessed by `lamina.applications.resnet_v2.preprocess_input`
    ("tf" mode, values in [-1, 1]) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNet152V2(include_top=False, input_shape=(32, 32, 3))
        >>> model.outputs[0].shape
        (None, 1, 1, 2048)
    """
    return _resnet_v2("ResNet152V2", (3, 8, 36, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name)


for _fn, _name in ((ResNet50V2, "resnet50v2"), (ResNet101V2, "resnet101v2"), (ResNet152V2, "resnet152v2")):
    _fn.__doc__ = _fn.__doc__.replace("{args}", _DOC_ARGS.replace("{name}", _name))


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Preprocesses images for ResNetV2 ("tf" mode: scales [0, 255] to [-1, 1]). See
    `lamina.applications.imagenet_utils.preprocess_input`.

    Args:
        x: NumPy array or torch tensor of RGB images in [0, 255], 3-D or 4-D.
        data_format: `"channels_last"`, `"channels_first"` or None (channels-last).
            Defaults to `None`.

    Returns:
        The preprocessed float images.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
