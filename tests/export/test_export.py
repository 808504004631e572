"""Export to ONNX and torch.export, checked against the model (issue #12).

Every exported file is read back and run here (ONNX Runtime, `torch.export.load`)
and compared with `model.predict` on real or drawn inputs.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import layers
from lamina.saving.export import (
    ExportError,
    ExportParityError,
    UnsupportedLayerError,
    export_model,
    load_preprocessing,
)


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _metadata(path):
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


@pytest.fixture(scope="module")
def digits_model():
    lamina.set_seed(0)
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    model = lamina.Sequential(
        [lamina.Input((64,)), layers.Dense(32, activation="relu"), layers.Dropout(0.3),
         layers.Dense(10, activation="softmax", name="probabilities")]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:1000], y[:1000], epochs=2, batch_size=64, verbose=0)
    model.class_names = [str(d) for d in range(10)]
    return model, x[1000:]


def test_export_mlp_on_digits_matches_predict_at_dynamic_batch_sizes(digits_model, tmp_path):
    model, x = digits_model
    model.train()  # export switches to inference mode, and back
    result = export_model(model, tmp_path / "digits.onnx", verbose=False)
    assert model.training
    assert sorted(os.listdir(tmp_path)) == ["digits.onnx"]  # one self-contained file, no .onnx.data
    assert result.format == "onnx" and set(result.max_differences) == {"batch=1", "batch=2", "batch=7", "batch=64"}
    assert result.max_difference <= 1e-5 and result.atol == 1e-5
    session = _session(tmp_path / "digits.onnx")
    (name,) = [i.name for i in session.get_inputs()]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    assert session.get_inputs()[0].shape[1] == 64 and isinstance(session.get_inputs()[0].shape[0], str)
    for batch in (1, 2, 7, 64, 300):
        (got,) = session.run(None, {name: x[:batch]})
        np.testing.assert_allclose(got, model.predict(x[:batch], verbose=0), atol=1e-5, rtol=0)
    meta = _metadata(tmp_path / "digits.onnx")
    assert meta["lamina_version"] == lamina.__version__ and meta["torch_version"] == torch.__version__
    assert json.loads(meta["inputs"]) == [{"name": name, "shape": [None, 64], "dtype": "float32"}]
    assert json.loads(meta["outputs"]) == [{"name": "probabilities", "shape": [None, 10], "dtype": "float32"}]
    assert json.loads(meta["class_names"]) == [str(d) for d in range(10)]


def test_export_functional_model_with_two_inputs_and_two_outputs(tmp_path):
    lamina.set_seed(1)
    a = lamina.Input((4,), name="numbers")
    b = lamina.Input((3,), name="extras")
    h = layers.Concatenate()([layers.Dense(6, activation="tanh")(a), b])
    model = lamina.Model([a, b], [layers.Dense(1, name="price")(h), layers.Dense(3, activation="softmax", name="kind")(h)])
    result = export_model(model, tmp_path / "two.onnx", verbose=False)
    assert [i["name"] for i in result.inputs] == ["numbers", "extras"]
    assert [o["name"] for o in result.outputs] == ["price", "kind"]
    session = _session(tmp_path / "two.onnx")
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(9, 4)).astype(np.float32), rng.normal(size=(9, 3)).astype(np.float32)
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"numbers": xa, "extras": xb})))
    price, kind = model.predict([xa, xb], verbose=0)
    np.testing.assert_allclose(got["price"], price, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got["kind"], kind, atol=1e-5, rtol=0)


def test_export_lstm_keeps_batch_and_time_axes_dynamic(tmp_path):
    lamina.set_seed(2)
    model = lamina.Sequential([lamina.Input((None, 3)), layers.LSTM(6), layers.Dense(2, name="score")])
    result = export_model(model, tmp_path / "rnn.onnx", verbose=False)
    assert result.atol == 1e-4  # recurrent layers
    assert {"batch=64,length=3", "batch=1,length=11"} <= set(result.max_differences)
    assert result.inputs[0]["shape"] == [None, None, 3]
    session = _session(tmp_path / "rnn.onnx")
    rng = np.random.default_rng(1)
    for batch, steps in [(1, 3), (5, 11), (2, 30)]:
        x = rng.normal(size=(batch, steps, 3)).astype(np.float32)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-4, rtol=0)


def test_export_conv2d_model(tmp_path):
    lamina.set_seed(3)
    model = lamina.Sequential([
        lamina.Input((12, 12, 2)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(),
        layers.BatchNormalization(), layers.Flatten(), layers.Dense(3, name="logits"),
    ])
    export_model(model, tmp_path / "conv.onnx", verbose=False)
    x = np.random.default_rng(2).normal(size=(7, 12, 12, 2)).astype(np.float32)
    session = _session(tmp_path / "conv.onnx")
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=0)


def test_export_torch_program_round_trips_with_torch_export_load(digits_model, tmp_path, capsys):
    model, x = digits_model
    result = export_model(model, tmp_path / "digits.pt2")
    assert result.format == "torch" and "Exported to" in capsys.readouterr().out
    extra = {"lamina_metadata.json": ""}
    program = torch.export.load(str(tmp_path / "digits.pt2"), extra_files=extra)
    assert json.loads(extra["lamina_metadata.json"])["class_names"][3] == "3"
    export_model(model, tmp_path / "named.pt2", verbose=False, class_names=list("abcdefghij"))
    torch.export.load(str(tmp_path / "named.pt2"), extra_files=extra)
    assert json.loads(extra["lamina_metadata.json"])["class_names"][0] == "a"
    for batch in (1, 7, 64):
        with torch.inference_mode():
            got = program.module()(torch.from_numpy(x[:batch]))
        np.testing.assert_allclose(got[0].numpy(), model.predict(x[:batch], verbose=0), atol=1e-5, rtol=0)


@lamina.saving.register_keras_serializable(package="tests_export")
class Skewed(layers.Layer):
    """Computes differently when traced for export than when run: a deliberate divergence."""

    def call(self, inputs):
        return inputs + 0.5 if torch.compiler.is_exporting() else inputs


@lamina.saving.register_keras_serializable(package="tests_export")
class Branchy(layers.Layer):
    """Branches in Python on a tensor's value: torch.export cannot trace it."""

    def call(self, inputs):
        if inputs.sum() > 0:
            return inputs
        return -inputs


