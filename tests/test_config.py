from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from api.config import DEFAULT_JWT_SECRET, Settings
from api.rules.settings import DEFAULT_RULES


def test_defaults_to_an_embedded_sqlite_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.run_scheduler_in_process is True


def test_database_url_comes_from_the_unprefixed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/backstep")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@db/backstep"
    assert settings.run_scheduler_in_process is False


def test_production_refuses_the_default_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", jwt_secret=DEFAULT_JWT_SECRET)


def test_production_refuses_the_test_clock() -> None:
    with pytest.raises(ValidationError, match="TEST_CLOCK"):
        Settings(environment="production", jwt_secret="s" * 40, allow_test_clock=True)


def test_production_starts_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKSTEP_ENVIRONMENT", "production")
    monkeypatch.setenv("BACKSTEP_JWT_SECRET", "x" * 48)
    assert Settings().environment == "production"


def test_clinical_thresholds_are_configurable_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKSTEP_RULES", '{"emergency_number": "112", "daily_log_time": "19:30"}')
    rules = Settings().rules
    assert rules.emergency_number == "112"
    assert rules.daily_log_time == time(19, 30)
    assert rules.urgent_number == DEFAULT_RULES.urgent_number


def test_unknown_rule_overrides_are_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKSTEP_RULES", '{"emergency_numbr": "112"}')
    with pytest.raises(ValidationError, match="emergency_numbr"):
        Settings()
