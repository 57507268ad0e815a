"""Structured JSON logs (structlog) with the request id bound per request.

Nothing that identifies a patient is ever logged: no names, e-mails, notes, pain
values or request bodies — ids and outcomes only. Failures are where that promise
usually breaks, because an exception's text carries the data that caused it: a
SQLAlchemy error lists the SQL and its bound parameters, psycopg adds
``DETAIL: Key (email)=(x@y) already exists``, a pydantic error quotes the input. So
every exception, from our loggers and from library loggers (uvicorn, apscheduler)
alike, is logged as its type, a scrubbed first line and the stack (file, line,
function and source line, which are code, not data), never as ``str(exc)``. The engine
itself hides bound parameters (``hide_parameters=True`` in ``api.db``) as a second
line of defence, and a last processor masks e-mail addresses, password hashes and
tokens in any string of any event.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_MAX_MESSAGE = 300
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_SECRETS = (
    (re.compile(r"\$argon2(?:id|i|d)\$\S*"), "<password-hash>"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<token>"),
)


def mask_secrets(text: str) -> str:
    """``text`` with e-mail addresses, argon2 hashes and JWTs replaced by placeholders."""
    for pattern, placeholder in _SECRETS:
        text = pattern.sub(placeholder, text)
    return text


def scrub_message(message: str) -> str:
    """An exception message safe to log.

    Only the first line is kept: SQLAlchemy puts ``[SQL: ...]``, ``[parameters: ...]``
    and the driver's ``DETAIL``/``HINT`` lines (which echo row values) after it.
    Quoted literals in that line are replaced, since drivers and Python quote the
    offending value (``invalid input syntax for type integer: "..."``, ``KeyError:
    'x'``); the names that help debugging (constraint, table, column) are logged
    separately from the driver's diagnostics.
    """
    first = message.strip().split("\n", 1)[0]
    first = first.split("[SQL:", 1)[0].split("[parameters:", 1)[0]
    first = mask_secrets(_QUOTED.sub("'…'", first)).strip()
    return first if len(first) <= _MAX_MESSAGE else first[: _MAX_MESSAGE - 1] + "…"


def error_fields(exc: BaseException) -> dict[str, Any]:
    """``error_type``, a scrubbed ``error`` and, for database errors, the diagnostics
    that name no value (SQLSTATE, constraint, table, column)."""
    fields: dict[str, Any] = {"error_type": _type_name(exc), "error": _safe_str(exc)}
    orig = getattr(exc, "orig", None)  # a SQLAlchemy DBAPIError wraps the driver's error
    if orig is not None:
        fields["db_error_type"] = _type_name(orig)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
        if sqlstate:
            fields["db_sqlstate"] = str(sqlstate)
        diag = getattr(orig, "diag", None)
        for name in ("constraint_name", "table_name", "column_name"):
            value = getattr(diag, name, None) if diag is not None else None
            if value:
                fields[f"db_{name}"] = str(value)
    return fields


def safe_traceback(exc: BaseException) -> str:
    """The stack of ``exc`` and the exceptions chained to it, with scrubbed messages."""
    parts: list[str] = []
    for index, link in enumerate(_chain(exc)):
        if index:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if link.__cause__ is not None
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        if link.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(link.__traceback__))
        parts.append(f"{_type_name(link)}: {_safe_str(link)}\n")
    return "".join(parts)


def _chain(exc: BaseException) -> list[BaseException]:
    """Oldest first, as Python prints them."""
    links: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in links):
        links.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return links[::-1]


def _type_name(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _safe_str(exc: BaseException) -> str:
    try:
        return scrub_message(str(exc))
    except Exception:  # a broken __str__ must not lose the log line
        return "<unprintable>"


def _exc_from(value: Any) -> BaseException | None:
    if isinstance(value, BaseException):
        return value
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[1]
    if value is True:
        return sys.exc_info()[1]
    return None


def render_exception_safely(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replaces structlog's ``format_exc_info``: type, scrubbed message, stack; no values."""
    raw = event_dict.pop("exc_info", None)
    exc = _exc_from(raw)
    if exc is not None:
        for key, value in error_fields(exc).items():
            event_dict.setdefault(key, value)
        event_dict["exception"] = safe_traceback(exc)
    elif isinstance(event_dict.get("exception"), BaseException):
        event_dict["exception"] = safe_traceback(event_dict["exception"])
    return event_dict


def mask_event(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: no e-mail, password hash or token in any string of the event."""
    for key, value in event_dict.items():
        event_dict[key] = _masked(value)
    return event_dict


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, BaseException):
        return f"{_type_name(value)}: {_safe_str(value)}"
    return value


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time, so loggers cached on first use
    follow a replaced stdout (a test's capture, a daemon's redirection)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "apscheduler", "alembic", "sqlalchemy")


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        render_exception_safely,
        mask_event,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False)
    )
    stream: TextIO = _CurrentStdout()  # type: ignore[assignment]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    # Library loggers (uvicorn, apscheduler, alembic) through the same JSON pipeline,
    # and so through the same exception scrubbing.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Whoever configured logging before us (uvicorn's default dictConfig when the app is run
    # with `uvicorn api.main:app`, alembic's fileConfig) gave these loggers handlers of their
    # own that print raw tracebacks, bound values included: take them back to the root's.
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.disabled = False
    # uvicorn's own access log would duplicate ours and include query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request's URL at INFO: webhook URLs can carry credentials.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
