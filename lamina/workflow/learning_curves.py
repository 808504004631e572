"""`learning_curve`: training and dev error as the training set grows.

Train a fresh model on growing subsets of the training set (10%, 25%, 50%,
100%: stratified for classification, each subset inside the next) and measure
its error on that subset and on the whole dev set. The shape of the two curves
answers a costly question before anyone collects data:

* the dev error is still falling at the largest size and stays well above the
  training error: **more data will help** (variance);
* the curves have met (little gap) but the error is high: more data will
  **not** help; the model underfits (bias): use a bigger model, train longer;
* the curves have met near the target error: the model is as good as this
  setup allows.

Example:
    >>> curve = learning_curve(build, x_train, y_train, x_dev, y_dev,
    ...                        fit_kwargs={"epochs": 20})  # doctest: +SKIP
    >>> print(curve.reading())  # doctest: +SKIP
    >>> curve.plot("learning_curve.png")  # doctest: +SKIP
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from lamina.data.splits import infer_task, label_vector, num_samples, take, to_numpy
from lamina.utils import validation
from lamina.workflow.diagnose import _loss_of, classification_error, regression_error

__all__ = ["LearningCurve", "LearningCurveReading", "learning_curve"]

VERDICTS = ("more_data", "variance_plateau", "bias", "converged")


@dataclass
class LearningCurveReading:
    """What a learning curve says: would more data help?

    Attributes:
        verdict: ``"more_data"`` (dev error still falling, with a gap to the
            training error), ``"variance_plateau"`` (a gap, but the dev error has
            stopped falling), ``"bias"`` (curves converged at a high error) or
            ``"converged"`` (curves converged near the target).
        more_data_helps: True only for ``"more_data"``.
        gap: Dev error minus training error at the largest size.
        dev_slope: Fall of the dev error per doubling of the data between the two
            largest sizes (positive = still falling).
        bias: Training error at the largest size minus the target error.
        tolerance: Differences at or below this count as none.
        message: The reading in words, with what to do.
    """

    verdict: str
    more_data_helps: bool
    gap: float
    dev_slope: float
    bias: float
    tolerance: float
    message: str

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Returns every field as JSON-serialisable values."""
        return asdict(self)


