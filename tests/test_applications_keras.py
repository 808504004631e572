"""Keras's ImageNet architectures in `lamina.applications`: parameter counts equal to
Keras's published totals, Keras's layer names, output shapes for every top / pooling
option, forward passes checked against hand-written PyTorch, weights files, errors."""

from __future__ import annotations

import doctest
import gc
import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import applications, layers
from lamina.applications import imagenet_utils

# Keras 3's `model.count_params()` and trainable counts of the default configuration
# (224x224 inputs, 299x299 for Xception, 1000 classes), from keras.io/api/applications
# and Keras's `summary()` output.
_KERAS_COUNTS = {
    "VGG16": (138_357_544, 138_357_544),
    "VGG19": (143_667_240, 143_667_240),
    "ResNet50": (25_636_712, 25_583_592),
    "ResNet101": (44_707_176, 44_601_832),
    "ResNet152": (60_419_944, 60_268_520),
    "ResNet50V2": (25_613_800, 25_568_360),
    "ResNet101V2": (44_675_560, 44_577_896),
    "ResNet152V2": (60_380_648, 60_236_904),
    "MobileNetV2": (3_538_984, 3_504_872),
    "Xception": (22_910_480, 22_855_952),
    # Keras also counts the int64 `count` scalar of EfficientNet's Normalization layer
    # (5,330,571); Lamina counts floating-point state only, so one fewer.
    "EfficientNetB0": (5_330_571 - 1, 5_288_548),
}

# builder, smallest allowed input side, channels of the last feature map.
_SMALL = {
    "VGG16": (32, 512),
    "ResNet50": (32, 2048),
    "ResNet50V2": (32, 2048),
    "MobileNetV2": (32, 1280),
    "Xception": (71, 2048),
    "EfficientNetB0": (32, 1280),
}

_X = np.random.default_rng(0).uniform(0, 255, size=(2, 32, 32, 3)).astype("float32")


def _symbolic_output(model, layer_name):
    """The symbolic tensor a named layer produced in a functional model's graph."""
    stack, seen = list(model.outputs), set()
    while stack:
        t = stack.pop()
        if t.node is None or id(t.node) in seen:
            continue
        seen.add(id(t.node))
        if t.node.layer.name == layer_name:
            return t
        inputs = t.node.inputs
        stack.extend(inputs if isinstance(inputs, (list, tuple)) else [inputs])
    raise KeyError(layer_name)


def _trainable(model) -> int:
    return sum(w.numel() for w in model.trainable_weights)


@pytest.mark.parametrize("name", sorted(_KERAS_COUNTS))
def test_applications_default_param_counts_match_keras(name):
    model = getattr(applications, name)()
    total, trainable = _KERAS_COUNTS[name]
    assert model.count_params() == total
    assert _trainable(model) == trainable
    assert model.outputs[0].shape == (None, 1000)
    del model
    gc.collect()


@pytest.mark.parametrize(
    ("name", "layer_names"),
    [
        ("VGG16", ["block1_conv1", "block5_pool", "flatten", "fc1", "fc2", "predictions"]),
        ("ResNet50", ["conv1_pad", "conv1_bn", "pool1_pool", "conv2_block1_0_conv", "conv4_block6_out",
                      "conv5_block3_3_bn", "avg_pool", "predictions"]),
        ("MobileNetV2", ["Conv1", "bn_Conv1", "Conv1_relu", "expanded_conv_depthwise", "block_1_pad",
                         "block_16_project_BN", "Conv_1", "out_relu", "predictions"]),
        ("ResNet50V2", ["conv1_conv", "conv2_block1_preact_bn", "conv2_block1_0_conv", "conv2_block3_2_pad",
                        "conv4_block6_out", "conv5_block3_3_conv", "post_bn", "post_relu", "avg_pool",
                        "predictions"]),
        ("Xception", ["block1_conv1_bn", "block2_sepconv2_act", "block12_sepconv3_bn", "block14_sepconv2_act",
                      "avg_pool", "predictions"]),
        ("EfficientNetB0", ["stem_conv_pad", "block1a_se_excite", "block2b_drop", "block6d_add",
                            "block7a_project_bn", "top_activation", "top_dropout", "predictions"]),
    ],
)
def test_applications_layer_names_follow_keras(name, layer_names):
    side = _SMALL[name][0]
    model = getattr(applications, name)(input_shape=(side, side, 3), classes=3)
    names = {layer.name for layer in model.layers}
    assert set(layer_names) <= names


