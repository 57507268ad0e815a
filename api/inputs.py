"""Input the database cannot store, refused before any handler runs.

PostgreSQL's text type cannot hold NUL (U+0000), and neither driver can encode an
unpaired surrogate (U+D800 to U+DFFF, which JSON's ``\\ud800`` escape produces) as UTF-8:
such a string reaching a query is a 500 on PostgreSQL, and on SQLite a value no other
system can read back. Rather than a constrained string type on every field (which one
forgotten field would undo), one application-wide dependency (``check_request_input``,
installed on the app in ``api.main``) walks everything a route reads: query string,
path parameters, form fields and the JSON document, keys included, and answers 422
naming the field. The same walk decodes the JSON document once more to refuse
duplicate keys, which ``json.loads`` silently resolves to the last one (two
``back_pain`` values in one log are a client bug, not a choice to make for it).

Per-item endpoints (``POST /me/sync``) declare their item lists with
``checked_per_item``: strings inside those items are left to the endpoint, which
rejects just the bad item with the same errors (``item_string_errors``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from api.errors import Problem

UNSTORABLE_MSG = "contains a character that cannot be stored (NUL or an unpaired surrogate)"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PER_ITEM_ATTR = "__backstep_per_item_lists__"

Loc = list[str | int]
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def printable_key(key: str) -> str:
    """A key for an error's ``loc``: bad characters escaped, so the answer can be encoded."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", key)


def checked_per_item(*lists: str) -> Callable[[Endpoint], Endpoint]:
    """Marks top-level body lists whose items the endpoint validates one by one."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _PER_ITEM_ATTR, frozenset(lists))
        return endpoint

    return mark


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers the keys it had more than once."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj and key not in obj.duplicates:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def item_string_errors(value: Any, loc: Loc) -> list[dict[str, Any]]:
    """``{loc, msg}`` for every string (or object key) in ``value`` that cannot be stored."""
    return _walk(value, loc, frozenset())


def _walk(document: Any, root: Loc, skip_lists: frozenset[str]) -> list[dict[str, Any]]:
    # Iterative: a document json.loads accepted may be nested deeper than the stack allows.
    errors: list[dict[str, Any]] = []
    stack: list[tuple[Any, Loc, bool]] = [(document, root, True)]
    while stack:
        value, loc, check_strings = stack.pop()
        if isinstance(value, str):
            if check_strings and not storable(value):
                errors.append({"loc": loc, "msg": UNSTORABLE_MSG})
        elif isinstance(value, dict):
            for key in getattr(value, "duplicates", ()):
                errors.append({"loc": [*loc, printable_key(key)], "msg": "duplicate key"})
            for key, child in value.items():
                if check_strings and not storable(key):
                    errors.append({"loc": [*loc, printable_key(key)], "msg": f"key {UNSTORABLE_MSG}"})
                    continue
                per_item = loc == root and key in skip_lists and isinstance(child, list)
                if per_item:
                    # Items are checked by the endpoint; only their duplicate keys are looked at here.
                    stack.extend((item, [*loc, key, i], False) for i, item in enumerate(child))
                else:
                    stack.append((child, [*loc, key], check_strings))
        elif isinstance(value, list):
            stack.extend((child, [*loc, i], check_strings) for i, child in enumerate(value))
    errors.sort(key=lambda e: [str(part) for part in e["loc"]])
    return errors


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True  # FastAPI reads a body without a content type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _is_form(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("application/x-www-form-urlencoded", "multipart/form-data")


async def check_request_input(request: Request) -> None:
    """App-wide dependency: 422 naming every field whose text cannot be stored, and every
    duplicate key of the JSON body. Runs before the route's own dependencies."""
    errors: list[dict[str, Any]] = []
    for key, value in request.query_params.multi_items():
        if not storable(key):
            errors.append({"loc": ["query", printable_key(key)], "msg": f"parameter name {UNSTORABLE_MSG}"})
        elif not storable(value):
            errors.append({"loc": ["query", key], "msg": UNSTORABLE_MSG})
    for name, value in request.path_params.items():
        if isinstance(value, str) and not storable(value):
            errors.append({"loc": ["path", name], "msg": UNSTORABLE_MSG})
    content_type = request.headers.get("content-type")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if _is_form(content_type):
            form = await request.form()  # cached on the request: FastAPI's own parse is reused
            for key, field in form.multi_items():
                if not storable(key):
                    errors.append({"loc": ["body", printable_key(key)], "msg": f"field name {UNSTORABLE_MSG}"})
                elif isinstance(field, str) and not storable(field):
                    errors.append({"loc": ["body", key], "msg": UNSTORABLE_MSG})
        elif _is_json(content_type):
            body = await request.body()
            if body:
                try:
                    document = json.loads(body, object_pairs_hook=_object)
                except (ValueError, RecursionError):
                    document = None  # not JSON: FastAPI has answered (or the route reads no body)
                route = request.scope.get("route")
                skip: frozenset[str] = getattr(getattr(route, "endpoint", None), _PER_ITEM_ATTR, frozenset())
                errors.extend(_walk(document, ["body"], skip))
    if errors:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        raise Problem(422, "validation_error", f"invalid fields: {fields}", errors=errors)
