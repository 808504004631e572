"""The FastAPI app behind `lamina serve`: routes, errors and the request path.

`create_app` returns the app; the model's state (loading, warm-up, batching,
monitoring) lives in `lamina.serving.state.ServedModel`. Every answer is JSON
except `GET /` (the monitoring page) and `GET /metrics` (Prometheus text), and
every refusal is ``{"error": {"field", "expected", "received", "message"}}``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from lamina.serving import openapi
from lamina.serving.predict import (
    answer_predict,
    internal_error,
    parse_object,
    read_asgi_body,
    send_json,
)
from lamina.serving.schema import ClientError
from lamina.serving.state import ServedModel

logger = logging.getLogger("lamina.serving")
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
_ENDPOINTS = {"/", "/healthz", "/readyz", "/metrics", "/v1/model", "/v1/monitoring", "/v1/predict", "/v1/feedback"}


def create_app(
    model_or_path: Any,
    backend: str = "torch",
    max_batch: int = 64,
    max_wait_ms: float = 5.0,
    window: int = 500,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """Builds the serving app for a Lamina model (or a `.lamina` file, loaded at start-up).

    The model is loaded and warmed up (one prediction) in the background when
    the app starts; `/readyz` answers 200 from then on, `/healthz` always.

    Args:
        model_or_path: A built `lamina.Model`, or the path of a `.lamina` file.
        backend: ``"torch"`` (the Lamina model in `torch.inference_mode()`) or
            ``"onnx"`` (exported once at start-up, checked, run in ONNX Runtime).
            Defaults to `"torch"`.
        max_batch: Most rows merged into one forward pass. Defaults to `64`.
        max_wait_ms: Longest wait for more requests to merge. Defaults to `5.0`.
        window: Rows in the drift monitor's sliding window. Defaults to `500`.
        max_body_bytes: Largest request body accepted (413 beyond). Defaults to 10 MB.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(3,)), lamina.layers.Dense(2)])
        >>> app = create_app(model, max_batch=32)
        >>> sorted(r.path for r in app.routes if r.path.startswith("/v1"))
        ['/v1/feedback', '/v1/model', '/v1/monitoring', '/v1/predict']
    """
    if not isinstance(max_body_bytes, int) or max_body_bytes < 1:
        raise ValueError(f"`max_body_bytes` must be a positive integer. Received: max_body_bytes={max_body_bytes!r}.")
    served = ServedModel(model_or_path, backend=backend, max_batch=max_batch, max_wait_ms=max_wait_ms, window=window)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        await served.start()
        try:
            yield
        finally:
            await served.stop()

    app = FastAPI(title="Lamina model server", version=_lamina_version(), lifespan=lifespan,
                  docs_url="/docs", redoc_url=None, **_no_telemetry())
    app.state.served = served
    app.add_middleware(_MetricsMiddleware, served=served, max_body_bytes=max_body_bytes)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.post("/v1/predict", openapi_extra=openapi.PREDICT)
    async def predict(request: Request) -> Response:
        """Predicts for the rows in the body (micro-batched with concurrent requests).
        (The middleware answers this route as plain ASGI; this is the same path.)"""
        status, data, rows = await answer_predict(
            served, lambda: read_asgi_body(request.scope, request.receive, max_body_bytes))
        request.scope["lamina_rows"] = rows
        return Response(data, status_code=status, media_type="application/json")

    @app.post("/v1/feedback", openapi_extra=openapi.FEEDBACK)
    async def feedback(request: Request) -> Response:
        """Records the true label of an earlier prediction, by its request id."""
        try:
            body = await read_asgi_body(request.scope, request.receive, max_body_bytes)
            payload = parse_object(body, allowed=("id", "label", "labels"), required=("id",))
            summary = await served.record_feedback(payload)
            return _json({"id": str(payload["id"]), "recorded": True, "feedback": summary})
        except ClientError as e:
            return _json(e.body(), e.status)

    @app.get("/healthz")
    async def healthz() -> Response:
        """Alive: answers as long as the event loop runs."""
        return _json({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        """200 once the model is loaded and warmed up, else 503."""
        if served.ready:
            return _json({"status": "ready"})
        return _json({"status": "starting" if served.load_error is None else "failed",
                      **served.not_ready_error().body()}, 503)

    @app.get("/v1/model")
    async def model_info() -> Response:
        """The input and output specification, versions, backend and training scores."""
        if not served.ready:
            e = served.not_ready_error()
            return _json(e.body(), e.status)
        return _json(served.describe())

    @app.get("/v1/monitoring")
    async def monitoring() -> Response:
        """Time series, drift report and feedback summary for the monitoring page."""
        return _json(await served.monitoring())

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus metrics in the text exposition format."""
        await served.refresh_reports()
        return Response(generate_latest(served.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        """The live monitoring page."""
        try:
            from lamina.serving.page import render_page
        except ImportError:
            return HTMLResponse("<!doctype html><title>Lamina</title><p>Lamina model server. "
                                "See <a href='/v1/monitoring'>/v1/monitoring</a> and <a href='/metrics'>/metrics</a>.")
        return HTMLResponse(render_page(title=f"Lamina: {getattr(served.model, 'name', 'model')}"))

    return app


class _MetricsMiddleware:
    """Counts every HTTP request by endpoint and status, with its latency (pure ASGI, cheap),
    and answers `POST /v1/predict` itself, skipping the router (the hot path)."""

    def __init__(self, app: Any, served: ServedModel, max_body_bytes: int) -> None:
        self.app, self.served, self.max_body_bytes = app, served, max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in _ENDPOINTS else "other"
        status = 500
        is_predict = endpoint == "/v1/predict"

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.served.metrics
        if is_predict:
            metrics.in_flight.inc()
        t0 = time.perf_counter()
        try:
            if is_predict and scope.get("method") == "POST":
                limit = self.max_body_bytes
                status, data, rows = await answer_predict(self.served, lambda: read_asgi_body(scope, receive, limit))
                scope["lamina_rows"] = rows
                await send_json(send, status, data)
            else:
                await self.app(scope, receive, send_status)
        finally:
            if is_predict:
                metrics.in_flight.dec()
            metrics.observe(endpoint, status, time.perf_counter() - t0, scope.get("lamina_rows", 0))


def _json(content: Any, status: int = 200) -> Response:
    text = json.dumps(content, separators=(",", ":"), allow_nan=False)
    return Response(text.encode(), status_code=status, media_type="application/json")


async def _http_error(request: Request, exc: Any) -> Response:
    status = int(getattr(exc, "status_code", 500))
    expected = "one of " + ", ".join(sorted(_ENDPOINTS)) if status == 404 else "a supported method"
    received = f"{request.method} {request.url.path[:200]}"
    return _json(ClientError(status, "path", expected, received, str(getattr(exc, "detail", "")) or "Not allowed.")
                 .body(), status)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("Unexpected error while answering %s %s", request.method, request.url.path)
    return _json(internal_error(exc), 500)


def _no_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry hooks off (the server exports Prometheus metrics; the
    check costs every request), where this FastAPI version has them."""
    import inspect

    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def _lamina_version() -> str:
    import lamina

    return str(getattr(lamina, "__version__", "0"))
