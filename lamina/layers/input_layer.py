"""`Input` and `InputLayer`: where a model's data enters."""

from __future__ import annotations

from typing import Any

from lamina.layers.layer import Layer
from lamina.layers.symbolic import Node, SymbolicTensor, dtype_name, to_torch_dtype


class InputLayer(Layer):
    """The entry point of a model: holds the shape and dtype of one sample.

    Args:
        shape: Shape of one sample, without the batch axis; None for a free axis.
        batch_size: Optional fixed batch size (informational).
        dtype: "float32" (default), "int64", ... Integer inputs feed `Embedding`.
        name: Optional name.
        batch_shape: The shape with the batch axis first, as Keras's
            `batch_shape=(None, 64)`; instead of `shape` (and `batch_size`).
            Defaults to `None`.
    """

    # The input's torch dtype, set by `__init__` (it shadows `Layer.dtype`, the
    # dtype policy's variable dtype: an input has no variables).
    dtype: Any = None

    def __init__(
        self,
        shape: tuple[int | None, ...] | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        name: str | None = None,
        batch_shape: tuple[int | None, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        shape, batch_size = _from_batch_shape(shape, batch_size, batch_shape)
        super().__init__(name=name, **kwargs)
        if shape is None or not isinstance(shape, (tuple, list)) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in shape
        ):
            raise ValueError(
                "`Input` expects `shape` to be a tuple of positive integers (or None for a free "
                f"axis), without the batch axis, e.g. shape=(64,). Received: shape={shape!r}."
            )
        self.shape = tuple(shape)
        self.batch_size = batch_size
        self.dtype = to_torch_dtype(dtype)
        self.built = True
        self._build_input_shape = (None, *self.shape)
        node = Node(self, None, {})
        node.outputs = SymbolicTensor((None, *self.shape), self.dtype, node, 0, name=self.name)
        self._inbound_nodes = [node]  # `self.output` (and `self.input`) read it

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return inputs

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(shape=list(self.shape), batch_size=self.batch_size, dtype=dtype_name(self.dtype))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputLayer:
        config = dict(config)
        if config.get("shape") is not None:
            config["shape"] = tuple(config["shape"])
        return cls(**config)


def _from_batch_shape(shape: Any, batch_size: Any, batch_shape: Any) -> tuple[Any, Any]:
    """`(shape, batch_size)` from Keras's `batch_shape` (batch axis first)."""
    if batch_shape is None:
        return shape, batch_size
    if shape is not None:
        raise ValueError(
            "`Input` expects either `shape` or `batch_shape`, not both. Received: "
            f"shape={shape!r}, batch_shape={batch_shape!r}. Pass `shape` without the batch "
            "axis, or `batch_shape` with it."
        )
    if not isinstance(batch_shape, (tuple, list)) or not batch_shape:
        raise ValueError(
            "`Input` expects `batch_shape` to be a tuple with the batch axis first, e.g. "
            f"batch_shape=(None, 64). Received: batch_shape={batch_shape!r}."
        )
    return tuple(batch_shape[1:]), batch_shape[0] if batch_size is None else batch_size


def Input(  # noqa: N802 - Keras's spelling
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    name: str | None = None,
    batch_shape: tuple[int | None, ...] | None = None,
) -> SymbolicTensor:
    """Declares a model input and returns its symbolic tensor.

    Args:
        shape: Shape of one sample, without the batch axis, e.g. `(64,)` or
            `(28, 28, 1)` (channels-last). None marks a free axis.
        batch_size: Optional fixed batch size.
        dtype: Data type of the input. Defaults to "float32".
        name: Optional name, used as the key when the model is fed a dict.
        batch_shape: The shape with the batch axis first, e.g. `(None, 64)`, as
            Keras accepts instead of `shape`. Defaults to `None`.

    Example:
        >>> import lamina
        >>> inputs = lamina.Input(shape=(64,))
        >>> inputs.shape
        (None, 64)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output


def is_input_tensor(x: Any) -> bool:
    return isinstance(x, SymbolicTensor) and x.node is not None and isinstance(x.node.layer, InputLayer)


