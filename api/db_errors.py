"""What a database error means for the client, on both databases.

- A bound that ran out (``api.db.Bounds``: PostgreSQL ``lock_timeout`` /
  ``statement_timeout``, SQLite's busy timeout, writer queue or statement interrupt, or
  no pooled connection in time) is *busy*: 503 ``database_busy`` with ``Retry-After``.
- A unique violation is a race two requests ran (two registrations with one e-mail,
  each past the pre-check before the other committed): 409, identified by the
  constraint's name from the naming convention (``uq_app_user_email``), never by the
  values, which the driver's message would repeat (an e-mail is PHI).

Only the classification lives here; ``api.errors`` turns it into problem details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from api.models import metadata

# SQLSTATEs of a bound running out: query_canceled (statement_timeout) and
# lock_not_available (lock_timeout).
_PG_BUSY = {"57014", "55P03"}
_PG_UNIQUE = "23505"
# SQLite: the busy timeout ("database is locked"), a shared-cache table lock, and the
# statement deadline's interrupt (api.db._SqliteStatementDeadline).
_SQLITE_BUSY = ("database is locked", "database table is locked", "interrupted")
_SQLITE_UNIQUE = re.compile(r"^UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>.+))$")


def is_busy(exc: BaseException) -> bool:
    """A bound on waiting or running ran out (retrying later is the answer)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _PG_BUSY
    message = str(orig).lower()
    return any(message.startswith(busy) for busy in _SQLITE_BUSY)


@dataclass(frozen=True, slots=True)
class UniqueViolation:
    constraint: str  # e.g. "uq_app_user_email", "pk_exercise_session"; "unknown" if unnamed


def unique_violation(exc: BaseException) -> UniqueViolation | None:
    """The violated unique constraint or index, if ``exc`` is a unique violation."""
    if not isinstance(exc, IntegrityError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        if sqlstate != _PG_UNIQUE:
            return None
        diag = getattr(orig, "diag", None)
        return UniqueViolation(getattr(diag, "constraint_name", None) or "unknown")
    match = _SQLITE_UNIQUE.match(str(orig))
    if match is None:
        return None
    if match.group("index"):
        return UniqueViolation(match.group("index"))
    return UniqueViolation(_sqlite_constraint(match.group("columns")))


def _sqlite_constraint(columns_text: str) -> str:
    """SQLite names the columns ("app_user.email"), not the constraint: find it in the models."""
    qualified = [part.strip() for part in columns_text.split(",")]
    tables = {name.partition(".")[0] for name in qualified}
    table = metadata.tables.get(tables.pop()) if len(tables) == 1 else None
    if table is None:
        return "unknown"
    columns = {name.partition(".")[2] for name in qualified}
    candidates: list[sa.PrimaryKeyConstraint | sa.UniqueConstraint | sa.Index] = [
        c for c in table.constraints if isinstance(c, sa.PrimaryKeyConstraint | sa.UniqueConstraint)
    ]
    candidates += [index for index in table.indexes if index.unique]
    for candidate in candidates:
        if {column.name for column in candidate.columns} == columns and isinstance(candidate.name, str):
            return str(candidate.name)
    return "unknown"


# Constraints whose race has the same answer as the service's own pre-check, so a client
# sees one code whichever of the two caught it. Any other: 409 ``already_exists``.
KNOWN_CONFLICTS: dict[str, tuple[str, str]] = {
    "uq_app_user_email": ("email_taken", "an account with this e-mail already exists"),
}


def conflict_of(violation: UniqueViolation) -> tuple[str, str]:
    """The stable ``code`` and a value-free ``detail`` for a unique violation."""
    return KNOWN_CONFLICTS.get(
        violation.constraint, ("already_exists", "a conflicting record was created at the same time; nothing was saved")
    )
