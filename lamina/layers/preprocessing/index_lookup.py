"""`StringLookup` and `IntegerLookup`: map tokens to vocabulary indices (and back).

Both share `IndexLookup`. The vocabulary layout follows Keras: in `"int"` mode
the mask token (when set) is index 0, then `num_oov_indices` out-of-vocabulary
(OOV) indices, then the vocabulary; in the other modes the mask token is left
out of the layout and masked inputs are dropped.

`adapt` orders the vocabulary by frequency (most frequent first); ties are
broken by first appearance in the data. With `num_oov_indices > 1`, an unknown
token goes to OOV index `stable_hash(token) % num_oov_indices` (see
`lamina.layers.preprocessing.stable_hash`). The current vocabulary (given or
learned) and idf weights are part of `get_config()`, so a saved model maps raw
tokens the same way after loading.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from lamina.layers.preprocessing import stable_hash
from lamina.layers.preprocessing.base import (
    PreprocessingLayer,
    hash_int_tensor,
    int_tensor,
    json_value,
    string_array,
)
from lamina.layers.preprocessing.category_encoding import encode_categorical, encoded_shape
from lamina.layers.symbolic import STRING
from lamina.utils import validation

LOOKUP_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_UNKNOWN = -2  # id of a token not in the vocabulary, before OOV assignment


def rank_tokens(
    flat: np.ndarray, doc_ids: np.ndarray, num_docs: int, limit: int | None
) -> tuple[list[Any], np.ndarray]:
    """The ``limit`` most frequent values of ``flat`` (ties: first appearance) and
    their idf, `log(1 + num_docs / (1 + document_frequency))`."""
    if flat.size == 0:
        return [], np.zeros(0)
    values, first, inverse, counts = np.unique(
        flat, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.reshape(-1)
    order = np.lexsort((first, -counts))[:limit]
    pairs = np.unique(doc_ids.astype(np.int64) * len(values) + inverse)
    doc_freq = np.bincount(pairs % len(values), minlength=len(values))
    idf = np.log(1.0 + num_docs / (1.0 + doc_freq[order]))
    return values[order].tolist(), idf


class IndexLookup(PreprocessingLayer):
    """Shared implementation of `StringLookup` and `IntegerLookup`."""

    _text = True
    _owner_name: str | None = None

    def _owner(self) -> str:
        return self._owner_name or type(self).__name__

    def __init__(
        self,
        max_tokens: int | None,
        num_oov_indices: int,
        mask_token: Any,
        oov_token: Any,
        vocabulary: Any,
        idf_weights: Any,
        invert: bool,
        output_mode: str,
        pad_to_max_tokens: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        owner = self._owner()
        self.max_tokens = validation.positive_int(owner, "max_tokens", max_tokens, allow_none=True)
        self.num_oov_indices = validation.non_negative_int(owner, "num_oov_indices", num_oov_indices)
        token_type, type_name = (str, "a string") if self._text else (numbers.Integral, "an integer")
        for name, value in (("mask_token", mask_token), ("oov_token", oov_token)):
            if (value is not None or name == "oov_token") and (
                not isinstance(value, token_type) or isinstance(value, bool)
            ):
                raise ValueError(f"`{owner}` expects `{name}` to be {type_name}. Received: {name}={value!r}.")
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = validation.one_of(owner, "output_mode", output_mode, LOOKUP_MODES)
        self.invert = validation.boolean(owner, "invert", invert)
        self.pad_to_max_tokens = validation.boolean(owner, "pad_to_max_tokens", pad_to_max_tokens)
        if invert and output_mode != "int":
            raise ValueError(
                f"`{owner}` supports `invert=True` only with output_mode='int'. "
                f"Received: output_mode={output_mode!r}."
            )
        if pad_to_max_tokens and (max_tokens is None or output_mode == "int"):
            raise ValueError(
                f"`{owner}` uses `pad_to_max_tokens=True` only with `max_tokens` set and an output_mode "
                f"other than 'int'. Received: max_tokens={max_tokens!r}, output_mode={output_mode!r}."
            )
        if max_tokens is not None and max_tokens <= self._token_start():
            raise ValueError(
                f"`{owner}` expects `max_tokens` to leave room for the mask and OOV indices "
                f"({self._token_start()}) plus at least one token. Received: max_tokens={max_tokens}."
            )
        self._tokens: list[Any] | None = None
        # Before a vocabulary is set, the mask still maps to index 0 (dropped outside "int").
        self._index: dict[Any, int] = {} if mask_token is None else {mask_token: 0 if self._mask_in_layout() else -1}
        self._idf: torch.Tensor | None = None
        self._tables: dict[Any, Any] = {}
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ValueError(
                f"`{owner}` takes `idf_weights` only together with `vocabulary`. "
                f"Received: idf_weights={idf_weights!r} and vocabulary=None."
            )

    # ------------------------------------------------------------------ vocabulary
    def _mask_in_layout(self) -> bool:
        return self.mask_token is not None and self.output_mode == "int"

    def _special_tokens(self) -> list[Any]:
        return ([self.mask_token] if self._mask_in_layout() else []) + [self.oov_token] * self.num_oov_indices

    def _token_start(self) -> int:
        return (1 if self.mask_token is not None and self.output_mode == "int" else 0) + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """Size of the vocabulary, the mask and OOV indices included."""
        return self._token_start() + len(self._tokens or [])

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[Any]:
        """The vocabulary in index order (mask and OOV tokens first unless
        ``include_special_tokens=False``)."""
        tokens = list(self._tokens or [])
        return self._special_tokens() + tokens if include_special_tokens else tokens

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return int(self.max_tokens)
        if self._tokens is None:
            raise RuntimeError(
                f"Layer '{self.name}' ({self._owner()}) with output_mode={self.output_mode!r} "
                "needs its vocabulary to know its output width: pass `vocabulary=` to the layer, "
                "call `adapt(data)` first, or set `max_tokens` and `pad_to_max_tokens=True`."
            )
        return self.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (and, for `"tf_idf"`, the idf weights).

        Args:
            vocabulary: A list or array of tokens, or (for `StringLookup`) the path of
                a text file with one token per line. It may start with the special
                tokens of the layout (as `get_vocabulary()` returns it).
            idf_weights: For `output_mode="tf_idf"` only: one weight per entry of
                `vocabulary`. When the special tokens are not given, the OOV weight
                is the mean of the others (as Keras does). Defaults to `None`.
        """
        owner = self._owner()
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = [line.rstrip("\n") for line in f]
        tokens = list(json_value(vocabulary))
        if self._text:
            bad = [t for t in tokens if not isinstance(t, str)]
        else:
            bad = [t for t in tokens if not isinstance(t, numbers.Integral) or isinstance(t, bool)]
        if bad:
            kind = "strings" if self._text else "integers"
            raise ValueError(f"`{owner}` expects a vocabulary of {kind}. Received: {bad[0]!r} in vocabulary.")
        specials = self._special_tokens()
        given_specials = bool(specials) and tokens[: len(specials)] == specials
        if given_specials:
            tokens = tokens[len(specials) :]
        reserved = [t for t in tokens if t in (self.mask_token, self.oov_token)]
        if reserved:
            raise ValueError(
                f"`{owner}` found the reserved token {reserved[0]!r} (mask or OOV token) inside "
                f"`vocabulary`. Received: vocabulary starting with {tokens[:5]!r}. Leave the special "
                "tokens out, or put them first exactly as `get_vocabulary()` lists them."
            )
        if len(set(tokens)) != len(tokens):
            values, counts = np.unique(np.asarray(tokens), return_counts=True)
            dup = values[counts > 1][0].item()
            raise ValueError(f"`{owner}` expects unique vocabulary entries. Received: {dup!r} more than once.")
        if self.max_tokens is not None and self._token_start() + len(tokens) > self.max_tokens:
            raise ValueError(
                f"`{owner}` has max_tokens={self.max_tokens}, but the vocabulary needs "
                f"{self._token_start() + len(tokens)} indices (special tokens included). Pass a "
                "shorter vocabulary or raise `max_tokens`."
            )
        idf = self._idf_layout(idf_weights, len(tokens), given_specials)
        self._tokens = tokens
        self._index = {t: i + self._token_start() for i, t in enumerate(tokens)}
        if self.mask_token is not None:
            self._index[self.mask_token] = 0 if self._mask_in_layout() else -1
        self._idf = idf
        self._tables = {}

    def _idf_layout(self, idf_weights: Any, n_tokens: int, given_specials: bool) -> torch.Tensor | None:
        owner = self._owner()
        if self.output_mode != "tf_idf":
            if idf_weights is not None:
                raise ValueError(
                    f"`{owner}` uses `idf_weights` only with output_mode='tf_idf'. "
                    f"Received: idf_weights with output_mode={self.output_mode!r}."
                )
            return None
        if idf_weights is None:
            raise ValueError(
                f"`{owner}` with output_mode='tf_idf' needs `idf_weights` with a given vocabulary "
                "(or learn both with `adapt`). Received: idf_weights=None."
            )
        weights = np.asarray(json_value(idf_weights), dtype=np.float64).reshape(-1)
        expected = n_tokens + (self._token_start() if given_specials else 0)
        if len(weights) != expected:
            raise ValueError(
                f"`{owner}` expects one idf weight per vocabulary entry ({expected}). "
                f"Received: {len(weights)} idf weights."
            )
        if not given_specials:
            fill = float(weights.mean()) if len(weights) else 0.0
            weights = np.concatenate([np.full(self._token_start(), fill), weights])
        if self.pad_to_max_tokens:
            weights = np.concatenate([weights, np.zeros(int(self.max_tokens) - len(weights))])
        return torch.as_tensor(weights, dtype=torch.float32)

    # ------------------------------------------------------------------ adapt
    def adapt(self, data: Any) -> None:
        """Learns the vocabulary from ``data``: the most frequent tokens (up to
        `max_tokens` indices in all), ties broken by first appearance.

        Args:
            data: Tokens, `(samples,)` or `(samples, n)`: a list or NumPy array (of
                strings for `StringLookup`, integers or a tensor for `IntegerLookup`).
                For `"tf_idf"`, each sample (row) is one document.
        """
        if self._text:
            arr = string_array(data, f"{self._owner()}.adapt")
        else:
            arr = int_tensor(data, f"{self._owner()}.adapt").cpu().numpy()
        num_docs = arr.shape[0] if arr.ndim else 1
        rows = arr.reshape(num_docs, -1)
        flat = rows.reshape(-1)
        doc_ids = np.repeat(np.arange(num_docs), rows.shape[1])
        self.adapt_tokens(flat.astype(str) if self._text else flat, doc_ids, num_docs)

    def adapt_tokens(self, flat: np.ndarray, doc_ids: np.ndarray, num_docs: int) -> None:
        """Learns the vocabulary from a flat array of tokens and their document ids."""
        keep = np.ones(flat.shape, dtype=bool)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                keep &= flat != special
        limit = None if self.max_tokens is None else self.max_tokens - self._token_start()
        tokens, idf = rank_tokens(flat[keep], doc_ids[keep], num_docs, limit)
        self.set_vocabulary(tokens, idf if self.output_mode == "tf_idf" else None)

    # ------------------------------------------------------------------ lookup
    def _oov_ids(self, hashes: Any) -> Any:
        start = 1 if self._mask_in_layout() else 0
        return start + hashes % self.num_oov_indices

    def _no_oov_error(self, token: Any) -> ValueError:
        return ValueError(
            f"Layer '{self.name}' ({self._owner()}) has num_oov_indices=0, so every input must "
            f"be in the vocabulary. Received: {token!r}, which is not. Set num_oov_indices=1 to map "
            "unknown tokens to an OOV index."
        )

    def lookup_text(self, arr: np.ndarray) -> torch.Tensor:
        """Ids (int64, on the layer's device) of a NumPy array of strings."""
        flat = arr.reshape(-1)
        index = self._index
        ids = np.fromiter((index.get(t, _UNKNOWN) for t in flat), dtype=np.int64, count=flat.size)
        unknown = ids == _UNKNOWN
        if unknown.any():
            if self.num_oov_indices == 0:
                if not _is_placeholder(arr):
                    raise self._no_oov_error(flat[unknown][0])
                # The empty strings of a shape-inference run (a Sequential of a lookup and
                # an Embedding called on `Input(dtype="string")`) take the first index.
                ids[unknown] = 0
            elif self.num_oov_indices == 1:
                ids[unknown] = self._oov_ids(0)
            else:
                hashes = np.array([stable_hash.hash_string(t) for t in flat[unknown]], dtype=np.int64)
                ids[unknown] = self._oov_ids(hashes)
        return torch.from_numpy(ids.reshape(arr.shape)).to(self._device)

    def _int_table(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if device not in self._tables:
            keys = torch.tensor(sorted(self._index), dtype=torch.int64)
            values = torch.tensor([self._index[k] for k in keys.tolist()], dtype=torch.int64)
            self._tables[device] = (keys.to(device), values.to(device))
        return self._tables[device]

    def lookup_ints(self, x: torch.Tensor) -> torch.Tensor:
        """Ids (int64) of an integer tensor, computed on its device."""
        keys, values = self._int_table(x.device)
        x = x.contiguous()
        if keys.numel() and torch.compiler.is_exporting():
            # ONNX has no searchsorted: compare with every key instead (same ids; the
            # exported graph does O(vocabulary) work per value).
            hit = x[..., None] == keys
            ids = torch.where(hit.any(-1), (hit * values).sum(-1), _UNKNOWN)
        elif keys.numel():
            pos = torch.searchsorted(keys, x).clamp(max=keys.numel() - 1)
            ids = torch.where(keys[pos] == x, values[pos], _UNKNOWN)
        else:
            ids = torch.full_like(x, _UNKNOWN)
        unknown = ids == _UNKNOWN
        if self.num_oov_indices == 0:
            if bool(unknown.any()):
                raise self._no_oov_error(int(x[unknown][0]))
            return ids
        oov = self._oov_ids(hash_int_tensor(x) if self.num_oov_indices > 1 else 0)
        return torch.where(unknown, oov, ids)

    def _invert(self, ids: torch.Tensor) -> Any:
        vocab = self.get_vocabulary()
        valid = (ids >= 0) & (ids < len(vocab))
        if self._text:
            table = np.array(vocab + [self.oov_token], dtype=object)
            idx = torch.where(valid, ids, len(vocab)).cpu().numpy()
            return table[idx]
        key = ("invert", ids.device)
        if key not in self._tables:
            self._tables[key] = torch.tensor(vocab + [self.oov_token], dtype=torch.int64, device=ids.device)
        return self._tables[key][torch.where(valid, ids, len(vocab))]

    # ------------------------------------------------------------------ call
    def _convert_inputs(self, inputs: Any) -> Any:
        if self._text and not self.invert:
            return string_array(inputs, self._owner())
        return int_tensor(inputs, self._owner(), self._device)

    def _output_spec(self, input_shape: tuple[int | None, ...], input_dtype: Any) -> Any:
        if self.output_mode == "int":
            dtype = STRING if self.invert and self._text else torch.int64
            return tuple(input_shape), dtype
        return encoded_shape(self._owner(), input_shape, self.output_mode, self._depth()), torch.float32

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if self.invert:
            return self._invert(inputs)
        if self.output_mode != "int":
            depth = self._depth()
            encoded_shape(self._owner(), (None, *inputs.shape[1:]), self.output_mode, depth)
        ids = self.lookup_text(inputs) if self._text else self.lookup_ints(inputs)
        if self.output_mode == "int":
            return ids
        return encode_categorical(ids, self.output_mode, depth, idf_weights=self._idf)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        idf = None
        if self._idf is not None:
            idf = [float(v) for v in self._idf[: self.vocabulary_size()].tolist()]
        config.update(
            max_tokens=self.max_tokens,
            num_oov_indices=self.num_oov_indices,
            mask_token=json_value(self.mask_token),
            oov_token=json_value(self.oov_token),
            vocabulary=None if self._tokens is None else json_value(self.get_vocabulary()),
            idf_weights=idf,
            invert=self.invert,
            output_mode=self.output_mode,
            pad_to_max_tokens=self.pad_to_max_tokens,
        )
        return config


def _is_placeholder(arr: Any) -> bool:
    from lamina.layers.symbolic import _TextPlaceholder

    return isinstance(arr, _TextPlaceholder)


class StringLookup(IndexLookup):
    """Maps strings to integer indices of a vocabulary (or, with `invert`, back).

    Args:
        max_tokens: Maximum vocabulary size, mask and OOV indices included.
            Defaults to `None` (no limit).
        num_oov_indices: Number of out-of-vocabulary indices; unknown strings are
            spread over them by a stable hash. 0 makes unknown strings an error.
            Defaults to `1`.
        mask_token: A string for padding: index 0 in `"int"` mode, dropped in the
            other modes. Defaults to `None` (no mask).
        oov_token: The token listed (and returned by `invert`) for OOV indices.
            Defaults to `"[UNK]"`.
        vocabulary: Optional list of strings (or a file path, one per line).
        idf_weights: Optional idf weights for `"tf_idf"`, one per vocabulary entry.
        invert: Map indices back to strings. Defaults to `False`.
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
            Defaults to `"int"`.
        pad_to_max_tokens: Make non-int outputs `max_tokens` wide even when the
            vocabulary is smaller. Defaults to `False`.

    Input shape: strings (a list or NumPy array), `(batch,)` or `(batch, n)`.
    Output shape: int64 ids of the input's shape for `"int"`; otherwise float32
    `(batch, vocabulary_size())` (see `CategoryEncoding` for `one_hot`).

    Example:
        >>> import lamina
        >>> lookup = lamina.layers.StringLookup(vocabulary=["a", "b"])
        >>> lookup([["a", "c"], ["b", "a"]]).tolist()
        [[1, 0], [2, 1]]
    """

    _text = True

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: str | None = None,
        oov_token: str = "[UNK]",
        vocabulary: Any = None,
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
            output_mode, pad_to_max_tokens, **kwargs,
        )


