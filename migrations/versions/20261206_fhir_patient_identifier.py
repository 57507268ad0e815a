"""an external identifier per patient (e.g. a national health number) for the FHIR export

Revision ID: fhir01
Revises: auth01
Create Date: 2026-12-06 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fhir01"
down_revision: str | None = "auth01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patient_identifier",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_identifier_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["app_user.id"], name=op.f("fk_patient_identifier_updated_by_app_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_identifier")),
    )


def downgrade() -> None:
    op.drop_table("patient_identifier")
