"""the triage list reads one row per patient: patient_state

Revision ID: state01
Revises: l10n01
Create Date: 2026-12-06 19:50:00

Every patient gets a row here (registration makes the new ones), with ``valid_until`` NULL:
out of date, so it is computed the first time a triage list includes the patient, or by
the next daily sweep of their time zone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "state01"
down_revision: str | None = "l10n01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "patient_state",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("tier_rank", sa.SmallInteger(), nullable=False),
        sa.Column("open_emergency", sa.Integer(), nullable=False),
        sa.Column("open_urgent_same_day", sa.Integer(), nullable=False),
        sa.Column("open_urgent_days", sa.Integer(), nullable=False),
        sa.Column("open_routine", sa.Integer(), nullable=False),
        sa.Column("not_improving", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("classification", sa.String(length=32), nullable=False),
        sa.Column("class_rank", sa.SmallInteger(), nullable=False),
        sa.Column("baseline_mean", sa.Float(), nullable=True),
        sa.Column("current_mean", sa.Float(), nullable=True),
        sa.Column("change", sa.Float(), nullable=True),
        sa.Column("silence_key", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_patient_state_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_state")),
    )
    op.create_index(
        "ix_patient_state_triage", "patient_state", ["tier_rank", "class_rank", "silence_key", "patient_id"]
    )
    op.create_index("ix_patient_state_valid_until", "patient_state", ["valid_until"])
    op.create_index("ix_patient_state_valid_from", "patient_state", ["valid_from"])
    op.execute(
        "INSERT INTO patient_state (patient_id, tier_rank, open_emergency, open_urgent_same_day, open_urgent_days,"
        " open_routine, not_improving, classification, class_rank, silence_key)"
        " SELECT id, 4, 0, 0, 0, 0, 0, 'insufficient_data', 2, 0 FROM patient"
    )


def downgrade() -> None:
    op.drop_index("ix_patient_state_valid_from", table_name="patient_state")
    op.drop_index("ix_patient_state_valid_until", table_name="patient_state")
    op.drop_index("ix_patient_state_triage", table_name="patient_state")
    op.drop_table("patient_state")
