"""EfficientNetB0 to B7 (Tan & Le, 2019), with Keras's layer names."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import initializers, layers
from lamina.applications import imagenet_utils
from lamina.layers.symbolic import SymbolicTensor
from lamina.models import Model

# (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides) of the 7 stages;
# every block has an identity skip when shapes allow and squeeze-and-excitation ratio 0.25.
_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
_SE_RATIO = 0.25

# (width_coefficient, depth_coefficient, default_size, dropout_rate) of B0 to B7.
_VARIANTS = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """`filters` scaled by the width coefficient, rounded to a multiple of `divisor`
    (never more than 10% down)."""
    scaled = filters * width
    new_filters = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(new_filters + divisor if new_filters < 0.9 * scaled else new_filters)


def _conv_init() -> initializers.Initializer:
    return initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="truncated_normal")


def _block(
    inputs: SymbolicTensor,
    drop_rate: float,
    name: str,
    filters_in: int,
    filters_out: int,
    kernel_size: int,
    strides: int,
    expand_ratio: int,
) -> SymbolicTensor:
    """Keras's inverted residual block (MBConv) with squeeze-and-excitation."""
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(
            filters, 1, padding="same", use_bias=False, kernel_initializer=_conv_init(), name=name + "expand_conv"
        )(x)
        x = layers.BatchNormalization(name=name + "expand_bn")(x)
        x = layers.Activation("swish", name=name + "expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=name + "dwconv_pad")(x)
    x = layers.DepthwiseConv2D(
        kernel_size, strides=strides, padding="valid" if strides == 2 else "same", use_bias=False,
        depthwise_initializer=_conv_init(), name=name + "dwconv",
    )(x)
    x = layers.BatchNormalization(name=name + "bn")(x)
    x = layers.Activation("swish", name=name + "activation")(x)

    filters_se = max(1, int(filters_in * _SE_RATIO))
    se = layers.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=name + "se_reshape")(se)
    se = layers.Conv2D(
        filters_se, 1, padding="same", activation="swish", kernel_initializer=_conv_init(), name=name + "se_reduce"
    )(se)
    se = layers.Conv2D(
        filters, 1, padding="same", activation="sigmoid", kernel_initializer=_conv_init(), name=name + "se_expand"
    )(se)
    x = layers.multiply([x, se], name=name + "se_excite")

    x = layers.Conv2D(
        filters_out, 1, padding="same", use_bias=False, kernel_initializer=_conv_init(), name=name + "project_conv"
    )(x)
    x = layers.BatchNormalization(name=name + "project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
        x = layers.add([x, inputs], name=name + "add")
    return x


def _efficientnet(
    variant: str,
    include_top: bool,
    weights: Any,
    input_tensor: Any,
    input_shape: Any,
    pooling: str | None,
    classes: int,
    classifier_activation: Any,
    name: str,
) -> Model:
    owner = f"EfficientNet{variant.upper()}"
    width, depth, default_size, dropout_rate = _VARIANTS[variant]
    drop_connect_rate = 0.2
    imagenet_utils.check_arguments(owner, include_top, weights, pooling, classes, classifier_activation)
    img_input = imagenet_utils.image_input(owner, input_tensor, input_shape, default_size, 32, include_top)

    def round_filters(filters: int) -> int:
        return _round_filters(filters, width)

    def round_repeats(repeats: int) -> int:
        return int(math.ceil(depth * repeats))

    # Pixels in [0, 255] -> [0, 1] -> standardised. As in Keras, the Normalization layer
    # learns its statistics (they are weights, which a weights file sets); until then they
    # are the identity, mean 0 and variance 1, adapted here from two opposite pixels.
    x = layers.Rescaling(1.0 / 255.0)(img_input)
    normalization = layers.Normalization(axis=-1)
    x = normalization(x)
    channels = img_input.shape[-1]
    normalization.adapt(np.array([-1.0, 1.0], dtype=np.float32).reshape(2, 1, 1, 1).repeat(channels, axis=-1))
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(
        round_filters(32), 3, strides=2, padding="valid", use_bias=False, kernel_initializer=_conv_init(),
        name="stem_conv",
    )(x)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)

    total = float(sum(round_repeats(stage[1]) for stage in _STAGES))
    b = 0
    for i, (kernel_size, repeats, filters_in, filters_out, expand_ratio, strides) in enumerate(_STAGES):
        filters_in, filters_out = round_filters(filters_in), round_filters(filters_out)
        for j in range(round_repeats(repeats)):
            if j > 0:
                strides, filters_in = 1, filters_out
            x = _block(
                x, drop_connect_rate * b / total, f"block{i + 1}{chr(j + 97)}_",
                filters_in, filters_out, kernel_size, strides, expand_ratio,
            )
            b += 1

    x = layers.Conv2D(
        round_filters(1280), 1, padding="same", use_bias=False, kernel_initializer=_conv_init(), name="top_conv"
    )(x)
    x = layers.BatchNormalization(name="top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(
            classes, activation=classifier_activation,
            kernel_initializer=initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_out", distribution="uniform"),
            name="predictions",
        )(x)
    else:
        x = imagenet_utils.pooled_top(x, False, pooling, classes, classifier_activation, ("avg_pool", "max_pool"))
    return imagenet_utils.finish(img_input, input_tensor, x, name, weights)


