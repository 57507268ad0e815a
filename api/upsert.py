"""Dialect-specific ``INSERT … ON CONFLICT`` with one shape on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session


def insert_for(session: Session, table: Any) -> Any:
    """An ``insert()`` construct that supports ``on_conflict_do_*`` on this session's database."""
    return insert_on(session.get_bind().dialect.name, table)


def insert_on(dialect: str, table: Any) -> Any:
    """``insert_for`` by dialect name, for statements built once per dialect before any session."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect: {dialect}")


# Statements of ``insert_rows`` by dialect, table, columns and finishing step: built once.
_BUILT: dict[tuple[str, str, tuple[str, ...], Callable[[Any], Any] | None], Any] = {}


def insert_rows(
    session: Session, table: Any, rows: Sequence[Mapping[str, Any]], *, then: Callable[[Any], Any] | None = None
) -> tuple[Any, Any]:
    """``insert_for`` for many rows (each with the same keys), and the parameters to execute it with.

    Callers add ``on_conflict_do_*`` and ``returning`` as to ``insert_for`` and run
    ``session.execute(statement, parameters)``.

    On PostgreSQL the rows travel as one JSON array in one
    ``INSERT … SELECT … FROM jsonb_to_recordset(:rows)``, whose text does not depend on the
    number of rows: SQLAlchemy compiles it once, psycopg parses it once and the rows are
    encoded by the C JSON encoder. A multi-row ``VALUES`` (SQLAlchemy's "insertmanyvalues")
    has ten thousand parameters for a thousand rows, and psycopg re-parses such a statement
    in Python on every execution (it caches only statements of at most 50 parameters): that
    was the largest single cost of the sweep's first run. Values are typed by the columns
    (text for strings, so a value too long for its column is refused as before). Elsewhere
    (SQLite): the plain insert and the list of rows, executed as an executemany.

    ``then`` finishes the statement (``on_conflict_do_*``, ``returning``): pass a
    module-level function, the finished statement is built once per dialect, table and
    columns and reused.
    """
    if not rows:
        raise ValueError("insert_rows needs at least one row")
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        plain: tuple[str, str, tuple[str, ...], Callable[[Any], Any] | None] = (dialect.name, table.fullname, (), then)
        statement = _BUILT.get(plain)
        if statement is None:
            statement = insert_for(session, table)
            statement = _BUILT[plain] = then(statement) if then is not None else statement
        return statement, list(rows)
    names = list(rows[0])
    # SQLAlchemy fills Python-side column defaults into VALUES, not into a SELECT: fill them here.
    defaults = {
        c.name: c.default
        for c in table.c
        if c.name not in names and c.default is not None and (c.default.is_scalar or c.default.is_callable)
    }
    records = [dict(row) for row in rows]
    for name, default in defaults.items():
        for record in records:
            record[name] = default.arg if default.is_scalar else default.arg(None)
    names += list(defaults)
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, sa.types.TypeDecorator):  # e.g. UTCDateTime: its checks and conversion
            process = kind.bind_processor(dialect)
            if process is not None:
                for record in records:
                    record[name] = process(record[name])
    key = (dialect.name, table.fullname, tuple(names), then)
    statement = _BUILT.get(key)
    if statement is None:
        statement = _BUILT[key] = _from_recordset(table, names, dialect, then)
    return statement, {"rows": json.dumps(records, default=_json_value, allow_nan=False)}


def _from_recordset(table: Any, names: list[str], dialect: Any, then: Callable[[Any], Any] | None) -> Any:
    """``INSERT … SELECT … FROM jsonb_to_recordset(:rows)`` for these columns, typed by the table."""
    fields = []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, sa.types.TypeDecorator):
            kind = kind.impl_instance
        kind = kind.dialect_impl(dialect)
        if isinstance(kind, sa.String) and not isinstance(kind, sa.Enum):
            kind = sa.Text()  # the column's own assignment refuses a value too long for it
        fields.append(sa.column(name, kind))
    given = sa.cast(sa.bindparam("rows", type_=sa.Text()), postgresql.JSONB())
    source = sa.func.jsonb_to_recordset(given).table_valued(*fields).render_derived(name="given", with_types=True)
    statement = postgresql.insert(table).from_select(names, sa.select(*(source.c[name] for name in names)))
    return then(statement) if then is not None else statement


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a column value insert_rows can send")