@pytest.mark.parametrize("name", sorted(_SMALL))
def test_applications_pooling_options_match_global_pooling_of_features(name):
    side, channels = _SMALL[name]
    builder = getattr(applications, name)
    x = np.random.default_rng(1).uniform(0, 255, size=(2, side, side, 3)).astype("float32")
    features = builder(include_top=False, input_shape=(side, side, 3))
    assert features.outputs[0].shape[0] is None and features.outputs[0].shape[-1] == channels
    expected = features.predict(x, verbose=0)
    assert np.isfinite(expected).all()
    for pooling, reduce in (("avg", np.mean), ("max", np.max)):
        pooled = builder(include_top=False, input_shape=(side, side, 3), pooling=pooling)
        assert pooled.outputs[0].shape == (None, channels)
        pooled.set_weights(features.get_weights())
        # Randomly initialised MobileNetV2 / EfficientNet features are tiny in inference
        # mode (as in Keras), so the tolerance follows their scale.
        np.testing.assert_allclose(
            pooled.predict(x, verbose=0), reduce(expected, axis=(1, 2)), rtol=1e-4,
            atol=1e-5 * np.abs(expected).max(),
        )


@pytest.mark.parametrize("name", ["ResNet50", "MobileNetV2", "EfficientNetB0", "VGG16"])
def test_applications_top_gives_class_probabilities(name):
    model = getattr(applications, name)(input_shape=(32, 32, 3), classes=7)
    assert model.outputs[0].shape == (None, 7)
    with torch.no_grad():  # distinct class scores even where random features are tiny
        model.get_layer("predictions").bias.copy_(torch.linspace(-2.0, 2.0, 7))
    probs = model.predict(_X, verbose=0)
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    logits_model = getattr(applications, name)(input_shape=(32, 32, 3), classes=7, classifier_activation=None)
    logits_model.set_weights(model.get_weights())
    logits = logits_model.predict(_X, verbose=0)
    np.testing.assert_allclose(torch.softmax(torch.tensor(logits), -1).numpy(), probs, rtol=1e-4, atol=1e-6)


def test_applications_without_top_accept_any_image_size():
    model = applications.ResNet50(include_top=False)
    assert model.inputs[0].shape == (None, None, None, 3)
    assert model.outputs[0].shape == (None, None, None, 2048)
    assert model.predict(np.zeros((1, 64, 48, 3), "float32"), verbose=0).shape == (1, 2, 2, 2048)


