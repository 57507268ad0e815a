"""The metrics listener's settings: production never exposes an unprotected /metrics."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.config import Settings

PRODUCTION = {"environment": "production", "jwt_secret": "s" * 48}


def test_metrics_are_off_unless_a_port_is_set() -> None:
    settings = Settings()
    assert settings.metrics_port is None and settings.metrics_host == "127.0.0.1"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "metrics.internal"])
def test_production_refuses_a_wide_listener_without_a_token(host: str) -> None:
    with pytest.raises(ValidationError, match="BACKSTEP_METRICS_TOKEN"):
        Settings(**PRODUCTION, metrics_port=9464, metrics_host=host)  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_production_allows_a_loopback_listener_without_a_token(host: str) -> None:
    settings = Settings(**PRODUCTION, metrics_port=9464, metrics_host=host)  # type: ignore[arg-type]
    assert settings.metrics_token is None


def test_production_allows_a_wide_listener_with_a_long_token() -> None:
    settings = Settings(**PRODUCTION, metrics_port=9464, metrics_host="0.0.0.0", metrics_token="t" * 32)  # type: ignore[arg-type]
    assert settings.metrics_token == "t" * 32


def test_production_refuses_a_short_token() -> None:
    with pytest.raises(ValidationError, match="METRICS_TOKEN shorter"):
        Settings(**PRODUCTION, metrics_port=9464, metrics_host="0.0.0.0", metrics_token="short")  # type: ignore[arg-type]


def test_development_may_listen_widely_without_a_token() -> None:
    assert Settings(metrics_port=9464, metrics_host="0.0.0.0").metrics_token is None


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKSTEP_METRICS_PORT", "9464")
    monkeypatch.setenv("BACKSTEP_METRICS_HOST", "0.0.0.0")
    monkeypatch.setenv("BACKSTEP_METRICS_TOKEN", "x" * 40)
    settings = Settings()
    assert (settings.metrics_port, settings.metrics_host, settings.metrics_token) == (9464, "0.0.0.0", "x" * 40)
