"""Recurrent layers on PyTorch's fused kernels: `SimpleRNN`, `LSTM`, `GRU`.

Each layer holds Keras-named weights in PyTorch's layout and calls the fused
recurrent op (`torch.lstm`, `torch.gru`, `torch.rnn_tanh` / `torch.rnn_relu`,
the kernels behind `torch.nn.LSTM` and friends; cuDNN on a GPU), never a Python
loop over time steps:

* `kernel`: `(gates * units, input_dim)`, torch's `weight_ih_l0`;
* `recurrent_kernel`: `(gates * units, units)`, torch's `weight_hh_l0`;
* `bias`: `(gates * units,)` as in Keras (for `GRU`, `(2, 3 * units)`: the input
  and recurrent biases, torch's `bias_ih_l0` and `bias_hh_l0`).

Gate order is PyTorch's: LSTM `i, f, g, o` (the same as Keras's `i, f, c, o`),
GRU `r, z, n`.

Masked sequences (a mask from `Embedding(mask_zero=True)` or `Masking`) run
packed (`torch.nn.utils.rnn.pack_padded_sequence`): padded steps are skipped,
the final state is the state after the last real step and, with
`return_sequences=True`, padded positions of the output are zero. Masks that are
not right-padded (left padding, holes) are handled by moving the real steps to
the front first. Reading the sequence lengths costs one device-to-host copy of
the mask per call.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lamina import initializers, regularizers
from lamina.layers.layer import Layer
from lamina.layers.masking import check_mask, get_mask, set_mask
from lamina.utils import validation
from lamina.utils.tree import flatten


def _serialize(module: Any, obj: Any) -> Any:
    return None if obj is None else module.serialize(obj)


def _per_block(initializer: Any, blocks: int) -> Any:
    """An initializer that fills each of ``blocks`` row blocks on its own (as Keras
    initializes the recurrent kernel gate by gate)."""

    def fill(tensor: torch.Tensor) -> torch.Tensor:
        for block in tensor.chunk(blocks, dim=0):
            initializer(block)
        return tensor

    return fill


def _check_gates(owner: str, activation: Any, recurrent_activation: Any) -> None:
    if activation != "tanh" or recurrent_activation != "sigmoid":
        raise ValueError(
            f"`{owner}` runs on PyTorch's fused kernel, which computes activation='tanh' and "
            "recurrent_activation='sigmoid' only. Received: "
            f"activation={activation!r}, recurrent_activation={recurrent_activation!r}. "
            "Keep the defaults, or write a subclassed layer that loops over the time steps."
        )


def split_state_inputs(
    layer: Layer, inputs: Any, more: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """Reads `layer(x, [h, c])` and `layer([x, h, c])` as `layer(x, initial_state=[h, c])`.

    The list form is how a functional graph replays `layer(x, states)` (symbolic
    calls fold extra positional arguments into one list of inputs), so an
    encoder's states can feed a decoder in a functional model.
    """
    if more:
        inputs = [inputs, *more]
    if not isinstance(inputs, (list, tuple)):
        return inputs, kwargs
    x, *rest = inputs
    states = [s for s in flatten(rest) if s is not None]
    if states:
        if kwargs.get("initial_state") is not None:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) received initial states both "
                "positionally and as `initial_state=`. Received: "
                f"{len(states)} positional state(s) and initial_state={kwargs['initial_state']!r}. "
                "Pass them one way only."
            )
        kwargs = {**kwargs, "initial_state": states}
    return x, kwargs


class RNNBase(Layer):
    """Shared machinery of the fused recurrent layers (not used directly).

    Subclasses set `_gates` and implement `_fused(x, batch_sizes, hx)`.
    """

    _gates = 1
    _num_states = 1

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = validation.positive_int(owner, "units", units)
        self.activation = activation
        self.use_bias = validation.boolean(owner, "use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = validation.number(owner, "dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        self.recurrent_dropout = validation.number(
            owner, "recurrent_dropout", recurrent_dropout, low=0.0, high=1.0, high_inclusive=False
        )
        if recurrent_dropout != 0:
            raise ValueError(
                f"`{owner}` supports only `recurrent_dropout=0.0`: it runs on PyTorch's fused "
                "recurrent kernel (cuDNN on a GPU), which computes all time steps in one call and "
                "cannot drop the recurrent connections step by step. "
                f"Received: recurrent_dropout={recurrent_dropout!r}. Use `dropout=` (the same input "
                "mask at every step) or a `Dropout` layer between recurrent layers instead."
            )
        self.return_sequences = validation.boolean(owner, "return_sequences", return_sequences)
        self.return_state = validation.boolean(owner, "return_state", return_state)
        self.go_backwards = validation.boolean(owner, "go_backwards", go_backwards)
        self.stateful = validation.boolean(owner, "stateful", stateful)
        if stateful:
            raise ValueError(
                f"`{owner}` does not support `stateful=True` yet. Received: stateful=True. Carry the "
                "state yourself: call the layer with `return_state=True` and pass the returned "
                "states as `initial_state=` to the next call."
            )

    # ------------------------------------------------------------------ weights
    def _bias_shape(self) -> tuple[int, ...]:
        return (self._gates * self.units,)

    def _bias_initializer(self) -> Any:
        return self.bias_initializer

    def build(self, input_shape: Any) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects input of shape "
                f"(batch, timesteps, features) with a known number of features. Received input "
                f"shape {tuple(input_shape)}."
            )
        in_dim = input_shape[-1]
        rows = self._gates * self.units
        self.kernel = self.add_weight("kernel", (rows, in_dim), self.kernel_initializer, self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel",
            (rows, self.units),
            _per_block(self.recurrent_initializer, self._gates),
            self.recurrent_regularizer,
        )
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(), self.bias_regularizer)
        else:
            self.bias = None
        self._expected_last_dim = in_dim

    def _params(self) -> list[torch.Tensor]:
        """The weights in the order the fused op expects (torch's `_flat_weights`)."""
        if self.bias is None:
            return [self.kernel, self.recurrent_kernel]
        # Keras has one bias; the fused op adds an input and a recurrent bias.
        return [self.kernel, self.recurrent_kernel, self.bias, torch.zeros_like(self.bias)]

    def _fused(
        self, x: torch.Tensor, batch_sizes: torch.Tensor | None, hx: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        raise NotImplementedError

    # ------------------------------------------------------------------ call
    def forward(self, inputs: Any, *more: Any, **kwargs: Any) -> Any:
        inputs, kwargs = split_state_inputs(self, inputs, more, kwargs)
        return super().forward(inputs, **kwargs)

    def call(
        self,
        inputs: torch.Tensor,
        initial_state: Any = None,
        mask: torch.Tensor | None = None,
        training: bool | None = None,
    ) -> Any:
        if training is None:
            training = self.training
        owner = type(self).__name__
        if inputs.ndim != 3:
            raise ValueError(
                f"Layer '{self.name}' ({owner}) expects input of shape (batch, timesteps, features). "
                f"Received: input with shape {tuple(inputs.shape)}."
            )
        mask = get_mask(inputs) if mask is None else check_mask(owner, mask, inputs)
        x = inputs if inputs.is_floating_point() else inputs.to(self.kernel.dtype)
        if training and self.dropout > 0:
            # Keras's input dropout: one mask per sample and feature, the same at every step.
            keep = torch.empty_like(x[:, :1]).bernoulli_(1 - self.dropout)
            x = x * keep / (1 - self.dropout)
        if self.go_backwards:
            x = x.flip(1)
            mask = None if mask is None else mask.flip(1)
        hx = self._initial_state(initial_state, x)
        if mask is None:
            out, states = self._fused(x, None, hx)
        else:
            out, states = self._run_masked(x, mask, hx)
        final = [s[0] for s in states]
        if self.return_sequences:
            output = out if mask is None else set_mask(out, mask)
        else:
            output = final[0]
        return [output, *final] if self.return_state else output

    def _initial_state(self, initial_state: Any, x: torch.Tensor) -> list[torch.Tensor]:
        batch = x.shape[0]
        if initial_state is None:
            zeros = x.new_zeros((1, batch, self.units))
            return [zeros] * self._num_states
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self._num_states or any(
            not isinstance(s, torch.Tensor) or tuple(s.shape) != (batch, self.units) for s in states
        ):
            got = [tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__ for s in states]
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects `initial_state` to be "
                f"{self._num_states} tensor(s) of shape (batch, units) = {(batch, self.units)}. "
                f"Received: initial_state with shapes {got}."
            )
        return [s.to(x.dtype).unsqueeze(0) for s in states]

    def _run_masked(
        self, x: torch.Tensor, mask: torch.Tensor, hx: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if torch.compiler.is_exporting():
            return self._run_masked_traceable(x, mask, hx)
        steps = x.shape[1]
        mask_cpu = mask.to("cpu")  # pack_padded_sequence needs the lengths on the host
        lengths = mask_cpu.sum(1)
        if bool((lengths == steps).all()):
            return self._fused(x, None, hx)
        right_padded = bool((mask_cpu == (torch.arange(steps) < lengths[:, None])).all())
        order = None
        if not right_padded:
            # Real steps first, in their order; the rest is padding for the packed run.
            order = torch.argsort((~mask).to(torch.uint8), dim=1, stable=True)
            x = x.gather(1, order[..., None].expand_as(x))
        packed = pack_padded_sequence(x, lengths.clamp(min=1), batch_first=True, enforce_sorted=False)
        hx_sorted = [h.index_select(1, packed.sorted_indices) for h in hx]
        data, states = self._fused(packed.data, packed.batch_sizes, hx_sorted)
        states = [s.index_select(1, packed.unsorted_indices) for s in states]
        out, _ = pad_packed_sequence(
            PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
            batch_first=True,
            total_length=steps,
        )
        if order is not None:
            out = torch.zeros_like(out).scatter(1, order[..., None].expand_as(out), out)
        if bool((lengths == 0).any()):
            # Fully padded sequences keep their initial state and output zeros.
            out = out * mask[..., None].to(out.dtype)
            empty = (lengths == 0).to(x.device)[None, :, None]
            states = [torch.where(empty, h, s) for h, s in zip(hx, states)]
        return out, states

    def _run_masked_traceable(
        self, x: torch.Tensor, mask: torch.Tensor, hx: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The masked run for `torch.export` / ONNX export, with the same results as
        the packed run: packing reads the lengths on the host and branches on them,
        which a graph with a dynamic batch and time axis cannot do.

        The real steps of each row are moved to the front in their order (a scatter;
        the padding follows them), the fused op runs on the whole padded tensor, the
        outputs go back to their steps (a gather) with zeros at padded steps, and the
        final state is the output at each row's last real step (the initial state
        for a fully padded row). Steps after the last real one cannot change
        earlier outputs, so this equals skipping the padded steps.
        """
        if self._num_states > 1 and self.return_state:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) cannot be exported with a padding mask and "
                "`return_state=True`: the exported graph reads the final state from the outputs, and "
                "the cell state `c` is not among them. Export the model without `return_state` on "
                "masked LSTM layers, or without the mask (no `mask_zero` / `Masking` before it)."
            )
        real = mask.to(torch.int64)
        lengths = real.sum(1, keepdim=True)
        dest = torch.where(mask, real.cumsum(1) - 1, lengths + (1 - real).cumsum(1) - 1)
        front = torch.zeros_like(x).scatter(1, dest[..., None].expand_as(x), x)
        out_front, _ = self._fused(front, None, hx)
        index = dest[..., None].expand(-1, -1, out_front.shape[-1])
        out = out_front.gather(1, index) * mask[..., None].to(out_front.dtype)
        last = (lengths - 1).clamp(min=0)[..., None].expand(-1, 1, out_front.shape[-1])
        final = out_front.gather(1, last).transpose(0, 1)  # (1, batch, units), as the fused op's
        h = torch.where((lengths == 0)[None], hx[0], final)
        return out, [h, *hx[1:]]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            activation=self.activation,
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=_serialize(regularizers, self.kernel_regularizer),
            recurrent_regularizer=_serialize(regularizers, self.recurrent_regularizer),
            bias_regularizer=_serialize(regularizers, self.bias_regularizer),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
        )
        return config


_SHARED_ARGS = """
        use_bias: Whether the layer uses a bias vector. Defaults to `True`.
        kernel_initializer: Initializer of `kernel`. Defaults to `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, applied gate by
            gate. Defaults to `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Defaults to `"zeros"`.
        kernel_regularizer: Optional penalty on `kernel`. Defaults to `None`.
        recurrent_regularizer: Optional penalty on `recurrent_kernel`. Defaults to `None`.
        bias_regularizer: Optional penalty on `bias`. Defaults to `None`.
        dropout: Fraction of the input features to drop in training (the same
            features at every step). Defaults to `0.0`.
        recurrent_dropout: Must be `0.0`: the fused kernel cannot drop recurrent
            connections. Defaults to `0.0`.
        return_sequences: Whether to return the output at every step rather than
            the last one. Defaults to `False`.
        return_state: Whether to also return the final state(s). Defaults to `False`.
        go_backwards: Whether to process the sequence backwards (the output
            sequence, and the mask it carries, are then in reversed order, as in
            Keras). Defaults to `False`.
        stateful: Must be `False` (stateful layers are not supported yet; pass
            `initial_state=`). Defaults to `False`.

    Call arguments: `inputs`; `initial_state` (list of `(batch, units)` tensors;
    also accepted positionally, `layer(x, [h, c])`, which is how a functional
    model passes an encoder's states to a decoder); `mask` (`(batch, timesteps)`
    booleans, True for real steps; by default the mask carried by `inputs`);
    `training`.

    Input shape: `(batch, timesteps, features)`. Output shape: `(batch, units)`, or
    `(batch, timesteps, units)` with `return_sequences=True`; with
    `return_state=True` a list `[output, *states]`, each state `(batch, units)`."""


class SimpleRNN(RNNBase):
    __doc__ = (
        """Fully connected recurrent layer: `h_t = activation(W x_t + U h_{t-1} + b)`.

    Runs on `torch.rnn_tanh` / `torch.rnn_relu` (the kernels of `torch.nn.RNN`).

    Args:
        units: Dimensionality of the output space.
        activation: `"tanh"` or `"relu"` (what the fused kernel computes).
            Defaults to `"tanh"`."""
        + _SHARED_ARGS
        + """

    Example:
        >>> import torch, lamina
        >>> lamina.layers.SimpleRNN(4)(torch.randn(2, 5, 3)).shape
        torch.Size([2, 4])
    """
    )

    def __init__(self, units: int, activation: str = "tanh", **kwargs: Any) -> None:
        super().__init__(units, activation=activation, **kwargs)
        if activation not in ("tanh", "relu"):
            raise ValueError(
                "`SimpleRNN` runs on PyTorch's fused RNN kernel, which computes activation='tanh' "
                f"or 'relu' only. Received: activation={activation!r}. Use 'tanh' or 'relu'."
            )

    def _fused(
        self, x: torch.Tensor, batch_sizes: torch.Tensor | None, hx: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if batch_sizes is None and torch.compiler.is_exporting():
            return self._scan(x, hx)
        op = torch.rnn_tanh if self.activation == "tanh" else torch.rnn_relu
        params, has_bias = self._params(), self.bias is not None
        if batch_sizes is None:
            out, h = op(x, hx[0], params, has_bias, 1, 0.0, self.training, False, True)
        else:
            out, h = op(x, batch_sizes, hx[0], params, has_bias, 1, 0.0, self.training, False)
        return out, [h]

    def _scan(self, x: torch.Tensor, hx: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The same recurrence as `torch.rnn_tanh` / `torch.rnn_relu`, as a `scan` over
        the time axis, for export: PyTorch keeps no while-loop form of these two ops
        (it has ones for LSTM and GRU), so exporting them unrolls the steps and fixes
        the sequence length. Agrees with the fused op to float32 rounding."""
        from torch._higher_order_ops.scan import scan

        activation = torch.tanh if self.activation == "tanh" else torch.relu
        inputs = torch.nn.functional.linear(x, self.kernel, self.bias).transpose(0, 1)  # (steps, batch, units)
        recurrent_kernel = self.recurrent_kernel

        def step(h: torch.Tensor, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = activation(projected + torch.nn.functional.linear(h, recurrent_kernel))
            return h, h.clone()

        h, out = scan(step, hx[0][0], inputs)
        return out.transpose(0, 1), [h[None]]


class LSTM(RNNBase):
    __doc__ = (
        """Long short-term memory layer (Hochreiter and Schmidhuber, 1997).

    Runs on `torch.lstm` (the kernel of `torch.nn.LSTM`); gates `i, f, g, o`.
    The states are `[h, c]`.

    Args:
        units: Dimensionality of the output space.
        activation: Must be `"tanh"`. Defaults to `"tanh"`.
        recurrent_activation: Must be `"sigmoid"`. Defaults to `"sigmoid"`.
        unit_forget_bias: Whether to start the forget-gate bias at 1 (Jozefowicz et
            al., 2015). Defaults to `True`."""
        + _SHARED_ARGS
        + """

    Example:
        >>> import torch, lamina
        >>> out, h, c = lamina.layers.LSTM(4, return_state=True)(torch.randn(2, 5, 3))
        >>> out.shape, c.shape
        (torch.Size([2, 4]), torch.Size([2, 4]))
    """
    )

    _gates = 4
    _num_states = 2

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        unit_forget_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation
        _check_gates("LSTM", activation, recurrent_activation)
        self.unit_forget_bias = validation.boolean("LSTM", "unit_forget_bias", unit_forget_bias)

    def _bias_initializer(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer

        def fill(tensor: torch.Tensor) -> torch.Tensor:
            i, f, g, o = tensor.chunk(4)
            for block in (i, g, o):
                self.bias_initializer(block)
            f.fill_(1.0)
            return tensor

        return fill

    def _fused(
        self, x: torch.Tensor, batch_sizes: torch.Tensor | None, hx: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        params, has_bias = self._params(), self.bias is not None
        if batch_sizes is None:
            out, h, c = torch.lstm(x, hx, params, has_bias, 1, 0.0, self.training, False, True)
        else:
            out, h, c = torch.lstm(x, batch_sizes, hx, params, has_bias, 1, 0.0, self.training, False)
        return out, [h, c]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(recurrent_activation=self.recurrent_activation, unit_forget_bias=self.unit_forget_bias)
        return config


class GRU(RNNBase):
    __doc__ = (
        """Gated recurrent unit (Cho et al., 2014), the `reset_after=True` variant.

    Runs on `torch.gru` (the kernel of `torch.nn.GRU`); gates `r, z, n`. The reset
    gate is applied after the recurrent matrix product, which is Keras's default
    (`reset_after=True`, the cuDNN formulation) and PyTorch's GRU. `bias` has shape
    `(2, 3 * units)`: the input bias and the recurrent bias.

    Args:
        units: Dimensionality of the output space.
        activation: Must be `"tanh"`. Defaults to `"tanh"`.
        recurrent_activation: Must be `"sigmoid"`. Defaults to `"sigmoid"`.
        reset_after: Must be `True` (the formulation the fused kernel computes).
            Defaults to `True`."""
        + _SHARED_ARGS
        + """

    Example:
        >>> import torch, lamina
        >>> lamina.layers.GRU(4, return_sequences=True)(torch.randn(2, 5, 3)).shape
        torch.Size([2, 5, 4])
    """
    )

    _gates = 3

    def __init__(
        self,
        units: int,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        reset_after: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = recurrent_activation
        _check_gates("GRU", activation, recurrent_activation)
        self.reset_after = validation.boolean("GRU", "reset_after", reset_after)
        if not reset_after:
            raise ValueError(
                "`GRU` supports only `reset_after=True`: PyTorch's fused GRU kernel applies the "
                "reset gate after the recurrent matrix product (Keras's default). "
                "Received: reset_after=False. Drop the argument to use the default."
            )

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units)

    def _params(self) -> list[torch.Tensor]:
        if self.bias is None:
            return [self.kernel, self.recurrent_kernel]
        return [self.kernel, self.recurrent_kernel, *self.bias.unbind(0)]  # one view op, not two

    def _fused(
        self, x: torch.Tensor, batch_sizes: torch.Tensor | None, hx: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        params, has_bias = self._params(), self.bias is not None
        if batch_sizes is None:
            out, h = torch.gru(x, hx[0], params, has_bias, 1, 0.0, self.training, False, True)
        else:
            out, h = torch.gru(x, batch_sizes, hx[0], params, has_bias, 1, 0.0, self.training, False)
        return out, [h]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(recurrent_activation=self.recurrent_activation, reset_after=self.reset_after)
        return config
