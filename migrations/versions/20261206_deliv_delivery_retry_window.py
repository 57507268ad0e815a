"""delivery retry window and dead-letter index

Revision ID: deliv01
Revises: 0001
Create Date: 2026-12-06 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "deliv01"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: existing rows get their window at their next failure.
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("give_up_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_delivery_dead",
        "delivery",
        ["id"],
        unique=False,
        sqlite_where=sa.text("status = 'dead'"),
        postgresql_where=sa.text("status = 'dead'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_delivery_dead",
        table_name="delivery",
        sqlite_where=sa.text("status = 'dead'"),
        postgresql_where=sa.text("status = 'dead'"),
    )
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("give_up_at")
