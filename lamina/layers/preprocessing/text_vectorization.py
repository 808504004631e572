"""`TextVectorization`: raw strings to token ids or bag-of-words vectors, inside the model."""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing.base import PreprocessingLayer, json_value, string_array
from lamina.layers.preprocessing.index_lookup import StringLookup
from lamina.layers.preprocessing.text_cache import (
    IDF_FORMULAS,
    NORMS,
    DocumentCache,
    encode_rows,
    idf_weights,
)
from lamina.layers.symbolic import _TextPlaceholder
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


class _Rows:
    """Rows by string: the newly computed ones, then the kept ones (no merged copy)."""

    def __init__(self, known: dict[str, Any], fresh: dict[str, Any]) -> None:
        self.known, self.fresh = known, fresh

    def __getitem__(self, text: str) -> Any:
        fresh = self.fresh
        return fresh[text] if text in fresh else self.known[text]


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
    idf, by default Keras's `log(1 + num_docs / (1 + doc_freq))`, the OOV weight
    being the mean idf) give float32 `(batch, vocabulary_size())`, or
    `(batch, max_tokens)` with `pad_to_max_tokens=True`.

    scikit-learn's `TfidfVectorizer` weighting is available: `sublinear_tf=True`
    (`1 + log(count)`), `norm="l2"` (each row scaled to unit length; the OOV
    column counts like any token) and `idf_formula="smooth"` (its default
    `smooth_idf=True`: `log((1 + num_docs) / (1 + doc_freq)) + 1`) or
    `"unsmoothed"` (`smooth_idf=False`: `log(num_docs / doc_freq) + 1`).

    Speed: each distinct string is vectorised once per vocabulary and its row
    kept (up to `cache_size` strings, an attribute, not part of the config), so
    the epochs of `fit` after the first only assemble batches from kept rows.
    `adapt` and `set_vocabulary` empty the cache. Set `layer.cache_size = 0` to
    turn it off (needed only for a `standardize` / `split` callable whose result
    for a string can change).

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
        sublinear_tf: For `"count"` and `"tf_idf"`: use `1 + log(count)` instead of
            the count. Defaults to `False`.
        norm: For the non-int modes: `None`, `"l2"` or `"l1"`, the norm each output
            row is scaled to 1 in. Defaults to `None`.
        idf_formula: For `"tf_idf"`: how `adapt` computes idf weights, `"keras"`,
            `"smooth"` or `"unsmoothed"` (see above). Defaults to `"keras"`.
        sparse: For the non-int modes: return a `torch.sparse_coo_tensor` (coalesced)
            instead of a dense tensor. `Dense` multiplies it without densifying
            (`F.linear` on a sparse input), which is several times faster for wide
            vocabularies; other layers may need `.to_dense()`. Defaults to `False`.

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
        >>> tfidf = lamina.layers.TextVectorization(
        ...     output_mode="tf_idf", sublinear_tf=True, norm="l2", idf_formula="smooth")
        >>> tfidf.adapt(["the cat sat", "the dog"])
        >>> round(float(tfidf(["the cat"]).norm()), 4)
        1.0
    """

    #: The most distinct strings whose vectorised rows are kept (0: none).
    cache_size = 200_000

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
        sublinear_tf: bool = False,
        norm: str | None = None,
        idf_formula: str = "keras",
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = "TextVectorization"
        self.sublinear_tf = validation.boolean(owner, "sublinear_tf", sublinear_tf)
        self.norm = validation.one_of(owner, "norm", norm, (None, *NORMS))
        self.idf_formula = validation.one_of(owner, "idf_formula", idf_formula, IDF_FORMULAS)
        self.sparse = validation.boolean(owner, "sparse", sparse)
        for name, value, default, modes in (
            ("sublinear_tf", sublinear_tf, False, ("count", "tf_idf")),
            ("norm", norm, None, ("multi_hot", "count", "tf_idf")),
            ("idf_formula", idf_formula, "keras", ("tf_idf",)),
            ("sparse", sparse, False, ("multi_hot", "count", "tf_idf")),
        ):
            if value != default and output_mode not in modes:
                raise ValueError(
                    f"`{owner}` uses `{name}` only with output_mode in {modes}. Received: "
                    f"{name}={value!r}, output_mode={output_mode!r}. Drop `{name}` or change "
                    "`output_mode`."
                )
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
        validation.positive_int(
            owner, "output_sequence_length", output_sequence_length, allow_none=True
        )
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
        self._cache = DocumentCache(self.cache_size)
        self._adapt_tokens: dict[str, list[str]] = {}

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
        texts = self._texts(data, "TextVectorization.adapt")
        docs = [self._tokens(t) for t in texts]
        counts: Counter[str] = Counter()
        doc_freq: Counter[str] = Counter()
        for doc in docs:
            counts.update(doc)  # insertion order: first appearance in the corpus
            doc_freq.update(set(doc))
        lookup = self._lookup
        for special in (lookup.mask_token, lookup.oov_token):
            if special is not None:
                counts.pop(special, None)
        # Most frequent first; `sorted` is stable, so ties keep their first appearance.
        ranked = sorted(counts.items(), key=lambda item: -item[1])
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - lookup._token_start()]
        tokens = [t for t, _ in ranked]
        idf = None
        if self.output_mode == "tf_idf":
            df = np.array([doc_freq[t] for t in tokens], dtype=np.float64)
            idf = idf_weights(df, len(docs), self.idf_formula)
        self._cache.clear()
        lookup.set_vocabulary(tokens, idf)
        # The token lists do not depend on the vocabulary: the first call on these
        # strings (the first epoch of `fit`) takes them instead of tokenising again.
        self._adapt_tokens = dict(zip(texts, docs)) if len(texts) <= self.cache_size else {}

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary in index order (special tokens first unless asked not to)."""
        return self._lookup.get_vocabulary(include_special_tokens)

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (and for `"tf_idf"` the idf weights); see
        `StringLookup.set_vocabulary`."""
        self._cache.clear()
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
        texts = self._texts(inputs, "TextVectorization")
        rows = self._rows(texts)
        if self.output_mode == "int":
            return self._id_grid([rows[t] for t in texts])
        parts = [rows[t] for t in texts]
        cols = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        vals = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float32)
        row_ids = np.repeat(np.arange(len(texts)), [len(p[0]) for p in parts])
        shape = (len(texts), self._lookup._depth())
        if self.sparse:
            index = torch.from_numpy(np.stack([row_ids, cols]))
            out = torch.sparse_coo_tensor(
                index, torch.from_numpy(vals), shape, is_coalesced=True, check_invariants=False
            )
            return out.to(self._device)
        dense = np.zeros(shape, dtype=np.float32)
        dense[row_ids, cols] = vals
        return torch.from_numpy(dense).to(self._device)

    def _texts(self, inputs: Any, owner: str) -> np.ndarray:
        arr = string_array(inputs, owner)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"`{owner}` expects a batch of strings of shape (batch,) or (batch, 1). "
                f"Received: an array of shape {arr.shape}."
            )
        return arr

    def _rows(self, texts: np.ndarray) -> Any:
        """The vectorised row of each string of ``texts`` (from the cache, or computed
        and kept): token ids for `"int"`, `(columns, values)` for the other modes."""
        cache = self._cache
        cache.limit = self.cache_size
        if cache.limit <= 0 and cache.rows:  # turned off after rows were kept
            cache.clear()
        cache.valid_for((self._lookup._tokens, self._lookup._idf))
        known = cache.rows
        missing = cache.missing(texts)
        if not missing:
            return _Rows(known, {})
        fresh = dict(zip(missing, self._vectorize(missing)))
        if not isinstance(texts, _TextPlaceholder):  # a shape-inference run: nothing to keep
            cache.store(missing, list(fresh.values()))
        return _Rows(known, fresh)

    def _vectorize(self, texts: list[str]) -> list[Any]:
        pending = self._adapt_tokens
        docs = [pending.pop(t) if t in pending else self._tokens(t) for t in texts]
        flat, lengths = self._flatten(docs)
        ids = self._lookup.lookup_text(flat).cpu().numpy() if flat.size else np.zeros(0, np.int64)
        ends = np.cumsum(lengths).tolist()
        if self.output_mode == "int":
            return [ids[a:b] for a, b in zip([0, *ends[:-1]], ends)]
        idf = self._lookup._idf
        row, col, value = encode_rows(
            ids,
            lengths,
            self._lookup._depth(),
            self.output_mode,
            None if idf is None else idf.cpu().numpy(),
            self.sublinear_tf,
            self.norm,
        )
        cut = np.searchsorted(row, np.arange(len(texts) + 1)).tolist()
        return [(col[a:b], value[a:b]) for a, b in zip(cut[:-1], cut[1:])]

    def _id_grid(self, rows: list[np.ndarray]) -> torch.Tensor:
        """Ragged ids in a `(batch, width)` grid, padded with 0 (or truncated)."""
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        width = int(lengths.max()) if len(lengths) else 0
        if self.output_sequence_length is not None:
            width = self.output_sequence_length
        grid = np.zeros((len(rows), width), dtype=np.int64)
        flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        r = np.repeat(np.arange(len(rows)), lengths)
        c = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        keep = c < width
        grid[r[keep], c[keep]] = flat[keep]
        return torch.from_numpy(grid).to(self._device)

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
            sparse=self.sparse,
        )
        # Lamina's scikit-learn variants, written only when set, so that the config of a
        # layer without them stays the one Keras's `TextVectorization` reads.
        for key, default in (("sublinear_tf", False), ("norm", None), ("idf_formula", "keras")):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config
