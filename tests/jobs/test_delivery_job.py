"""The delivery job through provider outages, run as operators run it: ``jobs run deliveries``
at a given instant, stepped through time.

With the default retry policy an outage of an hour, or of twenty, dead-letters nothing and
everything arrives once the provider is back; one run at ``T`` makes at most one attempt
per delivery whatever the machine's clock says (retries are scheduled from ``T``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.clock import Clock, system_now
from api.config import Settings
from api.delivery.providers import Providers
from api.jobs import JobContext, run_job
from api.models import Delivery, DeliveryStatus, DevicePlatform, NotificationKind
from api.notifications.devices import register_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from tests.delivery.conftest import ServiceAccountKey, push_settings
from tests.delivery.fake_push import FakePush, Reply
from tests.factories import make_clinician, make_patient, patient_user
from tests.reminders.helpers import fresh, set_clock, utc

ROOT = Path(__file__).resolve().parent.parent.parent
T0 = utc(2026, 6, 8, 12, 0)  # 13:00 in London
PATIENTS = 12  # two messages each, half on FCM, half on the webhook, plus one care-team alert


@pytest.fixture
def fake(service_account_key: ServiceAccountKey) -> Iterator[FakePush]:
    with FakePush(webhook_secret="", public_key_pem=service_account_key.public_pem, lifetime=600) as server:
        yield server


def default_policy(database_url: str, tmp_path: Path, key: ServiceAccountKey, fake: FakePush) -> Settings:
    """The fake provider's URLs with the shipped retry settings (not the fast test ones)."""
    defaults = Settings.model_fields
    settings = push_settings(
        database_url,
        tmp_path,
        key,
        fake.url,
        delivery_backoff_base_seconds=defaults["delivery_backoff_base_seconds"].default,
        delivery_backoff_max_seconds=defaults["delivery_backoff_max_seconds"].default,
    )
    fake.webhook_secret = settings.webhook_secret or ""
    return settings


def queue_messages(app: FastAPI, session: Session, at: datetime) -> int:
    """Reminders to patients and a safety alert to a clinician; the number of deliveries."""
    set_clock(app, session, at)
    drafts = []
    for n in range(PATIENTS):
        user = patient_user(session, make_patient(session, app))
        assert user.id is not None
        platform = DevicePlatform.FCM if n % 2 else DevicePlatform.WEBHOOK
        register_device(session, user.id, platform, f"phone-{n}", at)
        drafts += [
            NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="Log today", body=f"{n}.{k}")
            for k in range(2)
        ]
    clinician = make_clinician(session, app)
    assert clinician.id is not None
    register_device(session, clinician.id, DevicePlatform.WEBHOOK, "ward-pager", at)
    drafts.append(
        NotificationDraft(
            user_id=clinician.id, kind=NotificationKind.CARE_TEAM_ALERT, title="Alert", body="b", safety=True
        )
    )
    enqueue_notifications(session, drafts, at)
    session.commit()
    return len(drafts)


@pytest.mark.slow
@pytest.mark.parametrize(("outage", "step"), [(timedelta(hours=1), 60), (timedelta(hours=20), 300)])
def test_a_503_outage_dead_letters_nothing_and_everything_arrives_once_after_it(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
    outage: timedelta,
    step: int,
) -> None:
    settings = default_policy(database_url, tmp_path, service_account_key, fake)
    total = queue_messages(app, session, T0)
    fake.outage = Reply(503)
    with Providers(settings) as providers:
        ctx = JobContext(engine, settings, Clock(None, test_clock_enabled=False), providers)
        at = T0
        while at < T0 + outage:
            seen = len(fake.received)
            result = run_job("deliveries", ctx, at)
            assert result["dead"] == 0 and result["sent"] == 0
            tried = Counter(r.message_id for r in fake.received[seen:])
            assert all(n == 1 for n in tried.values())  # one attempt per delivery per run
            at += timedelta(seconds=step)
        tried_during_outage = Counter(r.message_id for r in fake.received)
        assert len(tried_during_outage) == total  # every message was tried ...
        assert min(tried_during_outage.values()) >= 5  # ... and retried throughout

        fake.outage = None  # the provider is back: within one backoff cap (30 min) all arrive
        recovered_at = at
        while at <= recovered_at + timedelta(seconds=settings.delivery_backoff_max_seconds + 60):
            assert run_job("deliveries", ctx, at)["dead"] == 0
            at += timedelta(seconds=60)

    rows = fresh(session).exec(select(Delivery)).all()
    assert len(rows) == total
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert all(row.sent_at is not None and row.sent_at >= recovered_at for row in rows)
    assert all(row.give_up_at is not None and row.give_up_at >= T0 + timedelta(hours=24) for row in rows)
    assert set(fake.delivered) == {f"backstep-delivery-{row.id}" for row in rows}
    assert set(fake.delivered.values()) == {1}  # exactly once each
    assert fake.rejected == []


