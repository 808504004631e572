"""What `fit` and `evaluate` remember for the model's reference profile.

`Trainer.fit` calls `remember_training_data` once the training data is adapted
and `remember_fit_logs` when training ends; `Trainer.evaluate` calls
`remember_evaluation`. Each must be cheap: the profile itself is computed
lazily (at save time or when asked for), never inside the training loop.

At fit time only a bounded random sample of the training inputs is kept: up to
`MAX_ROWS` rows and `MAX_BYTES` bytes, copied to host memory once per `fit`
(in-memory arrays), or, for a map-style `torch.utils.data.Dataset`, only the
chosen indices (the items are read when the profile is computed). Generators,
other iterables and `PyDataset`s give no profile. A new `fit` replaces the
sample and forgets the scores of earlier `evaluate` calls. `set_reference_data`
replaces the sample with other inputs (e.g. the data before augmentation).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

MAX_ROWS = 2_000
MAX_BYTES = 32 * 1024 * 1024
MIN_ROWS = 20
_ATTR = "_lamina_reference_state"


class _State:
    """The monitoring state kept on a model (outside its `state_dict`)."""

    def __init__(self) -> None:
        self.sample: Any = None  # inputs on the host, or a callable returning them
        self.column_names: list[str] | None = None
        self.fit_logs: dict[str, float] = {}
        self.eval_logs: dict[str, float] = {}
        self.profile: Any = None
        self.failed = False


def _state(model: Any, create: bool = True) -> _State | None:
    state = model.__dict__.get(_ATTR)
    if state is None and create:
        state = _State()
        object.__setattr__(model, _ATTR, state)  # not an nn.Module attribute: no tracking
    return state


def _row_bytes(x: Any) -> int:
    from lamina.utils.tree import flatten

    total = 0
    for leaf in flatten(x):
        if hasattr(leaf, "shape") and len(leaf.shape) and leaf.shape[0]:
            size = leaf.element_size() * leaf.numel() if isinstance(leaf, torch.Tensor) else leaf.nbytes
            total += size // leaf.shape[0]
    return max(total, 1)


def _sample_size(n: int, row_bytes: int) -> int:
    return int(min(n, MAX_ROWS, max(MIN_ROWS, MAX_BYTES // row_bytes)))


def _take_rows(x: Any, idx: np.ndarray) -> Any:
    def take(a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            if a.device.type == "cpu" and a.dtype != torch.bfloat16:
                return a.detach().numpy()[idx]  # NumPy's take: no torch thread pool for 2,000 rows
            rows = a[torch.as_tensor(idx, device=a.device)].detach()  # on the device, then one copy
            return (rows.float() if rows.dtype == torch.bfloat16 else rows).cpu().numpy()
        return np.asarray(a[idx])

    if isinstance(x, dict):
        return {k: take(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [take(v) for v in x]
    return take(x)


def remember_training_data(model: Any, adapter: Any) -> None:
    """Keeps a bounded sample of the training inputs held by `adapter`."""
    state = _state(model)
    state.sample, state.profile, state.failed = None, None, False
    state.fit_logs, state.eval_logs = {}, {}
    state.column_names = getattr(adapter, "column_names", None)
    rng = np.random.default_rng(0)  # its own generator: fit's random streams are untouched
    try:
        if hasattr(adapter, "num_samples") and hasattr(adapter, "x"):
            n = int(adapter.num_samples)
            k = _sample_size(n, _row_bytes(adapter.x))
            idx = np.sort(rng.choice(n, size=k, replace=False)) if k < n else np.arange(n)
            state.sample = _take_rows(adapter.x, idx)
            return
        loader = getattr(adapter, "data", None)
        dataset = getattr(loader, "dataset", None)
        if _map_style(dataset):
            n = len(dataset)
            k = min(n, MAX_ROWS)
            idx = np.sort(rng.choice(n, size=k, replace=False)) if k < n else np.arange(n)
            state.sample = _DatasetSample(dataset, idx, getattr(loader, "collate_fn", None))
    except Exception as e:  # noqa: BLE001 - monitoring must never break training
        warnings.warn(f"No reference profile is recorded for this fit: {type(e).__name__}: {e}", stacklevel=3)
        state.sample = None


def set_reference_data(model: Any, x: Any) -> None:
    """Profiles ``x`` instead of the inputs `fit` saw: the data live traffic should
    look like, when training saw something else (augmented copies, oversampled
    classes, synthetic rows). A bounded random sample is kept as in `fit`; the
    profile (with the model's predictions on it, its current weights) is computed
    when next asked for. The scores `fit` and `evaluate` recorded are kept.

    Args:
        model: A Lamina model.
        x: The reference inputs as the model takes them: an array, a torch tensor,
            a DataFrame, or a dict / list of them (rows first).

    Example:
        >>> import numpy as np, lamina
        >>> from lamina.monitoring import set_reference_data
        >>> model = lamina.Sequential([lamina.Input(shape=(2,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> x = np.random.default_rng(0).normal(size=(100, 2)).astype("float32")
        >>> _ = model.fit(np.concatenate([x, x + 5.0]), np.zeros((200, 1)), epochs=1, verbose=0)
        >>> set_reference_data(model, x)
        >>> model.reference_profile.n_rows
        100
    """
    from lamina.utils.tree import flatten

    columns = [str(c) for c in x.columns] if hasattr(x, "columns") and hasattr(x, "to_numpy") else None
    if columns is not None:
        x = x.to_numpy()
    leaves = [leaf for leaf in flatten(x) if hasattr(leaf, "shape")] if not isinstance(x, np.ndarray) else [x]
    if not leaves or any(len(leaf.shape) == 0 for leaf in leaves):
        raise ValueError(
            "`set_reference_data` expects the inputs as the model takes them: an array, a tensor, "
            f"a DataFrame, or a dict / list of arrays, rows first. Received: {type(x).__name__}."
        )
    rows = {int(leaf.shape[0]) for leaf in leaves}
    if len(rows) != 1 or min(rows) < 2:
        raise ValueError(
            "`set_reference_data` needs at least 2 rows, the same number in every input. "
            f"Received: {sorted(rows)} rows. Pass the reference inputs, rows first."
        )
    n = rows.pop()
    k = _sample_size(n, _row_bytes(x))
    idx = np.sort(np.random.default_rng(0).choice(n, size=k, replace=False)) if k < n else np.arange(n)
    state = _state(model)
    state.sample, state.profile, state.failed = _take_rows(x, idx), None, False
    state.column_names = columns


def _map_style(dataset: Any) -> bool:
    from torch.utils.data import IterableDataset

    return (dataset is not None and not isinstance(dataset, IterableDataset)
            and hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"))


class _DatasetSample:
    """Chosen items of a map-style dataset, read and collated (with the loader's
    `collate_fn`) only when called; the inputs ``x`` of the batch are returned."""

    def __init__(self, dataset: Any, idx: np.ndarray, collate_fn: Any = None) -> None:
        self.dataset, self.idx, self.collate_fn = dataset, idx, collate_fn

    def __call__(self) -> Any:
        from torch.utils.data import default_collate

        from lamina.training.data_adapter import unpack_x_y_sample_weight

        batch = (self.collate_fn or default_collate)([self.dataset[int(i)] for i in self.idx])
        x = unpack_x_y_sample_weight(batch)[0]
        return _take_rows(x, np.arange(len(self.idx)))


def remember_fit_logs(model: Any, logs: dict[str, Any]) -> None:
    """Keeps the last epoch's held-out (``val_*``) scores."""
    state = _state(model)
    state.fit_logs = {k: v for k, v in _floats(logs).items() if k.startswith("val_")}
    if state.sample is not None:  # a profile taken during fit (a checkpoint) had earlier weights
        state.profile, state.failed = None, False


def remember_evaluation(model: Any, logs: dict[str, Any]) -> None:
    """Keeps the scores of the latest `evaluate` call."""
    _state(model).eval_logs = _floats(logs)


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in (logs or {}).items():
        try:
            value = float(v)
        except (TypeError, ValueError):
            continue
        if np.isfinite(value):
            out[str(k)] = value
    return out


def set_profile(model: Any, profile: Any) -> None:
    """Attaches a profile read from a file (its scores become the known scores)."""
    state = _state(model)
    state.sample, state.profile, state.failed = None, profile, False
    if profile is not None:
        state.fit_logs, state.eval_logs = dict(profile.scores["fit"]), dict(profile.scores["evaluate"])


def reference_profile(model: Any) -> Any:
    """The model's `ReferenceProfile` (computed on first use), or None."""
    state = _state(model, create=False)
    if state is None:
        return None
    if state.profile is None and state.sample is not None and not state.failed:
        try:
            state.profile = _compute(model, state)
        except Exception as e:  # noqa: BLE001 - a model without a profile still works and saves
            state.failed = True
            warnings.warn(
                f"Could not compute the reference profile of model '{getattr(model, 'name', '?')}': "
                f"{type(e).__name__}: {e}. Drift monitoring is off for it.",
                stacklevel=2,
            )
    if state.profile is not None:
        state.profile.scores = {"fit": dict(state.fit_logs), "evaluate": dict(state.eval_logs)}
        names = getattr(model, "class_names", None)
        if names is not None:  # may be set after fit (e.g. just before saving)
            state.profile.class_names = [str(c) for c in names]
    return state.profile


def _compute(model: Any, state: _State) -> Any:
    from lamina.monitoring.reference import ReferenceProfile

    sample = state.sample() if callable(state.sample) else state.sample
    task, transform = task_from_loss(getattr(model, "loss", None))
    try:
        predictions = _predict(model, sample)
    except Exception as e:  # noqa: BLE001 - profile the inputs alone
        warnings.warn(f"The reference profile has no predictions: predict failed ({type(e).__name__}: {e}).", stacklevel=3)
        predictions = None
    names = getattr(model, "input_names", None)
    try:
        names = list(names) if names else None
    except TypeError:
        names = None
    return ReferenceProfile.from_data(
        sample, predictions, task=task, prediction_transform=transform, input_names=names,
        column_names=state.column_names, class_names=getattr(model, "class_names", None),
    )


def _predict(model: Any, sample: Any) -> Any:
    """The model's outputs on the sample: straight through the inference path that
    `predict` takes for arrays (internal bookkeeping: no callbacks, no progress, and
    not counted as a user's `predict` call), else `predict` itself."""
    from lamina import runtime
    from lamina.training import inference
    from lamina.training.trainer import Trainer

    if type(model).predict_step is Trainer.predict_step:
        result = inference.predict_arrays(model, sample, 256, runtime.get_device())
        if result is not None:
            return result
    return model.predict(sample, batch_size=256, verbose=0)


def task_from_loss(loss: Any) -> tuple[str | None, str | None]:
    """``(task, transform)`` from the compiled loss (None when it does not say): the task
    is "binary", "classification" or "regression", the transform "sigmoid" / "softmax"
    when the loss takes logits. `lamina serve` reads its outputs the same way."""
    if loss is None or isinstance(loss, (dict, list, tuple)):
        return None, None
    if isinstance(loss, str):
        from lamina import losses

        try:
            loss = losses.get(loss)
        except (ValueError, TypeError):
            return None, None
    kind = getattr(loss, "kind", None)
    logits = bool(getattr(loss, "from_logits", False))
    if kind == "binary_crossentropy":
        return "binary", "sigmoid" if logits else None
    if kind in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        return "classification", "softmax" if logits else None
    if kind == "regression":
        return "regression", None
    return None, None
