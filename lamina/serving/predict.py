"""The `POST /v1/predict` request path, kept lean: it runs as plain ASGI (no routing,
no dependency solving), reads the body under a size limit, parses and validates
it, waits for the micro-batcher and writes the JSON answer.

Body: ``{"inputs": rows or {name: rows}, "id": optional string}``. Answer:
``{"id", "predictions", ["classes", "probabilities"]}``, or a 4xx
``{"error": {"field", "expected", "received", "message"}}``.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from lamina.serving.schema import ClientError, parse_request_id, validate_inputs

logger = logging.getLogger("lamina.serving")
_JSON_HEADERS = [(b"content-type", b"application/json")]


async def answer_predict(served: Any, read_body: Callable[[], Awaitable[bytes]]) -> tuple[int, bytes, int]:
    """Answers one prediction request; returns ``(status, JSON body, rows predicted)``.

    Never raises for a client mistake (4xx) nor for a fault of the model (a JSON 500, logged).
    """
    batcher = served.batcher
    batcher.receiving += 1  # the collector may wait for this request to merge it
    receiving = True
    try:
        if not served.ready:
            raise served.not_ready_error()
        body = await read_body()
        payload = parse_object(body, allowed=("inputs", "id"), required=("inputs",))
        request_id = parse_request_id(payload.get("id")) or uuid.uuid4().hex
        arrays, n_rows = validate_inputs(payload["inputs"], served.specs,
                                         body_has_bools=b"true" in body or b"false" in body)
        batcher.receiving -= 1
        receiving = False
        outputs = await batcher.submit(arrays, n_rows)
        answer = {"id": request_id, **served.outputs.answer(outputs)}
        served.record_predictions(request_id, outputs)
        return 200, dumps(answer), n_rows
    except ClientError as e:
        return e.status, dumps(e.body()), 0
    except (ValueError, IndexError) as e:  # the model refused values the schema let through
        error = ClientError(422, "inputs", "values the model accepts", type(e).__name__,
                            f"The model could not predict for these inputs: {first_line(e)}")
        return 422, dumps(error.body()), 0
    except Exception as e:  # noqa: BLE001 - a server fault: a JSON 500, logged; the server carries on
        logger.exception("Unexpected error in POST /v1/predict")
        return 500, dumps(internal_error(e)), 0
    finally:
        if receiving:
            batcher.receiving -= 1


async def read_asgi_body(scope: Any, receive: Any, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (by Content-Length, before reading)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            if not value.isdigit():
                raise ClientError(400, "Content-Length", "a number of bytes", repr(value[:40].decode("latin-1")),
                                  "Send a valid Content-Length header.")
            if int(value) > limit:
                raise too_large(int(value), limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientError(400, "body", "a complete body", "a closed connection", "Send the whole body.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(send: Any, status: int, data: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def too_large(size: int, limit: int) -> ClientError:
    return ClientError(413, "body", f"at most {limit} bytes", f"{size} bytes or more",
                       "Split the rows over several requests, or start the server with a larger --max-body-bytes.")


def parse_object(body: bytes, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict[str, Any]:
    """``body`` decoded as a JSON object with the ``required`` keys and no key outside ``allowed``."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ClientError(400, "body", "a JSON object", "a body that is not valid JSON" if body else "an empty body",
                          f"Send a JSON object with the keys {list(required)}. ({first_line(e)[:120]})") from None
    if not isinstance(payload, dict):
        raise ClientError(422, "body", "a JSON object", f"a JSON {type(payload).__name__}",
                          f"Wrap the data in an object with the keys {list(required)}.")
    for key in required:
        if key not in payload:
            raise ClientError(422, key, f"the key {key!r}", f"the keys {list(payload)[:20]}",
                              f"Add {key!r} to the body.")
    extra = [k for k in payload if k not in allowed]
    if extra:
        raise ClientError(422, str(extra[0])[:100], f"only the keys {list(allowed)}",
                          f"the key {str(extra[0])[:100]!r}", "Remove the unknown key.")
    return payload


def dumps(content: Any) -> bytes:
    return json.dumps(content, separators=(",", ":"), allow_nan=False).encode()


def internal_error(e: BaseException) -> dict[str, Any]:
    return {"error": {"field": None, "expected": None, "received": None,
                      "message": f"Internal server error ({type(e).__name__}): {first_line(e)[:300]}"}}


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
