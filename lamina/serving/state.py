"""One served model: loading and warm-up, its batcher, metrics and monitoring.

Monitoring (drift window updates, feedback records, reports) runs in its own
single thread, after the answers are sent, so it never delays a prediction and
the monitors see their calls in order. Feedback keys: a one-row request is
recorded under its id; the rows of an n-row request under ``"{id}:{i}"``
(``POST /v1/feedback`` takes ``{"id": id, "label": y}`` for one row, or
``{"id": id, "labels": [y0, y1, ...]}`` for all rows of a request).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lamina.serving.backends import BACKENDS, make_backend
from lamina.serving.batcher import MicroBatcher
from lamina.serving.metrics import ServerMetrics
from lamina.serving.outputs import OutputInfo, describe_outputs
from lamina.serving.schema import ClientError, InputSpec, input_specs, validate_inputs

logger = logging.getLogger("lamina.serving")
_MAX_PENDING_MONITOR_TASKS = 16
_FLUSH_ROWS = 256
_FLUSH_SECONDS = 0.5


class ServedModel:
    """The model behind one app (see `lamina.serving.app.create_app` for the arguments)."""

    def __init__(self, model_or_path: Any, backend: str = "torch", max_batch: int = 64,
                 max_wait_ms: float = 5.0, window: int = 500) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"`backend` must be one of {BACKENDS}. Received: backend={backend!r}. "
                             "Use 'torch' or 'onnx'.")
        if not isinstance(window, int) or isinstance(window, bool) or window < 1:
            raise ValueError(f"`window` must be a positive integer. Received: window={window!r}.")
        self.source, self.backend_name, self.window = model_or_path, backend, window
        self.model: Any = None if isinstance(model_or_path, (str, os.PathLike)) else model_or_path
        self.specs: list[InputSpec] = []
        self.outputs: OutputInfo = OutputInfo([], [], [])
        self.backend: Any = None
        self.profile: Any = None
        self.monitor: Any = None
        self.tracker: Any = None
        self.ready = False
        self.load_error: str | None = None
        self.started = time.time()
        self.batcher = MicroBatcher(self._run_batch, max_batch=max_batch, max_wait_ms=max_wait_ms,
                                    on_batch=self._on_batch)
        self.monitor_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lamina-monitor")
        self._pending_batches: list[tuple[dict[str, np.ndarray], list[np.ndarray]]] = []
        self._pending_records: list[tuple[str, list[np.ndarray]]] = []
        self._pending_rows = 0
        self._pending_tasks = 0
        self._tasks_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._drift_report: Any = None
        self._feedback_summary: Any = None
        self.metrics = ServerMetrics(lambda: self._drift_report, lambda: self._feedback_summary)
        self._loader: asyncio.Task | None = None
        self.on_load_failure: Any = None  # `lamina serve` stops the server (exit 1) when set

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        await self.batcher.start()
        self._loader = asyncio.get_running_loop().create_task(self._load())

    async def stop(self) -> None:
        if self._loader is not None and not self._loader.done():
            self._loader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._loader
        await self.batcher.stop()
        self.monitor_executor.shutdown(wait=False, cancel_futures=True)

    async def _load(self) -> None:
        try:
            if self.model is None:
                from lamina.saving.model_io import load_model

                self.model = await self.batcher.call(load_model, self.source)
            self.specs = input_specs(self.model)
            self.backend = await self.batcher.call(make_backend, self.model, self.specs, self.backend_name)
            rows = [s.example_row() for s in self.specs]
            example = [rows[0]] * 2 if len(self.specs) == 1 else {s.name: [r] * 2 for s, r in zip(self.specs, rows)}
            arrays, _ = validate_inputs(example, self.specs)
            outputs = await self.batcher.call(self.backend.run, arrays)  # the warm-up
            self.profile = _profile_of(self.model)
            self.outputs = describe_outputs(self.model, self.backend.output_names or ["output"], outputs, self.profile)
            if self.profile is not None:
                try:
                    await asyncio.get_running_loop().run_in_executor(self.monitor_executor, self._make_monitors)
                except Exception:  # noqa: BLE001 - serve without monitoring rather than not at all
                    logger.exception("Could not start drift monitoring; serving without it")
                    self.monitor = self.tracker = None
            self.ready = True
        except asyncio.CancelledError:
            raise
        except Exception as e:  # reported by /readyz; the process stays up to say why
            logger.exception("Could not load the model")
            self.load_error = f"{type(e).__name__}: {e}"
            if self.on_load_failure is not None:
                self.on_load_failure()

    def _make_monitors(self) -> None:
        from lamina.monitoring import DriftMonitor, FeedbackTracker

        self.monitor = DriftMonitor(self.profile, window=self.window)
        self.tracker = FeedbackTracker(self.profile)

    def not_ready_error(self) -> ClientError:
        if self.load_error is not None:
            return ClientError(503, "model", "a loaded model", self.load_error[:300],
                               "The model failed to load; see the server log, fix the file and restart.")
        return ClientError(503, "model", "a loaded, warmed-up model", "a model still starting",
                           "Retry once GET /readyz answers 200.")

    # ------------------------------------------------------------------ batches
    def _run_batch(self, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.backend.run(arrays)

    def _on_batch(self, inputs: dict[str, np.ndarray], outputs: list[np.ndarray], items: list[Any]) -> None:
        self.metrics.batch_size.observe(sum(it.n_rows for it in items))
        if self.monitor is not None:
            self._pending_batches.append((inputs, outputs))
            self._pending_rows += len(outputs[0])
            self._maybe_flush()

    def record_predictions(self, request_id: str, outputs: list[np.ndarray]) -> None:
        """Remembers each row's prediction for later feedback (a no-op without a profile)."""
        if self.tracker is not None:
            self._pending_records.append((request_id, outputs))
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self._pending_rows >= _FLUSH_ROWS or len(self._pending_records) >= _FLUSH_ROWS or (
                time.monotonic() - self._last_flush >= _FLUSH_SECONDS):
            self.flush_monitoring()

    def flush_monitoring(self) -> None:
        """Hands the batches and predictions gathered since the last call to the monitoring thread.

        Monitoring works on merged chunks (a few hundred rows, or every half second),
        not per request: its Python overhead would otherwise compete with the
        event loop for the GIL on every batch.
        """
        batches, records = self._pending_batches, self._pending_records
        self._pending_batches, self._pending_records, self._pending_rows = [], [], 0
        self._last_flush = time.monotonic()
        if not batches and not records:
            return
        if batches and self._pending_tasks >= _MAX_PENDING_MONITOR_TASKS:
            batches = []  # the monitor lags behind under load: skip these rows rather than queue without bound
        single_input, names = len(self.specs) == 1, self.outputs.names
        first_input = self.specs[0].name if self.specs else None

        def run() -> None:
            try:
                groups: dict[tuple, list] = {}  # batches of one row shape (free axes differ between groups)
                for b in batches:
                    groups.setdefault(tuple(a.shape[1:] for a in (*b[0].values(), *b[1])), []).append(b)
                for group in groups.values():
                    x = {k: np.concatenate([b[0][k] for b in group]) for k in group[0][0]}
                    ys = [np.concatenate([b[1][i] for b in group]) for i in range(len(group[0][1]))]
                    self.monitor.update(x[first_input] if single_input else x,
                                        ys[0] if len(ys) == 1 else dict(zip(names, ys)))
                for request_id, outputs in records:
                    n = len(outputs[0])
                    for i in range(n):
                        key = request_id if n == 1 else f"{request_id}:{i}"
                        row = outputs[0][i] if len(outputs) == 1 else {nm: o[i] for nm, o in zip(names, outputs)}
                        self.tracker.record_prediction(key, row)
            except Exception:  # noqa: BLE001 - monitoring never breaks serving
                logger.exception("Monitoring update failed")
            finally:
                with self._tasks_lock:
                    self._pending_tasks -= 1

        with self._tasks_lock:
            self._pending_tasks += 1
        try:
            self.monitor_executor.submit(run)
        except RuntimeError:  # shutting down
            with self._tasks_lock:
                self._pending_tasks -= 1

    # ------------------------------------------------------------------ feedback and reports
    async def record_feedback(self, payload: dict[str, Any]) -> Any:
        if self.tracker is None:
            raise ClientError(409, "id", "a model with a reference profile", "a model without one",
                              "Feedback needs the profile that `fit` records; train with `fit` and save again.")
        request_id = payload["id"]
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
            raise ClientError(422, "id", "the id of an earlier prediction (a string)", type(request_id).__name__,
                              "Pass the `id` returned by POST /v1/predict.")
        if ("label" in payload) == ("labels" in payload):
            raise ClientError(422, "label", "exactly one of 'label' or 'labels'", f"the keys {list(payload)}",
                              "Send `label` for a one-row request, or `labels` (a list) for every row.")
        if "label" in payload:
            pairs = [(str(request_id), self._label_index(payload["label"]))]
        else:
            labels = payload["labels"]
            if not isinstance(labels, list) or not labels:
                raise ClientError(422, "labels", "a non-empty list", type(labels).__name__, "Send one label per row.")
            pairs = [(f"{request_id}:{i}", self._label_index(y)) for i, y in enumerate(labels)]

        self.flush_monitoring()  # the predictions it labels reach the tracker first

        def record() -> Any:
            for key, label in pairs:
                self.tracker.record_label(key, label)
            return self.tracker.summary()

        try:
            summary = await asyncio.get_running_loop().run_in_executor(self.monitor_executor, record)
        except KeyError:
            raise ClientError(404, "id", "the id of a recorded prediction", repr(str(request_id)[:100]),
                              "Use an id returned by POST /v1/predict (old ids are forgotten).") from None
        except (TypeError, ValueError) as e:
            raise ClientError(422, "label", "a label like the training targets", _short(e), str(e)[:300]) from None
        self._feedback_summary = summary
        return _jsonable(summary)

    def _label_index(self, label: Any) -> Any:
        """A class name (when the model knows its class names) as its index; anything else as is."""
        names = self.outputs.class_names
        if names and isinstance(label, str) and label in names:
            return names.index(label)
        return label

    async def refresh_reports(self) -> None:
        """Reads the drift report and feedback summary (in the monitoring thread) into the cache."""
        if self.monitor is None and self.tracker is None:
            return
        self.flush_monitoring()

        def read() -> tuple[Any, Any]:
            return (self.monitor.report() if self.monitor is not None else None,
                    self.tracker.summary() if self.tracker is not None else None)

        try:
            self._drift_report, self._feedback_summary = await asyncio.get_running_loop().run_in_executor(
                self.monitor_executor, read)
        except Exception:  # noqa: BLE001
            logger.exception("Monitoring report failed")

    async def monitoring(self) -> dict[str, Any]:
        await self.refresh_reports()
        return {
            "model": {"name": str(getattr(self.model, "name", "model")), "task": self.outputs.task,
                      "backend": self.backend_name},
            "uptime_s": round(time.time() - self.started, 3),
            "series": self.metrics.series(),
            "drift": _jsonable(self._drift_report),
            "feedback": _jsonable(self._feedback_summary),
        }

    def _versions(self, lamina_version: str, torch_version: str) -> dict[str, str]:
        return {"lamina": lamina_version, "torch": torch_version, **_versions_of(self.backend)}

    def _export_check(self) -> Any:
        """For the ONNX backend: the export's parity check (largest difference, tolerance)."""
        result = getattr(self.backend, "export_result", None)
        if result is None:
            return None
        return _jsonable({"max_difference": getattr(result, "max_difference", None),
                          "atol": getattr(result, "atol", None),
                          "preprocessing": getattr(result, "preprocessing_path", None) is not None})

    def describe(self) -> dict[str, Any]:
        import torch

        import lamina

        return {
            "name": str(getattr(self.model, "name", "model")),
            "task": self.outputs.task,
            "class_names": self.outputs.class_names,
            "backend": self.backend_name,
            "inputs": [s.to_json() for s in self.specs],
            "outputs": self.outputs.to_json(),
            "versions": self._versions(lamina.__version__, torch.__version__),
            "export": self._export_check(),
            "batching": {"max_batch": self.batcher.max_batch, "max_wait_ms": self.batcher.max_wait_ms},
            "training": _jsonable(_profile_scores(self.profile)),
        }


def _versions_of(backend: Any) -> dict[str, str]:
    if getattr(backend, "name", None) != "onnx":
        return {}
    import onnxruntime

    return {"onnxruntime": onnxruntime.__version__}


def _profile_of(model: Any) -> Any:
    try:
        return getattr(model, "reference_profile", None)
    except Exception:  # noqa: BLE001 - a broken profile only turns monitoring off
        logger.exception("Could not read the model's reference profile; monitoring is off")
        return None


def _profile_scores(profile: Any) -> Any:
    if profile is None:
        return None
    for attr in ("scores", "metrics"):
        value = profile.get(attr) if isinstance(profile, dict) else getattr(profile, attr, None)
        if value is not None:
            return value
    return None


def _jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars / arrays as plain values and NaN / infinity as null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _short(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e)[:100]}"