def _divergent_model():
    lamina.set_seed(4)
    return lamina.Sequential([
        lamina.Input((5,)), layers.Dense(4, name="first"), Skewed(name="skew"), layers.Dense(2, name="head"),
    ])


@pytest.mark.parametrize("suffix", [".onnx", ".pt2"])
def test_export_divergence_names_output_and_layer_and_writes_nothing(tmp_path, suffix):
    target = tmp_path / f"model{suffix}"
    target.write_bytes(b"previous export")
    with pytest.raises(ExportParityError, match=r"output 'head' differs by .* at batch size 1 .*layer 'skew' \(Skewed\)") as info:
        export_model(_divergent_model(), target, verbose=False)
    assert info.value.layer == "skew" and info.value.output == "head" and info.value.max_difference > 1e-3
    assert target.read_bytes() == b"previous export"  # the previous file is kept
    assert sorted(os.listdir(tmp_path)) == [target.name]  # no temporary file left
    with pytest.raises(ExportParityError):
        export_model(_divergent_model(), tmp_path / f"new{suffix}", verbose=False)
    assert not (tmp_path / f"new{suffix}").exists()


def test_export_layer_the_exporter_cannot_trace_is_named(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(3, name="dense"), Branchy(name="branchy")])
    with pytest.raises(UnsupportedLayerError, match=r"layer 'branchy' \(Branchy\).*no Python branches") as info:
        export_model(model, tmp_path / "m.onnx", verbose=False)
    assert info.value.layer_class == "Branchy"
    assert os.listdir(tmp_path) == []


