"""Field types and base models shared by every router's schemas.

Input is strict: ``false`` is not an integer, ``"7"`` is not a number, unknown
fields are refused. Pydantic's model-wide strict mode would also refuse ISO
strings for dates (FastAPI validates the decoded JSON as Python objects), so
strictness is set per field type here instead.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import date, datetime, time
from functools import cache
from importlib import resources
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from api.errors import field_error

T = TypeVar("T")


class StrictInput(BaseModel):
    """Base for request bodies."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Public(BaseModel):
    """Base for response bodies (read from ORM rows).

    Every field is always sent, defaults too, so the response schemas list every field
    as required: a generated client need not treat them as possibly absent.
    """

    model_config = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


def _must_be_str(kind: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"must be a string in {kind} format")
        return value

    return check


StrictInt = Annotated[int, Field(strict=True)]
# Largest row id: primary keys are INTEGER columns (32-bit on PostgreSQL), so a larger id
# in a path or body is a 422, not a database error.
MAX_ROW_ID = 2**31 - 1
RowIdInput = Annotated[int, Field(strict=True, ge=1, le=MAX_ROW_ID)]
StrictBool = Annotated[bool, Field(strict=True)]
StrictStr = Annotated[str, Field(strict=True)]
Score0To10 = Annotated[int, Field(strict=True, ge=0, le=10)]
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339_text(value: Any) -> Any:
    # Pydantic would otherwise read "0.5" or "1700000000" as a Unix time.
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time string with an offset, e.g. 2026-03-01T20:00:00Z")
    return value


# RFC 3339 date-time with an offset, given as a string (no epoch numbers).
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


def _plausible_instant(value: datetime) -> datetime:
    # Far-off years with an offset overflow when converted to UTC or a patient's zone.
    if not 2000 <= value.year < 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return value


# An instant recorded by the app (an edit time, when a session was done).
AppInstant = Annotated[Rfc3339, AfterValidator(_plausible_instant)]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: Any) -> Any:
    # Without this, pydantic reads "0" or "1700000000" as a Unix time (1970-01-01...).
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date in YYYY-MM-DD format")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
LocalTime = Annotated[time, BeforeValidator(_must_be_str("HH:MM time"))]
Text = Annotated[str, StringConstraints(strict=True, max_length=2000)]
Name = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=100)]


def _valid_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone name such as Europe/London (or UTC)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone name such as Europe/London (or UTC)") from exc
    return value


@cache
def _zones() -> frozenset[str]:
    """The zones a patient may live in: IANA's geographic ``Area/Location`` names, and UTC.

    Read from the pinned ``tzdata`` package, not the host: the host's list adds
    ``localtime``, ``posixrules`` and ``posix/...``/``right/...`` copies, which mean
    whatever the server is set to or count leap seconds. Refused too: ``Factory`` and
    the other names without an area (``EST``, ``CET``, ``Japan``: legacy or ambiguous),
    and ``Etc/GMT+5`` and the like, fixed offsets with an inverted sign and no DST, a
    trap for reminders. ``UTC`` and ``Etc/UTC`` are kept: devices set to UTC say so.
    """
    names = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    geographic = {name for name in names if "/" in name and not name.startswith("Etc/")}
    return frozenset(geographic | {"UTC", "Etc/UTC"})


TimeZoneName = Annotated[str, StringConstraints(strict=True, max_length=64), AfterValidator(_valid_zone)]


class Page(BaseModel, Generic[T]):
    """A cursor-paginated list."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[T]
    next_cursor: str | None = None


Limit = Annotated[int, Field(ge=1, le=200)]


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position a cursor encodes; a tampered cursor is a 422 naming ``cursor``."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise field_error(["query", "cursor"], "invalid cursor") from exc
    if not isinstance(value, dict):
        raise field_error(["query", "cursor"], "invalid cursor")
    return value


def cursor_value(position: dict[str, Any], key: str, kind: type[Any]) -> Any:
    """One typed value from a decoded cursor (422 if it was tampered with)."""
    value = position.get(key)
    try:
        if kind is datetime:
            return datetime.fromisoformat(str(value))
        if kind is date:
            return date.fromisoformat(str(value))
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is str and isinstance(value, str):
            return value
        if kind is uuid.UUID and isinstance(value, str):
            return uuid.UUID(value)
    except ValueError:
        pass
    raise field_error(["query", "cursor"], "invalid cursor")