class IntegerLookup(IndexLookup):
    """Maps integers to indices of a vocabulary (or, with `invert`, back).

    Tensors in, tensors out: the lookup runs on the input's device (a sorted
    table and `torch.searchsorted`).

    Args:
        max_tokens: Maximum vocabulary size, mask and OOV indices included.
            Defaults to `None` (no limit).
        num_oov_indices: Number of out-of-vocabulary indices; unknown values are
            spread over them by a stable hash. 0 makes unknown values an error.
            Defaults to `1`.
        mask_token: An integer for padding: index 0 in `"int"` mode, dropped in the
            other modes. Defaults to `None` (no mask).
        oov_token: The value listed (and returned by `invert`) for OOV indices.
            Defaults to `-1`.
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
            Defaults to `"int"`.
        pad_to_max_tokens: Make non-int outputs `max_tokens` wide. Defaults to `False`.
        vocabulary: Optional list of integers.
        idf_weights: Optional idf weights for `"tf_idf"`, one per vocabulary entry.
        invert: Map indices back to values. Defaults to `False`.

    Input shape: integers, `(batch,)` or `(batch, n)`. Output shape: as `StringLookup`.

    Example:
        >>> import torch, lamina
        >>> lookup = lamina.layers.IntegerLookup(vocabulary=[12, 36])
        >>> lookup(torch.tensor([12, 7, 36])).tolist()
        [1, 0, 2]
    """

    _text = False

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: int | None = None,
        oov_token: int = -1,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        vocabulary: Any = None,
        idf_weights: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            max_tokens, num_oov_indices, mask_token, oov_token, vocabulary, idf_weights, invert,
            output_mode, pad_to_max_tokens, **kwargs,
        )

