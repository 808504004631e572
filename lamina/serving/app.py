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
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from lamina.serving import openapi
from lamina.serving.schema import ClientError, parse_request_id, validate_inputs
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
                  docs_url="/docs", redoc_url=None)
    app.state.served = served
    app.add_middleware(_MetricsMiddleware, served=served)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    @app.post("/v1/predict", openapi_extra=openapi.PREDICT)
    async def predict(request: Request) -> Response:
        """Predicts for the rows in the body (micro-batched with concurrent requests)."""
        batcher = served.batcher
        batcher.receiving += 1
        receiving = True
        try:
            if not served.ready:
                raise served.not_ready_error()
            body = await _read_body(request, max_body_bytes)
            payload = _parse_object(body, allowed=("inputs", "id"), required=("inputs",))
            request_id = parse_request_id(payload.get("id")) or uuid.uuid4().hex
            arrays, n_rows = validate_inputs(payload["inputs"], served.specs,
                                             body_has_bools=b"true" in body or b"false" in body)
            batcher.receiving -= 1
            receiving = False
            outputs = await batcher.submit(arrays, n_rows)
            request.scope["lamina_rows"] = n_rows
            answer = {"id": request_id, **served.outputs.answer(outputs)}
            served.record_predictions(request_id, outputs)
            return _json(answer)
        except ClientError as e:
            return _json(e.body(), e.status)
        except (ValueError, IndexError) as e:  # the model refused values the schema let through
            return _json(ClientError(422, "inputs", "values the model accepts", type(e).__name__,
                                     f"The model could not predict for these inputs: {_first_line(e)}").body(), 422)
        except Exception as e:  # noqa: BLE001 - a server fault: a JSON 500, logged, and the server carries on
            return await _unexpected_error(request, e)
        finally:
            if receiving:
                batcher.receiving -= 1

    @app.post("/v1/feedback", openapi_extra=openapi.FEEDBACK)
    async def feedback(request: Request) -> Response:
        """Records the true label of an earlier prediction, by its request id."""
        try:
            body = await _read_body(request, max_body_bytes)
            payload = _parse_object(body, allowed=("id", "label", "labels"), required=("id",))
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
    """Counts every HTTP request by endpoint and status, with its latency (pure ASGI, cheap)."""

    def __init__(self, app: Any, served: ServedModel) -> None:
        self.app, self.served = app, served

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
            await self.app(scope, receive, send_status)
        finally:
            if is_predict:
                metrics.in_flight.dec()
            metrics.observe(endpoint, status, time.perf_counter() - t0, scope.get("lamina_rows", 0))


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ClientError(400, "Content-Length", "a number of bytes", repr(length[:40]), "Send a valid header.")
        if int(length) > limit:
            raise _too_large(int(length), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ClientError:
    return ClientError(413, "body", f"at most {limit} bytes", f"{size} bytes or more",
                       "Split the rows over several requests, or start the server with a larger --max-body-bytes.")


def _parse_object(body: bytes, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ClientError(400, "body", "a JSON object", "a body that is not valid JSON" if body else "an empty body",
                          f"Send a JSON object with the keys {list(required)}. ({_first_line(e)[:120]})") from None
    if not isinstance(payload, dict):
        raise ClientError(422, "body", "a JSON object", f"a JSON {type(payload).__name__}",
                          f"Wrap the data in an object with the keys {list(required)}.")
    for key in required:
        if key not in payload:
            raise ClientError(422, key, f"the key {key!r}", f"the keys {list(payload)[:20]}",
                              f"Add {key!r} to the body.")
    extra = [k for k in payload if k not in allowed]
    if extra:
        raise ClientError(422, str(extra[0])[:100], f"only the keys {list(allowed)}", f"the key {str(extra[0])[:100]!r}",
                          "Remove the unknown key.")
    return payload


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
    return _json({"error": {"field": None, "expected": None, "received": None,
                            "message": f"Internal server error ({type(exc).__name__}): {_first_line(exc)[:300]}"}}, 500)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _lamina_version() -> str:
    import lamina

    return str(getattr(lamina, "__version__", "0"))
