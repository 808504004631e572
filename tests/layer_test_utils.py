"""The shared layer contract test: every layer goes through `run_layer_test`."""

from __future__ import annotations

import json
from typing import Any

import torch

import lamina


def run_layer_test(
    layer_cls: type,
    init_kwargs: dict[str, Any],
    input_shape: tuple[int, ...],
    expected_output_shape: Any,
    *,
    expected_num_trainable_weights: int | None = None,
    expected_num_non_trainable_weights: int | None = None,
    input_dtype: torch.dtype = torch.float32,
    input_data: Any = None,
    run_training_step: bool = True,
    deterministic: bool = True,
    symbolic: bool = True,
) -> Any:
    """Builds ``layer_cls(**init_kwargs)`` on data of ``input_shape`` and checks:

    * the output shape (`expected_output_shape`, batch axis included);
    * the number of trainable / non-trainable weights when given;
    * `get_config()` is JSON-able and `from_config` rebuilds an equal config, and the
      rebuilt layer with the same weights gives the same output (inference mode);
    * a symbolic call on `lamina.Input` gives the same shape with a None batch axis;
    * one training step: gradients reach every trainable weight, are finite, and
      an SGD step changes the weights.

    Returns the built layer.
    """
    if input_data is None:
        if input_dtype.is_floating_point:
            input_data = torch.randn(input_shape, dtype=input_dtype)
        else:
            input_data = torch.randint(0, 5, input_shape, dtype=input_dtype)
    layer = layer_cls(**init_kwargs)
    out = layer(input_data)
    outs = out if isinstance(out, (list, tuple)) else [out]
    expected = expected_output_shape if isinstance(out, (list, tuple)) else [expected_output_shape]
    for o, e in zip(outs, expected):
        assert tuple(o.shape) == tuple(e), f"output shape {tuple(o.shape)} != expected {tuple(e)}"
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, layer.trainable_weights
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    assert layer.count_params() == sum(w.numel() for w in layer.weights)

    config = layer.get_config()
    json.dumps(config)
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config, (clone.get_config(), config)
    if deterministic:
        clone(input_data)
        clone.load_state_dict(layer.state_dict())
        layer.eval()
        clone.eval()
        with torch.no_grad():
            a, b = layer(input_data), clone(input_data)
        for x, y in zip(a if isinstance(a, (list, tuple)) else [a], b if isinstance(b, (list, tuple)) else [b]):
            torch.testing.assert_close(x, y)
        layer.train()

    if symbolic:
        sym_layer = layer_cls.from_config(config)
        inp = lamina.Input(shape=tuple(input_shape[1:]), dtype=input_dtype)
        sym = sym_layer(inp)
        syms = sym if isinstance(sym, (list, tuple)) else [sym]
        for s, e in zip(syms, expected):
            assert tuple(s.shape) == (None, *tuple(e)[1:]), f"symbolic shape {s.shape} != {(None, *tuple(e)[1:])}"

    if run_training_step and layer.trainable_weights:
        before = [w.detach().clone() for w in layer.trainable_weights]
        opt = torch.optim.SGD(layer.trainable_weights, lr=0.1)
        out = layer(input_data, training=True)
        outs = out if isinstance(out, (list, tuple)) else [out]
        loss = sum((o.float() ** 2).mean() for o in outs if o.is_floating_point())
        loss.backward()
        for w in layer.trainable_weights:
            assert w.grad is not None, "a trainable weight received no gradient"
            assert torch.isfinite(w.grad).all()
        opt.step()
        changed = [not torch.equal(b, w.detach()) for b, w in zip(before, layer.trainable_weights)]
        assert any(changed), "one SGD step changed no weight"
    return layer