def test_vgg16_features_match_plain_pytorch():
    model = applications.VGG16(include_top=False, input_shape=(32, 32, 3))
    x = torch.tensor(_X).permute(0, 3, 1, 2)
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            x = F.relu(F.conv2d(x, layer.kernel, layer.bias, padding=1))
        elif isinstance(layer, layers.MaxPooling2D):
            x = F.max_pool2d(x, 2)
    expected = x.permute(0, 2, 3, 1).detach().numpy()
    np.testing.assert_allclose(model.predict(_X, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_resnet50_stem_matches_plain_pytorch():
    model = applications.ResNet50(include_top=False, input_shape=(32, 32, 3))
    stem = lamina.Model(model.inputs[0], _symbolic_output(model, "pool1_pool"))
    conv, bn = model.get_layer("conv1_conv"), model.get_layer("conv1_bn")
    x = torch.tensor(_X).permute(0, 3, 1, 2)
    y = F.conv2d(F.pad(x, (3, 3, 3, 3)), conv.kernel, conv.bias, stride=2)
    y = F.batch_norm(y, bn.moving_mean, bn.moving_variance, bn.gamma, bn.beta, False, 0.0, 1.001e-5)
    y = F.max_pool2d(F.pad(F.relu(y), (1, 1, 1, 1)), 3, stride=2)
    np.testing.assert_allclose(
        stem.predict(_X, verbose=0), y.permute(0, 2, 3, 1).detach().numpy(), rtol=1e-4, atol=1e-4
    )


def test_mobilenet_v2_alpha_scales_filters_as_keras():
    model = applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False)
    assert model.name == "mobilenetv2_0_35_32"
    assert model.get_layer("Conv1").filters == 16  # _make_divisible(32 * 0.35, 8)
    assert model.get_layer("block_16_project").filters == 112  # _make_divisible(int(320 * 0.35), 8)
    assert model.outputs[0].shape[-1] == 1280  # the last convolution is not thinned for alpha <= 1
    wide = applications.MobileNetV2(input_shape=(32, 32, 3), alpha=1.4, include_top=False)
    assert wide.outputs[0].shape[-1] == 1792


def test_applications_input_tensor_is_the_model_input():
    inputs = lamina.Input(shape=(32, 32, 3))
    scaled = layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    model = applications.MobileNetV2(alpha=0.35, include_top=False, input_tensor=scaled, pooling="avg")
    assert model.inputs[0] is inputs
    assert model.predict(_X, verbose=0).shape == (2, 1280)


def test_applications_weights_file_restores_predictions_with_other_classes(tmp_path):
    kwargs = dict(alpha=0.35, input_shape=(32, 32, 3), classes=5)
    model = applications.MobileNetV2(**kwargs)
    path = tmp_path / "mnv2.weights.safetensors"
    model.save_weights(path)
    restored = applications.MobileNetV2(weights=str(path), **kwargs)
    for got, want in zip(restored.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(restored.predict(_X, verbose=0), model.predict(_X, verbose=0))
    fresh = applications.MobileNetV2(**kwargs)
    assert not np.array_equal(fresh.get_weights()[0], model.get_weights()[0])


def test_applications_keras_weights_h5_file_is_accepted(tmp_path):
    kwargs = dict(include_top=False, input_shape=(32, 32, 3), pooling="max")
    model = applications.ResNet50(**kwargs)
    with torch.no_grad():  # non-trivial statistics, so a file that is not read shows
        for layer in model.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.moving_variance.uniform_(0.5, 1.5)
    path = tmp_path / "resnet50_notop.weights.h5"
    model.save_weights(path)
    restored = applications.ResNet50(weights=path, **kwargs)
    np.testing.assert_array_equal(restored.predict(_X, verbose=0), model.predict(_X, verbose=0))


def test_efficientnet_save_load_model_round_trip(tmp_path):
    model = applications.EfficientNetB0(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    norm = next(layer for layer in model.layers if isinstance(layer, layers.Normalization))
    # As in Keras: learned statistics (weights of the model), the identity until set.
    np.testing.assert_array_equal(norm.mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(norm.variance.numpy(), np.ones(3))
    norm.adapt(_X / 255.0)
    np.testing.assert_allclose(norm.mean.numpy(), (_X / 255.0).mean(axis=(0, 1, 2)), rtol=1e-5)
    path = tmp_path / "effnet.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    loaded_norm = next(layer for layer in loaded.layers if isinstance(layer, layers.Normalization))
    np.testing.assert_array_equal(loaded_norm.variance.numpy(), norm.variance.numpy())
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(_X, verbose=0), model.predict(_X, verbose=0))


@pytest.mark.parametrize("name", ["VGG16", "ResNet50", "MobileNetV2", "Xception", "EfficientNetB0"])
def test_applications_imagenet_weights_refused_with_advice(name):
    with pytest.raises(ValueError, match=r"Received: weights='imagenet'\. Lamina never downloads.*local file"):
        getattr(applications, name)(weights="imagenet")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(weights="no/such/file.weights.safetensors"), "not a file. Check the path"),
        (dict(weights=3), "Received: weights=3"),
        (dict(input_shape=(16, 16, 3), include_top=False), r"at least 32x32 pixels. Received: input_shape=\(16, 16, 3\)"),
        (dict(input_shape=(224, 224)), r"tuple of three integers .* Received: input_shape=\(224, 224\)"),
        (dict(input_shape=(None, None, 3)), "needs a fully known `input_shape`"),
        (dict(include_top=False, pooling="mean"), "Received: pooling='mean'"),
        (dict(classes=0), "Received: classes=0"),
        (dict(include_top="yes"), "Received: include_top='yes'"),
        (dict(input_tensor=np.zeros((1, 32, 32, 3))), "symbolic image tensor"),
    ],
)
def test_applications_bad_arguments_raise_house_errors(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        applications.ResNet50(**kwargs)


def test_applications_input_tensor_and_input_shape_must_agree():
    inputs = lamina.Input(shape=(32, 32, 3))
    with pytest.raises(ValueError, match=r"match the shape of `input_tensor`.*Received: input_shape=\(64, 64, 3\)"):
        applications.ResNet50(include_top=False, input_tensor=inputs, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.ResNet50(include_top=False, input_tensor=lamina.Input(shape=(16, 16, 3)))


def test_applications_unusual_channel_count_warns_as_keras():
    with pytest.warns(UserWarning, match="usually expects 1 or 3 input channels"):
        model = applications.MobileNetV2(alpha=0.35, input_shape=(32, 32, 4), include_top=False)
    assert model.inputs[0].shape == (None, 32, 32, 4)


def test_mobilenet_v2_alpha_must_be_positive():
    with pytest.raises(ValueError, match="Received: alpha=0"):
        applications.MobileNetV2(alpha=0)


def test_xception_minimum_input_size_is_71():
    with pytest.raises(ValueError, match="at least 71x71"):
        applications.Xception(include_top=False, input_shape=(64, 64, 3))


def test_applications_weights_need_softmax_or_logits_classifier(tmp_path):
    path = tmp_path / "w.weights.safetensors"
    applications.MobileNetV2(alpha=0.35, input_shape=(32, 32, 3), classes=3).save_weights(path)
    with pytest.raises(ValueError, match="Received: classifier_activation='relu'"):
        applications.MobileNetV2(alpha=0.35, input_shape=(32, 32, 3), classes=3, weights=path,
                                 classifier_activation="relu")


def test_preprocess_input_modes_match_numpy_reference():
    x = np.random.default_rng(2).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    caffe = x[..., ::-1] - np.array([103.939, 116.779, 123.68], "float32")
    np.testing.assert_allclose(applications.vgg16.preprocess_input(x.copy()), caffe, rtol=1e-6)
    np.testing.assert_allclose(applications.resnet50.preprocess_input(x.copy()), caffe, rtol=1e-6)
    np.testing.assert_allclose(applications.mobilenet_v2.preprocess_input(x), x / 127.5 - 1, rtol=1e-6)
    np.testing.assert_allclose(applications.xception.preprocess_input(x), x / 127.5 - 1, rtol=1e-6)
    torch_mode = (x / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x, mode="torch"), torch_mode, rtol=1e-5, atol=1e-6)
    assert applications.efficientnet.preprocess_input(x) is x


def test_preprocess_input_tensor_and_channels_first_agree_with_numpy():
    x = np.random.default_rng(3).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    expected = applications.vgg19.preprocess_input(x.copy())
    out = applications.vgg19.preprocess_input(torch.tensor(x))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    first = imagenet_utils.preprocess_input(np.moveaxis(x, -1, 1).copy(), data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), expected, rtol=1e-6)
    ints = applications.vgg19.preprocess_input(x.astype("uint8"))
    assert ints.dtype == np.float32
    with pytest.raises(ValueError, match="Received: mode='keras'"):
        imagenet_utils.preprocess_input(x, mode="keras")
    with pytest.raises(ValueError, match=r"3 colour channels .* Received: x with shape \(2, 4, 4, 1\)"):
        applications.vgg19.preprocess_input(x[..., :1])


