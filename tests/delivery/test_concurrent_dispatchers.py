"""Four dispatcher processes on one PostgreSQL database deliver 2,000 notifications to the
fake push server, each exactly once (FOR UPDATE SKIP LOCKED + leases + fenced records)."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from api.models import Delivery, DeliveryStatus, DevicePlatform, NotificationKind
from api.notifications.devices import register_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from tests.delivery.conftest import ServiceAccountKey, push_settings
from tests.delivery.fake_push import FakePush
from tests.delivery.workers import dispatcher_process
from tests.factories import make_patient, patient_user
from tests.reminders.helpers import set_clock, utc

T0 = utc(2026, 6, 8, 12, 0)
PROCESSES, MESSAGES, DEVICES = 4, 2000, 8


@pytest.mark.slow
@pytest.mark.postgresql_only  # several dispatchers need PostgreSQL (SQLite runs one scheduler)
def test_four_dispatcher_processes_deliver_2000_notifications_exactly_once(
    app: FastAPI,
    session: Session,
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
) -> None:
    with FakePush(webhook_secret="", public_key_pem=service_account_key.public_pem) as fake:
        settings = push_settings(
            database_url, tmp_path, service_account_key, fake.url, delivery_batch_size=50, delivery_concurrency=4
        )
        fake.webhook_secret = settings.webhook_secret or ""
        set_clock(app, session, T0)
        drafts = []
        for n in range(DEVICES):
            user = patient_user(session, make_patient(session, app))
            assert user.id is not None
            platform = DevicePlatform.FCM if n % 2 else DevicePlatform.WEBHOOK
            register_device(session, user.id, platform, f"device-{n}", T0)
            drafts += [
                NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="Hi", body=str(k), safety=k == 0)
                for k in range(MESSAGES // DEVICES)
            ]
        enqueue_notifications(session, drafts, T0)
        session.commit()

        values: dict[str, Any] = settings.model_dump()
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(PROCESSES)
        queue = context.Queue()
        processes = [
            context.Process(target=dispatcher_process, args=(values, T0.isoformat(), start, queue))
            for _ in range(PROCESSES)
        ]
        for process in processes:
            process.start()
        results = [queue.get(timeout=240) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0

    assert sum(r["sent"] for r in results) == MESSAGES
    assert sum(1 for r in results if r["sent"] > 0) >= 2  # the work really was shared
    session.commit()
    statuses = Counter(session.exec(select(Delivery.status)).all())
    assert statuses == {DeliveryStatus.SENT: MESSAGES}
    assert session.exec(select(func.max(Delivery.attempts))).one() == 1
    ids = {f"backstep-delivery-{i}" for i in session.exec(select(Delivery.id)).all()}
    assert set(fake.delivered) == ids
    assert set(fake.delivered.values()) == {1}  # exactly once per delivery id
    assert len(fake.received) == MESSAGES and fake.rejected == []
