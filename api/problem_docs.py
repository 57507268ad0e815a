"""The error half of the OpenAPI document: every problem the API can answer, declared.

FastAPI documents only the responses a route names, and its own 422 as
``application/json``; the API answers every error as ``application/problem+json``
(``api.errors``). This fills in, for every operation, what the shared machinery can
return whatever the route: 401 and 403 on authenticated routes, 404 where a path names
a resource, 400 (not JSON text) and 413 where there is a body, 422 where anything is parsed, 503 when the
database is unavailable. Each error response, declared here or by the route, gets the
one ``Problem`` schema, so clients and Schemathesis can check error bodies too.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from api.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` lists every bad field of a 422",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine-readable code"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
    # Some problems carry more (a 409 stale write attaches the stored `log`).
    "additionalProperties": True,
}
_REF = {"$ref": "#/components/schemas/Problem"}
_UNDOCUMENTED_PATHS = {"/healthz"}  # answers without the database, auth or input


def document_problems(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare the problems every operation can answer."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_problems(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_problems(document: dict[str, Any]) -> None:
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, never sent
        components.pop(name, None)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            if path not in _UNDOCUMENTED_PATHS:
                for shared in _shared_codes(operation):
                    responses.setdefault(str(shared), {})
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response.setdefault("description", HTTPStatus(int(code)).phrase)
                    response["content"] = {PROBLEM_JSON: {"schema": _REF}}


def _shared_codes(operation: dict[str, Any]) -> list[int]:
    parameters = operation.get("parameters", [])
    codes = [503]
    if operation.get("security"):
        codes += [401, 403]
    if any(p.get("in") == "path" for p in parameters):
        codes.append(404)
    if "requestBody" in operation:
        codes += [400, 413]  # 400: a body that is not even JSON text (bad bytes)
    if parameters or "requestBody" in operation:
        codes.append(422)
    return codes
