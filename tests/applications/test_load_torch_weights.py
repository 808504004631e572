"""`lamina.applications.load_torch_weights`: PyTorch state dicts (dicts, .pth and
.safetensors files) into Lamina models, checked against the PyTorch model's own
outputs on the same weights."""

from __future__ import annotations

import ast
import json
import pathlib

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import lamina
from lamina import layers
from lamina.applications import WeightLoadReport, load_torch_weights
from lamina.applications.weights import read_state_dict, resolve_weights

ROOT = pathlib.Path(__file__).resolve().parents[2]


def torch_net() -> torch.nn.Sequential:
    """A torchvision-style network: conv-BN-ReLU, depthwise conv-BN-ReLU, pool, linear."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1, bias=False),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 5),
    )
    net.train()
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for _ in range(3):
            net(torch.randn(16, 3, 12, 12) * 2 + 0.5)
        for module in net:
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return net.eval()


def lamina_net() -> lamina.Model:
    inputs = layers.Input((12, 12, 3))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(epsilon=1e-5, name="stem_bn")(x)
    x = layers.ReLU()(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name="dw_bn")(x)
    x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(5, name="head")(x)
    return lamina.Model(inputs, outputs)


MODULES = {"0": "stem", "1": "stem_bn", "3": "dw", "4": "dw_bn", "8": "head"}


def by_module(key: str) -> str:
    module, _, rest = key.partition(".")
    return f"{MODULES.get(module, module)}.{rest}"


def images() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(6, 12, 12, 3)).astype("float32")


def torch_outputs(net: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return net(torch.from_numpy(x).permute(0, 3, 1, 2)).numpy()  # channels-last -> first


def test_load_torch_weights_round_trip_matches_torch_outputs():
    net, model = torch_net(), lamina_net()
    report = load_torch_weights(model, net.state_dict(), mapping=by_module)
    assert isinstance(report, WeightLoadReport)
    assert report.complete
    assert not report.unmatched_source and not report.missing_target and not report.shape_mismatch
    assert sorted(report.skipped) == ["1.num_batches_tracked", "4.num_batches_tracked"]
    loaded = dict(report.loaded)
    # PyTorch's parameter names translated to Lamina's, layer by layer.
    assert loaded["0.weight"] == "stem.kernel"
    assert loaded["1.weight"] == "stem_bn.gamma" and loaded["1.bias"] == "stem_bn.beta"
    assert loaded["1.running_mean"] == "stem_bn.moving_mean"
    assert loaded["1.running_var"] == "stem_bn.moving_variance"
    assert loaded["8.weight"] == "head.kernel"
    assert len(report.loaded) == len(model.state_dict())
    x = images()
    np.testing.assert_allclose(
        model.predict(x, verbose=0), torch_outputs(net, x), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize("kind", ["pth", "safetensors", "checkpoint"])
def test_load_torch_weights_from_files(tmp_path, kind):
    net, model = torch_net(), lamina_net()
    state = net.state_dict()
    if kind == "pth":
        path = tmp_path / "net.pth"
        torch.save(state, path)
    elif kind == "safetensors":
        path = tmp_path / "net.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:  # a training checkpoint holding the state dict next to other entries
        path = tmp_path / "ckpt.pt"
        torch.save({"epoch": 3, "state_dict": state, "lr": 0.1}, path)
    assert set(read_state_dict(path)) == set(state)
    report = load_torch_weights(model, str(path), mapping=by_module)
    assert report.complete
    x = images()
    np.testing.assert_allclose(
        model.predict(x, verbose=0), torch_outputs(net, x), atol=1e-5, rtol=0
    )


def test_load_torch_weights_dict_mapping_and_module_source():
    linear = torch.nn.Linear(4, 3)
    inputs = layers.Input((4,))
    model = lamina.Model(inputs, layers.Dense(3, name="fc")(inputs))
    report = load_torch_weights(model, linear, {"weight": "fc.weight", "bias": "fc.bias"})
    assert report.loaded == [("weight", "fc.kernel"), ("bias", "fc.bias")]
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    with torch.no_grad():
        expected = linear(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6, rtol=0)


def test_load_torch_weights_strict_lists_unmatched_missing_and_mis_shaped():
    net, model = torch_net(), lamina_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = dict(net.state_dict())
    state["extra.weight"] = torch.zeros(2)
    state["8.weight"] = state["8.weight"].T.contiguous()  # (in, out): a layout mistake
    del state["3.bias"]
    with pytest.raises(ValueError) as info:
        load_torch_weights(model, state, mapping=by_module)
    message = str(info.value)
    assert "1 source tensors used by no model variable: extra.weight" in message
    assert "1 model variables no source tensor filled: dw.bias" in message
    assert "8.weight (8, 5) -> head.kernel (5, 8)" in message
    assert "another layout" in message
    for key, value in model.state_dict().items():  # strict: nothing was loaded
        assert torch.equal(value, before[key]), key

    report = load_torch_weights(model, state, mapping=by_module, strict=False)
    assert report.unmatched_source == ["extra.weight"]
    assert report.missing_target == ["dw.bias"]
    assert report.shape_mismatch == [("8.weight", "head.kernel", (8, 5), (5, 8))]
    assert not report.complete
    assert len(report.loaded) == len(model.state_dict()) - 2
    assert torch.equal(model.state_dict()["stem.kernel"], net.state_dict()["0.weight"])
    assert torch.equal(model.state_dict()["head.kernel"], before["head.kernel"])
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["shape_mismatch"] == [["8.weight", "head.kernel", [8, 5], [5, 8]]]
    assert as_dict["complete"] is False
    text = str(report)
    assert "1 unmatched" in text and "1 shape mismatches" in text and "extra.weight" in text


def test_load_torch_weights_strict_message_counts_beyond_ten():
    inputs = layers.Input((4,))
    model = lamina.Model(inputs, layers.Dense(3, name="fc")(inputs))
    state = {f"junk{i}": torch.zeros(1) for i in range(13)}
    state.update(weight=torch.zeros(3, 4), bias=torch.zeros(3))
    with pytest.raises(ValueError, match=r"13 source tensors .*junk9, \.\.\. \(3 more\)"):
        load_torch_weights(model, state, {"weight": "fc.weight", "bias": "fc.bias"})


def test_load_torch_weights_skips_and_ignores_on_request():
    net, model = torch_net(), lamina_net()
    state = net.state_dict()

    def skip_head(key):
        return None if key.startswith("8.") else by_module(key)

    with pytest.raises(ValueError, match="head.kernel"):
        load_torch_weights(model, state, mapping=skip_head)
    report = load_torch_weights(model, state, mapping=skip_head, ignore_missing=["head"])
    assert report.complete
    assert sorted(report.kept) == ["head.bias", "head.kernel"]
    assert {"8.weight", "8.bias"} <= set(report.skipped)
    with pytest.raises(ValueError, match="names neither"):
        load_torch_weights(model, state, mapping=skip_head, ignore_missing=["nope"])


class KerasLayoutConv(layers.Conv2D):
    """A user's subclass: Lamina keeps such a kernel in Keras's layout (kh, kw, in, out)."""


def test_load_torch_weights_converts_kernels_kept_in_keras_layout():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, (3, 2))
    inputs = layers.Input((7, 6, 3))
    model = lamina.Model(inputs, KerasLayoutConv(4, (3, 2), name="conv")(inputs))
    assert tuple(model.state_dict()["conv.kernel"].shape) == (3, 2, 3, 4)
    report = load_torch_weights(model, conv.state_dict(), lambda k: "conv." + k)
    assert report.converted == ["conv.kernel"]
    x = np.random.default_rng(0).normal(size=(2, 7, 6, 3)).astype("float32")
    with torch.no_grad():
        expected = conv(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match=r"\(4, 3, 3, 2\) -> conv.kernel \(3, 2, 3, 4\)"):
        load_torch_weights(model, conv.state_dict(), lambda k: "conv." + k, transpose=False)


def test_read_state_dict_refuses_a_pickled_model(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Linear(2, 2), path)  # the whole module, not its state dict
    with pytest.raises(ValueError, match=r"weights_only=False.*refuses.*model.state_dict\(\)"):
        read_state_dict(path)
    inputs = layers.Input((2,))
    model = lamina.Model(inputs, layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="Lamina refuses"):
        load_torch_weights(model, path)


def test_read_state_dict_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        read_state_dict(tmp_path / "absent.pth")
    (tmp_path / "w.h5").write_bytes(b"\x89HDF")
    with pytest.raises(ValueError, match=r"suffix '\.h5'"):
        read_state_dict(tmp_path / "w.h5")
    torch.save({"weight": torch.zeros(2), "note": "hello", "step": 3}, tmp_path / "mixed.pth")
    with pytest.raises(ValueError, match=r"2 other values: 'note' \(str\), 'step' \(int\)"):
        read_state_dict(tmp_path / "mixed.pth")
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    with pytest.raises(ValueError, match="broken.safetensors"):
        read_state_dict(tmp_path / "broken.safetensors")
    (tmp_path / "broken.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="broken.pt"):
        read_state_dict(tmp_path / "broken.pt")


def test_load_torch_weights_argument_errors():
    inputs = layers.Input((4,))
    model = lamina.Model(inputs, layers.Dense(3, name="fc")(inputs))
    state = {"weight": torch.zeros(3, 4), "kernel": torch.zeros(3, 4)}
    with pytest.raises(ValueError, match="two source tensors to the model variable 'fc.kernel'"):
        load_torch_weights(model, state, lambda k: "fc." + k)
    with pytest.raises(ValueError, match="transpose=True"):
        load_torch_weights(model, state, transpose=True)
    with pytest.raises(ValueError, match="Received: 3 for 'weight'"):
        load_torch_weights(model, state, lambda k: 3)
    with pytest.raises(ValueError, match="a Lamina model"):
        load_torch_weights(object(), state)
    with pytest.raises(ValueError, match="'module.' .*removeprefix"):
        load_torch_weights(model, {"module.fc.weight": torch.zeros(3, 4)})


def test_resolve_weights_keras_semantics(tmp_path):
    names = {"imagenet": lambda: tmp_path / "pkg.pth"}
    assert resolve_weights("Net", None, names) is None
    assert resolve_weights("Net", "ImageNet", names) == str(tmp_path / "pkg.pth")
    local = tmp_path / "mine.pth"
    local.write_bytes(b"")
    assert resolve_weights("Net", local, names) == str(local)

    def missing():
        raise ImportError('`Net` needs the package: pip install "lamina[pretrained]"')

    with pytest.raises(ImportError, match=r"lamina\[pretrained\]"):
        resolve_weights("Net", "imagenet", {"imagenet": missing})
    with pytest.raises(ValueError, match=r"`Net` expects .*one of 'imagenet'.*never downloads"):
        resolve_weights("Net", "imagenet21k", names)
    with pytest.raises(ValueError, match="does not exist"):
        resolve_weights("Net", str(tmp_path / "nope.pth"), names)
    with pytest.raises(ValueError, match="Received: weights=3"):
        resolve_weights("Net", 3, names)


def test_no_torch_load_without_weights_only_true():
    """Every `torch.load` call in Lamina passes `weights_only=True` literally."""
    calls = []
    for path in sorted((ROOT / "lamina").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "load"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "torch"
            ):
                kwargs = {k.arg: k.value for k in node.keywords}
                safe = isinstance(kwargs.get("weights_only"), ast.Constant) and (
                    kwargs["weights_only"].value is True
                )
                calls.append((path.relative_to(ROOT).as_posix(), node.lineno, safe))
    assert ("lamina/applications/weights.py", True) in {(p, s) for p, _, s in calls}
    assert [c for c in calls if not c[2]] == []
