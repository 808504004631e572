"""`TextVectorization`: raw strings to token ids or bag-of-words vectors, inside the model."""

from __future__ import annotations

import re
import string
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing.base import PreprocessingLayer, json_value, string_array
from lamina.layers.preprocessing.category_encoding import encode_categorical
from lamina.layers.preprocessing.index_lookup import StringLookup
from lamina.utils import validation

_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "multi_hot", "count", "tf_idf")


def _standardize(name: str | None, text: str) -> str:
    if name in ("lower", "lower_and_strip_punctuation"):
        text = text.lower()
    if name in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = _PUNCTUATION.sub("", text)
    return text


def _resolve_callable(owner: str, name: str, value: Any, builtin: tuple[str, ...]) -> Any:
    """A built-in option name, None, a callable, or the name of a registered function."""
    if value is None or callable(value) or value in builtin:
        return value
    if isinstance(value, str):
        from lamina.saving.registry import registered_objects

        fn = registered_objects().get(value)
        if fn is not None and callable(fn):
            return fn
    listed = ", ".join(repr(b) for b in builtin)
    raise ValueError(
        f"`{owner}` expects `{name}` to be one of {listed}, None, a callable, or the name of a "
        f"function registered with @lamina.register. Received: {name}={value!r}."
    )


def _serialize_callable(name: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    from lamina.saving.registry import get_registered_name

    registered = get_registered_name(value)
    if registered is None:
        raise ValueError(
            f"`TextVectorization` cannot put the custom `{name}` function {value!r} in its config: "
            "it is not registered. Decorate it with @lamina.register so a saved model can find "
            "it by name."
        )
    return registered


class _TextLookup(StringLookup):
    """The vocabulary of a `TextVectorization` (its errors name `TextVectorization`)."""

    _owner_name = "TextVectorization"


class TextVectorization(PreprocessingLayer):
    """Turns raw strings into token ids (`"int"`) or vectors over a vocabulary.

    Each string is standardised, split into tokens, optionally extended with
    n-grams (joined by a space, all n-grams of the first width, then of the next),
    and looked up in the vocabulary. `adapt(corpus)` learns the vocabulary: most
    frequent tokens first, ties broken by first appearance in the corpus. Layout
    (as Keras): in `"int"` mode index 0 is padding `""` and 1 is the OOV token
    `"[UNK]"`; in the other modes index 0 is `"[UNK]"`. `max_tokens` counts
    these special indices.

    Outputs: `"int"` gives int64 ids `(batch, length)`, padded with 0 to the
    longest sequence in the batch or padded/truncated to `output_sequence_length`;
    `"multi_hot"` (1 if the token occurs), `"count"` and `"tf_idf"` (count times
    `log(1 + num_docs / (1 + doc_freq))`, the OOV weight being the mean idf) give
    float32 `(batch, vocabulary_size())`, or `(batch, max_tokens)` with
    `pad_to_max_tokens=True`.

    Args:
        max_tokens: Maximum vocabulary size, special indices included. Defaults to
            `None` (no limit).
        standardize: `"lower_and_strip_punctuation"`, `"lower"`,
            `"strip_punctuation"`, `None`, or a callable `str -> str` (register it
            with `@lamina.register` to save the layer). Defaults to
            `"lower_and_strip_punctuation"` (Python's `str.lower` and
            `string.punctuation`).
        split: `"whitespace"` (`str.split()`), `"character"`, `None` (the whole
            string is one token), or a callable `str -> list[str]`. Defaults to
            `"whitespace"`.
        ngrams: `None`, an integer `n` (n-grams of widths 1..n) or a tuple of widths.
            Defaults to `None`.
        output_mode: `"int"`, `"multi_hot"`, `"count"` or `"tf_idf"`. Defaults to `"int"`.
        output_sequence_length: For `"int"` only: pad or truncate to this length.
            Defaults to `None`.
        pad_to_max_tokens: For the non-int modes: output `max_tokens` columns.
            Defaults to `False`.
        vocabulary: Optional list of tokens (or a file path, one token per line).
        idf_weights: Optional idf weights for `"tf_idf"` with a given vocabulary.

    Input shape: strings, `(batch,)` or `(batch, 1)`: a list / tuple of `str` or a
    NumPy array of `str`. In a functional model use `Input(shape=(1,), dtype="string")`.

    The learned vocabulary (and idf weights) is part of `get_config()`, so a saved
    model vectorizes raw text the same way after loading.

    Example:
        >>> import lamina
        >>> layer = lamina.layers.TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["the cat sat", "the dog"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'cat', 'sat', 'dog']
        >>> layer(["The cat ran!"]).tolist()
        [[2, 3, 1, 0]]
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: Any = "lower_and_strip_punctuation",
        split: Any = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "TextVectorization"
        self._standardize_fn = _resolve_callable(owner, "standardize", standardize, _STANDARDIZE)
        self._split_fn = _resolve_callable(owner, "split", split, _SPLIT)
        self.standardize = standardize
        self.split = split
        if ngrams is None:
            self._widths: tuple[int, ...] = (1,)
        elif isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams > 0:
            self._widths = tuple(range(1, ngrams + 1))
        elif (
            isinstance(ngrams, (tuple, list))
            and ngrams
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in ngrams)
        ):
            self._widths = tuple(ngrams)
        else:
            raise ValueError(
                f"`{owner}` expects `ngrams` to be None, a positive integer, or a tuple of positive "
                f"integers. Received: ngrams={ngrams!r}."
            )
        self.ngrams = ngrams
        self.output_mode = validation.one_of(owner, "output_mode", output_mode, _MODES)
        validation.positive_int(owner, "output_sequence_length", output_sequence_length, allow_none=True)
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(
                f"`{owner}` uses `output_sequence_length` only with output_mode='int'. Received: "
                f"output_sequence_length={output_sequence_length}, output_mode={output_mode!r}. "
                "Drop `output_sequence_length` (the other modes give one vector per string)."
            )
        self.output_sequence_length = output_sequence_length
        self.max_tokens = max_tokens
        self.pad_to_max_tokens = pad_to_max_tokens
        # Validates max_tokens, pad_to_max_tokens, vocabulary and idf_weights (errors name
        # TextVectorization).
        self._lookup = _TextLookup(
            max_tokens=max_tokens,
            mask_token="" if output_mode == "int" else None,
            vocabulary=vocabulary,
            idf_weights=idf_weights,
            output_mode=output_mode,
            pad_to_max_tokens=pad_to_max_tokens,
            name=self.name,
        )

    # ------------------------------------------------------------------ tokens
    def _tokens(self, text: str) -> list[str]:
        fn = self._standardize_fn
        text = fn(text) if callable(fn) else _standardize(fn, text)
        split = self._split_fn
        if split is None:
            tokens = [text]
        elif split == "whitespace":
            tokens = text.split()
        elif split == "character":
            tokens = list(text)
        else:
            tokens = [str(t) for t in split(text)]
        if self._widths == (1,):
            return tokens
        out: list[str] = []
        for n in self._widths:
            out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return out

    def _documents(self, inputs: Any, owner: str) -> list[list[str]]:
        arr = string_array(inputs, owner)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"`{owner}` expects a batch of strings of shape (batch,) or (batch, 1). "
                f"Received: an array of shape {arr.shape}."
            )
        return [self._tokens(t) for t in arr]

    @staticmethod
    def _flatten(docs: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.array([len(d) for d in docs], dtype=np.int64)
        flat = np.array([t for d in docs for t in d], dtype=object)
        return flat, lengths

    # ------------------------------------------------------------------ vocabulary
    def adapt(self, data: Any) -> None:
        """Learns the vocabulary (and idf weights for `"tf_idf"`) from ``data``.

        Args:
            data: Strings, `(samples,)` or `(samples, 1)`: a list, tuple or NumPy array.
                Each string is one document.
        """
        docs = self._documents(data, "TextVectorization.adapt")
        flat, lengths = self._flatten(docs)
        doc_ids = np.repeat(np.arange(len(docs)), lengths)
        self._lookup.adapt_tokens(flat.astype(str) if flat.size else flat, doc_ids, len(docs))

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary in index order (special tokens first unless asked not to)."""
        return self._lookup.get_vocabulary(include_special_tokens)

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (and for `"tf_idf"` the idf weights); see
        `StringLookup.set_vocabulary`."""
        self._lookup.set_vocabulary(vocabulary, idf_weights)

    def vocabulary_size(self) -> int:
        """Size of the vocabulary, special indices included."""
        return self._lookup.vocabulary_size()

    # ------------------------------------------------------------------ call
    def _convert_inputs(self, inputs: Any) -> Any:
        return string_array(inputs, "TextVectorization")

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        if len(input_shape) not in (1, 2) or (len(input_shape) == 2 and input_shape[1] != 1):
            raise ValueError(
                "`TextVectorization` expects a batch of strings of shape (batch,) or (batch, 1). "
                f"Received: an input of shape {tuple(input_shape)}. Use Input(shape=(1,), dtype='string')."
            )
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length), torch.int64
        return (input_shape[0], self._lookup._depth()), torch.float32

    def call(self, inputs: np.ndarray, training: bool | None = None) -> torch.Tensor:
        if self.output_mode != "int":
            self._lookup._depth()  # raises a clear error before adapt
        docs = self._documents(inputs, "TextVectorization")
        flat, lengths = self._flatten(docs)
        ids = self._lookup.lookup_text(flat).cpu().numpy() if flat.size else np.zeros(0, np.int64)
        width = int(lengths.max()) if len(lengths) else 0
        if self.output_mode == "int" and self.output_sequence_length is not None:
            width = self.output_sequence_length
        # Place the ragged ids in a (batch, width) grid: 0 pads int mode, -1 (dropped) the others.
        grid = np.full((len(docs), width), 0 if self.output_mode == "int" else -1, dtype=np.int64)
        rows = np.repeat(np.arange(len(docs)), lengths)
        cols = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        keep = cols < grid.shape[1]
        grid[rows[keep], cols[keep]] = ids[keep]
        out = torch.from_numpy(grid).to(self._device)
        if self.output_mode == "int":
            return out
        return encode_categorical(out, self.output_mode, self._lookup._depth(), idf_weights=self._lookup._idf)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        lookup = self._lookup.get_config()
        config.update(
            max_tokens=self.max_tokens,
            standardize=_serialize_callable("standardize", self.standardize),
            split=_serialize_callable("split", self.split),
            ngrams=json_value(self.ngrams),
            output_mode=self.output_mode,
            output_sequence_length=self.output_sequence_length,
            pad_to_max_tokens=self.pad_to_max_tokens,
            vocabulary=lookup["vocabulary"],
            idf_weights=lookup["idf_weights"],
        )
        return config

