"""`BaselineTable`: the baselines' scores, intervals and predictions on one
evaluation set, to rank and compare a network against."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lamina.workflow.baselines import scoring, verdict
from lamina.workflow.baselines.comparison import BaselineComparison, compare_predictions
from lamina.workflow.predictions import Predictions
from lamina.workflow.uncertainty import Interval

_PRIMARY = {"classification": "accuracy", "regression": "mae"}


@dataclass
class BaselineRow:
    """One line of a `BaselineTable`.

    Attributes:
        name: The model's name (`"majority_class"`, `"random_forest"`, your network's).
        kind: `"common-sense"`, `"classical"` or `"network"`.
        scores: `accuracy` and `error_rate` (classification) or `mae` and `rmse`
            (regression) on the evaluation set; a network may lack the second one.
        fit_seconds: Time to fit and predict, or None (networks, skipped rows).
        skipped: Why the model was not run, or None.
        predictions: The `Predictions` on the evaluation set, or None (a network
            added as a score, skipped rows).
        interval: The interval of the table's primary metric (`interval_metric`):
            the accuracy (1 - the Wilson interval of the error rate) or the MAE
            (seeded bootstrap), with its sample size; None when unknown.
        interval_metric: The metric `interval` is on, or None.
    """

    name: str
    kind: str
    scores: dict[str, float | None] = field(default_factory=dict)
    fit_seconds: float | None = None
    skipped: str | None = None
    predictions: Predictions | None = field(default=None, repr=False)
    interval: Interval | None = None
    interval_metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-able values (the predictions as their size only)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "scores": dict(self.scores),
            "fit_seconds": self.fit_seconds,
            "skipped": self.skipped,
            "n": None if self.interval is None else self.interval.n,
            "paired": self.predictions is not None,
            "interval_metric": self.interval_metric,
            "interval": None if self.interval is None else self.interval.to_dict(),
        }


class BaselineTable:
    """Baseline scores, with intervals, on one evaluation set, to rank a network against.

    Made by `run_baselines`, which keeps each baseline's predictions so that a
    network added with its model or predictions is compared with the best
    baseline on the same examples (`compare`). The primary metric is `accuracy`
    (higher is better) for classification and `mae` (lower is better) for regression.

    Args:
        task: `"classification"` or `"regression"`.
        eval_set: Name of the evaluation set.
        n_train: Training samples the baselines were fitted on.
        n_eval: Samples they are scored on.
        x_eval: The evaluation inputs (to run a model given to `add_model`).
            Defaults to `None`.
        y_eval: The evaluation targets (to decode outputs given to `add_model`).
            Defaults to `None`.
        confidence: Confidence level of the intervals. Defaults to 0.95.

    Attributes:
        task, eval_set, n_train, n_eval, x_eval, y_eval, confidence: As given.
        rows: The `BaselineRow`s, in the order they were added.

    Example:
        >>> table = run_baselines(splits)  # doctest: +SKIP
        >>> table.add_model("mlp", model)  # doctest: +SKIP
        >>> print(table.compare("mlp"))  # doctest: +SKIP
        mlp beats the best baseline (logistic_regression) by 1.5 points (95% CI 0.4 to 2.6, ...).
    """

    def __init__(
        self,
        task: str,
        eval_set: str,
        n_train: int,
        n_eval: int,
        *,
        x_eval: Any = None,
        y_eval: Any = None,
        confidence: float = 0.95,
    ) -> None:
        self.task = task
        self.eval_set = eval_set
        self.n_train = n_train
        self.n_eval = n_eval
        self.x_eval = x_eval
        self.y_eval = y_eval
        self.confidence = confidence
        self.rows: list[BaselineRow] = []

    # ------------------------------------------------------------------ properties
    @property
    def metric(self) -> str:
        """The primary metric: `"accuracy"` or `"mae"`."""
        return _PRIMARY[self.task]

    @property
    def higher_is_better(self) -> bool:
        return self.task == "classification"

    @property
    def skipped(self) -> dict[str, str]:
        """Reason per model that was not run, by name."""
        return {r.name: r.skipped for r in self.rows if r.skipped is not None}

    def _score(self, row: BaselineRow) -> float:
        return float(row.scores[self.metric])

    def _ran(
        self, kinds: Sequence[str] = ("common-sense", "classical", "network")
    ) -> list[BaselineRow]:
        return [r for r in self.rows if r.skipped is None and r.kind in kinds]

    def _best(self, rows: list[BaselineRow]) -> BaselineRow | None:
        if not rows:
            return None
        pick = max if self.higher_is_better else min
        return pick(rows, key=self._score)

    def _row(self, name: str) -> BaselineRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(
            f"`BaselineTable` has no model named {name!r}. Received: name={name!r}. "
            f"The models are: {', '.join(r.name for r in self.rows)}."
        )

    # ------------------------------------------------------------------ adding rows
    def add_baseline(
        self,
        name: str,
        kind: str,
        predictions: Predictions,
        scores: dict[str, float | None],
        seconds: float,
    ) -> None:
        """Adds a baseline that ran, with its predictions and the interval of the metric."""
        interval = scoring.interval_of(predictions, self.metric, self.confidence)
        self.rows.append(
            BaselineRow(name, kind, scores, seconds, None, predictions, interval, self.metric)
        )

    def add_model(self, name: str, score: Any, *, batch_size: int = 256) -> BaselineTable:
        """Adds a network so it is ranked with, and compared to, the baselines.

        Give its model or its predictions on the table's evaluation set for a
        paired comparison with the best baseline (`compare`); a score alone only
        allows a comparison of point estimates.

        Args:
            name: A name not already in the table.
            score: One of: a trained model (run on `x_eval`); a `Predictions` or
                the raw outputs (`model.predict(x_eval)`) on the same evaluation
                examples, in the same order; the primary metric as a number
                (accuracy for classification, MAE for regression); or the dict of
                `model.evaluate(..., return_dict=True)` holding an `accuracy` (or
                `*_accuracy`) entry, or `mae` / `mean_absolute_error` (and
                optionally `rmse`).
            batch_size: Batch size of `predict` when a model is given. Defaults to 256.

        Returns:
            The table, so calls can be chained.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"`add_model` expects `name` to be a non-empty string. Received: name={name!r}."
            )
        if any(r.name == name for r in self.rows):
            raise ValueError(
                f"`add_model` expects a new name; {name!r} is already in the table. "
                f"Received: name={name!r}. Pick another name."
            )
        predictions = scoring.predictions_for(self, name, score, batch_size)
        if predictions is None:
            scores = scoring.scores_from(self.task, self.metric, name, score)
            interval = scoring.interval_from_score(self.task, scores, self.n_eval, self.confidence)
            self.rows.append(
                BaselineRow(name, "network", scores, interval=interval, interval_metric=self.metric)
            )
            return self
        scores = scoring.scores_of(predictions)
        interval = scoring.interval_of(predictions, self.metric, self.confidence)
        self.rows.append(
            BaselineRow(name, "network", scores, None, None, predictions, interval, self.metric)
        )
        return self

    # ------------------------------------------------------------------ reading
    def ranking(self) -> list[tuple[str, float]]:
        """`(name, primary score)` of every model that ran, best first."""
        rows = sorted(self._ran(), key=self._score, reverse=self.higher_is_better)
        return [(r.name, self._score(r)) for r in rows]

    def best_baseline(self) -> tuple[str, float]:
        """`(name, primary score)` of the best common-sense or classical baseline."""
        best = self._best(self._ran(("common-sense", "classical")))
        if best is None:
            raise ValueError(
                "`best_baseline` found no baseline that ran. Received: an empty table."
            )
        return best.name, self._score(best)

    def common_sense(self) -> tuple[str, float]:
        """`(name, primary score)` of the best common-sense baseline."""
        best = self._best(self._ran(("common-sense",)))
        if best is None:
            raise ValueError("`common_sense` found no common-sense baseline in the table.")
        return best.name, self._score(best)

    def _reference(self, name: str, against: str | None) -> BaselineRow:
        if against is not None:
            row = self._row(against)
            if row.kind == "network" or row.skipped is not None:
                raise ValueError(
                    f"`BaselineTable.compare` compares with a baseline that ran. Received: "
                    f"against={against!r}, a {row.kind} row"
                    + (" that was skipped." if row.skipped else ".")
                )
            return row
        best = self._best([r for r in self._ran(("common-sense", "classical")) if r.name != name])
        if best is None:
            raise ValueError(
                "`BaselineTable.compare` needs at least one baseline that ran. Received: none."
            )
        return best

    def paired(self, name: str) -> bool:
        """Whether `compare(name)` can pair ``name`` with the best baseline on the same examples."""
        net = self._row(name)
        others = [r for r in self._ran(("common-sense", "classical")) if r.name != name]
        best = self._best(others)
        return net.predictions is not None and best is not None and best.predictions is not None

    def compare(
        self, name: str, *, against: str | None = None, seed: int = 0
    ) -> BaselineComparison:
        """Compares a model with the best baseline on the same evaluation examples.

        Classifiers: McNemar's exact test on the examples exactly one of the two
        gets right, with Newcombe's paired interval of the accuracy difference.
        Regression: a seeded paired bootstrap of the MAE difference. The
        difference is positive when the model is better.

        Args:
            name: The name given to `add_model` (its model or predictions).
            against: A baseline's name. Defaults to `None` (the best baseline by
                the primary metric).
            seed: Seed of the bootstrap. Defaults to `0`.

        Returns:
            A `BaselineComparison`.
        """
        net = self._row(name)
        ref = self._reference(name, against)
        missing = [r.name for r in (net, ref) if r.predictions is None]
        if missing:
            raise ValueError(
                f"`BaselineTable.compare` pairs the models' predictions on the evaluation set, and "
                f"{' and '.join(map(repr, missing))} only has a score. Received: name={name!r}. Pass the "
                "trained model or its predictions on the evaluation set to `add_model`, and build the "
                "table with `run_baselines` (which keeps the baselines' predictions)."
            )
        label = "best baseline" if against is None else f"{ref.kind} baseline"
        return compare_predictions(
            name, net.predictions, ref.name, ref.predictions, self.metric,
            label=label, confidence=self.confidence, seed=seed,
        )  # fmt: skip

    def comparisons(self) -> dict[str, BaselineComparison]:
        """The `compare` of every network that can be paired with the best baseline, by name."""
        return {
            r.name: self.compare(r.name) for r in self._ran(("network",)) if self.paired(r.name)
        }

    def verdict(self, network_name: str) -> str:
        """Says whether the network beats the best baseline and the common-sense baseline.

        With the network's predictions (a model or outputs given to `add_model`)
        the verdict is drawn from the paired comparisons (`compare`); with only a
        score it compares the point estimates and says that it cannot tell chance
        from a real difference.

        Args:
            network_name: The name given to `add_model`.

        Returns:
            One to three sentences.
        """
        net = self._row(network_name)
        if net.skipped is not None:
            raise ValueError(
                f"`verdict` cannot judge {network_name!r}: it was skipped ({net.skipped})."
            )
        if self.paired(network_name):
            return verdict.paired_verdict(self, network_name)
        return verdict.point_verdict(self, network_name)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """The table as JSON-able values: rows with their intervals, and the paired
        comparison of every network with the best baseline."""
        return {
            "task": self.task,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "eval_set": self.eval_set,
            "n_train": self.n_train,
            "n_eval": self.n_eval,
            "confidence": self.confidence,
            "rows": [r.to_dict() for r in self.rows],
            "comparisons": {k: c.to_dict() for k, c in self.comparisons().items()},
        }

    def __str__(self) -> str:
        from rich.console import Console
        from rich.table import Table

        extra = "error_rate" if self.task == "classification" else "rmse"
        table = Table(
            title=f"Baselines on {self.eval_set} ({self.task}: {self.n_train:,} train / "
            f"{self.n_eval:,} eval samples)"
        )
        ci = f"{self.metric} {self.confidence * 100:g}% CI"
        for col, justify in (("Rank", "right"), ("Model", "left"), ("Kind", "left"),
                             (self.metric, "right"), (ci, "right"), (extra, "right"),
                             ("Time (s)", "right"), ("Note", "left")):  # fmt: skip
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        fmt = scoring.fmt(self.metric)
        for rank, (name, _) in enumerate(self.ranking(), start=1):
            r = self._row(name)
            second = r.scores.get(extra)
            iv = r.interval
            table.add_row(
                str(rank), name, r.kind, fmt(self._score(r)),
                "-" if iv is None else f"{fmt(iv.low)} to {fmt(iv.high)}, n={iv.n}",
                "-" if second is None or (isinstance(second, float) and math.isnan(second))
                else scoring.fmt(extra)(second),
                "-" if r.fit_seconds is None else f"{r.fit_seconds:.2f}", "",
            )  # fmt: skip
        for r in self.rows:
            if r.skipped is not None:
                table.add_row("-", r.name, r.kind, "-", "-", "-", "-", f"skipped: {r.skipped}")
        buffer = io.StringIO()
        Console(
            file=buffer, width=140, color_system=None, force_terminal=False, no_color=True
        ).print(table)
        lines = [c.text for c in self.comparisons().values()]
        if lines:
            buffer.write("Paired comparisons on the same examples:\n" + "\n".join(lines) + "\n")
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"BaselineTable(task={self.task!r}, eval_set={self.eval_set!r}, models={[r.name for r in self.rows]})"
