"""A browser-like client for the dashboard (HTTPS, so Secure cookies are kept) and a logged-in helper."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import User
from tests.factories import PASSWORD, make_clinician

LOGIN = "/dashboard/login"


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(web: TestClient, user: User, password: str = PASSWORD) -> str:
    """Logs ``user`` in through the form; returns the session's CSRF token from the next page."""
    token = form_token(web.get(LOGIN).text)
    response = web.post(LOGIN, data={"email": user.email, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard/patients"
    return form_token(web.get("/dashboard/patients").text)


@pytest.fixture
def physio(session: Session, app: FastAPI) -> User:
    return make_clinician(session, app, name="Sam Physio")


# The followed patient (16 days of history, an urgent alert open) of the clinician API tests.
from tests.clinicians.conftest import followed  # noqa: E402, F401
