"""Core layers: `Dense`, `Activation`, `Embedding`."""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lamina import activations, constraints, initializers, regularizers
from lamina.layers.layer import ANY_RANK, Layer
from lamina.utils import validation


def _serialize(module: Any, obj: Any) -> Any:
    return None if obj is None else module.serialize(obj)


class Dense(Layer):
    """Densely connected layer: `output = activation(inputs @ kernel + bias)`.

    The kernel is stored in PyTorch's layout, `(units, input_dim)`, and the layer
    calls `torch.nn.functional.linear`.

    Args:
        units: Dimensionality of the output space (positive integer).
        activation: Activation name or callable. Defaults to `None` (linear).
        use_bias: Whether to add a bias vector. Defaults to `True`.
        kernel_initializer: Defaults to `"glorot_uniform"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer: Optional penalty on the kernel (e.g. `"l2"`, `L2(1e-4)`).
        bias_regularizer: Optional penalty on the bias.
        activity_regularizer: Optional penalty on the layer's output.
        kernel_constraint: Optional constraint applied to the kernel after each
            optimizer update (e.g. `"max_norm"`, `MaxNorm(3.0)`); its `axis`
            refers to Keras's kernel layout `(input_dim, units)`. Defaults to `None`.
        bias_constraint: Optional constraint applied to the bias after each
            update. Defaults to `None`.

    Input shape: `(batch, ..., input_dim)`. Output shape: `(batch, ..., units)`.

    Example:
        >>> import lamina
        >>> layer = lamina.layers.Dense(4, activation="relu")
        >>> layer(__import__("torch").ones(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = validation.positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = validation.boolean("Dense", "use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._act = None if activation is None else activations.kernel(self.activation)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "kernel" and isinstance(value, torch.Tensor) and not isinstance(value, nn.Parameter):
            # Keras 3's `Dense.kernel` is a read-only property; a tensor assigned here
            # (tf.keras's hypernetwork idiom, Keras layout (input_dim, units)) would be
            # read in PyTorch's layout (units, input_dim): square kernels silently transposed.
            raise AttributeError(
                f"`Dense.kernel` cannot be assigned a tensor, as in Keras 3 (a read-only "
                f"property). Received: a tensor of shape {tuple(value.shape)} for layer "
                f"'{self.name}'. Set weights with `layer.set_weights([kernel, bias])` (Keras "
                "layout: kernel (input_dim, units)), or compute with generated weights "
                "directly: `lamina.ops.matmul(x, kernel) + bias`."
            )
        super().__setattr__(name, value)

    def build(self, input_shape: Any) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs a known last dimension to build its kernel. "
                f"Received input shape {input_shape}."
            )
        self.kernel = self.add_weight(
            "kernel", (self.units, in_dim), self.kernel_initializer, self.kernel_regularizer,
            constraint=constraints.dense_layout(self.kernel_constraint),
        )
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (self.units,), self.bias_initializer, self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self._expected_last_dim = in_dim

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self.kernel.dtype)
        out = F.linear(inputs, self.kernel, self.bias)
        if self._act is not None:
            out = self._act(out)
        if self.activity_regularizer is not None:
            self.add_loss(self.activity_regularizer(out) / out.shape[0])
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=_serialize(regularizers, self.kernel_regularizer),
            bias_regularizer=_serialize(regularizers, self.bias_regularizer),
            activity_regularizer=_serialize(regularizers, self.activity_regularizer),
            kernel_constraint=constraints.layer_config(self.kernel_constraint),
            bias_constraint=constraints.layer_config(self.bias_constraint),
        )
        return config


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: Activation name (e.g. `"relu"`) or callable.

    Input and output shape: the same, any.
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return self.activation(inputs)

    def _channels_first_rank(self) -> int | None:
        return ANY_RANK if activations.is_elementwise(self.activation) else None

    def _call_channels_first(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        return self.activation(x)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Embedding(Layer):
    """Turns integer indices into dense vectors of fixed size.

    Args:
        input_dim: Size of the vocabulary (largest index + 1).
        output_dim: Dimension of the dense embedding.
        embeddings_initializer: Defaults to `"random_uniform"` (uniform in [-0.05, 0.05], as Keras).
        embeddings_regularizer: Optional penalty on the embedding matrix.
        embeddings_constraint: Optional constraint applied to the embedding
            matrix `(input_dim, output_dim)` after each optimizer update.
            Defaults to `None`.
        mask_zero: Whether index 0 is padding to be masked by later layers.
            Defaults to `False`.

    Input shape: `(batch, sequence_length)` integers in `[0, input_dim)`; floats
    must hold whole numbers (`fit` / `evaluate` / `predict` refuse fractional or
    out-of-range indices fed straight from the model's inputs, naming the first).
    Output shape: `(batch, sequence_length, output_dim)`.
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "random_uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.input_dim = validation.positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = validation.positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = validation.boolean("Embedding", "mask_zero", mask_zero)

    def build(self, input_shape: Any) -> None:
        self.embeddings = self.add_weight(
            "embeddings",
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            self.embeddings_regularizer,
            constraint=self.embeddings_constraint,  # same layout as Keras's
        )

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if inputs.is_floating_point():
            inputs = inputs.long()
        try:
            out = F.embedding(inputs, self.embeddings)
        except IndexError:  # (on the CPU; nothing is checked on the happy path)
            low, high = int(inputs.min()), int(inputs.max())
            raise ValueError(
                f"`Embedding` layer '{self.name}' expects indices in [0, {self.input_dim - 1}] "
                f"(input_dim={self.input_dim}). Received: indices with min={low}, max={high}. "
                "Fix the indices (they start at 0), or give the layer a larger `input_dim`."
            ) from None
        if self.mask_zero:
            # Later layers read the padding mask from the tensor (see layers/masking.py).
            out._lamina_mask = inputs != 0
        return out

    def compute_mask(self, inputs: torch.Tensor) -> torch.Tensor | None:
        """Boolean mask, True where the step is real data (index != 0)."""
        return inputs != 0 if self.mask_zero else None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=_serialize(regularizers, self.embeddings_regularizer),
            embeddings_constraint=constraints.layer_config(self.embeddings_constraint),
            mask_zero=self.mask_zero,
        )
        return config


