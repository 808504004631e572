"""The server's measurements: Prometheus metrics (one registry per app) and the
live time series that `/v1/monitoring` returns to the monitoring page.

Prometheus (`GET /metrics`): ``lamina_requests_total{endpoint,status}``,
``lamina_request_latency_seconds{endpoint}`` (histogram),
``lamina_batch_size_rows`` (histogram of merged batches), ``lamina_in_flight_requests``,
and, read from the drift monitor and the feedback tracker at each scrape,
``lamina_drift_psi{feature}``, ``lamina_drift_p_value{feature}``,
``lamina_drift_alarm``, ``lamina_drift_window_rows`` and ``lamina_feedback{metric}``.

The series covers `POST /v1/predict` only, in 5-second buckets (the last 120).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

BUCKET_SECONDS = 5
N_BUCKETS = 120
_LATENCY_SAMPLES_PER_BUCKET = 2000
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class _Bucket:
    __slots__ = ("t", "requests", "errors", "rows", "latencies", "seen")

    def __init__(self, t: int) -> None:
        self.t, self.requests, self.errors, self.rows, self.seen = t, 0, 0, 0, 0
        self.latencies: list[float] = []


class ServerMetrics:
    """Counts requests, latencies and batches for one app.

    Args:
        drift_report: Returns the latest `DriftMonitor.report()` (or None), for the drift gauges.
        feedback_summary: Returns the latest `FeedbackTracker.summary()` (or None).
    """

    def __init__(self, drift_report: Callable[[], Any] | None = None,
                 feedback_summary: Callable[[], Any] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("lamina_requests", "HTTP requests by endpoint and status code.",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("lamina_request_latency_seconds", "Request latency by endpoint.", ["endpoint"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("lamina_batch_size_rows", "Rows per merged forward pass.",
                                    buckets=_BATCH_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("lamina_in_flight_requests", "Requests being answered.", registry=self.registry)
        self.registry.register(_MonitoringCollector(drift_report or (lambda: None), feedback_summary or (lambda: None)))
        self._lock = threading.Lock()
        self._buckets: dict[int, _Bucket] = {}
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, endpoint: str, status: int, seconds: float, rows: int = 0) -> None:
        """Records one answered request (``rows`` predicted for `/v1/predict`)."""
        key = (endpoint, status)
        children = self._children.get(key)
        if children is None:  # label lookups cost more than the counting itself: done once
            children = self._children[key] = (self.requests.labels(endpoint, str(status)),
                                              self.latency.labels(endpoint))
        children[0].inc()
        children[1].observe(seconds)
        if endpoint != "/v1/predict":
            return
        t = int(time.time()) // BUCKET_SECONDS * BUCKET_SECONDS
        with self._lock:
            bucket = self._buckets.get(t)
            if bucket is None:
                bucket = self._buckets[t] = _Bucket(t)
                for old in [k for k in self._buckets if k <= t - BUCKET_SECONDS * N_BUCKETS]:
                    del self._buckets[old]
            bucket.requests += 1
            bucket.errors += status >= 400
            bucket.rows += rows
            bucket.seen += 1
            if len(bucket.latencies) < _LATENCY_SAMPLES_PER_BUCKET:
                bucket.latencies.append(seconds)
            else:  # reservoir sampling keeps the percentiles unbiased
                j = random.randrange(bucket.seen)
                if j < _LATENCY_SAMPLES_PER_BUCKET:
                    bucket.latencies[j] = seconds

    def series(self) -> dict[str, list]:
        """The last `N_BUCKETS` 5-second buckets up to now (empty ones included), for `/v1/monitoring`."""
        now = int(time.time()) // BUCKET_SECONDS * BUCKET_SECONDS
        times = [now - BUCKET_SECONDS * i for i in range(N_BUCKETS - 1, -1, -1)]
        out: dict[str, list] = {"t": times, "requests": [], "errors": [], "rows": [], "p50_ms": [], "p95_ms": []}
        with self._lock:
            for t in times:
                b = self._buckets.get(t)
                lat = list(b.latencies) if b is not None else []
                out["requests"].append(b.requests if b else 0)
                out["errors"].append(b.errors if b else 0)
                out["rows"].append(b.rows if b else 0)
                if lat:
                    p50, p95 = np.percentile(np.asarray(lat) * 1000.0, [50, 95])
                    out["p50_ms"].append(round(float(p50), 3))
                    out["p95_ms"].append(round(float(p95), 3))
                else:
                    out["p50_ms"].append(None)
                    out["p95_ms"].append(None)
        return out


class _MonitoringCollector:
    """Drift and feedback gauges, read at each scrape from the latest reports."""

    def __init__(self, drift_report: Callable[[], Any], feedback_summary: Callable[[], Any]) -> None:
        self.drift_report, self.feedback_summary = drift_report, feedback_summary

    def describe(self) -> list:
        return []

    def collect(self) -> Any:
        report = self.drift_report()
        if report:
            psi = GaugeMetricFamily("lamina_drift_psi", "Population stability index per input feature.",
                                    labels=["feature"])
            pval = GaugeMetricFamily("lamina_drift_p_value", "Two-sample test p-value per input feature "
                                     "(Benjamini-Hochberg adjusted).", labels=["feature"])
            for f in report.get("features") or []:
                name = str(f.get("name"))
                if _finite(f.get("psi")):
                    psi.add_metric([name], float(f["psi"]))
                p = f.get("p_adjusted", f.get("p_value"))
                if _finite(p):
                    pval.add_metric([name], float(p))
            yield psi
            yield pval
            yield GaugeMetricFamily("lamina_drift_alarm", "1 when drift is flagged in the current window.",
                                    value=float(bool(report.get("alarm"))))
            if _finite(report.get("window_rows")):
                yield GaugeMetricFamily("lamina_drift_window_rows", "Rows in the drift window.",
                                        value=float(report["window_rows"]))
        summary = self.feedback_summary()
        if summary:
            fam = GaugeMetricFamily("lamina_feedback", "Live scores from late-arriving labels.", labels=["metric"])
            for key, value in _flat_numbers(summary):
                fam.add_metric([key], value)
            yield fam


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _flat_numbers(d: Any, prefix: str = "") -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            out.extend(_flat_numbers(v, f"{prefix}{k}" if not prefix else f"{prefix}.{k}"))
    elif _finite(d):
        out.append((prefix, float(d)))
    return out