_DOC = """Instantiates the EfficientNet{v} architecture (Tan & Le, 2019).

    Preprocessing is part of the model: it takes float pixels in `[0, 255]`
    (a `Rescaling(1 / 255)` then a `Normalization` layer, whose mean and
    variance are 0 and 1, as in Keras, until a weights file sets them or you
    call its `adapt`), so
    `lamina.applications.efficientnet.preprocess_input` returns its input.

    Args:
        include_top: Whether to include the global average pooling (`avg_pool`),
            the dropout and the dense classifier (`predictions`). Defaults to `True`.
        weights: `None` (random initialization) or the path of a local weights
            file for this architecture: Keras 3's `.weights.h5`, or Lamina's
            `.weights.safetensors` or `.lamina`.
            Lamina never downloads, so `"imagenet"` is refused. Defaults to `None`.
        input_tensor: Optional symbolic tensor (output of `lamina.Input()`) to
            use as the image input. Defaults to `None`.
        input_shape: Optional image shape `(height, width, channels)`, at least
            32x32. With the top it must be fully known (the default is
            `({size}, {size}, 3)`); without it height and width may be `None`.
            Defaults to `None`.
        pooling: Feature pooling when `include_top=False`: `None` (the 4-D output
            of the last convolution), `"avg"` or `"max"` (global pooling, a 2-D
            output). Defaults to `None`.
        classes: Number of classes of the classifier. Defaults to `1000`.
        classifier_activation: Activation of the `predictions` layer; `None`
            gives logits. Defaults to `"softmax"`.
        name: Name of the model. Defaults to `"efficientnet{v_lower}"`.

    Returns:
        A functional `lamina.Model`: images `(batch, height, width, channels)` ->
        `(batch, classes)` (or features without the top).

    Example:
        >>> import lamina
        >>> model = lamina.applications.EfficientNet{v}(include_top=False, input_shape=(32, 32, 3), pooling="avg")
        >>> model.outputs[0].shape
        (None, {top})
    """


def _builder(variant: str) -> Any:
    def build(
        include_top: bool = True,
        weights: Any = None,
        input_tensor: Any = None,
        input_shape: Any = None,
        pooling: str | None = None,
        classes: int = 1000,
        classifier_activation: Any = "softmax",
        name: str = f"efficientnet{variant}",
    ) -> Model:
        return _efficientnet(variant, include_top, weights, input_tensor, input_shape, pooling, classes,
                             classifier_activation, name)

    build.__name__ = build.__qualname__ = f"EfficientNet{variant.upper()}"
    build.__doc__ = _DOC.format(v=variant.upper(), v_lower=variant, size=_VARIANTS[variant][2],
                                top=_round_filters(1280, _VARIANTS[variant][0]))
    return build


EfficientNetB0 = _builder("b0")
EfficientNetB1 = _builder("b1")
EfficientNetB2 = _builder("b2")
EfficientNetB3 = _builder("b3")
EfficientNetB4 = _builder("b4")
EfficientNetB5 = _builder("b5")
EfficientNetB6 = _builder("b6")
EfficientNetB7 = _builder("b7")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Returns `x` unchanged: EfficientNet models include their preprocessing (as in Keras).

    Args:
        x: Images, float pixels in `[0, 255]`.
        data_format: Unused; kept for Keras's signature. Defaults to `None`.

    Returns:
        `x`, unchanged.
    """
    return x