@pytest.mark.parametrize(
    "module_name", ["vgg", "resnet_v1", "resnet_v2", "mobilenet_v2", "xception", "imagenet_utils"]
)
def test_applications_keras_docstring_examples_run(module_name):
    module = importlib.import_module(f"lamina.applications.{module_name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_efficientnet_b0_docstring_example_runs():
    parser = doctest.DocTestParser()
    test = parser.get_doctest(applications.EfficientNetB0.__doc__, {}, "EfficientNetB0", None, 0)
    result = doctest.DocTestRunner().run(test)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------- parity with Keras
# Both libraries get the same weights, a deterministic function of (layer name without
# Keras's automatic `_N` suffix, position, shape) in Keras's layout; the logits of two
# seeded images were recorded from Keras 3.15 (torch backend) by running this file
# as a script where Keras is installed: `KERAS_BACKEND=torch python tests/test_applications_keras.py`.
# Builder keyword arguments, and the batch-norm moving variance that keeps each network's
# activations near unit scale (so the logits depend on the image).
_PARITY_CASES = {
    "VGG16": (dict(input_shape=(32, 32, 3)), 1.0),
    "ResNet50": (dict(input_shape=(32, 32, 3)), 1.0),
    "ResNet50V2": (dict(input_shape=(32, 32, 3)), 1.0),
    "MobileNetV2": (dict(input_shape=(32, 32, 3), alpha=0.35), 1.0),
    "Xception": (dict(input_shape=(71, 71, 3)), 1.0),
    "EfficientNetB0": (dict(input_shape=(32, 32, 3)), 0.5),
}
_KERAS_LOGITS = {
    "EfficientNetB0": [
        [117.37337, 36.577652, -193.43443, 52.854458, 131.60616],
        [-2.942354, -1.0342686, 6.116385, 4.4365144, 0.32845372],
    ],
    "MobileNetV2": [
        [1.0038849, 1.2159756, -0.23687236, -0.26506266, -0.52081174],
        [-1.8157387, 1.8925356, -0.18690555, -1.089413, -0.31916854],
    ],
    "ResNet50": [
        [5886.0542, -15443.456, 8065.6162, 14443.85, -14850.605],
        [3699.2451, -8670.9619, 6087.3154, 9128.6074, -6163.7988],
    ],
    "ResNet50V2": [
        [-1424.3384, -6006.7021, -2795.4702, 4328.8872, -10952.031],
        [-401.93976, -2368.6562, -84.32008, 4599.1548, -5865.6475],
    ],
    "VGG16": [
        [-64.309639, -166.71928, 88.041672, 392.2428, 76.70031],
        [-21.908558, -100.17194, 34.159744, 217.72118, 31.64539],
    ],
    "Xception": [
        [-448338.03, 720005.38, -5765224, 20329536, -8880022],
        [-914109.5, 1678869.4, -3069983.8, 12701042, -6462158.5],
    ],
}


def _parity_array(
    layer_name: str, index: int, count: int, shape: tuple[int, ...], bn_variance: float = 1.0
) -> np.ndarray:
    """Weight `index` of `count` of a layer, in Keras's layout: kernels scaled by their
    fan-in, scales and variances (batch norm's 1st and 4th, Normalization's 2nd) near 1
    (batch-norm variances near `bn_variance`), biases, offsets and means near 0,
    Normalization's sample count 0."""
    import re
    import zlib

    base = re.sub(r"_\d+$", "", layer_name)
    rng = np.random.default_rng(zlib.crc32(f"{base}/{index}/{shape}".encode()))
    if len(shape) == 0:
        return np.zeros(shape, dtype="int64")
    if len(shape) == 1:
        noise = rng.uniform(-0.1, 0.1, size=shape)
        if count == 4 and index == 3:
            return (bn_variance * (1.0 + noise)).astype("float32")
        near_one = (count == 4 and index == 0) or (count == 3 and index == 1)
        return ((1.0 if near_one else 0.0) + noise).astype("float32")
    depthwise = len(shape) == 4 and shape[-1] == 1
    fan_in = int(np.prod(shape[:2] if depthwise else shape[:-1]))
    return (rng.normal(size=shape) * np.sqrt(2.0 / fan_in)).astype("float32")


def _parity_images(side: int) -> np.ndarray:
    """Two seeded noise images, the second darker and tinted (other global statistics)."""
    images = np.random.default_rng(7).uniform(0, 255, size=(2, side, side, 3)).astype("float32")
    images[1] *= np.array([0.2, 0.5, 0.9], dtype="float32")
    return images


@pytest.mark.parametrize("name", sorted(_PARITY_CASES))
def test_applications_logits_match_keras_on_shared_weights(name):
    from lamina.saving.keras_layout import get_keras_weights, set_keras_weights

    kwargs, bn_variance = _PARITY_CASES[name]
    model = getattr(applications, name)(classes=5, classifier_activation=None, **kwargs)
    for layer in model.layers:
        arrays = get_keras_weights(layer)
        if arrays:
            set_keras_weights(
                layer,
                [_parity_array(layer.name, i, len(arrays), a.shape, bn_variance) for i, a in enumerate(arrays)],
            )
    logits = model.predict(_parity_images(kwargs["input_shape"][0]), verbose=0)
    expected = np.array(_KERAS_LOGITS[name], dtype="float32")
    assert not np.allclose(expected[0], expected[1], rtol=0.1)  # the logits depend on the image
    for got, want in zip(logits, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def _record_keras_logits() -> None:  # pragma: no cover - needs Keras, run by hand
    import keras

    print("_KERAS_LOGITS = {")
    for name, (kwargs, bn_variance) in sorted(_PARITY_CASES.items()):
        model = getattr(keras.applications, name)(weights=None, classes=5, classifier_activation=None, **kwargs)
        for layer in model.layers:
            if layer.weights:
                layer.set_weights(
                    [
                        _parity_array(layer.name, i, len(layer.weights), tuple(w.shape), bn_variance)
                        for i, w in enumerate(layer.weights)
                    ]
                )
        logits = keras.ops.convert_to_numpy(model(_parity_images(kwargs["input_shape"][0]), training=False))
        print(f"    {name!r}: {np.asarray(logits, dtype='float64').tolist()!r},")
    print("}")


if __name__ == "__main__":  # pragma: no cover
    _record_keras_logits()
