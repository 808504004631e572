"""`ReferenceProfile`: the training inputs and the model's predictions, summarised.

`fit` keeps a bounded sample of its training inputs; the profile is computed
from it on first use (`model.reference_profile`, or `model.save`), with the
model's predictions on that sample, and stored in the `.lamina` file as
``profile.json``. `lamina.monitoring.DriftMonitor` compares live traffic to it.
See `lamina.monitoring.feature_profile` for what each feature keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lamina.monitoring import features as feats
from lamina.monitoring.feature_profile import (
    MAX_CLASSES,
    MAX_JSON_BYTES,
    MAX_QUANTILES,
    MIN_QUANTILES,
    PROFILE_VERSION,
    QUANTILE_BUDGET,
    TASKS,
    FeatureProfile,
    profile_values,
)
from lamina.monitoring.schema import ProfileReader

FORMAT = "lamina.reference_profile"
TRANSFORMS = ("softmax", "sigmoid")


@dataclass
class ReferenceProfile:
    """A bounded summary of training inputs and predictions that drift is measured against.

    Args:
        task: ``"classification"``, ``"binary"`` or ``"regression"``.
        n_rows: Rows profiled.
        inputs: ``{"structure": "single" | "dict" | "list", "names": [...]}``.
        features: One `FeatureProfile` per watched input feature.
        prediction: The predicted class (categorical) or value (numeric), or None.
        confidence: A classifier's top probability (numeric), or None.
        prediction_transform: ``"softmax"`` / ``"sigmoid"`` when the model outputs
            logits, else None.
        class_names: Names of the classes, when the model knows them.
        scores: Held-out scores: ``{"fit": {"val_accuracy": ...}, "evaluate": {...}}``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(1000, 3))
        >>> profile = ReferenceProfile.from_data(x, x.sum(axis=1))
        >>> [f.name for f in profile.features], profile.task
        (['x[0]', 'x[1]', 'x[2]'], 'regression')
        >>> ReferenceProfile.from_json(profile.to_json()) == profile
        True
    """

    task: str | None
    n_rows: int
    inputs: dict[str, Any]
    features: list[FeatureProfile]
    prediction: FeatureProfile | None = None
    confidence: FeatureProfile | None = None
    prediction_transform: str | None = None
    class_names: list[str] | None = None
    scores: dict[str, dict[str, float]] = field(default_factory=lambda: {"fit": {}, "evaluate": {}})

    # ------------------------------------------------------------------ building
    @classmethod
    def from_data(
        cls,
        x: Any,
        predictions: Any = None,
        *,
        task: str | None = None,
        prediction_transform: str | None = None,
        input_names: list[str] | None = None,
        column_names: list[str] | None = None,
        class_names: list[str] | None = None,
        scores: dict[str, dict[str, float]] | None = None,
    ) -> ReferenceProfile:
        """Profiles inputs ``x`` (an array, a DataFrame, a dict or list of arrays) and
        the model's ``predictions`` on them (None: inputs only).

        Args:
            x: The reference inputs, rows first, as the model takes them.
            predictions: The model's outputs on ``x`` (probabilities or logits for
                a classifier). Defaults to `None`.
            task: ``"classification"``, ``"binary"`` or ``"regression"``; guessed
                from ``predictions`` when None. Defaults to `None`.
            prediction_transform: ``"softmax"`` or ``"sigmoid"`` for logits. Defaults to `None`.
            input_names, column_names, class_names: Names to report features and
                classes by. Defaults to `None` (``x[3]``, class indices).
            scores: Held-out scores to compare live accuracy / error with. Defaults to `None`.
        """
        if task is not None and task not in TASKS:
            raise ValueError(f"`task` must be one of {list(TASKS)} or None. Received: task={task!r}.")
        if prediction_transform is not None and prediction_transform not in TRANSFORMS:
            raise ValueError(
                f"`prediction_transform` must be one of {list(TRANSFORMS)} or None. "
                f"Received: prediction_transform={prediction_transform!r}."
            )
        if hasattr(x, "columns") and hasattr(x, "to_numpy"):
            column_names = column_names or [str(c) for c in x.columns]
            x = x.to_numpy()
        structure = feats.input_structure(x, input_names)
        sources = feats.plan(x, structure, column_names)
        if not sources:
            raise ValueError("`ReferenceProfile.from_data` found no features in `x`. Received: an empty input.")
        raw = [feats.raw_values(x, structure, s) for s in sources]
        n_rows = int(len(raw[0]))
        if n_rows < 2:
            raise ValueError(f"A reference profile needs at least 2 rows. Received: {n_rows} row(s).")
        n_quantiles = int(np.clip(QUANTILE_BUDGET // len(sources), MIN_QUANTILES, MAX_QUANTILES))
        features = [profile_values(s, v, n_quantiles) for s, v in zip(sources, raw)]
        profile = cls(task=task, n_rows=n_rows, inputs=structure, features=features,
                      prediction_transform=prediction_transform,
                      class_names=[str(c) for c in class_names] if class_names is not None else None,
                      scores={"fit": dict((scores or {}).get("fit", {})), "evaluate": dict((scores or {}).get("evaluate", {}))})
        if predictions is not None:
            profile._add_predictions(predictions, n_rows, MAX_QUANTILES)
        return profile

    def _add_predictions(self, predictions: Any, n_rows: int, n_quantiles: int) -> None:
        if self.task is None:
            self.task, guessed = feats.task_from_outputs(predictions)
            self.prediction_transform = self.prediction_transform or guessed
        values = feats.prediction_values(predictions, self.task, self.prediction_transform)
        first = next(iter(values.values()))
        if len(first) != n_rows:
            raise ValueError(
                f"`predictions` must have one row per input row ({n_rows}). Received: {len(first)} rows."
            )
        if self.task == "regression":
            self.prediction = FeatureProfile.numeric(feats.FeatureSource("predictions", None, None, "value"),
                                                     values["value"], n_quantiles)
            return
        width = 2 if self.task == "binary" else np.asarray(feats.first_output(predictions)).reshape(n_rows, -1).shape[1]
        labels = list(range(min(width, MAX_CLASSES)))
        self.prediction = FeatureProfile.categorical(feats.FeatureSource("predictions", None, None, "class"),
                                                     values["class"], labels=labels)
        self.confidence = FeatureProfile.numeric(feats.FeatureSource("confidence", None, None, "confidence"),
                                                 values["confidence"], n_quantiles)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-able values."""
        return {
            "format": FORMAT,
            "version": PROFILE_VERSION,
            "task": self.task,
            "n_rows": self.n_rows,
            "inputs": {"structure": self.inputs["structure"], "names": list(self.inputs["names"])},
            "features": [f.to_dict() for f in self.features],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "confidence": None if self.confidence is None else self.confidence.to_dict(),
            "prediction_transform": self.prediction_transform,
            "class_names": self.class_names,
            "scores": {"fit": dict(self.scores.get("fit", {})), "evaluate": dict(self.scores.get("evaluate", {}))},
        }

    def to_json(self) -> str:
        """The profile as a JSON string (compact)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any], source: str = "the reference profile") -> ReferenceProfile:
        """Reads a profile written by `to_json` (or its dict), checking every field.

        Raises:
            ValueError: naming ``source`` and the bad field, for anything that is not
                a valid profile (wrong types, NaN, oversize lists, more than 5 MB).
        """
        r = ProfileReader(source)
        if isinstance(data, (str, bytes)):
            if len(data) > MAX_JSON_BYTES:
                raise r.fail("(whole profile)", f"at most {MAX_JSON_BYTES} bytes", f"{len(data)} bytes")
            try:
                data = json.loads(data, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as e:
                raise ValueError(f"{source} is not valid JSON: {e}. Save the model again to rewrite it.") from e
        d = r.mapping(data, "(whole profile)")
        if d.get("format") != FORMAT:
            raise r.fail("format", repr(FORMAT), d.get("format"))
        version = r.integer(d, "version", "", low=1)
        if version > PROFILE_VERSION:
            raise r.fail("version", f"at most {PROFILE_VERSION} (this Lamina's profile version)", version)
        inputs = r.mapping(r.field(d, "inputs", ""), "inputs")
        structure = r.string(inputs, "structure", "inputs", ("single", "dict", "list"))
        names = r.list_of(inputs, "names", "inputs", max_len=feats.MAX_FEATURES)
        if not all(isinstance(n, str) and len(n) <= 500 for n in names):
            raise r.fail("inputs.names", "a list of strings", names)
        features = [FeatureProfile.from_dict(f, f"features[{i}]", r)
                    for i, f in enumerate(r.list_of(d, "features", "", max_len=feats.MAX_FEATURES))]
        if not features:
            raise r.fail("features", "a non-empty list", [])
        for i, f in enumerate(features):
            _check_source(f, i, structure, names, r)
        pred = d.get("prediction")
        conf = d.get("confidence")
        class_names = d.get("class_names")
        if class_names is not None:
            class_names = r.labels(d, "class_names", "", max_len=MAX_CLASSES)
            class_names = [str(c) for c in class_names]
        scores = r.mapping(d.get("scores", {}), "scores")
        task = r.string(d, "task", "", TASKS, optional=True)
        prediction = None if pred is None else FeatureProfile.from_dict(pred, "prediction", r)
        if prediction is not None:
            kind = "numeric" if task == "regression" else "categorical"
            if task is None or prediction.kind != kind:
                raise r.fail("prediction.kind", f"{kind!r} for task {task!r}", prediction.kind)
        return cls(
            task=task,
            n_rows=r.integer(d, "n_rows", "", low=1),
            inputs={"structure": structure, "names": names},
            features=features,
            prediction=prediction,
            confidence=None if conf is None else FeatureProfile.from_dict(conf, "confidence", r),
            prediction_transform=r.string(d, "prediction_transform", "", TRANSFORMS, optional=True),
            class_names=class_names,
            scores={"fit": r.scores(scores.get("fit", {}), "scores.fit"),
                    "evaluate": r.scores(scores.get("evaluate", {}), "scores.evaluate")},
        )

    # ------------------------------------------------------------------ helpers
    def feature_names(self) -> list[str]:
        """The names of the watched input features, in order."""
        return [f.name for f in self.features]

    def held_out_score(self, names: tuple[str, ...]) -> tuple[str | None, float | None]:
        """The first score found among ``names`` in the latest `evaluate` logs, then
        in the last ``val_*`` logs of `fit`: ``(name, value)`` or ``(None, None)``."""
        for n in names:
            if n in self.scores.get("evaluate", {}):
                return n, self.scores["evaluate"][n]
        for n in names:
            if f"val_{n}" in self.scores.get("fit", {}):
                return f"val_{n}", self.scores["fit"][f"val_{n}"]
        return None, None


def _check_source(f: FeatureProfile, i: int, structure: str, names: list[str], r: ProfileReader) -> None:
    key = f.source.input
    if structure == "single":
        ok = key is None
    elif structure == "dict":
        ok = isinstance(key, str) and key in names
    else:
        ok = isinstance(key, int) and key < len(names)
    if not ok:
        raise r.fail(f"features[{i}].input", f"an input of `inputs.names` ({structure} structure)", key)
    if f.source.summary not in (None, *feats.SUMMARIES):
        raise r.fail(f"features[{i}].summary", f"null or one of {list(feats.SUMMARIES)}", f.source.summary)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"the value {name} is not allowed (numbers must be finite)")
