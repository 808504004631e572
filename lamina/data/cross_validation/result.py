"""`CVResult`: the scores of a K-fold run, their mean, spread and corrected
interval, and the paired comparison of two models across the same folds."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lamina.workflow.uncertainty import Interval, PairedTTestResult


@dataclass(eq=False)
class CVResult:
    """The result of `cross_validate`.

    The folds' training sets overlap, so their scores are correlated and the
    textbook interval ``mean ± t * s / sqrt(J)`` is far too narrow. `interval`
    uses Nadeau and Bengio's corrected resampled t interval, whose variance of
    the mean is ``(1/J + n_test/n_train) * s^2`` (J fits, ``s^2`` the variance
    of their scores), and `compare` the corrected paired t-test of two models
    scored on the same folds.

    Attributes:
        scores: One dict of scores per fit, repeat-major (all folds of repeat 0,
            then repeat 1, ...): what `model.evaluate(return_dict=True)` returned on
            the held-out fold, plus any extra `metrics`.
        fold_indices: For each fit, the `(train_indices, held_out_indices)` row
            numbers into the original data, in the same order as `scores`.
        folds: Number of folds K.
        repeats: Number of repeats.
        histories: The `History` of each fit.
        task: `"classification"` or `"regression"` (None when unknown).
        seed: The seed of the shuffles and models (None when unknown).
        shuffle: Whether the samples were shuffled before cutting the folds.
        stratified: Whether the folds keep the class proportions.
        mean: Per-metric mean over all fits.
        std: Per-metric standard deviation over all fits (`numpy.std`, ddof=0).
        fold_sizes: `(n_train, n_test)` of each fit.
        n_train, n_test: Mean training and held-out size per fold (rounded).

    Example:
        >>> result = cross_validate(build, x, y, folds=5)  # doctest: +SKIP
        >>> print(result.interval("accuracy"))  # doctest: +SKIP
        0.953 (95% CI 0.918 to 0.989, n=5)
        >>> result.compare(other, "accuracy").p_value  # doctest: +SKIP
    """

    scores: list[dict[str, float]]
    fold_indices: list[tuple[np.ndarray, np.ndarray]]
    folds: int
    repeats: int
    histories: list[Any] = field(default_factory=list)
    task: str | None = None
    seed: int | None = None
    shuffle: bool = True
    stratified: bool = False

    # ------------------------------------------------------------------ summaries
    @property
    def mean(self) -> dict[str, float]:
        """Mean of each metric over all folds and repeats."""
        return {k: float(np.mean([s[k] for s in self.scores])) for k in self._names()}

    @property
    def std(self) -> dict[str, float]:
        """Standard deviation of each metric over all folds and repeats."""
        return {k: float(np.std([s[k] for s in self.scores])) for k in self._names()}

    @property
    def fold_sizes(self) -> list[tuple[int, int]]:
        """`(n_train, n_test)` of each fit, in the order of `scores`."""
        return [(len(tr), len(te)) for tr, te in self.fold_indices]

    @property
    def n_train(self) -> int:
        """Mean number of training samples per fold, rounded."""
        return int(round(float(np.mean([a for a, _ in self.fold_sizes]))))

    @property
    def n_test(self) -> int:
        """Mean number of held-out samples per fold, rounded."""
        return int(round(float(np.mean([b for _, b in self.fold_sizes]))))

    def _names(self) -> list[str]:
        return list(self.scores[0]) if self.scores else []

    def _values(self, metric: str, owner: str) -> np.ndarray:
        if metric not in self._names():
            raise ValueError(
                f"`{owner}` found no metric {metric!r} in the fold scores. Received: "
                f"metric={metric!r}. The metrics are: {', '.join(self._names())}."
            )
        return np.array([s[metric] for s in self.scores], dtype=np.float64)

    # ------------------------------------------------------------------ uncertainty
    def interval(self, metric: str, confidence: float = 0.95) -> Interval:
        """The mean score of ``metric`` with Nadeau and Bengio's corrected resampled
        t interval (`uncertainty.corrected_resampled_t_interval`).

        Args:
            metric: A key of the fold scores, e.g. `"accuracy"` or `"loss"`.
            confidence: Confidence level. Defaults to 0.95.

        Returns:
            An `Interval` whose `n` is the number of fits (folds x repeats).
        """
        from lamina.workflow import uncertainty

        values = self._values(metric, "CVResult.interval")
        return uncertainty.corrected_resampled_t_interval(
            values, self.n_train, self.n_test, confidence
        )

    def compare(self, other: CVResult, metric: str, confidence: float = 0.95) -> PairedTTestResult:
        """Compares this model with ``other`` across the same folds with the
        corrected resampled paired t-test (`uncertainty.corrected_paired_t_test`).

        Both results must come from the same folds: the same data, `folds`,
        `repeats`, `shuffle`, `stratify` and `seed`.

        Args:
            other: The `CVResult` of the other model.
            metric: A key of both results' fold scores.
            confidence: Confidence level of the interval. Defaults to 0.95.

        Returns:
            A `PairedTTestResult` whose `difference` is this model's mean score
            minus ``other``'s (for a loss or an error, negative means this model
            is better).
        """
        from lamina.workflow import uncertainty

        owner = "CVResult.compare"
        if not isinstance(other, CVResult):
            raise TypeError(
                f"`{owner}` expects the `CVResult` of another model. Received: {type(other).__name__}."
            )
        self._check_same_folds(other, owner)
        a, b = self._values(metric, owner), other._values(metric, owner)
        return uncertainty.corrected_paired_t_test(a, b, self.n_train, self.n_test, confidence)

    def _check_same_folds(self, other: CVResult, owner: str) -> None:
        fix = (
            "Run `cross_validate` for both models on the same data with the same `folds`, "
            "`repeats`, `shuffle`, `stratify` and `seed`."
        )
        if (self.folds, self.repeats) != (other.folds, other.repeats):
            raise ValueError(
                f"`{owner}` compares two models across the same folds. Received: {self.folds} folds x "
                f"{self.repeats} repeat(s) and {other.folds} folds x {other.repeats} repeat(s). {fix}"
            )
        for i, ((tr_a, te_a), (tr_b, te_b)) in enumerate(
            zip(self.fold_indices, other.fold_indices)
        ):
            if not (np.array_equal(tr_a, tr_b) and np.array_equal(te_a, te_b)):
                repeat, fold = divmod(i, self.folds)
                seeds = (
                    "" if self.seed == other.seed else f" (seed={self.seed} and seed={other.seed})"
                )
                raise ValueError(
                    f"`{owner}` compares two models across the same folds, but fold {fold + 1} of repeat "
                    f"{repeat + 1} holds out different samples{seeds}: {len(te_a)} and {len(te_b)} "
                    f"held out, {len(np.intersect1d(te_a, te_b))} in common. {fix}"
                )

    def _intervals(self, confidence: float = 0.95) -> dict[str, Interval | None]:
        out: dict[str, Interval | None] = {}
        for name in self._names():
            try:
                out[name] = self.interval(name, confidence)
            except ValueError:  # a NaN score: no interval
                out[name] = None
        return out

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """Every number as JSON-able values: the scores of each fit, the fold sizes,
        the means, standard deviations and corrected 95% intervals."""
        intervals = self._intervals()
        return {
            "folds": self.folds,
            "repeats": self.repeats,
            "task": self.task,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "stratified": self.stratified,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "fold_sizes": [list(s) for s in self.fold_sizes],
            "scores": [{k: _number(v) for k, v in s.items()} for s in self.scores],
            "mean": {k: _number(v) for k, v in self.mean.items()},
            "std": {k: _number(v) for k, v in self.std.items()},
            "intervals": {k: None if v is None else v.to_dict() for k, v in intervals.items()},
        }

    def summary(self) -> str:
        """A plain-text table: one row per fold (repeat, fold, sizes, scores), then
        mean ± standard deviation and the corrected 95% interval of the mean."""
        from rich.console import Console
        from rich.table import Table

        names = self._names()
        table = Table(title=f"Cross-validation: {self.folds} folds x {self.repeats} repeat(s)")
        for col in ("Repeat", "Fold", "Train", "Held out"):
            table.add_column(col, justify="right")
        for name in names:
            table.add_column(name, justify="right")
        for i, (score, (tr, va)) in enumerate(zip(self.scores, self.fold_indices)):
            repeat, fold = divmod(i, self.folds)
            table.add_row(
                str(repeat + 1), str(fold + 1), f"{len(tr):,}", f"{len(va):,}",
                *(f"{score[n]:.4f}" for n in names),
            )  # fmt: skip
        mean, std, intervals = self.mean, self.std, self._intervals()
        table.add_section()
        table.add_row("mean ± std", "", "", "", *(f"{mean[n]:.4f} ± {std[n]:.4f}" for n in names))
        table.add_row(
            "95% CI", "", "", "",
            *("-" if intervals[n] is None else f"{intervals[n].low:.4f} to {intervals[n].high:.4f}" for n in names),
        )  # fmt: skip
        buffer = io.StringIO()
        Console(
            file=buffer, width=120, color_system=None, force_terminal=False, no_color=True
        ).print(table)
        buffer.write(
            f"95% CI: Nadeau-Bengio corrected resampled t interval over n={len(self.scores)} fits "
            f"({self.n_train:,} train / {self.n_test:,} held out per fold), which accounts for "
            "the overlap of the training sets.\n"
        )
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        means = ", ".join(f"{k}={v:.4g}" for k, v in self.mean.items())
        return f"CVResult(folds={self.folds}, repeats={self.repeats}, mean: {means})"


def _number(value: float) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    value = float(value)
    return value if math.isfinite(value) else None
