"""Running Alembic from the application (``backstep migrate``, readiness, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from api.config import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config(str(settings.alembic_ini_path()))
    # env.py reads the URL from here, so the CLI, tests and readiness use one setting.
    config.attributes["database_url"] = settings.database_url
    return config


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "base") -> None:
    command.downgrade(alembic_config(settings), revision)