@dataclass
class LearningCurve:
    """Training and dev error per training-set size, from `learning_curve`.

    Attributes:
        sizes: Training samples used at each point, increasing.
        fractions: The fraction of the training set at each point.
        train_errors: Error on the samples trained on, per size.
        dev_errors: Error on the whole dev set, per size.
        task: ``"classification"`` or ``"regression"``.
        metric: ``"error"`` (1 − accuracy), ``"mae"`` or ``"rmse"``.
        seconds: Wall time of each fit, per size.
        n_dev: Samples in the dev set (0 when unknown); sets the noise level of
            the dev error, used by `reading`.
    """

    sizes: list[int]
    fractions: list[float]
    train_errors: list[float]
    dev_errors: list[float]
    task: str
    metric: str
    seconds: list[float] = field(default_factory=list)
    n_dev: int = 0

    def _fmt(self, value: float) -> str:
        return f"{100 * value:.2f}%" if self.metric == "error" else f"{value:.4g}"

    def reading(
        self, target_error: float = 0.0, tolerance: float | None = None
    ) -> LearningCurveReading:
        """Interprets the curves: would more data help, or is it bias?

        Args:
            target_error: The error you could hope for (human level, or a good
                baseline's). Defaults to `0.0`, which makes the bias an upper bound.
            tolerance: Differences at or below this count as none. Defaults to
                the larger of 0.01 (one percentage point) and the standard error
                of the final dev error, ``sqrt(e (1 - e) / n_dev)``, for
                classification (a smaller gap is within the dev set's noise), and
                to 5% of the largest error for regression.

        Returns:
            A `LearningCurveReading`; `str()` of it is the reading in words.
        """
        validation.number("LearningCurve.reading", "target_error", target_error, low=0.0)
        validation.number("LearningCurve.reading", "tolerance", tolerance, low=0.0, allow_none=True)
        if tolerance is None:
            if self.metric == "error":
                e = self.dev_errors[-1]
                tolerance = max(0.01, math.sqrt(e * (1 - e) / self.n_dev) if self.n_dev else 0.0)
            else:
                tolerance = 0.05 * max(self.train_errors + self.dev_errors + [1e-12])
        tol = float(tolerance)
        fmt = self._fmt
        train, dev, n = self.train_errors[-1], self.dev_errors[-1], self.sizes[-1]
        gap = dev - train
        if len(self.sizes) >= 2 and self.sizes[-1] > self.sizes[-2]:
            dev_slope = (self.dev_errors[-2] - dev) / math.log2(self.sizes[-1] / self.sizes[-2])
        else:
            dev_slope = 0.0
        bias = train - float(target_error)
        falling = dev_slope > tol
        numbers = (
            f"At {n:,} training samples the training error is {fmt(train)} and the dev error "
            f"{fmt(dev)} (gap {fmt(gap)}); between the two largest sizes the dev error fell by "
            f"{fmt(dev_slope)} per doubling of the data."
        )
        target = f"the target error ({fmt(target_error)})" if target_error else "zero error"
        if gap > tol and falling:
            verdict = "more_data"
            advice = (
                "Yes, more data should help: the dev error is still falling and stays well above the "
                "training error (variance). Collect or augment data; regularisation also narrows the gap."
            )
        elif gap > tol:
            verdict = "variance_plateau"
            advice = (
                "More data of the same kind will help little: the dev error has flattened out, yet stays "
                "above the training error (variance). Regularise (dropout, L2, early stopping) or use a "
                "smaller model, and do error analysis on the dev errors."
            )
        elif bias > tol:
            verdict = "bias"
            advice = (
                f"No, more data will not help: the curves have converged, but at an error well above "
                f"{target} (bias). Use a bigger model or a better architecture, train longer, or "
                "reduce regularisation."
            )
        else:
            verdict = "converged"
            advice = (
                f"The curves have converged close to {target}: more data will not change much. "
                "Look at the remaining errors (error analysis) or raise the target."
            )
        if verdict in ("more_data", "variance_plateau") and bias > tol:
            advice += f" The training error itself is also well above {target}, so a bigger model may help too."
        if verdict in ("bias", "converged") and falling:
            advice += (
                " (The dev error was still falling a little: a larger training set may gain a bit.)"
            )
        return LearningCurveReading(
            verdict=verdict,
            more_data_helps=verdict == "more_data",
            gap=gap,
            dev_slope=dev_slope,
            bias=bias,
            tolerance=tol,
            message=f"{numbers} {advice}",
        )

    def to_dict(self) -> dict[str, Any]:
        """Returns the curve and its reading as JSON-serialisable values."""
        out = asdict(self)
        out["reading"] = self.reading().to_dict()
        return out

    def table(self, width: int = 100) -> str:
        """The curve as a plain-text table."""
        t = Table(title=f"Learning curve ({self.task}, metric: {self.metric})", box=box.SIMPLE_HEAD)
        for col in ("fraction", "samples", "train error", "dev error", "gap", "fit (s)"):
            t.add_column(col, justify="right")
        for i, size in enumerate(self.sizes):
            secs = f"{self.seconds[i]:.1f}" if i < len(self.seconds) else "-"
            t.add_row(
                f"{self.fractions[i]:.2f}",
                f"{size:,}",
                self._fmt(self.train_errors[i]),
                self._fmt(self.dev_errors[i]),
                self._fmt(self.dev_errors[i] - self.train_errors[i]),
                secs,
            )
        buffer = io.StringIO()
        Console(
            file=buffer, width=width, color_system=None, force_terminal=False, no_color=True
        ).print(t)
        return buffer.getvalue()

    def __str__(self) -> str:
        return f"{self.table().rstrip()}\n\n{self.reading()}"

    def plot(self, path: str | os.PathLike | None = None, ax: Any = None) -> Any:
        """Plots training and dev error against the training-set size.

        Args:
            path: Where to save the figure as PNG. Defaults to `None` (not saved).
            ax: A matplotlib `Axes` to draw on. Defaults to `None` (a new figure).

        Returns:
            The matplotlib `Figure`.
        """
        from lamina.workflow import plots

        if ax is None:
            fig, ax = plots.new_figure(6.0, 4.0)
        else:
            fig = ax.figure
        scale = 100.0 if self.metric == "error" else 1.0
        ax.plot(self.sizes, np.array(self.train_errors) * scale, marker="o", label="training error")
        ax.plot(self.sizes, np.array(self.dev_errors) * scale, marker="o", label="dev error")
        ax.fill_between(
            self.sizes,
            np.array(self.train_errors) * scale,
            np.array(self.dev_errors) * scale,
            alpha=0.12,
            color="gray",
        )
        ax.set_xscale("log")
        ax.set_xticks(self.sizes)
        ax.set_xticklabels([f"{s:,}" for s in self.sizes])
        ax.minorticks_off()
        ax.set(
            xlabel="training samples (log scale)",
            ylabel="error (%)" if self.metric == "error" else self.metric,
            title=f"Learning curve: {self.reading().verdict.replace('_', ' ')}",
        )
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        if path is not None:
            plots.save_figure(fig, path)
        return fig