def test_export_needs_an_input_spec_or_input_signature(tmp_path):
    """A subclassed model that was never called has no input spec."""
    class Scale(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2.0

    model = Scale()
    with pytest.raises(ExportError, match=r"does not know its input shape.*input_signature"):
        export_model(model, tmp_path / "s.onnx", verbose=False)
    model(torch.zeros(1, 3))
    result = export_model(model, tmp_path / "s.pt2", verbose=False, input_signature=(None, 3))
    assert result.inputs == [{"name": "input", "shape": [None, 3], "dtype": "float32"}]
    x = np.random.default_rng(3).normal(size=(4, 3)).astype(np.float32)
    with torch.inference_mode():
        got = torch.export.load(result.path).module()(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=0)


def test_export_format_and_suffix_must_agree(digits_model, tmp_path):
    model, _ = digits_model
    with pytest.raises(ExportError, match=r"asks for format='torch' but format='onnx'"):
        export_model(model, tmp_path / "m.pt2", format="onnx", verbose=False)
    with pytest.raises(ExportError, match=r"`format` must be 'onnx' or 'torch'. Received: format='tflite'"):
        export_model(model, tmp_path / "m.bin", format="tflite", verbose=False)
    with pytest.raises(ExportError, match=r"`atol` must be a number >= 0. Received: atol=-1"):
        export_model(model, tmp_path / "m.onnx", atol=-1, verbose=False)
    with pytest.raises(ExportError, match=r"`lengths` must be two positive integers.*Received: lengths=\(3,\)"):
        export_model(model, tmp_path / "m.onnx", lengths=(3,), verbose=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tolerance'"):
        export_model(model, tmp_path / "m.onnx", tolerance=1e-3)
    assert os.listdir(tmp_path) == []


def test_export_splits_off_text_preprocessing_as_json(tmp_path, capsys):
    lamina.set_seed(5)
    texts = np.array(["a great film", "an awful film", "great acting and a great plot", "boring", "awful awful plot"])
    vectorizer = layers.TextVectorization(output_sequence_length=6, name="tokens")
    vectorizer.adapt(texts)
    model = lamina.Sequential([
        lamina.Input((1,), dtype="string"), vectorizer,
        layers.Embedding(vectorizer.vocabulary_size(), 4, mask_zero=True), layers.GlobalAveragePooling1D(),
        layers.Dense(1, activation="sigmoid", name="positive"),
    ])
    result = export_model(model, tmp_path / "text.onnx")
    out = capsys.readouterr().out
    assert "String preprocessing (tokens)" in out and "text.preprocessing.json" in out
    assert sorted(os.listdir(tmp_path)) == ["text.onnx", "text.preprocessing.json"]
    assert result.preprocessing_path == str(tmp_path / "text.preprocessing.json")
    state = json.loads((tmp_path / "text.preprocessing.json").read_text())
    assert state["format"] == "lamina.preprocessing" and state["outputs"] == ["tokens"]
    assert state["steps"][0]["layers"][0]["class_name"] == "TextVectorization"
    assert json.loads(_metadata(tmp_path / "text.onnx")["preprocessing"]) == state

    preprocess = load_preprocessing(tmp_path / "text.preprocessing.json")
    raw = np.array([["great plot"], ["awful boring film"], ["unseen words here"]])
    feed = preprocess(raw)
    assert list(feed) == ["tokens"] and feed["tokens"].dtype == np.int64 and feed["tokens"].shape == (3, 6)
    (got,) = _session(tmp_path / "text.onnx").run(None, feed)
    np.testing.assert_allclose(got, model.predict(raw, verbose=0), atol=1e-5, rtol=0)
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ExportError, match="is not a Lamina preprocessing file"):
        load_preprocessing(tmp_path / "other.json")


def test_cli_export_writes_the_file_and_reports_errors_in_one_line(digits_model, tmp_path, capsys):
    from lamina.cli import main

    model, x = digits_model
    model.save(tmp_path / "digits.lamina")
    assert main(["export", str(tmp_path / "digits.lamina"), str(tmp_path / "digits.pt2")]) == 0
    assert "Exported to" in capsys.readouterr().out
    with torch.inference_mode():
        got = torch.export.load(str(tmp_path / "digits.pt2")).module()(torch.from_numpy(x[:5]))[0].numpy()
    np.testing.assert_allclose(got, model.predict(x[:5], verbose=0), atol=1e-5, rtol=0)

    assert main(["export", str(tmp_path / "missing.lamina"), str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lamina export: cannot load") and "Traceback" not in err and err.count("\n") == 1
    code = main(["export", str(tmp_path / "digits.lamina"), str(tmp_path / "m.pt2"), "--format", "onnx"])
    assert code == 1
    assert "asks for format='torch'" in capsys.readouterr().err


def test_export_splits_string_lookup_off_a_functional_model_with_dict_inputs(tmp_path):
    lamina.set_seed(6)
    lookup = layers.StringLookup(name="city_ids")
    lookup.adapt(np.array(["paris", "rome", "oslo"]))
    city = lamina.Input((1,), dtype="string", name="city")
    amount = lamina.Input((2,), name="amount")
    embedded = layers.Flatten()(layers.Embedding(lookup.vocabulary_size(), 3)(lookup(city)))
    model = lamina.Model({"city": city, "amount": amount}, layers.Dense(1, name="y")(layers.Concatenate()([embedded, amount])))
    result = export_model(model, tmp_path / "f.pt2", verbose=False)
    assert [i["name"] for i in result.inputs] == ["city_ids", "amount"]
    raw = {"city": np.array([["paris"], ["berlin"], ["oslo"]]), "amount": np.array([[1, 2], [3, 4], [0, 1]], dtype=np.float32)}
    feed = load_preprocessing(tmp_path / "f.pt2")(raw)  # the exported file's name finds its JSON
    assert list(feed) == ["city_ids", "amount"] and feed["city_ids"][:, 0].tolist() == [1, 0, 3]
    with torch.inference_mode():
        (got,) = torch.export.load(result.path).module()(*[torch.from_numpy(v) for v in feed.values()])
    np.testing.assert_allclose(got.numpy(), model.predict(raw, verbose=0), atol=1e-5, rtol=0)


def test_export_draws_inputs_from_the_first_normalization_statistics():
    from lamina.saving.export.signature import resolve

    data = np.random.default_rng(7).normal([100.0, -5.0], [20.0, 0.5], size=(400, 2)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    drawn = resolve(lamina.Sequential([lamina.Input((2,)), norm, layers.Dense(1)])).sample(
        4000, None, torch.Generator().manual_seed(0))[0].numpy()
    np.testing.assert_allclose(drawn.mean(0), data.mean(0), atol=1.5)
    np.testing.assert_allclose(drawn.std(0), data.std(0), rtol=0.1)
    ids = resolve(lamina.Sequential([lamina.Input((5,), dtype="int64"), layers.Embedding(7, 2)])).sample(
        500, None, torch.Generator().manual_seed(0))[0]
    assert ids.dtype == torch.int64 and int(ids.min()) == 0 and int(ids.max()) == 6  # valid ids only


@lamina.saving.register_keras_serializable(package="tests_export")
class Spectrum(layers.Layer):
    """Eigenvalues of a small symmetric matrix: torch.export captures it, ONNX has no such operator."""

    def call(self, inputs):
        outer = inputs[:, :3, None] * inputs[:, None, :3]
        return torch.linalg.eigvalsh(outer + torch.eye(3))


def test_export_onnx_translation_failure_names_the_layer_and_the_torch_format_works(tmp_path):
    lamina.set_seed(8)
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(4, name="dense"), Spectrum(name="spectrum")])
    with pytest.raises(UnsupportedLayerError, match=r"ONNX exporter cannot handle layer 'spectrum' \(Spectrum\): "
                       r"DispatchError: No ONNX function found for .*linalg_eigh.*format='torch'"):
        export_model(model, tmp_path / "m.onnx", verbose=False)
    assert os.listdir(tmp_path) == []
    result = export_model(model, tmp_path / "m.pt2", verbose=False)
    assert result.max_difference <= 1e-5


def test_export_model_docstring_example_runs():
    import doctest

    from lamina.saving.export import api

    result = doctest.testmod(api, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0


def test_export_onnx_output_named_like_an_inner_value_gives_a_valid_file(tmp_path):
    """The exporter names inner values after the FX nodes (``conv1d_1``); a Sequential's
    output takes its last layer's name (also ``conv1d_1``). The file must still
    define each name once."""
    lamina.clear_session()
    lamina.set_seed(5)
    model = lamina.Sequential([lamina.Input((8, 4)), layers.Conv1D(5, 3), layers.Conv1D(3, 2, dilation_rate=2)])
    export_model(model, tmp_path / "c.onnx", verbose=False)
    proto = onnx.load(str(tmp_path / "c.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert [o.name for o in proto.graph.output] == [model.layers[-1].name]
    defined = [n for node in proto.graph.node for n in node.output] + [i.name for i in proto.graph.initializer]
    assert len(defined) == len(set(defined))
    x = np.random.default_rng(3).normal(size=(5, 8, 4)).astype(np.float32)
    session = _session(tmp_path / "c.onnx")
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=0)


def test_export_accepts_the_length_range_a_valid_convolution_needs(tmp_path):
    """Two `valid` convolutions need a free length >= 6 (an output of length 1 is a
    special size for torch.export, so length 5 is excluded too): the range is
    accepted, recorded, and the gate checks lengths inside it."""
    lamina.set_seed(6)
    model = lamina.Sequential([lamina.Input((None, 4)), layers.Conv1D(5, 3), layers.Conv1D(3, 2, dilation_rate=2)])
    result = export_model(model, tmp_path / "v.onnx", verbose=False)
    assert result.axis_ranges == {"axis1": {"min": 6, "max": None}}
    assert set(result.max_differences) >= {"batch=7,length=6", "batch=7,length=11"}
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "v.onnx")).metadata_props}
    assert json.loads(meta["axis_ranges"]) == {"axis1": {"min": 6, "max": None}}
    session = _session(tmp_path / "v.onnx")
    for steps in (6, 9, 40):
        x = np.random.default_rng(steps).normal(size=(3, steps, 4)).astype(np.float32)
        (got,) = session.run(None, {session.get_inputs()[0].name: x})
        np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=0)
    with pytest.raises(ExportError, match=r"lengths from 6 to any length.*lengths=\(5, 11\).*inside that range"):
        export_model(model, tmp_path / "w.onnx", verbose=False, lengths=(5, 11))
    assert not (tmp_path / "w.onnx").exists()


def test_export_lstm_time_axis_stays_free_after_a_fixed_length_lstm_export(tmp_path):
    """An LSTM exported at a fixed length 8 used to leave Dynamo's compiled loop
    body behind, and a later free-axis capture traced at length 8 reused it with
    the length fixed."""
    lamina.set_seed(7)
    fixed = lamina.Sequential([lamina.Input((8, 3)), layers.LSTM(4)])
    export_model(fixed, tmp_path / "fixed.onnx", verbose=False)
    free = lamina.Sequential([lamina.Input((None, 3)), layers.LSTM(4)])
    result = export_model(free, tmp_path / "free.pt2", verbose=False, lengths=(5, 11))  # traced at length 8
    assert result.axis_ranges == {} and result.inputs[0]["shape"] == [None, None, 3]
    program = torch.export.load(str(tmp_path / "free.pt2")).module()
    x = np.random.default_rng(4).normal(size=(2, 30, 3)).astype(np.float32)
    with torch.inference_mode():
        got = program(torch.from_numpy(x))
    np.testing.assert_allclose(got[0].numpy(), free.predict(x, verbose=0), atol=1e-4, rtol=0)
