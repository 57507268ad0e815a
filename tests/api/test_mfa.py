"""TOTP second factor on the API (api/auth/mfa.py): opt-in for patients, required for staff
where the clinic says so, codes throttled like passwords and never replayable, recovery
codes single-use, the secret encrypted at rest, every step audited."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.auth import mfa
from api.config import Settings
from api.main import create_app
from api.models import AuditEvent, RecoveryCode, User, UserTotp
from tests.api.mfa_helpers import LOGIN, LOGIN_MFA, ME_MFA, TOTP, enrol, password_step, wrong_code
from tests.conftest import test_settings
from tests.factories import PASSWORD, assert_field_refused, auth, make_admin, make_clinician, make_patient, patient_user
from tests.wallclock import WallClock

ME = "/api/v1/me"
LOGOUT = "/api/v1/auth/logout"


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def actions(session: Session, *names: str) -> list[tuple[str, int | None, str | None]]:
    session.rollback()
    rows = session.exec(select(AuditEvent).where(col(AuditEvent.action).in_(names)).order_by(col(AuditEvent.id))).all()
    return [(row.action, row.actor_id, row.detail.get("reason")) for row in rows]


@pytest.fixture
def patient(session: Session, app: FastAPI) -> User:
    return patient_user(session, make_patient(session, app))


# --- patients opt in ----------------------------------------------------------------------


def test_a_patient_opts_in_and_then_logs_in_with_password_and_code(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock
) -> None:
    assert client.post(LOGIN, json={"email": patient.email, "password": PASSWORD}).json()["token_type"] == "bearer"
    assert client.get(ME_MFA, headers=auth(app, patient)).json() == {
        "totp": "off",
        "required": False,
        "recovery_codes_left": 0,
    }
    started = client.post(TOTP, headers=auth(app, patient))
    body = started.json()
    assert (
        body["otpauth_uri"].startswith("otpauth://totp/Backstep:") and "secret=" + body["secret"] in body["otpauth_uri"]
    )
    assert body["qr_svg"].startswith("<svg") and "<path" in body["qr_svg"]
    assert client.get(ME_MFA, headers=auth(app, patient)).json()["totp"] == "pending"
    # Still pending: the password alone logs in until a code confirms the enrolment.
    assert "access_token" in password_step(client, patient.email)
    confirmed = client.post(
        f"{TOTP}/confirm", json={"code": pyotp.TOTP(body["secret"]).at(wall.now())}, headers=auth(app, patient)
    )
    codes = confirmed.json()["recovery_codes"]
    assert confirmed.status_code == 200 and len(codes) == len(set(codes)) == 10
    assert client.get(ME_MFA, headers=auth(app, patient)).json() == {
        "totp": "on",
        "required": False,
        "recovery_codes_left": 10,
    }

    wall.advance(timedelta(seconds=30))
    challenge = password_step(client, patient.email)
    assert challenge["mfa_required"] is True and challenge["enrolment_required"] is False
    assert set(challenge) == {"mfa_required", "mfa_token", "enrolment_required", "expires_in"}
    assert challenge["expires_in"] == 300
    # The MFA token proves the password only: it opens no API.
    assert client.get(ME, headers={"Authorization": f"Bearer {challenge['mfa_token']}"}).status_code == 401
    code = pyotp.TOTP(body["secret"]).at(wall.now())
    tokens = client.post(LOGIN_MFA, json={"mfa_token": challenge["mfa_token"], "code": code}).json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert client.get(ME, headers=bearer(tokens)).status_code == 200


def test_accounts_without_mfa_keep_the_plain_token_answer(client: TestClient, patient: User) -> None:
    body = password_step(client, patient.email)
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}


# --- codes: throttled, not replayable, recovery codes once ----------------------------------


def test_wrong_codes_are_throttled_like_passwords_and_the_password_does_not_reset_them(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    token = password_step(client, patient.email)["mfa_token"]
    wrong = enrolled.wrong_code(wall.now())
    statuses = [client.post(LOGIN_MFA, json={"mfa_token": token, "code": wrong}).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    wall.advance(timedelta(seconds=30))
    # The right code waits too, and so does the password: re-entering it forgives nothing.
    right = client.post(LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(wall.now())})
    assert right.status_code == 429 and right.json()["code"] == "login_throttled"
    assert int(right.headers["Retry-After"]) > 0
    assert client.post(LOGIN, json={"email": patient.email, "password": PASSWORD}).status_code == 429
    # Another client (the owner, elsewhere) is not locked out.
    elsewhere = TestClient(app, client=("192.0.2.10", 50000))
    challenge = password_step(elsewhere, patient.email)
    ok = elsewhere.post(LOGIN_MFA, json={"mfa_token": challenge["mfa_token"], "code": enrolled.code(wall.now())})
    assert ok.status_code == 200
    failures = actions(session, "mfa_failed")
    assert failures == [("mfa_failed", None, "wrong")] * 5  # not attributed: whoever typed it


def test_a_code_cannot_be_replayed_within_its_window(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    wall.advance(timedelta(seconds=30))
    code = enrolled.code(wall.now())
    first = client.post(LOGIN_MFA, json={"mfa_token": password_step(client, patient.email)["mfa_token"], "code": code})
    assert first.status_code == 200
    wall.advance(timedelta(seconds=10))  # still the same step, and within the drift window for 30 s more
    again = client.post(LOGIN_MFA, json={"mfa_token": password_step(client, patient.email)["mfa_token"], "code": code})
    assert again.status_code == 401 and again.json()["code"] == "invalid_mfa_code"
    # An older code (the previous step, still inside the drift window) is refused after a newer one.
    older = enrolled.code(wall.now() - timedelta(seconds=30))
    stale = client.post(LOGIN_MFA, json={"mfa_token": password_step(client, patient.email)["mfa_token"], "code": older})
    assert stale.status_code == 401
    assert [reason for _a, _actor, reason in actions(session, "mfa_failed")] == ["replayed", "replayed"]
    wall.advance(timedelta(seconds=30))
    fresh = enrolled.code(wall.now())
    token = password_step(client, patient.email)["mfa_token"]
    assert client.post(LOGIN_MFA, json={"mfa_token": token, "code": fresh}).status_code == 200


def test_codes_from_a_step_either_side_are_accepted(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    wall.advance(timedelta(minutes=5))
    token = password_step(client, patient.email)["mfa_token"]
    late_phone = enrolled.code(wall.now() - timedelta(seconds=30))
    assert client.post(LOGIN_MFA, json={"mfa_token": token, "code": late_phone}).status_code == 200
    too_late = enrolled.code(wall.now() - timedelta(seconds=90))
    assert client.post(LOGIN_MFA, json={"mfa_token": token, "code": too_late}).status_code == 401


def test_a_recovery_code_works_once(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    spoken = enrolled.recovery_codes[3].lower().replace("-", " ")  # read aloud: case and dashes do not matter
    token = password_step(client, patient.email)["mfa_token"]
    used = client.post(LOGIN_MFA, json={"mfa_token": token, "recovery_code": spoken})
    assert used.status_code == 200
    again = client.post(LOGIN_MFA, json={"mfa_token": token, "recovery_code": enrolled.recovery_codes[3]})
    assert again.status_code == 401
    assert client.get(ME_MFA, headers=bearer(used.json())).json()["recovery_codes_left"] == 9
    session.rollback()
    assert actions(session, "mfa_recovery_code_used") == [("mfa_recovery_code_used", patient.id, None)]
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "login")).all()
    assert [row.detail for row in audit] == [{"mfa": "recovery_code"}]


def test_the_second_step_names_its_field_when_given_badly(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock
) -> None:
    enrol(client, app, patient, wall.now())
    token = password_step(client, patient.email)["mfa_token"]
    assert_field_refused(client.post(LOGIN_MFA, json={"mfa_token": token}), ["body", "code"])
    both = client.post(LOGIN_MFA, json={"mfa_token": token, "code": "123456", "recovery_code": "AAAA"})
    assert_field_refused(both, ["body", "recovery_code"])
    assert_field_refused(client.post(LOGIN_MFA, json={"mfa_token": token, "code": "12345a"}), ["body", "code"])
    assert_field_refused(client.post(LOGIN_MFA, json={"mfa_token": token, "code": 123456}), ["body", "code"])


def test_the_mfa_token_is_short_lived_single_purpose_and_dies_with_the_logins(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    token = password_step(client, patient.email)["mfa_token"]
    wall.advance(timedelta(minutes=5))
    expired = client.post(LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(wall.now())})
    assert expired.status_code == 401 and expired.json()["code"] == "invalid_mfa_token"
    # An access token is not an MFA token either.
    tokens = client.post(
        LOGIN_MFA,
        json={"mfa_token": password_step(client, patient.email)["mfa_token"], "code": enrolled.code(wall.now())},
    ).json()
    as_mfa = client.post(LOGIN_MFA, json={"mfa_token": tokens["access_token"], "code": "000000"})
    assert as_mfa.json()["code"] == "invalid_mfa_token"
    # A logout moves the account's token version on: a pending second step dies with it.
    pending = password_step(client, patient.email)["mfa_token"]
    assert client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert client.get(ME, headers=bearer(tokens)).status_code == 401
    wall.advance(timedelta(seconds=30))
    late = client.post(LOGIN_MFA, json={"mfa_token": pending, "code": enrolled.code(wall.now())})
    assert late.json()["code"] == "invalid_mfa_token"


# --- turning it off -----------------------------------------------------------------------


def test_turning_totp_off_needs_the_password_and_a_code(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    headers = auth(app, patient)
    wall.advance(timedelta(seconds=30))
    code = enrolled.code(wall.now())
    refused = client.request("DELETE", TOTP, json={"password": "not it", "code": code}, headers=headers)
    assert refused.status_code == 403 and refused.json()["code"] == "wrong_password"
    assert_field_refused(client.request("DELETE", TOTP, json={"password": PASSWORD}, headers=headers), ["body", "code"])
    wrong = client.request(
        "DELETE", TOTP, json={"password": PASSWORD, "code": enrolled.wrong_code(wall.now())}, headers=headers
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_mfa_code"
    done = client.request("DELETE", TOTP, json={"password": PASSWORD, "code": code}, headers=headers)
    assert done.status_code == 204
    session.rollback()
    assert session.exec(select(UserTotp)).all() == [] and session.exec(select(RecoveryCode)).all() == []
    assert "access_token" in password_step(client, patient.email)
    gone = client.request("DELETE", TOTP, json={"password": PASSWORD, "code": code}, headers=headers)
    assert gone.status_code == 409


def test_enrolling_twice_is_a_conflict_and_confirming_nothing_too(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock
) -> None:
    assert client.post(f"{TOTP}/confirm", json={"code": "123456"}, headers=auth(app, patient)).status_code == 409
    enrol(client, app, patient, wall.now())
    again = client.post(TOTP, headers=auth(app, patient))
    assert again.status_code == 409 and again.json()["code"] == "mfa_already_enrolled"


# --- staff: required where the clinic says so ----------------------------------------------


@pytest.fixture
def required_app(database_url: str) -> FastAPI:
    return create_app(test_settings(database_url, mfa_required_for_staff=True))


def test_staff_must_enrol_before_their_first_token(required_app: FastAPI, session: Session, wall: WallClock) -> None:
    with TestClient(required_app) as client:
        physio = make_clinician(session, required_app)
        challenge = password_step(client, physio.email)
        assert challenge["mfa_required"] is True and challenge["enrolment_required"] is True
        # Not a code step: there is nothing to check a code against.
        assert client.post(LOGIN_MFA, json={"mfa_token": challenge["mfa_token"], "code": "123456"}).status_code == 401
        started = client.post(f"{LOGIN_MFA}/enrol", json={"mfa_token": challenge["mfa_token"]})
        assert started.status_code == 200 and started.json()["qr_svg"].startswith("<svg")
        secret = started.json()["secret"]
        wrong = client.post(
            f"{LOGIN_MFA}/confirm", json={"mfa_token": challenge["mfa_token"], "code": wrong_code(secret, wall.now())}
        )
        assert wrong.status_code == 401
        code = pyotp.TOTP(secret).at(wall.now())
        done = client.post(f"{LOGIN_MFA}/confirm", json={"mfa_token": challenge["mfa_token"], "code": code})
        body = done.json()
        assert done.status_code == 200 and len(body["recovery_codes"]) == 10
        assert client.get("/api/v1/clinician/patients", headers=bearer(body)).status_code == 200
        # The enrolment token is spent: the account now has TOTP, so the step is a code.
        replay = client.post(f"{LOGIN_MFA}/enrol", json={"mfa_token": challenge["mfa_token"]})
        assert replay.status_code == 401
        wall.advance(timedelta(seconds=30))
        assert password_step(client, physio.email)["enrolment_required"] is False
        # Staff may turn it off, and are asked to enrol again at the next login.
        off = client.request(
            "DELETE", TOTP, json={"password": PASSWORD, "code": pyotp.TOTP(secret).at(wall.now())}, headers=bearer(body)
        )
        assert off.status_code == 204
        assert password_step(client, physio.email)["enrolment_required"] is True
    required_app.state.engine.dispose()


def test_admins_are_staff_and_patients_are_never_forced(
    required_app: FastAPI, session: Session, wall: WallClock
) -> None:
    with TestClient(required_app) as client:
        admin = make_admin(session, required_app)
        patient = patient_user(session, make_patient(session, required_app))
        assert password_step(client, admin.email)["enrolment_required"] is True
        assert "access_token" in password_step(client, patient.email)
        status = client.get(ME_MFA, headers=auth(required_app, admin)).json()
        assert status["required"] is True and status["totp"] == "off"
    required_app.state.engine.dispose()


def test_the_requirement_is_on_in_production_and_cannot_be_turned_off_there() -> None:
    secret = "x" * 40
    assert not test_settings("sqlite://").staff_mfa_required  # tests and `make run`: off by default
    assert not Settings(environment="development").staff_mfa_required
    production = Settings(environment="production", jwt_secret=secret)
    assert production.staff_mfa_required
    with pytest.raises(ValidationError, match="BACKSTEP_MFA_REQUIRED_FOR_STAFF"):
        Settings(environment="production", jwt_secret=secret, mfa_required_for_staff=False)
    with pytest.raises(ValidationError, match="BACKSTEP_MFA_SECRET_KEY"):
        Settings(environment="production", jwt_secret=secret, mfa_secret_key="short")


# --- the secret at rest, and the audit trail -----------------------------------------------


def test_the_secret_is_stored_encrypted_and_keys_can_be_rotated(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session, settings: Settings
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    session.rollback()
    row = session.get(UserTotp, patient.id)
    assert row is not None and enrolled.secret not in row.secret_encrypted
    assert mfa.decrypt_secret(row.secret_encrypted, settings) == enrolled.secret
    stored_codes = [code.code_hash for code in session.exec(select(RecoveryCode)).all()]
    assert not any(code.replace("-", "") in stored for code in enrolled.recovery_codes for stored in stored_codes)
    rotated = settings.model_copy(update={"mfa_secret_key": "a new key of at least thirty-two characters," + "x"})
    assert mfa.decrypt_secret(row.secret_encrypted, rotated) is None  # the old key dropped: unreadable
    both = settings.model_copy(update={"mfa_secret_key": f"a-new-key-of-at-least-32-characters,{settings.jwt_secret}"})
    assert mfa.decrypt_secret(row.secret_encrypted, both) == enrolled.secret
    assert mfa.decrypt_secret(mfa.encrypt_secret("ABC", both), both) == "ABC"
    # No audit row or response other than the enrolment itself carries the secret.
    audit = session.exec(select(AuditEvent)).all()
    assert all(enrolled.secret not in str(event.detail) for event in audit)


def test_every_step_is_audited(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrolled = enrol(client, app, patient, wall.now())
    token = password_step(client, patient.email)["mfa_token"]
    client.post(LOGIN_MFA, json={"mfa_token": token, "code": enrolled.wrong_code(wall.now())})
    wall.advance(timedelta(seconds=30))
    tokens = client.post(LOGIN_MFA, json={"mfa_token": token, "code": enrolled.code(wall.now())}).json()
    client.post(LOGIN_MFA, json={"mfa_token": token, "recovery_code": enrolled.recovery_codes[0]})
    wall.advance(timedelta(seconds=30))
    client.request(
        "DELETE", TOTP, json={"password": PASSWORD, "code": enrolled.code(wall.now())}, headers=bearer(tokens)
    )
    recorded = actions(
        session,
        "mfa_enrol",
        "mfa_confirm",
        "login_password_verified",
        "mfa_failed",
        "login",
        "mfa_recovery_code_used",
        "mfa_disable",
    )
    me = patient.id
    assert recorded == [
        ("mfa_enrol", me, None),
        ("mfa_confirm", me, None),
        ("login_password_verified", me, None),
        ("mfa_failed", None, "wrong"),
        ("login", me, None),
        ("mfa_recovery_code_used", me, None),
        ("login", me, None),
        ("mfa_disable", me, None),
    ]


def test_erasure_takes_the_second_factor_with_the_account(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrol(client, app, patient, wall.now())
    erased = client.request("DELETE", ME, json={"password": PASSWORD}, headers=auth(app, patient))
    assert erased.status_code == 204
    session.rollback()
    assert session.exec(select(UserTotp)).all() == [] and session.exec(select(RecoveryCode)).all() == []


def test_an_admin_resets_a_lost_second_factor(
    client: TestClient, app: FastAPI, patient: User, wall: WallClock, session: Session
) -> None:
    enrol(client, app, patient, wall.now())
    session.rollback()  # a fresh snapshot, so SQLite lets this session write
    admin = make_admin(session, app)
    url = f"/api/v1/admin/users/{patient.id}/mfa"
    assert client.delete(url, headers=auth(app, patient)).status_code == 403
    assert client.delete("/api/v1/admin/users/999999/mfa", headers=auth(app, admin)).status_code == 404
    assert client.delete(url, headers=auth(app, admin)).status_code == 204
    assert "access_token" in password_step(client, patient.email)
    assert client.delete(url, headers=auth(app, admin)).status_code == 409
    session.rollback()
    reset = session.exec(select(AuditEvent).where(AuditEvent.action == "mfa_reset")).one()
    assert (reset.actor_id, reset.detail) == (admin.id, {"user_id": patient.id})
