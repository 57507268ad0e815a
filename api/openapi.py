"""The OpenAPI document as client generators read it.

FastAPI's document is accurate for a validator but awkward for generated clients:

- operation ids are ``put_pain_log_api_v1_me_pain_logs_log_date_put``; here they are the
  handler's name in camelCase (``putPainLog``), which is unique because every handler
  name is (``tests/api/test_openapi.py``) and stable because docs/http-contract.md lists
  them (a renamed handler fails ``tests/test_docs.py``);
- schemas nobody references (the serialisation side of an input-only type, such as the
  tolerant sync item wrapper) are left out, so no two schemas share a title;
- a request field with a default is optional, but openapi-typescript reads ``default``
  as "always present" and makes it required; in the schemas a client *sends*, the
  default is therefore stated in the description instead of the ``default`` keyword.
  The schemas a client *receives* list every field as required (``Public`` sets
  pydantic's ``json_schema_serialization_defaults_required``): every field is always sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

_REF = "#/components/schemas/"


def operation_id(route: APIRoute) -> str:
    """``put_pain_log`` -> ``putPainLog``: readable names for generated client functions."""
    first, *rest = route.name.strip("_").split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest if word)


def finish_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` drop unreferenced schemas and state request defaults in words."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _drop_unreferenced(document)
            _describe_request_defaults(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            yield ref.removeprefix(_REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _closure(schemas: dict[str, Any], roots: Iterator[str]) -> set[str]:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(_refs(schemas[name]))
    return seen


def _drop_unreferenced(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    used = _closure(schemas, _refs(document.get("paths", {})))
    for name in set(schemas) - used:
        del schemas[name]


def _sent_and_received(document: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Schemas reachable from request bodies and parameters, and from responses."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    sent: list[str] = []
    received: list[str] = []
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            sent.extend(_refs(operation.get("requestBody", {})))
            sent.extend(_refs(operation.get("parameters", [])))
            received.extend(_refs(operation.get("responses", {})))
    return _closure(schemas, iter(sent)), _closure(schemas, iter(received))


def _describe_request_defaults(document: dict[str, Any]) -> None:
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    sent, received = _sent_and_received(document)
    for name in sorted(sent - received):
        for prop in schemas[name].get("properties", {}).values():
            if "default" not in prop:
                continue
            default = prop.pop("default")
            words = f"Optional; omitted means `{json.dumps(default)}`."
            description = prop.get("description", "").strip()
            prop["description"] = f"{description} ({words})" if description else words
