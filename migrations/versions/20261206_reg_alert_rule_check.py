"""alert.rule: the application checks the code against the rule registry; drop the CHECK

Adding an alert rule (api/rules/registry.py) must need no migration: the accepted codes
are the registry's (api.models.clinical.RuleCodeText), not a list frozen in the schema.

Revision ID: reg01
Revises: msg01
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reg01"
down_revision: str | None = "msg01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The codes the dropped CHECK listed (rule set 2026.11.1), restored as they were on downgrade.
_CODES_AT_DOWNGRADE = (
    "red_flag_emergency",
    "red_flag_urgent_same_day",
    "red_flag_urgent_days",
    "known_symptom",
    "persistent_numbness",
    "start_back_medium",
    "start_back_high",
    "no_improvement_2w",
    "no_improvement_4w",
    "no_improvement_6w",
    "persistent_12w",
    "worsening",
    "prolonged_flare",
    "silent",
    "medication_review",
)


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_constraint(op.f("ck_alert_rule_valid"), type_="check")


def downgrade() -> None:
    listed = ", ".join(f"'{code}'" for code in _CODES_AT_DOWNGRADE)
    with op.batch_alter_table("alert") as batch:
        # op.f: the name is final already (the naming convention must not prefix it again).
        batch.create_check_constraint(op.f("ck_alert_rule_valid"), f"rule IN ({listed})")
