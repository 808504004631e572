"""Channels-first runs (lamina/layers/layout.py): which layers are fused, and that a
fused model computes exactly what its layers compute one by one."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import lamina
from lamina import layers
from lamina.layers import layout


def _built(*stack: torch.nn.Module, shape: tuple[int, ...] = (2, 8, 8, 3)) -> list[torch.nn.Module]:
    """Builds the layers by calling them one by one on a zero batch of ``shape``."""
    x = torch.zeros(shape)
    for layer in stack:
        x = layer(x)
    return list(stack)


def _one_by_one(model: lamina.Model, x: torch.Tensor) -> torch.Tensor:
    """A Sequential model's layers called one by one (no run fusion)."""
    for layer in model.layers:
        x = layer(x)
    return x


class _CountPermutes(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.Tensor.permute:
            self.count += 1
        return func(*args, **(kwargs or {}))


def _cnn(**conv_kwargs) -> lamina.Sequential:
    return lamina.Sequential([
        lamina.Input(shape=(8, 8, 3)),
        layers.Conv2D(6, 3, padding="same", activation="relu", **conv_kwargs),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Dropout(0.3),
        layers.Conv2D(5, 3, padding="valid", activation="elu"),
        layers.AveragePooling2D(2, padding="same"),
        layers.Flatten(),
        layers.Dense(4),
    ])


# ---------------------------------------------------------------------- finding runs
def test_find_runs_groups_spatial_layers_of_one_rank():
    stack = _built(layers.Conv2D(4, 3, padding="same"), layers.MaxPooling2D(2), layers.Conv2D(4, 3, padding="same"),
                   layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3))
    assert layout.find_runs(stack) == [(0, 4, 2)]


def test_find_runs_needs_a_saving():
    # One spatial layer alone permutes twice either way: no run.
    assert layout.find_runs(_built(layers.Conv2D(4, 3), layers.Flatten())) == []
    # A convolution followed by a global pooling saves the permutation back.
    assert layout.find_runs(_built(layers.Conv2D(4, 3), layers.GlobalAveragePooling2D())) == [(0, 2, 2)]
    # Elementwise layers alone (any rank) are no run.
    assert layout.find_runs(_built(layers.Dropout(0.1), layers.Activation("relu"))) == []


def test_find_runs_stops_at_layers_that_need_channels_last():
    stack = _built(
        layers.Conv2D(4, 3, padding="same"),
        layers.MaxPooling2D(1),
        layers.Conv2D(4, 1, activation="softmax"),  # softmax over the channels axis: not elementwise
        layers.Conv2D(4, 1),
        layers.Dropout(0.2, noise_shape=(None, 1, 1, 4)),  # a mask shaped for channels-last
        layers.Conv2D(4, 1),
        layers.BatchNormalization(axis=1),  # normalises rows, not channels
        layers.Conv2D(4, 1),
        layers.Activation(lambda t: t * 2),  # custom callable: unknown
        layers.Conv2D(4, 1),
        layers.GlobalMaxPooling2D(keepdims=True),  # keeps a channels-last shape
    )
    assert layout.find_runs(stack) == [(0, 2, 2)]


def test_find_runs_ends_a_run_at_a_global_pooling_and_splits_ranks():
    stack = _built(layers.Conv2D(4, 3), layers.GlobalMaxPooling2D(), layers.Dense(2))
    assert layout.find_runs(stack) == [(0, 2, 2)]
    seq = _built(layers.Conv1D(4, 3, padding="causal"), layers.MaxPooling1D(2), layers.Conv1D(4, 3),
                 layers.GlobalAveragePooling1D(), shape=(2, 12, 3))
    assert layout.find_runs(seq) == [(0, 4, 1)]


def test_unbuilt_layers_are_never_fused():
    assert layout.find_runs([layers.Conv2D(4, 3), layers.MaxPooling2D(2), layers.Conv2D(4, 3)]) == []


