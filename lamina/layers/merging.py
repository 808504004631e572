"""Merge layers: combine a list of tensors into one.

`Add`, `Subtract`, `Multiply`, `Average`, `Maximum` and `Minimum` work element
by element; their inputs must have the same shape after the batch axis, or
shapes that broadcast (an axis of size 1, or a missing leading axis, as in
Keras: a `(batch, 8)` tensor is added to every row of a `(batch, 4, 8)` one).
`Concatenate` joins along an axis; `Dot` takes the batched dot product along
given axes. Each has a lowercase helper (`add([x1, x2])`, ...) for the
functional API.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers.layer import Layer


def _is_shape(s: Any) -> bool:
    return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)


def _fmt(shapes: list[Any]) -> str:
    return "[" + ", ".join(str(tuple(s)) for s in shapes) + "]"


class _Merge(Layer):
    """Base of the merge layers: checks that the input is a list of tensors and
    turns broadcasting errors into errors that name the layer and the shapes."""

    _min_inputs = 1
    _exact_inputs: int | None = None

    def _input_shapes(self, input_shape: Any) -> list[tuple[int | None, ...]]:
        cls_name = type(self).__name__
        if not isinstance(input_shape, (list, tuple)) or _is_shape(input_shape) or not all(
            _is_shape(s) for s in input_shape
        ):
            raise ValueError(
                f"Layer '{self.name}' ({cls_name}) expects a list of input tensors. Received: "
                f"input_shape={input_shape!r}. Pass a list, e.g. `{cls_name}()([x1, x2])`."
            )
        n = len(input_shape)
        if (self._exact_inputs is not None and n != self._exact_inputs) or n < self._min_inputs:
            expected = (
                f"exactly {self._exact_inputs}" if self._exact_inputs is not None else f"at least {self._min_inputs}"
            )
            raise ValueError(
                f"Layer '{self.name}' ({cls_name}) expects {expected} input tensors. Received: "
                f"{n} inputs with shapes {_fmt(input_shape)}."
            )
        return [tuple(s) for s in input_shape]

    def _check_list(self, inputs: Any) -> None:
        if not isinstance(inputs, (list, tuple)):
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else inputs
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects a list of input tensors. "
                f"Received: a single input of shape {shape}. Pass a list, e.g. "
                f"`{type(self).__name__}()([x1, x2])`."
            )

    def _shape_error(self, inputs: Any, err: Exception, what: str) -> ValueError:
        shapes = [(None, *tuple(x.shape)[1:]) for x in inputs]
        return ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) expects inputs {what}. Received: input "
            f"shapes {_fmt(shapes)} (batch sizes {[int(x.shape[0]) for x in inputs]}). ({err})"
        )


class _ElementwiseMerge(_Merge):
    """Element-wise merge with Keras's broadcasting (missing axes added after the batch axis)."""

    _requirement = "with the same shape after the batch axis (or size 1 where they differ)"

    def build(self, input_shape: Any) -> None:
        shapes = self._input_shapes(input_shape)
        rank = max(len(s) for s in shapes)
        padded = [(s[0], *([1] * (rank - len(s))), *s[1:]) for s in shapes]
        for axis in range(1, rank):
            known = {s[axis] for s in padded if s[axis] is not None and s[axis] != 1}
            if len(known) > 1:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) expects inputs "
                    f"{self._requirement}. Received: input shapes {_fmt(shapes)}, which differ on "
                    f"axis {axis} ({sorted(known)}). Make the shapes equal, e.g. with a `Dense` "
                    "layer on one branch."
                )
        self.built = True

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def call(self, inputs: Any, training: bool | None = None) -> torch.Tensor:
        self._check_list(inputs)
        rank = max(x.ndim for x in inputs)
        aligned = [
            x if x.ndim == rank else x.reshape(x.shape[0], *([1] * (rank - x.ndim)), *x.shape[1:])
            for x in inputs
        ]
        try:
            return self._merge(aligned)
        except RuntimeError as err:
            raise self._shape_error(inputs, err, self._requirement) from None