def test_a_failure_at_the_end_of_the_window_dead_letters_safety_messages_later(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
) -> None:
    """Reminders are given up 24 h after their first failure, care-team alerts after 72 h."""
    settings = default_policy(database_url, tmp_path, service_account_key, fake)
    total = queue_messages(app, session, T0)
    fake.outage = Reply(503)
    with Providers(settings) as providers:
        ctx = JobContext(engine, settings, Clock(None, test_clock_enabled=False), providers)
        assert run_job("deliveries", ctx, T0)["retry"] == total
        # The window opened at the first failure: T0 plus the little real time the run took.
        rows = fresh(session).exec(select(Delivery)).all()
        windows = {r.safety: r.give_up_at - T0 for r in rows if r.give_up_at is not None}
        assert timedelta(hours=24) <= windows[False] < timedelta(hours=24, minutes=1)
        assert timedelta(hours=72) <= windows[True] < timedelta(hours=72, minutes=1)
        later = run_job("deliveries", ctx, T0 + timedelta(hours=23))
        assert (later["dead"], later["retry"]) == (0, total)  # still inside every window
        rows = fresh(session).exec(select(Delivery)).all()
        day_end = max(r.give_up_at for r in rows if not r.safety and r.give_up_at is not None)
        assert all(r.next_attempt_at <= day_end for r in rows)  # everything is due again by then
        day = run_job("deliveries", ctx, day_end)
        assert (day["dead"], day["retry"]) == (total - 1, 1)  # the care-team alert keeps going
        assert run_job("deliveries", ctx, T0 + timedelta(hours=48))["retry"] == 1  # ... and keeps going
        assert run_job("deliveries", ctx, T0 + timedelta(hours=73))["dead"] == 1

    rows = fresh(session).exec(select(Delivery).order_by(col(Delivery.id))).all()
    assert {r.status for r in rows} == {DeliveryStatus.DEAD}
    assert all("HTTP 503" in (r.last_error or "") for r in rows)
    [alert] = [r for r in rows if r.safety]
    assert alert.failed_at is not None and alert.failed_at >= T0 + timedelta(hours=73)
    assert (alert.last_error or "").startswith("gave up after")
    assert " in 72 h: " in (alert.last_error or "")


def test_one_cli_run_at_a_future_instant_makes_at_most_one_attempt_per_delivery(
    app: FastAPI,
    session: Session,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    fake: FakePush,
) -> None:
    """``backstep jobs run deliveries --now T`` with T a month ahead of the machine's clock:
    the retries are scheduled from T, so the run cannot re-claim what it just tried."""
    settings = default_policy(database_url, tmp_path, service_account_key, fake)
    # Noon in London a month ahead: the patients' reminders are not held back by their quiet
    # hours (22:00-08:00), whatever the time of day the suite runs at.
    future = (system_now() + timedelta(days=30)).replace(hour=12, minute=0, second=0, microsecond=0)
    total = queue_messages(app, session, future - timedelta(minutes=5))
    fake.outage = Reply(503)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "BACKSTEP_FCM_PROJECT_ID": "demo",
        "BACKSTEP_FCM_CREDENTIALS_FILE": str(settings.fcm_credentials_file),
        "BACKSTEP_FCM_ENDPOINT": settings.fcm_endpoint,
        "BACKSTEP_WEBHOOK_URL": settings.webhook_url or "",
        "BACKSTEP_WEBHOOK_SECRET": settings.webhook_secret or "",
        "BACKSTEP_LOG_LEVEL": "WARNING",
        "BACKSTEP_ALLOW_TEST_CLOCK": "false",
    }

    def run_cli(at: datetime) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", "jobs", "run", "deliveries", "--now", at.isoformat()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    first = run_cli(future)
    assert (first["retry"], first["dead"], first["sent"]) == (total, 0, 0)
    rows = fresh(session).exec(select(Delivery)).all()
    assert {r.attempts for r in rows} == {1}
    assert all(future < r.next_attempt_at <= future + timedelta(minutes=2) for r in rows)  # base 30 s, from T
    assert len(fake.received) == total

    assert run_cli(future)["retry"] == 0  # the same instant again: nothing is due
    assert run_cli(future + timedelta(minutes=2))["retry"] == total  # later: one more attempt each
    assert {r.attempts for r in fresh(session).exec(select(Delivery)).all()} == {2}
    assert len(fake.received) == 2 * total
