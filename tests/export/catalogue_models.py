"""The export catalogue: one small model per layer family of `lamina.layers`,
multi-input / multi-output and nested models, `lamina.applications` and the
models of every script in `examples/`.

Each entry says how to build the model and what its inputs are (`In`); a
``None`` in an input shape is a free time axis, which the export keeps dynamic.
Weights are random; normalization statistics are set to non-trivial values so
that inference-mode arithmetic is really exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from catalogue_harness import Entry, In

import lamina
from lamina import applications, layers
from tests.test_examples import load_example as _example


def seq(input_shape: tuple, *stack: Any, dtype: str = "float32") -> Callable[[], Any]:
    """A builder of ``Sequential([Input(input_shape), *stack()])`` (layers made fresh each call)."""

    def build() -> Any:
        made = [f() for f in stack]
        return lamina.Sequential([lamina.Input(shape=input_shape, dtype=dtype), *made])

    return build


def with_statistics(build: Callable[[], Any]) -> Callable[[], Any]:
    """Builds the model and gives every BatchNormalization non-trivial moving statistics."""

    def wrapped() -> Any:
        model = build()
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, layers.BatchNormalization):
                    n = module.moving_mean.shape[0]
                    module.moving_mean.copy_(torch.randn(n, generator=gen) * 0.5)
                    module.moving_variance.copy_(torch.rand(n, generator=gen) + 0.5)
                    module.gamma.copy_(torch.rand(n, generator=gen) + 0.5)
                    module.beta.copy_(torch.randn(n, generator=gen) * 0.1)
        return model

    return wrapped


L = layers
F = In  # shorthand in the table below


def _multi_io() -> Any:
    a = lamina.Input(shape=(6,), name="a")
    b = lamina.Input(shape=(None, 4), name="b")
    x = L.Dense(8, activation="relu")(a)
    y = L.GlobalAveragePooling1D()(L.Conv1D(8, 3, padding="same")(b))
    merged = L.Concatenate()([x, y])
    return lamina.Model([a, b], [L.Dense(3, activation="softmax")(merged), L.Dense(1)(merged)])


def _nested() -> Any:
    inner = lamina.Sequential([lamina.Input(shape=(6,)), L.Dense(8, activation="relu"), L.Dense(5)], name="inner")
    inputs = lamina.Input(shape=(6,))
    x = inner(inputs)
    return lamina.Model(inputs, L.Add()([x, L.Dense(5)(inputs)]))


def _merges() -> Any:
    ins = [lamina.Input(shape=(5,)) for _ in range(3)]
    a, b, c = (L.Dense(5)(i) for i in ins)
    outputs = [
        L.Add()([a, b, c]), L.Subtract()([a, b]), L.Multiply()([a, c]), L.Average()([a, b, c]),
        L.Maximum()([b, c]), L.Minimum()([a, b]), L.Concatenate()([a, b]), L.Dot(axes=1, normalize=True)([a, c]),
    ]
    return lamina.Model(ins, outputs)


def _two_heads(shape: tuple, first: list[Any], second: list[Any], dtype: str = "float32") -> Callable[[], Any]:
    """A builder of a functional model: one input, two stacks of layers on it (given as
    layer factories, so each build is fresh), two outputs."""

    def build() -> Any:
        inputs = lamina.Input(shape=shape, dtype=dtype)
        outputs = []
        for stack in (first, second):
            x = inputs
            for make in stack:
                x = make()(x)
            outputs.append(x)
        return lamina.Model(inputs, outputs)

    return build


def _recurrent(kind: Any) -> Callable[[], Any]:
    """The last state and the whole sequence of a ``kind`` layer, as two outputs."""
    return _two_heads((None, 4), [lambda: kind(5)], [lambda: kind(5, return_sequences=True)])


def _attention(kind: str) -> Callable[[], Any]:
    def build() -> Any:
        q = lamina.Input(shape=(None, 8))
        v = lamina.Input(shape=(None, 8))
        if kind == "mha":
            out = L.MultiHeadAttention(num_heads=2, key_dim=4)(q, v)
        else:
            out = L.Attention(score_mode=kind, use_scale=True)([q, v])
        return lamina.Model([q, v], out)

    return build


def _masked_attention() -> Any:
    ids = lamina.Input(shape=(None,), dtype="int64")
    x = L.Embedding(30, 8, mask_zero=True)(ids)
    return lamina.Model(ids, L.GlobalAveragePooling1D()(L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)))


def _transformer_block() -> Any:
    # PositionalEmbedding caps the length at `sequence_length` (16): a fixed length here.
    ids = lamina.Input(shape=(12,), dtype="int64")
    x = L.PositionalEmbedding(16, 30, 8, mask_zero=True)(ids)
    x = L.TransformerEncoder(intermediate_dim=16, num_heads=2)(x)
    return lamina.Model(ids, x)


def _example_entries() -> list[Entry]:
    def ex(module: str, builder: str, *args: Any) -> Callable[[], Any]:
        def build() -> Any:
            made = getattr(_example(module), builder)(*args)
            return made[0] if isinstance(made, tuple) else made

        return build

    img = (In((8, 8, 1)),)
    return [
        Entry("examples/custom_loop", "examples", ex("custom_loop", "make_model"), (In((64,)),), pt2=True),
        Entry("examples/gan_digits:generator", "examples", ex("gan_digits", "make_generator"), (In((16,)),)),
        Entry("examples/gan_digits:discriminator", "examples", ex("gan_digits", "make_discriminator"), (In((64,)),)),
        Entry("examples/image_cnn:convnet", "examples", ex("image_cnn", "make_convnet"), img, pt2=True),
        Entry("examples/image_cnn:mlp", "examples", ex("image_cnn", "make_mlp"), img),
        Entry("examples/multi_input", "examples", ex("multi_input", "make_model"),
              (In((8, 8, 1), name="image"), In((10,), name="hint")), pt2=True),
        Entry("examples/sequence_gru:gru", "examples", ex("sequence_gru", "make_gru"), (In((8, 8)),), recurrent=True),
        Entry("examples/sequence_gru:lstm", "examples", ex("sequence_gru", "make_lstm"), (In((8, 8)),),
              recurrent=True),
        Entry("examples/sequence_gru:bidirectional", "examples", ex("sequence_gru", "make_bidirectional_gru"),
              (In((8, 8)),), recurrent=True),
        Entry("examples/text_classification:bag_of_words", "examples",
              ex("text_classification", "make_bag_of_words", 40), (In((40,)),)),
        Entry("examples/text_classification:lstm", "examples", ex("text_classification", "make_lstm", 50, 12),
              (In((12,), "tokens", 50),), recurrent=True, pt2=True),
        Entry("examples/text_classification:transformer", "examples",
              lambda: applications.transformer_text_classifier(50, 12, embed_dim=8, num_heads=2, ff_dim=16),
              (In((12,), "tokens", 50),)),
        Entry("examples/timeseries_forecast:gru", "examples", ex("timeseries_forecast", "make_gru"),
              (In((28, 3)),), recurrent=True),
        Entry("examples/timeseries_forecast:dense", "examples", ex("timeseries_forecast", "make_dense"),
              (In((28, 3)),)),
        Entry("examples/transfer_learning", "examples",
              ex("transfer_learning", "make_convnet"), img),
        Entry("examples/word_embeddings", "examples", ex("word_embeddings", "make_skipgram", 8),
              (In((1,), "ints", 20, name="target"), In((1,), "ints", 20, name="context"))),
    ]


def _application_entries() -> list[Entry]:
    small = {"weights": None, "classes": 4}
    return [
        Entry("applications/ResNetSmall", "applications",
              with_statistics(lambda: applications.ResNetSmall((16, 16, 3), 4, blocks=(1, 1), base_filters=4)),
              (In((16, 16, 3)),), pt2=True),
        Entry("applications/inception_module", "applications",
              lambda: _inception(), (In((8, 8, 4)),)),
        Entry("applications/MobileNetV2", "applications",
              with_statistics(lambda: applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, **small)),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/VGG16", "applications", lambda: applications.VGG16(input_shape=(32, 32, 3), **small),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/VGG19", "applications", lambda: applications.VGG19(input_shape=(32, 32, 3), **small),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/ResNet50", "applications",
              with_statistics(lambda: applications.ResNet50(input_shape=(32, 32, 3), **small)),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/ResNet50V2", "applications",
              with_statistics(lambda: applications.ResNet50V2(input_shape=(32, 32, 3), **small)),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/Xception", "applications",
              with_statistics(lambda: applications.Xception(input_shape=(71, 71, 3), **small)),
              (In((71, 71, 3), "image"),), pt2=True),
        Entry("applications/EfficientNetB0", "applications",
              with_statistics(lambda: applications.EfficientNetB0(input_shape=(32, 32, 3), **small)),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/EfficientNetLite0", "applications",
              with_statistics(lambda: applications.EfficientNetLite0(input_shape=(32, 32, 3), **small)),
              (In((32, 32, 3), "image"),), pt2=True),
        Entry("applications/transformer_text_classifier", "applications",
              lambda: applications.transformer_text_classifier(40, 10, embed_dim=8, num_heads=2, ff_dim=16),
              (In((10,), "tokens", 40),)),
    ]


def _inception() -> Any:
    inputs = lamina.Input(shape=(8, 8, 4))
    return lamina.Model(inputs, applications.inception_module(inputs, 4, 3, 4, 2, 4, 4))


def _layer_entries() -> list[Entry]:
    seq1 = (In((None, 4)),)
    img = (In((8, 8, 3)),)
    vol = (In((6, 6, 6, 2)),)
    vec = (In((6,)),)
    rec = {"recurrent": True}
    e = Entry
    return [
        # core
        e("Dense", "core", seq((6,), lambda: L.Dense(4, activation="relu"), lambda: L.Dense(3)), vec, pt2=True),
        e("Dense on sequences", "core", seq((None, 4), lambda: L.Dense(3)), seq1),
        e("Activation layers", "activations", seq((6,), lambda: L.ELU(), lambda: L.LeakyReLU(0.2), lambda: L.PReLU(),
                                                  lambda: L.ReLU(max_value=2.0), lambda: L.Softmax(),
                                                  lambda: L.Activation("gelu")), vec, pt2=True),
        e("Lambda", "core", seq((6,), lambda: L.Lambda(lambda t: torch.tanh(t) * 2.0)), vec),
        e("Embedding", "embedding", seq((None,), lambda: L.Embedding(30, 4), lambda: L.GlobalAveragePooling1D(),
                                        dtype="int64"), (In((None,), "ints", 30),)),
        e("Embedding mask_zero -> pooling", "embedding",
          seq((None,), lambda: L.Embedding(30, 4, mask_zero=True), lambda: L.GlobalAveragePooling1D(), dtype="int64"),
          (In((None,), "tokens", 30),), pt2=True),
        e("RandomFourierFeatures", "kernelized", seq((6,), lambda: L.RandomFourierFeatures(8)), vec),
        # convolutions
        e("Conv1D / SeparableConv1D / DepthwiseConv1D / Conv1DTranspose", "convolutional",
          seq((None, 4), lambda: L.Conv1D(5, 3, padding="same"), lambda: L.Conv1D(4, 2, padding="causal", dilation_rate=2),
              lambda: L.SeparableConv1D(5, 3, padding="same"),
              lambda: L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"), lambda: L.Conv1DTranspose(3, 3, strides=2)),
          seq1, pt2=True),
        e("Conv1D valid", "convolutional",  # a free axis of length >= 5 (the export records the range)
          seq((None, 4), lambda: L.Conv1D(5, 2), lambda: L.Conv1D(3, 2, dilation_rate=2)), (In((None, 4)),), pt2=True),
        e("Conv2D / SeparableConv2D / DepthwiseConv2D / Conv2DTranspose", "convolutional",
          seq((8, 8, 3), lambda: L.Conv2D(4, 3, strides=2, padding="same"), lambda: L.Conv2D(6, 2),
              lambda: L.SeparableConv2D(5, 3, padding="same"), lambda: L.DepthwiseConv2D(3, padding="same"),
              lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same")), img, pt2=True),
        e("Conv3D / Conv3DTranspose", "convolutional",
          seq((6, 6, 6, 2), lambda: L.Conv3D(3, 2, padding="same"), lambda: L.Conv3DTranspose(2, 2, strides=2)), vol, pt2=True),
        # pooling (PyTorch's pooling ops fix a dynamic length when traced: fixed time axis here)
        e("Pooling 1D", "pooling", seq((8, 4), lambda: L.MaxPooling1D(2), lambda: L.AveragePooling1D(2),
                                       lambda: L.GlobalMaxPooling1D()), (In((8, 4)),), pt2=True),
        e("GlobalAveragePooling1D", "pooling", seq((None, 4), lambda: L.GlobalAveragePooling1D()), seq1),
        e("Pooling 2D", "pooling", _two_heads((8, 8, 3), [lambda: L.MaxPooling2D(2), lambda: L.AveragePooling2D(2, padding="same"),
                                                          lambda: L.GlobalAveragePooling2D()], [lambda: L.GlobalMaxPooling2D()]), img, pt2=True),
        e("Pooling 3D", "pooling", _two_heads((6, 6, 6, 2), [lambda: L.MaxPooling3D(2), lambda: L.AveragePooling3D(1),
                                                             lambda: L.GlobalMaxPooling3D()], [lambda: L.GlobalAveragePooling3D()]), vol),
        # normalization
        e("BatchNormalization", "normalization",
          with_statistics(seq((8, 8, 3), lambda: L.BatchNormalization(), lambda: L.Flatten(),
                              lambda: L.Dense(4), lambda: L.BatchNormalization())), img, pt2=True),
        e("LayerNormalization / GroupNormalization / UnitNormalization", "normalization",
          seq((8, 8, 4), lambda: L.LayerNormalization(), lambda: L.GroupNormalization(groups=2),
              lambda: L.UnitNormalization()), (In((8, 8, 4)),), pt2=True),
        # regularization (identity at inference)
        e("Dropout family", "regularization",
          seq((8, 8, 3), lambda: L.Dropout(0.5), lambda: L.SpatialDropout2D(0.5), lambda: L.GaussianNoise(1.0),
              lambda: L.GaussianDropout(0.5), lambda: L.AlphaDropout(0.5), lambda: L.ActivityRegularization(0.1)),
          img, pt2=True),
        e("SpatialDropout1D", "regularization", seq((None, 4), lambda: L.SpatialDropout1D(0.5)), seq1),
        # recurrent: the last state and the sequence of the same layer type, as two outputs
        e("SimpleRNN", "recurrent", _recurrent(L.SimpleRNN), seq1, pt2=True, **rec),
        e("LSTM", "recurrent", _recurrent(L.LSTM), seq1, pt2=True, **rec),
        e("GRU", "recurrent", _recurrent(L.GRU), seq1, **rec, pt2=True),
        e("Bidirectional", "recurrent", _two_heads((None, 4), [lambda: L.Bidirectional(L.LSTM(5))],
                                                   [lambda: L.Bidirectional(L.GRU(5, return_sequences=True), merge_mode="sum")]),
          seq1, **rec, pt2=True),
        # masking with variable lengths
        e("Masking -> LSTM / GRU", "masking",
          _two_heads((None, 4), [lambda: L.Masking(), lambda: L.LSTM(5)], [lambda: L.Masking(), lambda: L.GRU(5, return_sequences=True)]),
          (In((None, 4), "padded"),), pt2=True, **rec),
        e("Embedding mask_zero -> SimpleRNN / Bidirectional LSTM", "masking",
          _two_heads((None,), [lambda: L.Embedding(30, 4, mask_zero=True), lambda: L.SimpleRNN(5)],
                     [lambda: L.Embedding(30, 4, mask_zero=True), lambda: L.Bidirectional(L.LSTM(5))], dtype="int64"),
          (In((None,), "tokens", 30),), **rec),
        e("Embedding mask_zero -> stacked GRU", "masking",
          seq((None,), lambda: L.Embedding(30, 4, mask_zero=True), lambda: L.GRU(5, return_sequences=True),
              lambda: L.GRU(3), dtype="int64"), (In((None,), "tokens", 30),), **rec),
        # wrappers
        e("TimeDistributed", "wrappers", seq((None, 4), lambda: L.TimeDistributed(L.Dense(3))), seq1, pt2=True),
        e("TimeDistributed Conv2D", "wrappers", seq((3, 6, 6, 2), lambda: L.TimeDistributed(L.Conv2D(3, 3))),
          (In((3, 6, 6, 2)),)),
        # attention and transformer
        e("Attention dot", "attention", _attention("dot"), (In((None, 8)), In((None, 8)))),
        e("Attention concat (additive)", "attention", _attention("concat"), (In((None, 8)), In((None, 8))), pt2=True),
        e("MultiHeadAttention", "attention", _attention("mha"), (In((None, 8)), In((None, 8))), pt2=True),
        e("MultiHeadAttention masked", "attention", _masked_attention, (In((None,), "tokens", 30),)),
        e("PositionalEmbedding + TransformerEncoder", "attention", _transformer_block, (In((12,), "tokens", 30),),
          pt2=True),
        # preprocessing (numeric)
        e("Normalization", "preprocessing",
          seq((3,), lambda: L.Normalization(mean=[1.0, -2.0, 0.5], variance=[4.0, 0.25, 1.0])), (In((3,)),), pt2=True),
        e("Rescaling", "preprocessing", seq((8, 8, 3), lambda: L.Rescaling(1 / 127.5, offset=-1.0)),
          (In((8, 8, 3), "image"),), pt2=True),
        e("Resizing", "preprocessing", seq((8, 8, 3), lambda: L.Resizing(5, 12)), (In((8, 8, 3)),),
          pt2=True),
        e("Resizing nearest crop", "preprocessing",
          seq((8, 10, 3), lambda: L.Resizing(6, 6, interpolation="nearest", crop_to_aspect_ratio=True)),
          (In((8, 10, 3), "image"),)),
        e("CenterCrop", "preprocessing", seq((8, 8, 3), lambda: L.CenterCrop(5, 6)), img, pt2=True),
        e("Discretization", "preprocessing", seq((3,), lambda: L.Discretization(bin_boundaries=[-1.0, 0.0, 1.0])),
          (In((3,)),), pt2=True),
        e("CategoryEncoding", "preprocessing", seq((3,), lambda: L.CategoryEncoding(6), dtype="int64"),
          (In((3,), "ints", 6),), pt2=True),
        e("IntegerLookup", "preprocessing", seq((3,), lambda: L.IntegerLookup(vocabulary=[2, 5, 7]), dtype="int64"),
          (In((3,), "ints", 9),), pt2=True),
        e("Hashing (integers)", "preprocessing", seq((3,), lambda: L.Hashing(7), dtype="int64"),
          (In((3,), "ints", 100),), pt2=True),
        # augmentation: identity at inference
        e("Augmentation layers", "augmentation",
          seq((8, 8, 3), lambda: L.RandomFlip(), lambda: L.RandomRotation(0.2), lambda: L.RandomTranslation(0.2, 0.2),
              lambda: L.RandomZoom(0.2), lambda: L.RandomContrast(0.3), lambda: L.RandomCrop(8, 8)), img, pt2=True),
        # merging: every merge layer on the same three inputs, one output each
        e("Merge layers", "merging", _merges, (In((5,)),) * 3, pt2=True),
        # reshaping
        e("Flatten / Reshape / Permute", "reshaping",
          seq((4, 6), lambda: L.Permute((2, 1)), lambda: L.Reshape((3, 8)), lambda: L.Flatten()), (In((4, 6)),), pt2=True),
        e("RepeatVector", "reshaping", seq((6,), lambda: L.RepeatVector(3)), vec, pt2=True),
        e("Cropping / ZeroPadding / UpSampling 1D", "reshaping",
          seq((None, 4), lambda: L.ZeroPadding1D(2), lambda: L.Cropping1D((1, 2)), lambda: L.UpSampling1D(2)), seq1),
        e("Cropping / ZeroPadding / UpSampling 2D", "reshaping",
          seq((8, 8, 3), lambda: L.ZeroPadding2D((1, 2)), lambda: L.Cropping2D(((1, 0), (2, 1))),
              lambda: L.UpSampling2D(2)), img, pt2=True),
        e("UpSampling2D bilinear", "reshaping", seq((8, 8, 3), lambda: L.UpSampling2D(2, interpolation="bilinear")),
          img),
        e("Cropping / ZeroPadding / UpSampling 3D", "reshaping",
          seq((6, 6, 6, 2), lambda: L.ZeroPadding3D(1), lambda: L.Cropping3D(1), lambda: L.UpSampling3D(2)), vol),
        # models
        e("Functional, two inputs and two outputs", "models", _multi_io, (In((6,)), In((None, 4))), pt2=True),
        e("Sequential nested in a functional model", "models", _nested, vec, pt2=True),
    ]


def catalogue() -> list[Entry]:
    return _layer_entries() + _application_entries() + _example_entries()
