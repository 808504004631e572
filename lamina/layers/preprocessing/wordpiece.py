"""`WordPieceTokenizer`: raw strings to BERT token ids and attention masks, inside the model."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing.base import PreprocessingLayer, string_array
from lamina.utils import validation

_PADDING = ("longest", "max_length")
OUTPUT_KEYS = ("token_ids", "attention_mask", "token_type_ids")


def _tokenizers_module(owner: str) -> Any:
    try:
        import tokenizers
    except ImportError as e:
        raise ImportError(
            f"`{owner}` tokenizes text with the `tokenizers` package, which is not installed. "
            'Install Lamina\'s pretrained extra: pip install "lamina[pretrained]".'
        ) from e
    return tokenizers


def _read_tokenizer_json(owner: str, value: Any) -> str:
    """The text of a `tokenizer.json`, given its text or the path of the file."""
    if isinstance(value, os.PathLike) or (
        isinstance(value, str) and not value.lstrip().startswith("{")
    ):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"`{owner}` expects `tokenizer_json` to be the text of a Hugging Face "
                f"`tokenizer.json` or the path of one. Received: tokenizer_json={path!r}, which "
                "is not a file."
            )
        with open(path, encoding="utf-8") as f:
            return f.read()
    if not isinstance(value, str):
        raise TypeError(
            f"`{owner}` expects `tokenizer_json` to be a str (the JSON text of a `tokenizer.json`) "
            f"or a path. Received: tokenizer_json of type {type(value).__name__}."
        )
    return value


class WordPieceTokenizer(PreprocessingLayer):
    """Turns raw strings into BERT inputs: token ids, attention mask, token type ids.

    A wrapper around a Hugging Face fast tokenizer (the `tokenizers` package) read
    from a `tokenizer.json`, such as the WordPiece tokenizer that ships with
    BERT-family checkpoints: lower-casing and accent handling, word-piece
    splitting, `[CLS] ... [SEP]` around each string. Each string is truncated to
    `max_length` tokens (special tokens included) and the batch is padded with
    the tokenizer's pad id (`[PAD]`, 0 for BERT) to its longest string
    (`padding="longest"`) or to `max_length` (`padding="max_length"`). The
    truncation and padding settings stored in the `tokenizer.json` itself are
    replaced by these.

    The whole `tokenizer.json` is part of `get_config()`, so a saved model
    tokenizes raw text the same way after `lamina.load_model`, with no other file.

    Args:
        tokenizer_json: The JSON text of a `tokenizer.json`, or the path of one.
        max_length: Longest token sequence, special tokens included; longer
            strings are truncated. Defaults to `128`.
        padding: `"longest"` (pad to the longest string in the batch) or
            `"max_length"` (always `max_length` columns). Defaults to `"longest"`.

    Input shape: strings, `(batch,)` or `(batch, 1)`: a list / tuple of `str` or a
    NumPy array of `str`. In a functional model use `Input(shape=(1,), dtype="string")`.

    Output: a dict of three int64 tensors of shape `(batch, length)`:
    `"token_ids"`, `"attention_mask"` (1 for real tokens, 0 for padding) and
    `"token_type_ids"` (all 0: one segment per string), the inputs of
    `lamina.applications.BertEncoder`.

    Raises:
        ImportError: when the `tokenizers` package is missing (install
            `lamina[pretrained]`).

    Example:
        >>> import lamina
        >>> from lamina.applications.minilm import minilm_tokenizer_path
        >>> tok = lamina.layers.WordPieceTokenizer(minilm_tokenizer_path(), max_length=8)
        >>> tok(["Hello world!"])["token_ids"].tolist()
        [[101, 7592, 2088, 999, 102]]
    """

    def __init__(
        self,
        tokenizer_json: Any,
        max_length: int = 128,
        padding: str = "longest",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "WordPieceTokenizer"
        self.max_length = validation.positive_int(owner, "max_length", max_length)
        self.padding = validation.one_of(owner, "padding", padding, _PADDING)
        text = _read_tokenizer_json(owner, tokenizer_json)
        tokenizers = _tokenizers_module(owner)
        try:
            tokenizer = tokenizers.Tokenizer.from_str(text)
        except Exception as e:  # the Rust parser's error type is not exported
            raise ValueError(
                f"`{owner}` could not read `tokenizer_json` as a Hugging Face tokenizer: {e}. "
                "Pass the content (or the path) of a `tokenizer.json` written by the "
                "`tokenizers` package."
            ) from e
        self.tokenizer_json = text
        padding_config = json.loads(text).get("padding") or {}
        pad_id = padding_config.get("pad_id")
        if pad_id is None:
            pad_id = tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad_id is None else int(pad_id)
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_length)
        self._tokenizer = tokenizer

    def vocabulary_size(self) -> int:
        """Number of token ids, special tokens included."""
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    def _convert_inputs(self, inputs: Any) -> Any:
        return string_array(inputs, "WordPieceTokenizer")

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        if len(input_shape) not in (1, 2) or (len(input_shape) == 2 and input_shape[1] != 1):
            raise ValueError(
                "`WordPieceTokenizer` expects a batch of strings of shape (batch,) or (batch, 1). "
                f"Received: an input of shape {tuple(input_shape)}. Use Input(shape=(1,), dtype='string')."
            )
        length = self.max_length if self.padding == "max_length" else None
        return {key: ((input_shape[0], length), torch.int64) for key in OUTPUT_KEYS}

    def call(self, inputs: np.ndarray, training: bool | None = None) -> dict[str, torch.Tensor]:
        if inputs.ndim == 2 and inputs.shape[1] == 1:
            inputs = inputs[:, 0]
        if inputs.ndim != 1:
            raise ValueError(
                "`WordPieceTokenizer` expects a batch of strings of shape (batch,) or (batch, 1). "
                f"Received: an array of shape {inputs.shape}."
            )
        encodings = self._tokenizer.encode_batch([str(s) for s in inputs], add_special_tokens=True)
        longest = max((len(e.ids) for e in encodings), default=0)
        width = self.max_length if self.padding == "max_length" else longest
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for i, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[i, :n] = enc.ids
            mask[i, :n] = 1
            types[i, :n] = enc.type_ids
        arrays = (ids, mask, types)
        return {key: torch.from_numpy(a).to(self._device) for key, a in zip(OUTPUT_KEYS, arrays)}

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            tokenizer_json=self.tokenizer_json,
            max_length=self.max_length,
            padding=self.padding,
        )
        return config
