"""Metadata, naming convention and the column types every table shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlmodel import SQLModel

# Constraint names must be deterministic for Alembic (and batch mode on SQLite) to
# find them again in later migrations; set before any table is declared.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no time zone type, so values are stored as naive UTC there and given
    their zone back on load; naive datetimes are refused on the way in, because a
    naive value in this codebase is always a bug (it has no defined instant).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # Raw SQL on SQLite can hand back text.
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def one_of(column: str, values: Iterable[str] | type[StrEnum], name: str | None = None) -> sa.CheckConstraint:
    """CHECK that a string column holds one of the enum's values."""
    items = [v.value if isinstance(v, StrEnum) else v for v in values]
    listed = ", ".join(f"'{v}'" for v in items)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name or f"{column}_valid")


def in_range(column: str, low: int, high: int) -> sa.CheckConstraint:
    """CHECK that a nullable score column stays inside its scale."""
    return sa.CheckConstraint(f"{column} IS NULL OR ({column} >= {low} AND {column} <= {high})", name=f"{column}_range")