# --------------------------------------------------------------------------- subsets


def nested_order(y: Any, task: str, seed: int) -> np.ndarray:
    """A random order of the samples whose every prefix keeps the class proportions.

    For classification each sample gets the key ``(rank within its class + u) /
    class count`` with ``u`` uniform in [0, 1); sorting by the key interleaves the
    classes, so the first ``n`` samples hold about ``n × share`` of each class and
    smaller subsets are contained in larger ones. For regression: a permutation.
    """
    rng = np.random.default_rng(seed)
    n = num_samples(y, "y")
    if task != "classification":
        return rng.permutation(n)
    labels = label_vector(y)
    _, codes = np.unique(labels, return_inverse=True)
    keys = np.empty(n, dtype=np.float64)
    for c in np.unique(codes):
        members = np.flatnonzero(codes == c)
        members = members[rng.permutation(len(members))]
        keys[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(keys, kind="stable")


def _check_fractions(fractions: Any) -> list[float]:
    if isinstance(fractions, (str, bytes)) or not isinstance(fractions, Sequence) or not fractions:
        raise ValueError(
            "`learning_curve` expects `fractions` to be a non-empty list of numbers in (0, 1]. "
            f"Received: fractions={fractions!r}."
        )
    out = []
    for f in fractions:
        validation.number("learning_curve", "fractions", f, low=0.0, high=1.0, low_inclusive=False)
        out.append(float(f))
    return sorted(set(out))


def learning_curve(
    build_fn: Callable[[], Any],
    x_train: Any,
    y_train: Any,
    x_dev: Any,
    y_dev: Any,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    fit_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    task: str = "auto",
    metric: str = "auto",
    verbose: int = 0,
) -> LearningCurve:
    """Trains a fresh model on growing training subsets and measures train and dev error.

    For each fraction, `build_fn()` makes a new compiled model (after
    `lamina.set_seed(seed)`, so every size starts alike), `fit` trains it on the
    first ``fraction × n`` samples of a random order, and `predict` gives its error
    on those samples and on the whole dev set. For classification the order is
    stratified and nested: every subset keeps the class proportions and contains
    the smaller ones, so the points differ only by the added data.

    Errors are those of `lamina.workflow.diagnose`: 1 − accuracy for
    classification, the MAE (or RMSE) for regression.

    Args:
        build_fn: A function with no arguments that returns a new compiled model.
        x_train: Training inputs (array, tensor, pandas, or a dict / list of those).
        y_train: Training targets.
        x_dev: Dev inputs.
        y_dev: Dev targets.
        fractions: Shares of the training set to train on, in (0, 1]. Defaults to
            `(0.1, 0.25, 0.5, 1.0)`.
        fit_kwargs: Keyword arguments of `fit` (`epochs`, `batch_size`,
            `callbacks`, ...); `verbose` defaults to 0. Defaults to `None`.
        seed: Seed of the subset order and of each model's initialisation.
            Defaults to `0`.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (from `y_train`,
            see `lamina.data.infer_task`). Defaults to `"auto"`.
        metric: ``"error"``, ``"mae"``, ``"rmse"`` or ``"auto"`` (error for
            classification, MAE for regression). Defaults to `"auto"`.
        verbose: 1 prints one line per size. Defaults to `0`.

    Returns:
        A `LearningCurve` with `reading()`, `plot()` and `to_dict()`.

    Example:
        >>> import lamina
        >>> from lamina import layers
        >>> from lamina.data import load_iris, split
        >>> from lamina.workflow import learning_curve
        >>> s = split(*load_iris(), dev=0.3, test=0.1)
        >>> def build():
        ...     m = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(3, activation="softmax")])
        ...     m.compile(optimizer=lamina.optimizers.Adam(0.05),
        ...               loss="sparse_categorical_crossentropy")
        ...     return m
        >>> curve = learning_curve(build, *s.train, *s.dev, fractions=(0.5, 1.0),
        ...                        fit_kwargs={"epochs": 5})
        >>> curve.sizes
        [45, 90]
    """
    import lamina

    owner = "learning_curve"
    if not callable(build_fn):
        raise TypeError(
            f"`{owner}` expects `build_fn` to be a function that returns a new compiled model. "
            f"Received: build_fn of type {type(build_fn).__name__}."
        )
    fracs = _check_fractions(fractions)
    validation.non_negative_int(owner, "seed", seed)
    validation.one_of(owner, "task", task, ("auto", "classification", "regression"))
    validation.one_of(owner, "metric", metric, ("auto", "error", "mae", "rmse"))
    validation.one_of(owner, "verbose", verbose, (0, 1))
    kwargs = dict(fit_kwargs or {})
    for reserved in ("x", "y", "validation_split"):
        if reserved in kwargs:
            raise ValueError(
                f"`{owner}` passes the training subsets to `fit` itself. Received: "
                f"fit_kwargs with {reserved!r}. Remove it."
            )
    kwargs.setdefault("verbose", 0)
    n = num_samples(x_train, "x_train")
    if num_samples(y_train, "y_train") != n:
        raise ValueError(
            f"`{owner}` expects as many training targets as inputs. Received: {n} inputs, "
            f"{num_samples(y_train, 'y_train')} targets."
        )
    if task == "auto":
        task = infer_task(y_train)
    if metric == "auto":
        metric = "error" if task == "classification" else "mae"
    if (task == "classification") != (metric == "error"):
        raise ValueError(
            f"`{owner}` measures classification with metric='error' and regression with 'mae' or "
            f"'rmse'. Received: task={task!r}, metric={metric!r}."
        )
    n_classes = len(np.unique(label_vector(y_train))) if task == "classification" else 1
    order = nested_order(y_train, task, seed)
    sizes = [max(1, round(f * n)) for f in fracs]
    if task == "classification" and sizes[0] < n_classes:
        raise ValueError(
            f"`{owner}` needs at least one sample per class in the smallest subset. Received: "
            f"fractions={fracs!r} giving {sizes[0]} sample(s) for {n_classes} classes. Raise the "
            "smallest fraction."
        )
    y_dev_np = to_numpy(y_dev)

    def error(model: Any, x: Any, y: np.ndarray) -> float:
        y_pred = np.asarray(model.predict(x, verbose=0))
        if task == "classification":
            return classification_error(y, y_pred, loss=_loss_of(model))
        return regression_error(y, y_pred, metric)

    curve = LearningCurve([], [], [], [], task, metric, n_dev=len(y_dev_np))
    for frac, size in zip(fracs, sizes):
        idx = np.sort(order[:size])
        x_sub, y_sub = take(x_train, idx), take(y_train, idx)
        lamina.set_seed(seed)
        model = build_fn()
        if not callable(getattr(model, "fit", None)) or not callable(
            getattr(model, "predict", None)
        ):
            raise TypeError(
                f"`{owner}` expects `build_fn()` to return a compiled Lamina model. "
                f"Received: {type(model).__name__}."
            )
        t0 = time.perf_counter()
        model.fit(x_sub, y_sub, **kwargs)
        curve.seconds.append(time.perf_counter() - t0)
        curve.sizes.append(size)
        curve.fractions.append(frac)
        curve.train_errors.append(error(model, x_sub, to_numpy(y_sub)))
        curve.dev_errors.append(error(model, x_dev, y_dev_np))
        if verbose:
            print(
                f"learning curve: {size:,} samples ({frac:.0%}): train {curve._fmt(curve.train_errors[-1])}, "
                f"dev {curve._fmt(curve.dev_errors[-1])} ({curve.seconds[-1]:.1f}s)"
            )
    return curve
