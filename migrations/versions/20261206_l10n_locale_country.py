"""patients in their own language: patient.locale; clinic.country and clinic.default_locale

Revision ID: l10n01
Revises: reg01
Create Date: 2026-12-06 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l10n01"
down_revision: str | None = "reg01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("patient") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), server_default="en-GB", nullable=False))
    with op.batch_alter_table("clinic") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), server_default="GB", nullable=False))
        batch.add_column(sa.Column("default_locale", sa.String(length=16), server_default="en-GB", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("clinic") as batch:
        batch.drop_column("default_locale")
        batch.drop_column("country")
    with op.batch_alter_table("patient") as batch:
        batch.drop_column("locale")
