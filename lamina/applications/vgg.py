"""VGG16 and VGG19 (Simonyan & Zisserman, 2015), with Keras's layer names."""

from __future__ import annotations

from typing import Any

from lamina import layers
from lamina.applications import imagenet_utils
from lamina.models import Model

_DOC_ARGS = """
    Args:
        include_top: Whether to include the 3 fully-connected layers at the top
            (`flatten`, `fc1`, `fc2`, `predictions`). Defaults to `True`.
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
            of the last block), `"avg"` or `"max"` (global pooling, a 2-D output).
            Defaults to `None`.
        classes: Number of classes of the classifier. Defaults to `1000`.
        classifier_activation: Activation of the `predictions` layer; `None`
            gives logits. Defaults to `"softmax"`.
        name: Name of the model. Defaults to `"{name}"`.

    Returns:
        A functional `lamina.Model`: images `(batch, height, width, channels)` ->
        `(batch, classes)` (or features without the top).
"""


def _vgg(
    owner: str,
    convs_per_block: tuple[int, ...],
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
    x = img_input
    for block, (filters, count) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for conv in range(1, count + 1):
            x = layers.Conv2D(
                filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{conv}"
            )(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pooled_top(x, False, pooling, classes, classifier_activation)
    return imagenet_utils.finish(img_input, input_tensor, x, name, weights)


def VGG16(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg16",
) -> Model:
    """Instantiates the VGG16 architecture (13 convolutions, 3 dense layers).

    Expects images preprocessed by `lamina.applications.vgg16.preprocess_input`
    ("caffe" mode: BGR, minus the ImageNet mean pixel) when loading weights
    trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.VGG16(include_top=False, input_shape=(32, 32, 3))
        >>> model.outputs[0].shape
        (None, 1, 1, 512)
    """
    return _vgg("VGG16", (2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape, pooling,
                classes, classifier_activation, name)


def VGG19(  # noqa: N802 - Keras's spelling of model builders
    include_top: bool = True,
    weights: Any = None,
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "vgg19",
) -> Model:
    """Instantiates the VGG19 architecture (16 convolutions, 3 dense layers).

    Expects images preprocessed by `lamina.applications.vgg19.preprocess_input`
    ("caffe" mode) when loading weights trained that way.
    {args}
    Example:
        >>> import lamina
        >>> model = lamina.applications.VGG19(include_top=False, input_shape=(32, 32, 3), pooling="avg")
        >>> model.outputs[0].shape
        (None, 512)
    """
    return _vgg("VGG19", (2, 2, 4, 4, 4), include_top, weights, input_tensor, input_shape, pooling,
                classes, classifier_activation, name)


VGG16.__doc__ = VGG16.__doc__.replace("{args}", _DOC_ARGS.replace("{name}", "vgg16"))
VGG19.__doc__ = VGG19.__doc__.replace("{args}", _DOC_ARGS.replace("{name}", "vgg19"))


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Preprocesses images for VGG ("caffe" mode: RGB to BGR, minus the ImageNet
    mean pixel, no scaling). See `lamina.applications.imagenet_utils.preprocess_input`.

    Args:
        x: NumPy array or torch tensor of RGB images in [0, 255], 3-D or 4-D.
        data_format: `"channels_last"`, `"channels_first"` or None (channels-last).
            Defaults to `None`.

    Returns:
        The preprocessed float images.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")