def _function_config(fn: Any) -> Any:
    """A JSON form of a callable held by `Lambda`: its registered (or built-in) name, or
    its `__name__`; a lambda is marked as such (it cannot be loaded back)."""
    from lamina.saving import registry

    name = registry.get_registered_name(fn) or getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        return {"class_name": "__lambda__", "config": {"name": "<lambda>"}}
    return {"class_name": "function", "config": name}


def _function_from_config(value: Any, argument: str) -> Any:
    from lamina.saving import registry

    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "__lambda__":
        raise ValueError(
            f"A `Lambda` layer's `{argument}` was a Python lambda, which Lamina does not save as "
            "code: loading never runs code from a file. Received: "
            f"{argument}=<lambda>. Use a named function registered with "
            "`lamina.saving.register_keras_serializable()`, or pass it in `custom_objects`."
        )
    return registry.get_function(value["config"])


class Lambda(Layer):
    """Wraps a function of tensors as a layer (Keras's `Lambda`).

    The function gets the layer's inputs, then `arguments` as keywords, and `mask` /
    `training` when its signature names them. Use it for stateless expressions;
    a layer with weights should subclass `Layer`.

    Args:
        function: The function, `fn(inputs, **arguments)`.
        output_shape: The output shape without the batch axis (a tuple, or a
            callable of the input shape that returns the full shape). Defaults to
            `None`: inferred by running the function.
        mask: The output mask, or a callable `fn(inputs, mask)` that computes it.
            Defaults to `None` (no mask).
        arguments: Extra keyword arguments for `function`. Defaults to `None`.

    Saving stores the function by name: a named function must be registered
    (`lamina.saving.register_keras_serializable`) or given in `custom_objects` when
    loading; a Python lambda is refused when loading (Lamina runs no code from files).

    Example:
        >>> import torch, lamina
        >>> layer = lamina.layers.Lambda(lambda x, k: x * k, arguments={"k": 3.0})
        >>> layer(torch.ones(2, 2))
        tensor([[3., 3.],
                [3., 3.]])
    """

    def __init__(
        self,
        function: Any,
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                f"`Lambda` expects `function` to be callable. Received: function={function!r}."
            )
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(
                f"`Lambda` expects `arguments` to be a dict of keyword arguments. "
                f"Received: arguments={arguments!r}."
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training_arg = "training" in params
        self._fn_expects_mask_arg = "mask" in params

    def call(self, inputs: Any, mask: Any = None, training: bool | None = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        out = self.function(inputs, **kwargs)
        if self.mask is not None and isinstance(out, torch.Tensor):
            out_mask = self.mask(inputs, mask) if callable(self.mask) else self.mask
            if out_mask is not None:
                out._keras_mask = out_mask
        return out

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:  # run the function on zeros of that shape
            shape = tuple(input_shape)
            out = self.call(torch.zeros([1 if d is None else d for d in shape]))
            return (shape[0], *tuple(out.shape)[1:])
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        return (tuple(input_shape)[0], *self._output_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["function"] = _function_config(self.function)
        if callable(self._output_shape):
            config["output_shape"] = _function_config(self._output_shape)
        else:
            config["output_shape"] = None if self._output_shape is None else list(self._output_shape)
        config["mask"] = _function_config(self.mask) if callable(self.mask) else None
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Lambda:
        config = dict(config)
        config["function"] = _function_from_config(config["function"], "function")
        config["output_shape"] = _function_from_config(config.get("output_shape"), "output_shape")
        if isinstance(config["output_shape"], list):
            config["output_shape"] = tuple(config["output_shape"])
        config["mask"] = _function_from_config(config.get("mask"), "mask")
        return cls(**config)
