"""The scale-out topology of compose.yaml, as plain processes on 127.0.0.1 (no container
engine): one PostgreSQL database, ``backstep migrate`` once, two ``backstep serve`` on two
ports, two ``backstep scheduler``, and a fake push gateway.

Patients register with invite codes (alternating between the two APIs), set their
reminders and push devices; half of them log a red flag. The test clock then moves to
20:00:30 in London, when the others' daily-log reminders are due. Both schedulers tick
every second. Counted from the database and the gateway afterwards: every due reminder
exists exactly once and none that is not due, one alert per red flag, one care-team
message per alert, and every push delivered exactly once (nothing lost, nothing twice).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from sqlmodel import Session, select

from api.models import Alert, Delivery, DeliveryStatus, Notification, NotificationKind, Patient, ReminderSchedule, User
from tests.conftest import BACKENDS, PG_URL
from tests.delivery.fake_push import FakePush
from tests.operations.processes import (
    PASSWORD,
    api_servers,
    backstep_env,
    backstep_process,
    free_port,
    run_cli,
    wait_for,
)

pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]

SECRET = "topology-webhook-secret-0123456789"
PATIENTS = 6  # even ones report a red flag today, odd ones get the evening reminder
T0 = datetime(2026, 6, 8, 12, 0, tzinfo=UTC)  # a Monday, 13:00 in London
T1 = datetime(2026, 6, 8, 19, 0, 30, tzinfo=UTC)  # 20:00:30 in London: daily-log reminders due
TODAY = date(2026, 6, 8)
ADMIN_EMAIL = "ops-admin@example.org"
API = "/api/v1"


@pytest.fixture
def scratch_database() -> Iterator[str]:
    assert PG_URL is not None
    name = f"backstep_topology_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def login(client: httpx2.Client, email: str) -> dict[str, str]:
    response = client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def ok(response: httpx2.Response, status: int = 200) -> dict[str, object]:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, object] = response.json()
    return body


REMINDERS = {
    "timezone": "Europe/London",
    "daily_log": {"enabled": True, "time": "20:00"},
    "exercise": {"enabled": False, "time": "18:00"},
    "weekly_checkin": {"enabled": False, "weekday": "sunday", "time": "19:00"},
    "quiet_hours": {"start": "22:00", "end": "07:00"},
}
RED_FLAG = {
    "back_pain": 8,
    "symptoms": {"saddle_numbness": True, "bladder_change": True},
    "client_updated_at": T0.isoformat(),
}


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_apis_and_two_schedulers_lose_and_duplicate_nothing(
    backend: str, scratch_database: str, tmp_path: Path
) -> None:
    env = backstep_env(
        scratch_database,
        BACKSTEP_ALLOW_TEST_CLOCK="true",
        BACKSTEP_CLOCK_CACHE_SECONDS="0",  # every process sees a clock move at once
        BACKSTEP_SCHEDULER_IN_PROCESS="false",
        BACKSTEP_REMINDER_TICK_SECONDS="1",
        BACKSTEP_DELIVERY_TICK_SECONDS="1",
        # Re-notification rounds would add messages while the test counts: far away.
        BACKSTEP_RENOTIFY_EMERGENCY_MINUTES="100000",
        BACKSTEP_RENOTIFY_URGENT_MINUTES="100000",
        BACKSTEP_DB_POOL_SIZE="3",
        BACKSTEP_DB_MAX_OVERFLOW="3",
        BACKSTEP_MAX_CONCURRENT_REQUESTS="6",
    )
    migrated = run_cli(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    made = run_cli(env, "create-user", "--role", "admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
    assert made.returncode == 0, made.stderr

    with ExitStack() as stack:
        fake = stack.enter_context(FakePush(webhook_secret=SECRET, lifetime=90))
        env |= {"BACKSTEP_WEBHOOK_URL": fake.webhook_url, "BACKSTEP_WEBHOOK_SECRET": SECRET}
        urls = stack.enter_context(api_servers(env, [free_port(), free_port()], tmp_path))
        for n in range(2):
            stack.enter_context(backstep_process(env, "scheduler", log=tmp_path / f"scheduler-{n}.log"))
        clients = [stack.enter_context(httpx2.Client(base_url=url, timeout=20)) for url in urls]

        admin = login(clients[0], ADMIN_EMAIL)
        ok(clients[0].put(f"{API}/admin/test-clock", json={"now": T0.isoformat()}, headers=admin))
        admin = login(clients[1], ADMIN_EMAIL)  # a token of the new clock, through the other API
        clinic = ok(clients[1].post(f"{API}/admin/clinics", json={"name": "Ops clinic"}, headers=admin), 201)
        physio_email = f"physio-{uuid.uuid4().hex[:6]}@example.org"
        body = {"email": physio_email, "password": PASSWORD, "display_name": "Physio", "clinic_id": clinic["id"]}
        ok(clients[1].post(f"{API}/admin/clinicians", json=body, headers=admin), 201)
        physio = login(clients[0], physio_email)
        device = {"platform": "webhook", "token": "physio-device"}
        ok(clients[0].post(f"{API}/me/devices", json=device, headers=physio), 201)

        emails: list[str] = []
        for n in range(PATIENTS):
            client = clients[n % 2]
            code = ok(clients[(n + 1) % 2].post(f"{API}/clinician/invites", headers=physio), 201)["code"]
            email = f"patient{n}-{uuid.uuid4().hex[:6]}@example.org"
            body = {"email": email, "password": PASSWORD, "display_name": f"Patient {n}", "invite_code": code}
            ok(client.post(f"{API}/auth/register", json=body), 201)
            headers = login(client, email)
            ok(client.put(f"{API}/me/reminders", json=REMINDERS, headers=headers))
            device = {"platform": "webhook", "token": f"patient-{n}"}
            ok(client.post(f"{API}/me/devices", json=device, headers=headers), 201)
            if n % 2 == 0:
                logged = ok(client.put(f"{API}/me/pain-logs/{TODAY}", json=RED_FLAG, headers=headers), 201)
                assert logged["triage"]["tier"] == "emergency"  # type: ignore[index]
            emails.append(email)

        ok(clients[1].put(f"{API}/admin/test-clock", json={"now": T1.isoformat()}, headers=admin))

        engine = sa.create_engine(scratch_database, poolclass=NullPool)
        stack.callback(engine.dispose)

        def settled() -> bool:
            with Session(engine) as session:
                reminders = session.exec(
                    select(sa.func.count())
                    .select_from(Notification)
                    .where(Notification.kind == NotificationKind.DAILY_LOG_REMINDER)
                ).one()
                open_deliveries = session.exec(
                    select(sa.func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
                ).one()
                moved = session.exec(
                    select(sa.func.count()).select_from(ReminderSchedule).where(ReminderSchedule.local_date == TODAY)
                ).one()
            return reminders >= PATIENTS // 2 and open_deliveries == 0 and moved == 0

        wait_for(settled, "the reminders to be sent and every push delivered", within=40)

        with Session(engine) as session:
            patients = {
                email: patient
                for patient, email in session.exec(select(Patient, User.email).join(User)).all()
                if email in emails
            }
            assert len(patients) == PATIENTS
            red = {patients[e].id for n, e in enumerate(emails) if n % 2 == 0}
            quiet = {patients[e].id for n, e in enumerate(emails) if n % 2 == 1}

            reminders = session.exec(
                select(Notification).where(Notification.kind == NotificationKind.DAILY_LOG_REMINDER)
            ).all()
            # Every due reminder once; none for the patients who already logged today.
            assert sorted(n.occurrence_key or "" for n in reminders) == sorted(
                f"reminder:{pid}:daily_log_reminder:{TODAY}" for pid in quiet
            )
            # Each schedule row moved on to tomorrow: none left to send today, none skipped.
            schedule = session.exec(select(ReminderSchedule)).all()
            assert {(r.patient_id, r.local_date) for r in schedule} == {(pid, date(2026, 6, 9)) for pid in red | quiet}

            alerts = session.exec(select(Alert)).all()
            assert Counter((a.patient_id, a.rule) for a in alerts) == {(pid, "red_flag_emergency"): 1 for pid in red}

            care_team = session.exec(
                select(Notification).where(Notification.kind == NotificationKind.CARE_TEAM_ALERT)
            ).all()
            assert len(care_team) == len(red)
            assert sorted(n.alert_id or 0 for n in care_team) == sorted(a.id or 0 for a in alerts)

            notifications = session.exec(select(Notification)).all()
            deliveries = session.exec(select(Delivery)).all()
        # One push per notification and device, each sent, and received exactly once.
        assert sorted(d.notification_id for d in deliveries) == sorted(n.id or 0 for n in notifications)
        assert {d.status for d in deliveries} == {DeliveryStatus.SENT}
        expected = {f"backstep-delivery-{d.id}" for d in deliveries}
        assert set(fake.delivered) == expected
        assert set(fake.delivered.values()) == {1}, fake.delivered
