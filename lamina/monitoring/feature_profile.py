"""`FeatureProfile`: the reference distribution of one feature.

A `ReferenceProfile` is a bounded, JSON-able summary of a sample of the training inputs
(up to 2,000 rows) and of the model's predictions on them with its final
weights. Per feature (see `lamina.monitoring.features` for which features):

* numeric: mean, std, min, max, a 10-bin histogram on the training deciles
  (``edges`` and ``bin_counts``, for PSI) and up to 500 quantiles (for the KS test);
* categorical: the 50 most frequent values with their counts, plus ``other``.

Predictions: a classifier's class counts (chi-squared) and a profile of its top
probability (``confidence``); a regressor's predicted value as a numeric feature.
Plus the task, the number of rows profiled and the held-out scores known when
the profile was taken (the last ``val_*`` logs of `fit`, the latest `evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina.monitoring import features as feats
from lamina.monitoring.schema import ProfileReader

PROFILE_VERSION = 1
TASKS = ("classification", "binary", "regression")
MAX_JSON_BYTES = 5 * 1024 * 1024
QUANTILE_BUDGET = 40_000  # quantiles over all numeric features, so the profile stays < ~1 MB
MAX_QUANTILES = 500
MIN_QUANTILES = 100
TOP_K = 50
MAX_CLASSES = 1000
N_BINS = 10


def _short(x: float) -> float:
    return float(f"{float(x):.7g}")


@dataclass
class FeatureProfile:
    """The reference distribution of one feature (see the module docstring)."""

    name: str
    kind: str
    source: feats.FeatureSource
    count: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    edges: list[float] = field(default_factory=list)
    bin_counts: list[int] = field(default_factory=list)
    quantiles: list[float] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    other: int = 0

    @classmethod
    def numeric(cls, source: feats.FeatureSource, values: np.ndarray, n_quantiles: int) -> FeatureProfile:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            v = np.zeros(1)
        steps = max(1, min(n_quantiles, v.size - 1))
        quantiles = [_short(q) for q in np.quantile(v, np.linspace(0.0, 1.0, steps + 1))]
        edges = sorted({_short(q) for q in np.quantile(v, np.linspace(0.0, 1.0, N_BINS + 1)[1:-1])})
        bins = np.bincount(np.searchsorted(np.array(edges), v, side="right"), minlength=len(edges) + 1)
        return cls(
            name=source.name, kind="numeric", source=source, count=int(v.size),
            mean=_short(v.mean()), std=_short(v.std()), min=_short(v.min()), max=_short(v.max()),
            edges=edges, bin_counts=[int(c) for c in bins], quantiles=quantiles,
        )

    @classmethod
    def categorical(cls, source: feats.FeatureSource, values: np.ndarray, top_k: int = TOP_K,
                    labels: list[Any] | None = None) -> FeatureProfile:
        values = np.asarray(values)
        if labels is None:
            uniq, cnt = np.unique(values, return_counts=True)
            order = np.argsort(-cnt, kind="stable")[:top_k]
            labels = [_label(uniq[i]) for i in order]
        profile = cls(name=source.name, kind="categorical", source=source, count=int(values.size), labels=labels)
        codes = profile.encode(values)
        counts = np.bincount(codes, minlength=len(labels) + 1)
        profile.counts, profile.other = [int(c) for c in counts[:-1]], int(counts[-1])
        return profile

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Category codes of ``values``: the label's position, ``len(labels)`` for any other value."""
        values = np.asarray(values)
        other = len(self.labels)
        if values.size == 0:
            return np.zeros(0, dtype=np.int64)
        numeric_labels = all(isinstance(v, (int, float)) for v in self.labels)
        if numeric_labels and values.dtype.kind in "biuf" and self.labels:
            lab = np.asarray(self.labels, dtype=np.float64)
            order = np.argsort(lab, kind="stable")
            sorted_lab = lab[order]
            v = values.astype(np.float64).reshape(-1)
            pos = np.clip(np.searchsorted(sorted_lab, v), 0, len(lab) - 1)
            return np.where(sorted_lab[pos] == v, order[pos], other).astype(np.int64)
        lookup = {str(v): i for i, v in enumerate(self.labels)}
        return np.fromiter((lookup.get(str(_label(v)), other) for v in values.reshape(-1).tolist()),
                           dtype=np.int64, count=values.size)

    def reference_fractions(self) -> np.ndarray:
        """Fractions per histogram bin (numeric) or per label then ``other`` (categorical)."""
        counts = np.asarray(self.bin_counts if self.kind == "numeric" else [*self.counts, self.other], dtype=np.float64)
        return counts / max(counts.sum(), 1.0)

    def to_dict(self) -> dict[str, Any]:
        s = self.source
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "input": s.input, "column": s.column,
                             "summary": s.summary, "count": self.count}
        if self.kind == "numeric":
            d.update(mean=self.mean, std=self.std, min=self.min, max=self.max, edges=self.edges,
                     bin_counts=self.bin_counts, quantiles=self.quantiles)
        else:
            d.update(labels=self.labels, counts=self.counts, other=self.other)
        return d

    @classmethod
    def from_dict(cls, value: Any, path: str, r: ProfileReader) -> FeatureProfile:
        d = r.mapping(value, path)
        name = r.string(d, "name", path)
        kind = r.string(d, "kind", path, ("numeric", "categorical"))
        key = d.get("input")
        if not (key is None or (isinstance(key, str) and len(key) <= 500) or (isinstance(key, int) and not isinstance(key, bool) and 0 <= key < 10_000)):
            raise r.fail(f"{path}.input", "null, an input name or an input position", key)
        column = r.integer(d, "column", path, optional=True)
        summary = r.string(d, "summary", path, feats.SUMMARIES + ("class", "confidence", "value"), optional=True)
        source = feats.FeatureSource(name, key, column, summary)
        count = r.integer(d, "count", path, low=1)
        if kind == "numeric":
            edges = r.numbers(d, "edges", path, max_len=64, sorted_=True)
            bins = r.counts(d, "bin_counts", path, max_len=65)
            if len(bins) != len(edges) + 1:
                raise r.fail(f"{path}.bin_counts", f"{len(edges) + 1} counts (one more than the edges)", f"{len(bins)} counts")
            quantiles = r.numbers(d, "quantiles", path, max_len=MAX_QUANTILES + 1, sorted_=True)
            if not quantiles:
                raise r.fail(f"{path}.quantiles", "a non-empty list", quantiles)
            return cls(name, kind, source, count, r.number(d, "mean", path), r.number(d, "std", path),
                       r.number(d, "min", path), r.number(d, "max", path), edges, bins, quantiles)
        labels = r.labels(d, "labels", path, max_len=MAX_CLASSES)
        counts = r.counts(d, "counts", path, max_len=MAX_CLASSES)
        if len(counts) != len(labels):
            raise r.fail(f"{path}.counts", f"{len(labels)} counts (one per label)", f"{len(counts)} counts")
        return cls(name, kind, source, count, labels=labels, counts=counts, other=r.integer(d, "other", path))


def _label(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v if isinstance(v, (int, float)) else str(v)


def profile_values(source: feats.FeatureSource, values: np.ndarray, n_quantiles: int) -> FeatureProfile:
    """Profiles one feature's values, as categorical or numeric (`features.is_categorical`)."""
    if feats.is_categorical(np.asarray(values)):
        return FeatureProfile.categorical(source, values)
    return FeatureProfile.numeric(source, values, n_quantiles)
