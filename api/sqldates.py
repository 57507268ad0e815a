"""Date arithmetic in SQL, one expression for SQLite and PostgreSQL.

SQLite keeps dates as ISO text (``date()``/``julianday()``); PostgreSQL has a date type
where ``date + integer`` and ``date - date`` are native. The sweep needs both to pick
its candidates inside the database instead of loading every patient.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class add_days(FunctionElement[Any]):
    """``date_expr + n days`` as a date; ``n`` is a Python int rendered inline."""

    type = sa.Date()
    inherit_cache = True

    def __init__(self, date_expr: Any, days: int) -> None:
        super().__init__(date_expr, sa.literal_column(str(int(days))))


class days_between(FunctionElement[Any]):
    """Whole days from the second date to the first (``later - earlier``)."""

    type = sa.Integer()
    inherit_cache = True


class date_text(FunctionElement[Any]):
    """A date as ``YYYY-MM-DD`` text, to compare with occurrence keys built in Python."""

    type = sa.String()
    inherit_cache = True


@compiles(add_days, "postgresql")
def _add_days_pg(element: add_days, compiler: Any, **kw: Any) -> str:
    date_expr, days = list(element.clauses)
    return f"CAST(({compiler.process(date_expr, **kw)}) + ({compiler.process(days, **kw)}) AS DATE)"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    date_expr, days = list(element.clauses)
    offset = f"(({compiler.process(days, **kw)}) || ' days')"
    return f"date({compiler.process(date_expr, **kw)}, {offset})"


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"(CAST({compiler.process(later, **kw)} AS DATE) - CAST({compiler.process(earlier, **kw)} AS DATE))"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"CAST(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}) AS INTEGER)"


@compiles(date_text, "postgresql")
def _date_text_pg(element: date_text, compiler: Any, **kw: Any) -> str:
    (date_expr,) = list(element.clauses)
    return f"to_char({compiler.process(date_expr, **kw)}, 'YYYY-MM-DD')"


@compiles(date_text, "sqlite")
def _date_text_sqlite(element: date_text, compiler: Any, **kw: Any) -> str:
    (date_expr,) = list(element.clauses)
    return f"date({compiler.process(date_expr, **kw)})"
