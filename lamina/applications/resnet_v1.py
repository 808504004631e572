"""ResNet50, ResNet101 and ResNet152 (He et al., 2016), with Keras's layer names."""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import imagenet_utils
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model

_EPSILON = 1.001e-5

_DOC_ARGS = """
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
            32x32. With the top it must be fully known (the default is
            `(224, 224, 3)`); without it height and width may be `None`.
            Defaults to `None`.
        pooling: Feature pooling when `include_top=False`: `None` (the 4-D output
            of the last stage), `"avg"` or `"max"` (global pooling, a 2-D output).
            Defaults to `None`.
        classes: Number of classes of the classifier. Defaults to `1000`.
        classifier_activation: Activation of the `predictions` layer; `None`
            gives logits. Defaults to `"softmax"`.
        name: Name of the model. Defaults to `"{name}"`.

    Returns:
        A functional `lamina.Model`: images `(batch, height, width, channels)` ->
        `(batch, classes)` (or features `(batch, height / 32, width / 32, 2048)`
        without the top).
"""


def _bottleneck(x: SymbolicTensor, filters: int, stride: int, conv_shortcut: bool, name: str) -> SymbolicTensor:
    """Keras's `residual_block_v1`: 1x1 -> 3x3 -> 1x1 (4 * filters), plus the shortcut."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def _stack(x: SymbolicTensor, filters: int, blocks: int, stride1: int, name: str) -> SymbolicTensor:
    x = _bottleneck(x, filters, stride1, True, f"{name}_block1")
    for i in range(2, blocks + 1):
        x = _bottleneck(x, filters, 1, False, f"{name}_block{i}")
    return x


def _resnet(
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
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks)):
        x = _stack(x, filters, count, 1 if stage == 0 else 2, f"conv{stage + 2}")
    x = imagenet_utils.pooled_top(
        x, include_top, pooling, classes, classifier_activation,
        pool_names=("avg_pool", "max_pool"), top_pool_name="avg_pool",
    )
    return imagenet_utils.finish(img_input, input_tensor, x, name, weights)


def ResNet50(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50",
) -> Model:
    """Instantiates the ResNet50 architecture (bottleneck blocks 3-4-6-3).

    Expects images preprocessed by `lamina.applications.resnet50.preprocess_input`
    ("caffe" mode) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNet50(include_top=False, input_shape=(64, 64, 3), pooling="avg")
        >>> model.outputs[0].shape
        (None, 2048)
    """
    return _resnet("ResNet50", (3, 4, 6, 3), include_top, weights, input_tensor, input_shape, pooling,
                   classes, classifier_activation, name)


def ResNet101(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101",
) -> Model:
    """Instantiates the ResNet101 architecture (bottleneck blocks 3-4-23-3).

    Expects images preprocessed by `lamina.applications.resnet.preprocess_input`
    ("caffe" mode) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNet101(include_top=False, input_shape=(32, 32, 3))
        >>> model.outputs[0].shape
        (None, 1, 1, 2048)
    """
    return _resnet("ResNet101", (3, 4, 23, 3), include_top, weights, input_tensor, input_shape, pooling,
                   classes, classifier_activation, name)


def ResNet152(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152",
) -> Model:
    """Instantiates the ResNet152 architecture (bottleneck blocks 3-8-36-3).

    Expects images preprocessed by `lamina.applications.resnet.preprocess_input`
    ("caffe" mode) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNet152(include_top=False, input_shape=(32, 32, 3))
        >>> model.outputs[0].shape
        (None, 1, 1, 2048)
    """
    return _resnet("ResNet152", (3, 8, 36, 3), include_top, weights, input_tensor, input_shape, pooling,
                   classes, classifier_activation, name)


for _fn, _name in ((ResNet50, "resnet50"), (ResNet101, "resnet101"), (ResNet152, "resnet152")):
    _fn.__doc__ = _fn.__doc__.replace("{args}", _DOC_ARGS.replace("{name}", _name))


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Preprocesses images for ResNet ("caffe" mode: RGB to BGR, minus the ImageNet
    mean pixel, no scaling). See `lamina.applications.imagenet_utils.preprocess_input`.

    Args:
        x: NumPy array or torch tensor of RGB images in [0, 255], 3-D or 4-D.
        data_format: `"channels_last"`, `"channels_first"` or None (channels-last).
            Defaults to `None`.

    Returns:
        The preprocessed float images.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")
