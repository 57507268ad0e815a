"""RFC 9457 problem details for every error the API returns.

Every error body has ``type``, ``title``, ``status``, ``detail``, a stable machine
``code`` and the request id; validation errors add ``errors: [{loc, msg}]`` listing
every bad field. Services raise ``Problem`` (or a subclass); FastAPI's own errors
and database outages are mapped here so no handler ever leaks a stack trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.db_errors import conflict_of, is_busy, unique_violation
from api.i18n import DEFAULT_LOCALE, negotiate_locale, render
from api.request_context import current_request_id
from api.rules.text import Msg

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://backstep.app/problems/"

_log = structlog.get_logger("api.errors")

_DEFAULT_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_error", "Invalid request"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal error"),
    503: ("service_unavailable", "Service unavailable"),
}


class Problem(Exception):
    """An error with a defined answer for the client."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        *,
        title: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        default_code, default_title = _DEFAULT_CODES.get(status, ("error", "Error"))
        self.status = status
        self.code = code or default_code
        self.title = title or default_title
        self.detail = detail or self.title
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(f"{status} {self.code}: {self.detail}")


class BodyTooLarge(Problem):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, "payload_too_large", f"request body exceeds {max_bytes} bytes")


def not_found(what: str = "resource") -> Problem:
    return Problem(404, "not_found", f"{what} not found")


def field_error(loc: Sequence[str | int], msg: str, status: int = 422) -> Problem:
    """A 422 naming one field, for checks that need the database or the clock."""
    return Problem(status, "validation_error", msg, errors=[{"loc": list(loc), "msg": msg}])


def problem_response(problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "request_id": current_request_id(),
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        raw = [part for part in err.get("loc", ()) if not isinstance(part, str) or part]
        loc = request_loc(raw, exc.body, missing=err.get("type") == "missing")
        msg = str(err.get("msg", "invalid value"))
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
            # A discriminated union (e.g. a screening's `instrument`): name the tag field itself.
            loc.append(str(err.get("ctx", {}).get("discriminator", "")).strip("'"))
        errors.append({"loc": loc, "msg": msg})
    return errors


def request_loc(loc: Sequence[str | int], body: Any, *, missing: bool = False) -> list[str | int]:
    """A validation error's location as a path into the JSON the client sent.

    Pydantic's locations also name the schema: a discriminated union adds its tag
    (``body.red_flags.answers.x`` for ``{"instrument": "red_flags", "answers": {...}}``)
    and a plain union the member tried (``int``, ``function-after[...]``). Those segments
    are dropped by walking the location along the body: a segment stays when it is a key
    or an index of the value reached so far, or when it names the missing field that
    ends the path. Locations outside the body (``path``, ``query``) are already paths.
    """
    if not loc or loc[0] != "body":
        return list(loc)
    path: list[str | int] = ["body"]
    value = body
    rest = list(loc[1:])
    for position, part in enumerate(rest):
        last = position == len(rest) - 1
        if isinstance(value, dict):
            # A tag equal to another field's value (`instrument`) is the union, not a key,
            # unless the path ends there (then it names the key itself).
            is_tag = not last and isinstance(part, str) and part in _string_values(value)
            if part in value and not is_tag:
                path.append(part)
                value = value[part]
                continue
            if last and missing:
                path.append(part)
        elif isinstance(value, list) and type(part) is int and 0 <= part < len(value):
            path.append(part)
            value = value[part]
    return path


def _string_values(mapping: dict[Any, Any]) -> set[str]:
    return {v for v in mapping.values() if isinstance(v, str)}


_INVALID_FIELDS = "invalid fields: "


def _in_their_language(problem: Problem, request: Request) -> Problem:
    """A 422's ``detail`` in the language ``Accept-Language`` asks for (a shipped locale), else English.

    The field paths and ``errors`` stay as they are: they name the request, not the person.
    """
    if problem.status == 422 and problem.detail.startswith(_INVALID_FIELDS):
        locale = negotiate_locale(request.headers.get("accept-language"))
        if locale is not None and locale != DEFAULT_LOCALE:
            fields = problem.detail[len(_INVALID_FIELDS) :]
            problem.detail = render(Msg("invalid fields: {fields}", fields=fields), locale)
    return problem


async def _handle_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(_in_their_language(exc, request))


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    problem = Problem(422, "validation_error", f"{_INVALID_FIELDS}{fields}", errors=errors)
    return problem_response(_in_their_language(problem, request))


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, Problem):  # e.g. the body cap tripping while FastAPI reads JSON
        return problem_response(exc.__cause__)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(Problem(exc.status_code, detail=detail, headers=headers))


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to: Starlette names only the first matching route's."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _handle_db_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    # The transaction was rolled back by the session scope; nothing was written.
    if is_busy(exc):
        return _database_busy(exc)
    _log.error("database_unavailable", error_type=type(exc).__name__)
    return problem_response(
        Problem(
            503,
            "database_unavailable",
            "The service is temporarily unavailable; nothing was saved. Please retry.",
            headers={"Retry-After": "5"},
        )
    )


def _database_busy(exc: Exception) -> JSONResponse:
    # A lock wait, a statement or the wait for a connection ran past its bound
    # (api.db.Bounds): answered within the bound, so the app can retry before it times out.
    _log.warning("database_busy", error_type=type(exc).__name__)
    return problem_response(
        Problem(
            503,
            "database_busy",
            "The service is busy; nothing was saved. Please retry.",
            headers={"Retry-After": "5"},
        )
    )


async def _handle_integrity(request: Request, exc: Exception) -> JSONResponse:
    # A unique violation is two requests racing past a pre-check: a 409 naming the
    # constraint, never the values (the driver's message repeats them, e.g. an e-mail).
    violation = unique_violation(exc)
    if violation is None:
        return await _handle_unexpected(request, exc)
    code, detail = conflict_of(violation)
    _log.info("unique_violation", constraint=violation.constraint, code=code)
    return problem_response(Problem(409, code, detail, extra={"constraint": violation.constraint}))


async def _handle_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled_error", error_type=type(exc).__name__)
    return problem_response(Problem(500, "internal_error", "An unexpected error occurred."))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(OperationalError, _handle_db_unavailable)
    app.add_exception_handler(PoolTimeoutError, _handle_db_unavailable)
    app.add_exception_handler(IntegrityError, _handle_integrity)
    app.add_exception_handler(DBAPIError, _handle_db_disconnect_or_raise)
    app.add_exception_handler(Exception, _handle_unexpected)


async def _handle_db_disconnect_or_raise(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or is_busy(exc):
        return await _handle_db_unavailable(request, exc)
    return await _handle_unexpected(request, exc)