# ---------------------------------------------------------------------- same numbers
def test_fused_sequential_matches_layer_by_layer_forward_and_gradients():
    lamina.set_seed(0)
    model = _cnn(kernel_regularizer=None, activity_regularizer="l2")
    x = torch.randn(16, 8, 8, 3)
    model.train()
    lamina.set_seed(1)
    fused = model(x)
    steps = [type(getattr(step, "layer", step)).__name__ for step, _ in model._steps_cache]
    assert steps == ["ChannelsFirstRun", "Flatten", "Dense"]
    penalty_fused = sum(model.losses)  # this call's activity penalties (Keras's `losses`)
    grads_fused = torch.autograd.grad(fused.square().sum(), list(model.parameters()))
    # The batch-norm moving statistics moved: compare from the same starting state.
    lamina.set_seed(0)
    reference = _cnn(kernel_regularizer=None, activity_regularizer="l2")
    reference.train()
    lamina.set_seed(1)
    expected = _one_by_one(reference, x)
    penalty_expected = sum(t for layer in reference.layers for t in layer.losses)
    grads_expected = torch.autograd.grad(expected.square().sum(), list(reference.parameters()))
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(penalty_fused, penalty_expected, rtol=1e-5, atol=1e-7)
    for a, b in zip(grads_fused, grads_expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    for a, b in zip(model.buffers(), reference.buffers()):
        torch.testing.assert_close(a, b)
    # Inference mode (moving statistics, no dropout) too.
    model.eval()
    reference.eval()
    torch.testing.assert_close(model(x), _one_by_one(reference, x), rtol=1e-5, atol=1e-6)


def test_fused_run_permutes_once_in_and_once_out():
    model = _cnn()
    x = torch.randn(4, 8, 8, 3)
    with _CountPermutes() as fused:
        model(x)
    with _CountPermutes() as one_by_one:
        _one_by_one(model, x)
    assert fused.count == 2
    assert one_by_one.count == 8  # two per convolution and pooling


class _ConvInputs(TorchFunctionMode):
    """Records the inputs of every 2-D convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.nn.functional.conv2d or func is torch.conv2d:
            self.inputs.append(args[0])
        return func(*args, **(kwargs or {}))


def test_fused_convolutions_compute_in_channels_last_memory_format_without_copies():
    # The channels-first view of channels-last data is torch.channels_last memory:
    # the convolutions get it as is (no .contiguous() copy to NCHW).
    model = _cnn()
    x = torch.randn(4, 8, 8, 3)
    with _ConvInputs() as seen:
        model(x)
    assert len(seen.inputs) == 2
    first = seen.inputs[0]
    assert first.shape == (4, 3, 8, 8) and first.data_ptr() == x.data_ptr()
    for t in seen.inputs:
        assert t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def test_fused_conv1d_stack_matches_layer_by_layer():
    lamina.set_seed(3)
    model = lamina.Sequential([
        lamina.Input(shape=(20, 4)),
        layers.Conv1D(8, 3, padding="causal", activation="gelu"),
        layers.SpatialDropout1D(0.0),
        layers.MaxPooling1D(2, padding="same"),
        layers.Conv1D(8, 3, strides=2, padding="same"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2),
    ])
    x = torch.randn(5, 20, 4)
    model(x)
    assert [type(getattr(s, "layer", s)).__name__ for s, _ in model._steps_cache] == ["ChannelsFirstRun", "Dense"]
    torch.testing.assert_close(model(x), _one_by_one(model, x))


def test_functional_model_fuses_chains_but_not_branch_points_or_outputs():
    lamina.set_seed(0)
    inputs = lamina.Input(shape=(8, 8, 2))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)  # used twice below: the chain ends here
    a = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    a = layers.Conv2D(4, 3, padding="same")(a)
    b = layers.Conv2D(4, 1)(x)
    merged = layers.Add()([a, b])
    pooled = layers.MaxPooling2D(2)(merged)
    c = layers.Conv2D(3, 1)(pooled)  # a model output that also feeds the next layer
    d = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 1)(c))
    model = lamina.Model(inputs, [c, layers.Dense(2)(d)])
    x_in = torch.randn(3, 8, 8, 2)
    got = model(x_in)
    kinds = [(type(e[0]).__name__, [layer.name for layer in e[0].layers] if isinstance(e[0], layout.ChannelsFirstRun)
              else None) for e in model._run_plan]
    runs = [names for kind, names in kinds if kind == "ChannelsFirstRun"]
    assert [len(run) for run in runs] == [2, 2, 2, 2]
    # The other single-input calls skip Module.__call__; the two-input Add does not.
    others = [e[0] for e in model._run_plan if not isinstance(e[0], layout.ChannelsFirstRun)]
    assert [type(o).__name__ for o in others] == ["DirectCall", "Add", "DirectCall"]
    assert runs[0][1].startswith("max_pooling2d")  # conv -> pool, then the branch point
    assert runs[1][0].startswith("conv2d") and runs[1][1].startswith("conv2d")  # branch a; b is one layer
    assert runs[2][0].startswith("max_pooling2d")  # pool -> conv, ending at the output c
    assert runs[3][-1].startswith("global_average_pooling2d")  # a new run after the output c
    # The same numbers as the unfused plan.
    model._run_plan = list(model._plan)
    expected = model(x_in)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e)


def test_fused_model_trains_like_the_unfused_one():
    digits_x = np.random.default_rng(0).random((64, 8, 8, 3)).astype("float32")
    digits_y = np.random.default_rng(1).integers(0, 4, 64)
    weights = []
    for fuse in (True, False):
        lamina.set_seed(0)
        model = _cnn()
        if not fuse:
            model._steps_cache = [(layer, True) for layer in model.layers]
        model.compile(optimizer="adam", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
        lamina.set_seed(1)
        model.fit(digits_x, digits_y, batch_size=16, epochs=2, verbose=0)
        weights.append([w.detach().clone() for w in model.weights])
    for a, b in zip(*weights):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------- fallbacks
def test_hooks_inside_a_run_see_every_layer_call():
    model = _cnn()
    seen = []
    handle = model.layers[2].register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    model(torch.randn(2, 8, 8, 3))
    handle.remove()
    assert seen == [(2, 4, 4, 6)]  # the pooling's channels-last output
    model.summary()  # summary() hooks every layer


def test_masks_pass_through_a_conv1d_run():
    lamina.set_seed(0)
    inputs = lamina.Input(shape=(6,), dtype="int64")
    x = layers.Embedding(10, 4, mask_zero=True)(inputs)
    x = layers.Conv1D(4, 3, padding="same")(x)
    x = layers.Conv1D(4, 3, padding="same")(x)
    out = layers.GlobalAveragePooling1D()(x)
    model = lamina.Model(inputs, out)
    tokens = torch.tensor([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]])
    got = model(tokens)
    emb = model.layers[1](tokens)
    h = model.layers[3](model.layers[2](emb))
    mask = (tokens != 0).float()[..., None]
    torch.testing.assert_close(got, (h * mask).sum(1) / mask.sum(1))


def test_errors_keep_their_messages_inside_runs():
    model = _cnn()
    with pytest.raises(ValueError, match=r"Layer 'conv2d\w*' \(Conv2D\) was built for inputs with 3 channels"):
        model(torch.randn(2, 8, 8, 5))
    free = lamina.Sequential([
        lamina.Input(shape=(None, None, 1)),
        layers.Conv2D(2, 3, padding="same"),
        layers.MaxPooling2D(2),
        layers.Conv2D(2, 3, padding="same"),
        layers.MaxPooling2D(2),
    ])
    free(torch.randn(1, 8, 8, 1))
    with pytest.raises(ValueError, match=r"Layer 'max_pooling2d\w*' \(MaxPooling2D\) cannot apply a pool_size"):
        free(torch.randn(1, 3, 3, 1))


def test_stack_changes_and_copies_rebuild_the_steps():
    model = _cnn()
    model(torch.randn(2, 8, 8, 3))
    model.pop()
    model.add(layers.Dense(7))
    assert model(torch.randn(2, 8, 8, 3)).shape == (2, 7)
    clone = copy.deepcopy(model)
    x = torch.randn(2, 8, 8, 3)
    clone.eval()
    model.eval()
    torch.testing.assert_close(clone(x), model(x))
    run = clone._steps_cache[0][0]
    assert all(any(layer is m for m in clone.modules()) for layer in run.layers)


# ---------------------------------------------------------------------- direct calls
def test_other_layers_are_called_directly_and_hooks_still_fire():
    model = _cnn()
    x = torch.randn(3, 8, 8, 3)
    model.eval()
    expected = _one_by_one(model, x)
    torch.testing.assert_close(model(x), expected)
    kinds = [type(step).__name__ for step, _ in model._steps_cache]
    assert kinds == ["ChannelsFirstRun", "DirectCall", "DirectCall"]
    dense = model.layers[-1]
    seen = []
    handle = dense.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    model(x)
    handle.remove()
    assert seen == [(3, 4)]
    # A global hook (registered after the steps were made, and on a deep copy) is seen too.
    clone = copy.deepcopy(model)
    calls = []
    handle = torch.nn.modules.module.register_module_forward_hook(lambda mod, args, out: calls.append(type(mod).__name__))
    try:
        clone(x)
    finally:
        handle.remove()
    assert "Dense" in calls and "Flatten" in calls and "Conv2D" in calls
    clone_dense = clone._steps_cache[-1][0].layer
    assert clone_dense is clone.layers[-1] and clone_dense is not dense


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
def test_direct_calls_keep_layer_errors_and_tracing():
    model = lamina.Sequential([lamina.Input(shape=(5,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"Input of layer 'dense.*' \(Dense\) is incompatible.*last dimension 5"):
        model(torch.randn(2, 6))
    traced = torch.jit.trace(model.eval(), torch.randn(2, 5))
    x = torch.randn(3, 5)
    torch.testing.assert_close(traced(x), model(x))


def test_builtin_activations_run_their_torch_kernels_with_the_same_numbers():
    from lamina import activations

    dense = layers.Dense(3, activation="relu")
    conv = layers.Conv2D(2, 3, activation="tanh")
    assert dense._act is torch.relu and conv._act is torch.tanh
    assert dense.get_config()["activation"] == "relu" and conv.get_config()["activation"] == "tanh"
    assert activations.kernel(activations.softmax) is activations.softmax
    custom = layers.Dense(3, activation=lambda t: t * 2)
    assert custom._act is custom.activation
    x = torch.randn(4, 5)
    for name in ("relu", "sigmoid", "tanh"):
        torch.testing.assert_close(activations.kernel(activations.get(name))(x), activations.get(name)(x))
    conv(torch.zeros(1, 5, 5, 1))
    assert conv._channels_first_rank() == 2


# ---------------------------------------------------------------------- torch internals
def test_direct_call_torch_internals_exist_with_expected_types():
    """`DirectCall` skips `nn.Module.__call__` by reading private torch state. If a torch
    release renames or retypes any of it, this test fails (and the library falls back
    to ordinary calls, `layout.INTERNALS_OK` being False)."""
    from torch.nn.modules import module as torch_module

    assert layout.INTERNALS_OK, "torch's private hook / compile / tracing state changed; see layout.py"
    for name in layout.GLOBAL_HOOK_NAMES:
        assert isinstance(getattr(torch_module, name), dict), name
    dense = layers.Dense(2)
    for name in layout.MODULE_HOOK_NAMES:
        assert isinstance(getattr(dense, name), dict), name
    assert dense._compiled_call_impl is None
    assert torch._C._get_tracing_state() is None


def test_direct_call_internals_are_filled_in_place_by_the_public_apis():
    dense = layers.Dense(2)
    dense(torch.zeros(1, 3))
    call = layout.DirectCall(dense)
    hook_dicts = call._hook_dicts
    handles = [
        dense.register_forward_hook(lambda *a: None),
        dense.register_forward_pre_hook(lambda *a: None),
        dense.register_full_backward_hook(lambda *a: None),
        dense.register_full_backward_pre_hook(lambda *a: None),
    ]
    assert [len(d) for d in hook_dicts] == [1, 1, 1, 1]  # the very dicts DirectCall holds
    for handle in handles:
        handle.remove()
    assert not any(hook_dicts)
    from torch.nn.modules import module as torch_module

    registrations = [
        torch_module.register_module_forward_hook,
        torch_module.register_module_forward_pre_hook,
        torch_module.register_module_full_backward_hook,
        torch_module.register_module_full_backward_pre_hook,
    ]
    for name, register in zip(layout.GLOBAL_HOOK_NAMES, registrations):
        handle = register(lambda *a: None)
        try:
            assert len(getattr(torch_module, name)) == 1, name
            assert any(layout._GLOBAL_HOOKS), name
        finally:
            handle.remove()
    dense.compile()
    assert dense._compiled_call_impl is not None


def test_direct_call_gives_the_same_outputs_and_gradients_as_module_calls():
    torch.manual_seed(0)
    model = lamina.Sequential([
        lamina.Input(shape=(6,)), layers.Dense(8, activation="tanh"), layers.LayerNormalization(),
        layers.Dense(3),
    ])
    x = torch.randn(4, 6)
    model.train()
    out = model(x, training=True)
    assert all(type(step).__name__ == "DirectCall" for step, _ in model._steps_cache)
    out.square().sum().backward()
    direct_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    y = x
    for layer in model.layers:  # through nn.Module.__call__
        y = layer(y, training=True)
    y.square().sum().backward()
    torch.testing.assert_close(out, y, rtol=0, atol=0)
    for direct, plain in zip(direct_grads, [p.grad for p in model.parameters()]):
        torch.testing.assert_close(direct, plain, rtol=0, atol=0)
