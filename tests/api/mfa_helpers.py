"""Enrolling an account in TOTP through the API, and computing its codes as a phone would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.models import User
from tests.factories import PASSWORD, auth

LOGIN = "/api/v1/auth/login"
LOGIN_MFA = "/api/v1/auth/login/mfa"
ME_MFA = "/api/v1/me/mfa"
TOTP = "/api/v1/me/mfa/totp"


@dataclass(frozen=True)
class Enrolled:
    secret: str
    recovery_codes: list[str]

    def code(self, at: datetime) -> str:
        return pyotp.TOTP(self.secret).at(at)

    def wrong_code(self, at: datetime) -> str:
        return wrong_code(self.secret, at)


def wrong_code(secret: str, at: datetime) -> str:
    """Six digits that are no code of ``secret`` near ``at`` (so never right by chance)."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(at + timedelta(seconds=30 * offset)) for offset in range(-2, 3)}
    return next(code for code in (f"{n:06d}" for n in range(10)) if code not in valid)


def enrol(client: TestClient, app: FastAPI, user: User, at: datetime) -> Enrolled:
    """TOTP on for ``user`` (opt-in through ``/me/mfa/totp``), its code for ``at`` spent."""
    headers = auth(app, user)
    started = client.post(TOTP, headers=headers)
    assert started.status_code == 201, started.text
    secret = started.json()["secret"]
    confirmed = client.post(f"{TOTP}/confirm", json={"code": pyotp.TOTP(secret).at(at)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    return Enrolled(secret, confirmed.json()["recovery_codes"])


def password_step(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
