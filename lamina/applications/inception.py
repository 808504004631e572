"""The Inception module (GoogLeNet, Szegedy et al., 2015) as a functional block."""

from __future__ import annotations

from lamina import layers
from lamina.applications.resnet import _check_symbolic, _name
from lamina.layers.symbolic import SymbolicTensor
from lamina.utils import validation


def inception_module(
    x: SymbolicTensor,
    filters_1x1: int,
    filters_3x3_reduce: int,
    filters_3x3: int,
    filters_5x5_reduce: int,
    filters_5x5: int,
    filters_pool_proj: int,
    name: str | None = None,
) -> SymbolicTensor:
    """Four parallel branches over the same input, concatenated along channels.

    * 1x1 convolution (`filters_1x1`);
    * 1x1 reduction (`filters_3x3_reduce`) -> 3x3 convolution (`filters_3x3`);
    * 1x1 reduction (`filters_5x5_reduce`) -> 5x5 convolution (`filters_5x5`);
    * 3x3 max pooling (stride 1) -> 1x1 projection (`filters_pool_proj`).

    Every convolution uses `"same"` padding and a ReLU, so height and width
    are kept and the output has `filters_1x1 + filters_3x3 + filters_5x5 +
    filters_pool_proj` channels. The 1x1 reductions make the 3x3 and 5x5
    convolutions cheap.

    Args:
        x: Symbolic image tensor `(batch, height, width, channels)`.
        filters_1x1: Channels of the 1x1 branch.
        filters_3x3_reduce: Channels of the 1x1 reduction before the 3x3 convolution.
        filters_3x3: Channels of the 3x3 branch.
        filters_5x5_reduce: Channels of the 1x1 reduction before the 5x5 convolution.
        filters_5x5: Channels of the 5x5 branch.
        filters_pool_proj: Channels of the 1x1 projection after the max pooling.
        name: Prefix of the module's layer names; None gives automatic names.
            Defaults to `None`.

    Returns:
        Symbolic tensor `(batch, height, width, filters_1x1 + filters_3x3 +
        filters_5x5 + filters_pool_proj)`.

    Example:
        >>> import lamina
        >>> from lamina.applications import inception_module
        >>> inputs = lamina.Input(shape=(8, 8, 16))
        >>> inception_module(inputs, 8, 4, 8, 2, 4, 4).shape
        (None, 8, 8, 24)
    """
    owner = "inception_module"
    _check_symbolic(owner, x)
    counts = {
        "filters_1x1": filters_1x1,
        "filters_3x3_reduce": filters_3x3_reduce,
        "filters_3x3": filters_3x3,
        "filters_5x5_reduce": filters_5x5_reduce,
        "filters_5x5": filters_5x5,
        "filters_pool_proj": filters_pool_proj,
    }
    for arg, value in counts.items():
        validation.positive_int(owner, arg, value)

    def conv(t: SymbolicTensor, filters: int, size: int, suffix: str) -> SymbolicTensor:
        return layers.Conv2D(filters, size, padding="same", activation="relu", name=_name(name, suffix))(t)

    branch_1 = conv(x, filters_1x1, 1, "1x1")
    branch_3 = conv(conv(x, filters_3x3_reduce, 1, "3x3_reduce"), filters_3x3, 3, "3x3")
    branch_5 = conv(conv(x, filters_5x5_reduce, 1, "5x5_reduce"), filters_5x5, 5, "5x5")
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name=_name(name, "pool"))(x)
    branch_pool = conv(pooled, filters_pool_proj, 1, "pool_proj")
    return layers.Concatenate(axis=-1, name=_name(name, "concat"))([branch_1, branch_3, branch_5, branch_pool])
