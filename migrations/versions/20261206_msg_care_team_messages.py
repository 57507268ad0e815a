"""Care-team messaging: one conversation per patient, and the ``message`` notification kind

Revision ID: msg01
Revises: totp01
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "msg01"
down_revision: str | None = "totp01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("daily_log_reminder", "exercise_reminder", "weekly_checkin", "nudge", "safety", "plan_change", "care_team_alert")


def _kind_check(kinds: Sequence[str]) -> None:
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    # Batch mode: SQLite rebuilds the table with the new CHECK; PostgreSQL alters it in place.
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_notification_kind_valid"), f"kind IN ({listed})")


def upgrade() -> None:
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("author_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("author_user_id", sa.Integer(), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("author_role IN ('patient', 'clinician')", name=op.f("ck_message_author_role_valid")),
        sa.CheckConstraint("length(body) >= 1", name=op.f("ck_message_body_not_empty")),
        sa.ForeignKeyConstraint(
            ["author_user_id"], ["app_user.id"], name=op.f("fk_message_author_user_id_app_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_message_patient_id_patient"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("patient_id", "client_id", name=op.f("uq_message_patient_id_client_id")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_author_user_id"), ["author_user_id"], unique=False)
        batch_op.create_index("ix_message_patient_id_id", ["patient_id", "id"], unique=False)
        batch_op.create_index(
            "ix_message_unread",
            ["patient_id", "author_role"],
            unique=False,
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        )
    _kind_check((*_KINDS, "message"))


def downgrade() -> None:
    op.execute("DELETE FROM notification WHERE kind = 'message'")
    _kind_check(_KINDS)
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_unread", sqlite_where=sa.text("read_at IS NULL"))
        batch_op.drop_index("ix_message_patient_id_id")
        batch_op.drop_index(batch_op.f("ix_message_author_user_id"))
    op.drop_table("message")
