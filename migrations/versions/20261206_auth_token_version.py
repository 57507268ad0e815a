"""access tokens die with their login; stale login throttle rows are pruned

``app_user.token_version`` is carried in every access token and moved on by a logout or
a revoked refresh family; ``login_throttle.window_started_at`` is indexed for pruning.

Revision ID: auth01
Revises: 0001
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth01"
down_revision: str | None = "deliv01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_window_started_at"), ["window_started_at"], unique=False)
    # Counters keyed the old way (per account, per IP) mean nothing to the new throttle.
    op.execute("DELETE FROM login_throttle")


def downgrade() -> None:
    op.execute("DELETE FROM login_throttle")
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_window_started_at"))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("token_version")
