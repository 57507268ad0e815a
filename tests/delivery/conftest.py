"""Push provider fixtures: a throwaway service account and settings pointing at a fake server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.config import Settings
from tests.conftest import test_settings

WEBHOOK_SECRET = "webhook-test-secret-0123456789"


@dataclass(frozen=True)
class ServiceAccountKey:
    private_pem: str
    public_pem: bytes


@pytest.fixture(scope="session")
def service_account_key() -> ServiceAccountKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return ServiceAccountKey(private_pem, public_pem)


def write_service_account(directory: Path, key: ServiceAccountKey, token_uri: str) -> Path:
    """A service-account JSON like the one Firebase hands out, with the token endpoint local."""
    path = directory / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "demo",
                "private_key_id": "test-key",
                "private_key": key.private_pem,
                "client_email": "push@demo.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


def push_settings(
    database_url: str, directory: Path, key: ServiceAccountKey, base_url: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "fcm_project_id": "demo",
        "fcm_credentials_file": write_service_account(directory, key, f"{base_url}/token"),
        "fcm_endpoint": base_url,
        "webhook_url": f"{base_url}/webhook",
        "webhook_secret": WEBHOOK_SECRET,
        "delivery_backoff_base_seconds": 2.0,
        "delivery_backoff_max_seconds": 600.0,
        "delivery_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return test_settings(database_url, **values)