class Add(_ElementwiseMerge):
    """Adds a list of tensors element-wise: `inputs[0] + inputs[1] + ...`.

    Input shape: a list of tensors of the same shape `(batch, ...)` (or shapes
    that broadcast). Output shape: the broadcast shape.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
        >>> lamina.layers.Add()([a, b]).shape
        (None, 4)
    """

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Subtract(_ElementwiseMerge):
    """Subtracts two tensors element-wise: `inputs[0] - inputs[1]`.

    Input shape: a list of exactly two tensors of the same shape (or shapes that
    broadcast). Output shape: the broadcast shape.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
        >>> lamina.layers.Subtract()([a, b]).shape
        (None, 4)
    """

    _exact_inputs = 2

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return inputs[0] - inputs[1]


class Multiply(_ElementwiseMerge):
    """Multiplies a list of tensors element-wise.

    Input shape: a list of tensors of the same shape (or shapes that broadcast).
    Output shape: the broadcast shape.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(1,))
        >>> lamina.layers.Multiply()([a, b]).shape
        (None, 4)
    """

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Average(_ElementwiseMerge):
    """Averages a list of tensors element-wise: `(inputs[0] + ... + inputs[n-1]) / n`.

    Input shape: a list of tensors of the same shape (or shapes that broadcast).
    Output shape: the broadcast shape.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
        >>> lamina.layers.Average()([a, b]).shape
        (None, 4)
    """

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out / len(inputs)


class Maximum(_ElementwiseMerge):
    """Element-wise maximum of a list of tensors (`torch.maximum`).

    Input shape: a list of tensors of the same shape (or shapes that broadcast).
    Output shape: the broadcast shape.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
        >>> lamina.layers.Maximum()([a, b]).shape
        (None, 4)
    """

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = torch.maximum(out, x)
        return out


