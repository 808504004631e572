"""OpenAPI descriptions of the JSON bodies that the app parses by hand.

The predict and feedback routes read their bodies themselves (so that every
mistake gets the house error format, not a generic 422), so their request
schemas are declared here for the OpenAPI document (`/openapi.json`), which
clients and schema-driven fuzzers read.
"""

from __future__ import annotations

from typing import Any

_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["message"], "properties": {
        "field": {"type": ["string", "null"]}, "expected": {"type": ["string", "null"]},
        "received": {"type": ["string", "null"]}, "message": {"type": "string"}}}},
}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "Refused", "content": {"application/json": {"schema": _ERROR}}} for c in codes}


PREDICT: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["inputs"],
            "additionalProperties": False,
            "properties": {
                "inputs": {
                    "description": "A list of rows (one-input model) or an object of row lists by input name.",
                    "oneOf": [{"type": "array", "minItems": 1, "items": {}},
                              {"type": "object", "additionalProperties": {"type": "array", "minItems": 1}}],
                },
                "id": {"type": "string", "maxLength": 200, "description": "Request id (generated when absent)."},
            },
        }, "example": {"inputs": [[0.0, 0.0, 0.0]]}}},
    },
    "responses": {
        "200": {"description": "Predictions", "content": {"application/json": {"schema": {
            "type": "object", "required": ["id", "predictions"],
            "properties": {"id": {"type": "string"}, "predictions": {}, "classes": {"type": "array"},
                           "probabilities": {"type": "array"}}}}}},
        **_errors(400, 413, 422, 503),
    },
}

FEEDBACK: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string", "description": "The id returned by POST /v1/predict."},
                "label": {"description": "The true label of a one-row request."},
                "labels": {"type": "array", "description": "The true labels of every row of the request."},
            },
        }}},
    },
    "responses": {
        "200": {"description": "Recorded", "content": {"application/json": {"schema": {"type": "object"}}}},
        **_errors(400, 404, 409, 413, 422),
    },
}
