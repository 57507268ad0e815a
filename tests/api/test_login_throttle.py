"""Login throttling (api/auth/throttle.py): per (account, client) waits that double, a
per-client budget, and nothing an attacker can use to lock the account holder out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session, select

from api import cli
from api.auth.throttle import client_key
from api.config import Settings
from api.main import create_app
from api.models import LoginThrottle
from tests.conftest import test_settings
from tests.dashboard.conftest import form_token
from tests.factories import PASSWORD, auth, make_clinician, make_patient, patient_user
from tests.wallclock import WallClock

LOGIN = "/api/v1/auth/login"
WRONG = "not the password"


def client_at(app: FastAPI, ip: str, **headers: str) -> TestClient:
    """A client whose TCP peer address is ``ip``."""
    return TestClient(app, client=(ip, 50000), headers=headers)


def try_login(client: TestClient, email: str, password: str) -> Response:
    return client.post(LOGIN, json={"email": email, "password": password})


@pytest.fixture
def email(session: Session, app: FastAPI) -> str:
    return patient_user(session, make_patient(session, app)).email


def test_changing_attacker_addresses_never_lock_the_owner_out(app: FastAPI, email: str, wall: WallClock) -> None:
    """The probe: 5 bad logins every 15 minutes from a new address, 4 cycles."""
    owner = client_at(app, "192.0.2.10")
    for cycle in range(4):
        attacker = client_at(app, f"198.51.100.{cycle + 1}")
        statuses = [try_login(attacker, email, WRONG).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429], cycle
        # The attacker's own address now waits, even with the right password...
        assert try_login(attacker, email, PASSWORD).status_code == 429
        # ...the owner, who has not been failing, logs in.
        assert try_login(owner, email, PASSWORD).status_code == 200, cycle
        wall.advance(timedelta(minutes=15))


def test_waits_double_per_further_failure_up_to_the_cap(app: FastAPI, email: str, wall: WallClock) -> None:
    client = client_at(app, "198.51.100.7")
    for _ in range(4):
        assert try_login(client, email, WRONG).status_code == 401
    waits = []
    for _ in range(9):
        assert try_login(client, email, WRONG).status_code == 401  # checked, and wrong
        locked = try_login(client, email, PASSWORD)  # the right password must wait too
        assert locked.status_code == 429 and locked.json()["code"] == "login_throttled"
        waits.append(int(locked.headers["Retry-After"]))
        wall.advance(timedelta(seconds=waits[-1]))
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]  # 1 min doubling, capped at 60 min
    # After the wait the right password logs in and the slate is clean again.
    assert try_login(client, email, PASSWORD).status_code == 200
    assert [try_login(client, email, WRONG).status_code for _ in range(6)] == [401] * 5 + [429]


def test_refused_attempts_neither_count_nor_lengthen_the_wait(app: FastAPI, email: str, wall: WallClock) -> None:
    client = client_at(app, "198.51.100.7")
    for _ in range(5):
        try_login(client, email, WRONG)
    for _ in range(10):
        assert try_login(client, email, WRONG).status_code == 429
    wall.advance(timedelta(seconds=61))
    assert try_login(client, email, PASSWORD).status_code == 200


def test_failures_are_forgotten_a_day_after_the_first(app: FastAPI, email: str, wall: WallClock) -> None:
    client = client_at(app, "198.51.100.7")
    for _ in range(4):
        try_login(client, email, WRONG)
    wall.advance(timedelta(hours=24))
    assert [try_login(client, email, WRONG).status_code for _ in range(5)] == [401] * 5  # a fresh count of five


def test_the_test_clock_neither_lifts_nor_extends_a_wait(
    app: FastAPI, email: str, session: Session, wall: WallClock
) -> None:
    client = client_at(app, "198.51.100.7")
    for _ in range(5):
        try_login(client, email, WRONG)
    session.rollback()  # a fresh snapshot, so SQLite lets this session write
    app.state.clock.set(app.state.clock.now() + timedelta(days=30), None, session)
    session.commit()
    assert try_login(client, email, PASSWORD).status_code == 429
    app.state.clock.set(app.state.clock.now() - timedelta(days=60), None, session)
    session.commit()
    wall.advance(timedelta(seconds=61))
    assert try_login(client, email, PASSWORD).status_code == 200


def test_unknown_and_real_accounts_answer_alike(app: FastAPI, email: str) -> None:
    """OWASP: no account enumeration by message, status or the throttle itself."""
    client = client_at(app, "198.51.100.7")

    def answers(address: str) -> list[tuple[int, str, str | None]]:
        out = []
        for _ in range(6):
            response = try_login(client, address, WRONG)
            out.append((response.status_code, response.json()["detail"], response.headers.get("Retry-After")))
        return out

    real, unknown = answers(email), answers("nobody-here@example.org")
    assert real == unknown
    assert real[0] == (401, "e-mail or password is wrong", None)
    assert real[-1][:2] == (429, "too many failed logins; try again later")


def test_one_client_guessing_across_accounts_spends_one_budget(
    app: FastAPI, session: Session, email: str, wall: WallClock
) -> None:
    sprayer = client_at(app, "198.51.100.7")
    for attempt in range(20):  # BACKSTEP_LOGIN_IP_MAX_FAILURES, one guess per account
        assert try_login(sprayer, f"guess{attempt}@example.org", WRONG).status_code == 401
    blocked = try_login(sprayer, email, PASSWORD)  # even a right password from that address waits
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    assert try_login(client_at(app, "192.0.2.10"), email, PASSWORD).status_code == 200
    wall.advance(timedelta(minutes=15))
    assert try_login(sprayer, email, PASSWORD).status_code == 200


def test_an_ipv6_subscriber_is_one_client(app: FastAPI, email: str) -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7"
    for host in range(5):  # every address of one /64 counts as the same client
        assert try_login(client_at(app, f"2001:db8:1:2::{host + 1}"), email, WRONG).status_code == 401
    assert try_login(client_at(app, "2001:db8:1:2::99"), email, PASSWORD).status_code == 429
    assert try_login(client_at(app, "2001:db8:1:3::1"), email, PASSWORD).status_code == 200


def test_the_table_keeps_no_email_and_stale_rows_are_pruned(
    app: FastAPI, session: Session, email: str, wall: WallClock
) -> None:
    client = client_at(app, "198.51.100.7")
    try_login(client, email, WRONG)
    try_login(client, "stranger@example.org", WRONG)
    session.rollback()
    keys = [row.key for row in session.exec(select(LoginThrottle)).all()]
    assert len(keys) == 3 and not any("@" in key or "example" in key for key in keys)
    wall.advance(timedelta(hours=25))
    try_login(client_at(app, "192.0.2.99"), "someone@example.org", WRONG)  # a failure prunes
    session.rollback()
    assert len(session.exec(select(LoginThrottle)).all()) == 2  # only that failure's pair and client rows


def test_a_success_forgets_only_this_clients_failures(app: FastAPI, email: str) -> None:
    attacker, owner = client_at(app, "198.51.100.7"), client_at(app, "192.0.2.10")
    for _ in range(4):
        try_login(attacker, email, WRONG)
    assert try_login(owner, email, PASSWORD).status_code == 200
    assert [try_login(attacker, email, WRONG).status_code for _ in range(2)] == [401, 429]


def test_the_dashboard_login_is_throttled_per_client_too(app: FastAPI, session: Session) -> None:
    physio = make_clinician(session, app)

    def dashboard_login(ip: str, password: str) -> int:
        web = TestClient(app, base_url="https://testserver", follow_redirects=False, client=(ip, 50000))
        token = form_token(web.get("/dashboard/login").text)
        data = {"email": physio.email, "password": password, "csrf_token": token}
        return web.post("/dashboard/login", data=data).status_code

    assert [dashboard_login("198.51.100.7", WRONG) for _ in range(6)] == [401] * 5 + [429]
    assert dashboard_login("198.51.100.7", PASSWORD) == 429
    assert dashboard_login("192.0.2.10", PASSWORD) == 303  # the physiotherapist is not locked out


def test_erasure_passwords_share_the_clients_waits(app: FastAPI, session: Session) -> None:
    user = patient_user(session, make_patient(session, app))
    headers = auth(app, user)
    thief = client_at(app, "198.51.100.7")
    erase = [
        thief.request("DELETE", "/api/v1/me", json={"password": WRONG}, headers=headers).status_code for _ in range(6)
    ]
    assert erase == [403] * 5 + [429]
    assert try_login(thief, user.email, PASSWORD).status_code == 429  # the same (account, client) waits
    assert try_login(client_at(app, "192.0.2.10"), user.email, PASSWORD).status_code == 200


# --- proxies -------------------------------------------------------------------------


@pytest.fixture
def proxied_app(database_url: str) -> Iterator[FastAPI]:
    application = create_app(test_settings(database_url, trusted_proxies="10.0.0.0/24"))
    yield application
    application.state.engine.dispose()


def lock_out(client: TestClient, email: str) -> None:
    for _ in range(5):
        assert try_login(client, email, WRONG).status_code == 401


def test_forwarded_for_from_a_trusted_proxy_is_the_client(proxied_app: FastAPI, session: Session) -> None:
    email = patient_user(session, make_patient(session, proxied_app)).email
    lock_out(client_at(proxied_app, "10.0.0.5", **{"X-Forwarded-For": "198.51.100.7"}), email)
    # The proxy's other clients are other clients; the locked one stays locked behind it.
    assert (
        try_login(client_at(proxied_app, "10.0.0.5", **{"X-Forwarded-For": "192.0.2.10"}), email, PASSWORD).status_code
        == 200
    )
    assert (
        try_login(
            client_at(proxied_app, "10.0.0.6", **{"X-Forwarded-For": "198.51.100.7"}), email, PASSWORD
        ).status_code
        == 429
    )
    # A client's own X-Forwarded-For entry is not believed: the proxy appended the real address.
    spoofed = {"X-Forwarded-For": "192.0.2.10, 198.51.100.7"}
    assert try_login(client_at(proxied_app, "10.0.0.5", **spoofed), email, PASSWORD).status_code == 429


def test_forwarded_for_from_an_untrusted_peer_is_ignored(proxied_app: FastAPI, session: Session) -> None:
    email = patient_user(session, make_patient(session, proxied_app)).email
    lock_out(client_at(proxied_app, "198.51.100.7", **{"X-Forwarded-For": "192.0.2.1"}), email)
    assert (
        try_login(
            client_at(proxied_app, "198.51.100.7", **{"X-Forwarded-For": "192.0.2.2"}), email, PASSWORD
        ).status_code
        == 429
    )
    assert try_login(client_at(proxied_app, "192.0.2.1"), email, PASSWORD).status_code == 200


def test_no_proxy_is_trusted_by_default_not_even_localhost(app: FastAPI, email: str) -> None:
    assert app.state.settings.trusted_proxies == ""
    lock_out(client_at(app, "127.0.0.1", **{"X-Forwarded-For": "192.0.2.1"}), email)
    assert (
        try_login(client_at(app, "127.0.0.1", **{"X-Forwarded-For": "192.0.2.2"}), email, PASSWORD).status_code == 429
    )


def test_serve_turns_off_uvicorns_own_proxy_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    run = mock.Mock()
    monkeypatch.setattr(uvicorn, "run", run)
    settings = Settings(database_url="sqlite://", scheduler_in_process=False, trusted_proxies="10.0.0.1")
    assert cli._serve(cli.build_parser().parse_args(["serve"]), settings) == 0
    options = run.call_args.kwargs
    # uvicorn would believe 127.0.0.1 by default; the app applies BACKSTEP_TRUSTED_PROXIES itself.
    assert options["proxy_headers"] is False and options["forwarded_allow_ips"] == []


def test_a_malformed_trusted_proxy_stops_the_start_up() -> None:
    with pytest.raises(ValueError, match="BACKSTEP_TRUSTED_PROXIES"):
        Settings(database_url="sqlite://", trusted_proxies="10.0.0.1, proxy.internal")
