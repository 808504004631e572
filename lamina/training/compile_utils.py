"""What `compile` resolves: the loss per output and the metrics per output.

Single-output models use the loss directly. Multi-output models (lists or
dicts of outputs) take one loss for all outputs, a list aligned with the
outputs, or a dict by output name, with optional `loss_weights`; logs then name
each part `<output>_loss` and `<output>_<metric>`.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import losses as losses_mod
from lamina import metrics as metrics_mod
from lamina.utils.tree import flatten


def _output_keys(y_pred: Any, output_names: list[str] | None) -> list[str]:
    if isinstance(y_pred, dict):
        return list(y_pred.keys())
    n = len(flatten(y_pred))
    if output_names and len(output_names) == n:
        return list(output_names)
    return [f"output_{i}" for i in range(n)]


def _match_targets(y: Any, y_pred: Any, keys: list[str], what: str) -> list[Any]:
    """Returns the targets as a list aligned with the flattened outputs."""
    n = len(keys)
    if n == 1 and not isinstance(y_pred, (list, tuple, dict)):
        if isinstance(y, (list, tuple)) and len(y) == 1:
            return list(y)
        if isinstance(y, dict) and len(y) == 1:
            return list(y.values())
        return [y]
    if isinstance(y, dict):
        extra = [k for k in y if k not in keys]
        if extra:
            raise ValueError(
                f"`{what}` has keys {extra} that match no model output. The outputs are {keys}."
            )
        return [y.get(k) for k in keys]
    if isinstance(y, (list, tuple)):
        if len(y) != n:
            raise ValueError(
                f"The model has {n} outputs ({keys}) but `{what}` has {len(y)} entries. "
                "Pass one target per output (a list in output order, or a dict by output name)."
            )
        return list(y)
    if y is None:
        return [None] * n
    raise ValueError(
        f"The model has {n} outputs ({keys}); pass `{what}` as a list or dict with one entry per "
        f"output. Received a single {type(y).__name__}."
    )


def _per_output(spec: Any, keys: list[str], what: str) -> list[Any]:
    """Spreads a compile argument over the outputs: one for all, a list, or a dict."""
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in keys]
        if unknown:
            raise ValueError(
                f"`{what}` names outputs {unknown} that the model does not have. Its outputs are {keys}."
            )
        return [spec.get(k) for k in keys]
    if isinstance(spec, (list, tuple)) and len(keys) > 1:
        if len(spec) != len(keys):
            raise ValueError(
                f"`{what}` is a list of {len(spec)} but the model has {len(keys)} outputs ({keys})."
            )
        return list(spec)
    return [spec] * len(keys)


class CompiledLoss:
    """The total training loss: per-output losses times their weights."""

    def __init__(self, loss: Any, loss_weights: Any = None) -> None:
        self.spec = loss
        self.loss_weights = loss_weights
        # Resolve names now so an unknown loss name fails in `compile`.
        if isinstance(loss, dict):
            self._resolved: Any = {k: losses_mod.get(v) for k, v in loss.items()}
        elif isinstance(loss, (list, tuple)):
            self._resolved = [losses_mod.get(v) for v in loss]
        else:
            self._resolved = losses_mod.get(loss)
        self.built = False
        self.keys: list[str] = []
        self.fns: list[Any] = []
        self.weights: list[float] = []
        self.single = True

    def build(self, y_pred: Any, output_names: list[str] | None) -> None:
        self.keys = _output_keys(y_pred, output_names)
        self.single = len(self.keys) == 1 and not isinstance(y_pred, (list, tuple, dict))
        if self.single and isinstance(self._resolved, (list, tuple)) and len(self._resolved) == 1:
            self.fns = list(self._resolved)
        elif self.single and isinstance(self._resolved, dict) and len(self._resolved) == 1:
            self.fns = list(self._resolved.values())
        else:
            self.fns = _per_output(self._resolved, self.keys, "loss")
        if all(f is None for f in self.fns):
            raise ValueError("`compile` needs a `loss` for at least one output. Received: loss=None.")
        w = self.loss_weights
        ws = [1.0] * len(self.keys) if w is None else _per_output(w, self.keys, "loss_weights")
        self.weights = [1.0 if v is None else float(v) for v in ws]
        self.built = True

    def __call__(self, y: Any, y_pred: Any, sample_weight: Any = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if not self.built:
            raise RuntimeError("CompiledLoss used before build().")
        if self.single:
            if y is None:
                raise ValueError(
                    "The model was compiled with a loss but no targets `y` were given. Pass `y`, "
                    "or yield (x, y) batches."
                )
            return self.fns[0](y, y_pred, sample_weight), {}
        targets = _match_targets(y, y_pred, self.keys, "y")
        preds = flatten(y_pred) if not isinstance(y_pred, dict) else [y_pred[k] for k in self.keys]
        sws = _match_targets(sample_weight, y_pred, self.keys, "sample_weight") if isinstance(
            sample_weight, (list, tuple, dict)) else [sample_weight] * len(self.keys)
        total: torch.Tensor | None = None
        parts: dict[str, torch.Tensor] = {}
        for key, fn, w, t, p, sw in zip(self.keys, self.fns, self.weights, targets, preds, sws):
            if fn is None:
                continue
            if t is None:
                raise ValueError(f"No target was given for output '{key}', which has a loss.")
            value = fn(t, p, sw)
            parts[f"{key}_loss"] = value.detach()
            total = value * w if total is None else total + value * w
        assert total is not None
        return total, parts

    def get_config(self) -> Any:
        def ser(v: Any) -> Any:
            return None if v is None else losses_mod.serialize(v)

        if isinstance(self._resolved, dict):
            return {k: ser(v) for k, v in self._resolved.items()}
        if isinstance(self._resolved, (list, tuple)):
            return [ser(v) for v in self._resolved]
        return ser(self._resolved)


class CompiledMetrics:
    """The compiled metrics, per output, with device-side state."""

    def __init__(self, metrics: Any) -> None:
        self.spec = metrics
        if metrics is not None and not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(
                "`compile` expects `metrics` to be a list (or a dict by output name). "
                f"Received: metrics={metrics!r}. Did you mean metrics=[{metrics!r}]?"
            )
        # Check names now so an unknown metric fails in `compile`, not mid-fit.
        for m in flatten(metrics) if metrics is not None else []:
            if isinstance(m, str) and m.lower() not in ("accuracy", "acc"):
                metrics_mod.get(m)
        self.built = False
        self.entries: list[tuple[int, str, Any]] = []  # (output index, log name, metric)

    def build(self, y_pred: Any, output_names: list[str] | None, loss_fns: list[Any]) -> None:
        keys = _output_keys(y_pred, output_names)
        single = len(keys) == 1 and not isinstance(y_pred, (list, tuple, dict))
        preds = flatten(y_pred) if not isinstance(y_pred, dict) else [y_pred[k] for k in keys]
        spec = self.spec or []
        if single:
            per_out = [list(spec.values())[0] if isinstance(spec, dict) else spec]
        elif isinstance(spec, dict):
            per_out = _per_output(spec, keys, "metrics")
        elif spec and all(isinstance(s, (list, tuple)) or s is None for s in spec):
            per_out = _per_output(list(spec), keys, "metrics")
        else:
            per_out = [spec] * len(keys)
        self.entries = []
        for i, (key, ms, p) in enumerate(zip(keys, per_out, preds)):
            if ms is None:
                continue
            if not isinstance(ms, (list, tuple)):
                ms = [ms]
            loss_fn = loss_fns[i] if i < len(loss_fns) else None
            for m in ms:
                metric = metrics_mod.get(m, loss=loss_fn, output_shape=tuple(p.shape))
                name = metric.name if single else f"{key}_{metric.name}"
                self.entries.append((i, name, metric))
        self._single = single
        self._keys = keys
        self.built = True

    @property
    def metrics(self) -> list[Any]:
        return [m for _, _, m in self.entries]

    @property
    def names(self) -> list[str]:
        return [n for _, n, _ in self.entries]

    def update(self, y: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not self.entries:
            return
        if self._single:
            for _, _, m in self.entries:
                m.update_state(y, y_pred, sample_weight)
            return
        targets = _match_targets(y, y_pred, self._keys, "y")
        preds = flatten(y_pred) if not isinstance(y_pred, dict) else [y_pred[k] for k in self._keys]
        for i, _, m in self.entries:
            m.update_state(targets[i], preds[i], sample_weight if not isinstance(sample_weight, (list, dict)) else None)

    def reset(self) -> None:
        for _, _, m in self.entries:
            m.reset_state()

    def results(self) -> dict[str, Any]:
        """Results as 0-d tensors (still on the device)."""
        return {n: m.result() for _, n, m in self.entries}


class LossTracker(metrics_mod.Mean):
    """The running mean of a loss over an epoch (Keras's `loss` tracker).

    `update_state(value, sample_weight=n)` with a Python int `n` (the batch size)
    only queues the value: the weighted sum is formed when the result is read,
    so tracking the loss adds no device work to a training step. Any other
    `sample_weight` takes `Mean`'s general path.
    """

    def __init__(self, name: str = "loss", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self._pending: list[tuple[torch.Tensor, int]] = []
        self.seen = False  # whether anything was tracked since the last reset

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        self.seen = True
        if isinstance(values, torch.Tensor) and values.numel() == 1 and (
            sample_weight is None or (isinstance(sample_weight, int) and not isinstance(sample_weight, bool))
        ):
            self._pending.append((values.detach(), 1 if sample_weight is None else sample_weight))
            return
        self._fold()
        with torch.no_grad():
            super().update_state(values, sample_weight)

    update_state._lamina_no_grad = True  # type: ignore[attr-defined]  # only queues detached values

    def _fold(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.stack([v.reshape(()).to(self._state_dtype) for v, _ in pending])
        self._to_device(values.device)
        weights = torch.tensor([n for _, n in pending], dtype=values.dtype, device=values.device)
        with torch.no_grad():
            self.total += (values * weights).sum()
            self.count += weights.sum()

    def result(self) -> torch.Tensor:
        self._fold()
        return super().result()

    def reset_state(self) -> None:
        self._pending = []
        self.seen = False
        super().reset_state()


class CompileMetrics(metrics_mod.Metric):
    """The metrics given to `compile`, as one metric (Keras's `compile_metrics`).

    It sits in `model.metrics` next to the loss tracker, so a custom `train_step`
    can update every metric with `metric.update_state(y, y_pred)`; its
    `result()` is a dict by log name. It resolves the metric names on the
    first batch (the output shapes decide what `"accuracy"` means).

    `metrics` are updated without sample weights; `weighted_metrics` with them,
    as in Keras 3.
    """

    def __init__(self, metrics: Any, weighted_metrics: Any = None, name: str = "compile_metrics") -> None:
        super().__init__(name=name)
        self.unweighted = CompiledMetrics(metrics)
        self.weighted = CompiledMetrics(weighted_metrics)
        self.output_names: list[str] | None = None
        self.loss_fns: list[Any] = []

    @property
    def built(self) -> bool:
        return self.unweighted.built and self.weighted.built

    def build(self, y_pred: Any, output_names: list[str] | None = None, loss_fns: list[Any] | None = None) -> None:
        names = output_names if output_names is not None else self.output_names
        fns = loss_fns if loss_fns is not None else self.loss_fns
        self.unweighted.build(y_pred, names, fns)
        self.weighted.build(y_pred, names, fns)
        taken = set(self.unweighted.names)
        renamed = []
        for i, n, m in self.weighted.entries:
            # Keras logs a weighted metric that shares a name as `weighted_<name>`.
            renamed.append((i, f"weighted_{n}" if n in taken else n, m))
        self.weighted.entries = renamed

    @property
    def entries(self) -> list[tuple[int, str, Any]]:
        return self.unweighted.entries + self.weighted.entries

    @property
    def metrics(self) -> list[Any]:
        return self.unweighted.metrics + self.weighted.metrics

    @property
    def names(self) -> list[str]:
        return self.unweighted.names + self.weighted.names

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not self.built:
            self.build(y_pred)
        self.unweighted.update(y_true, y_pred, None)
        self.weighted.update(y_true, y_pred, sample_weight)

    update_state._lamina_no_grad = True  # type: ignore[attr-defined]  # each metric runs without grad itself

    def result(self) -> dict[str, Any]:  # type: ignore[override]
        out = self.unweighted.results()
        out.update(self.weighted.results())
        return out

    def reset_state(self) -> None:
        self.unweighted.reset()
        self.weighted.reset()

    def get_config(self) -> dict[str, Any]:
        return {"metrics": self.unweighted.spec, "weighted_metrics": self.weighted.spec}
