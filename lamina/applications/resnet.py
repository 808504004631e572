"""Residual networks: `residual_block` and `ResNetSmall` for small images; and, as in
Keras's `keras.applications.resnet`, `ResNet50`, `ResNet101`, `ResNet152` and their
`preprocess_input` (defined in `resnet_v1`)."""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications.resnet_v1 import ResNet50, ResNet101, ResNet152, preprocess_input
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model
from lamina.utils import validation

__all__ = ["ResNet50", "ResNet101", "ResNet152", "ResNetSmall", "preprocess_input", "residual_block"]


def _check_symbolic(owner: str, x: Any) -> None:
    if not isinstance(x, SymbolicTensor) or len(x.shape) != 4:
        raise ValueError(
            f"`{owner}` expects a symbolic image tensor of shape (batch, height, width, channels), "
            f"from `lamina.Input(shape=(h, w, c))` or an earlier layer. Received: x={x!r}. "
            "Build the block inside a functional model: `x = residual_block(x, 32)`."
        )


def _name(prefix: str | None, suffix: str) -> str | None:
    return None if prefix is None else f"{prefix}_{suffix}"


def _conv_bn(
    x: SymbolicTensor, filters: int, kernel_size: int, stride: int, use_batchnorm: bool, name: str | None
) -> SymbolicTensor:
    """Convolution ('same' padding, no bias when a batch norm follows), then batch norm."""
    x = layers.Conv2D(
        filters, kernel_size, strides=stride, padding="same", use_bias=not use_batchnorm,
        kernel_initializer="he_normal", name=_name(name, "conv"),
    )(x)
    if use_batchnorm:
        x = layers.BatchNormalization(name=_name(name, "bn"))(x)
    return x


def residual_block(
    x: SymbolicTensor,
    filters: int,
    kernel_size: int = 3,
    stride: int = 1,
    use_batchnorm: bool = True,
    name: str | None = None,
) -> SymbolicTensor:
    """A basic residual block: `relu(F(x) + shortcut(x))`.

    `F` is conv(`kernel_size`, `stride`) -> batch norm -> relu -> conv(`kernel_size`)
    -> batch norm. The shortcut is the identity when the shape is kept; when
    `stride > 1` or the channel count changes it is a projection, a 1x1
    convolution with the same stride (plus batch norm). The convolutions have no
    bias when a batch norm follows them (its offset plays that role).

    Args:
        x: Symbolic image tensor `(batch, height, width, channels)`.
        filters: Number of output channels.
        kernel_size: Size of the two main convolutions. Defaults to `3`.
        stride: Stride of the first convolution (and of the projection); `2`
            halves height and width. Defaults to `1`.
        use_batchnorm: Whether to put a batch normalization after each
            convolution. Defaults to `True`.
        name: Prefix of the block's layer names; None gives automatic names.
            Defaults to `None`.

    Returns:
        Symbolic tensor `(batch, ceil(height / stride), ceil(width / stride), filters)`.

    Example:
        >>> import lamina
        >>> from lamina.applications import residual_block
        >>> inputs = lamina.Input(shape=(8, 8, 16))
        >>> residual_block(inputs, 32, stride=2).shape
        (None, 4, 4, 32)
    """
    owner = "residual_block"
    _check_symbolic(owner, x)
    filters = validation.positive_int(owner, "filters", filters)
    kernel_size = validation.positive_int(owner, "kernel_size", kernel_size)
    stride = validation.positive_int(owner, "stride", stride)
    use_batchnorm = validation.boolean(owner, "use_batchnorm", use_batchnorm)

    y = _conv_bn(x, filters, kernel_size, stride, use_batchnorm, _name(name, "1"))
    y = layers.Activation("relu", name=_name(name, "1_relu"))(y)
    y = _conv_bn(y, filters, kernel_size, 1, use_batchnorm, _name(name, "2"))
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, use_batchnorm, _name(name, "shortcut"))
    out = layers.Add(name=_name(name, "add"))([shortcut, y])
    return layers.Activation("relu", name=_name(name, "out"))(out)


def ResNetSmall(  # noqa: N802 - Keras's spelling of model builders
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    blocks: tuple[int, ...] = (2, 2, 2),
    base_filters: int = 16,
    use_batchnorm: bool = True,
    include_top: bool = True,
    classifier_activation: Any = "softmax",
    name: str = "resnet_small",
) -> Model:
    """A small residual network for small images (CIFAR-style ResNet, He et al., 2016).

    A 3x3 stem convolution with `base_filters` channels, then one stage per
    entry of `blocks`: stage `i` stacks `blocks[i]` residual blocks of
    `base_filters * 2**i` channels, the first block of every stage after the
    first halving height and width (stride 2, projection shortcut). Global
    average pooling and a dense classifier follow. `blocks=(3, 3, 3)` is
    ResNet-20 for 32x32 images; the default `(2, 2, 2)` is lighter. For the
    8x8 digits use `input_shape=(8, 8, 1)`.

    Args:
        input_shape: Shape of one image, channels-last. Defaults to `(32, 32, 3)`.
        num_classes: Number of classes. Defaults to `10`.
        blocks: Residual blocks per stage. Defaults to `(2, 2, 2)`.
        base_filters: Channels of the stem and the first stage. Defaults to `16`.
        use_batchnorm: Batch normalization after each convolution. Defaults to `True`.
        include_top: Whether to end with the dense classifier; without it the
            model outputs the pooled features `(batch, channels)` (a base for
            transfer learning). Defaults to `True`.
        classifier_activation: Activation of the classifier (`None` gives
            logits). Defaults to `"softmax"`.
        name: Name of the model. Defaults to `"resnet_small"`.

    Returns:
        A functional `lamina.Model`: images `(batch, *input_shape)` ->
        `(batch, num_classes)` (or pooled features without the top).

    Example:
        >>> import lamina
        >>> model = lamina.applications.ResNetSmall(input_shape=(8, 8, 1), blocks=(1, 1))
        >>> model.outputs[0].shape
        (None, 10)
    """
    owner = "ResNetSmall"
    if not isinstance(input_shape, (tuple, list)):
        raise ValueError(
            "`ResNetSmall` expects `input_shape` to be a tuple (height, width, channels). "
            f"Received: input_shape={input_shape!r}. Pass e.g. input_shape=(8, 8, 1)."
        )
    input_shape = validation.int_tuple(owner, "input_shape", tuple(input_shape), 3)
    num_classes = validation.positive_int(owner, "num_classes", num_classes)
    base_filters = validation.positive_int(owner, "base_filters", base_filters)
    if (
        not isinstance(blocks, (tuple, list)) or not blocks
        or not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in blocks)
    ):
        raise ValueError(
            "`ResNetSmall` expects `blocks` to be a non-empty tuple of positive integers "
            f"(residual blocks per stage). Received: blocks={blocks!r}. Pass e.g. blocks=(2, 2, 2)."
        )
    use_batchnorm = validation.boolean(owner, "use_batchnorm", use_batchnorm)
    include_top = validation.boolean(owner, "include_top", include_top)

    inputs = layers.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, base_filters, 3, 1, use_batchnorm, "stem")
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage, count in enumerate(blocks):
        filters = base_filters * 2**stage
        for block in range(count):
            stride = 2 if stage > 0 and block == 0 else 1
            x = residual_block(x, filters, stride=stride, use_batchnorm=use_batchnorm,
                               name=f"stage{stage + 1}_block{block + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return Model(inputs, x, name=name)
