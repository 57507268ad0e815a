"""A dispatcher that dies mid-batch re-sends at most what was in flight.

Each delivery's outcome is committed right after its own send, and a new send starts only
once a finished one is committed, so after a crash at most ``delivery_concurrency``
messages were sent but not recorded; they go out again (same id, same Idempotency-Key)
when their lease ends. Everything else is either recorded as sent or was never sent.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.config import Settings
from api.delivery.dispatcher import deliver_due
from api.delivery.messages import PushMessage, SendResult
from api.delivery.providers import Providers
from api.models import Delivery, DeliveryStatus, DevicePlatform, NotificationKind
from api.notifications.devices import register_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from tests.delivery.conftest import ServiceAccountKey, push_settings
from tests.delivery.fake_push import FakePush
from tests.factories import make_patient, patient_user
from tests.reminders.helpers import fresh, set_clock, utc

ROOT = Path(__file__).resolve().parent.parent.parent
T0 = utc(2026, 6, 8, 12, 0)


def queue(app: FastAPI, session: Session, devices: int, per_device: int) -> int:
    set_clock(app, session, T0)
    drafts = []
    for n in range(devices):
        user = patient_user(session, make_patient(session, app))
        assert user.id is not None
        register_device(session, user.id, DevicePlatform.WEBHOOK, f"hook-{n}", T0)
        drafts += [
            NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="Hi", body=str(k))
            for k in range(per_device)
        ]
    enqueue_notifications(session, drafts, T0)
    session.commit()
    return len(drafts)


class Crash(BaseException):
    """The process dying: not an ``Exception``, so nothing on the way catches it."""


class CrashAfter:
    """A webhook notifier that accepts ``limit`` messages, then the process 'dies'."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.sent: list[int] = []
        self._lock = threading.Lock()

    @property
    def platform(self) -> str:
        return "webhook"

    def send(self, message: PushMessage) -> SendResult:
        with self._lock:
            if len(self.sent) >= self.limit:
                raise Crash
            self.sent.append(message.delivery_id)
        return SendResult.sent()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_crash_after_n_sends_leaves_them_committed_as_sent(
    app: FastAPI, session: Session, engine: Engine, settings: Settings, concurrency: int
) -> None:
    total = queue(app, session, devices=5, per_device=6)
    push = settings.model_copy(
        update={
            "webhook_url": "http://127.0.0.1:9/never-called",
            "webhook_secret": "s" * 32,
            "delivery_concurrency": concurrency,
            "delivery_batch_size": 20,
        }
    )
    notifier = CrashAfter(limit=13)
    with Providers(push) as providers:
        providers.notifiers["webhook"] = notifier
        with pytest.raises(Crash):
            deliver_due(engine, push, T0, providers=providers, rng=random.Random(1))

    rows = fresh(session).exec(select(Delivery)).all()
    committed = {row.id for row in rows if row.status == DeliveryStatus.SENT}
    assert len(notifier.sent) == 13
    assert committed <= set(notifier.sent)  # nothing is recorded as sent that was not
    # Sent but not recorded: at most what was in flight when the process died.
    assert len(set(notifier.sent) - committed) <= concurrency - 1  # one slot held the crashing send
    if concurrency == 1:
        assert committed == set(notifier.sent)
    assert sum(1 for row in rows if row.status == DeliveryStatus.PENDING) == total - len(committed)


@pytest.fixture
def slow_fake() -> Iterator[FakePush]:
    # Each answer takes 50 ms, so the batch is still being sent when the test kills it.
    with FakePush(webhook_secret="", answer_delay=0.05, notify_after=120, lifetime=300) as server:
        yield server


@pytest.mark.slow
def test_kill_9_mid_batch_then_restart_duplicates_at_most_the_concurrency(
    app: FastAPI,
    session: Session,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    slow_fake: FakePush,
) -> None:
    concurrency = 4
    settings = push_settings(database_url, tmp_path, service_account_key, slow_fake.url)
    slow_fake.webhook_secret = settings.webhook_secret or ""
    total = queue(app, session, devices=10, per_device=30)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "BACKSTEP_WEBHOOK_URL": settings.webhook_url or "",
        "BACKSTEP_WEBHOOK_SECRET": settings.webhook_secret or "",
        "BACKSTEP_DELIVERY_CONCURRENCY": str(concurrency),
        "BACKSTEP_DELIVERY_BATCH_SIZE": "100",
        "BACKSTEP_DELIVERY_LEASE_SECONDS": "300",
        "BACKSTEP_LOG_LEVEL": "WARNING",
    }

    def dispatcher(at_seconds: int) -> subprocess.Popen[str]:
        now = (T0 + timedelta(seconds=at_seconds)).isoformat()
        return subprocess.Popen(
            [sys.executable, "-m", "api.cli", "jobs", "run", "deliveries", "--now", now],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = dispatcher(1)
    try:
        assert slow_fake.delivered_event.wait(timeout=120), "the dispatcher never got going"
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    after_kill = fresh(session).exec(select(Delivery)).all()
    recorded = sum(1 for row in after_kill if row.status == DeliveryStatus.SENT)
    assert 0 < recorded < total  # killed mid-run, with part of the work recorded

    second = dispatcher(1 + 300 + 60)  # after the lease of whatever the dead process held
    _, err = second.communicate(timeout=180)
    assert second.returncode == 0, err

    rows = fresh(session).exec(select(Delivery)).all()
    assert {row.status for row in rows} == {DeliveryStatus.SENT}  # nothing lost
    assert set(slow_fake.delivered) == {f"backstep-delivery-{row.id}" for row in rows}
    duplicates = sum(slow_fake.delivered.values()) - len(slow_fake.delivered)
    assert duplicates <= concurrency  # at most what was in flight at the kill
    assert slow_fake.rejected == []  # every copy carried its signature and Idempotency-Key
    resent = [row for row in rows if slow_fake.delivered[f"backstep-delivery-{row.id}"] > 1]
    assert all(row.attempts == 2 for row in resent)  # the copy is the same delivery, tried again