class Minimum(_ElementwiseMerge):
    """Element-wise minimum of a list of tensors (`torch.minimum`).

    Input shape: a list of tensors of the same shape (or shapes that broadcast).
    Output shape: the broadcast shape.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
        >>> lamina.layers.Minimum()([a, b]).shape
        (None, 4)
    """

    def _merge(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = torch.minimum(out, x)
        return out


class Concatenate(_Merge):
    """Concatenates a list of tensors along `axis` (`torch.cat`).

    Args:
        axis: The axis to join along, counted with the batch axis (so `-1` is the
            last, channels-last feature axis). Defaults to `-1`.

    Input shape: a list of tensors of the same rank whose shapes agree on every
    axis but `axis`. Output shape: the common shape with the sizes on `axis` summed.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(3,))
        >>> lamina.layers.Concatenate()([a, b]).shape
        (None, 7)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"`Concatenate` expects `axis` to be an integer. Received: axis={axis!r}.")
        self.axis = axis

    def build(self, input_shape: Any) -> None:
        shapes = self._input_shapes(input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) expects inputs of the same rank. Received: "
                f"input shapes {_fmt(shapes)}. Reshape or flatten the inputs first."
            )
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate) expects `axis` to be a non-batch axis of its "
                f"rank-{rank} inputs, in [1, {rank}) or [-{rank - 1}, -1]. Received: axis={self.axis}."
            )
        axis = self.axis % rank
        for i in range(1, rank):
            known = {s[i] for s in shapes if s[i] is not None}
            if i != axis and len(known) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate) expects inputs whose shapes match on every "
                    f"axis except the concatenation axis {self.axis}. Received: input shapes "
                    f"{_fmt(shapes)}, which differ on axis {i}. Reshape the inputs, or pass "
                    "another `axis=`."
                )
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> torch.Tensor:
        self._check_list(inputs)
        try:
            return torch.cat(list(inputs), dim=self.axis)
        except RuntimeError as err:
            raise self._shape_error(
                inputs, err, f"whose shapes match on every axis except axis {self.axis}"
            ) from None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """Batched dot product of two tensors along the given axes.

    For two `(batch, n)` inputs and `axes=1` the output is `(batch, 1)` (each
    sample's dot product). In general the output keeps the axes that are not
    summed over: `(batch, *rest_of_first, *rest_of_second)`, as Keras's
    `batch_dot` (so `(batch, m, n)` and `(batch, n, p)` with `axes=(2, 1)` give
    `(batch, m, p)`).

    Args:
        axes: The axis to sum over, the same for both inputs, or a pair
            `(axis_of_first, axis_of_second)`. Counted with the batch axis.
        normalize: Whether to L2-normalise both inputs along `axes` first, so the
            result is the cosine similarity. Defaults to `False`.

    Example:
        >>> import lamina
        >>> a, b = lamina.Input(shape=(4,)), lamina.Input(shape=(4,))
        >>> lamina.layers.Dot(axes=1)([a, b]).shape
        (None, 1)
    """

    _exact_inputs = 2

    def __init__(self, axes: int | tuple[int, int] | list[int], normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        if not (is_int(axes) or (isinstance(axes, (tuple, list)) and len(axes) == 2 and all(map(is_int, axes)))):
            raise ValueError(
                f"`Dot` expects `axes` to be an integer or a pair of integers. Received: axes={axes!r}."
            )
        if not isinstance(normalize, bool):
            raise TypeError(f"`Dot` expects `normalize` to be True or False. Received: normalize={normalize!r}.")
        self.axes = axes
        self.normalize = normalize

    def _resolved_axes(self, ranks: list[int]) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        return pair[0] % ranks[0], pair[1] % ranks[1]

    def build(self, input_shape: Any) -> None:
        shapes = self._input_shapes(input_shape)
        ranks = [len(s) for s in shapes]
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        if min(ranks) < 2 or not all(-r <= a < r and a % r != 0 for a, r in zip(pair, ranks)):
            raise ValueError(
                f"Layer '{self.name}' (Dot) expects `axes` to name a non-batch axis of each input. "
                f"Received: axes={self.axes!r} for input shapes {_fmt(shapes)}."
            )
        a1, a2 = self._resolved_axes(ranks)
        d1, d2 = shapes[0][a1], shapes[1][a2]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"Layer '{self.name}' (Dot) expects the summed axes to have the same size. "
                f"Received: input shapes {_fmt(shapes)} with axes={self.axes!r} (sizes {d1} and "
                f"{d2}). Pass other `axes=`, or make the sizes equal."
            )
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> torch.Tensor:
        self._check_list(inputs)
        x1, x2 = inputs
        a1, a2 = self._resolved_axes([x1.ndim, x2.ndim])
        if self.normalize:
            x1, x2 = F.normalize(x1, dim=a1), F.normalize(x2, dim=a2)
        x1 = x1.movedim(a1, -1)  # (batch, *rest1, n)
        x2 = x2.movedim(a2, 1)  # (batch, n, *rest2)
        rest1, rest2 = x1.shape[1:-1], x2.shape[2:]
        batch = x1.shape[0]
        try:
            out = torch.bmm(x1.reshape(batch, -1, x1.shape[-1]), x2.reshape(batch, x2.shape[1], -1))
        except RuntimeError as err:
            raise self._shape_error(inputs, err, f"with equal sizes on axes={self.axes!r}") from None
        out = out.reshape(batch, *rest1, *rest2)
        return out.unsqueeze(-1) if out.ndim == 1 else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(axes=list(self.axes) if isinstance(self.axes, tuple) else self.axes, normalize=self.normalize)
        return config


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Add`: `add([x1, x2])` is `Add(**kwargs)([x1, x2])`."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`: `concatenate([a, b], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: int | tuple[int, int] | list[int], normalize: bool = False, **kwargs: Any) -> Any:
    """Functional form of `Dot`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
